package cas

import (
	"context"
	"io"
	"sync"
)

// Batcher is implemented by stores that can make many new blobs durable
// together for the price of one: ingestion stores thousands of small files
// per job, and one fsync each would cost more than everything else.
type Batcher interface {
	NewBatch() Batch
}

// Batch collects new blobs and commits them together. Blobs added to a
// batch are visible (Stat, Fetch) no later than Commit returns, and never
// before they are durable. A Batch is not safe for concurrent use.
type Batch interface {
	// Add stages r as Stager.Stage does and returns its Ref. Adding bytes
	// the store already has, or that the batch already holds, costs no
	// further work.
	Add(ctx context.Context, r io.Reader, opts StageOptions) (SizedRef, error)
	// Commit makes every added blob durable and visible. After a failed
	// Commit some blobs may exist; none is half-written.
	Commit(ctx context.Context) error
	// Discard drops what was added and not committed. Safe after Commit
	// and more than once.
	Discard()
}

// NewBatch returns s's own Batch when it has one, else a Batch that
// commits each blob as it is added.
func NewBatch(s Stager) Batch {
	if b, ok := s.(Batcher); ok {
		return b.NewBatch()
	}
	return &eachBatch{s: s}
}

// eachBatch is the fallback: every Add is a Stage and a Commit.
type eachBatch struct {
	s  Stager
	mu sync.Mutex
}

func (b *eachBatch) Add(ctx context.Context, r io.Reader, opts StageOptions) (SizedRef, error) {
	ref, _, err := PutVia(ctx, b.s, r, opts)
	return ref, err
}

func (b *eachBatch) Commit(context.Context) error { return nil }

func (b *eachBatch) Discard() {}
