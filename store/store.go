// Package store is the product's database access: one Store over GORM that
// runs on Postgres in production and on an embedded SQLite file (pure Go) in
// the embedded default.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	sqlitedriver "modernc.org/sqlite"

	"github.com/csp-onboarding/onboarding/migrations"
)

// Errors the store reports in domain terms; the API maps them to problems.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)

// Store is the database of record.
type Store struct {
	db      *gorm.DB
	dialect migrations.Dialect
}

// Options says which database to open.
type Options struct {
	// DatabaseURL is a postgres:// URL; empty means SQLite at SQLitePath.
	DatabaseURL string
	SQLitePath  string
	Logger      *slog.Logger
}

// Open connects to the database. It does not migrate; call Migrate.
func Open(ctx context.Context, opts Options) (*Store, error) {
	gcfg := &gorm.Config{
		Logger:  gormLogger(opts.Logger),
		NowFunc: func() time.Time { return time.Now().UTC() },
	}
	var (
		db      *gorm.DB
		err     error
		dialect migrations.Dialect
	)
	if opts.DatabaseURL != "" {
		dialect = migrations.Postgres
		db, err = gorm.Open(postgres.Open(opts.DatabaseURL), gcfg)
		if err != nil {
			return nil, fmt.Errorf("open Postgres (check DATABASE_URL): %w", err)
		}
	} else {
		dialect = migrations.SQLite
		if err := os.MkdirAll(filepath.Dir(opts.SQLitePath), 0o750); err != nil {
			return nil, fmt.Errorf("create data folder for %s: %w", opts.SQLitePath, err)
		}
		// modernc.org/sqlite registers the driver "sqlite": pure Go, no cgo.
		dsn := "file:" + opts.SQLitePath + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate&_time_format=sqlite"
		db, err = gorm.Open(sqlite.New(sqlite.Config{DriverName: "sqlite", DSN: dsn}), gcfg)
		if err != nil {
			return nil, fmt.Errorf("open SQLite %s: %w", opts.SQLitePath, err)
		}
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	if dialect == migrations.SQLite {
		// One writer at a time is what SQLite does anyway; one connection
		// turns lock contention into queueing instead of SQLITE_BUSY errors.
		sqlDB.SetMaxOpenConns(1)
	} else {
		sqlDB.SetMaxOpenConns(20)
		sqlDB.SetMaxIdleConns(10)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pingCtx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("reach the database: %w", err)
	}
	return &Store{db: db, dialect: dialect}, nil
}

// Migrate applies pending migrations.
func (s *Store) Migrate(ctx context.Context) ([]int64, error) {
	sqlDB, err := s.db.DB()
	if err != nil {
		return nil, err
	}
	return migrations.Up(ctx, sqlDB, s.dialect)
}

// Ping checks the database answers (readiness).
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// Close releases the connections.
func (s *Store) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// Dialect tells which database this is.
func (s *Store) Dialect() migrations.Dialect { return s.dialect }

// DB exposes GORM for tests that assert over tables directly.
func (s *Store) DB() *gorm.DB { return s.db }

// isUniqueViolation recognises a unique-key clash on both databases.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	var liteErr *sqlitedriver.Error
	if errors.As(err, &liteErr) {
		// SQLITE_CONSTRAINT_UNIQUE and SQLITE_CONSTRAINT_PRIMARYKEY
		return liteErr.Code() == 2067 || liteErr.Code() == 1555
	}
	return strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// IsPermanent recognises errors the database will give again however often
// the statement is retried: bad data (a NUL byte, a value too long) and
// constraint violations other than a unique-key clash (CHECK, NOT NULL,
// foreign key, a trigger's refusal). Retrying them only wedges a workflow.
func IsPermanent(err error) bool {
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return strings.HasPrefix(pgErr.Code, "22") || (strings.HasPrefix(pgErr.Code, "23") && pgErr.Code != "23505") ||
			pgErr.Code == "P0001" // RAISE EXCEPTION in a trigger (append-only tables)
	}
	var liteErr *sqlitedriver.Error
	if errors.As(err, &liteErr) {
		switch liteErr.Code() {
		case 275, 1299, 787, 1811, 19: // CHECK, NOT NULL, FOREIGN KEY, TRIGGER, plain CONSTRAINT
			return true
		}
	}
	return false
}

func notFound(err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ErrNotFound
	}
	return err
}

func gormLogger(l *slog.Logger) logger.Interface {
	if l == nil {
		return logger.Discard
	}
	return logger.NewSlogLogger(l, logger.Config{
		SlowThreshold:             500 * time.Millisecond,
		IgnoreRecordNotFoundError: true,
		LogLevel:                  logger.Warn,
		ParameterizedQueries:      true, // never log values: they hold e-mails and hashes
	})
}

func now() time.Time { return time.Now().UTC() }

// InTransaction runs fn with a Store whose every call is part of one
// transaction: all of fn's writes are seen together or not at all.
func (s *Store) InTransaction(ctx context.Context, fn func(tx *Store) error) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return fn(&Store{db: tx, dialect: s.dialect})
	})
}
