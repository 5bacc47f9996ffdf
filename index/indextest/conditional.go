package indextest

import (
	"errors"
	"testing"

	"dewar/index"
)

// runConditional checks S3 conditional writes: the condition is decided
// with the write, and a failed one changes nothing.
func runConditional(t *testing.T, newIndex NewIndex) {
	t.Run("PutObjectIfNoneMatch", func(t *testing.T) {
		ix := newIndex(t)
		s := newStore()
		mustBucket(t, ix, "b")
		o := index.Object{Bucket: "b", Key: "lock", Blob: blob("first"), Size: 1, ETag: "e1"}
		if _, err := ix.PutObjectIf(t.Context(), o, index.PutCondition{IfNoneMatch: true}, s.commit(o.Blob)); err != nil {
			t.Fatalf("create-only write of a new key: %v", err)
		}
		o2 := index.Object{Bucket: "b", Key: "lock", Blob: blob("second"), Size: 1, ETag: "e2"}
		_, err := ix.PutObjectIf(t.Context(), o2, index.PutCondition{IfNoneMatch: true}, s.commit(o2.Blob))
		if !errors.Is(err, index.ErrPreconditionFailed) {
			t.Fatalf("create-only write of an existing key: %v, want ErrPreconditionFailed", err)
		}
		if got, _ := ix.GetObject(t.Context(), "b", "lock"); got.ETag != "e1" {
			t.Fatalf("failed write changed the object: %+v", got)
		}
		if b, err := ix.GetBlob(t.Context(), blob("second")); err == nil && b.Refs != 0 {
			t.Fatalf("failed write pinned its blob: %+v", b)
		}
	})
	t.Run("PutObjectIfMatch", func(t *testing.T) {
		ix := newIndex(t)
		s := newStore()
		mustBucket(t, ix, "b")
		o := index.Object{Bucket: "b", Key: "k", Blob: blob("v1"), Size: 1, ETag: "e1"}
		if _, err := ix.PutObjectIf(t.Context(), o, index.PutCondition{IfMatch: "e1"}, s.commit(o.Blob)); !errors.Is(err, index.ErrPreconditionFailed) {
			t.Fatalf("If-Match on a missing key: %v, want ErrPreconditionFailed", err)
		}
		if _, err := ix.PutObject(t.Context(), o, s.commit(o.Blob)); err != nil {
			t.Fatal(err)
		}
		o2 := index.Object{Bucket: "b", Key: "k", Blob: blob("v2"), Size: 1, ETag: "e2"}
		if _, err := ix.PutObjectIf(t.Context(), o2, index.PutCondition{IfMatch: "other"}, s.commit(o2.Blob)); !errors.Is(err, index.ErrPreconditionFailed) {
			t.Fatalf("If-Match with a stale ETag: %v, want ErrPreconditionFailed", err)
		}
		if _, err := ix.PutObjectIf(t.Context(), o2, index.PutCondition{IfMatch: "e1"}, s.commit(o2.Blob)); err != nil {
			t.Fatalf("If-Match with the current ETag: %v", err)
		}
		if got, _ := ix.GetObject(t.Context(), "b", "k"); got.ETag != "e2" {
			t.Fatalf("compare-and-swap did not write: %+v", got)
		}
	})
	t.Run("CompleteUploadIfNoneMatch", func(t *testing.T) {
		ix := newIndex(t)
		s := newStore()
		mustBucket(t, ix, "b")
		existing := index.Object{Bucket: "b", Key: "k", Blob: blob("there"), Size: 1, ETag: "e0"}
		if _, err := ix.PutObject(t.Context(), existing, s.commit(existing.Blob)); err != nil {
			t.Fatal(err)
		}
		if err := ix.CreateUpload(t.Context(), index.Upload{ID: "u", Bucket: "b", Key: "k"}); err != nil {
			t.Fatal(err)
		}
		o := index.Object{Bucket: "b", Key: "k", Blob: blob("whole"), Size: 1, ETag: "e-1"}
		_, err := ix.CompleteUploadIf(t.Context(), "u", o, index.PutCondition{IfNoneMatch: true}, s.commit(o.Blob))
		if !errors.Is(err, index.ErrPreconditionFailed) {
			t.Fatalf("create-only completion over an existing key: %v", err)
		}
		if _, err := ix.GetUpload(t.Context(), "u"); err != nil {
			t.Fatalf("a failed conditional completion lost the upload: %v", err)
		}
		if got, _ := ix.GetObject(t.Context(), "b", "k"); got.ETag != "e0" {
			t.Fatalf("failed completion changed the object: %+v", got)
		}
	})
}
