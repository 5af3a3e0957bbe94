package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mdmkit/mdmkit/windows"
)

func TestMigrationFiles(t *testing.T) {
	all, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != SchemaVersion || all[len(all)-1].version != SchemaVersion {
		t.Fatalf("%d migrations, the last at version %d; want the last to be SchemaVersion %d", len(all), all[len(all)-1].version, SchemaVersion)
	}
	for _, m := range all {
		// Each file records its own version, so a database migrated by
		// hand is at the right version.
		want := fmt.Sprintf("INSERT INTO mdmkit_schema (version) VALUES (%d);", m.version)
		if !strings.Contains(m.sql, want) {
			t.Errorf("%s does not record its version (%q)", m.name, want)
		}
		// The files name no schema: the search_path places them.
		if strings.Contains(m.sql, "{schema}") || strings.Contains(m.sql, "public.") {
			t.Errorf("%s names a schema", m.name)
		}
	}
	names, err := fs.Glob(Migrations(), "*")
	if err != nil || len(names) != SchemaVersion {
		t.Errorf("Migrations() holds %q (%v), want %d SQL files", names, err, SchemaVersion)
	}
}

// schemaVersions returns the versions recorded in a schema's mdmkit_schema.
func schemaVersions(t *testing.T, s *Store) []int {
	t.Helper()
	rows, err := s.pool.Query(context.Background(), `SELECT version FROM `+table(s, "mdmkit_schema")+` ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

func wantVersions(t *testing.T, s *Store) {
	t.Helper()
	got := schemaVersions(t, s)
	if len(got) != SchemaVersion || got[len(got)-1] != SchemaVersion {
		t.Errorf("mdmkit_schema holds versions %v, want 1..%d", got, SchemaVersion)
	}
}

func TestOpenMigrates(t *testing.T) {
	schema := freshSchema(t)
	dsn, _ := testDSN(t)
	var logged bytes.Buffer
	s := openSchema(t, schema, &Options{Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	wantVersions(t, s)
	if !strings.Contains(logged.String(), "applied schema migration") || !strings.Contains(logged.String(), "0001_initial.sql") {
		t.Errorf("migration log = %q, want a line per migration", logged.String())
	}

	// Opening a migrated schema again changes nothing and logs nothing.
	logged.Reset()
	again, err := Open(context.Background(), dsn, &Options{Schema: schema, Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatalf("Open of a migrated schema: %v", err)
	}
	again.Close()
	if logged.Len() != 0 {
		t.Errorf("Open of a migrated schema logged %q", logged.String())
	}
	wantVersions(t, s)
}

// TestConcurrentOpen starts several Stores on one new schema at once, as
// replicas starting together do: one migrates, and all succeed.
func TestConcurrentOpen(t *testing.T) {
	schema := freshSchema(t)
	dsn, _ := testDSN(t)
	const n = 6
	stores := make([]*Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range stores {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			stores[i], errs[i] = Open(context.Background(), dsn, &Options{Schema: schema})
		}(i)
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent Open %d: %v", i, err)
			continue
		}
		t.Cleanup(stores[i].Close)
	}
	if t.Failed() {
		return
	}
	wantVersions(t, stores[0])
	enqueueTo(t, stores[0], "DEV-1", "CMD-1", time.Now())
	if c, err := stores[n-1].NextCommand(context.Background(), "DEV-1", false, time.Now()); err != nil || c.UUID != "CMD-1" {
		t.Errorf("NextCommand through another Store = %v, %v; want CMD-1", c, err)
	}
}

func TestSchemaTooNew(t *testing.T) {
	ctx := context.Background()
	schema := freshSchema(t)
	dsn, _ := testDSN(t)
	s := openSchema(t, schema, nil)
	if _, err := s.pool.Exec(ctx, `INSERT INTO `+table(s, "mdmkit_schema")+` (version) VALUES ($1)`, SchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	for _, noMigrate := range []bool{false, true} {
		got, err := Open(ctx, dsn, &Options{Schema: schema, NoMigrate: noMigrate})
		if !errors.Is(err, ErrSchemaTooNew) {
			if got != nil {
				got.Close()
			}
			t.Errorf("Open (NoMigrate %v) of a schema at version %d = %v, want ErrSchemaTooNew", noMigrate, SchemaVersion+1, err)
		}
	}
	if got := schemaVersions(t, s); got[len(got)-1] != SchemaVersion+1 {
		t.Errorf("versions after refused Opens = %v, want them unchanged", got)
	}
}

// TestNoMigrate checks that NoMigrate never changes the database and
// accepts one an operator migrated from Migrations by hand.
func TestNoMigrate(t *testing.T) {
	ctx := context.Background()
	schema := freshSchema(t)
	dsn, pool := testDSN(t)
	if s, err := Open(ctx, dsn, &Options{Schema: schema, NoMigrate: true}); err == nil || errors.Is(err, ErrSchemaTooNew) ||
		!strings.Contains(err.Error(), "apply the migrations") {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Open with NoMigrate of an empty schema = %v, want an error asking for the migrations", err)
	}
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT to_regnamespace($1) IS NOT NULL`, schema).Scan(&exists); err != nil || exists {
		t.Fatalf("schema exists after Open with NoMigrate: %v, %v", exists, err)
	}

	// What an operator does: apply each file in order, in a transaction,
	// with the search_path set to the schema.
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	names, err := fs.Glob(Migrations(), "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		body, err := fs.ReadFile(Migrations(), name)
		if err != nil {
			t.Fatal(err)
		}
		err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SET LOCAL search_path TO "+pgx.Identifier{schema}.Sanitize()); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, string(body))
			return err
		})
		if err != nil {
			t.Fatalf("apply %s by hand: %v", name, err)
		}
	}
	s := openSchema(t, schema, &Options{NoMigrate: true})
	wantVersions(t, s)
	enqueueTo(t, s, "DEV-1", "CMD-1", time.Now())
	if c, err := s.NextCommand(ctx, "DEV-1", false, time.Now()); err != nil || c.UUID != "CMD-1" {
		t.Errorf("NextCommand on a schema migrated by hand = %v, %v; want CMD-1", c, err)
	}
}

// TestHostPool runs New on a pool the host owns: with a schema named in
// Options, and with none, where the pool's search_path decides. Close
// leaves the pool open.
func TestHostPool(t *testing.T) {
	ctx := context.Background()
	dsn, admin := testDSN(t)

	named := freshSchema(t)
	s, err := New(ctx, admin, &Options{Schema: named})
	if err != nil {
		t.Fatalf("New with a schema: %v", err)
	}
	enqueueTo(t, s, "DEV-1", "CMD-1", time.Now())
	s.Close()
	if err := admin.Ping(ctx); err != nil {
		t.Fatalf("the host's pool after Close: %v", err)
	}

	unnamed := freshSchema(t)
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{unnamed}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = unnamed
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s, err = New(ctx, pool, nil)
	if err != nil {
		t.Fatalf("New without a schema: %v", err)
	}
	defer s.Close()
	enqueueTo(t, s, "DEV-1", "CMD-2", time.Now())
	var n int
	err = admin.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{unnamed, "queue"}.Sanitize()).Scan(&n)
	if err != nil || n != 1 {
		t.Errorf("queue entries in the search_path's schema = %d, %v; want 1", n, err)
	}
}

func TestBadOptions(t *testing.T) {
	for _, name := range []string{"a-b", "1abc", "with space", `quo"te`, "semi;colon", strings.Repeat("x", 64)} {
		// Validation comes before connecting, so no server is needed.
		if s, err := Open(context.Background(), "postgres://127.0.0.1:1/none", &Options{Schema: name}); err == nil || !strings.Contains(err.Error(), "schema name") {
			if s != nil {
				s.Close()
			}
			t.Errorf("Open with schema %q = %v, want a schema name error", name, err)
		}
	}
	if _, err := New(context.Background(), nil, nil); err == nil {
		t.Error("New with a nil pool = nil error")
	}
}

// TestMigrateFromVersion1 opens a schema at version 1, as the release
// before the Windows tables left it: New migrates it and keeps what it
// held.
func TestMigrateFromVersion1(t *testing.T) {
	ctx := context.Background()
	schema := freshSchema(t)
	_, pool := testDSN(t)
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	v1, err := fs.ReadFile(Migrations(), "0001_initial.sql")
	if err != nil {
		t.Fatal(err)
	}
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL search_path TO "+pgx.Identifier{schema}.Sanitize()); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, string(v1)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO cert_auth (cert_hash, enrollment_id) VALUES ('HASH-1', 'DEV-1')`)
		return err
	})
	if err != nil {
		t.Fatalf("apply 0001_initial.sql: %v", err)
	}

	var logged bytes.Buffer
	s := openSchema(t, schema, &Options{Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	wantVersions(t, s)
	if strings.Contains(logged.String(), "0001_initial.sql") || !strings.Contains(logged.String(), "0002_windows.sql") {
		t.Errorf("migration log = %q, want 0002_windows.sql applied and 0001_initial.sql not again", logged.String())
	}
	if id, err := s.CertificateEnrollment(ctx, "HASH-1"); err != nil || id != "DEV-1" {
		t.Errorf("CertificateEnrollment of a version 1 binding = %q, %v", id, err)
	}
	e := &windows.Enrollment{DeviceID: "WIN-1", HWDevID: "HW-1", CertThumbprint: "AB12"}
	if err := s.StoreWindowsEnrollment(ctx, e); err != nil {
		t.Fatal(err)
	}
	if got, err := s.WindowsEnrollmentByCert(ctx, "AB12"); err != nil || got.DeviceID != "WIN-1" {
		t.Errorf("WindowsEnrollmentByCert after migrating = %+v, %v", got, err)
	}
}
