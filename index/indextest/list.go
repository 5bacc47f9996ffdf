package indextest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"dewar/index"
)

// maxRune is the greatest code point, the edge of every key range.
const maxRune = "\U0010FFFF"

// page is a listing reduced to what the tests compare.
type page struct {
	Keys      []string
	Prefixes  []string
	Truncated bool
	Next      string
}

func (p page) String() string {
	return fmt.Sprintf("{keys %q prefixes %q truncated %v next %q}", p.Keys, p.Prefixes, p.Truncated, p.Next)
}

func list(t *testing.T, ix index.Index, bucket string, o index.ListOptions) page {
	t.Helper()
	lp, err := ix.ListObjects(t.Context(), bucket, o)
	if err != nil {
		t.Fatalf("ListObjects(%+v): %v", o, err)
	}
	p := page{Prefixes: lp.CommonPrefixes, Truncated: lp.Truncated, Next: lp.Next}
	for _, obj := range lp.Objects {
		if obj.Bucket != bucket {
			t.Errorf("listed object of bucket %q in %q", obj.Bucket, bucket)
		}
		p.Keys = append(p.Keys, obj.Key)
	}
	return p
}

// rollup is S3's common prefix of key, if it has one.
func rollup(key, prefix, delim string) (string, bool) {
	if delim == "" || !strings.HasPrefix(key, prefix) {
		return "", false
	}
	i := strings.Index(key[len(prefix):], delim)
	if i < 0 {
		return "", false
	}
	return key[:len(prefix)+i+len(delim)], true
}

// model lists keys (sorted, unique) in memory: the expected answer.
func model(keys []string, o index.ListOptions) page {
	type entry struct {
		s  string
		cp bool
	}
	var es []entry
	cp, ok := rollup(o.After, o.Prefix, o.Delimiter)
	afterCP := ok && cp == o.After
	for _, k := range keys {
		if !strings.HasPrefix(k, o.Prefix) || k <= o.After || afterCP && strings.HasPrefix(k, o.After) {
			continue
		}
		if cp, ok := rollup(k, o.Prefix, o.Delimiter); ok {
			if n := len(es); n == 0 || es[n-1] != (entry{cp, true}) {
				es = append(es, entry{cp, true})
			}
			continue
		}
		es = append(es, entry{k, false})
	}
	var p page
	if o.Limit <= 0 {
		return p
	}
	if len(es) > o.Limit {
		es = es[:o.Limit]
		p.Truncated, p.Next = true, es[o.Limit-1].s
	}
	for _, e := range es {
		if e.cp {
			p.Prefixes = append(p.Prefixes, e.s)
		} else {
			p.Keys = append(p.Keys, e.s)
		}
	}
	return p
}

func samePage(a, b page) bool {
	return slices.Equal(a.Keys, b.Keys) && slices.Equal(a.Prefixes, b.Prefixes) && a.Truncated == b.Truncated && a.Next == b.Next
}

// listingKeys is the fixture most listing tests share.
var listingKeys = []string{
	"a", "a/", "a/b", "a/b/c", "a/c", "a0", "ab", "b", "b/x", "c//d", "dir/", "dir/file", "dir/sub/f",
	"k\x7f", "k\u0080", "k\U0010FFFF", "key with space", "plus+sign", "pct%20", "x::y", "x::z::w", "x:q",
	"é", "é/1", "日本/語",
}

func listingIndex(t *testing.T, newIndex NewIndex) (index.Index, []string) {
	ix := newIndex(t)
	mustBucket(t, ix, "b")
	mustBucket(t, ix, "neighbour")
	putAll(t, ix, newStore(), "b", listingKeys, blob("shared"))
	put(t, ix, newStore(), "neighbour", "a/zzz", blob("n"))
	return ix, slices.Sorted(slices.Values(listingKeys))
}

// RunListing checks ListObjects: S3 delimiter semantics, bytewise order,
// paging at every edge, and big buckets.
func RunListing(t *testing.T, newIndex NewIndex) {
	t.Run("ByteOrder", func(t *testing.T) {
		ix := newIndex(t)
		mustBucket(t, ix, "b")
		keys := []string{"é", "ab", "a0", "a/", "a", "a\x7f", "a\u0080", "a\U0010FFFF", "A", "a b", "a-b"}
		putAll(t, ix, newStore(), "b", keys, blob("x"))
		got := list(t, ix, "b", index.ListOptions{Limit: 100})
		want := []string{"A", "a", "a b", "a-b", "a/", "a0", "ab", "a\x7f", "a\u0080", "a\U0010FFFF", "é"}
		if !slices.Equal(got.Keys, want) || got.Truncated {
			t.Errorf("recursive listing = %v, want keys %q", got, want)
		}
	})
	t.Run("Cases", func(t *testing.T) {
		ix, keys := listingIndex(t, newIndex)
		tests := []struct {
			name string
			o    index.ListOptions
			want page
		}{
			{"limit 0", index.ListOptions{Limit: 0}, page{}},
			{"limit 1", index.ListOptions{Limit: 1}, page{Keys: []string{"a"}, Truncated: true, Next: "a"}},
			{"delimiter root", index.ListOptions{Delimiter: "/", Limit: 1000}, page{
				Keys:     []string{"a", "a0", "ab", "b", "key with space", "k\x7f", "k\u0080", "k\U0010FFFF", "pct%20", "plus+sign", "x::y", "x::z::w", "x:q", "é"},
				Prefixes: []string{"a/", "b/", "c/", "dir/", "é/", "日本/"}}},
			{"prefix and delimiter", index.ListOptions{Prefix: "a/", Delimiter: "/", Limit: 10}, page{
				Keys: []string{"a/", "a/b", "a/c"}, Prefixes: []string{"a/b/"}}},
			{"dir marker", index.ListOptions{Prefix: "dir/", Delimiter: "/", Limit: 10}, page{
				Keys: []string{"dir/", "dir/file"}, Prefixes: []string{"dir/sub/"}}},
			{"double delimiter", index.ListOptions{Prefix: "c/", Delimiter: "/", Limit: 10}, page{Prefixes: []string{"c//"}}},
			{"multibyte delimiter", index.ListOptions{Prefix: "x", Delimiter: "::", Limit: 10}, page{
				Keys: []string{"x:q"}, Prefixes: []string{"x::"}}},
			{"unicode delimiter", index.ListOptions{Delimiter: "本", Limit: 100}, page{
				Keys: keys[:len(keys)-1], Prefixes: []string{"日本"}}},
			{"after a common prefix", index.ListOptions{Delimiter: "/", After: "a/", Limit: 2}, page{
				Keys: []string{"a0", "ab"}, Truncated: true, Next: "ab"}},
			{"after a key under a prefix", index.ListOptions{Delimiter: "/", After: "a/b", Limit: 2}, page{
				Keys: []string{"a0"}, Prefixes: []string{"a/"}, Truncated: true, Next: "a0"}},
			{"exact limit", index.ListOptions{Prefix: "x", Limit: 3}, page{Keys: []string{"x::y", "x::z::w", "x:q"}}},
			{"limit over", index.ListOptions{Prefix: "x", Limit: 4}, page{Keys: []string{"x::y", "x::z::w", "x:q"}}},
			{"limit one under", index.ListOptions{Prefix: "x", Limit: 2}, page{Keys: []string{"x::y", "x::z::w"}, Truncated: true, Next: "x::z::w"}},
			{"exact limit ending in prefix", index.ListOptions{Prefix: "dir/", Delimiter: "/", Limit: 3}, page{
				Keys: []string{"dir/", "dir/file"}, Prefixes: []string{"dir/sub/"}}},
			{"trailing bytes", index.ListOptions{Prefix: "k", Limit: 10}, page{
				Keys: []string{"key with space", "k\x7f", "k\u0080", "k\U0010FFFF"}}},
			{"prefix of max rune", index.ListOptions{Prefix: "k\U0010FFFF", Limit: 10}, page{Keys: []string{"k\U0010FFFF"}}},
			{"after everything", index.ListOptions{After: maxRune, Limit: 10}, page{}},
			{"after last key", index.ListOptions{After: "日本/語", Limit: 10}, page{}},
			{"after before prefix", index.ListOptions{Prefix: "x", After: "b", Limit: 1}, page{Keys: []string{"x::y"}, Truncated: true, Next: "x::y"}},
			{"after past prefix", index.ListOptions{Prefix: "a", After: "b", Limit: 10}, page{}},
			{"no match", index.ListOptions{Prefix: "q", Delimiter: "/", Limit: 10}, page{}},
			{"special characters in prefix", index.ListOptions{Prefix: "pct%", Limit: 10}, page{Keys: []string{"pct%20"}}},
			{"pattern characters are literal", index.ListOptions{Prefix: "_", Limit: 10}, page{}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got := list(t, ix, "b", tc.o)
				if !samePage(got, tc.want) {
					t.Errorf("ListObjects(%+v) = %v\nwant %v", tc.o, got, tc.want)
				}
				if m := model(keys, tc.o); !samePage(m, tc.want) {
					t.Errorf("suite bug: model gives %v", m)
				}
			})
		}
	})
	t.Run("AgainstModel", func(t *testing.T) {
		ix, keys := listingIndex(t, newIndex)
		prefixes := []string{"", "a", "a/", "d", "dir/", "k", "x", "x::", "é", "日", "zz"}
		delims := []string{"", "/", "::", "é", "本"}
		afters := []string{"", "a/", "a/b", "a0", "dir/", "dir/sub/", "k\x7f", "x::", "é/", "zzz", maxRune}
		for _, prefix := range prefixes {
			for _, delim := range delims {
				for _, after := range afters {
					for _, limit := range []int{1, 2, 3, 100} {
						o := index.ListOptions{Prefix: prefix, Delimiter: delim, After: after, Limit: limit}
						if got, want := list(t, ix, "b", o), model(keys, o); !samePage(got, want) {
							t.Errorf("ListObjects(%+v) = %v\nwant %v", o, got, want)
						}
					}
				}
			}
		}
	})
	t.Run("PagesJoin", func(t *testing.T) {
		ix, keys := listingIndex(t, newIndex)
		for _, prefix := range []string{"", "a", "dir/", "x"} {
			for _, delim := range []string{"", "/", "::"} {
				for _, limit := range []int{1, 2, 5} {
					all := model(keys, index.ListOptions{Prefix: prefix, Delimiter: delim, Limit: 1 << 20})
					got := joinPages(t, ix, "b", index.ListOptions{Prefix: prefix, Delimiter: delim, Limit: limit})
					if !slices.Equal(got.Keys, all.Keys) || !slices.Equal(got.Prefixes, all.Prefixes) {
						t.Errorf("prefix %q delimiter %q limit %d: pages join to %v, want %v", prefix, delim, limit, got, all)
					}
				}
			}
		}
	})
	t.Run("MissingBucket", func(t *testing.T) {
		ix := newIndex(t)
		_, err := ix.ListObjects(t.Context(), "nope", index.ListOptions{Limit: 10})
		wantErr(t, "ListObjects", err, index.ErrBucketNotFound)
	})
	t.Run("EmptyBucket", func(t *testing.T) {
		ix := newIndex(t)
		mustBucket(t, ix, "b")
		if got := list(t, ix, "b", index.ListOptions{Delimiter: "/", Limit: 10}); !samePage(got, page{}) {
			t.Errorf("empty bucket lists %v", got)
		}
	})
	t.Run("ObjectsCarryTheirFields", func(t *testing.T) {
		ix := newIndex(t)
		s := newStore()
		mustBucket(t, ix, "b")
		want := fullObject("b", "k")
		if _, err := ix.PutObject(t.Context(), want, s.commit(want.Blob)); err != nil {
			t.Fatal(err)
		}
		lp, err := ix.ListObjects(t.Context(), "b", index.ListOptions{Limit: 10})
		if err != nil || len(lp.Objects) != 1 {
			t.Fatalf("ListObjects = %+v, %v", lp, err)
		}
		checkObject(t, "listed object", lp.Objects[0], want)
	})
	t.Run("MoreThan1000Keys", func(t *testing.T) {
		ix := newIndex(t)
		mustBucket(t, ix, "b")
		var keys []string
		for d := range 30 {
			for f := range 40 {
				keys = append(keys, fmt.Sprintf("d%02d/f%02d", d, f))
			}
		}
		keys = append(keys, "top")
		putAll(t, ix, newStore(), "b", keys, blob("big"))
		slices.Sort(keys)

		first := list(t, ix, "b", index.ListOptions{Limit: 1000})
		if len(first.Keys) != 1000 || !first.Truncated || first.Next != keys[999] {
			t.Fatalf("first page: %d keys, truncated %v, next %q", len(first.Keys), first.Truncated, first.Next)
		}
		second := list(t, ix, "b", index.ListOptions{After: first.Next, Limit: 1000})
		if second.Truncated || !slices.Equal(append(first.Keys, second.Keys...), keys) {
			t.Errorf("second page: %d keys, truncated %v; pages do not join to the bucket", len(second.Keys), second.Truncated)
		}
		for _, limit := range []int{7, 999, 1000, 1001} {
			if got := joinPages(t, ix, "b", index.ListOptions{Limit: limit}); !slices.Equal(got.Keys, keys) {
				t.Errorf("limit %d: pages join to %d keys, want %d", limit, len(got.Keys), len(keys))
			}
		}
		byDir := list(t, ix, "b", index.ListOptions{Delimiter: "/", Limit: 1000})
		if len(byDir.Prefixes) != 30 || !slices.Equal(byDir.Keys, []string{"top"}) || byDir.Truncated {
			t.Errorf("delimiter listing: %d prefixes, keys %q, truncated %v", len(byDir.Prefixes), byDir.Keys, byDir.Truncated)
		}
		if got := joinPages(t, ix, "b", index.ListOptions{Delimiter: "/", Limit: 4}); len(got.Prefixes) != 30 || len(got.Keys) != 1 {
			t.Errorf("delimiter pages join to %d prefixes and %d keys", len(got.Prefixes), len(got.Keys))
		}
		under := list(t, ix, "b", index.ListOptions{Prefix: "d17/", Delimiter: "/", Limit: 1000})
		if len(under.Keys) != 40 || under.Keys[0] != "d17/f00" || under.Truncated {
			t.Errorf("one directory: %d keys, truncated %v", len(under.Keys), under.Truncated)
		}
	})
}

// joinPages lists every page from o.After on, following Next.
func joinPages(t *testing.T, ix index.Index, bucket string, o index.ListOptions) page {
	t.Helper()
	var all page
	for range 10000 {
		p := list(t, ix, bucket, o)
		all.Keys = append(all.Keys, p.Keys...)
		all.Prefixes = append(all.Prefixes, p.Prefixes...)
		if !p.Truncated {
			if p.Next != "" {
				t.Errorf("untruncated page has Next %q", p.Next)
			}
			return all
		}
		if p.Next == "" || p.Next <= o.After && o.After != "" {
			t.Fatalf("truncated page with Next %q after %q makes no progress", p.Next, o.After)
		}
		o.After = p.Next
	}
	t.Fatal("listing does not end")
	return all
}
