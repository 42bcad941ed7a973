// Package migrations holds the versioned schema, one folder per SQL dialect,
// embedded in the binary and applied by goose (`onboarding migrate`, and at
// start in the embedded default).
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// Dialect names the SQL flavour of a database.
type Dialect string

const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

func provider(db *sql.DB, dialect Dialect) (*goose.Provider, error) {
	sub, err := fs.Sub(files, string(dialect))
	if err != nil {
		return nil, err
	}
	gd := goose.DialectPostgres
	if dialect == SQLite {
		gd = goose.DialectSQLite3
	}
	return goose.NewProvider(gd, db, sub)
}

// Up applies every migration not yet applied and returns the versions it ran.
func Up(ctx context.Context, db *sql.DB, dialect Dialect) ([]int64, error) {
	p, err := provider(db, dialect)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	applied := make([]int64, 0, len(results))
	for _, r := range results {
		applied = append(applied, r.Source.Version)
	}
	return applied, nil
}

// Version returns the schema version the database is at.
func Version(ctx context.Context, db *sql.DB, dialect Dialect) (int64, error) {
	p, err := provider(db, dialect)
	if err != nil {
		return 0, err
	}
	return p.GetDBVersion(ctx)
}

// Reset rolls every migration back (tests use it to prove Down works).
func Reset(ctx context.Context, db *sql.DB, dialect Dialect) error {
	p, err := provider(db, dialect)
	if err != nil {
		return err
	}
	_, err = p.DownTo(ctx, 0)
	return err
}
