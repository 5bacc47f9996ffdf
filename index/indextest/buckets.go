package indextest

import (
	"slices"
	"testing"
	"time"

	"dewar/index"
)

// RunBuckets checks index.Buckets.
func RunBuckets(t *testing.T, newIndex NewIndex) {
	t.Run("CreateGet", func(t *testing.T) {
		ix := newIndex(t)
		want := index.Bucket{Name: "photos", Owner: "AKIDALICE", CreatedAt: t0}
		if err := ix.CreateBucket(t.Context(), want); err != nil {
			t.Fatal(err)
		}
		got, err := ix.GetBucket(t.Context(), "photos")
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != want.Name || got.Owner != want.Owner || !sameTime(got.CreatedAt, want.CreatedAt) {
			t.Errorf("GetBucket = %+v, want %+v", got, want)
		}
		if got.CreatedAt.Location() != time.UTC {
			t.Errorf("CreatedAt in %v, want UTC", got.CreatedAt.Location())
		}
	})
	t.Run("CreatedAtDefaultsToNow", func(t *testing.T) {
		ix := newIndex(t)
		before := time.Now().Add(-time.Second)
		if err := ix.CreateBucket(t.Context(), index.Bucket{Name: "b", Owner: "o"}); err != nil {
			t.Fatal(err)
		}
		got, err := ix.GetBucket(t.Context(), "b")
		if err != nil {
			t.Fatal(err)
		}
		if got.CreatedAt.Before(before) || got.CreatedAt.After(time.Now().Add(time.Second)) {
			t.Errorf("CreatedAt = %v, want about now", got.CreatedAt)
		}
	})
	t.Run("CreateConflict", func(t *testing.T) {
		ix := newIndex(t)
		mustBucket(t, ix, "b")
		err := ix.CreateBucket(t.Context(), index.Bucket{Name: "b", Owner: "someone-else"})
		wantErr(t, "second CreateBucket", err, index.ErrBucketExists)
		wantErr(t, "second CreateBucket", err, index.ErrConflict)
		got, err := ix.GetBucket(t.Context(), "b")
		if err != nil || got.Owner != "owner" {
			t.Errorf("after conflict: %+v, %v; want the first owner kept", got, err)
		}
	})
	t.Run("GetMissing", func(t *testing.T) {
		ix := newIndex(t)
		_, err := ix.GetBucket(t.Context(), "nope")
		wantErr(t, "GetBucket", err, index.ErrBucketNotFound)
		wantErr(t, "GetBucket", err, index.ErrNotFound)
	})
	t.Run("ListByteOrder", func(t *testing.T) {
		ix := newIndex(t)
		names := []string{"zeta", "a-b", "a", "a.b", "B", "0day"}
		for _, n := range names {
			mustBucket(t, ix, n)
		}
		bs, err := ix.ListBuckets(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, b := range bs {
			got = append(got, b.Name)
		}
		want := slices.Sorted(slices.Values(names))
		if !slices.Equal(got, want) {
			t.Errorf("ListBuckets = %q, want %q", got, want)
		}
	})
	t.Run("ListEmpty", func(t *testing.T) {
		ix := newIndex(t)
		bs, err := ix.ListBuckets(t.Context())
		if err != nil || len(bs) != 0 {
			t.Errorf("ListBuckets = %v, %v; want none", bs, err)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		ix := newIndex(t)
		mustBucket(t, ix, "b")
		zeroed, err := ix.DeleteBucket(t.Context(), "b")
		if err != nil || len(zeroed) != 0 {
			t.Fatalf("DeleteBucket = %v, %v", zeroed, err)
		}
		_, err = ix.GetBucket(t.Context(), "b")
		wantErr(t, "GetBucket after delete", err, index.ErrBucketNotFound)
		// The name is free again.
		mustBucket(t, ix, "b")
	})
	t.Run("DeleteMissing", func(t *testing.T) {
		ix := newIndex(t)
		_, err := ix.DeleteBucket(t.Context(), "nope")
		wantErr(t, "DeleteBucket", err, index.ErrBucketNotFound)
	})
	t.Run("DeleteNotEmpty", func(t *testing.T) {
		ix := newIndex(t)
		s := newStore()
		mustBucket(t, ix, "b")
		put(t, ix, s, "b", "k", blob("x"))
		_, err := ix.DeleteBucket(t.Context(), "b")
		wantErr(t, "DeleteBucket", err, index.ErrBucketNotEmpty)
		wantErr(t, "DeleteBucket", err, index.ErrConflict)
		if _, err := ix.GetObject(t.Context(), "b", "k"); err != nil {
			t.Errorf("object lost after refused delete: %v", err)
		}
		if _, err := ix.DeleteObject(t.Context(), "b", "k"); err != nil {
			t.Fatal(err)
		}
		if _, err := ix.DeleteBucket(t.Context(), "b"); err != nil {
			t.Errorf("DeleteBucket once empty: %v", err)
		}
	})
	t.Run("DeleteAbortsUploads", func(t *testing.T) {
		ix := newIndex(t)
		s := newStore()
		mustBucket(t, ix, "b")
		mustBucket(t, ix, "other")
		mustUpload(t, ix, index.Upload{ID: "u1", Bucket: "b", Key: "k"})
		mustUpload(t, ix, index.Upload{ID: "u2", Bucket: "b", Key: "k2"})
		mustUpload(t, ix, index.Upload{ID: "u3", Bucket: "other", Key: "k"})
		putPart(t, ix, s, "u1", 1, blob("p1"))
		putPart(t, ix, s, "u1", 2, blob("shared"))
		putPart(t, ix, s, "u2", 1, blob("shared"))
		putPart(t, ix, s, "u3", 1, blob("p3"))
		zeroed, err := ix.DeleteBucket(t.Context(), "b")
		if err != nil {
			t.Fatal(err)
		}
		wantZeroed(t, "DeleteBucket", zeroed, blob("p1"), blob("shared"))
		for _, id := range []string{"u1", "u2"} {
			_, err := ix.GetUpload(t.Context(), id)
			wantErr(t, "GetUpload "+id, err, index.ErrUploadNotFound)
		}
		if _, err := ix.GetUpload(t.Context(), "u3"); err != nil {
			t.Errorf("other bucket's upload: %v", err)
		}
		wantRefs(t, ix, blob("p3"), 1)
		wantRefs(t, ix, blob("shared"), 0)
	})
}
