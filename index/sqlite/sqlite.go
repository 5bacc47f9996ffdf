package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"dewar/index/sqlindex"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Options tune Open. The zero value is sensible.
type Options struct {
	// GroupCommit caps how many writes share one commit; 0 means 128, and
	// 1 gives every write its own commit (and fsync).
	GroupCommit int
	// BusyTimeout is how long a connection waits for another process's
	// lock (a maintenance command beside a running server); 0 means 10s.
	BusyTimeout time.Duration
	// ReadConns caps the reader pool; 0 means max(4, GOMAXPROCS).
	ReadConns int
	// Now is the clock for times callers leave zero; nil is time.Now.
	Now func() time.Time
	// DriveLimit is sqlindex.Options.DriveLimit (0: automatic).
	DriveLimit int
}

// Dialect is SQLite's sqlindex.Dialect.
func Dialect() sqlindex.Dialect {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embedded directory always exists
	}
	return sqlindex.Dialect{
		Name:       "sqlite",
		Migrations: sub,
		Constraint: constraint,
		Glob:       true,
		Explain:    "EXPLAIN QUERY PLAN ",
	}
}

// constraint classifies by SQLite's extended result codes, which the
// driver enables.
func constraint(err error) sqlindex.Constraint {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return sqlindex.NoConstraint
	}
	switch e.Code() {
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return sqlindex.UniqueViolation
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return sqlindex.ForeignKeyViolation
	}
	return sqlindex.NoConstraint
}

// Open opens (creating it if needed) the index database at path and brings
// its schema up to date. Close the result to release the file.
func Open(path string, opts Options) (*sqlindex.Index, error) {
	if opts.GroupCommit == 0 {
		opts.GroupCommit = 128
	}
	if opts.BusyTimeout == 0 {
		opts.BusyTimeout = 10 * time.Second
	}
	if opts.ReadConns == 0 {
		opts.ReadConns = max(4, runtime.GOMAXPROCS(0))
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	// The index holds users' secrets (SigV4 needs them in the clear):
	// create it readable by its owner only. SQLite makes the -wal and -shm
	// files with the database's mode.
	if f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600); err == nil {
		f.Close()
	} else {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	busy := "busy_timeout(" + strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10) + ")"
	// The one writer gets a larger page cache (32 MiB, against SQLite's
	// 2 MiB default): a job's Finish probes the token and indicator
	// indexes at random, and with the default cache nearly every probe was
	// a pread.
	w, err := openPool(abs, url.Values{
		"_pragma": {busy, "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)", "cache_size(-32768)"},
		"_txlock": {"immediate"},
	}, 1)
	if err != nil {
		return nil, err
	}
	// The reader is opened after the writer made the file and set WAL.
	if err := w.PingContext(context.Background()); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r, err := openPool(abs, url.Values{
		"_pragma": {busy, "query_only(1)"},
	}, opts.ReadConns)
	if err != nil {
		w.Close()
		return nil, err
	}
	ix, err := sqlindex.New(w, Dialect(), sqlindex.Options{
		Reader:      r,
		GroupCommit: opts.GroupCommit,
		Now:         opts.Now,
		DriveLimit:  opts.DriveLimit,
	})
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return ix, nil
}

// openPool opens a pool on the file at abs with the driver's DSN
// parameters. The path is a file: URI so any character in it is escaped.
func openPool(abs string, params url.Values, conns int) (*sql.DB, error) {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}
	dsn := "file:" + u.EscapedPath() + "?" + params.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	return db, nil
}
