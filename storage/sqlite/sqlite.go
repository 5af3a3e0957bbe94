package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	// The driver registers itself as "sqlite": SQLite translated to Go,
	// so the module builds without cgo.
	_ "modernc.org/sqlite"
)

// busyTimeout is how long, in milliseconds, a connection waits for a lock
// another process holds before it gives up with SQLITE_BUSY. Within one
// Store writes never wait for each other in SQLite: they queue for the one
// write connection instead.
const busyTimeout = 10000

// Options configures Open. A nil *Options is the same as a zero Options.
type Options struct {
	// NoMigrate makes Open check that the database is already at
	// SchemaVersion instead of migrating it, for operators who apply the
	// SQL of Migrations themselves. An older (or empty) database is then
	// ErrSchemaTooOld. A newer one is ErrSchemaTooNew either way.
	NoMigrate bool

	// SyncNormal commits with PRAGMA synchronous=NORMAL instead of FULL:
	// a commit no longer waits for the write-ahead log to reach the disk.
	// Writes get faster and a crashed or killed process still loses
	// nothing, but a power failure or an operating-system crash may roll
	// back the transactions committed last, results a device was told
	// were received among them. The zero value, FULL, survives both.
	SyncNormal bool

	// MaxReaders caps the pool of read-only connections. Zero means
	// GOMAXPROCS, at least 4; a negative value is an error.
	MaxReaders int

	// Logger receives a line for each migration Open applies. Nil means
	// silent. Nothing the store logs contains a token or a result.
	Logger *slog.Logger
}

// Store is a storage backend in one SQLite database file. It is safe for
// concurrent use; see the package documentation for how. Open returns one
// and Close releases it.
type Store struct {
	// w has exactly one connection, so writes queue in database/sql
	// instead of failing with SQLITE_BUSY; every transaction on it is
	// BEGIN IMMEDIATE.
	w *sql.DB
	// r is a pool of read-only connections, which WAL lets read while w
	// writes.
	r   *sql.DB
	log *slog.Logger

	// Statements of the hot path, prepared once per connection.
	connStart, nextCommand, nextCommandSkip *sql.Stmt
	storeResult, resultState                *sql.Stmt
	tokenUpdateDevice, tokenUpdateUser      *sql.Stmt
	certEnrollment                          *sql.Stmt
	insertCommand, insertEntry              *sql.Stmt
	insertEntries                           *sql.Stmt
	// The Windows lookups of every management session.
	windowsEnrollment, windowsByHardware, windowsByCert *sql.Stmt

	// consumes counts ConsumeChallenge calls, to sweep expired
	// challenges every so often.
	consumes atomic.Uint64
}

// Open opens (creating it if need be) the SQLite database at path, puts it
// in WAL mode, brings its schema to SchemaVersion (or, with
// Options.NoMigrate, checks that it is there) and returns a Store on it.
// path is a file name; ":memory:" and "file:" URIs are refused, because
// the store's connections must share one database. Close the Store when
// done with it.
func Open(ctx context.Context, path string, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlite: Open needs the file name of a database, not %q", path)
	}
	if o.MaxReaders < 0 {
		return nil, fmt.Errorf("sqlite: Options.MaxReaders is %d", o.MaxReaders)
	}
	if o.MaxReaders == 0 {
		o.MaxReaders = max(4, runtime.GOMAXPROCS(0))
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	uri, err := fileURI(path)
	if err != nil {
		return nil, err
	}
	synchronous := "FULL"
	if o.SyncNormal {
		synchronous = "NORMAL"
	}

	w, err := sql.Open("sqlite", uri+"?_txlock=immediate"+
		"&_pragma=busy_timeout("+fmt.Sprint(busyTimeout)+")"+
		"&_pragma=journal_mode(WAL)"+
		"&_pragma=synchronous("+synchronous+")"+
		"&_pragma=foreign_keys(1)")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s := &Store{w: w, log: log}
	if err := s.setUp(ctx, path, uri, &o); err != nil {
		return nil, errors.Join(err, s.Close())
	}
	return s, nil
}

// setUp checks the journal mode, migrates, opens the readers and prepares
// the hot statements.
func (s *Store) setUp(ctx context.Context, path, uri string, o *Options) error {
	var mode string
	if err := s.w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("sqlite: open %s: journal mode is %q, not WAL (is the file system local?)", path, mode)
	}
	if err := migrate(ctx, s.w, o.NoMigrate, s.log); err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	}

	r, err := sql.Open("sqlite", uri+"?_pragma=busy_timeout("+fmt.Sprint(busyTimeout)+")&_pragma=query_only(1)")
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(o.MaxReaders)
	r.SetMaxIdleConns(o.MaxReaders)
	r.SetConnMaxLifetime(0)
	r.SetConnMaxIdleTime(0)
	s.r = r

	for _, p := range []struct {
		db   *sql.DB
		dst  **sql.Stmt
		text string
	}{
		{s.w, &s.connStart, sqlConnectionStart},
		{s.r, &s.nextCommand, sqlNextCommand},
		{s.r, &s.nextCommandSkip, sqlNextCommandSkipNotNow},
		{s.w, &s.storeResult, sqlStoreResult},
		{s.r, &s.resultState, sqlResultState},
		{s.w, &s.tokenUpdateDevice, sqlTokenUpdateDevice},
		{s.w, &s.tokenUpdateUser, sqlTokenUpdateUser},
		{s.r, &s.certEnrollment, sqlCertificateEnrollment},
		{s.w, &s.insertCommand, sqlInsertCommand},
		{s.w, &s.insertEntry, sqlInsertEntry},
		{s.w, &s.insertEntries, sqlInsertEntries},
		{s.r, &s.windowsEnrollment, sqlWindowsEnrollment},
		{s.r, &s.windowsByHardware, sqlWindowsByHardware},
		{s.r, &s.windowsByCert, sqlWindowsByCert},
	} {
		st, err := p.db.PrepareContext(ctx, p.text)
		if err != nil {
			return fmt.Errorf("sqlite: prepare: %w", err)
		}
		*p.dst = st
	}
	return nil
}

// Close closes the database. The last connection to close checkpoints the
// write-ahead log into the database file. Close is not safe to call while
// other methods are running.
func (s *Store) Close() error {
	var errs []error
	for _, st := range []*sql.Stmt{s.connStart, s.nextCommand, s.nextCommandSkip, s.storeResult,
		s.resultState, s.tokenUpdateDevice, s.tokenUpdateUser, s.certEnrollment, s.insertCommand, s.insertEntry, s.insertEntries,
		s.windowsEnrollment, s.windowsByHardware, s.windowsByCert} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	if s.w != nil {
		errs = append(errs, s.w.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}

// fileURI turns a file name into the URI SQLite opens: absolute, with the
// characters a URI gives meaning to escaped.
func fileURI(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("sqlite: %w", err)
	}
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows drive letter
	}
	p = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
	return "file://" + p, nil
}

// Times are stored as integer microseconds since the Unix epoch. A time
// that may be absent is NULL when it is the zero time.

func micros(t time.Time) int64 {
	return t.UnixMicro()
}

// optMicros is micros, or NULL for the zero time.
func optMicros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// timeOf reads a time column; NULL is the zero time.
func timeOf(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMicro(v.Int64).UTC()
}

// rowsAffected returns how many rows res changed.
func rowsAffected(res sql.Result) (int64, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlite: rows affected: %w", err)
	}
	return n, nil
}
