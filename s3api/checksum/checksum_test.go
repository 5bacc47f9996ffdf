package checksum

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/crc64nvme"
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func sumOf(a Algorithm, data []byte) string {
	h := a.New()
	h.Write(data)
	return b64(h.Sum(nil))
}

func TestKnownVectors(t *testing.T) {
	in := []byte("123456789")
	want := map[Algorithm]string{
		CRC32:     "cbf43926",
		CRC32C:    "e3069283",
		CRC64NVME: "ae8b14860a799888",
		SHA1:      "f7c3bc1d808e04732adf679965ccc34ca7ae3441",
		SHA256:    "15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225",
	}
	for _, a := range Algorithms() {
		h := a.New()
		h.Write(in)
		sum := h.Sum(nil)
		if got := hex.EncodeToString(sum); got != want[a] {
			t.Errorf("%s(123456789) = %s, want %s", a, got, want[a])
		}
		if len(sum) != a.Size() || h.Size() != a.Size() {
			t.Errorf("%s: size %d, Size() %d", a, len(sum), a.Size())
		}
	}
}

// TestCRC64NVMEMatchesMinio: hash/crc64 with the reflected polynomial is
// minio's (assembly) crc64nvme on every length and alignment.
func TestCRC64NVMEMatchesMinio(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 1<<20+13)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	lengths := []int{0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 255, 256, 1000, 4096, 65537, len(data)}
	for _, n := range lengths {
		for _, off := range []int{0, 3} {
			if off+n > len(data) {
				continue
			}
			p := data[off : off+n]
			ours := CRC64NVME.New()
			ours.Write(p)
			theirs := crc64nvme.New()
			theirs.Write(p)
			if !bytes.Equal(ours.Sum(nil), theirs.Sum(nil)) {
				t.Errorf("len %d off %d: %x != minio %x", n, off, ours.Sum(nil), theirs.Sum(nil))
			}
		}
	}
}

// TestAgainstSDK: the aws-sdk-go-v2 S3 client computes each algorithm
// itself and sends it in x-amz-checksum-<alg> (plain HTTP); the Reader
// must compute the same and accept the request.
func TestAgainstSDK(t *testing.T) {
	type seen struct {
		header http.Header
		sums   map[Algorithm]string
		md5    []byte
		err    error
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		want, err := WantFromHeader(r.Header)
		s := seen{header: r.Header, err: err}
		if err == nil {
			cr := NewReader(r.Body, want)
			_, s.err = io.Copy(io.Discard, cr)
			s.sums, s.md5 = cr.Sums(), cr.MD5()
		}
		got <- s
	}))
	defer srv.Close()
	client := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AK", SecretAccessKey: "SK"}, nil
		}),
	})
	sdkAlg := map[Algorithm]types.ChecksumAlgorithm{
		CRC32: types.ChecksumAlgorithmCrc32, CRC32C: types.ChecksumAlgorithmCrc32c,
		CRC64NVME: types.ChecksumAlgorithmCrc64nvme, SHA1: types.ChecksumAlgorithmSha1, SHA256: types.ChecksumAlgorithmSha256,
	}
	for _, data := range [][]byte{[]byte("123456789"), bytes.Repeat([]byte("dewar "), 50_000)} {
		for _, a := range Algorithms() {
			client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("b"), Key: aws.String("k"),
				Body: bytes.NewReader(data), ChecksumAlgorithm: sdkAlg[a]})
			s := <-got
			if s.err != nil {
				t.Fatalf("%s: %v", a, s.err)
			}
			sdk := s.header.Get(a.HeaderName())
			if sdk == "" || s.sums[a] != sdk {
				t.Errorf("%s over %d bytes: ours %q, SDK %q", a, len(data), s.sums[a], sdk)
			}
			if m := md5.Sum(data); !bytes.Equal(s.md5, m[:]) {
				t.Errorf("%s: MD5 %x", a, s.md5)
			}
		}
	}
}

func TestParseAlgorithm(t *testing.T) {
	for _, s := range []string{"crc32", "CRC32", "Crc32c", "crc64nvme", "sha1", "SHA256"} {
		a, err := ParseAlgorithm(s)
		if err != nil || !strings.EqualFold(string(a), s) {
			t.Errorf("ParseAlgorithm(%q) = %q, %v", s, a, err)
		}
	}
	for _, s := range []string{"", "md5", "crc64", "sha512", "crc32 "} {
		if _, err := ParseAlgorithm(s); !errors.Is(err, ErrUnknownAlgorithm) {
			t.Errorf("ParseAlgorithm(%q) err = %v", s, err)
		}
	}
	if CRC32C.HeaderName() != "x-amz-checksum-crc32c" || CRC64NVME.HeaderName() != "x-amz-checksum-crc64nvme" {
		t.Error("HeaderName")
	}
}

func TestWantFromHeader(t *testing.T) {
	data := []byte("hello")
	md5b := md5.Sum(data)
	crc := sumOf(CRC32, data)
	cases := []struct {
		name string
		hdr  map[string][]string
		want Want
		err  error
	}{
		{name: "nothing", hdr: nil},
		{name: "content-md5", hdr: map[string][]string{"Content-Md5": {b64(md5b[:])}}, want: Want{ContentMD5: md5b[:]}},
		{name: "content-md5 not base64", hdr: map[string][]string{"Content-Md5": {"!!!"}}, err: ErrInvalidDigest},
		{name: "content-md5 wrong length", hdr: map[string][]string{"Content-Md5": {b64([]byte("short"))}}, err: ErrInvalidDigest},
		{name: "content-md5 hex instead of base64", hdr: map[string][]string{"Content-Md5": {hex.EncodeToString(md5b[:])}}, err: ErrInvalidDigest},
		{name: "crc32 header (botocore over http)", hdr: map[string][]string{
			"X-Amz-Checksum-Crc32": {crc}, "X-Amz-Sdk-Checksum-Algorithm": {"CRC32"}},
			want: Want{Values: map[Algorithm]string{CRC32: crc}}},
		{name: "checksum wrong length", hdr: map[string][]string{"X-Amz-Checksum-Sha256": {crc}}, err: ErrInvalidChecksum},
		{name: "checksum not base64", hdr: map[string][]string{"X-Amz-Checksum-Crc32": {"????"}}, err: ErrInvalidChecksum},
		{name: "two checksums", hdr: map[string][]string{"X-Amz-Checksum-Crc32": {crc}, "X-Amz-Checksum-Crc32c": {sumOf(CRC32C, data)}},
			err: ErrInvalidChecksum},
		{name: "trailer (botocore over https)", hdr: map[string][]string{
			"X-Amz-Trailer": {"x-amz-checksum-crc32"}, "X-Amz-Sdk-Checksum-Algorithm": {"CRC32"}},
			want: Want{TrailerAlgorithm: CRC32}},
		{name: "trailer list", hdr: map[string][]string{"X-Amz-Trailer": {"x-amz-meta-a, X-Amz-Checksum-Sha1"}},
			want: Want{TrailerAlgorithm: SHA1}},
		{name: "trailer unknown algorithm", hdr: map[string][]string{"X-Amz-Trailer": {"x-amz-checksum-xxhash64"}}, err: ErrUnknownAlgorithm},
		{name: "trailer and header", hdr: map[string][]string{"X-Amz-Trailer": {"x-amz-checksum-crc32c"}, "X-Amz-Checksum-Crc32": {crc}},
			err: ErrInvalidChecksum},
		{name: "two trailers", hdr: map[string][]string{"X-Amz-Trailer": {"x-amz-checksum-crc32c,x-amz-checksum-crc32"}},
			err: ErrInvalidChecksum},
		{name: "sdk algorithm alone", hdr: map[string][]string{"X-Amz-Sdk-Checksum-Algorithm": {"crc64nvme"}},
			want: Want{Compute: []Algorithm{CRC64NVME}}},
		{name: "sdk algorithm unknown", hdr: map[string][]string{"X-Amz-Sdk-Checksum-Algorithm": {"MD5"}}, err: ErrUnknownAlgorithm},
		{name: "checksum mode and type are not values", hdr: map[string][]string{
			"X-Amz-Checksum-Mode": {"ENABLED"}, "X-Amz-Checksum-Type": {"COMPOSITE"}, "X-Amz-Checksum-Algorithm": {"CRC32"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for k, vs := range tc.hdr {
				h[k] = vs
			}
			got, err := WantFromHeader(h)
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if !bytes.Equal(got.ContentMD5, tc.want.ContentMD5) || got.TrailerAlgorithm != tc.want.TrailerAlgorithm ||
				len(got.Values) != len(tc.want.Values) || len(got.Compute) != len(tc.want.Compute) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for a, v := range tc.want.Values {
				if got.Values[a] != v {
					t.Errorf("Values[%s] = %q", a, got.Values[a])
				}
			}
			for i, a := range tc.want.Compute {
				if got.Compute[i] != a {
					t.Errorf("Compute = %v", got.Compute)
				}
			}
		})
	}
}

func TestReader(t *testing.T) {
	data := bytes.Repeat([]byte("phishing kit "), 10_000)
	md5b := md5.Sum(data)
	other := md5.Sum([]byte("x"))
	trailer := func(h http.Header) func() http.Header { return func() http.Header { return h } }
	cases := []struct {
		name     string
		want     Want
		err      error
		computed []Algorithm
	}{
		{name: "md5 only", want: Want{}},
		{name: "content-md5 ok", want: Want{ContentMD5: md5b[:]}},
		{name: "content-md5 mismatch", want: Want{ContentMD5: other[:]}, err: ErrBadDigest},
		{name: "header ok", want: Want{Values: map[Algorithm]string{SHA256: sumOf(SHA256, data)}}, computed: []Algorithm{SHA256}},
		{name: "header mismatch", want: Want{Values: map[Algorithm]string{CRC32C: sumOf(CRC32C, data[1:])}}, err: ErrChecksumMismatch, computed: []Algorithm{CRC32C}},
		{name: "header malformed", want: Want{Values: map[Algorithm]string{CRC32: "x"}}, err: ErrInvalidChecksum, computed: []Algorithm{CRC32}},
		{name: "trailer ok (lowercase keys)", want: Want{TrailerAlgorithm: CRC32,
			Trailer: trailer(http.Header{"x-amz-checksum-crc32": {sumOf(CRC32, data)}})}, computed: []Algorithm{CRC32}},
		{name: "trailer ok (canonical keys)", want: Want{TrailerAlgorithm: CRC64NVME,
			Trailer: trailer(http.Header{"X-Amz-Checksum-Crc64nvme": {sumOf(CRC64NVME, data)}})}, computed: []Algorithm{CRC64NVME}},
		{name: "trailer mismatch", want: Want{TrailerAlgorithm: SHA1,
			Trailer: trailer(http.Header{"x-amz-checksum-sha1": {sumOf(SHA1, nil)}})}, err: ErrChecksumMismatch, computed: []Algorithm{SHA1}},
		{name: "trailer missing", want: Want{TrailerAlgorithm: CRC32, Trailer: trailer(http.Header{})}, err: ErrMissingTrailer, computed: []Algorithm{CRC32}},
		{name: "trailer func unset", want: Want{TrailerAlgorithm: CRC32}, err: ErrMissingTrailer, computed: []Algorithm{CRC32}},
		{name: "trailer malformed", want: Want{TrailerAlgorithm: CRC32,
			Trailer: trailer(http.Header{"x-amz-checksum-crc32": {"AAAA"}})}, err: ErrInvalidChecksum, computed: []Algorithm{CRC32}},
		{name: "compute all", want: Want{Compute: Algorithms()}, computed: Algorithms()},
		{name: "compute dedupes", want: Want{Values: map[Algorithm]string{CRC32: sumOf(CRC32, data)}, Compute: []Algorithm{CRC32, CRC32C}},
			computed: []Algorithm{CRC32, CRC32C}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(iotest.HalfReader(bytes.NewReader(data)), tc.want)
			if r.MD5() != nil || r.Sums() != nil {
				t.Error("digests before EOF")
			}
			out, err := io.ReadAll(r)
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if len(out) != len(data) {
				t.Errorf("passed %d of %d bytes", len(out), len(data))
			}
			if _, again := r.Read(make([]byte, 1)); again == nil || (tc.err != nil && !errors.Is(again, tc.err)) {
				t.Errorf("not sticky: %v", again)
			}
			if !bytes.Equal(r.MD5(), md5b[:]) {
				t.Errorf("MD5 = %x", r.MD5())
			}
			if len(r.Sums()) != len(tc.computed) {
				t.Errorf("Sums = %v, want %v", r.Sums(), tc.computed)
			}
			for _, a := range tc.computed {
				if r.Sums()[a] != sumOf(a, data) {
					t.Errorf("Sums[%s] = %q", a, r.Sums()[a])
				}
			}
			var me *MismatchError
			if errors.Is(tc.err, ErrChecksumMismatch) && (!errors.As(err, &me) || me.Algorithm == "" || !strings.Contains(err.Error(), string(me.Algorithm))) {
				t.Errorf("mismatch error does not name the algorithm: %v", err)
			}
		})
	}
}

func TestReaderPassesErrors(t *testing.T) {
	boom := errors.New("connection reset")
	r := NewReader(iotest.ErrReader(boom), Want{Values: map[Algorithm]string{CRC32: sumOf(CRC32, nil)}})
	if _, err := r.Read(make([]byte, 8)); err != boom {
		t.Fatalf("err = %v", err)
	}
	if r.Sums() != nil {
		t.Error("sums after a failed read")
	}
}

// TestReaderNoAllocs: the fan-out allocates nothing per Read.
func TestReaderNoAllocs(t *testing.T) {
	src := &endless{}
	r := NewReader(src, Want{Compute: Algorithms()})
	buf := make([]byte, 32<<10)
	if allocs := testing.AllocsPerRun(100, func() { r.Read(buf) }); allocs != 0 {
		t.Errorf("%v allocations per Read", allocs)
	}
}

type endless struct{}

func (*endless) Read(p []byte) (int, error) { return len(p), nil }

func BenchmarkReader(b *testing.B) {
	for _, w := range []struct {
		name string
		want Want
	}{{"md5", Want{}}, {"md5+crc32", Want{Compute: []Algorithm{CRC32}}}, {"all", Want{Compute: Algorithms()}}} {
		b.Run(w.name, func(b *testing.B) {
			buf := make([]byte, 1<<20)
			r := NewReader(&endless{}, w.want)
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				r.Read(buf)
			}
		})
	}
}

func TestComposite(t *testing.T) {
	p1, p2 := []byte("part one"), []byte("part two")
	for _, a := range []Algorithm{CRC32, CRC32C, SHA1, SHA256} {
		h1, h2 := a.New(), a.New()
		h1.Write(p1)
		h2.Write(p2)
		joined := append(h1.Sum(nil), h2.Sum(nil)...)
		outer := a.New()
		outer.Write(joined)
		want := b64(outer.Sum(nil)) + "-2"
		got, err := Composite(a, []string{b64(h1.Sum(nil)), b64(h2.Sum(nil))})
		if err != nil || got != want {
			t.Errorf("Composite(%s) = %q, %v; want %q", a, got, err, want)
		}
	}
	for _, bad := range []struct {
		a     Algorithm
		parts []string
		err   error
	}{
		{CRC32, nil, ErrInvalidChecksum},
		{CRC32, []string{"AAAAAAAA"}, ErrInvalidChecksum},
		{"MD5", []string{"AAAAAA=="}, ErrUnknownAlgorithm},
	} {
		if _, err := Composite(bad.a, bad.parts); !errors.Is(err, bad.err) {
			t.Errorf("Composite(%s, %q) err = %v", bad.a, bad.parts, err)
		}
	}
}

// Bodies over asyncAfter are hashed on a background goroutine; the results
// and the mismatch checks must not change.
func TestReaderLargeBodyAsync(t *testing.T) {
	body := make([]byte, 3*asyncAfter+12345)
	for i := range body {
		body[i] = byte(i * 31)
	}
	sum := md5.Sum(body)
	for _, tc := range []struct {
		name    string
		md5     []byte
		wantErr error
	}{
		{"match", sum[:], nil},
		{"mismatch", make([]byte, 16), ErrBadDigest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(bytes.NewReader(body), Want{ContentMD5: tc.md5, Compute: []Algorithm{CRC32C}})
			_, err := io.Copy(io.Discard, r)
			if !errors.Is(err, tc.wantErr) && !(tc.wantErr == nil && err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == nil && !bytes.Equal(r.MD5(), sum[:]) {
				t.Fatalf("MD5 = %x, want %x", r.MD5(), sum)
			}
		})
	}
	// Abandoned before EOF: Close ends the goroutine.
	r := NewReader(bytes.NewReader(body), Want{})
	if _, err := io.CopyN(io.Discard, r, 2*asyncAfter); err != nil {
		t.Fatal(err)
	}
	if r.back == nil {
		t.Fatal("background hashing did not start")
	}
	r.Close()
	r.Close()
}
