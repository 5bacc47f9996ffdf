package indextest

import (
	"reflect"
	"testing"
	"time"

	"dewar/index"
)

// fullObject has every field set, user metadata in several scripts.
func fullObject(bucket, key string) index.Object {
	return index.Object{
		Bucket:       bucket,
		Key:          key,
		Blob:         blob("full"),
		Size:         123456789012,
		ETag:         "d41d8cd98f00b204e9800998ecf8427e-3",
		LastModified: t0,
		Owner:        "AKIDALICE",
		Meta: index.ObjectMeta{
			ContentType:        "text/html; charset=utf-8",
			ContentEncoding:    "gzip",
			ContentDisposition: `attachment; filename="kit.zip"`,
			ContentLanguage:    "de-CH",
			CacheControl:       "no-store",
			Expires:            "Wed, 21 Oct 2026 07:28:00 GMT",
			User: map[string]string{
				"notes":        "Grüße, 日本語, emoji 🎣, quote \" and \\ backslash",
				"collected-at": "2026-01-02T03:04:05Z",
				"empty":        "",
			},
			Checksums:         map[string]string{"CRC32C": "yZRlqg==-3", "SHA256": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="},
			ChecksumType:      "COMPOSITE",
			ChecksumAlgorithm: "CRC32C",
			Parts:             3,
			PartSizes:         []int64{5 << 20, 5 << 20, 17},
		},
	}
}

func checkObject(t *testing.T, what string, got, want index.Object) {
	t.Helper()
	lm := got.LastModified
	got.LastModified, want.LastModified = time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
	if !sameTime(lm, want.LastModified) && !want.LastModified.IsZero() {
		t.Errorf("%s: LastModified = %v, want %v", what, lm, want.LastModified)
	}
}

// RunObjects checks index.Objects apart from listing (RunListing) and the
// reference counts (RunBlobs).
func RunObjects(t *testing.T, newIndex NewIndex) {
	runConditional(t, newIndex)
	t.Run("PutGetRoundTrip", func(t *testing.T) {
		ix := newIndex(t)
		s := newStore()
		mustBucket(t, ix, "b")
		want := fullObject("b", "dir/sub dir/kit (1).zip")
		zeroed, err := ix.PutObject(t.Context(), want, s.commit(want.Blob))
		if err != nil || len(zeroed) != 0 {
			t.Fatalf("PutObject = %v, %v", zeroed, err)
		}
		got, err := ix.GetObject(t.Context(), "b", want.Key)
		if err != nil {
			t.Fatal(err)
		}
		lm := got.LastModified
		got.LastModified = want.LastModified
		checkObject(t, "GetObject", got, want)
		if !sameTime(lm, want.LastModified) || lm.Location() != time.UTC {
			t.Errorf("LastModified = %v, want %v in UTC", lm, want.LastModified)
		}
		if s.committed(want.Blob) != 1 {
			t.Errorf("commit ran %d times, want 1", s.committed(want.Blob))
		}
	})
	t.Run("EmptyMetaRoundTrip", func(t *testing.T) {
		ix := newIndex(t)
		s := newStore()
		mustBucket(t, ix, "b")
		want := index.Object{Bucket: "b", Key: "k", Blob: blob("x"), Size: 0, LastModified: t0}
		if _, err := ix.PutObject(t.Context(), want, s.commit(want.Blob)); err != nil {
			t.Fatal(err)
		}
		got, err := ix.GetObject(t.Context(), "b", "k")
		if err != nil {
			t.Fatal(err)
		}
		checkObject(t, "GetObject", got, want)
	})
	t.Run("LastModifiedDefaultsToNow", func(t *testing.T) {
		ix := newIndex(t)
		s := newStore()
		mustBucket(t, ix, "b")
		before := time.Now().Add(-time.Second)
		put(t, ix, s, "b", "k", blob("x"))
		got, err := ix.GetObject(t.Context(), "b", "k")
		if err != nil {
			t.Fatal(err)
		}
		if got.LastModified.Before(before) || got.LastModified.After(time.Now().Add(time.Second)) {
			t.Errorf("LastModified = %v, want about now", got.LastModified)
		}
	})
	t.Run("PutMissingBucket", func(t *testing.T) {
		ix := newIndex(t)
		s := newStore()
		_, err := ix.PutObject(t.Context(), index.Object{Bucket: "nope", Key: "k", Blob: blob("x")}, s.commit(blob("x")))
		wantErr(t, "PutObject", err, index.ErrBucketNotFound)
		wantRefs(t, ix, blob("x"), 0)
	})
	t.Run("Replace", func(t *testing.T) {
		ix := newIndex(t)
		s := newStore()
		mustBucket(t, ix, "b")
		put(t, ix, s, "b", "k", blob("old"))
		want := fullObject("b", "k")
		want.Blob = blob("new")
		zeroed, err := ix.PutObject(t.Context(), want, s.commit(want.Blob))
		if err != nil {
			t.Fatal(err)
		}
		wantZeroed(t, "replace", zeroed, blob("old"))
		got, err := ix.GetObject(t.Context(), "b", "k")
		if err != nil {
			t.Fatal(err)
		}
		checkObject(t, "after replace", got, want)
	})
	t.Run("GetMissing", func(t *testing.T) {
		ix := newIndex(t)
		mustBucket(t, ix, "b")
		_, err := ix.GetObject(t.Context(), "b", "nope")
		wantErr(t, "GetObject missing key", err, index.ErrObjectNotFound)
		_, err = ix.GetObject(t.Context(), "nope", "k")
		wantErr(t, "GetObject missing bucket", err, index.ErrBucketNotFound)
		wantErr(t, "GetObject missing bucket", err, index.ErrNotFound)
	})
	t.Run("Delete", func(t *testing.T) {
		ix := newIndex(t)
		s := newStore()
		mustBucket(t, ix, "b")
		put(t, ix, s, "b", "k", blob("x"))
		zeroed, err := ix.DeleteObject(t.Context(), "b", "k")
		if err != nil {
			t.Fatal(err)
		}
		wantZeroed(t, "DeleteObject", zeroed, blob("x"))
		_, err = ix.GetObject(t.Context(), "b", "k")
		wantErr(t, "GetObject after delete", err, index.ErrObjectNotFound)
		_, err = ix.DeleteObject(t.Context(), "b", "k")
		wantErr(t, "second DeleteObject", err, index.ErrObjectNotFound)
	})
	t.Run("DeleteMissingBucket", func(t *testing.T) {
		ix := newIndex(t)
		_, err := ix.DeleteObject(t.Context(), "nope", "k")
		wantErr(t, "DeleteObject", err, index.ErrBucketNotFound)
	})
	t.Run("BucketsAreSeparate", func(t *testing.T) {
		ix := newIndex(t)
		s := newStore()
		mustBucket(t, ix, "b1")
		mustBucket(t, ix, "b2")
		put(t, ix, s, "b1", "k", blob("one"))
		put(t, ix, s, "b2", "k", blob("two"))
		for b, want := range map[string]string{"b1": "one", "b2": "two"} {
			got, err := ix.GetObject(t.Context(), b, "k")
			if err != nil || got.Blob != blob(want) || got.Bucket != b {
				t.Errorf("GetObject(%q) = %+v, %v", b, got, err)
			}
		}
		if _, err := ix.DeleteObject(t.Context(), "b1", "k"); err != nil {
			t.Fatal(err)
		}
		if _, err := ix.GetObject(t.Context(), "b2", "k"); err != nil {
			t.Errorf("delete in b1 removed b2's key: %v", err)
		}
	})
	t.Run("OddKeys", func(t *testing.T) {
		ix := newIndex(t)
		s := newStore()
		mustBucket(t, ix, "b")
		keys := oddKeys()
		for _, k := range keys {
			put(t, ix, s, "b", k, blob(k))
		}
		for _, k := range keys {
			got, err := ix.GetObject(t.Context(), "b", k)
			if err != nil || got.Key != k || got.Blob != blob(k) {
				t.Errorf("GetObject(%q) = %q, %v", k, got.Key, err)
			}
		}
		// A key is matched exactly, not as a pattern or case-folded.
		for _, k := range []string{"pct%", "under_", "UPPER", "key with space "} {
			_, err := ix.GetObject(t.Context(), "b", k)
			wantErr(t, "GetObject("+k+")", err, index.ErrObjectNotFound)
		}
	})
}

// oddKeys are keys that trip naive escaping, collation or trimming.
func oddKeys() []string {
	return []string{
		"key with space", " leading", "trailing ", "plus+sign", "pct%20encoded", "pct%%", "under_score", "upper",
		"dir/", "dir/file", "a//double", "back\\slash", "quote'single", `quote"double`, "semi;colon", "?query#frag",
		"é", "e\u0301", "日本語/ファイル", "emoji 🎣", "k\x7f", "k\u0080", "k\U0010FFFF", "tab\tnewline\n", "\x01ctl",
	}
}
