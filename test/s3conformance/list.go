package s3conformance

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

var listCases = []testCase{
	{"ListV2PrefixDelimiter", testListV2Delimiter},
	{"ListV1PrefixDelimiter", testListV1Delimiter},
	{"ListEmptyDelimiterIsRecursive", testListEmptyDelimiter},
	{"ListV2StartAfter", testListStartAfter},
	{"ListV1Marker", testListMarker},
	{"ListMaxKeysSmall", testListMaxKeysSmall},
	{"ListOver1000Keys", testListOver1000},
	{"ListEncodingTypeURL", testListEncodingURL},
	{"ListFetchOwner", testListFetchOwner},
	{"ListMissingBucket", testListMissingBucket},
	{"ListBadParameters", testListBadParameters},
}

// tree is the key set of the listing tests: directory markers, nested
// prefixes, keys that share a prefix with a directory, odd characters.
var tree = []string{
	"a", "a/b", "a/b/c", "a/c", "a.txt", "a0",
	"b", "b/",
	"dir/", "dir/x", "dir/y/z", "dir/y/zz", "dir/z/",
	"plus+key", "space key", "pct%41", "ü/日本語", "☃",
}

func (e *env) treeBucket(t *testing.T) string {
	t.Helper()
	b := e.bucket(t)
	e.putMany(t, b, tree)
	return b
}

func sorted(keys []string) []string {
	out := slices.Clone(keys)
	slices.Sort(out)
	return out
}

// underPrefix is what a listing with prefix and delimiter must return.
func underPrefix(keys []string, prefix, delim string) (objects, prefixes []string) {
	seen := map[string]bool{}
	for _, k := range sorted(keys) {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		if delim != "" {
			if i := strings.Index(k[len(prefix):], delim); i >= 0 {
				cp := k[:len(prefix)+i+len(delim)]
				if !seen[cp] {
					seen[cp] = true
					prefixes = append(prefixes, cp)
				}
				continue
			}
		}
		objects = append(objects, k)
	}
	return objects, prefixes
}

func keysOf(objs []types.Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, aws.ToString(o.Key))
	}
	return out
}

func prefixesOf(cps []types.CommonPrefix) []string {
	var out []string
	for _, cp := range cps {
		out = append(out, aws.ToString(cp.Prefix))
	}
	return out
}

var listShapes = []struct{ prefix, delim string }{
	{"", ""}, {"", "/"}, {"dir/", "/"}, {"dir/", ""}, {"dir/y/", "/"}, {"a", "/"},
	{"a/", "/"}, {"b/", "/"}, {"nothing", "/"}, {"", "b"}, {"dir", "/"}, {"ü/", "/"},
	{"", "/y/"}, {"d", "ir/"}, {"dir/y/z", "z"},
}

func testListV2Delimiter(t *testing.T, e *env) {
	b := e.treeBucket(t)
	for _, sh := range listShapes {
		t.Run(fmt.Sprintf("prefix=%q,delimiter=%q", sh.prefix, sh.delim), func(t *testing.T) {
			wantObj, wantCP := underPrefix(tree, sh.prefix, sh.delim)
			// One page, then pages of 1 and 2: the same answer.
			for _, max := range []int32{1000, 1, 2} {
				var objs, cps []string
				var token *string
				for pages := 0; ; pages++ {
					if pages > 40 {
						t.Fatal("paging does not end")
					}
					in := &s3.ListObjectsV2Input{Bucket: &b, Prefix: aws.String(sh.prefix), MaxKeys: aws.Int32(max), ContinuationToken: token}
					if sh.delim != "" {
						in.Delimiter = aws.String(sh.delim)
					}
					out, err := e.s3.ListObjectsV2(ctx(t), in)
					must(t, err, "ListObjectsV2")
					eq(t, "KeyCount", aws.ToInt32(out.KeyCount), int32(len(out.Contents)+len(out.CommonPrefixes)))
					if n := len(out.Contents) + len(out.CommonPrefixes); n > int(max) {
						t.Fatalf("page of %d with max-keys %d", n, max)
					}
					eq(t, "Prefix", aws.ToString(out.Prefix), sh.prefix)
					objs = append(objs, keysOf(out.Contents)...)
					cps = append(cps, prefixesOf(out.CommonPrefixes)...)
					if !aws.ToBool(out.IsTruncated) {
						if out.NextContinuationToken != nil {
							t.Errorf("NextContinuationToken on the last page")
						}
						break
					}
					token = out.NextContinuationToken
					if aws.ToString(token) == "" {
						t.Fatal("truncated without NextContinuationToken")
					}
				}
				if !slices.Equal(objs, wantObj) || !slices.Equal(cps, wantCP) {
					t.Fatalf("max-keys %d:\n got objects %q prefixes %q\nwant objects %q prefixes %q", max, objs, cps, wantObj, wantCP)
				}
			}
		})
	}
}

func testListV1Delimiter(t *testing.T, e *env) {
	b := e.treeBucket(t)
	for _, sh := range listShapes {
		t.Run(fmt.Sprintf("prefix=%q,delimiter=%q", sh.prefix, sh.delim), func(t *testing.T) {
			wantObj, wantCP := underPrefix(tree, sh.prefix, sh.delim)
			for _, max := range []int32{1000, 1, 3} {
				var objs, cps []string
				var marker *string
				for pages := 0; ; pages++ {
					if pages > 40 {
						t.Fatal("paging does not end")
					}
					in := &s3.ListObjectsInput{Bucket: &b, Prefix: aws.String(sh.prefix), MaxKeys: aws.Int32(max), Marker: marker}
					if sh.delim != "" {
						in.Delimiter = aws.String(sh.delim)
					}
					out, err := e.s3.ListObjects(ctx(t), in)
					must(t, err, "ListObjects")
					eq(t, "Marker echoed", aws.ToString(out.Marker), aws.ToString(marker))
					objs = append(objs, keysOf(out.Contents)...)
					pcs := prefixesOf(out.CommonPrefixes)
					cps = append(cps, pcs...)
					for _, o := range out.Contents {
						if o.Owner == nil || aws.ToString(o.Owner.ID) == "" {
							t.Errorf("v1 listing of %s has no Owner", aws.ToString(o.Key))
						}
					}
					if !aws.ToBool(out.IsTruncated) {
						break
					}
					// NextMarker comes with a delimiter; without one the
					// client continues from the last key.
					next := aws.ToString(out.NextMarker)
					if sh.delim != "" && next == "" {
						t.Fatal("truncated delimited v1 listing without NextMarker")
					}
					if next == "" {
						last := ""
						if len(out.Contents) > 0 {
							last = aws.ToString(out.Contents[len(out.Contents)-1].Key)
						}
						if len(pcs) > 0 && pcs[len(pcs)-1] > last {
							last = pcs[len(pcs)-1]
						}
						next = last
					}
					marker = aws.String(next)
				}
				if !slices.Equal(objs, wantObj) || !slices.Equal(cps, wantCP) {
					t.Fatalf("max-keys %d:\n got objects %q prefixes %q\nwant objects %q prefixes %q", max, objs, cps, wantObj, wantCP)
				}
			}
		})
	}
}

// testListEmptyDelimiter is rclone's recursive listing: "delimiter=" sent
// empty means no delimiter.
func testListEmptyDelimiter(t *testing.T, e *env) {
	b := e.treeBucket(t)
	for _, path := range []string{"list-type=2&delimiter=&prefix=", "delimiter=&max-keys=1000&prefix="} {
		req := e.newRequest(t, http.MethodGet, b, "", nil, nil)
		req.URL.RawQuery = path
		e.signBody(t, req, nil, signOpts{})
		r := e.send(t, req)
		wantRaw(t, r, http.StatusOK, "")
		var doc struct {
			Contents       []struct{ Key string }
			CommonPrefixes []struct{ Prefix string }
		}
		must(t, xml.Unmarshal(r.body, &doc), "parsing the listing")
		var keys []string
		for _, c := range doc.Contents {
			keys = append(keys, c.Key)
		}
		if !slices.Equal(keys, sorted(tree)) || len(doc.CommonPrefixes) != 0 {
			t.Errorf("%s: keys %q, prefixes %v", path, keys, doc.CommonPrefixes)
		}
	}
}

func testListStartAfter(t *testing.T, e *env) {
	b := e.treeBucket(t)
	all := sorted(tree)
	for _, after := range []string{"", "a", "a/b", "b/", "dir/y/", "dir/y/z", "zzz", "0"} {
		out, err := e.s3.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: &b, StartAfter: aws.String(after)})
		must(t, err, "ListObjectsV2")
		var want []string
		for _, k := range all {
			if k > after {
				want = append(want, k)
			}
		}
		if got := keysOf(out.Contents); !slices.Equal(got, want) {
			t.Errorf("start-after %q: got %q, want %q", after, got, want)
		}
		eq(t, "StartAfter echoed", aws.ToString(out.StartAfter), after)
	}
	// start-after with a delimiter skips a whole common prefix it names.
	out, err := e.s3.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: &b, StartAfter: aws.String("dir/"), Delimiter: aws.String("/"), Prefix: aws.String("dir/")})
	must(t, err, "ListObjectsV2")
	eq(t, "objects after dir/", fmt.Sprint(keysOf(out.Contents)), "[dir/x]")
	eq(t, "prefixes after dir/", fmt.Sprint(prefixesOf(out.CommonPrefixes)), "[dir/y/ dir/z/]")
	// A continuation token wins over start-after.
	p1, err := e.s3.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: &b, MaxKeys: aws.Int32(2)})
	must(t, err, "ListObjectsV2 page 1")
	p2, err := e.s3.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: &b, MaxKeys: aws.Int32(2), ContinuationToken: p1.NextContinuationToken, StartAfter: aws.String("a")})
	must(t, err, "ListObjectsV2 page 2")
	eq(t, "page 2", fmt.Sprint(keysOf(p2.Contents)), fmt.Sprint(all[2:4]))
	eq(t, "ContinuationToken echoed", aws.ToString(p2.ContinuationToken), aws.ToString(p1.NextContinuationToken))
}

func testListMarker(t *testing.T, e *env) {
	b := e.treeBucket(t)
	all := sorted(tree)
	for _, marker := range []string{"a", "a/b/c", "dir/", "ü", "☃", "zz"} {
		out, err := e.s3.ListObjects(ctx(t), &s3.ListObjectsInput{Bucket: &b, Marker: aws.String(marker)})
		must(t, err, "ListObjects")
		var want []string
		for _, k := range all {
			if k > marker {
				want = append(want, k)
			}
		}
		if got := keysOf(out.Contents); !slices.Equal(got, want) {
			t.Errorf("marker %q: got %q, want %q", marker, got, want)
		}
	}
}

func testListMaxKeysSmall(t *testing.T, e *env) {
	b := e.treeBucket(t)
	out, err := e.s3.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: &b, MaxKeys: aws.Int32(0)})
	must(t, err, "ListObjectsV2 max-keys 0")
	eq(t, "max-keys 0 contents", len(out.Contents), 0)
	eq(t, "max-keys 0 KeyCount", aws.ToInt32(out.KeyCount), 0)
	eq(t, "MaxKeys echoed", aws.ToInt32(out.MaxKeys), 0)
	v1, err := e.s3.ListObjects(ctx(t), &s3.ListObjectsInput{Bucket: &b, MaxKeys: aws.Int32(0)})
	must(t, err, "ListObjects max-keys 0")
	eq(t, "v1 max-keys 0 contents", len(v1.Contents), 0)

	out, err = e.s3.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: &b, MaxKeys: aws.Int32(1)})
	must(t, err, "ListObjectsV2 max-keys 1")
	eq(t, "max-keys 1 contents", len(out.Contents), 1)
	eq(t, "IsTruncated", aws.ToBool(out.IsTruncated), true)
	eq(t, "first key", aws.ToString(out.Contents[0].Key), sorted(tree)[0])
	// s3fs checks each directory with max-keys=2.
	out, err = e.s3.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: &b, MaxKeys: aws.Int32(2), Prefix: aws.String("dir/"), Delimiter: aws.String("/")})
	must(t, err, "ListObjectsV2 max-keys 2")
	eq(t, "max-keys 2", fmt.Sprint(keysOf(out.Contents), prefixesOf(out.CommonPrefixes)), "[dir/ dir/x] []")
	// Negative or non-numeric max-keys are refused.
	for _, bad := range []string{"-1", "abc"} {
		req := e.newRequest(t, http.MethodGet, b, "", url.Values{"list-type": {"2"}, "max-keys": {bad}}, nil)
		e.signBody(t, req, nil, signOpts{})
		wantRaw(t, e.send(t, req), http.StatusBadRequest, "InvalidArgument")
	}
}

func testListOver1000(t *testing.T, e *env) {
	b := e.bucket(t)
	var keys []string
	for i := range 1100 {
		keys = append(keys, fmt.Sprintf("k/%02d/%04d", i%11, i))
	}
	e.putMany(t, b, keys)
	want := sorted(keys)

	t.Run("v2 default page is 1000", func(t *testing.T) {
		for _, max := range []*int32{nil, aws.Int32(1000), aws.Int32(5000)} {
			out, err := e.s3.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: &b, MaxKeys: max})
			must(t, err, "ListObjectsV2")
			eq(t, "page size", len(out.Contents), 1000)
			eq(t, "IsTruncated", aws.ToBool(out.IsTruncated), true)
			next, err := e.s3.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: &b, MaxKeys: max, ContinuationToken: out.NextContinuationToken})
			must(t, err, "ListObjectsV2 page 2")
			eq(t, "page 2 size", len(next.Contents), 100)
			eq(t, "page 2 IsTruncated", aws.ToBool(next.IsTruncated), false)
			got := append(keysOf(out.Contents), keysOf(next.Contents)...)
			if !slices.Equal(got, want) {
				t.Fatalf("max-keys %v: two pages are not the key set in order", aws.ToInt32(max))
			}
		}
	})
	t.Run("v2 paginator", func(t *testing.T) {
		p := s3.NewListObjectsV2Paginator(e.s3, &s3.ListObjectsV2Input{Bucket: &b, MaxKeys: aws.Int32(333)})
		var got []string
		for p.HasMorePages() {
			page, err := p.NextPage(ctx(t))
			must(t, err, "page")
			got = append(got, keysOf(page.Contents)...)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("paginator returned %d keys, want %d in order", len(got), len(want))
		}
	})
	t.Run("v1 marker paging", func(t *testing.T) {
		var got []string
		marker := ""
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatal("paging does not end")
			}
			out, err := e.s3.ListObjects(ctx(t), &s3.ListObjectsInput{Bucket: &b, Marker: aws.String(marker)})
			must(t, err, "ListObjects")
			got = append(got, keysOf(out.Contents)...)
			if !aws.ToBool(out.IsTruncated) {
				break
			}
			eq(t, "v1 page size", len(out.Contents), 1000)
			marker = keysOf(out.Contents)[len(out.Contents)-1]
		}
		if !slices.Equal(got, want) {
			t.Fatalf("v1 paging returned %d keys, want %d in order", len(got), len(want))
		}
	})
	t.Run("common prefixes across pages", func(t *testing.T) {
		// 11 prefixes of 100 keys each, two prefixes per page: every
		// prefix exactly once, never split by page boundaries.
		var cps []string
		var token *string
		for pages := 0; pages < 20; pages++ {
			out, err := e.s3.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: &b, Prefix: aws.String("k/"), Delimiter: aws.String("/"), MaxKeys: aws.Int32(2), ContinuationToken: token})
			must(t, err, "ListObjectsV2")
			cps = append(cps, prefixesOf(out.CommonPrefixes)...)
			if len(out.Contents) != 0 {
				t.Fatalf("objects beside prefixes: %q", keysOf(out.Contents))
			}
			if !aws.ToBool(out.IsTruncated) {
				break
			}
			token = out.NextContinuationToken
		}
		var want []string
		for i := range 11 {
			want = append(want, fmt.Sprintf("k/%02d/", i))
		}
		if !slices.Equal(cps, want) {
			t.Fatalf("prefixes %q, want %q", cps, want)
		}
	})
}

// testListEncodingURL reads the raw XML: with encoding-type=url, keys,
// prefixes, delimiters and markers are URL-encoded ('+' for space, %2B for
// '+'); without it they are sent as they are.
func testListEncodingURL(t *testing.T, e *env) {
	b := e.bucket(t)
	keys := []string{"sp ace/x", "pl+us/y", "per%cent/z", "ümlaut/日本", "amp&lt/w"}
	e.putMany(t, b, keys)
	type listing struct {
		EncodingType   string
		Prefix         string
		Delimiter      string
		StartAfter     string
		Contents       []struct{ Key string }
		CommonPrefixes []struct{ Prefix string }
	}
	get := func(t *testing.T, q url.Values) listing {
		t.Helper()
		req := e.newRequest(t, http.MethodGet, b, "", q, nil)
		e.signBody(t, req, nil, signOpts{})
		r := e.send(t, req)
		wantRaw(t, r, http.StatusOK, "")
		var l listing
		must(t, xml.Unmarshal(r.body, &l), "parsing")
		return l
	}
	enc := func(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "%2F", "/") }
	for _, v := range []string{"2", ""} {
		name := "v1"
		if v != "" {
			name = "v2"
		}
		t.Run(name, func(t *testing.T) {
			q := url.Values{"encoding-type": {"url"}}
			if v != "" {
				q.Set("list-type", v)
			}
			l := get(t, q)
			eq(t, "EncodingType", l.EncodingType, "url")
			var got []string
			for _, c := range l.Contents {
				got = append(got, c.Key)
			}
			var want []string
			for _, k := range sorted(keys) {
				want = append(want, enc(k))
			}
			if !slices.Equal(got, want) {
				t.Errorf("encoded keys %q, want %q", got, want)
			}
			// Decoding as botocore does (unquote_plus) gives the keys back.
			for i, g := range got {
				if d, err := url.QueryUnescape(g); err != nil || d != sorted(keys)[i] {
					t.Errorf("%q decodes to %q", g, d)
				}
			}
			// Prefixes and the echoed prefix are encoded too.
			q.Set("delimiter", "/")
			q.Set("prefix", "sp ace/")
			l = get(t, q)
			eq(t, "Prefix", l.Prefix, "sp+ace/")
			eq(t, "Delimiter", l.Delimiter, "/")
			q.Del("prefix")
			l = get(t, q)
			var cps []string
			for _, cp := range l.CommonPrefixes {
				cps = append(cps, cp.Prefix)
			}
			if want := []string{"amp%26lt/", "per%25cent/", "pl%2Bus/", "sp+ace/", "%C3%BCmlaut/"}; !slices.Equal(cps, want) {
				t.Errorf("encoded prefixes %q, want %q", cps, want)
			}
			// Without encoding-type, keys are literal (XML-escaped only).
			q = url.Values{}
			if v != "" {
				q.Set("list-type", v)
			}
			q.Set("prefix", "pl+us/")
			l = get(t, q)
			if len(l.Contents) != 1 || l.Contents[0].Key != "pl+us/y" {
				t.Errorf("plain listing: %+v", l.Contents)
			}
		})
	}
	// The SDK with EncodingType url sees the same keys after decoding.
	out, err := e.s3.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: &b, EncodingType: types.EncodingTypeUrl})
	must(t, err, "ListObjectsV2")
	for i, o := range out.Contents {
		k := aws.ToString(o.Key)
		if d, err := url.QueryUnescape(k); err == nil {
			k = d
		}
		eq(t, "SDK key", k, sorted(keys)[i])
	}
	// A bad encoding-type is refused.
	req := e.newRequest(t, http.MethodGet, b, "", url.Values{"list-type": {"2"}, "encoding-type": {"base64"}}, nil)
	e.signBody(t, req, nil, signOpts{})
	wantRaw(t, e.send(t, req), http.StatusBadRequest, "InvalidArgument")
}

func testListFetchOwner(t *testing.T, e *env) {
	b := e.bucket(t)
	e.put(t, b, "o", []byte("x"))
	out, err := e.s3.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: &b, FetchOwner: aws.Bool(true)})
	must(t, err, "ListObjectsV2 fetch-owner")
	if len(out.Contents) != 1 || out.Contents[0].Owner == nil || aws.ToString(out.Contents[0].Owner.ID) == "" {
		t.Fatalf("fetch-owner=true: no owner in %+v", out.Contents)
	}
	owner := aws.ToString(out.Contents[0].Owner.ID)
	lb, err := e.s3.ListBuckets(ctx(t), &s3.ListBucketsInput{})
	must(t, err, "ListBuckets")
	eq(t, "owner matches ListBuckets' owner", owner, aws.ToString(lb.Owner.ID))
	out, err = e.s3.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: &b})
	must(t, err, "ListObjectsV2")
	if len(out.Contents) != 1 || out.Contents[0].Owner != nil {
		t.Errorf("owner sent without fetch-owner: %+v", out.Contents[0].Owner)
	}
}

func testListMissingBucket(t *testing.T, e *env) {
	_, err := e.s3.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String("s3c-no-such-bucket")})
	wantErr(t, err, http.StatusNotFound, "NoSuchBucket")
	_, err = e.s3.ListObjects(ctx(t), &s3.ListObjectsInput{Bucket: aws.String("s3c-no-such-bucket")})
	wantErr(t, err, http.StatusNotFound, "NoSuchBucket")
	_, err = e.s3.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String("s3c-no-such-bucket"), MaxKeys: aws.Int32(0)})
	wantErr(t, err, http.StatusNotFound, "NoSuchBucket")
}

func testListBadParameters(t *testing.T, e *env) {
	b := e.treeBucket(t)
	for _, tc := range []struct {
		name  string
		query string
		code  string
	}{
		{"garbage continuation token", "list-type=2&continuation-token=%21%21not-a-token", "InvalidArgument"},
		{"list-type 3", "list-type=3", "InvalidArgument"},
		{"encoding-type base64", "encoding-type=base64", "InvalidArgument"},
		{"max-keys huge", "max-keys=99999999999999999999", "InvalidArgument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := e.newRequest(t, http.MethodGet, b, "", nil, nil)
			req.URL.RawQuery = tc.query
			e.signBody(t, req, nil, signOpts{})
			wantRaw(t, e.send(t, req), http.StatusBadRequest, tc.code)
		})
	}
	// "/bucket/" lists the bucket like "/bucket".
	req := e.newRequest(t, http.MethodGet, b, "", nil, nil)
	req.URL.Path, req.URL.RawPath = "/"+b+"/", ""
	req.URL.RawQuery = "list-type=2&prefix=dir%2F&delimiter=%2F"
	e.signBody(t, req, nil, signOpts{})
	r := e.send(t, req)
	wantRaw(t, r, http.StatusOK, "")
	if !strings.Contains(string(r.body), "<Key>dir/x</Key>") {
		t.Errorf("GET /bucket/ listing: %s", r.body)
	}
}
