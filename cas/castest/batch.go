package castest

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"dewar/cas"
)

// testBatch: blobs added to a batch are all there, intact, after Commit;
// duplicates and bytes already stored are fine.
func testBatch(t *testing.T, s cas.Store) {
	ctx := context.Background()
	old := put(t, s, genBytes(90, 1000))
	b := cas.NewBatch(s)
	defer b.Discard()
	var want []cas.SizedRef
	for i := range 20 {
		data := genBytes(uint64(100+i%10), 100*i+1) // repeats within the batch
		if i%10 == 3 {
			data = genBytes(90, 1000) // stored before the batch
		}
		ref, err := b.Add(ctx, bytes.NewReader(data), cas.StageOptions{})
		if err != nil {
			t.Fatalf("Add %d: %v", i, err)
		}
		if ref.Ref != cas.Sum(data) || ref.Size != int64(len(data)) {
			t.Fatalf("Add %d returned %s", i, ref)
		}
		want = append(want, ref)
	}
	if err := b.Commit(ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	for _, ref := range append(want, old) {
		info, err := s.Stat(ctx, ref.Ref)
		if err != nil || info.Size != ref.Size {
			t.Fatalf("after Commit, Stat(%s) = %+v, %v", ref, info, err)
		}
		if got := cas.Sum(fetch(t, s, ref.Ref, 0, -1)); got != ref.Ref {
			t.Fatalf("blob %s reads back as %s", ref.Ref, got)
		}
	}
	b.Discard() // after Commit: keeps the blobs
	if _, err := s.Stat(ctx, want[0].Ref); err != nil {
		t.Fatalf("Discard after Commit removed a blob: %v", err)
	}
}

// testBatchWantMismatch: a wrong Want fails that Add and leaves no blob.
func testBatchWantMismatch(t *testing.T, s cas.Store) {
	ctx := context.Background()
	b := cas.NewBatch(s)
	defer b.Discard()
	data := genBytes(7, 5000)
	_, err := b.Add(ctx, bytes.NewReader(data), cas.StageOptions{Want: cas.Sum([]byte("other"))})
	if !errors.Is(err, cas.ErrCorrupt) {
		t.Fatalf("Add with wrong Want: %v, want ErrCorrupt", err)
	}
	if err := b.Commit(ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if _, err := s.Stat(ctx, cas.Sum(data)); !errors.Is(err, cas.ErrNotFound) {
		t.Fatalf("mismatched bytes became a blob: %v", err)
	}
}
