package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/scep"
	"github.com/mdmkit/mdmkit/storage/storagetest"
)

// The tests need a PostgreSQL server named by MDMKIT_POSTGRES_DSN. Each
// test gets a schema of its own, with a random name, dropped when it ends,
// so runs sharing a database do not collide, and the longer tests run in
// parallel. Without the variable (or the
// server) the tests skip, except under CI (CI=true), where they fail.

const dsnVar = "MDMKIT_POSTGRES_DSN"

// admin is a pool for creating and dropping test schemas, opened by the
// first test that needs it and closed by TestMain.
var admin struct {
	once sync.Once
	pool *pgxpool.Pool
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if admin.pool != nil {
		admin.pool.Close()
	}
	os.Exit(code)
}

// unavailable skips the test, or fails it under CI.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("PostgreSQL tests cannot run under CI: "+format, args...)
	}
	t.Skipf("skipping PostgreSQL test: "+format, args...)
}

// testDSN returns the DSN of the test server and a pool on it.
func testDSN(t testing.TB) (string, *pgxpool.Pool) {
	t.Helper()
	dsn := os.Getenv(dsnVar)
	if dsn == "" {
		unavailable(t, "%s is not set (a postgres:// URL of a database the tests may create schemas in)", dsnVar)
	}
	admin.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		admin.pool, admin.err = pgxpool.New(ctx, dsn)
		if admin.err == nil {
			admin.err = admin.pool.Ping(ctx)
		}
	})
	if admin.err != nil {
		unavailable(t, "cannot reach the server in %s: %v", dsnVar, admin.err)
	}
	return dsn, admin.pool
}

// freshSchema returns the name of a schema no other test uses, dropped
// with everything in it when t ends. It does not create it.
func freshSchema(t testing.TB) string {
	t.Helper()
	return freshSchemaFor(t, t)
}

// freshSchemaFor is freshSchema with the schema dropped when owner ends,
// for a benchmark that keeps its data across the runs of a sub-benchmark.
func freshSchemaFor(t, owner testing.TB) string {
	t.Helper()
	_, pool := testDSN(t)
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	name := "mdmkit_test_" + hex.EncodeToString(b[:])
	owner.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := pool.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{name}.Sanitize()+" CASCADE"); err != nil {
			owner.Errorf("drop test schema %s: %v", name, err)
		}
	})
	return name
}

// openSchema opens a Store on schema, closed when t ends.
func openSchema(t testing.TB, schema string, opts *Options) *Store {
	t.Helper()
	dsn, _ := testDSN(t)
	o := Options{Schema: schema}
	if opts != nil {
		o = *opts
		o.Schema = schema
	}
	s, err := Open(context.Background(), dsn, &o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// newStore returns a Store on an empty schema of its own.
func newStore(t testing.TB) *Store {
	t.Helper()
	return openSchema(t, freshSchema(t), nil)
}

func TestCertStore(t *testing.T) {
	t.Parallel()
	testDSN(t)
	storagetest.TestCertStore(t, func(t *testing.T) scep.CertStore { return newStore(t) })
}

func TestPendingStore(t *testing.T) {
	t.Parallel()
	testDSN(t)
	storagetest.TestPendingStore(t, func(t *testing.T) scep.PendingStore { return newStore(t) })
}

func TestChallengeStore(t *testing.T) {
	t.Parallel()
	testDSN(t)
	storagetest.TestChallengeStore(t, func(t *testing.T) scep.ChallengeStore { return newStore(t) })
}

func TestCheckinStore(t *testing.T) {
	t.Parallel()
	testDSN(t)
	storagetest.TestCheckinStore(t, func(t *testing.T) storagetest.CheckinBackend { return newStore(t) })
}

func TestCommandQueue(t *testing.T) {
	t.Parallel()
	testDSN(t)
	storagetest.TestCommandQueue(t, func(t *testing.T) storagetest.QueueBackend { return newStore(t) })
}

func TestCertAuthStore(t *testing.T) {
	t.Parallel()
	testDSN(t)
	storagetest.TestCertAuthStore(t, func(t *testing.T) storagetest.CertAuthBackend { return newStore(t) })
}

// table returns the qualified name of one of s's tables.
func table(s *Store, name string) string {
	if s.schema == "" {
		return name
	}
	return pgx.Identifier{s.schema, name}.Sanitize()
}

// enqueueTo enqueues a command with the given UUID to one enrollment.
func enqueueTo(t testing.TB, s *Store, id, uuid string, now time.Time) {
	t.Helper()
	c := &apple.Command{UUID: uuid, RequestType: "DeviceInformation", Raw: []byte("<plist>" + uuid + "</plist>"), EnqueuedAt: now}
	if err := s.Enqueue(context.Background(), []string{id}, c); err != nil {
		t.Fatalf("Enqueue(%s, %s): %v", id, uuid, err)
	}
}

func TestWindowsEnrollmentStore(t *testing.T) {
	t.Parallel()
	testDSN(t)
	storagetest.TestWindowsEnrollmentStore(t, func(t *testing.T) storagetest.WindowsBackend { return newStore(t) })
}
