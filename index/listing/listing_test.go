package listing

import (
	"context"
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"
)

// memSource serves sorted unique keys and counts its calls.
type memSource struct {
	keys  []string
	calls int
}

func newMem(keys ...string) *memSource {
	k := slices.Clone(keys)
	slices.Sort(k)
	return &memSource{keys: slices.Compact(k)}
}

func (m *memSource) src(_ context.Context, prefix, after string, limit int) ([]string, error) {
	m.calls++
	i := sort.SearchStrings(m.keys, after)
	if i < len(m.keys) && m.keys[i] == after {
		i++
	}
	if j := sort.SearchStrings(m.keys, prefix); j > i {
		i = j
	}
	var out []string
	for ; i < len(m.keys) && len(out) < limit && strings.HasPrefix(m.keys[i], prefix); i++ {
		out = append(out, m.keys[i])
	}
	return out, nil
}

func ident(s string) string { return s }

// naive lists all keys in memory: the specification List is checked against.
func naive(keys []string, prefix, delim, after string, limit int) Page[string] {
	type entry struct {
		s  string
		cp bool
	}
	var es []entry
	afterCP := false
	if cp, ok := CommonPrefix(after, prefix, delim); ok && cp == after {
		afterCP = true
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix) || k <= after || afterCP && strings.HasPrefix(k, after) {
			continue
		}
		if cp, ok := CommonPrefix(k, prefix, delim); ok {
			if n := len(es); n > 0 && es[n-1].cp && es[n-1].s == cp {
				continue
			}
			es = append(es, entry{cp, true})
			continue
		}
		es = append(es, entry{k, false})
	}
	var p Page[string]
	if limit <= 0 {
		return p
	}
	if len(es) > limit {
		p.Truncated, p.Next = true, es[limit-1].s
		es = es[:limit]
	}
	for _, e := range es {
		if e.cp {
			p.CommonPrefixes = append(p.CommonPrefixes, e.s)
		} else {
			p.Items = append(p.Items, e.s)
		}
	}
	return p
}

func TestList(t *testing.T) {
	keys := []string{
		"a", "a/", "a/b", "a/b/c", "a/c", "a0", "ab", "b", "b/x", "b/y", "c//d",
		"dir/", "dir/file", "x::y", "x::z::w", "x:q", "é", "é/1",
	}
	tests := []struct {
		name                 string
		prefix, delim, after string
		limit                int
		items, cps           []string
		truncated            bool
		next                 string
	}{
		{name: "recursive", limit: 100, items: keys},
		{name: "limit 0", limit: 0},
		{name: "negative limit", limit: -1},
		{name: "delimiter root", delim: "/", limit: 100,
			items: []string{"a", "a0", "ab", "b", "x::y", "x::z::w", "x:q", "é"},
			cps:   []string{"a/", "b/", "c/", "dir/", "é/"}},
		{name: "limit 1 cp", delim: "/", limit: 1, items: []string{"a"}, truncated: true, next: "a"},
		{name: "limit 2 cp", delim: "/", limit: 2, items: []string{"a"}, cps: []string{"a/"}, truncated: true, next: "a/"},
		{name: "after cp", delim: "/", after: "a/", limit: 2, items: []string{"a0", "ab"}, truncated: true, next: "ab"},
		{name: "after key under cp", delim: "/", after: "a/b", limit: 2, items: []string{"a0"}, cps: []string{"a/"}, truncated: true, next: "a0"},
		{name: "after last", delim: "/", after: "é/1", limit: 5},
		{name: "after past all", after: MaxRune, limit: 5},
		{name: "after below multibyte", after: "zzz", limit: 5, items: []string{"é", "é/1"}},
		{name: "after before prefix", prefix: "b", after: "a", limit: 5, items: []string{"b", "b/x", "b/y"}},
		{name: "prefix with delimiter", prefix: "a/", delim: "/", limit: 10, items: []string{"a/", "a/b", "a/c"}, cps: []string{"a/b/"}},
		{name: "prefix dir marker", prefix: "dir/", delim: "/", limit: 10, items: []string{"dir/", "dir/file"}},
		{name: "double delimiter", prefix: "c/", delim: "/", limit: 10, cps: []string{"c//"}},
		{name: "multibyte delimiter", prefix: "x", delim: "::", limit: 10, items: []string{"x:q"}, cps: []string{"x::"}},
		{name: "multibyte delimiter under prefix", prefix: "x::", delim: "::", limit: 10, items: []string{"x::y"}, cps: []string{"x::z::"}},
		{name: "unicode delimiter", delim: "é", limit: 3, items: []string{"a", "a/", "a/b"}, truncated: true, next: "a/b"},
		{name: "exact limit not truncated", prefix: "b", limit: 3, items: []string{"b", "b/x", "b/y"}},
		{name: "exact limit with cp not truncated", prefix: "b", delim: "/", limit: 2, items: []string{"b"}, cps: []string{"b/"}},
		{name: "prefix no match", prefix: "q", delim: "/", limit: 10},
		{name: "after cp skips its keys", delim: "/", after: "é/", limit: 10},
		{name: "after cp then more", delim: "/", after: "dir/", limit: 10, items: []string{"x::y", "x::z::w", "x:q", "é"}, cps: []string{"é/"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newMem(keys...)
			got, err := List(context.Background(), m.src, ident, tc.prefix, tc.delim, tc.after, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			want := Page[string]{Items: tc.items, CommonPrefixes: tc.cps, Truncated: tc.truncated, Next: tc.next}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
			if n := naive(m.keys, tc.prefix, tc.delim, tc.after, tc.limit); !reflect.DeepEqual(got, n) {
				t.Errorf("naive disagrees: %+v", n)
			}
			if tc.limit <= 0 && m.calls != 0 {
				t.Errorf("limit %d called the source %d times", tc.limit, m.calls)
			}
		})
	}
}

func TestListSkipsLargePrefixesCheaply(t *testing.T) {
	// 50 prefixes of 2000 keys each: every prefix is skipped by a seek,
	// not by reading its keys.
	var keys []string
	for p := range 50 {
		for k := range 2000 {
			keys = append(keys, string(rune('A'+p))+"/"+strings.Repeat("k", k%7)+string(rune('a'+k%26))+string(rune('0'+k/26%10))+string(rune('0'+k/260)))
		}
	}
	m := newMem(keys...)
	got, err := List(context.Background(), m.src, ident, "", "/", "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.CommonPrefixes) != 50 || got.Truncated {
		t.Fatalf("got %d prefixes, truncated %v", len(got.CommonPrefixes), got.Truncated)
	}
	if m.calls > 51 {
		t.Errorf("%d source calls for 50 prefixes", m.calls)
	}
}

func TestListFewCallsForSmallPrefixes(t *testing.T) {
	var keys []string
	for i := range 500 {
		keys = append(keys, string(rune(0x4e00+i))+"/x")
	}
	m := newMem(keys...)
	got, err := List(context.Background(), m.src, ident, "", "/", "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.CommonPrefixes) != 500 || m.calls != 1 {
		t.Errorf("got %d prefixes in %d calls, want 500 in 1", len(got.CommonPrefixes), m.calls)
	}
}

func TestListPathologicalMaxRune(t *testing.T) {
	// Keys under a common prefix that sort after prefix+U+10FFFF are still
	// rolled into it and listed once, and paging makes progress.
	keys := []string{"a/1", "a/" + MaxRune, "a/" + MaxRune + "x", "a/" + MaxRune + MaxRune + "/y", "b"}
	m := newMem(keys...)
	var cps []string
	var items []string
	after := ""
	for range 10 {
		p, err := List(context.Background(), m.src, ident, "", "/", after, 1)
		if err != nil {
			t.Fatal(err)
		}
		cps = append(cps, p.CommonPrefixes...)
		items = append(items, p.Items...)
		if !p.Truncated {
			break
		}
		after = p.Next
	}
	if !reflect.DeepEqual(cps, []string{"a/"}) || !reflect.DeepEqual(items, []string{"b"}) {
		t.Errorf("cps %q items %q", cps, items)
	}
}

func TestListSourceError(t *testing.T) {
	boom := errors.New("boom")
	src := func(context.Context, string, string, int) ([]string, error) { return nil, boom }
	if _, err := List(context.Background(), src, ident, "", "", "", 5); !errors.Is(err, boom) {
		t.Errorf("err = %v, want wrapping boom", err)
	}
	bad := func(context.Context, string, string, int) ([]string, error) { return []string{"b", "a"}, nil }
	if _, err := List(context.Background(), bad, ident, "", "", "", 5); err == nil {
		t.Error("unordered source accepted")
	}
}

func TestCommonPrefix(t *testing.T) {
	tests := []struct {
		key, prefix, delim, cp string
		ok                     bool
	}{
		{"a/b", "", "/", "a/", true},
		{"a/b", "a/", "/", "", false},
		{"a/b/c", "a/", "/", "a/b/", true},
		{"a", "", "", "", false},
		{"ab", "b", "/", "", false},
		{"x::y::z", "x", "::", "x::", true},
	}
	for _, tc := range tests {
		cp, ok := CommonPrefix(tc.key, tc.prefix, tc.delim)
		if cp != tc.cp || ok != tc.ok {
			t.Errorf("CommonPrefix(%q, %q, %q) = %q, %v; want %q, %v", tc.key, tc.prefix, tc.delim, cp, ok, tc.cp, tc.ok)
		}
	}
}

func TestPrefixEnd(t *testing.T) {
	tests := []struct {
		in, out string
		ok      bool
	}{
		{"", "", false},
		{"a", "b", true},
		{"a/", "a0", true},
		{"a\x7f", "a\u0080", true},
		{"é", "ê", true},
		{"a\U0010FFFF", "b", true},
		{"\U0010FFFF", "", false},
		{"\uD7FF", "\uE000", true},
		{"a\xff", "b", true},
		{"\xc3", "\xc4", true},
	}
	for _, tc := range tests {
		out, ok := PrefixEnd(tc.in)
		if out != tc.out || ok != tc.ok {
			t.Errorf("PrefixEnd(%q) = %q, %v; want %q, %v", tc.in, out, ok, tc.out, tc.ok)
		}
		if ok && utf8.ValidString(tc.in) && !utf8.ValidString(out) {
			t.Errorf("PrefixEnd(%q) = %q is not UTF-8", tc.in, out)
		}
	}
}

// pieces random keys are made of: delimiters of several bytes, multibyte
// runes, the greatest rune and bytes next to the delimiter's.
var pieces = []string{"a", "b", "/", "//", "::", ":", "é", "ü", "\x7f", "\u0080", MaxRune, "0", " ", "+", "%"}

func randKey(r *rand.Rand) string {
	var b strings.Builder
	for range 1 + r.IntN(6) {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return b.String()
}

func FuzzList(f *testing.F) {
	f.Add(uint64(1), uint8(3), uint8(0))
	f.Add(uint64(2), uint8(1), uint8(1))
	f.Add(uint64(3), uint8(0), uint8(2))
	f.Add(uint64(42), uint8(7), uint8(3))
	f.Fuzz(func(t *testing.T, seed uint64, limit uint8, nkeys uint8) {
		r := rand.New(rand.NewPCG(seed, seed>>7))
		var keys []string
		for range int(nkeys)%80 + 1 {
			keys = append(keys, randKey(r))
		}
		m := newMem(keys...)
		delims := []string{"", "/", "::", "é", "//", MaxRune}
		delim := delims[r.IntN(len(delims))]
		prefix := ""
		if r.IntN(2) == 0 {
			prefix = randKey(r)[:1]
			if !utf8.ValidString(prefix) {
				prefix = ""
			}
		}
		after := ""
		switch r.IntN(3) {
		case 1:
			after = m.keys[r.IntN(len(m.keys))]
		case 2:
			after = randKey(r)
		}
		lim := int(limit) % 12
		ctx := context.Background()

		got, err := List(ctx, m.src, ident, prefix, delim, after, lim)
		if err != nil {
			t.Fatal(err)
		}
		if want := naive(m.keys, prefix, delim, after, lim); !reflect.DeepEqual(got, want) {
			t.Fatalf("keys %q prefix %q delim %q after %q limit %d:\ngot  %+v\nwant %+v", m.keys, prefix, delim, after, lim, got, want)
		}

		// Paging with Next joins to the unpaged listing.
		if lim == 0 {
			return
		}
		all := naive(m.keys, prefix, delim, after, 1<<30)
		var items, cps []string
		cur := after
		for range len(m.keys) + 2 {
			p, err := List(ctx, m.src, ident, prefix, delim, cur, lim)
			if err != nil {
				t.Fatal(err)
			}
			items = append(items, p.Items...)
			cps = append(cps, p.CommonPrefixes...)
			if !p.Truncated {
				break
			}
			cur = p.Next
		}
		if !slices.Equal(items, all.Items) || !slices.Equal(cps, all.CommonPrefixes) {
			t.Fatalf("paged items %q cps %q; want %q %q", items, cps, all.Items, all.CommonPrefixes)
		}
	})
}
