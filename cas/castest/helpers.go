package castest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"dewar/cas"
)

// gen returns n deterministic pseudo-random bytes for seed, as a stream,
// so large blobs never sit in memory.
func gen(seed uint64, n int64) io.Reader {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	return io.LimitReader(rand.NewChaCha8(s), n)
}

// genBytes is gen for small blobs.
func genBytes(seed uint64, n int) []byte {
	b, _ := io.ReadAll(gen(seed, int64(n)))
	return b
}

// sum hashes a stream.
func sum(t *testing.T, r io.Reader) cas.SizedRef {
	t.Helper()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		t.Fatalf("hashing: %v", err)
	}
	ref, _ := cas.RefFromBytes(h.Sum(nil))
	return cas.SizedRef{Ref: ref, Size: n}
}

func put(t *testing.T, s cas.Store, data []byte) cas.SizedRef {
	t.Helper()
	ref, _, err := s.Put(context.Background(), bytes.NewReader(data), cas.StageOptions{})
	if err != nil {
		t.Fatalf("Put(%d bytes): %v", len(data), err)
	}
	if want := cas.Sum(data); ref.Ref != want || ref.Size != int64(len(data)) {
		t.Fatalf("Put returned %s, want %s:%d", ref, want, len(data))
	}
	return ref
}

func fetch(t *testing.T, s cas.Store, ref cas.Ref, off, length int64) []byte {
	t.Helper()
	rc, err := s.Fetch(context.Background(), ref, off, length)
	if err != nil {
		t.Fatalf("Fetch(%s, %d, %d): %v", ref, off, length, err)
	}
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading Fetch(%s, %d, %d): %v", ref, off, length, err)
	}
	if err := rc.Close(); err != nil {
		t.Fatalf("closing Fetch reader: %v", err)
	}
	return b
}

func walk(t *testing.T, s cas.Store, after cas.Ref) []cas.BlobInfo {
	t.Helper()
	var out []cas.BlobInfo
	if err := s.Walk(context.Background(), after, func(b cas.BlobInfo) error {
		out = append(out, b)
		return nil
	}); err != nil {
		t.Fatalf("Walk(after %s): %v", after, err)
	}
	return out
}

func refsOf(infos []cas.BlobInfo) []cas.Ref {
	out := make([]cas.Ref, len(infos))
	for i, b := range infos {
		out[i] = b.Ref
	}
	return out
}

// assertAbsent checks that ref is neither stat-able nor fetchable.
func assertAbsent(t *testing.T, s cas.Store, ref cas.Ref) {
	t.Helper()
	if _, err := s.Stat(context.Background(), ref); !errors.Is(err, cas.ErrNotFound) {
		t.Errorf("Stat(%s) error = %v, want ErrNotFound", ref, err)
	}
	rc, err := s.Fetch(context.Background(), ref, 0, -1)
	if err == nil {
		rc.Close()
	}
	if !errors.Is(err, cas.ErrNotFound) {
		t.Errorf("Fetch(%s) error = %v, want ErrNotFound", ref, err)
	}
}

// assertEmpty checks that Walk lists nothing.
func assertEmpty(t *testing.T, s cas.Store) {
	t.Helper()
	if got := walk(t, s, cas.Ref{}); len(got) != 0 {
		t.Errorf("Walk lists %d blobs (first %s), want none", len(got), got[0].SizedRef)
	}
}

func cmpRef(a, b cas.Ref) int {
	switch {
	case a.Less(b):
		return -1
	case b.Less(a):
		return 1
	}
	return 0
}
