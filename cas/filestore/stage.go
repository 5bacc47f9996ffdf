package filestore

import (
	"strconv"
	"strings"

	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"golang.org/x/sys/unix"
	"io"
	"io/fs"
	"os"
	"sync"

	"dewar/cas"
)

// Stage spools r to a temp file under <dir>/tmp while hashing it; nothing
// is visible until Commit. (The file is fsynced by the Commit that links
// it, not here, so staging bytes that turn out to be stored already costs
// no fsync.) With Options.Compress it also compresses the stream, frame
// by frame, into a second temp file, kept only when it saves enough; the
// raw one stays for ReadAt. It stops with an error
// (and removes the temp files) when r fails, when ctx is cancelled (checked
// between reads; a reader blocked in Read is the caller's to unblock), when
// more than opts.MaxSize bytes arrive (cas.ErrTooLarge) or when the bytes
// do not hash to opts.Want (cas.ErrCorrupt). Errors wrap their cause, so
// errors.Is finds r's own error.
func (s *Store) Stage(ctx context.Context, r io.Reader, opts cas.StageOptions) (cas.Staged, error) {
	if err := ctxErr(ctx, "stage"); err != nil {
		return nil, err
	}
	f, path, err := s.newTemp("stage-")
	if err != nil {
		return nil, fmt.Errorf("filestore: stage: %w", err)
	}
	sp, err := s.spool(ctx, f, r, opts)
	if err != nil {
		removeTemp(f, path)
		return nil, err
	}
	st := &staged{s: s, f: f, path: path, ref: sp.ref, z: sp.z}
	if sp.z != nil {
		st.zpath = sp.z.Name()
	}
	return st, nil
}

// spooled is what spool made: the stream's Ref and, when the compressed
// form is worth keeping, its read-only temp file (else nil).
type spooled struct {
	ref cas.SizedRef
	z   *os.File
}

// spool copies r into f, hashing (and compressing, when the store does),
// and leaves f read-only.
func (s *Store) spool(ctx context.Context, f *os.File, r io.Reader, opts cas.StageOptions) (spooled, error) {
	bp := frameBufs.Get().(*[]byte)
	defer frameBufs.Put(bp)
	buf := (*bp)[:s.frameSize] // one compressed frame's input
	var c *compressor
	if s.compress {
		c = s.newCompressor()
		defer c.close()
	}

	h := sha256.New()
	var bg *bgHash
	defer func() {
		if bg != nil {
			bg.finish()
		}
	}()
	wb := &writeback{f: f}
	var n int64
	fill := 0 // bytes of buf holding the current frame
	for {
		if err := ctxErr(ctx, "stage"); err != nil {
			return spooled{}, err
		}
		p := buf[fill:]
		if opts.MaxSize > 0 && opts.MaxSize-n+1 < int64(len(p)) {
			p = p[:opts.MaxSize-n+1] // read at most one byte past the limit
		}
		m, rerr := r.Read(p)
		if m > 0 {
			n += int64(m)
			if opts.MaxSize > 0 && n > opts.MaxSize {
				return spooled{}, fmt.Errorf("filestore: stage: more than %d bytes: %w", opts.MaxSize, cas.ErrTooLarge)
			}
			if bg == nil && n > asyncHashAfter {
				bg = startBGHash(h)
			}
			if bg != nil {
				bg.write(p[:m])
			} else {
				h.Write(p[:m])
			}
			if _, err := f.Write(p[:m]); err != nil {
				return spooled{}, fmt.Errorf("filestore: stage: %w", err)
			}
			wb.wrote(m)
			if fill += m; fill == len(buf) {
				if c != nil {
					if err := c.frame(buf); err != nil {
						return spooled{}, fmt.Errorf("filestore: stage: compressing: %w", err)
					}
					if c.hopeless() {
						c.close()
						c = nil
					}
				}
				fill = 0
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return spooled{}, fmt.Errorf("filestore: stage: reading source: %w", rerr)
		}
	}
	if bg != nil {
		bg.finish()
		bg = nil
	}
	ref, _ := cas.RefFromBytes(h.Sum(nil))
	if !opts.Want.IsZero() && ref != opts.Want {
		return spooled{}, fmt.Errorf("filestore: stage: %d bytes hash to %s, want %s: %w", n, ref, opts.Want, cas.ErrCorrupt)
	}
	// The blob may share this inode, so it gets its final mode now.
	if err := f.Chmod(0o444); err != nil {
		return spooled{}, fmt.Errorf("filestore: stage: %w", err)
	}
	sp := spooled{ref: cas.SizedRef{Ref: ref, Size: n}}
	if c != nil {
		z, err := c.finish(buf[:fill], n)
		if err != nil {
			return spooled{}, fmt.Errorf("filestore: stage: compressing: %w", err)
		}
		sp.z = z
	}
	return sp, nil
}

// staged is a temp file waiting to be linked into place, with its
// compressed twin when the blob will be stored compressed.
type staged struct {
	s     *Store
	path  string
	zpath string // "" when the blob will be stored raw
	ref   cas.SizedRef

	mu        sync.Mutex
	f         *os.File // nil after Discard; ReadAt reads it
	z         *os.File // the compressed temp, or nil
	synced    bool     // the linked file's bytes are on disk
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

// Commit links the temp file (the compressed one, if any) to the blob's
// path. When the blob exists in either form it only stats. Otherwise it
// fsyncs the temp file (once), links it, and fsyncs the shard directory.
// It keeps the temp file, so a later Commit can re-create a blob that was
// removed in between.
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
	if ok, err := s.exists(st.ref.Ref); err != nil {
		return false, fmt.Errorf("filestore: commit %s: %w", st.ref.Ref, err)
	} else if ok {
		return false, nil
	}
	created, err := st.link(ctx)
	if errors.Is(err, fs.ErrNotExist) && strings.HasPrefix(st.linkPath(), anonPrefix) {
		// An unnamed temp can be linked once: after its first name was
		// removed (the reaper raced this writer), the kernel will not give
		// it another. Copy the bytes into a fresh unnamed temp and link that.
		if err := st.refresh(); err != nil {
			return false, fmt.Errorf("filestore: commit %s: %w", st.ref.Ref, err)
		}
		created, err = st.link(ctx)
	}
	return created, err
}

// linkPath is the temp file Commit links: the compressed one, if any.
func (st *staged) linkPath() string {
	if st.z != nil {
		return st.zpath
	}
	return st.path
}

// refresh replaces the temp file Commit links with a fresh unnamed copy.
func (st *staged) refresh() error {
	old := st.f
	if st.z != nil {
		old = st.z
	}
	info, err := old.Stat()
	if err != nil {
		return err
	}
	f, path, err := st.s.newTemp("stage-")
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, io.NewSectionReader(old, 0, info.Size())); err == nil {
		err = f.Chmod(0o444)
	}
	if err != nil {
		removeTemp(f, path)
		return err
	}
	if st.z != nil {
		removeTemp(st.z, st.zpath)
		st.z, st.zpath = f, path
	} else {
		removeTemp(st.f, st.path)
		st.f, st.path = f, path
	}
	st.synced = false
	return nil
}

// link makes the staged temp the blob; st.mu is held.
func (st *staged) link(ctx context.Context) (bool, error) {
	s := st.s
	f, tmp := st.f, st.path
	if st.z != nil {
		f, tmp = st.z, st.zpath
	}
	if s.group != nil && st.ref.Size <= groupMaxSize {
		created, err := s.group.commit(s, tmp, st.ref.Ref, st.z != nil)
		if err != nil {
			return false, fmt.Errorf("filestore: commit %s: %w", st.ref.Ref, err)
		}
		st.synced = true
		return created, nil
	}
	if !st.synced {
		if err := s.syncFile(f); err != nil {
			return false, fmt.Errorf("filestore: commit %s: %w", st.ref.Ref, err)
		}
		st.synced = true
	}
	if err := s.mkShard(st.ref.Ref); err != nil {
		return false, fmt.Errorf("filestore: commit %s: %w", st.ref.Ref, err)
	}
	// When a racing writer made it first, sync anyway: it may not have
	// synced yet, and our caller is about to rely on the blob.
	created, err := s.link(tmp, st.ref.Ref, st.z != nil)
	if err != nil {
		return false, fmt.Errorf("filestore: commit %s: %w", st.ref.Ref, err)
	}
	if err := s.syncDir(s.shardDir(st.ref.Ref)); err != nil {
		return false, fmt.Errorf("filestore: commit %s: %w", st.ref.Ref, err)
	}
	return created, nil
}

// Discard closes and removes the temp files. The blob, if committed, stays.
func (st *staged) Discard() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.discarded {
		return nil
	}
	st.discarded = true
	err := removeTemp(st.f, st.path)
	st.f = nil
	if st.z != nil {
		if zerr := removeTemp(st.z, st.zpath); err == nil {
			err = zerr
		}
		st.z = nil
	}
	if err != nil {
		return fmt.Errorf("filestore: discard: %w", err)
	}
	return nil
}

// newTemp makes a temp file in the store's tmp directory: an unnamed one
// (O_TMPFILE) where the filesystem allows, linked into place through
// /proc/self/fd. Unnamed temps need no directory entry (concurrent
// uploads do not contend on the tmp directory's lock) and vanish by
// themselves when a crash leaves them behind.
func (s *Store) newTemp(prefix string) (*os.File, string, error) {
	if !s.namedTemps {
		f, err := os.OpenFile(s.tmp, os.O_RDWR|unix.O_TMPFILE, 0o600)
		if err == nil {
			return f, anonPrefix + strconv.Itoa(int(f.Fd())), nil
		}
	}
	f, err := os.CreateTemp(s.tmp, prefix)
	if err != nil {
		return nil, "", err
	}
	return f, f.Name(), nil
}

// anonPrefix names an unnamed temp file by its descriptor.
const anonPrefix = "/proc/self/fd/"

// removeTemp closes f and removes path (an unnamed temp goes away when
// closed); a missing file is fine.
func removeTemp(f *os.File, path string) error {
	if strings.HasPrefix(path, anonPrefix) {
		return f.Close()
	}
	err := f.Close()
	if rerr := os.Remove(path); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) && err == nil {
		err = rerr
	}
	return err
}

// Put stages r and commits it; see Stage and Commit.
func (s *Store) Put(ctx context.Context, r io.Reader, opts cas.StageOptions) (cas.SizedRef, bool, error) {
	return cas.PutVia(ctx, s, r, opts)
}
