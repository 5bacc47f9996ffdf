package castest_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"dewar/cas"
	"dewar/cas/castest"
)

// memStore is the smallest honest cas.Store, here to show that the suite
// asks for nothing a store outside filestore could not give.
type memStore struct {
	mu      sync.Mutex
	blobs   map[cas.Ref][]byte
	written map[cas.Ref]time.Time
}

var _ cas.Store = (*memStore)(nil)

func (m *memStore) Fetch(ctx context.Context, ref cas.Ref, off, n int64) (io.ReadCloser, error) {
	m.mu.Lock()
	b, ok := m.blobs[ref]
	m.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("mem: %s: %w", ref, cas.ErrNotFound)
	}
	off = min(off, int64(len(b)))
	end := int64(len(b))
	if n >= 0 && off+n < end {
		end = off + n
	}
	return io.NopCloser(bytes.NewReader(b[off:end])), nil
}

func (m *memStore) Stat(ctx context.Context, ref cas.Ref) (cas.BlobInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.blobs[ref]
	if !ok {
		return cas.BlobInfo{}, fmt.Errorf("mem: %s: %w", ref, cas.ErrNotFound)
	}
	return cas.BlobInfo{SizedRef: cas.SizedRef{Ref: ref, Size: int64(len(b))}, StoredSize: int64(len(b))}, nil
}

func (m *memStore) Stage(ctx context.Context, r io.Reader, opts cas.StageOptions) (cas.Staged, error) {
	var buf bytes.Buffer
	h := sha256.New()
	p := make([]byte, 32<<10)
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("mem: %w", err)
		}
		n, err := r.Read(p)
		buf.Write(p[:n])
		h.Write(p[:n])
		if opts.MaxSize > 0 && int64(buf.Len()) > opts.MaxSize {
			return nil, cas.ErrTooLarge
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("mem: %w", err)
		}
	}
	ref, _ := cas.RefFromBytes(h.Sum(nil))
	if !opts.Want.IsZero() && ref != opts.Want {
		return nil, cas.ErrCorrupt
	}
	return &memStaged{m: m, b: buf.Bytes(), ref: cas.SizedRef{Ref: ref, Size: int64(buf.Len())}}, nil
}

func (m *memStore) Put(ctx context.Context, r io.Reader, opts cas.StageOptions) (cas.SizedRef, bool, error) {
	return cas.PutVia(ctx, m, r, opts)
}

func (m *memStore) Walk(ctx context.Context, after cas.Ref, fn func(cas.BlobInfo) error) error {
	m.mu.Lock()
	var infos []cas.BlobInfo
	for r, b := range m.blobs {
		if after.Less(r) {
			infos = append(infos, cas.BlobInfo{SizedRef: cas.SizedRef{Ref: r, Size: int64(len(b))}, ModTime: m.written[r]})
		}
	}
	m.mu.Unlock()
	slices.SortFunc(infos, func(a, b cas.BlobInfo) int { return bytes.Compare(a.Ref.Bytes(), b.Ref.Bytes()) })
	for _, info := range infos {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(info); err != nil {
			return err
		}
	}
	return nil
}

func (m *memStore) Remove(ctx context.Context, ref cas.Ref) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.blobs, ref)
	return nil
}

type memStaged struct {
	m         *memStore
	b         []byte
	ref       cas.SizedRef
	discarded bool
}

func (s *memStaged) Ref() cas.SizedRef { return s.ref }

func (s *memStaged) ReadAt(p []byte, off int64) (int, error) {
	return bytes.NewReader(s.b).ReadAt(p, off)
}

func (s *memStaged) Commit(ctx context.Context) (bool, error) {
	if s.discarded {
		return false, errors.New("mem: discarded")
	}
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	if _, ok := s.m.blobs[s.ref.Ref]; ok {
		return false, nil
	}
	s.m.blobs[s.ref.Ref] = s.b
	s.m.written[s.ref.Ref] = time.Now()
	return true, nil
}

func (s *memStaged) Discard() error { s.discarded = true; return nil }

func newMem(t *testing.T) cas.Store {
	return &memStore{blobs: map[cas.Ref][]byte{}, written: map[cas.Ref]time.Time{}}
}

func corruptMem(s cas.Store, ref cas.Ref) error {
	m := s.(*memStore)
	m.mu.Lock()
	defer m.mu.Unlock()
	b := bytes.Clone(m.blobs[ref])
	b[len(b)/2] ^= 1
	m.blobs[ref] = b
	return nil
}

func TestMemStore(t *testing.T) {
	castest.Run(t, newMem, castest.WithCorrupt(corruptMem))
}

func TestMemStoreLoose(t *testing.T) {
	castest.Run(t, newMem, castest.WithLooseCreated())
}
