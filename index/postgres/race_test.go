package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"dewar/cas"
	"dewar/index"
)

// Races between concurrent writers that only PostgreSQL runs at the same
// time (SQLite has one writer). Each checks, besides the outcome, that the
// reference counts match the rows pointing at each blob.

// memStore is a fake content store for the CommitFuncs and RemoveFuncs.
type memStore struct {
	mu    sync.Mutex
	blobs map[cas.Ref]bool
}

func newMemStore() *memStore { return &memStore{blobs: map[cas.Ref]bool{}} }

func (s *memStore) commit(ref cas.Ref) index.CommitFunc {
	return func(context.Context) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.blobs[ref] = true
		return nil
	}
}

func (s *memStore) remove(_ context.Context, ref cas.Ref) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.blobs, ref)
	return nil
}

func (s *memStore) has(ref cas.Ref) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.blobs[ref]
}

// checkCounts fails t for every blob whose count differs from the number
// of objects and parts pointing at it.
func checkCounts(t *testing.T, ix *Index) {
	t.Helper()
	rows, err := ix.Pool().Query(context.Background(), `SELECT b.ref, b.refs,
			(SELECT count(*) FROM objects o WHERE o.blob = b.ref) + (SELECT count(*) FROM parts p WHERE p.blob = b.ref)
		FROM blobs b`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var ref string
		var refs, pointing int64
		if err := rows.Scan(&ref, &refs, &pointing); err != nil {
			t.Fatal(err)
		}
		if refs != pointing {
			t.Errorf("blob %s: count %d, but %d rows point at it", ref[:8], refs, pointing)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// noDeadlocks fails t when a write of ix had to be run again after a
// deadlock: the index's writers lock rows in one order (sqlindex doc.go),
// and none of these races involves the one cycle that order leaves.
func noDeadlocks(t *testing.T, ix *Index) {
	t.Helper()
	if st := ix.WriterStats(); st.Retries != 0 {
		t.Errorf("%d writes were deadlock victims (%d lost insert races)", st.Retries, st.Races)
	}
}

// parallel runs each fn on its own goroutine, started together, and
// returns their errors in order.
func parallel(fns ...func() error) []error {
	errs := make([]error, len(fns))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Go(func() {
			<-start
			errs[i] = fn()
		})
	}
	close(start)
	wg.Wait()
	return errs
}

func ref(s string) cas.Ref { return cas.Sum([]byte("race:" + s)) }

func TestRaceUpsertsOfOneNewBlob(t *testing.T) {
	ix := open(t, Options{MaxConns: 16})
	ctx := context.Background()
	if err := ix.CreateBucket(ctx, index.Bucket{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	s := newMemStore()
	const goroutines, each = 16, 10
	var fns []func() error
	for g := range goroutines {
		fns = append(fns, func() error {
			for i := range each {
				if _, err := ix.PutObject(ctx, index.Object{Bucket: "b", Key: fmt.Sprintf("g%d/%d", g, i), Blob: ref("x")}, s.commit(ref("x"))); err != nil {
					return err
				}
			}
			return nil
		})
	}
	for _, err := range parallel(fns...) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if b, err := ix.GetBlob(ctx, ref("x")); err != nil || b.Refs != goroutines*each {
		t.Errorf("GetBlob = %+v, %v; want %d refs", b, err, goroutines*each)
	}
	checkCounts(t, ix)
	noDeadlocks(t, ix)
}

func TestRacePutsOfOneKey(t *testing.T) {
	ix := open(t, Options{MaxConns: 16})
	ctx := context.Background()
	if err := ix.CreateBucket(ctx, index.Bucket{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	s := newMemStore()
	blobs := []cas.Ref{ref("a"), ref("b"), ref("c")}
	var fns []func() error
	for g := range 16 {
		fns = append(fns, func() error {
			for i := range 15 {
				r := blobs[(g+i)%len(blobs)]
				zeroed, err := ix.PutObject(ctx, index.Object{Bucket: "b", Key: "k", Blob: r}, s.commit(r))
				if err != nil {
					return err
				}
				for _, z := range zeroed {
					if _, err := ix.Reap(ctx, z, s.remove); err != nil {
						return err
					}
				}
			}
			return nil
		})
	}
	for _, err := range parallel(fns...) {
		if err != nil {
			t.Fatal(err)
		}
	}
	o, err := ix.GetObject(ctx, "b", "k")
	if err != nil {
		t.Fatal(err)
	}
	if !s.has(o.Blob) {
		t.Errorf("the object's blob %s was removed", o.Blob)
	}
	for _, r := range blobs {
		want := int64(0)
		if r == o.Blob {
			want = 1
		}
		if b, err := ix.GetBlob(ctx, r); err == nil && b.Refs != want || err != nil && want == 1 {
			t.Errorf("blob %s: %+v, %v; want %d refs", r.String()[:8], b, err, want)
		}
	}
	checkCounts(t, ix)
	noDeadlocks(t, ix)
}

// TestRaceCompletes: two CompleteUpload calls of one upload; one wins, the
// other finds the upload gone, and the parts are dropped once.
func TestRaceCompletes(t *testing.T) {
	ix := open(t, Options{})
	ctx := context.Background()
	if err := ix.CreateBucket(ctx, index.Bucket{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	s := newMemStore()
	for round := range 25 {
		id := fmt.Sprint("u", round)
		if err := ix.CreateUpload(ctx, index.Upload{ID: id, Bucket: "b", Key: "k"}); err != nil {
			t.Fatal(err)
		}
		for n, r := range []cas.Ref{ref("p1"), ref("p2")} {
			if _, err := ix.PutPart(ctx, index.Part{UploadID: id, Number: n + 1, Blob: r}, s.commit(r)); err != nil {
				t.Fatal(err)
			}
		}
		complete := func(whole cas.Ref) func() error {
			return func() error {
				_, err := ix.CompleteUpload(ctx, id, index.Object{Bucket: "b", Key: "k", Blob: whole}, s.commit(whole))
				return err
			}
		}
		errs := parallel(complete(ref("w1")), complete(ref("w2")))
		ok, gone := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, index.ErrUploadNotFound):
				gone++
			default:
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if ok != 1 || gone != 1 {
			t.Fatalf("round %d: %v; want one success and one ErrUploadNotFound", round, errs)
		}
		checkCounts(t, ix)
		for _, r := range []cas.Ref{ref("p1"), ref("p2")} {
			if b, err := ix.GetBlob(ctx, r); err != nil || b.Refs != 0 {
				t.Fatalf("round %d: part blob %+v, %v; want 0 refs", round, b, err)
			}
		}
	}
	noDeadlocks(t, ix)
}

// TestRacePartsAndComplete: parts put (new and replacing) while the
// upload completes either land before the completion, which then drops
// them, or find the upload gone.
func TestRacePartsAndComplete(t *testing.T) {
	ix := open(t, Options{})
	ctx := context.Background()
	if err := ix.CreateBucket(ctx, index.Bucket{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	s := newMemStore()
	for round := range 25 {
		id := fmt.Sprint("u", round)
		if err := ix.CreateUpload(ctx, index.Upload{ID: id, Bucket: "b", Key: "k"}); err != nil {
			t.Fatal(err)
		}
		if _, err := ix.PutPart(ctx, index.Part{UploadID: id, Number: 1, Blob: ref("p1")}, s.commit(ref("p1"))); err != nil {
			t.Fatal(err)
		}
		putPart := func(n int, r cas.Ref) func() error {
			return func() error {
				_, err := ix.PutPart(ctx, index.Part{UploadID: id, Number: n, Blob: r}, s.commit(r))
				if errors.Is(err, index.ErrUploadNotFound) {
					return nil
				}
				return err
			}
		}
		errs := parallel(
			putPart(1, ref("p1-again")),
			putPart(2, ref("p2")),
			putPart(3, ref("p1")),
			func() error {
				_, err := ix.CompleteUpload(ctx, id, index.Object{Bucket: "b", Key: "k", Blob: ref("whole")}, s.commit(ref("whole")))
				return err
			},
		)
		for _, err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		checkCounts(t, ix)
		if _, _, err := ix.ListParts(ctx, id, 0, 10); !errors.Is(err, index.ErrUploadNotFound) {
			t.Fatalf("round %d: parts of the completed upload: %v", round, err)
		}
	}
	noDeadlocks(t, ix)
}

// TestRaceDeleteBucket: DeleteBucket racing with writers of the bucket
// either finds it non-empty or leaves nothing behind, and writers that
// lost find the bucket (or upload) gone.
func TestRaceDeleteBucket(t *testing.T) {
	ix := open(t, Options{})
	ctx := context.Background()
	s := newMemStore()
	for round := range 25 {
		b := fmt.Sprint("b", round)
		if err := ix.CreateBucket(ctx, index.Bucket{Name: b}); err != nil {
			t.Fatal(err)
		}
		up := b + "-u1"
		if err := ix.CreateUpload(ctx, index.Upload{ID: up, Bucket: b, Key: "k"}); err != nil {
			t.Fatal(err)
		}
		if _, err := ix.PutPart(ctx, index.Part{UploadID: up, Number: 1, Blob: ref("p")}, s.commit(ref("p"))); err != nil {
			t.Fatal(err)
		}
		errs := parallel(
			func() error { _, err := ix.DeleteBucket(ctx, b); return err },
			func() error {
				_, err := ix.PutObject(ctx, index.Object{Bucket: b, Key: "o", Blob: ref("o")}, s.commit(ref("o")))
				return err
			},
			func() error { return ix.CreateUpload(ctx, index.Upload{ID: b + "-u2", Bucket: b, Key: "k2"}) },
			func() error {
				_, err := ix.PutPart(ctx, index.Part{UploadID: up, Number: 2, Blob: ref("p2")}, s.commit(ref("p2")))
				return err
			},
		)
		del, put, create, part := errs[0], errs[1], errs[2], errs[3]
		switch {
		case del == nil:
			if !errors.Is(put, index.ErrBucketNotFound) {
				t.Errorf("round %d: bucket deleted, yet PutObject: %v", round, put)
			}
			if create != nil && !errors.Is(create, index.ErrBucketNotFound) {
				t.Errorf("round %d: bucket deleted, CreateUpload: %v", round, create)
			}
			if part != nil && !errors.Is(part, index.ErrUploadNotFound) {
				t.Errorf("round %d: bucket deleted, PutPart: %v", round, part)
			}
			var left int
			if err := ix.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM uploads WHERE bucket = $1) + (SELECT count(*) FROM objects WHERE bucket = $1)`, b).Scan(&left); err != nil || left != 0 {
				t.Errorf("round %d: %d rows of the deleted bucket left (%v)", round, left, err)
			}
		case errors.Is(del, index.ErrBucketNotEmpty):
			if put != nil || create != nil || part != nil {
				t.Errorf("round %d: bucket kept, yet writers failed: %v, %v, %v", round, put, create, part)
			}
		default:
			t.Fatalf("round %d: DeleteBucket: %v", round, del)
		}
		checkCounts(t, ix)
		if t.Failed() {
			t.FailNow()
		}
	}
	noDeadlocks(t, ix)
}
