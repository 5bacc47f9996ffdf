package indextest

import (
	"context"
	"testing"

	"dewar/cas"
	"dewar/index"
)

// testListBlobs: rows come in ref order, with counts, paged by after.
func testListBlobs(t *testing.T, ix index.Index) {
	ctx := context.Background()
	s := newStore()
	mustBucket(t, ix, "lb")
	putObj := func(t *testing.T, ix index.Index, bucket, key string, ref cas.Ref) {
		t.Helper()
		if _, err := ix.PutObject(ctx, index.Object{Bucket: bucket, Key: key, Blob: ref, Size: 1}, s.commit(ref)); err != nil {
			t.Fatal(err)
		}
	}
	var refs []cas.Ref
	for i := range 5 {
		ref := blob("list-blobs-" + string(rune('a'+i)))
		refs = append(refs, ref)
		putObj(t, ix, "lb", "k"+string(rune('a'+i)), ref)
	}
	putObj(t, ix, "lb", "again", refs[0]) // two references to one blob
	var all []index.BlobRecord
	after := cas.Ref{}
	for {
		page, err := ix.ListBlobs(ctx, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		all = append(all, page...)
		after = page[len(page)-1].Ref
	}
	if len(all) != 5 {
		t.Fatalf("ListBlobs paged %d rows, want 5", len(all))
	}
	for i := 1; i < len(all); i++ {
		if !all[i-1].Ref.Less(all[i].Ref) {
			t.Fatalf("rows out of order at %d", i)
		}
	}
	for _, b := range all {
		want := int64(1)
		if b.Ref == refs[0] {
			want = 2
		}
		if b.Refs != want {
			t.Errorf("blob %s has %d refs, want %d", b.Ref, b.Refs, want)
		}
	}
	if page, err := ix.ListBlobs(ctx, cas.Ref{}, 0); err != nil || len(page) != 0 {
		t.Errorf("limit 0 gave %d rows, %v", len(page), err)
	}
}
