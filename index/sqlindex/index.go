package sqlindex

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"dewar/index"
)

// Compile-time checks that Index provides every capability.
var (
	_ index.Index     = (*Index)(nil)
	_ index.Buckets   = (*Index)(nil)
	_ index.Objects   = (*Index)(nil)
	_ index.Multipart = (*Index)(nil)
	_ index.Blobs     = (*Index)(nil)
	_ index.Users     = (*Index)(nil)
)

// ErrInvalid is returned (wrapped) for arguments the index refuses: a zero
// blob Ref, a part number below 1, an unknown role, an object that does not
// match the upload it completes.
var ErrInvalid = errors.New("sqlindex: invalid argument")

// Options tune New.
type Options struct {
	// Reader, when set, is the pool reads use, so they never queue behind
	// writes (SQLite: a second, query-only pool on the same file). nil:
	// reads use the write pool.
	Reader *sql.DB
	// GroupCommit > 1 runs every write through one goroutine that commits
	// up to GroupCommit queued operations in one transaction, each in its
	// own savepoint (for SQLite, whose every commit is an fsync and which
	// allows one writer). 0 or 1: each write is its own transaction.
	GroupCommit int
	// Now is the clock for times the caller left zero; nil is time.Now.
	Now func() time.Time
	// SearchTimeout bounds each search (SearchFiles, SearchJobs with their
	// counts): a pathological query is cancelled, not left running. 0
	// means DefaultSearchTimeout.
	SearchTimeout time.Duration
	// DriveLimit is the most file rows an indicator or token term may
	// match for those rows to drive a file search; a term matching more
	// (a common domain, a token in most PHP files) is checked file by
	// file in page order instead, which stops at the page's end. 0 means
	// automatic: the square root of 30 times the analysed files (where the
	// two plans cost about the same), and at least 2,000.
	DriveLimit int
}

// DefaultSearchTimeout is Options.SearchTimeout's default.
const DefaultSearchTimeout = 30 * time.Second

// Index is the database/sql implementation of index.Index. It is safe for
// concurrent use.
type Index struct {
	db     *sql.DB
	reader *sql.DB
	d      Dialect
	now    func() time.Time
	w      writer

	searchTimeout time.Duration
	driveLimit    int // Options.DriveLimit

	queries sync.Map // query text -> rebound text

	closeOnce sync.Once
	closeErr  error
}

// New returns an Index over db (and opts.Reader), after bringing the schema
// up to date with Migrate. The Index owns the pools: Close closes them.
func New(db *sql.DB, d Dialect, opts Options) (*Index, error) {
	return NewContext(context.Background(), db, d, opts)
}

// NewContext is New with a context for the migration (a network database
// may be slow or unreachable; a migration may wait for another node's).
func NewContext(ctx context.Context, db *sql.DB, d Dialect, opts Options) (*Index, error) {
	if d.Migrations == nil {
		return nil, fmt.Errorf("%w: dialect %q has no migrations", ErrInvalid, d.Name)
	}
	if _, err := Migrate(ctx, db, d); err != nil {
		return nil, err
	}
	ix := &Index{db: db, reader: opts.Reader, d: d, now: opts.Now}
	if ix.reader == nil {
		ix.reader = db
	}
	if ix.now == nil {
		ix.now = time.Now
	}
	ix.driveLimit = opts.DriveLimit
	ix.searchTimeout = opts.SearchTimeout
	if ix.searchTimeout <= 0 {
		ix.searchTimeout = DefaultSearchTimeout
	}
	if opts.GroupCommit > 1 {
		ix.w = newBatcher(db, opts.GroupCommit)
	} else {
		ix.w = &direct{db: db, d: d}
	}
	return ix, nil
}

// Close stops the writer after the queued writes and closes the pools.
func (ix *Index) Close() error {
	ix.closeOnce.Do(func() {
		ix.w.close()
		err := ix.db.Close()
		if ix.reader != ix.db {
			err = errors.Join(err, ix.reader.Close())
		}
		if err != nil {
			ix.closeErr = fmt.Errorf("sqlindex: close: %w", err)
		}
	})
	return ix.closeErr
}

// Update runs fn as one write operation of the index's writer: in its own
// transaction, or under group commit in its own savepoint of a shared one.
// It lets other tables of the same database (a job queue, say) change
// atomically with the index and share its commits. fn must not call the
// index's write methods (the writer is busy running fn) and must not
// commit or roll back tx; an error or panic rolls back fn's changes only.
func (ix *Index) Update(ctx context.Context, fn TxFunc) error {
	return ix.w.do(ctx, fn)
}

// WriterStats reports the writer's counters, e.g. for metrics or to see
// how many operations share a commit.
func (ix *Index) WriterStats() WriterStats { return ix.w.stats() }

// maxCachedQuery is the longest query text q caches: long texts are
// batches whose length varies, and caching each would grow the cache
// without bound. (Searches, whose texts are endless, never use q.)
const maxCachedQuery = 1024

// q returns query with the dialect's placeholders, cached.
func (ix *Index) q(query string) string {
	if ix.d.Placeholder == nil {
		return query
	}
	if len(query) > maxCachedQuery {
		return ix.d.rebind(query)
	}
	if s, ok := ix.queries.Load(query); ok {
		return s.(string)
	}
	s := ix.d.rebind(query)
	ix.queries.Store(query, s)
	return s
}

// querier is what reads need from *sql.DB and *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func (ix *Index) exec(ctx context.Context, q querier, query string, args ...any) (sql.Result, error) {
	return q.ExecContext(ctx, ix.q(query), args...)
}

func (ix *Index) queryRow(ctx context.Context, q querier, query string, args ...any) *sql.Row {
	return q.QueryRowContext(ctx, ix.q(query), args...)
}

func (ix *Index) query(ctx context.Context, q querier, query string, args ...any) (*sql.Rows, error) {
	return q.QueryContext(ctx, ix.q(query), args...)
}

// stamp returns t, or the current time when t is zero.
func (ix *Index) stamp(t time.Time) time.Time {
	if t.IsZero() {
		t = ix.now()
	}
	return t.UTC().Truncate(Precision)
}

// scanAll runs query and calls scan for each row.
func (ix *Index) scanAll(ctx context.Context, q querier, scan func(*sql.Rows) error, query string, args ...any) error {
	rows, err := ix.query(ctx, q, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
