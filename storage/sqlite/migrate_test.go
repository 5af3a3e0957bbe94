package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/storage"
	"github.com/mdmkit/mdmkit/storage/sqlite"
	"github.com/mdmkit/mdmkit/windows"
)

// rawDB opens the database file with database/sql alone, as an operator's
// tool would.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func schemaVersion(t *testing.T, db *sql.DB) (version, rows int) {
	t.Helper()
	if err := db.QueryRow(`SELECT max(version), count(*) FROM mdmkit_schema`).Scan(&version, &rows); err != nil {
		t.Fatal(err)
	}
	return version, rows
}

// openAndClose opens path, checks the error, and closes the store.
func openAndClose(t *testing.T, path string, opts *sqlite.Options) error {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path, opts)
	if err == nil {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return err
}

func TestOpenMigratesOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mdm.db")
	var logs bytes.Buffer
	opts := &sqlite.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	if err := openAndClose(t, path, opts); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "migrated database schema") {
		t.Errorf("Open of a new database logged %q, want a migration line", logs.String())
	}
	logs.Reset()
	if err := openAndClose(t, path, opts); err != nil {
		t.Fatal(err)
	}
	if logs.Len() != 0 {
		t.Errorf("Open of a current database logged %q, want nothing", logs.String())
	}
	if v, n := schemaVersion(t, rawDB(t, path)); v != sqlite.SchemaVersion || n != 1 {
		t.Errorf("mdmkit_schema has version %d in %d rows, want %d in one", v, n, sqlite.SchemaVersion)
	}
	var mode string
	if err := rawDB(t, path).QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
}

// A database a newer version migrated is refused, with or without
// NoMigrate, and left as it is.
func TestSchemaTooNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mdm.db")
	if err := openAndClose(t, path, nil); err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, path)
	if _, err := db.Exec(`UPDATE mdmkit_schema SET version = version + 1`); err != nil {
		t.Fatal(err)
	}
	for _, opts := range []*sqlite.Options{nil, {NoMigrate: true}} {
		err := openAndClose(t, path, opts)
		if !errors.Is(err, sqlite.ErrSchemaTooNew) {
			t.Errorf("Open(%+v) of a database at version %d = %v, want ErrSchemaTooNew", opts, sqlite.SchemaVersion+1, err)
		}
	}
	if v, _ := schemaVersion(t, db); v != sqlite.SchemaVersion+1 {
		t.Errorf("after the refused Open the version is %d, want %d untouched", v, sqlite.SchemaVersion+1)
	}
}

// With NoMigrate an empty or outdated database is refused and left
// unmigrated; a current one opens.
func TestNoMigrate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mdm.db")
	noMigrate := &sqlite.Options{NoMigrate: true}
	if err := openAndClose(t, path, noMigrate); !errors.Is(err, sqlite.ErrSchemaTooOld) {
		t.Fatalf("Open with NoMigrate of an empty database = %v, want ErrSchemaTooOld", err)
	}
	var tables int
	if err := rawDB(t, path).QueryRow(`SELECT count(*) FROM sqlite_schema WHERE type = 'table'`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Errorf("Open with NoMigrate created %d tables", tables)
	}

	if err := openAndClose(t, path, nil); err != nil {
		t.Fatal(err)
	}
	if err := openAndClose(t, path, noMigrate); err != nil {
		t.Errorf("Open with NoMigrate of a current database = %v", err)
	}

	// An older version, as a release before the latest migration left it.
	if _, err := rawDB(t, path).Exec(`UPDATE mdmkit_schema SET version = version - 1`); err != nil {
		t.Fatal(err)
	}
	if err := openAndClose(t, path, noMigrate); !errors.Is(err, sqlite.ErrSchemaTooOld) {
		t.Errorf("Open with NoMigrate of a database at version %d = %v, want ErrSchemaTooOld", sqlite.SchemaVersion-1, err)
	}
}

// An operator applies Migrations with a tool of their own (here
// database/sql, a transaction per file) and opens with NoMigrate.
func TestMigrationsAppliedByHand(t *testing.T) {
	ctx := context.Background()
	names, err := fs.Glob(sqlite.Migrations(), "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != sqlite.SchemaVersion {
		t.Fatalf("Migrations has %q, want %d files", names, sqlite.SchemaVersion)
	}
	path := filepath.Join(t.TempDir(), "mdm.db")
	db := rawDB(t, path)
	for _, name := range names {
		text, err := fs.ReadFile(sqlite.Migrations(), name)
		if err != nil {
			t.Fatal(err)
		}
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(string(text)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	if v, n := schemaVersion(t, db); v != sqlite.SchemaVersion || n != 1 {
		t.Fatalf("after applying Migrations by hand: version %d in %d rows, want %d in one", v, n, sqlite.SchemaVersion)
	}

	s, err := sqlite.Open(ctx, path, &sqlite.Options{NoMigrate: true})
	if err != nil {
		t.Fatalf("Open with NoMigrate after applying Migrations: %v", err)
	}
	defer s.Close()
	now := time.Date(2025, time.March, 14, 12, 0, 0, 0, time.UTC)
	if err := s.Enqueue(ctx, []string{"DEV-1"}, &apple.Command{UUID: "CMD-1", RequestType: "DeviceInformation", EnqueuedAt: now}); err != nil {
		t.Fatal(err)
	}
	if c, err := s.NextCommand(ctx, "DEV-1", false, now); err != nil || c.UUID != "CMD-1" {
		t.Errorf("NextCommand = %+v, %v; want CMD-1", c, err)
	}
}

// What a Store wrote is there after Close and Open.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "mdm.db")
	now := time.Date(2025, time.March, 14, 12, 0, 0, 0, time.UTC)
	s, err := sqlite.Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	dev := apple.EnrollID{Type: apple.Device, ID: "DEV-1"}
	if err := s.StoreAuthenticate(ctx, dev, &apple.Authenticate{Topic: "topic"}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StoreTokenUpdate(ctx, dev, &apple.TokenUpdate{Token: []byte{0, 1, 2}, PushMagic: "magic"}, now); err != nil {
		t.Fatal(err)
	}
	if err := s.BindCertificate(ctx, dev.ID, "hash"); err != nil {
		t.Fatal(err)
	}
	if err := s.Enqueue(ctx, []string{dev.ID}, &apple.Command{UUID: "CMD-1", RequestType: "DeviceInformation"}); err != nil {
		t.Fatal(err)
	}
	if err := s.StoreResult(ctx, &apple.Result{EnrollmentID: dev.ID, CommandUUID: "CMD-1", Status: apple.StatusAcknowledged, ReportedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = sqlite.Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if rec, err := s.Enrollment(ctx, dev.ID); err != nil || !rec.Active || rec.TokenUpdates != 1 || !rec.UpdatedAt.Equal(now) {
		t.Errorf("Enrollment after reopening = %+v, %v", rec, err)
	}
	if id, err := s.CertificateEnrollment(ctx, "hash"); err != nil || id != dev.ID {
		t.Errorf("CertificateEnrollment after reopening = %q, %v", id, err)
	}
	if rs, err := s.Results(ctx, dev.ID, "", 0); err != nil || len(rs) != 1 || rs[0].Status != apple.StatusAcknowledged {
		t.Errorf("Results after reopening = %+v, %v", rs, err)
	}
	if err := s.Enqueue(ctx, []string{dev.ID}, &apple.Command{UUID: "CMD-1"}); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("Enqueue of a stored UUID after reopening = %v, want storage.ErrAlreadyExists", err)
	}
}

func TestOpenRefusesNonFiles(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file:mdm.db?mode=memory"} {
		if _, err := sqlite.Open(context.Background(), path, nil); err == nil {
			t.Errorf("Open(%q) = nil error, want one", path)
		}
	}
	if _, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "x.db"), &sqlite.Options{MaxReaders: -1}); err == nil {
		t.Error("Open with MaxReaders -1 = nil error, want one")
	}
}

// A file name with characters a URI gives meaning to is a file name.
func TestOpenOddFileName(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir?with#odd%chars")
	path := filepath.Join(dir, "mdm?.db")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := openAndClose(t, path, nil); err != nil {
		t.Fatal(err)
	}
	if v, _ := schemaVersion(t, rawDB(t, "file:"+strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path))); v != sqlite.SchemaVersion {
		t.Errorf("the database at %q has version %d", path, v)
	}
}

// A database at version 1, as the release before the Windows tables left
// it, is migrated on Open, and keeps what it held.
func TestMigrateFromVersion1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "mdm.db")
	db := rawDB(t, path)
	v1, err := fs.ReadFile(sqlite.Migrations(), "0001_initial.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(string(v1)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO cert_auth (cert_hash, enrollment_id) VALUES ('hash', 'DEV-1')`); err != nil {
		t.Fatal(err)
	}
	if err := openAndClose(t, path, &sqlite.Options{NoMigrate: true}); !errors.Is(err, sqlite.ErrSchemaTooOld) {
		t.Fatalf("Open with NoMigrate of a version 1 database = %v, want ErrSchemaTooOld", err)
	}

	s, err := sqlite.Open(ctx, path, nil)
	if err != nil {
		t.Fatalf("Open of a version 1 database: %v", err)
	}
	defer s.Close()
	if v, n := schemaVersion(t, db); v != sqlite.SchemaVersion || n != 1 {
		t.Errorf("after migrating from version 1: version %d in %d rows, want %d in one", v, n, sqlite.SchemaVersion)
	}
	if id, err := s.CertificateEnrollment(ctx, "hash"); err != nil || id != "DEV-1" {
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
