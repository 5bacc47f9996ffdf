// Package indextest is the conformance suite of index.Index: every
// implementation (SQLite, PostgreSQL, decorators) runs it from its tests.
//
// Run calls one function per capability (RunBuckets, RunObjects,
// RunListing, RunMultipart, RunBlobs, RunUsers), each a list of
// independent, named subtests that open a fresh index. Nothing skips.
//
// Callbacks the suite hands the index (CommitFunc, RemoveFunc) never call
// t.Fatal: they may run on a goroutine of the index.
package indextest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"dewar/cas"
	"dewar/index"
)

// NewIndex returns an empty index for one subtest; it should register its
// own cleanup (Close, removing files) with t.Cleanup.
type NewIndex func(t *testing.T) index.Index

// Run runs the whole suite.
func Run(t *testing.T, newIndex NewIndex) {
	t.Run("Buckets", func(t *testing.T) { RunBuckets(t, newIndex) })
	t.Run("Objects", func(t *testing.T) { RunObjects(t, newIndex) })
	t.Run("Listing", func(t *testing.T) { RunListing(t, newIndex) })
	t.Run("Multipart", func(t *testing.T) { RunMultipart(t, newIndex) })
	t.Run("Blobs", func(t *testing.T) { RunBlobs(t, newIndex) })
	t.Run("Users", func(t *testing.T) { RunUsers(t, newIndex) })
}

// store is a fake content store: CommitFunc adds a blob, RemoveFunc deletes
// it. It records what happened so tests can check the protocol.
type store struct {
	mu      sync.Mutex
	blobs   map[cas.Ref]bool
	commits map[cas.Ref]int
	removes map[cas.Ref]int
	failRm  error // returned by remove when set
}

func newStore() *store {
	return &store{blobs: map[cas.Ref]bool{}, commits: map[cas.Ref]int{}, removes: map[cas.Ref]int{}}
}

// commit returns a CommitFunc that makes ref exist.
func (s *store) commit(ref cas.Ref) index.CommitFunc {
	return func(context.Context) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.blobs[ref] = true
		s.commits[ref]++
		return nil
	}
}

// failCommit returns a CommitFunc that fails with err.
func failCommit(err error) index.CommitFunc {
	return func(context.Context) error { return err }
}

func (s *store) remove(_ context.Context, ref cas.Ref) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failRm != nil {
		return s.failRm
	}
	delete(s.blobs, ref)
	s.removes[ref]++
	return nil
}

func (s *store) has(ref cas.Ref) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.blobs[ref]
}

func (s *store) removed(ref cas.Ref) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.removes[ref]
}

func (s *store) committed(ref cas.Ref) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.commits[ref]
}

var errBoom = errors.New("indextest: injected failure")

// blob returns a distinct Ref per name.
func blob(name string) cas.Ref { return cas.Sum([]byte("indextest:" + name)) }

// t0 is a fixed time with sub-millisecond digits the index may drop.
var t0 = time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.UTC)

// sameTime reports whether the index kept t to at least millisecond
// precision.
func sameTime(got, want time.Time) bool {
	d := got.Sub(want)
	return d > -time.Millisecond && d < time.Millisecond
}

func mustBucket(t *testing.T, ix index.Index, name string) {
	t.Helper()
	if err := ix.CreateBucket(t.Context(), index.Bucket{Name: name, Owner: "owner", CreatedAt: t0}); err != nil {
		t.Fatalf("CreateBucket(%q): %v", name, err)
	}
}

// put puts bucket/key with blob ref (committed to s) and returns the refs
// the index reports at zero.
func put(t *testing.T, ix index.Index, s *store, bucket, key string, ref cas.Ref) []cas.Ref {
	t.Helper()
	z, err := ix.PutObject(t.Context(), index.Object{
		Bucket: bucket, Key: key, Blob: ref, Size: 10, ETag: "etag-" + key, Owner: "owner",
	}, s.commit(ref))
	if err != nil {
		t.Fatalf("PutObject(%q, %q): %v", bucket, key, err)
	}
	return z
}

// putAll puts every key with blob ref, 16 at a time.
func putAll(t *testing.T, ix index.Index, s *store, bucket string, keys []string, ref cas.Ref) {
	t.Helper()
	work := make(chan string)
	errs := make(chan error, len(keys))
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for k := range work {
				_, err := ix.PutObject(context.Background(), index.Object{
					Bucket: bucket, Key: k, Blob: ref, Size: 10, ETag: "e", Owner: "owner",
				}, s.commit(ref))
				if err != nil {
					errs <- fmt.Errorf("PutObject(%q): %w", k, err)
				}
			}
		})
	}
	for _, k := range keys {
		work <- k
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// refs returns the reference count of ref, 0 when the index has no row.
func refs(t *testing.T, ix index.Index, ref cas.Ref) int64 {
	t.Helper()
	b, err := ix.GetBlob(t.Context(), ref)
	if errors.Is(err, index.ErrNotFound) {
		return 0
	}
	if err != nil {
		t.Fatalf("GetBlob: %v", err)
	}
	return b.Refs
}

func wantRefs(t *testing.T, ix index.Index, ref cas.Ref, want int64) {
	t.Helper()
	if got := refs(t, ix, ref); got != want {
		t.Errorf("refs(%s) = %d, want %d", ref.String()[:8], got, want)
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: err = %v, want %v", what, err, want)
	}
}

// sameRefs compares sets of refs, ignoring order.
func sameRefs(got []cas.Ref, want ...cas.Ref) bool {
	if len(got) != len(want) {
		return false
	}
	m := map[cas.Ref]int{}
	for _, r := range got {
		m[r]++
	}
	for _, r := range want {
		if m[r] != 1 {
			return false
		}
	}
	return true
}

func wantZeroed(t *testing.T, what string, got []cas.Ref, want ...cas.Ref) {
	t.Helper()
	if !sameRefs(got, want...) {
		t.Errorf("%s: zeroed = %v, want %v", what, got, want)
	}
}
