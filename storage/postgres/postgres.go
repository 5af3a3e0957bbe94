package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/scep"
	"github.com/mdmkit/mdmkit/storage"
)

var (
	_ scep.CertStore            = (*Store)(nil)
	_ scep.PendingStore         = (*Store)(nil)
	_ scep.ChallengeStore       = (*Store)(nil)
	_ apple.CheckinStore        = (*Store)(nil)
	_ apple.EnrollmentStore     = (*Store)(nil)
	_ apple.PushInfoStore       = (*Store)(nil)
	_ apple.BootstrapTokenStore = (*Store)(nil)
	_ apple.UnlockTokenStore    = (*Store)(nil)
	_ apple.CertAuthStore       = (*Store)(nil)
	_ apple.CommandEnqueuer     = (*Store)(nil)
	_ apple.CommandQueue        = (*Store)(nil)
	_ apple.QueueViewer         = (*Store)(nil)
	_ apple.ResultPruner        = (*Store)(nil)
)

// maxSchemaName is PostgreSQL's limit on identifiers (NAMEDATALEN - 1).
const maxSchemaName = 63

// defaultLimit is the page size of Enrollments and Results when the caller
// gives none.
const defaultLimit = 100

// Options configures a Store. The zero value (or nil) is valid.
type Options struct {
	// Schema is the PostgreSQL schema the tables live in. It is created
	// when missing (unless NoMigrate is set), and every statement names it,
	// so a pool shared with the host's own tables works. It must be a
	// simple identifier: ASCII letters, digits and underscores, not
	// starting with a digit, at most 63 bytes; it is quoted, so case
	// matters. Empty means the tables are wherever the connection's
	// search_path puts them (normally the public schema); the table names
	// are generic (enrollments, commands, queue, ...), so a database the
	// host also uses should name a schema.
	Schema string
	// NoMigrate makes New only check the schema version instead of
	// migrating: the database must be at SchemaVersion already, applied by
	// an operator from Migrations or by another Store. False means New
	// applies missing migrations.
	NoMigrate bool
	// Logger receives a line per migration applied. Nil means silent.
	Logger *slog.Logger
}

// Store is a PostgreSQL storage backend; see the package documentation.
// It is safe for concurrent use, and any number of Stores, in any number
// of processes, may share one database and schema.
type Store struct {
	pool    *pgxpool.Pool
	ownPool bool
	log     *slog.Logger
	q       *queries
	// lockName names the schema in the advisory locks of migrations and
	// PruneResults, so Stores of other schemas do not wait for them.
	lockName string
	schema   string
	// pruneBatch is the number of entries per PruneResults transaction.
	pruneBatch int
}

// Open connects to the database named by dsn (a postgres:// URL or a
// keyword/value string, as pgxpool.ParseConfig takes it, pool settings
// such as pool_max_conns included), then does what New does. Close closes
// the pool.
func Open(ctx context.Context, dsn string, opts *Options) (*Store, error) {
	if err := checkOptions(opts); err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse DSN: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	s, err := New(ctx, pool, opts)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.ownPool = true
	return s, nil
}

// New returns a Store that uses pool, which stays the caller's: Close
// leaves it open. It applies the migrations the database lacks (or, with
// NoMigrate, checks that none is lacking) before it returns. A database
// whose schema is newer than this package is ErrSchemaTooNew.
func New(ctx context.Context, pool *pgxpool.Pool, opts *Options) (*Store, error) {
	if pool == nil {
		return nil, errors.New("postgres: New with a nil pool")
	}
	if err := checkOptions(opts); err != nil {
		return nil, err
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	s := &Store{pool: pool, log: o.Logger, schema: o.Schema, pruneBatch: defaultPruneBatch}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	prefix := ""
	if o.Schema != "" {
		prefix = pgx.Identifier{o.Schema}.Sanitize() + "."
	}
	s.q = newQueries(prefix)
	s.lockName = o.Schema
	if s.lockName == "" {
		var cur *string
		if err := pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&cur); err != nil {
			return nil, fmt.Errorf("postgres: current schema: %w", err)
		}
		if cur != nil {
			s.lockName = *cur
		}
	}
	var err error
	if o.NoMigrate {
		err = s.verify(ctx)
	} else {
		err = s.migrate(ctx)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

func checkOptions(opts *Options) error {
	if opts == nil || opts.Schema == "" {
		return nil
	}
	name := opts.Schema
	ok := len(name) <= maxSchemaName
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9'
	}
	if !ok {
		return fmt.Errorf("postgres: schema name %q is not a simple identifier (letters, digits and underscores, at most %d bytes)", name, maxSchemaName)
	}
	return nil
}

// Close closes the pool if Open created it. The Store must not be used
// after Close.
func (s *Store) Close() {
	if s.ownPool {
		s.pool.Close()
	}
}

// notFound wraps storage.ErrNotFound with what was looked for.
func notFound(format string, args ...any) error {
	return fmt.Errorf("postgres: "+format+": %w", append(args, storage.ErrNotFound)...)
}

// dbError wraps an error from the database with the operation.
func dbError(op string, err error) error {
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// nullTime is nil (NULL) for the zero time and t otherwise.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// timeOf is the zero time for NULL.
func timeOf(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// nullBytes is nil (NULL) for an empty slice, so "absent" is one value.
func nullBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// withTx runs fn in a transaction, committed if fn returns nil.
func (s *Store) withTx(ctx context.Context, op string, fn func(pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return dbError(op, err)
	}
	// After Commit, Rollback does nothing; after a cancelled ctx, pgx
	// closes the connection rather than return it in a transaction.
	defer tx.Rollback(ctx)
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return dbError(op, err)
	}
	return nil
}
