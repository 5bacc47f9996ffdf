package sqlindex

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// TxFunc is one write operation. It runs inside a transaction (under group
// commit, inside its own savepoint of a shared transaction) and must
// neither commit nor roll back tx. ctx is the one to run statements with:
// under group commit it carries the caller's values but is never
// cancelled, because interrupting a statement can abort the whole shared
// transaction; callbacks that may be cancelled use the caller's context.
// Under group commit fn runs on the writer goroutine: a panic is carried
// back to the caller, but fn must not call runtime.Goexit (t.FailNow).
type TxFunc func(ctx context.Context, tx *sql.Tx) error

// WriterStats counts what the writer did since the index was opened.
type WriterStats struct {
	Ops     uint64 // write operations run (failed ones included)
	Commits uint64 // transactions committed
	Pending int    // operations queued for the next group commit
	// Retries counts transactions run again after a Retryable error: a
	// deadlock with another user of the database, or the rare one between
	// the index's own writes that doc.go describes.
	Retries uint64
	// Races counts transactions run again after losing a race to insert
	// a row (errRace).
	Races uint64
}

// writer runs write operations. Two kinds exist: direct (each operation its
// own transaction, for databases with concurrent writers such as
// PostgreSQL) and batched (group commit, for SQLite's single writer).
type writer interface {
	do(ctx context.Context, fn TxFunc) error
	// alone runs fn in a transaction of its own, which therefore sees only
	// committed state: the reaper must never act on a count that another
	// write of the same group has dropped but not yet committed.
	alone(ctx context.Context, fn TxFunc) error
	stats() WriterStats
	close()
}

// maxRetries bounds how often a direct write is retried on a Retryable
// error.
const maxRetries = 8

// direct runs each operation in its own transaction.
type direct struct {
	db      *sql.DB
	d       Dialect
	ops     atomic.Uint64
	commits atomic.Uint64
	retries atomic.Uint64
	races   atomic.Uint64
}

func (w *direct) do(ctx context.Context, fn TxFunc) error {
	for attempt := 1; ; attempt++ {
		err := w.once(ctx, fn)
		if err == nil || attempt == maxRetries || !w.d.retryable(err) && !errors.Is(err, errRace) {
			return err
		}
		if errors.Is(err, errRace) {
			w.races.Add(1)
		} else {
			w.retries.Add(1)
		}
		// A short random pause, growing with the attempts, so the
		// transactions that collided do not collide again.
		t := time.NewTimer(time.Duration(attempt) * time.Duration(1+rand.IntN(5)) * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// alone is do: every direct operation has its own transaction.
func (w *direct) alone(ctx context.Context, fn TxFunc) error { return w.do(ctx, fn) }

func (w *direct) once(ctx context.Context, fn TxFunc) (err error) {
	w.ops.Add(1)
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlindex: begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err := fn(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlindex: commit: %w", err)
	}
	w.commits.Add(1)
	return nil
}

func (w *direct) stats() WriterStats {
	return WriterStats{Ops: w.ops.Load(), Commits: w.commits.Load(), Retries: w.retries.Load(), Races: w.races.Load()}
}

func (w *direct) close() {}

// batcher is group commit: one goroutine takes every queued operation (up
// to max), runs each in its own savepoint of one transaction, commits once
// and answers them all. A failing operation rolls back only its savepoint.
// Under SQLite this turns N fsyncs into one, and since it is the only
// writer its transaction is also the per-blob lock the reference-count
// protocol needs.
type batcher struct {
	db   *sql.DB
	max  int
	wake chan struct{} // capacity 1: "the queue is not empty"
	quit chan struct{}
	done chan struct{}

	mu     sync.Mutex
	queue  []*op
	closed bool

	ops     atomic.Uint64
	commits atomic.Uint64
}

type op struct {
	ctx   context.Context
	fn    TxFunc
	solo  bool // commits in a group of its own
	err   error
	panic any
	done  chan struct{}
}

func newBatcher(db *sql.DB, max int) *batcher {
	b := &batcher{
		db:   db,
		max:  max,
		wake: make(chan struct{}, 1),
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	go b.run()
	return b
}

// do queues fn and waits for its group commit. Once queued, it waits for
// the answer even if ctx ends (the operation is then skipped if it has not
// started), so a caller never mistakes a committed write for a failed one.
func (b *batcher) do(ctx context.Context, fn TxFunc) error { return b.queueOp(ctx, fn, false) }

// alone runs fn in a group of its own: the groups before it have committed
// and nothing uncommitted shares its transaction.
func (b *batcher) alone(ctx context.Context, fn TxFunc) error { return b.queueOp(ctx, fn, true) }

func (b *batcher) queueOp(ctx context.Context, fn TxFunc, solo bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o := &op{ctx: ctx, fn: fn, solo: solo, done: make(chan struct{})}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return ErrClosed
	}
	b.queue = append(b.queue, o)
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
	<-o.done
	if o.panic != nil {
		panic(o.panic)
	}
	return o.err
}

func (b *batcher) stats() WriterStats {
	b.mu.Lock()
	n := len(b.queue)
	b.mu.Unlock()
	return WriterStats{Ops: b.ops.Load(), Commits: b.commits.Load(), Pending: n}
}

// close refuses new operations, finishes the queued ones and stops.
func (b *batcher) close() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		<-b.done
		return
	}
	b.closed = true
	b.mu.Unlock()
	close(b.quit)
	<-b.done
}

func (b *batcher) take() []*op {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := min(len(b.queue), b.max)
	// A solo operation ends the group before it, and is a group by itself.
	for i := 0; i < n; i++ {
		if b.queue[i].solo {
			n = max(i, 1)
			break
		}
	}
	batch := b.queue[:n:n]
	b.queue = b.queue[n:]
	if len(b.queue) == 0 {
		b.queue = nil
	}
	return batch
}

func (b *batcher) run() {
	defer close(b.done)
	for {
		if batch := b.take(); len(batch) > 0 {
			b.runBatch(batch)
			continue
		}
		select {
		case <-b.wake:
		case <-b.quit:
			// No operation can be queued any more; finish what is.
			for batch := b.take(); len(batch) > 0; batch = b.take() {
				b.runBatch(batch)
			}
			return
		}
	}
}

// runBatch runs ops in one transaction. The transaction and its statements
// use a context of their own: a caller's cancellation must not abort the
// neighbours' work.
func (b *batcher) runBatch(ops []*op) {
	ctx := context.Background()
	defer func() {
		for _, o := range ops {
			close(o.done)
		}
	}()
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		for _, o := range ops {
			o.err = fmt.Errorf("sqlindex: begin: %w", err)
		}
		return
	}
	var ok []*op // operations whose savepoint was released
	for i, o := range ops {
		if err := o.ctx.Err(); err != nil {
			o.err = err
			continue
		}
		b.ops.Add(1)
		if err := b.runOne(tx, o); err != nil {
			// The transaction is unusable: nothing in it will commit.
			_ = tx.Rollback()
			for _, p := range append(ok, ops[i:]...) {
				if p.err == nil && p.panic == nil {
					p.err = fmt.Errorf("sqlindex: group commit aborted: %w", err)
				}
			}
			return
		}
		if o.err == nil && o.panic == nil {
			ok = append(ok, o)
		}
	}
	if len(ok) == 0 {
		_ = tx.Rollback()
		return
	}
	if err := tx.Commit(); err != nil {
		for _, o := range ok {
			o.err = fmt.Errorf("sqlindex: commit: %w", err)
		}
		return
	}
	b.commits.Add(1)
}

// runOne runs o inside a savepoint, recording its error or panic in o. It
// returns an error only when the savepoint itself failed, which leaves the
// transaction unusable.
func (b *batcher) runOne(tx *sql.Tx, o *op) error {
	ctx := context.Background()
	if _, err := tx.ExecContext(ctx, "SAVEPOINT op"); err != nil {
		return err
	}
	func() {
		defer func() { o.panic = recover() }()
		o.err = o.fn(context.WithoutCancel(o.ctx), tx)
	}()
	if o.err == nil && o.panic == nil {
		_, err := tx.ExecContext(ctx, "RELEASE op")
		return err
	}
	if _, err := tx.ExecContext(ctx, "ROLLBACK TO op"); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, "RELEASE op")
	return err
}

// ErrClosed is returned for operations on a closed index.
var ErrClosed = errors.New("sqlindex: index closed")
