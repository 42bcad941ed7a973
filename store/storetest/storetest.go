// Package storetest gives tests a migrated, empty store on the real local
// Postgres (TEST_DATABASE_URL, one fresh schema per test) or on SQLite.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for schema set-up

	"github.com/csp-onboarding/onboarding/migrations"
	"github.com/csp-onboarding/onboarding/store"
)

// DefaultPostgresURL is the machine's local Postgres (trust auth).
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// PostgresURL is TEST_DATABASE_URL or the default.
func PostgresURL() string {
	if v := os.Getenv("TEST_DATABASE_URL"); v != "" {
		return v
	}
	return DefaultPostgresURL
}

// Dialects lists the databases every store test runs on.
var Dialects = []migrations.Dialect{migrations.Postgres, migrations.SQLite}

// New returns a migrated store on the dialect, dropped when the test ends.
func New(t testing.TB, dialect migrations.Dialect) *store.Store {
	t.Helper()
	st, _ := NewWithURL(t, dialect)
	return st
}

// NewWithURL also returns the database URL (Postgres) or file (SQLite), for
// tests that run the product's own wiring on the same database.
func NewWithURL(t testing.TB, dialect migrations.Dialect) (*store.Store, string) {
	t.Helper()
	ctx := context.Background()
	var opts store.Options
	var where string
	if dialect == migrations.Postgres {
		where = freshSchema(t)
		opts.DatabaseURL = where
	} else {
		where = filepath.Join(t.TempDir(), "onboarding.db")
		opts.SQLitePath = where
	}
	st, err := store.Open(ctx, opts)
	if err != nil {
		t.Fatalf("open %s store: %v", dialect, err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatalf("migrate %s store: %v", dialect, err)
	}
	return st, where
}

// freshSchema creates an empty schema and returns a URL whose search_path is it.
func freshSchema(t testing.TB) string {
	t.Helper()
	base := PostgresURL()
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open Postgres %s: %v", base, err)
	}
	defer db.Close()
	if err := db.Ping(); err != nil {
		t.Fatalf("Postgres at %s is not reachable (%v). Start it (pg_ctlcluster --skip-systemctl-redirect <version> main start) or set TEST_DATABASE_URL.", base, err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		cleanup, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer cleanup.Close()
		_, _ = cleanup.Exec("DROP SCHEMA " + schema + " CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
