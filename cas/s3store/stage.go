package s3store

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"sync"

	"dewar/cas"
)

// Stage spools r to a temp file in Options.TempDir while hashing it;
// nothing is sent upstream until Commit. It stops with an error (and
// removes the temp file) when r fails, when ctx is cancelled (checked
// between reads), when more than opts.MaxSize bytes arrive
// (cas.ErrTooLarge) or when the bytes do not hash to opts.Want
// (cas.ErrCorrupt). Errors wrap their cause, so errors.Is finds r's own.
func (s *Store) Stage(ctx context.Context, r io.Reader, opts cas.StageOptions) (cas.Staged, error) {
	return s.stage(ctx, r, opts)
}

func (s *Store) stage(ctx context.Context, r io.Reader, opts cas.StageOptions) (*staged, error) {
	if err := ctxErr(ctx, "stage"); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(s.tmp, tempPattern)
	if err != nil {
		return nil, fmt.Errorf("s3store: stage: %w", err)
	}
	ref, err := spool(ctx, f, r, opts)
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return &staged{s: s, f: f, ref: ref}, nil
}

// bufPool holds copy buffers for Stage, so concurrent uploads reuse a few
// buffers instead of each allocating one.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 512<<10); return &b }}

// spool copies r into f, hashing, within opts' limits.
func spool(ctx context.Context, f *os.File, r io.Reader, opts cas.StageOptions) (cas.SizedRef, error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp

	h := sha256.New()
	var n int64
	for {
		if err := ctxErr(ctx, "stage"); err != nil {
			return cas.SizedRef{}, err
		}
		p := buf
		if opts.MaxSize > 0 && opts.MaxSize-n+1 < int64(len(p)) {
			p = p[:opts.MaxSize-n+1] // read at most one byte past the limit
		}
		m, rerr := r.Read(p)
		if m > 0 {
			n += int64(m)
			if opts.MaxSize > 0 && n > opts.MaxSize {
				return cas.SizedRef{}, fmt.Errorf("s3store: stage: more than %d bytes: %w", opts.MaxSize, cas.ErrTooLarge)
			}
			h.Write(p[:m])
			if _, err := f.Write(p[:m]); err != nil {
				return cas.SizedRef{}, fmt.Errorf("s3store: stage: %w", err)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return cas.SizedRef{}, fmt.Errorf("s3store: stage: reading source: %w", rerr)
		}
	}
	ref, _ := cas.RefFromBytes(h.Sum(nil))
	if !opts.Want.IsZero() && ref != opts.Want {
		return cas.SizedRef{}, fmt.Errorf("s3store: stage: %d bytes hash to %s, want %s: %w", n, ref, opts.Want, cas.ErrCorrupt)
	}
	return cas.SizedRef{Ref: ref, Size: n}, nil
}

// staged is a hashed temp file waiting to be uploaded.
type staged struct {
	s   *Store
	ref cas.SizedRef

	// commitMu serializes Commit and Discard, so the file stays open for
	// the whole of an upload; ReadAt needs only mu, and so runs beside a
	// Commit.
	commitMu sync.Mutex
	mu       sync.RWMutex
	f        *os.File // nil after Discard
}

func (st *staged) Ref() cas.SizedRef { return st.ref }

// ReadAt reads the staged bytes. Safe for concurrent use, also during
// Commit.
func (st *staged) ReadAt(p []byte, off int64) (int, error) {
	st.mu.RLock()
	defer st.mu.RUnlock()
	if st.f == nil {
		return 0, ErrDiscarded
	}
	return st.f.ReadAt(p, off)
}

// Commit makes the blob exist upstream: nothing is sent when an object of
// the staged size is there already (created=false); otherwise the temp
// file is uploaded (created=true, unless the upstream reports that a
// concurrent writer won). It keeps the temp file, so a later Commit can
// re-create a blob removed in between.
func (st *staged) Commit(ctx context.Context) (bool, error) {
	st.commitMu.Lock()
	defer st.commitMu.Unlock()
	st.mu.RLock()
	f := st.f
	st.mu.RUnlock()
	if f == nil {
		return false, fmt.Errorf("s3store: commit %s: %w", st.ref.Ref, ErrDiscarded)
	}
	if err := ctxErr(ctx, "commit"); err != nil {
		return false, err
	}
	return st.s.commit(ctx, f, st.ref)
}

// Discard closes and removes the temp file, after any Commit in progress.
// The blob, if committed, stays.
func (st *staged) Discard() error {
	st.commitMu.Lock()
	defer st.commitMu.Unlock()
	st.mu.Lock()
	f := st.f
	st.f = nil
	st.mu.Unlock()
	if f == nil {
		return nil
	}
	err := f.Close()
	if rerr := os.Remove(f.Name()); rerr != nil && err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("s3store: discard: %w", err)
	}
	return nil
}

// Put stages r and commits it; see Stage and Commit.
func (s *Store) Put(ctx context.Context, r io.Reader, opts cas.StageOptions) (cas.SizedRef, bool, error) {
	return cas.PutVia(ctx, s, r, opts)
}
