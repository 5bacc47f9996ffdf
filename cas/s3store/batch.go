package s3store

import (
	"context"
	"io"
	"sync"

	"dewar/cas"
)

var _ cas.Batcher = (*Store)(nil)

// NewBatch returns a batch that uploads while the caller goes on adding:
// each Add spools and hashes its stream (that must happen before Add
// returns, as the stream is the caller's), then commits it on a background
// goroutine, Options.BatchUploads at a time; Commit waits for them all.
// Against a remote upstream every blob costs at least one round trip, so a
// job of 2,500 small files takes 2,500 round trips one after another
// without it, and about 2,500/BatchUploads with it. Add blocks while
// BatchUploads uploads are in flight, which also bounds the temp files.
//
// Blobs may become visible before Commit (each as soon as its upload
// ends); Discard cancels the uploads not yet done and removes the temp
// files, and a blob already uploaded stays, as after cas.NewBatch's
// fallback.
func (s *Store) NewBatch() cas.Batch {
	return &batch{s: s, seen: map[cas.Ref]bool{}, slots: make(chan struct{}, s.opts.BatchUploads)}
}

type batch struct {
	s     *Store
	seen  map[cas.Ref]bool // added so far; later copies are not uploaded
	slots chan struct{}    // one per upload in flight
	wg    sync.WaitGroup

	mu      sync.Mutex
	err     error                // first upload failure
	cancels []context.CancelFunc // of uploads started
}

func (b *batch) Add(ctx context.Context, r io.Reader, opts cas.StageOptions) (cas.SizedRef, error) {
	st, err := b.s.stage(ctx, r, opts)
	if err != nil {
		return cas.SizedRef{}, err
	}
	ref := st.Ref()
	if b.seen[ref.Ref] {
		st.Discard()
		return ref, nil
	}
	select {
	case b.slots <- struct{}{}:
	case <-ctx.Done():
		st.Discard()
		return cas.SizedRef{}, ctxErr(ctx, "batch add")
	}
	b.seen[ref.Ref] = true
	uctx, cancel := context.WithCancel(ctx)
	b.mu.Lock()
	b.cancels = append(b.cancels, cancel)
	b.mu.Unlock()
	b.wg.Go(func() {
		defer func() { <-b.slots }()
		defer st.Discard()
		if _, err := st.Commit(uctx); err != nil {
			b.mu.Lock()
			if b.err == nil {
				b.err = err
			}
			b.mu.Unlock()
		}
	})
	return ref, nil
}

// Commit waits for every upload started by Add and returns the first
// failure. After a failure some blobs may exist; none is half-written
// (S3 writes are atomic). Blobs from a failed upload are not retried by a
// second Commit: the batch has discarded their temp files.
func (b *batch) Commit(ctx context.Context) error {
	if err := ctxErr(ctx, "batch commit"); err != nil {
		return err
	}
	b.wg.Wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.cancels {
		c() // all done; release the contexts
	}
	b.cancels = nil
	return b.err
}

// Discard cancels uploads still in flight and waits for them to end, so
// no temp file outlives it.
func (b *batch) Discard() {
	b.mu.Lock()
	for _, c := range b.cancels {
		c()
	}
	b.cancels = nil
	b.mu.Unlock()
	b.wg.Wait()
}
