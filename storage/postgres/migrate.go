package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// SchemaVersion is the schema version this package reads and writes: the
// number of the last file in Migrations.
const SchemaVersion = 2

// ErrSchemaTooNew means the database's schema was migrated by a newer
// version of this package than the one running. Nothing is changed; run the
// newer version, or restore a database of this version.
var ErrSchemaTooNew = errors.New("postgres: database schema is newer than this version of mdmkit supports")

//go:embed schema/*.sql
var schemaFiles embed.FS

// Migrations returns the SQL files that build the schema, named
// NNNN_description.sql, where NNNN is the version each brings the schema
// to. Each records its version in the table mdmkit_schema, so a database
// migrated by hand is one that New (with NoMigrate or without) accepts.
// Apply the files in name order, each once and in its own transaction,
// with the search_path set to the schema to use (the one given as
// Options.Schema). The files name no schema themselves.
func Migrations() fs.FS {
	sub, err := fs.Sub(schemaFiles, "schema")
	if err != nil {
		// fs.Sub fails only for an invalid path, and "schema" is valid.
		panic(err)
	}
	return sub
}

const sqlVersionTable = `SELECT to_regclass('{schema}.mdmkit_schema') IS NOT NULL`

const sqlVersion = `SELECT COALESCE(max(version), 0) FROM {schema}.mdmkit_schema`

type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in version order, checking
// that they are numbered 1, 2, ... SchemaVersion.
func migrations() ([]migration, error) {
	names, err := fs.Glob(Migrations(), "*.sql")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, name := range names {
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("postgres: migration %s is not named NNNN_description.sql", name)
		}
		body, err := fs.ReadFile(Migrations(), name)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("postgres: migration %s out of sequence, want version %d", m.name, i+1)
		}
	}
	if len(out) != SchemaVersion {
		return nil, fmt.Errorf("postgres: %d migrations embedded, want SchemaVersion %d", len(out), SchemaVersion)
	}
	return out, nil
}

// querier is what version needs of a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// version returns the schema version of the database, 0 when it has none.
func (s *Store) version(ctx context.Context, db querier) (int, error) {
	var exists bool
	if err := db.QueryRow(ctx, s.q.versionTable).Scan(&exists); err != nil {
		return 0, dbError("read schema version", err)
	}
	if !exists {
		return 0, nil
	}
	var v int
	if err := db.QueryRow(ctx, s.q.version).Scan(&v); err != nil {
		return 0, dbError("read schema version", err)
	}
	return v, nil
}

func tooNew(v int) error {
	return fmt.Errorf("%w: the database is at version %d, this package knows versions up to %d", ErrSchemaTooNew, v, SchemaVersion)
}

// verify checks that the database is at SchemaVersion.
func (s *Store) verify(ctx context.Context) error {
	v, err := s.version(ctx, s.pool)
	switch {
	case err != nil:
		return err
	case v > SchemaVersion:
		return tooNew(v)
	case v < SchemaVersion:
		return fmt.Errorf("postgres: database schema is at version %d, this package needs %d: apply the migrations (postgres.Migrations) or open without NoMigrate", v, SchemaVersion)
	}
	return nil
}

// migrate brings the database to SchemaVersion. An up-to-date database
// costs two reads and no lock. Otherwise it migrates in one transaction
// holding an advisory lock on the schema, so of several Stores starting at
// once one migrates and the others, once it commits, find nothing to do.
func (s *Store) migrate(ctx context.Context) error {
	v, err := s.version(ctx, s.pool)
	if err != nil {
		return err
	}
	if v > SchemaVersion {
		return tooNew(v)
	}
	if v == SchemaVersion {
		return nil
	}
	all, err := migrations()
	if err != nil {
		return err
	}
	return s.withTx(ctx, "migrate", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, sqlAdvisoryLock, "mdmkit/migrate/"+s.lockName); err != nil {
			return dbError("migrate: lock", err)
		}
		if s.schema != "" {
			if err := createSchema(ctx, tx, s.schema); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "SET LOCAL search_path TO "+pgx.Identifier{s.schema}.Sanitize()); err != nil {
				return dbError("migrate: set search_path", err)
			}
		}
		v, err := s.version(ctx, tx)
		if err != nil {
			return err
		}
		if v > SchemaVersion {
			return tooNew(v)
		}
		for _, m := range all[v:] {
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return dbError("migrate: apply "+m.name, err)
			}
			s.log.Info("postgres: applied schema migration", "version", m.version, "file", m.name, "schema", s.lockName)
		}
		return nil
	})
}

// createSchema creates the schema unless it exists. It looks first, so a
// role without CREATE on the database can use a schema made for it.
func createSchema(ctx context.Context, tx pgx.Tx, name string) error {
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, name).Scan(&exists); err != nil {
		return dbError("migrate: look up schema", err)
	}
	if exists {
		return nil
	}
	if _, err := tx.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{name}.Sanitize()); err != nil {
		return dbError("migrate: create schema", err)
	}
	return nil
}
