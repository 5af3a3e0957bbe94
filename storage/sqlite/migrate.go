package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"strconv"
	"strings"
)

// SchemaVersion is the version of the schema this package reads and
// writes: the number of migration files in Migrations.
const SchemaVersion = 2

var (
	// ErrSchemaTooNew means the database was migrated by a newer version
	// of this package; this one would misread it, so Open refuses it.
	ErrSchemaTooNew = errors.New("sqlite: database schema is newer than this version of mdmkit supports")

	// ErrSchemaTooOld means the database is older than SchemaVersion (or
	// empty) and Options.NoMigrate kept Open from migrating it.
	ErrSchemaTooOld = errors.New("sqlite: database schema is older than this version of mdmkit needs")
)

//go:embed schema/*.sql
var schemaFiles embed.FS

// Migrations returns the schema migrations as SQL files, for operators who
// apply them with their own tools: NNNN_name.sql, applied in order of NNNN
// from one past the database's version (the version column of its single
// mdmkit_schema row, none for an empty database) up to SchemaVersion, each
// in a transaction. Each file records its version itself. Open with
// Options.NoMigrate then only checks the version.
func Migrations() fs.FS {
	sub, err := fs.Sub(schemaFiles, "schema")
	if err != nil {
		// fs.Sub fails only for an invalid directory name.
		return schemaFiles
	}
	return sub
}

// migration is one embedded schema file.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations reads the embedded files and checks that they number 1 to
// SchemaVersion without gaps.
func migrations() ([]migration, error) {
	dir := Migrations()
	names, err := fs.Glob(dir, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("sqlite: list migrations: %w", err)
	}
	var out []migration
	for _, name := range names { // fs.Glob sorts them
		num, _, ok := strings.Cut(path.Base(name), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("sqlite: migration %s is not named NNNN_name.sql", name)
		}
		b, err := fs.ReadFile(dir, name)
		if err != nil {
			return nil, fmt.Errorf("sqlite: read migration %s: %w", name, err)
		}
		out = append(out, migration{version: v, name: name, sql: string(b)})
	}
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("sqlite: migration %s is out of sequence (want version %d)", m.name, i+1)
		}
	}
	if len(out) != SchemaVersion {
		return nil, fmt.Errorf("sqlite: %d migrations for schema version %d", len(out), SchemaVersion)
	}
	return out, nil
}

// queryer is what schemaVersion needs: a *sql.DB or a *sql.Tx.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// schemaVersion returns the version recorded in the database, 0 when it
// has no mdmkit_schema table.
func schemaVersion(ctx context.Context, q queryer) (int, error) {
	var tables int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'mdmkit_schema'`).Scan(&tables)
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	if tables == 0 {
		return 0, nil
	}
	var v sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT max(version) FROM mdmkit_schema`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	if !v.Valid {
		return 0, errors.New("table mdmkit_schema has no version row")
	}
	return int(v.Int64), nil
}

// migrate brings the database to SchemaVersion in one transaction, or with
// noMigrate only checks that it is there.
func migrate(ctx context.Context, db *sql.DB, noMigrate bool, log *slog.Logger) error {
	steps, err := migrations()
	if err != nil {
		return err
	}
	if noMigrate {
		v, err := schemaVersion(ctx, db)
		if err != nil {
			return err
		}
		return checkVersion(v, true)
	}

	tx, err := db.BeginTx(ctx, nil) // BEGIN IMMEDIATE: one migrator at a time
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	v, err := schemaVersion(ctx, tx)
	if err != nil {
		return err
	}
	if err := checkVersion(v, false); err != nil || v == SchemaVersion {
		return err
	}
	for _, m := range steps[v:] {
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		got, err := schemaVersion(ctx, tx)
		if err != nil {
			return err
		}
		if got != m.version {
			return fmt.Errorf("migration %s left schema version %d, want %d", m.name, got, m.version)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	log.Info("sqlite: migrated database schema", "from", v, "to", SchemaVersion)
	return nil
}

// checkVersion compares a database's version with SchemaVersion.
func checkVersion(v int, noMigrate bool) error {
	switch {
	case v > SchemaVersion:
		return fmt.Errorf("%w (database version %d, supported %d)", ErrSchemaTooNew, v, SchemaVersion)
	case v < SchemaVersion && noMigrate:
		return fmt.Errorf("%w (database version %d, needed %d; apply Migrations or open without NoMigrate)", ErrSchemaTooOld, v, SchemaVersion)
	}
	return nil
}
