package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"dewar/index"
	"dewar/index/sqlindex"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Compile-time checks that Index provides every capability.
var (
	_ index.Index  = (*Index)(nil)
	_ index.Ingest = (*Index)(nil)
	_ index.Search = (*Index)(nil)
)

// Options tune Open. The zero value is sensible.
type Options struct {
	// MaxConns caps the connection pool; 0 keeps the URL's pool_max_conns
	// or pgxpool's default (the larger of 4 and the number of CPUs). The
	// pool is shared with whatever else uses Pool (the job queue).
	MaxConns int32
	// Now is the clock for times callers leave zero; nil is time.Now.
	Now func() time.Time
	// DriveLimit is sqlindex.Options.DriveLimit (0: automatic).
	DriveLimit int
}

// Index is Dewar's index in PostgreSQL: the shared sqlindex
// implementation over a pgx connection pool, which Pool exposes so other
// parts of Dewar (the job queue) can use the same connections and database.
type Index struct {
	*sqlindex.Index
	pool *pgxpool.Pool
}

// migrationLockKey is the pg_advisory_xact_lock key that serialises
// migrations across nodes opening the same database: "dewa" in ASCII.
const migrationLockKey = 0x64657761

// PostgreSQL error codes (SQLSTATE) the index reacts to.
const (
	codeUniqueViolation      = "23505"
	codeForeignKeyViolation  = "23503"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
)

// Dialect is PostgreSQL's sqlindex.Dialect.
func Dialect() sqlindex.Dialect {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embedded directory always exists
	}
	return sqlindex.Dialect{
		Name:           "postgres",
		Placeholder:    sqlindex.Dollar,
		Migrations:     sub,
		MigrationLock:  "SELECT pg_advisory_xact_lock(" + strconv.Itoa(migrationLockKey) + ")",
		ForUpdate:      " FOR UPDATE",
		ForShare:       " FOR KEY SHARE",
		Constraint:     constraint,
		Retryable:      retryable,
		ForNoKeyUpdate: " FOR NO KEY UPDATE",
		Lower:          sqlindex.LowerC,
		Explain:        "EXPLAIN ",
	}
}

func sqlState(err error) string {
	var e *pgconn.PgError
	if !errors.As(err, &e) {
		return ""
	}
	return e.Code
}

// constraint classifies by SQLSTATE, never by message.
func constraint(err error) sqlindex.Constraint {
	switch sqlState(err) {
	case codeUniqueViolation:
		return sqlindex.UniqueViolation
	case codeForeignKeyViolation:
		return sqlindex.ForeignKeyViolation
	}
	return sqlindex.NoConstraint
}

// retryable reports a deadlock or serialization failure: PostgreSQL rolled
// the transaction back and running it again may succeed.
func retryable(err error) bool {
	switch sqlState(err) {
	case codeSerializationFailure, codeDeadlockDetected:
		return true
	}
	return false
}

// Open connects to the database at url (a postgres:// URL or key=value
// DSN as pgx accepts, e.g. postgres://user@host:5432/dewar?sslmode=disable;
// pool_max_conns and other pgxpool parameters apply) and brings its schema
// up to date. Several nodes may Open the same database at once: the
// migrations run one node at a time under an advisory lock. ctx bounds the
// connection and the migration only. Close the result to release the pool.
func Open(ctx context.Context, url string, opts Options) (*Index, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx redacts the password in the URL it quotes.
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect to %s: %w", cfg.ConnConfig.Host, err)
	}
	// database/sql keeps no idle connections of its own (OpenDBFromPool
	// sets that): they stay in the pool for other users.
	db := stdlib.OpenDBFromPool(pool)
	ix, err := sqlindex.NewContext(ctx, db, Dialect(), sqlindex.Options{Now: opts.Now, DriveLimit: opts.DriveLimit})
	if err != nil {
		db.Close()
		pool.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	return &Index{Index: ix, pool: pool}, nil
}

// Pool is the connection pool the index uses. It stays owned by the
// Index: users must be done with it before Close.
func (ix *Index) Pool() *pgxpool.Pool { return ix.pool }

// Close closes the index and then its pool, waiting for connections in
// use to be released.
func (ix *Index) Close() error {
	err := ix.Index.Close()
	ix.pool.Close()
	return err
}
