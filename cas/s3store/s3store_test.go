package s3store

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"dewar/cas"
	"dewar/test/harness"
)

// pattern returns n deterministic bytes that differ with seed.
func pattern(seed byte, n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{seed}).Read(b)
	return b
}

func mustPut(t *testing.T, s *Store, data []byte) cas.SizedRef {
	t.Helper()
	ref, _, err := s.Put(context.Background(), bytes.NewReader(data), cas.StageOptions{})
	if err != nil {
		t.Fatalf("Put(%d bytes): %v", len(data), err)
	}
	return ref
}

func mustFetch(t *testing.T, s *Store, ref cas.Ref, off, n int64) []byte {
	t.Helper()
	rc, err := s.Fetch(context.Background(), ref, off, n)
	if err != nil {
		t.Fatalf("Fetch(%s, %d, %d): %v", ref, off, n, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading Fetch(%s, %d, %d): %v", ref, off, n, err)
	}
	return b
}

// upstreamBytes reads an object straight from the upstream.
func upstreamBytes(t *testing.T, direct *s3.Client, key string) []byte {
	t.Helper()
	out, err := direct.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("GetObject(%s): %v", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// listKeys lists every key under prefix straight from the upstream.
func listKeys(t *testing.T, direct *s3.Client, prefix string) []string {
	t.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(direct, &s3.ListObjectsV2Input{Bucket: aws.String(testBucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys
}

// pendingUploads counts unfinished multipart uploads in the bucket.
func pendingUploads(t *testing.T, direct *s3.Client) int {
	t.Helper()
	out, err := direct.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String(testBucket)})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Uploads)
}

func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestKeyLayout: a blob lives at <prefix>/blobs/<hex[0:2]>/<hex[2:4]>/<hex>
// as application/octet-stream, and nothing else is written.
func TestKeyLayout(t *testing.T) {
	endpoint, direct := fakeUpstream(t)
	s := openStore(t, endpoint, "dewar/prod", testOptions(t, nil))
	ref := mustPut(t, s, []byte("hello"))
	const want = "dewar/prod/blobs/2c/f2/2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
	if ref.Ref.String() != want[len(want)-64:] {
		t.Fatalf("Put(hello) = %s", ref)
	}
	if got := listKeys(t, direct, ""); !slices.Equal(got, []string{want}) {
		t.Errorf("upstream keys = %q, want [%q]", got, want)
	}
	head, err := direct.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(testBucket), Key: aws.String(want)})
	if err != nil {
		t.Fatal(err)
	}
	if ct := aws.ToString(head.ContentType); ct != "application/octet-stream" {
		t.Errorf("Content-Type = %q", ct)
	}
	// The bucket's root works too.
	root := openStore(t, endpoint, "", testOptions(t, nil))
	mustPut(t, root, []byte("hello"))
	if got := listKeys(t, direct, "blobs/"); !slices.Equal(got, []string{want[len("dewar/prod/"):]}) {
		t.Errorf("root store keys = %q", got)
	}
}

// TestPutRequests: a single PUT is conditional, carries the Ref as its
// sha256 checksum and payload hash, and a second Put of the same bytes
// sends no body upstream at all.
func TestPutRequests(t *testing.T) {
	endpoint, _ := fakeUpstream(t)
	ft := newFaultTransport()
	s := openStore(t, endpoint, "p", testOptions(t, ft))
	data := pattern(1, 100<<10)
	ft.reset()
	ref, created, err := s.Put(context.Background(), bytes.NewReader(data), cas.StageOptions{})
	if err != nil || !created {
		t.Fatalf("first Put = %v, %v", created, err)
	}
	puts := ft.requests("PutObject")
	if len(puts) != 1 {
		t.Fatalf("first Put sent %d PUTs, want 1", len(puts))
	}
	h := puts[0].Header
	if got, want := h.Get("X-Amz-Checksum-Sha256"), base64.StdEncoding.EncodeToString(ref.Ref.Bytes()); got != want {
		t.Errorf("x-amz-checksum-sha256 = %q, want %q", got, want)
	}
	if got := h.Get("X-Amz-Content-Sha256"); got != ref.Ref.String() {
		t.Errorf("x-amz-content-sha256 = %q, want the Ref %s", got, ref.Ref)
	}
	if got := h.Get("If-None-Match"); got != "*" {
		t.Errorf("If-None-Match = %q, want *", got)
	}

	ft.reset()
	if _, created, err := s.Put(context.Background(), bytes.NewReader(data), cas.StageOptions{}); err != nil || created {
		t.Fatalf("second Put = %v, %v; want created=false", created, err)
	}
	var ops []string
	for _, r := range ft.requests("") {
		ops = append(ops, r.Op)
	}
	if !slices.Equal(ops, []string{"HeadObject"}) {
		t.Errorf("second Put of the same bytes sent %v, want only a HEAD", ops)
	}
}

// TestPutLostRace: an upstream that honours If-None-Match answers 412 when
// another writer created the key first; that is created=false, not an
// error, for a single PUT and for a multipart completion.
func TestPutLostRace(t *testing.T) {
	for _, tt := range []struct {
		name string
		op   string
		size int
	}{
		{"single", "PutObject", 1000},
		{"multipart", "CompleteMultipartUpload", MinPartSize + 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			endpoint, direct := fakeUpstream(t)
			ft := newFaultTransport(&fault{Op: tt.op, Times: 1, Status: 412, Code: "PreconditionFailed"})
			s := openStore(t, endpoint, "p", testOptions(t, ft))
			_, created, err := s.Put(context.Background(), bytes.NewReader(pattern(2, tt.size)), cas.StageOptions{})
			if err != nil || created {
				t.Errorf("Put answered 412 = created %v, %v; want false, nil", created, err)
			}
			if n := pendingUploads(t, direct); n != 0 {
				t.Errorf("%d multipart uploads left behind", n)
			}
		})
	}
}

// TestCommitReplacesWrongLength: an object of the wrong length under a
// blob's key (truncated, hand-written) is replaced by the staged bytes.
func TestCommitReplacesWrongLength(t *testing.T) {
	endpoint, direct := fakeUpstream(t)
	s := openStore(t, endpoint, "p", testOptions(t, nil))
	data := pattern(3, 5000)
	key := s.key(cas.Sum(data))
	if _, err := direct.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(testBucket), Key: aws.String(key), Body: bytes.NewReader(data[:100]),
	}); err != nil {
		t.Fatal(err)
	}
	if _, created, err := s.Put(context.Background(), bytes.NewReader(data), cas.StageOptions{}); err != nil || !created {
		t.Fatalf("Put over a truncated object = %v, %v; want created", created, err)
	}
	if got := upstreamBytes(t, direct, key); !bytes.Equal(got, data) {
		t.Errorf("upstream object has %d bytes, want the %d staged", len(got), len(data))
	}
}

// TestFetchRequests: ranges pass through as Range headers; a whole read is
// one GET; offsets at or past the end ask for no bytes at all.
func TestFetchRequests(t *testing.T) {
	endpoint, _ := fakeUpstream(t)
	ft := newFaultTransport()
	s := openStore(t, endpoint, "p", testOptions(t, ft))
	data := pattern(4, 1000)
	ref := mustPut(t, s, data).Ref
	tests := []struct {
		name      string
		off, n    int64
		want      []byte
		ops       []string
		wantRange string
	}{
		{"whole", 0, -1, data, []string{"GetObject"}, ""},
		{"middle", 100, 50, data[100:150], []string{"HeadObject", "GetObject"}, "bytes=100-149"},
		{"to end", 990, -1, data[990:], []string{"HeadObject", "GetObject"}, "bytes=990-999"},
		{"past end length", 990, 100, data[990:], []string{"HeadObject", "GetObject"}, "bytes=990-999"},
		{"head", 0, 10, data[:10], []string{"HeadObject", "GetObject"}, "bytes=0-9"},
		{"offset at end", 1000, -1, nil, []string{"HeadObject"}, ""},
		{"offset past end", 5000, 10, nil, []string{"HeadObject"}, ""},
		{"length zero", 10, 0, nil, []string{"HeadObject"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ft.reset()
			if got := mustFetch(t, s, ref, tt.off, tt.n); !bytes.Equal(got, tt.want) {
				t.Errorf("Fetch(%d, %d) = %d bytes, want %d", tt.off, tt.n, len(got), len(tt.want))
			}
			reqs := ft.requests("")
			var ops []string
			for _, r := range reqs {
				ops = append(ops, r.Op)
			}
			if !slices.Equal(ops, tt.ops) {
				t.Fatalf("requests = %v, want %v", ops, tt.ops)
			}
			if got := reqs[len(reqs)-1].Header.Get("Range"); tt.ops[len(tt.ops)-1] == "GetObject" && got != tt.wantRange {
				t.Errorf("Range = %q, want %q", got, tt.wantRange)
			}
		})
	}
	// An empty blob's ranges never reach the upstream either.
	empty := mustPut(t, s, nil).Ref
	ft.reset()
	if got := mustFetch(t, s, empty, 0, 10); len(got) != 0 {
		t.Errorf("Fetch(empty, 0, 10) = %d bytes", len(got))
	}
	if n := len(ft.requests("GetObject")); n != 0 {
		t.Errorf("ranged Fetch of an empty blob sent %d GETs", n)
	}
}

// TestFetchResumes: a body that breaks mid-stream is resumed from the
// last byte read with a ranged GET bound to the first answer's ETag.
func TestFetchResumes(t *testing.T) {
	endpoint, _ := fakeUpstream(t)
	ft := newFaultTransport()
	s := openStore(t, endpoint, "p", testOptions(t, ft))
	data := pattern(5, 3<<20)
	ref := mustPut(t, s, data).Ref
	tests := []struct {
		name      string
		off, n    int64
		cuts      int
		wantRange []string
	}{
		{"whole, one cut", 0, -1, 1, []string{"", "bytes=1048576-3145727"}},
		{"whole, two cuts", 0, -1, 2, []string{"", "bytes=1048576-3145727", "bytes=2097152-3145727"}},
		{"range, one cut", 1000, 2 << 20, 1, []string{"bytes=1000-2098151", "bytes=1049576-2098151"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ft.reset()
			ft.addFault(&fault{Op: "GetObject", Times: tt.cuts, ResetAfter: 1 << 20})
			want := data[tt.off:]
			if tt.n >= 0 {
				want = want[:tt.n]
			}
			if got := mustFetch(t, s, ref, tt.off, tt.n); !bytes.Equal(got, want) {
				t.Fatalf("resumed Fetch returned %d bytes that differ from the %d stored", len(got), len(want))
			}
			gets := ft.requests("GetObject")
			var ranges []string
			for i, g := range gets {
				ranges = append(ranges, g.Header.Get("Range"))
				if i > 0 && g.Header.Get("If-Match") == "" {
					t.Errorf("resuming GET #%d has no If-Match", i)
				}
			}
			if !slices.Equal(ranges, tt.wantRange) {
				t.Errorf("GET ranges = %q, want %q", ranges, tt.wantRange)
			}
		})
	}
	t.Run("gives up", func(t *testing.T) {
		ft.reset()
		ft.addFault(&fault{Op: "GetObject", Times: -1, ResetAfter: 256 << 10})
		defer ft.clearFaults()
		rc, err := s.Fetch(context.Background(), ref, 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		n, err := io.Copy(io.Discard, rc)
		if err == nil || n >= int64(len(data)) {
			t.Fatalf("Fetch through a body that always breaks read %d bytes, err %v; want an error", n, err)
		}
		if got := len(ft.requests("GetObject")); got != s.opts.MaxAttempts {
			t.Errorf("%d GETs, want %d (MaxAttempts)", got, s.opts.MaxAttempts)
		}
	})
}

// TestRetries: transient upstream failures are retried with the body
// rewound, and the stored bytes are the staged ones.
func TestRetries(t *testing.T) {
	big := pattern(6, MinPartSize+77) // two parts
	tests := []struct {
		name  string
		f     fault
		data  []byte
		calls int // requests f matches (faults included)
	}{
		{"PUT 503 SlowDown twice", fault{Op: "PutObject", Times: 2, Status: 503, Code: "SlowDown"}, pattern(7, 300<<10), 3},
		{"PUT 500 once", fault{Op: "PutObject", Times: 1, Status: 500, Code: "InternalError"}, pattern(8, 1000), 2},
		{"PUT throttled 429", fault{Op: "PutObject", Times: 1, Status: 429, Code: "TooManyRequests"}, pattern(8, 1000), 2},
		{"PUT reset mid-body", fault{Op: "PutObject", Times: 2, ResetAfter: 100 << 10}, pattern(9, 300<<10), 3},
		{"HEAD 503", fault{Op: "HeadObject", Times: 2, Status: 503}, pattern(10, 1000), 3},
		{"part reset mid-body", fault{Op: "UploadPart", Part: "2", Times: 1, ResetAfter: 1 << 20}, big, 2},
		{"part 500", fault{Op: "UploadPart", Part: "1", Times: 2, Status: 500, Code: "InternalError"}, big, 3},
		{"create 503", fault{Op: "CreateMultipartUpload", Times: 1, Status: 503, Code: "SlowDown"}, big, 2},
		{"complete 500", fault{Op: "CompleteMultipartUpload", Times: 1, Status: 500, Code: "InternalError"}, big, 2},
		{"complete reset", fault{Op: "CompleteMultipartUpload", Times: 1, ResetAfter: 10}, big, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			endpoint, direct := fakeUpstream(t)
			f := tt.f
			ft := newFaultTransport(&f)
			s := openStore(t, endpoint, "p", testOptions(t, ft))
			ref, created, err := s.Put(context.Background(), bytes.NewReader(tt.data), cas.StageOptions{})
			if err != nil || !created {
				t.Fatalf("Put = %v, %v; want created despite the faults", created, err)
			}
			if got := upstreamBytes(t, direct, s.key(ref.Ref)); !bytes.Equal(got, tt.data) {
				t.Errorf("upstream holds %d bytes that differ from the %d put", len(got), len(tt.data))
			}
			if got := ft.count(tt.f); got != tt.calls {
				t.Errorf("%d %s requests, want %d", got, tt.f.Op, tt.calls)
			}
			if n := pendingUploads(t, direct); n != 0 {
				t.Errorf("%d multipart uploads left behind", n)
			}
		})
	}
	t.Run("GET 503", func(t *testing.T) {
		endpoint, _ := fakeUpstream(t)
		ft := newFaultTransport()
		s := openStore(t, endpoint, "p", testOptions(t, ft))
		data := pattern(11, 1000)
		ref := mustPut(t, s, data).Ref
		ft.addFault(&fault{Op: "GetObject", Times: 2, Status: 503, Code: "SlowDown"})
		ft.addFault(&fault{Op: "HeadObject", Times: 1, Status: 500})
		if got := mustFetch(t, s, ref, 0, -1); !bytes.Equal(got, data) {
			t.Error("Fetch after 503s returned other bytes")
		}
		if got := mustFetch(t, s, ref, 10, 10); !bytes.Equal(got, data[10:20]) {
			t.Error("ranged Fetch after a HEAD 500 returned other bytes")
		}
	})
}

// TestFailuresLeaveNothing: when the upstream keeps failing, Put fails
// after MaxAttempts, no blob appears, no multipart upload lingers, and the
// temp file is gone once the Put returns.
func TestFailuresLeaveNothing(t *testing.T) {
	tests := []struct {
		name  string
		f     fault
		size  int
		calls int // requests f matches
	}{
		{"PUT 503 forever", fault{Op: "PutObject", Times: -1, Status: 503, Code: "SlowDown"}, 1000, 4},
		{"PUT reset forever", fault{Op: "PutObject", Times: -1, ResetAfter: 10}, 100 << 10, 4},
		{"PUT 403", fault{Op: "PutObject", Times: -1, Status: 403, Code: "AccessDenied"}, 1000, 1},
		{"part 500 forever", fault{Op: "UploadPart", Part: "2", Times: -1, Status: 500, Code: "InternalError"}, 2*MinPartSize + 1, 4},
		{"complete 400", fault{Op: "CompleteMultipartUpload", Times: -1, Status: 400, Code: "InvalidPart"}, MinPartSize + 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			endpoint, direct := fakeUpstream(t)
			f := tt.f
			ft := newFaultTransport(&f)
			opts := testOptions(t, ft)
			s := openStore(t, endpoint, "p", opts)
			data := pattern(12, tt.size)
			_, _, err := s.Put(context.Background(), bytes.NewReader(data), cas.StageOptions{})
			if err == nil {
				t.Fatal("Put succeeded through a failing upstream")
			}
			if got := ft.count(tt.f); got != tt.calls {
				t.Errorf("%d %s requests, want %d", got, tt.f.Op, tt.calls)
			}
			if _, err := s.Stat(context.Background(), cas.Sum(data)); !errors.Is(err, cas.ErrNotFound) {
				t.Errorf("Stat after a failed Put = %v, want ErrNotFound", err)
			}
			if keys := listKeys(t, direct, ""); len(keys) != 0 {
				t.Errorf("upstream keys after a failed Put: %q", keys)
			}
			if n := pendingUploads(t, direct); n != 0 {
				t.Errorf("%d multipart uploads left behind", n)
			}
			if names := tempFiles(t, opts.TempDir); len(names) != 0 {
				t.Errorf("temp files left: %q", names)
			}
		})
	}
}

// TestCancelledUploadAborts: a context cancelled while parts upload still
// aborts the multipart upload.
func TestCancelledUploadAborts(t *testing.T) {
	endpoint, direct := fakeUpstream(t)
	ft := newFaultTransport()
	ft.setDelay(10 * time.Second) // parts never finish before the deadline
	s := openStore(t, endpoint, "p", testOptions(t, ft))
	st, err := s.Stage(context.Background(), bytes.NewReader(pattern(13, 3*MinPartSize)), cas.StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Discard()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := st.Commit(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Commit past its deadline = %v, want DeadlineExceeded", err)
	}
	if len(ft.requests("AbortMultipartUpload")) == 0 {
		t.Error("no AbortMultipartUpload after a cancelled upload")
	}
	if n := pendingUploads(t, direct); n != 0 {
		t.Errorf("%d multipart uploads left behind", n)
	}
	// The staged copy still commits.
	ft.setDelay(0)
	if created, err := st.Commit(context.Background()); err != nil || !created {
		t.Errorf("Commit after the cancelled one = %v, %v", created, err)
	}
}

// TestMultipart: blobs above PartSize go up in parts of PartSize, several
// at once, and read back intact.
func TestMultipart(t *testing.T) {
	endpoint, direct := fakeUpstream(t)
	ft := newFaultTransport()
	ft.setDelay(20 * time.Millisecond)
	opts := testOptions(t, ft)
	opts.PartConcurrency = 3
	s := openStore(t, endpoint, "p", opts)
	data := pattern(14, 2*MinPartSize+1)
	ref := mustPut(t, s, data)
	parts := ft.requests("UploadPart")
	if len(parts) != 3 {
		t.Fatalf("%d parts uploaded, want 3", len(parts))
	}
	for _, p := range parts {
		if p.Header.Get("X-Amz-Checksum-Crc32") == "" && p.Header.Get("X-Amz-Trailer") == "" {
			t.Errorf("part %s carries no CRC32", p.Query.Get("partNumber"))
		}
	}
	if ft.peakPuts() < 2 {
		t.Errorf("at most %d parts in flight, want parallel parts", ft.peakPuts())
	}
	if n := len(ft.requests("PutObject")); n != 0 {
		t.Errorf("%d single PUTs for a multipart blob", n)
	}
	if got := upstreamBytes(t, direct, s.key(ref.Ref)); !bytes.Equal(got, data) {
		t.Error("multipart blob differs upstream")
	}
	if got := mustFetch(t, s, ref.Ref, MinPartSize-5, 10); !bytes.Equal(got, data[MinPartSize-5:MinPartSize+5]) {
		t.Error("range across a part boundary differs")
	}
}

func TestPartSize(t *testing.T) {
	s := &Store{opts: Options{PartSize: DefaultPartSize}}
	tests := []struct{ size, want int64 }{
		{0, DefaultPartSize},
		{DefaultPartSize * maxParts, DefaultPartSize},
		{DefaultPartSize*maxParts + 1, DefaultPartSize + 1},
		{5 << 40, (5<<40 + maxParts - 1) / maxParts}, // S3's largest object
	}
	for _, tt := range tests {
		got := s.partSize(tt.size)
		if got != tt.want {
			t.Errorf("partSize(%d) = %d, want %d", tt.size, got, tt.want)
		}
		if parts := (tt.size + got - 1) / got; parts > maxParts {
			t.Errorf("partSize(%d) needs %d parts", tt.size, parts)
		}
	}
}

// TestWalkIgnoresStrayKeys: keys under the prefix that are not blobs, and
// blobs of other prefixes, are not listed; paging does not lose or repeat
// blobs.
func TestWalkIgnoresStrayKeys(t *testing.T) {
	endpoint, direct := fakeUpstream(t)
	s := openStore(t, endpoint, "a", testOptions(t, nil))
	s.listPage = 2
	other := openStore(t, endpoint, "a/b", testOptions(t, nil))
	var want []cas.Ref
	for i := range 7 {
		want = append(want, mustPut(t, s, pattern(byte(20+i), 10+i)).Ref)
	}
	slices.SortFunc(want, func(x, y cas.Ref) int { return strings.Compare(x.String(), y.String()) })
	mustPut(t, other, []byte("a blob of the a/b store"))
	h := cas.Sum([]byte("stray")).String()
	for _, key := range []string{
		"a/blobs/README",
		"a/blobs/" + h[0:2] + "/" + h[2:4] + "/" + strings.ToUpper(h),
		"a/blobs/" + h[0:2] + "/" + h[2:4] + "/" + h + ".tmp",
		"a/blobs/" + h[0:2] + "/" + h[2:4] + "/" + h[:63],
		"a/blobs/00/00/" + h,                        // wrong shard
		"a/blobs/" + h[0:2] + h[2:4] + "/" + h + "", // no second level
		"a/blobs/" + h[0:2] + "/" + h[2:4] + "/sub/" + h,
		"a/blobsx/" + h[0:2] + "/" + h[2:4] + "/" + h,
		"b/blobs/" + h[0:2] + "/" + h[2:4] + "/" + h,
	} {
		if _, err := direct.PutObject(context.Background(), &s3.PutObjectInput{
			Bucket: aws.String(testBucket), Key: aws.String(key), Body: strings.NewReader("stray"),
		}); err != nil {
			t.Fatal(err)
		}
	}
	var got []cas.Ref
	if err := s.Walk(context.Background(), cas.Ref{}, func(b cas.BlobInfo) error {
		got = append(got, b.Ref)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("Walk = %v\nwant %v", got, want)
	}
	var gotOther []cas.Ref
	other.Walk(context.Background(), cas.Ref{}, func(b cas.BlobInfo) error { gotOther = append(gotOther, b.Ref); return nil })
	if len(gotOther) != 1 {
		t.Errorf("the a/b store walks %d blobs, want its 1", len(gotOther))
	}
}

// TestStageCleansUp: every way a Stage can fail leaves no temp file, and
// Discard removes it.
func TestStageCleansUp(t *testing.T) {
	endpoint, _ := fakeUpstream(t)
	opts := testOptions(t, nil)
	s := openStore(t, endpoint, "p", opts)
	errSource := errors.New("source broke")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		r    io.Reader
		opts cas.StageOptions
		want error
	}{
		{"source error", context.Background(), io.MultiReader(bytes.NewReader(pattern(30, 1<<20)), errReader{errSource}), cas.StageOptions{}, errSource},
		{"cancelled", cancelled, bytes.NewReader(pattern(31, 1000)), cas.StageOptions{}, context.Canceled},
		{"too large", context.Background(), bytes.NewReader(pattern(32, 2000)), cas.StageOptions{MaxSize: 1999}, cas.ErrTooLarge},
		{"wrong hash", context.Background(), bytes.NewReader(pattern(33, 2000)), cas.StageOptions{Want: cas.Sum(nil)}, cas.ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := s.Stage(tt.ctx, tt.r, tt.opts)
			if err == nil {
				st.Discard()
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Stage = %v, want %v", err, tt.want)
			}
			if names := tempFiles(t, opts.TempDir); len(names) != 0 {
				t.Errorf("temp files left: %q", names)
			}
		})
	}
	st, err := s.Stage(context.Background(), bytes.NewReader(pattern(34, 1000)), cas.StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if names := tempFiles(t, opts.TempDir); len(names) != 1 {
		t.Errorf("while staged: temp files %q, want one", names)
	}
	if _, err := st.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := st.Discard(); err != nil {
		t.Fatal(err)
	}
	if names := tempFiles(t, opts.TempDir); len(names) != 0 {
		t.Errorf("after Discard: temp files left: %q", names)
	}
	if _, err := st.ReadAt(make([]byte, 1), 0); !errors.Is(err, ErrDiscarded) {
		t.Errorf("ReadAt after Discard = %v, want ErrDiscarded", err)
	}
	if _, err := st.Commit(context.Background()); !errors.Is(err, ErrDiscarded) {
		t.Errorf("Commit after Discard = %v, want ErrDiscarded", err)
	}
}

// TestReadAtDuringCommit: the staged bytes stay readable while an upload
// of them is in flight (ingestion reads the upload while it commits).
func TestReadAtDuringCommit(t *testing.T) {
	endpoint, _ := fakeUpstream(t)
	ft := newFaultTransport()
	gate := make(chan struct{})
	ft.gate = gate
	s := openStore(t, endpoint, "p", testOptions(t, ft))
	data := pattern(35, 10000)
	st, err := s.Stage(context.Background(), bytes.NewReader(data), cas.StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Discard()
	done := make(chan error, 1)
	go func() { _, err := st.Commit(context.Background()); done <- err }()
	for len(ft.requests("PutObject")) == 0 {
		time.Sleep(time.Millisecond)
	}
	read := make(chan error, 1)
	go func() {
		p := make([]byte, 100)
		n, err := st.ReadAt(p, 500)
		if err == nil && (n != 100 || !bytes.Equal(p, data[500:600])) {
			err = fmt.Errorf("read %d bytes that differ", n)
		}
		read <- err
	}()
	select {
	case err := <-read:
		if err != nil {
			t.Errorf("ReadAt during Commit: %v", err)
		}
	case <-time.After(10 * time.Second):
		close(gate)
		t.Fatal("ReadAt blocked behind the Commit in flight")
	}
	select {
	case err := <-done:
		t.Fatalf("Commit ended (%v) while its PUT was held", err)
	default:
	}
	close(gate)
	if err := <-done; err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// TestOpenSweepsStaleTemps: Open removes this package's temp files older
// than a day and nothing else.
func TestOpenSweepsStaleTemps(t *testing.T) {
	endpoint, _ := fakeUpstream(t)
	opts := testOptions(t, nil)
	old := time.Now().Add(-48 * time.Hour)
	files := map[string]bool{ // name → survives
		"s3store-stage-111": false,
		"s3store-stage-222": true, // recent
		"someone-elses":     true,
	}
	for name, survives := range files {
		p := filepath.Join(opts.TempDir, name)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if !survives || name == "someone-elses" {
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	openStore(t, endpoint, "p", opts)
	for name, survives := range files {
		_, err := os.Stat(filepath.Join(opts.TempDir, name))
		if survives != (err == nil) {
			t.Errorf("%s: exists = %v, want %v", name, err == nil, survives)
		}
	}
}

// TestOpenErrors: a wrong bucket, wrong credentials and bad options fail
// at Open, each recognisably.
func TestOpenErrors(t *testing.T) {
	endpoint, _ := fakeUpstream(t)
	ctx := context.Background()
	if _, err := Open(ctx, strings.Replace(storeURL(endpoint, "p"), testBucket, "no-such-bucket", 1), testOptions(t, nil)); !errors.Is(err, ErrNoSuchBucket) {
		t.Errorf("Open on a missing bucket = %v, want ErrNoSuchBucket", err)
	}
	wrong := strings.Replace(storeURL(endpoint, "p"), "secret_key=", "secret_key=wrong", 1)
	if _, err := Open(ctx, wrong, testOptions(t, nil)); err == nil || errors.Is(err, ErrNoSuchBucket) || httpStatus(err) != 403 {
		t.Errorf("Open with a wrong secret = %v, want a 403", err)
	}
	if _, err := Open(ctx, "s3://Bad_Bucket", testOptions(t, nil)); !errors.Is(err, ErrBadURL) {
		t.Errorf("Open on a bad URL = %v, want ErrBadURL", err)
	}
	small := testOptions(t, nil)
	small.PartSize = 1 << 20
	if _, err := Open(ctx, storeURL(endpoint, "p"), small); err == nil {
		t.Error("Open with a 1 MiB part size succeeded")
	}
}

// TestCredentialsFromEnvironment: without keys in the URL the SDK's chain
// reads AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; keys in the URL win
// over the environment.
func TestCredentialsFromEnvironment(t *testing.T) {
	endpoint, _ := fakeUpstream(t)
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ACCESS_KEY_ID", harness.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", harness.SecretKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
	bare := "s3://" + testBucket + "/env?region=" + harness.Region + "&endpoint=" + endpoint
	s, err := Open(context.Background(), bare, testOptions(t, nil))
	if err != nil {
		t.Fatalf("Open with environment credentials: %v", err)
	}
	mustPut(t, s, []byte("via the environment"))

	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong")
	if _, err := Open(context.Background(), bare, testOptions(t, nil)); err == nil {
		t.Error("Open with a wrong secret in the environment succeeded")
	}
	s = openStore(t, endpoint, "env", testOptions(t, nil)) // URL keys
	mustPut(t, s, []byte("via the URL"))
}

// TestBatchUploadsConcurrently: a Batch overlaps its uploads, and all
// blobs are there after Commit.
func TestBatchUploadsConcurrently(t *testing.T) {
	endpoint, _ := fakeUpstream(t)
	ft := newFaultTransport()
	ft.setDelay(30 * time.Millisecond)
	opts := testOptions(t, ft)
	opts.BatchUploads = 4
	s := openStore(t, endpoint, "p", opts)
	b := s.NewBatch()
	defer b.Discard()
	var refs []cas.SizedRef
	for i := range 12 {
		ref, err := b.Add(context.Background(), bytes.NewReader(pattern(byte(40+i%10), 1000+i%10)), cas.StageOptions{})
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, ref)
	}
	if err := b.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, ref := range refs {
		if info, err := s.Stat(context.Background(), ref.Ref); err != nil || info.Size != ref.Size {
			t.Errorf("Stat(%s) after Commit = %+v, %v", ref, info, err)
		}
	}
	if n := len(ft.requests("PutObject")); n != 10 {
		t.Errorf("%d PUTs for 10 distinct blobs", n)
	}
	if ft.peakPuts() < 2 || ft.peakPuts() > 4 {
		t.Errorf("peak uploads in flight = %d, want 2..4", ft.peakPuts())
	}
	if names := tempFiles(t, opts.TempDir); len(names) != 0 {
		t.Errorf("temp files left: %q", names)
	}
}

// TestBatchReportsFailure: an upload that fails in the background fails
// Commit.
func TestBatchReportsFailure(t *testing.T) {
	endpoint, _ := fakeUpstream(t)
	ft := newFaultTransport(&fault{Op: "PutObject", Times: -1, Status: 403, Code: "AccessDenied"})
	s := openStore(t, endpoint, "p", testOptions(t, ft))
	b := s.NewBatch()
	defer b.Discard()
	if _, err := b.Add(context.Background(), strings.NewReader("denied"), cas.StageOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(context.Background()); httpStatus(err) != 403 {
		t.Errorf("Commit = %v, want the upload's 403", err)
	}
}
