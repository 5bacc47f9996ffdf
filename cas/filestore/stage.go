package filestore

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"

	"dewar/cas"
)

// Stage spools r to a temp file under <dir>/tmp while hashing it; nothing
// is visible until Commit. (The file is fsynced by the Commit that links
// it, not here, so staging bytes that turn out to be stored already costs
// no fsync.) It stops with an error
// (and removes the temp file) when r fails, when ctx is cancelled (checked
// between reads; a reader blocked in Read is the caller's to unblock), when
// more than opts.MaxSize bytes arrive (cas.ErrTooLarge) or when the bytes
// do not hash to opts.Want (cas.ErrCorrupt). Errors wrap their cause, so
// errors.Is finds r's own error.
func (s *Store) Stage(ctx context.Context, r io.Reader, opts cas.StageOptions) (cas.Staged, error) {
	if err := ctxErr(ctx, "stage"); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(s.tmp, "stage-")
	if err != nil {
		return nil, fmt.Errorf("filestore: stage: %w", err)
	}
	ref, err := s.spool(ctx, f, r, opts)
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return &staged{s: s, f: f, path: f.Name(), ref: ref}, nil
}

// spool copies r into f, hashing, and leaves f read-only.
func (s *Store) spool(ctx context.Context, f *os.File, r io.Reader, opts cas.StageOptions) (cas.SizedRef, error) {
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
				return cas.SizedRef{}, fmt.Errorf("filestore: stage: more than %d bytes: %w", opts.MaxSize, cas.ErrTooLarge)
			}
			h.Write(p[:m])
			if _, err := f.Write(p[:m]); err != nil {
				return cas.SizedRef{}, fmt.Errorf("filestore: stage: %w", err)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return cas.SizedRef{}, fmt.Errorf("filestore: stage: reading source: %w", rerr)
		}
	}
	ref, _ := cas.RefFromBytes(h.Sum(nil))
	if !opts.Want.IsZero() && ref != opts.Want {
		return cas.SizedRef{}, fmt.Errorf("filestore: stage: %d bytes hash to %s, want %s: %w", n, ref, opts.Want, cas.ErrCorrupt)
	}
	// The blob will share this inode, so it gets its final mode now.
	if err := f.Chmod(0o444); err != nil {
		return cas.SizedRef{}, fmt.Errorf("filestore: stage: %w", err)
	}
	return cas.SizedRef{Ref: ref, Size: n}, nil
}

// staged is a synced temp file waiting to be linked into place.
type staged struct {
	s    *Store
	path string
	ref  cas.SizedRef

	mu        sync.Mutex
	f         *os.File // nil after Discard
	synced    bool     // f's bytes are on disk
	discarded bool
}

func (st *staged) Ref() cas.SizedRef { return st.ref }

// ReadAt reads the staged bytes. Safe for concurrent use.
func (st *staged) ReadAt(p []byte, off int64) (int, error) {
	st.mu.Lock()
	f := st.f
	st.mu.Unlock()
	if f == nil {
		return 0, ErrDiscarded
	}
	return f.ReadAt(p, off)
}

// Commit links the temp file to the blob's path. When the blob exists it
// only stats. Otherwise it fsyncs the temp file (once), links it, and
// fsyncs the shard directory. It keeps the temp file, so a later Commit
// can re-create a blob that was removed in between.
func (st *staged) Commit(ctx context.Context) (bool, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.discarded {
		return false, fmt.Errorf("filestore: commit %s: %w", st.ref.Ref, ErrDiscarded)
	}
	if err := ctxErr(ctx, "commit"); err != nil {
		return false, err
	}
	s := st.s
	final := s.blobPath(st.ref.Ref)
	if _, err := os.Stat(final); err == nil {
		return false, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("filestore: commit %s: %w", st.ref.Ref, err)
	}
	if !st.synced {
		if err := s.syncFile(st.f); err != nil {
			return false, fmt.Errorf("filestore: commit %s: %w", st.ref.Ref, err)
		}
		st.synced = true
	}
	if err := s.mkShard(st.ref.Ref); err != nil {
		return false, fmt.Errorf("filestore: commit %s: %w", st.ref.Ref, err)
	}
	created := true
	if err := os.Link(st.path, final); errors.Is(err, fs.ErrExist) {
		// A racing writer made it first. Sync anyway: it may not have
		// synced yet, and our caller is about to rely on the blob.
		created = false
	} else if err != nil {
		return false, fmt.Errorf("filestore: commit %s: %w", st.ref.Ref, err)
	}
	if err := s.syncDir(s.shardDir(st.ref.Ref)); err != nil {
		return false, fmt.Errorf("filestore: commit %s: %w", st.ref.Ref, err)
	}
	return created, nil
}

// Discard closes and removes the temp file. The blob, if committed, stays.
func (st *staged) Discard() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.discarded {
		return nil
	}
	st.discarded = true
	f := st.f
	st.f = nil
	err := f.Close()
	if rerr := os.Remove(st.path); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) && err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("filestore: discard: %w", err)
	}
	return nil
}

// Put stages r and commits it; see Stage and Commit.
func (s *Store) Put(ctx context.Context, r io.Reader, opts cas.StageOptions) (cas.SizedRef, bool, error) {
	return cas.PutVia(ctx, s, r, opts)
}
