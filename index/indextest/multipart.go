package indextest

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"dewar/cas"
	"dewar/index"
)

func mustUpload(t *testing.T, ix index.Index, u index.Upload) {
	t.Helper()
	if u.Owner == "" {
		u.Owner = "owner"
	}
	if err := ix.CreateUpload(t.Context(), u); err != nil {
		t.Fatalf("CreateUpload(%q): %v", u.ID, err)
	}
}

func putPart(t *testing.T, ix index.Index, s *store, upload string, n int, ref cas.Ref) []cas.Ref {
	t.Helper()
	z, err := ix.PutPart(t.Context(), index.Part{
		UploadID: upload, Number: n, Blob: ref, Size: int64(1000 + n), ETag: fmt.Sprintf("etag%d", n),
	}, s.commit(ref))
	if err != nil {
		t.Fatalf("PutPart(%q, %d): %v", upload, n, err)
	}
	return z
}

// RunMultipart checks index.Multipart.
func RunMultipart(t *testing.T, newIndex NewIndex) {
	t.Run("CreateGet", func(t *testing.T) {
		ix := newIndex(t)
		mustBucket(t, ix, "b")
		want := index.Upload{ID: "upload-1", Bucket: "b", Key: "dir/kit é.zip", Initiated: t0, Owner: "AKIDALICE",
			Meta: fullObject("b", "k").Meta}
		if err := ix.CreateUpload(t.Context(), want); err != nil {
			t.Fatal(err)
		}
		got, err := ix.GetUpload(t.Context(), "upload-1")
		if err != nil {
			t.Fatal(err)
		}
		if !sameTime(got.Initiated, want.Initiated) {
			t.Errorf("Initiated = %v, want %v", got.Initiated, want.Initiated)
		}
		got.Initiated = want.Initiated
		if !reflect.DeepEqual(got, want) {
			t.Errorf("GetUpload = %+v\nwant %+v", got, want)
		}
	})
	t.Run("CreateMissingBucket", func(t *testing.T) {
		ix := newIndex(t)
		err := ix.CreateUpload(t.Context(), index.Upload{ID: "u", Bucket: "nope", Key: "k"})
		wantErr(t, "CreateUpload", err, index.ErrBucketNotFound)
	})
	t.Run("CreateDuplicateID", func(t *testing.T) {
		ix := newIndex(t)
		mustBucket(t, ix, "b")
		mustUpload(t, ix, index.Upload{ID: "u", Bucket: "b", Key: "k"})
		err := ix.CreateUpload(t.Context(), index.Upload{ID: "u", Bucket: "b", Key: "other"})
		wantErr(t, "second CreateUpload", err, index.ErrConflict)
	})
	t.Run("GetUnknown", func(t *testing.T) {
		ix := newIndex(t)
		_, err := ix.GetUpload(t.Context(), "nope")
		wantErr(t, "GetUpload", err, index.ErrUploadNotFound)
		wantErr(t, "GetUpload", err, index.ErrNotFound)
	})
	t.Run("PutPartUnknownUpload", func(t *testing.T) {
		ix := newIndex(t)
		s := newStore()
		_, err := ix.PutPart(t.Context(), index.Part{UploadID: "nope", Number: 1, Blob: blob("p")}, s.commit(blob("p")))
		wantErr(t, "PutPart", err, index.ErrUploadNotFound)
		wantRefs(t, ix, blob("p"), 0)
	})
	t.Run("PartsRoundTrip", func(t *testing.T) {
		ix := newIndex(t)
		s := newStore()
		mustBucket(t, ix, "b")
		mustUpload(t, ix, index.Upload{ID: "u", Bucket: "b", Key: "k"})
		want := index.Part{UploadID: "u", Number: 7, Blob: blob("p7"), Size: 5 << 20, ETag: "0123456789abcdef0123456789abcdef",
			Checksums: map[string]string{"CRC32": "AAAAAA==", "SHA1": "2jmj7l5rSw0yVb/vlWAYkK/YBwk="}, LastModified: t0}
		if _, err := ix.PutPart(t.Context(), want, s.commit(want.Blob)); err != nil {
			t.Fatal(err)
		}
		parts, truncated, err := ix.ListParts(t.Context(), "u", 0, 10)
		if err != nil || truncated || len(parts) != 1 {
			t.Fatalf("ListParts = %+v, %v, %v", parts, truncated, err)
		}
		got := parts[0]
		if !sameTime(got.LastModified, want.LastModified) {
			t.Errorf("LastModified = %v, want %v", got.LastModified, want.LastModified)
		}
		got.LastModified = want.LastModified
		if !reflect.DeepEqual(got, want) {
			t.Errorf("part = %+v\nwant %+v", got, want)
		}
		if !s.has(want.Blob) {
			t.Error("PutPart did not run its commit")
		}
	})
	t.Run("ReplacePart", func(t *testing.T) {
		ix := newIndex(t)
		s := newStore()
		mustBucket(t, ix, "b")
		mustUpload(t, ix, index.Upload{ID: "u", Bucket: "b", Key: "k"})
		putPart(t, ix, s, "u", 1, blob("first"))
		putPart(t, ix, s, "u", 2, blob("first"))
		wantRefs(t, ix, blob("first"), 2)
		if z := putPart(t, ix, s, "u", 1, blob("second")); len(z) != 0 {
			t.Errorf("replacing a part whose blob another part holds zeroed %v", z)
		}
		z := putPart(t, ix, s, "u", 2, blob("second"))
		wantZeroed(t, "replace part 2", z, blob("first"))
		if z := putPart(t, ix, s, "u", 2, blob("second")); len(z) != 0 {
			t.Errorf("putting the same part again zeroed %v", z)
		}
		wantRefs(t, ix, blob("second"), 2)
		parts, _, err := ix.ListParts(t.Context(), "u", 0, 10)
		if err != nil || len(parts) != 2 || parts[0].Blob != blob("second") || parts[1].Blob != blob("second") {
			t.Errorf("ListParts = %+v, %v", parts, err)
		}
	})
	t.Run("PartNumberBelowOne", func(t *testing.T) {
		ix := newIndex(t)
		s := newStore()
		mustBucket(t, ix, "b")
		mustUpload(t, ix, index.Upload{ID: "u", Bucket: "b", Key: "k"})
		if _, err := ix.PutPart(t.Context(), index.Part{UploadID: "u", Number: 0, Blob: blob("p")}, s.commit(blob("p"))); err == nil {
			t.Error("PutPart accepted part number 0")
		}
		wantRefs(t, ix, blob("p"), 0)
	})
	t.Run("ListPartsPaging", func(t *testing.T) {
		ix := newIndex(t)
		s := newStore()
		mustBucket(t, ix, "b")
		mustUpload(t, ix, index.Upload{ID: "u", Bucket: "b", Key: "k"})
		mustUpload(t, ix, index.Upload{ID: "other", Bucket: "b", Key: "k"})
		for n := 25; n >= 1; n-- {
			putPart(t, ix, s, "u", n, blob(fmt.Sprint("part", n)))
		}
		putPart(t, ix, s, "other", 3, blob("x"))
		tests := []struct {
			after, limit int
			first, n     int
			truncated    bool
		}{
			{0, 10, 1, 10, true},
			{10, 10, 11, 10, true},
			{20, 10, 21, 5, false},
			{20, 5, 21, 5, false},
			{19, 5, 20, 5, true},
			{0, 25, 1, 25, false},
			{0, 1000, 1, 25, false},
			{25, 10, 0, 0, false},
			{0, 0, 0, 0, false},
		}
		for _, tc := range tests {
			parts, truncated, err := ix.ListParts(t.Context(), "u", tc.after, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			ok := len(parts) == tc.n && truncated == tc.truncated
			for i, p := range parts {
				ok = ok && p.Number == tc.first+i && p.UploadID == "u" && p.Blob == blob(fmt.Sprint("part", p.Number))
			}
			if !ok {
				t.Errorf("ListParts(after %d, limit %d) = %d parts from %v, truncated %v; want %d from %d, %v",
					tc.after, tc.limit, len(parts), parts, truncated, tc.n, tc.first, tc.truncated)
			}
		}
		_, _, err := ix.ListParts(t.Context(), "nope", 0, 10)
		wantErr(t, "ListParts unknown upload", err, index.ErrUploadNotFound)
	})
	t.Run("ListUploads", func(t *testing.T) { testListUploads(t, newIndex) })
	t.Run("Complete", func(t *testing.T) {
		ix := newIndex(t)
		s := newStore()
		mustBucket(t, ix, "b")
		meta := fullObject("b", "k").Meta
		mustUpload(t, ix, index.Upload{ID: "u", Bucket: "b", Key: "k", Meta: meta})
		putPart(t, ix, s, "u", 1, blob("p1"))
		putPart(t, ix, s, "u", 2, blob("p2"))
		want := index.Object{Bucket: "b", Key: "k", Blob: blob("whole"), Size: 2003, ETag: "abc-2", Owner: "owner", LastModified: t0, Meta: meta}
		zeroed, err := ix.CompleteUpload(t.Context(), "u", want, s.commit(want.Blob))
		if err != nil {
			t.Fatal(err)
		}
		wantZeroed(t, "CompleteUpload", zeroed, blob("p1"), blob("p2"))
		got, err := ix.GetObject(t.Context(), "b", "k")
		if err != nil {
			t.Fatal(err)
		}
		checkObject(t, "completed object", got, want)
		_, err = ix.GetUpload(t.Context(), "u")
		wantErr(t, "GetUpload after complete", err, index.ErrUploadNotFound)
		_, _, err = ix.ListParts(t.Context(), "u", 0, 10)
		wantErr(t, "ListParts after complete", err, index.ErrUploadNotFound)
		wantRefs(t, ix, blob("whole"), 1)
		wantRefs(t, ix, blob("p1"), 0)
		if !s.has(blob("whole")) {
			t.Error("CompleteUpload did not run its commit")
		}
		_, err = ix.CompleteUpload(t.Context(), "u", want, s.commit(want.Blob))
		wantErr(t, "second CompleteUpload", err, index.ErrUploadNotFound)
		wantRefs(t, ix, blob("whole"), 1)
	})
	t.Run("CompleteSharesPartBlob", func(t *testing.T) {
		ix := newIndex(t)
		s := newStore()
		mustBucket(t, ix, "b")
		mustUpload(t, ix, index.Upload{ID: "u", Bucket: "b", Key: "k"})
		putPart(t, ix, s, "u", 1, blob("only"))
		putPart(t, ix, s, "u", 2, blob("dropped"))
		// The object's blob is pinned by a part: a nil commit is allowed.
		zeroed, err := ix.CompleteUpload(t.Context(), "u", index.Object{Bucket: "b", Key: "k", Blob: blob("only"), Size: 1001}, nil)
		if err != nil {
			t.Fatal(err)
		}
		wantZeroed(t, "CompleteUpload", zeroed, blob("dropped"))
		wantRefs(t, ix, blob("only"), 1)
	})
	t.Run("CompleteReplacesObject", func(t *testing.T) {
		ix := newIndex(t)
		s := newStore()
		mustBucket(t, ix, "b")
		put(t, ix, s, "b", "k", blob("old"))
		mustUpload(t, ix, index.Upload{ID: "u", Bucket: "b", Key: "k"})
		putPart(t, ix, s, "u", 1, blob("p1"))
		zeroed, err := ix.CompleteUpload(t.Context(), "u", index.Object{Bucket: "b", Key: "k", Blob: blob("new")}, s.commit(blob("new")))
		if err != nil {
			t.Fatal(err)
		}
		wantZeroed(t, "CompleteUpload", zeroed, blob("old"), blob("p1"))
	})
	t.Run("CompleteCommitError", func(t *testing.T) {
		ix := newIndex(t)
		s := newStore()
		mustBucket(t, ix, "b")
		mustUpload(t, ix, index.Upload{ID: "u", Bucket: "b", Key: "k"})
		putPart(t, ix, s, "u", 1, blob("p1"))
		_, err := ix.CompleteUpload(t.Context(), "u", index.Object{Bucket: "b", Key: "k", Blob: blob("whole")}, failCommit(errBoom))
		wantErr(t, "CompleteUpload", err, errBoom)
		if _, err := ix.GetUpload(t.Context(), "u"); err != nil {
			t.Errorf("upload lost by a failed complete: %v", err)
		}
		if parts, _, err := ix.ListParts(t.Context(), "u", 0, 10); err != nil || len(parts) != 1 {
			t.Errorf("parts after failed complete: %v, %v", parts, err)
		}
		_, err = ix.GetObject(t.Context(), "b", "k")
		wantErr(t, "GetObject after failed complete", err, index.ErrObjectNotFound)
		wantRefs(t, ix, blob("p1"), 1)
		wantRefs(t, ix, blob("whole"), 0)
	})
	t.Run("CompleteWrongKey", func(t *testing.T) {
		ix := newIndex(t)
		s := newStore()
		mustBucket(t, ix, "b")
		mustUpload(t, ix, index.Upload{ID: "u", Bucket: "b", Key: "k"})
		if _, err := ix.CompleteUpload(t.Context(), "u", index.Object{Bucket: "b", Key: "other", Blob: blob("w")}, s.commit(blob("w"))); err == nil {
			t.Error("CompleteUpload accepted an object under another key")
		}
		if _, err := ix.GetUpload(t.Context(), "u"); err != nil {
			t.Errorf("upload lost: %v", err)
		}
	})
	t.Run("Abort", func(t *testing.T) {
		ix := newIndex(t)
		s := newStore()
		mustBucket(t, ix, "b")
		put(t, ix, s, "b", "k", blob("kept"))
		mustUpload(t, ix, index.Upload{ID: "u", Bucket: "b", Key: "k"})
		putPart(t, ix, s, "u", 1, blob("p1"))
		putPart(t, ix, s, "u", 2, blob("p1"))
		putPart(t, ix, s, "u", 3, blob("kept"))
		zeroed, err := ix.AbortUpload(t.Context(), "u")
		if err != nil {
			t.Fatal(err)
		}
		wantZeroed(t, "AbortUpload", zeroed, blob("p1"))
		wantRefs(t, ix, blob("kept"), 1)
		_, err = ix.GetUpload(t.Context(), "u")
		wantErr(t, "GetUpload after abort", err, index.ErrUploadNotFound)
		_, err = ix.AbortUpload(t.Context(), "u")
		wantErr(t, "second AbortUpload", err, index.ErrUploadNotFound)
		_, err = ix.PutPart(t.Context(), index.Part{UploadID: "u", Number: 4, Blob: blob("late")}, s.commit(blob("late")))
		wantErr(t, "PutPart after abort", err, index.ErrUploadNotFound)
	})
}

// uploadFixture: several uploads per key, ties on the initiation time.
var uploadFixture = []index.Upload{
	{ID: "a-1", Key: "a", Initiated: t0.Add(2 * time.Second)},
	{ID: "a-2", Key: "a", Initiated: t0.Add(time.Second)},
	{ID: "a-3", Key: "a", Initiated: t0.Add(time.Second)},
	{ID: "d-1", Key: "dir/x", Initiated: t0},
	{ID: "d-2", Key: "dir/y", Initiated: t0},
	{ID: "d-3", Key: "dir/sub/z", Initiated: t0},
	{ID: "z-1", Key: "z", Initiated: t0},
	{ID: "e-1", Key: "é", Initiated: t0},
}

// uploadOrder is uploadFixture in ListUploads order.
var uploadOrder = []string{"a-2", "a-3", "a-1", "d-3", "d-1", "d-2", "z-1", "e-1"}

// upage is an upload listing reduced to ids ("cp:" + prefix for prefixes).
type upage struct {
	Entries             []string
	Truncated           bool
	NextKey, NextUpload string
}

func listUploads(t *testing.T, ix index.Index, o index.UploadListOptions) upage {
	t.Helper()
	p, err := ix.ListUploads(t.Context(), "b", o)
	if err != nil {
		t.Fatalf("ListUploads(%+v): %v", o, err)
	}
	// Interleave by key as S3 shows them.
	var ids []string
	us, cps := p.Uploads, p.CommonPrefixes
	for len(us) > 0 || len(cps) > 0 {
		if len(cps) == 0 || len(us) > 0 && us[0].Key < cps[0] {
			if us[0].Bucket != "b" {
				t.Errorf("upload %q of bucket %q listed", us[0].ID, us[0].Bucket)
			}
			ids = append(ids, us[0].ID)
			us = us[1:]
			continue
		}
		ids = append(ids, "cp:"+cps[0])
		cps = cps[1:]
	}
	return upage{ids, p.Truncated, p.NextKeyMarker, p.NextUploadIDMarker}
}

func testListUploads(t *testing.T, newIndex NewIndex) {
	ix := newIndex(t)
	mustBucket(t, ix, "b")
	mustBucket(t, ix, "other")
	for _, u := range uploadFixture {
		u.Bucket = "b"
		mustUpload(t, ix, u)
	}
	mustUpload(t, ix, index.Upload{ID: "o-1", Bucket: "other", Key: "a"})

	tests := []struct {
		name string
		o    index.UploadListOptions
		want upage
	}{
		{"all", index.UploadListOptions{Limit: 100}, upage{Entries: uploadOrder}},
		{"limit 0", index.UploadListOptions{Limit: 0}, upage{}},
		{"exact limit", index.UploadListOptions{Limit: 8}, upage{Entries: uploadOrder}},
		{"limit inside a key", index.UploadListOptions{Limit: 2}, upage{Entries: []string{"a-2", "a-3"}, Truncated: true, NextKey: "a", NextUpload: "a-3"}},
		{"limit at a key's end", index.UploadListOptions{Limit: 3}, upage{Entries: []string{"a-2", "a-3", "a-1"}, Truncated: true, NextKey: "a", NextUpload: "a-1"}},
		{"key marker", index.UploadListOptions{KeyMarker: "a", Limit: 100}, upage{Entries: uploadOrder[3:]}},
		{"key and upload marker", index.UploadListOptions{KeyMarker: "a", UploadIDMarker: "a-3", Limit: 100}, upage{Entries: uploadOrder[2:]}},
		{"upload marker at a key's end", index.UploadListOptions{KeyMarker: "a", UploadIDMarker: "a-1", Limit: 1}, upage{Entries: []string{"d-3"}, Truncated: true, NextKey: "dir/sub/z", NextUpload: "d-3"}},
		{"gone upload marker", index.UploadListOptions{KeyMarker: "a", UploadIDMarker: "a-25", Limit: 100}, upage{Entries: append([]string{"a-3"}, uploadOrder[3:]...)}},
		{"prefix", index.UploadListOptions{Prefix: "dir/", Limit: 100}, upage{Entries: []string{"d-3", "d-1", "d-2"}}},
		{"delimiter", index.UploadListOptions{Delimiter: "/", Limit: 100}, upage{Entries: []string{"a-2", "a-3", "a-1", "cp:dir/", "z-1", "e-1"}}},
		{"delimiter paged", index.UploadListOptions{Delimiter: "/", Limit: 4}, upage{Entries: []string{"a-2", "a-3", "a-1", "cp:dir/"}, Truncated: true, NextKey: "dir/"}},
		{"after a common prefix", index.UploadListOptions{Delimiter: "/", KeyMarker: "dir/", Limit: 100}, upage{Entries: []string{"z-1", "e-1"}}},
		{"prefix and delimiter", index.UploadListOptions{Prefix: "dir/", Delimiter: "/", Limit: 100}, upage{Entries: []string{"cp:dir/sub/", "d-1", "d-2"}}},
		{"no match", index.UploadListOptions{Prefix: "q", Limit: 100}, upage{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := listUploads(t, ix, tc.o); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ListUploads(%+v) = %+v\nwant %+v", tc.o, got, tc.want)
			}
		})
	}
	t.Run("PagesJoin", func(t *testing.T) {
		for _, delim := range []string{"", "/"} {
			for _, limit := range []int{1, 2, 3, 5} {
				o := index.UploadListOptions{Delimiter: delim, Limit: limit}
				var all []string
				for range 100 {
					p := listUploads(t, ix, o)
					all = append(all, p.Entries...)
					if !p.Truncated {
						break
					}
					o.KeyMarker, o.UploadIDMarker = p.NextKey, p.NextUpload
				}
				want := uploadOrder
				if delim == "/" {
					want = []string{"a-2", "a-3", "a-1", "cp:dir/", "z-1", "e-1"}
				}
				if !slices.Equal(all, want) {
					t.Errorf("delimiter %q limit %d: pages join to %q, want %q", delim, limit, all, want)
				}
			}
		}
	})
	t.Run("MissingBucket", func(t *testing.T) {
		_, err := ix.ListUploads(t.Context(), "nope", index.UploadListOptions{Limit: 10})
		wantErr(t, "ListUploads", err, index.ErrBucketNotFound)
	})
	t.Run("CompletedUploadsLeave", func(t *testing.T) {
		ix := newIndex(t)
		s := newStore()
		mustBucket(t, ix, "b")
		mustUpload(t, ix, index.Upload{ID: "u1", Bucket: "b", Key: "k"})
		mustUpload(t, ix, index.Upload{ID: "u2", Bucket: "b", Key: "k"})
		if _, err := ix.CompleteUpload(t.Context(), "u1", index.Object{Bucket: "b", Key: "k", Blob: blob("w")}, s.commit(blob("w"))); err != nil {
			t.Fatal(err)
		}
		if got := listUploads(t, ix, index.UploadListOptions{Limit: 10}); !slices.Equal(got.Entries, []string{"u2"}) {
			t.Errorf("after completing u1: %q", got.Entries)
		}
	})
}
