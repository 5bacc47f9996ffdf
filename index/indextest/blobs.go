package indextest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"dewar/cas"
	"dewar/index"
)

// RunBlobs checks the reference-count protocol of package index through
// index.Objects, index.Multipart and index.Blobs.
func RunBlobs(t *testing.T, newIndex NewIndex) {
	t.Run("ListBlobs", func(t *testing.T) { testListBlobs(t, newIndex(t)) })
	t.Run("GetBlob", func(t *testing.T) {
		ix := newIndex(t)
		s := newStore()
		mustBucket(t, ix, "b")
		before := time.Now().Add(-time.Second)
		if _, err := ix.PutObject(t.Context(), index.Object{Bucket: "b", Key: "k", Blob: blob("x"), Size: 4242}, s.commit(blob("x"))); err != nil {
			t.Fatal(err)
		}
		b, err := ix.GetBlob(t.Context(), blob("x"))
		if err != nil {
			t.Fatal(err)
		}
		if b.Ref != blob("x") || b.Size != 4242 || b.Refs != 1 || b.CreatedAt.Before(before) {
			t.Errorf("GetBlob = %+v", b)
		}
		_, err = ix.GetBlob(t.Context(), blob("unknown"))
		wantErr(t, "GetBlob unknown", err, index.ErrNotFound)
	})
	t.Run("TwoKeysOneBlob", func(t *testing.T) {
		ix := newIndex(t)
		s := newStore()
		mustBucket(t, ix, "b")
		put(t, ix, s, "b", "k1", blob("x"))
		put(t, ix, s, "b", "k2", blob("x"))
		wantRefs(t, ix, blob("x"), 2)
		z, err := ix.DeleteObject(t.Context(), "b", "k1")
		if err != nil || len(z) != 0 {
			t.Errorf("delete first of two: %v, %v", z, err)
		}
		wantRefs(t, ix, blob("x"), 1)
		z, err = ix.DeleteObject(t.Context(), "b", "k2")
		if err != nil {
			t.Fatal(err)
		}
		wantZeroed(t, "delete last", z, blob("x"))
		wantRefs(t, ix, blob("x"), 0)
	})
	t.Run("SameBytesSameKey", func(t *testing.T) {
		ix := newIndex(t)
		s := newStore()
		mustBucket(t, ix, "b")
		for i := range 3 {
			if z := put(t, ix, s, "b", "k", blob("x")); len(z) != 0 {
				t.Errorf("put %d of the same bytes zeroed %v", i, z)
			}
		}
		wantRefs(t, ix, blob("x"), 1)
		if s.committed(blob("x")) != 3 {
			t.Errorf("commit ran %d times, want once per put", s.committed(blob("x")))
		}
	})
	t.Run("ReplaceDropsOld", func(t *testing.T) {
		ix := newIndex(t)
		s := newStore()
		mustBucket(t, ix, "b")
		put(t, ix, s, "b", "k", blob("old"))
		put(t, ix, s, "b", "other", blob("old"))
		if z := put(t, ix, s, "b", "k", blob("new")); len(z) != 0 {
			t.Errorf("replacing a still-shared blob zeroed %v", z)
		}
		z := put(t, ix, s, "b", "other", blob("new"))
		wantZeroed(t, "replace", z, blob("old"))
		wantRefs(t, ix, blob("new"), 2)
	})
	t.Run("PartsAndObjectsShareCounts", func(t *testing.T) {
		ix := newIndex(t)
		s := newStore()
		mustBucket(t, ix, "b")
		put(t, ix, s, "b", "k", blob("x"))
		mustUpload(t, ix, index.Upload{ID: "u", Bucket: "b", Key: "k2"})
		putPart(t, ix, s, "u", 1, blob("x"))
		wantRefs(t, ix, blob("x"), 2)
		if z, err := ix.DeleteObject(t.Context(), "b", "k"); err != nil || len(z) != 0 {
			t.Errorf("DeleteObject = %v, %v; the part still holds the blob", z, err)
		}
		z, err := ix.AbortUpload(t.Context(), "u")
		if err != nil {
			t.Fatal(err)
		}
		wantZeroed(t, "AbortUpload", z, blob("x"))
	})
	t.Run("CommitErrorRollsBack", func(t *testing.T) {
		ix := newIndex(t)
		s := newStore()
		mustBucket(t, ix, "b")
		put(t, ix, s, "b", "k", blob("old"))
		_, err := ix.PutObject(t.Context(), index.Object{Bucket: "b", Key: "k", Blob: blob("new")}, failCommit(errBoom))
		wantErr(t, "PutObject", err, errBoom)
		got, err := ix.GetObject(t.Context(), "b", "k")
		if err != nil || got.Blob != blob("old") {
			t.Errorf("after failed replace: %v, %v; want the old object", got.Blob, err)
		}
		wantRefs(t, ix, blob("old"), 1)
		wantRefs(t, ix, blob("new"), 0)
		_, err = ix.PutObject(t.Context(), index.Object{Bucket: "b", Key: "fresh", Blob: blob("old")}, failCommit(errBoom))
		wantErr(t, "PutObject of a pinned blob", err, errBoom)
		wantRefs(t, ix, blob("old"), 1)
		_, err = ix.GetObject(t.Context(), "b", "fresh")
		wantErr(t, "GetObject after failed put", err, index.ErrObjectNotFound)
		mustUpload(t, ix, index.Upload{ID: "u", Bucket: "b", Key: "k"})
		_, err = ix.PutPart(t.Context(), index.Part{UploadID: "u", Number: 1, Blob: blob("p")}, failCommit(errBoom))
		wantErr(t, "PutPart", err, errBoom)
		wantRefs(t, ix, blob("p"), 0)
	})
	t.Run("NilCommit", func(t *testing.T) {
		ix := newIndex(t)
		s := newStore()
		mustBucket(t, ix, "b")
		_, err := ix.PutObject(t.Context(), index.Object{Bucket: "b", Key: "copy", Blob: blob("x")}, nil)
		wantErr(t, "nil commit of an unpinned blob", err, index.ErrBlobNotFound)
		wantErr(t, "nil commit of an unpinned blob", err, index.ErrNotFound)
		_, err = ix.GetObject(t.Context(), "b", "copy")
		wantErr(t, "GetObject", err, index.ErrObjectNotFound)
		wantRefs(t, ix, blob("x"), 0)

		put(t, ix, s, "b", "src", blob("x"))
		if _, err := ix.PutObject(t.Context(), index.Object{Bucket: "b", Key: "copy", Blob: blob("x")}, nil); err != nil {
			t.Fatalf("nil commit of a pinned blob (a copy): %v", err)
		}
		wantRefs(t, ix, blob("x"), 2)
		// Copying onto itself keeps the count.
		if z, err := ix.PutObject(t.Context(), index.Object{Bucket: "b", Key: "copy", Blob: blob("x")}, nil); err != nil || len(z) != 0 {
			t.Errorf("self copy: %v, %v", z, err)
		}
		wantRefs(t, ix, blob("x"), 2)
		// Once the count fell to zero the blob may be gone: nil is refused.
		for _, k := range []string{"src", "copy"} {
			if _, err := ix.DeleteObject(t.Context(), "b", k); err != nil {
				t.Fatal(err)
			}
		}
		_, err = ix.PutObject(t.Context(), index.Object{Bucket: "b", Key: "copy", Blob: blob("x")}, nil)
		wantErr(t, "nil commit of a zeroed blob", err, index.ErrBlobNotFound)
	})
	t.Run("ReapOnlyAtZero", func(t *testing.T) {
		ix := newIndex(t)
		s := newStore()
		mustBucket(t, ix, "b")
		put(t, ix, s, "b", "k", blob("x"))
		removed, err := ix.Reap(t.Context(), blob("x"), s.remove)
		if err != nil || removed {
			t.Errorf("Reap of a referenced blob = %v, %v", removed, err)
		}
		if !s.has(blob("x")) || s.removed(blob("x")) != 0 {
			t.Error("Reap removed a referenced blob")
		}
		wantRefs(t, ix, blob("x"), 1)
		z, err := ix.DeleteObject(t.Context(), "b", "k")
		if err != nil {
			t.Fatal(err)
		}
		wantZeroed(t, "DeleteObject", z, blob("x"))
		// The zero row stays until reaped.
		b, err := ix.GetBlob(t.Context(), blob("x"))
		if err != nil || b.Refs != 0 {
			t.Errorf("zeroed blob row = %+v, %v; want kept at 0", b, err)
		}
		removed, err = ix.Reap(t.Context(), blob("x"), s.remove)
		if err != nil || !removed {
			t.Fatalf("Reap at zero = %v, %v", removed, err)
		}
		if s.has(blob("x")) {
			t.Error("Reap did not call remove")
		}
		_, err = ix.GetBlob(t.Context(), blob("x"))
		wantErr(t, "GetBlob after reap", err, index.ErrNotFound)
		// No row: nothing refers to it, so remove is called again.
		removed, err = ix.Reap(t.Context(), blob("x"), s.remove)
		if err != nil || !removed || s.removed(blob("x")) != 2 {
			t.Errorf("Reap without a row = %v, %v (removes %d)", removed, err, s.removed(blob("x")))
		}
		_, err = ix.GetBlob(t.Context(), blob("x"))
		wantErr(t, "GetBlob after reap without a row", err, index.ErrNotFound)
	})
	t.Run("ReapRemoveError", func(t *testing.T) {
		ix := newIndex(t)
		s := newStore()
		mustBucket(t, ix, "b")
		put(t, ix, s, "b", "k", blob("x"))
		if _, err := ix.DeleteObject(t.Context(), "b", "k"); err != nil {
			t.Fatal(err)
		}
		s.failRm = errBoom
		removed, err := ix.Reap(t.Context(), blob("x"), s.remove)
		wantErr(t, "Reap", err, errBoom)
		if removed {
			t.Error("Reap reported removed despite the error")
		}
		b, err := ix.GetBlob(t.Context(), blob("x"))
		if err != nil || b.Refs != 0 {
			t.Errorf("after failed reap: %+v, %v; want the zero row kept", b, err)
		}
		zs, err := ix.ZeroBlobs(t.Context(), cas.Ref{}, 10)
		if err != nil || !sameRefs(zs, blob("x")) {
			t.Errorf("ZeroBlobs = %v, %v", zs, err)
		}
		s.failRm = nil
		if removed, err := ix.Reap(t.Context(), blob("x"), s.remove); err != nil || !removed {
			t.Errorf("Reap retried = %v, %v", removed, err)
		}
	})
	t.Run("PutAfterReap", func(t *testing.T) {
		ix := newIndex(t)
		s := newStore()
		mustBucket(t, ix, "b")
		put(t, ix, s, "b", "k", blob("x"))
		if _, err := ix.DeleteObject(t.Context(), "b", "k"); err != nil {
			t.Fatal(err)
		}
		if _, err := ix.Reap(t.Context(), blob("x"), s.remove); err != nil {
			t.Fatal(err)
		}
		put(t, ix, s, "b", "k", blob("x"))
		if !s.has(blob("x")) {
			t.Error("put after reap did not re-create the blob")
		}
		wantRefs(t, ix, blob("x"), 1)
	})
	t.Run("ZeroBlobsPaging", func(t *testing.T) {
		ix := newIndex(t)
		s := newStore()
		mustBucket(t, ix, "b")
		var zeroed []cas.Ref
		for i := range 12 {
			r := blob(fmt.Sprint("z", i))
			put(t, ix, s, "b", fmt.Sprint("k", i), r)
			if i%3 != 0 {
				z, err := ix.DeleteObject(t.Context(), "b", fmt.Sprint("k", i))
				if err != nil {
					t.Fatal(err)
				}
				zeroed = append(zeroed, z...)
			}
		}
		if len(zeroed) != 8 {
			t.Fatalf("%d refs zeroed, want 8", len(zeroed))
		}
		var got []cas.Ref
		after := cas.Ref{}
		for range 10 {
			page, err := ix.ZeroBlobs(t.Context(), after, 3)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range page {
				if !after.IsZero() && !after.Less(r) || i > 0 && !page[i-1].Less(r) {
					t.Errorf("ZeroBlobs out of order: %v after %v", r, after)
				}
			}
			got = append(got, page...)
			if len(page) < 3 {
				break
			}
			after = page[len(page)-1]
		}
		if !sameRefs(got, zeroed...) {
			t.Errorf("ZeroBlobs pages = %v, want %v", got, zeroed)
		}
		if page, err := ix.ZeroBlobs(t.Context(), cas.Ref{}, 0); err != nil || len(page) != 0 {
			t.Errorf("ZeroBlobs limit 0 = %v, %v", page, err)
		}
	})
	t.Run("ConcurrentPutDeleteReap", func(t *testing.T) { testRace(t, newIndex) })
	t.Run("PutRacesReap", func(t *testing.T) { testPutRacesReap(t, newIndex) })
}

// testRace races puts of the same bytes with deletes and reaps of them and
// checks that no live object ends up pointing at a removed blob, and that
// the count matches the rows.
func testRace(t *testing.T, newIndex NewIndex) {
	ix := newIndex(t)
	s := newStore()
	mustBucket(t, ix, "b")
	keys := []string{"k0", "k1", "k2"}
	shared := []cas.Ref{blob("race-x"), blob("race-y")}
	const workers, rounds = 8, 60
	ctx := context.Background()
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			reap := func(zeroed []cas.Ref) error {
				for _, z := range zeroed {
					if _, err := ix.Reap(ctx, z, s.remove); err != nil {
						return err
					}
				}
				return nil
			}
			for range rounds {
				key := keys[r.IntN(len(keys))]
				ref := shared[r.IntN(len(shared))]
				var err error
				var zeroed []cas.Ref
				switch r.IntN(4) {
				case 0, 1:
					zeroed, err = ix.PutObject(ctx, index.Object{Bucket: "b", Key: key, Blob: ref}, s.commit(ref))
				case 2:
					zeroed, err = ix.DeleteObject(ctx, "b", key)
					if err != nil && isNotFound(err) {
						err = nil
					}
				case 3:
					_, err = ix.Reap(ctx, ref, s.remove)
				}
				if err == nil {
					err = reap(zeroed)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	checkLive(t, ix, s, keys, shared)
}

// checkLive asserts that every live object's blob is in the store and that
// the counts of refs match the objects pointing at them.
func checkLive(t *testing.T, ix index.Index, s *store, keys []string, refsOf []cas.Ref) {
	t.Helper()
	ctx := context.Background()
	live := map[cas.Ref]int64{}
	for _, k := range keys {
		o, err := ix.GetObject(ctx, "b", k)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		live[o.Blob]++
		if !s.has(o.Blob) {
			t.Errorf("object %q points at blob %s, which was removed", k, o.Blob)
		}
	}
	for _, r := range refsOf {
		wantRefs(t, ix, r, live[r])
	}
}

// testPutRacesReap runs many short rounds in which a put of some bytes
// races with the delete of their last reference and with reaps, and checks
// after each round that the object left behind has its blob.
func testPutRacesReap(t *testing.T, newIndex NewIndex) {
	ix := newIndex(t)
	s := newStore()
	mustBucket(t, ix, "b")
	x := blob("race")
	ctx := context.Background()
	for round := range 150 {
		put(t, ix, s, "b", "old", x)
		start := make(chan struct{})
		errs := make(chan error, 4)
		var wg sync.WaitGroup
		wg.Go(func() { // drop the last reference and reap it
			<-start
			z, err := ix.DeleteObject(ctx, "b", "old")
			for _, r := range z {
				if err == nil {
					_, err = ix.Reap(ctx, r, s.remove)
				}
			}
			errs <- err
		})
		wg.Go(func() { // put the same bytes under another key
			<-start
			_, err := ix.PutObject(ctx, index.Object{Bucket: "b", Key: "new", Blob: x}, s.commit(x))
			errs <- err
		})
		wg.Go(func() { // a gc pass reaping whatever it is handed
			<-start
			_, err := ix.Reap(ctx, x, s.remove)
			errs <- err
		})
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		checkLive(t, ix, s, []string{"old", "new"}, []cas.Ref{x})
		if t.Failed() {
			t.Fatalf("round %d broke the protocol", round)
		}
		if _, err := ix.DeleteObject(ctx, "b", "new"); err != nil {
			t.Fatal(err)
		}
	}
}

func isNotFound(err error) bool {
	return err != nil && errors.Is(err, index.ErrNotFound)
}
