package sigv4

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/minio/minio-go/v7/pkg/signer"
)

// chunkCtx is what chunk signatures chain from.
type chunkCtx struct {
	key     []byte
	amzDate string
	scope   string
	seed    string
}

func testChunkCtx(seed string) chunkCtx {
	return chunkCtx{
		key:     deriveKey(testSK, testTime.Format(shortDateFormat), testRegion),
		amzDate: testTime.Format(amzDateFormat),
		scope:   testTime.Format(shortDateFormat) + "/" + testRegion + "/s3/aws4_request",
		seed:    seed,
	}
}

func (c chunkCtx) signer() *chunkSigner {
	return &chunkSigner{key: c.key, prefix: c.amzDate + "\n" + c.scope + "\n", prevSig: c.seed}
}

// encodeChunked is an independent aws-chunked encoder (checked against
// minio-go's below) used to craft valid and broken bodies.
func encodeChunked(data []byte, chunk int, mode PayloadMode, c chunkCtx, trailers [][2]string) []byte {
	signed := mode == StreamingSigned || mode == StreamingSignedTrailer
	prev := c.seed
	sign := func(kind, rest string) string {
		m := hmac.New(sha256.New, c.key)
		io.WriteString(m, kind+"\n"+c.amzDate+"\n"+c.scope+"\n"+prev+"\n"+rest)
		prev = fmt.Sprintf("%x", m.Sum(nil))
		return prev
	}
	var b bytes.Buffer
	writeChunk := func(p []byte) {
		b.WriteString(strconv.FormatInt(int64(len(p)), 16))
		if signed {
			b.WriteString(";chunk-signature=" + sign("AWS4-HMAC-SHA256-PAYLOAD", emptySHA256Hex+"\n"+sha256Hex(p)))
		}
		b.WriteString("\r\n")
		if len(p) > 0 {
			b.Write(p)
			b.WriteString("\r\n")
		}
	}
	for len(data) > 0 {
		n := min(chunk, len(data))
		writeChunk(data[:n])
		data = data[n:]
	}
	writeChunk(nil)
	var lines strings.Builder
	for _, tr := range trailers {
		lines.WriteString(tr[0] + ":" + tr[1] + "\n")
		b.WriteString(tr[0] + ":" + tr[1] + "\r\n")
	}
	if mode == StreamingSignedTrailer {
		b.WriteString(trailerSigPrefix + sign("AWS4-HMAC-SHA256-TRAILER", sha256Hex([]byte(lines.String()))) + "\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

func crc32Base64(b []byte) string {
	var s [4]byte
	binary.BigEndian.PutUint32(s[:], crc32.ChecksumIEEE(b))
	return base64.StdEncoding.EncodeToString(s[:])
}

func testData(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// trailerValue reads a trailer by its lowercase name (Result.Trailer keys
// are lowercase, so http.Header.Get would miss them).
func trailerValue(h http.Header, name string) string {
	if vs := h[name]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

type sha256Hasher struct{ hash.Hash }

func (sha256Hasher) Close() {}

// TestMinioStreamingSigned: minio-go's STREAMING-AWS4-HMAC-SHA256-PAYLOAD
// encoder, with and without a signed trailer, through a real server.
func TestMinioStreamingSigned(t *testing.T) {
	srv := newServer(t, newVerifier(time.Time{}), false)
	for _, n := range []int{1, 1000, 64 << 10, 64<<10 + 1, 200_000} {
		for _, withTrailer := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d trailer=%v", n, withTrailer), func(t *testing.T) {
				data := testData(n)
				req := newRequest(t, "PUT", srv.URL, "/bucket/a b/☃", "", data)
				req.Header.Set("Content-Type", "application/octet-stream")
				want := StreamingSigned
				if withTrailer {
					req.Trailer = http.Header{"x-amz-checksum-crc32": {crc32Base64(data)}}
					want = StreamingSignedTrailer
				}
				req = signer.StreamingSignV4(req, testAK, testSK, "", testRegion, int64(n), time.Now().UTC(), sha256Hasher{sha256.New()})
				o := srv.do(t, req)
				if o.err != nil {
					t.Fatalf("verify: %v", o.err)
				}
				if !bytes.Equal(o.body, data) || o.res.PayloadMode != want || o.res.ContentLength != int64(n) {
					t.Fatalf("body %d bytes equal=%v, mode %v, length %d", len(o.body), bytes.Equal(o.body, data), o.res.PayloadMode, o.res.ContentLength)
				}
				if withTrailer && trailerValue(o.trailer, "x-amz-checksum-crc32") != crc32Base64(data) {
					t.Errorf("trailer = %v", o.trailer)
				}
			})
		}
	}
}

// TestEncoderMatchesMinio pins the test encoder to minio-go's bytes.
func TestEncoderMatchesMinio(t *testing.T) {
	data := testData(150_000)
	req, _ := http.NewRequest("PUT", "http://127.0.0.1:9/b/k", bytes.NewReader(data))
	req = signer.StreamingSignV4(req, testAK, testSK, "", testRegion, int64(len(data)), testTime, sha256Hasher{sha256.New()})
	got, err := io.ReadAll(req.Body)
	if err != nil {
		t.Fatal(err)
	}
	authz := req.Header.Get("Authorization")
	seed := authz[strings.LastIndex(authz, "=")+1:]
	want := encodeChunked(data, 64<<10, StreamingSigned, testChunkCtx(seed), nil)
	if !bytes.Equal(got, want) {
		t.Fatalf("encoder differs from minio-go:\n%.300q\n%.300q", got, want)
	}
}

// TestMinioStreamingUnsignedTrailer: minio-go's SignV4Trailer, which sends
// STREAMING-UNSIGNED-PAYLOAD-TRAILER with "name:value\n" trailer lines.
func TestMinioStreamingUnsignedTrailer(t *testing.T) {
	srv := newServer(t, newVerifier(time.Time{}), false)
	for _, n := range []int{1, 64 << 10, 100_000} {
		data := testData(n)
		req := newRequest(t, "PUT", srv.URL, "/bucket/k", "", data)
		req.Header.Set("X-Amz-Content-Sha256", streamingUnsignedTrailer)
		req = signer.SignV4Trailer(*req, testAK, testSK, "", testRegion,
			http.Header{"x-amz-checksum-crc32c": {"AAAAAA=="}})
		o := srv.do(t, req)
		if o.err != nil {
			t.Fatalf("%d: verify: %v", n, o.err)
		}
		if !bytes.Equal(o.body, data) || o.res.PayloadMode != StreamingUnsignedTrailer {
			t.Fatalf("%d: body equal=%v mode=%v", n, bytes.Equal(o.body, data), o.res.PayloadMode)
		}
		if got := trailerValue(o.trailer, "x-amz-checksum-crc32c"); got != "AAAAAA==" {
			t.Errorf("%d: trailer = %v", n, o.trailer)
		}
	}
}

// chunkedRequest signs a streaming request with the SDK signer (seed) and
// gives it a body from encode, which gets the seed signature.
func chunkedRequest(t *testing.T, base string, mode PayloadMode, declared string, trailerHdr string,
	encode func(seed string) []byte) *http.Request {
	t.Helper()
	length := len(encode(strings.Repeat("0", 64)))
	req := newRequest(t, "PUT", base, "/bucket/chunked key", "", nil)
	req.ContentLength = int64(length)
	req.Header.Set("Content-Encoding", "aws-chunked")
	if declared != "" {
		req.Header.Set("X-Amz-Decoded-Content-Length", declared)
	}
	if trailerHdr != "" {
		req.Header.Set("X-Amz-Trailer", trailerHdr)
	}
	sdkSign(t, req, mode.String(), testTime, testAK, testSK, testRegion)
	authz := req.Header.Get("Authorization")
	body := encode(authz[strings.LastIndex(authz, "=")+1:])
	if len(body) != length {
		t.Fatalf("encoded length changed: %d != %d", len(body), length)
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	return req
}

// TestChunkedThroughServer drives Verify's streaming modes with SDK-signed
// seeds, including tampering that only the chunk decoder can catch.
func TestChunkedThroughServer(t *testing.T) {
	data := testData(70_000)
	crc := crc32Base64(data)
	trailers := [][2]string{{"x-amz-checksum-crc32", crc}}
	srv := newServer(t, newVerifier(testTime), false)
	flipAt := func(b []byte, i int) []byte { b = bytes.Clone(b); b[i] ^= 1; return b }
	cases := []struct {
		name       string
		mode       PayloadMode
		declared   string
		trailerHdr string
		encode     func(c chunkCtx) []byte
		want       error
		fromVerify bool
	}{
		{name: "signed", mode: StreamingSigned, declared: "70000",
			encode: func(c chunkCtx) []byte { return encodeChunked(data, 8192, StreamingSigned, c, nil) }},
		{name: "signed trailer", mode: StreamingSignedTrailer, declared: "70000", trailerHdr: "x-amz-checksum-crc32",
			encode: func(c chunkCtx) []byte { return encodeChunked(data, 65536, StreamingSignedTrailer, c, trailers) }},
		{name: "unsigned trailer", mode: StreamingUnsignedTrailer, declared: "70000", trailerHdr: "x-amz-checksum-crc32",
			encode: func(c chunkCtx) []byte { return encodeChunked(data, 70000, StreamingUnsignedTrailer, c, trailers) }},
		{name: "tampered chunk data", mode: StreamingSigned, declared: "70000", want: ErrChunkSignatureMismatch,
			encode: func(c chunkCtx) []byte { return flipAt(encodeChunked(data, 8192, StreamingSigned, c, nil), 20000) }},
		{name: "tampered trailer", mode: StreamingSignedTrailer, declared: "70000", trailerHdr: "x-amz-checksum-crc32",
			want: ErrChunkSignatureMismatch,
			encode: func(c chunkCtx) []byte {
				tampered := [][2]string{{"x-amz-checksum-crc32", "AAAAAA=="}}
				good := encodeChunked(data, 65536, StreamingSignedTrailer, c, trailers)
				bad := encodeChunked(data, 65536, StreamingSignedTrailer, c, tampered)
				// keep the good signature, swap in the other value
				i := bytes.LastIndex(good, []byte(trailerSigPrefix))
				j := bytes.LastIndex(bad, []byte(trailerSigPrefix))
				return append(bad[:j:j], good[i:]...)
			}},
		{name: "unannounced trailer", mode: StreamingUnsignedTrailer, declared: "70000", want: ErrMalformedChunk,
			encode: func(c chunkCtx) []byte { return encodeChunked(data, 70000, StreamingUnsignedTrailer, c, trailers) }},
		{name: "decoded length too small", mode: StreamingSigned, declared: "69999", want: ErrIncompleteBody,
			encode: func(c chunkCtx) []byte { return encodeChunked(data, 8192, StreamingSigned, c, nil) }},
		{name: "decoded length too large", mode: StreamingSigned, declared: "70001", want: ErrIncompleteBody,
			encode: func(c chunkCtx) []byte { return encodeChunked(data, 8192, StreamingSigned, c, nil) }},
		{name: "decoded length missing is allowed", mode: StreamingSigned,
			encode: func(c chunkCtx) []byte { return encodeChunked(data, 8192, StreamingSigned, c, nil) }},
		{name: "decoded length garbage", mode: StreamingSigned, declared: "-5", want: ErrBadDecodedContentLength, fromVerify: true,
			encode: func(c chunkCtx) []byte { return encodeChunked(data, 8192, StreamingSigned, c, nil) }},
		{name: "truncated", mode: StreamingSigned, declared: "70000", want: ErrIncompleteBody,
			encode: func(c chunkCtx) []byte {
				b := encodeChunked(data, 8192, StreamingSigned, c, nil)
				return b[:len(b)-200]
			}},
		{name: "chunks reordered", mode: StreamingSigned, declared: "16384", want: ErrChunkSignatureMismatch,
			encode: func(c chunkCtx) []byte {
				b := encodeChunked(append(bytes.Repeat([]byte("a"), 8192), bytes.Repeat([]byte("b"), 8192)...), 8192, StreamingSigned, c, nil)
				n := len("2000;chunk-signature=") + 64 + 2 + 8192 + 2
				return append(append(bytes.Clone(b[n:2*n]), b[:n]...), b[2*n:]...)
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := chunkedRequest(t, srv.URL, tc.mode, tc.declared, tc.trailerHdr, func(seed string) []byte {
				return tc.encode(testChunkCtx(seed))
			})
			o := srv.do(t, req)
			if !errors.Is(o.err, tc.want) || (tc.want == nil) != (o.err == nil) {
				t.Fatalf("err = %v, want %v", o.err, tc.want)
			}
			if tc.want != nil && tc.fromVerify != (o.res == nil) {
				t.Errorf("error from Verify = %v, want %v", o.res == nil, tc.fromVerify)
			}
			if tc.want == nil {
				wantLen := int64(70000)
				if tc.declared == "" {
					wantLen = -1
				}
				if !bytes.Equal(o.body, data) || o.res.PayloadMode != tc.mode || o.res.ContentLength != wantLen {
					t.Errorf("body equal=%v mode=%v length=%d", bytes.Equal(o.body, data), o.res.PayloadMode, o.res.ContentLength)
				}
				if tc.trailerHdr != "" && trailerValue(o.trailer, "x-amz-checksum-crc32") != crc {
					t.Errorf("trailer = %v", o.trailer)
				}
			}
		})
	}
}

// decode runs the chunk decoder over body with reads of size bufSize.
func decode(body io.Reader, mode PayloadMode, declared int64, bufSize int, allowed ...string) ([]byte, http.Header, error) {
	c := newDecoder(body, mode, testChunkCtx(strings.Repeat("ab", 32)).signer(), declared)
	for _, a := range allowed {
		c.allowed[a] = true
	}
	var out bytes.Buffer
	buf := make([]byte, bufSize)
	for {
		n, err := c.Read(buf)
		out.Write(buf[:n])
		if err == io.EOF {
			return out.Bytes(), c.trailer(), nil
		}
		if err != nil {
			return out.Bytes(), c.trailer(), err
		}
	}
}

func TestChunkDecoderFraming(t *testing.T) {
	ctx := testChunkCtx(strings.Repeat("ab", 32))
	data := testData(20_000)
	tr := [][2]string{{"x-amz-checksum-sha256", "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="}}
	signed := encodeChunked(data, 8192, StreamingSigned, ctx, nil)
	unsigned := encodeChunked(data, 8192, StreamingUnsignedTrailer, ctx, tr)
	signedTr := encodeChunked(data, 8192, StreamingSignedTrailer, ctx, tr)
	replace := func(b []byte, old, new string) []byte {
		return bytes.Replace(bytes.Clone(b), []byte(old), []byte(new), 1)
	}
	sigLine := func(b []byte) string { // first chunk header
		return string(b[:bytes.IndexByte(b, '\n')+1])
	}
	cases := []struct {
		name     string
		mode     PayloadMode
		body     []byte
		declared int64
		want     error
	}{
		{"signed ok", StreamingSigned, signed, 20000, nil},
		{"unsigned trailer ok", StreamingUnsignedTrailer, unsigned, 20000, nil},
		{"signed trailer ok", StreamingSignedTrailer, signedTr, 20000, nil},
		{"minio-go style trailer lines", StreamingUnsignedTrailer,
			replace(unsigned, tr[0][1]+"\r\n\r\n", tr[0][1]+"\n\r\n\r\n"), 20000, nil},
		{"minio-go style signed trailer", StreamingSignedTrailer,
			replace(signedTr, tr[0][1]+"\r\n", tr[0][1]+"\n\r\n"), 20000, nil},
		{"empty body", StreamingSigned, encodeChunked(nil, 8192, StreamingSigned, ctx, nil), 0, nil},
		{"empty input", StreamingSigned, nil, 0, ErrIncompleteBody},
		{"no final chunk", StreamingUnsignedTrailer, unsigned[:bytes.LastIndex(unsigned, []byte("0\r\n"))], 20000, ErrIncompleteBody},
		{"no final CRLF", StreamingSigned, signed[:len(signed)-2], 20000, ErrIncompleteBody},
		{"cut in trailer", StreamingUnsignedTrailer, unsigned[:len(unsigned)-10], 20000, ErrIncompleteBody},
		{"cut in chunk header", StreamingSigned, signed[:30], 20000, ErrIncompleteBody},
		{"garbage", StreamingSigned, []byte("hello world\r\n"), 20000, ErrMalformedChunk},
		{"bare LF header", StreamingUnsignedTrailer, replace(unsigned, "2000\r\n", "2000\n"), 20000, ErrMalformedChunk},
		{"size not hex", StreamingUnsignedTrailer, replace(unsigned, "2000\r\n", "20x0\r\n"), 20000, ErrMalformedChunk},
		{"negative size", StreamingUnsignedTrailer, replace(unsigned, "2000\r\n", "-2000\r\n"), 20000, ErrMalformedChunk},
		{"size overflows", StreamingUnsignedTrailer, replace(unsigned, "2000\r\n", "ffffffffffffffff\r\n"), 20000, ErrMalformedChunk},
		{"unknown decoded length", StreamingUnsignedTrailer, unsigned, -1, nil},
		{"size beyond decoded length", StreamingUnsignedTrailer, replace(unsigned, "2000\r\n", "fffffff\r\n"), 20000, ErrIncompleteBody},
		{"signed chunk over 64MiB", StreamingSigned, replace(signed, "2000;", "4000001;"), 1 << 30, ErrMalformedChunk},
		{"chunk longer than announced", StreamingUnsignedTrailer, replace(unsigned, "2000\r\n", "1fff\r\n"), 20000, ErrMalformedChunk},
		{"missing chunk signature", StreamingSigned, replace(signed, sigLine(signed), "2000\r\n"), 20000, ErrMalformedChunk},
		{"short chunk signature", StreamingSigned, replace(signed, sigLine(signed), sigLine(signed)[:40]+"\r\n"), 20000, ErrMalformedChunk},
		{"non-hex chunk signature", StreamingSigned, replace(signed, sigLine(signed), sigLine(signed)[:30]+"zz"+sigLine(signed)[32:]), 20000, ErrMalformedChunk},
		{"wrong chunk signature", StreamingSigned, replace(signed, sigLine(signed), "2000;chunk-signature="+strings.Repeat("0", 64)+"\r\n"), 20000, ErrChunkSignatureMismatch},
		{"signature in unsigned mode", StreamingUnsignedTrailer, replace(unsigned, "2000\r\n", "2000;chunk-signature="+strings.Repeat("0", 64)+"\r\n"), 20000, ErrMalformedChunk},
		{"header line over 4KiB", StreamingUnsignedTrailer, replace(unsigned, "2000\r\n", strings.Repeat("0", 5000)+"2000\r\n"), 20000, ErrMalformedChunk},
		{"trailers not allowed", StreamingSigned, append(signed[:len(signed)-2:len(signed)-2], "x-amz-checksum-sha256:x\r\n\r\n"...), 20000, ErrMalformedChunk},
		{"unannounced trailer", StreamingUnsignedTrailer, replace(unsigned, "x-amz-checksum-sha256", "x-amz-meta-evil"), 20000, ErrMalformedChunk},
		{"repeated trailer", StreamingUnsignedTrailer, replace(unsigned, "\r\n\r\n", "\r\nx-amz-checksum-sha256:again\r\n\r\n"), 20000, ErrMalformedChunk},
		{"trailer without colon", StreamingUnsignedTrailer, replace(unsigned, "x-amz-checksum-sha256:", "x-amz-checksum-sha256 "), 20000, ErrMalformedChunk},
		{"huge trailer section", StreamingUnsignedTrailer,
			replace(unsigned, "\r\n\r\n", "\r\n"+strings.Repeat(strings.Repeat(" ", 4000)+"\r\n", 5)+"\r\n"), 20000, ErrMalformedChunk},
		{"endless blank lines before trailer signature", StreamingSignedTrailer,
			replace(signedTr, tr[0][1]+"\r\n", tr[0][1]+"\r\n"+strings.Repeat("\r\n", 9000)), 20000, ErrMalformedChunk},
		{"missing trailer signature", StreamingSignedTrailer,
			append(bytes.Clone(signedTr[:bytes.Index(signedTr, []byte(trailerSigPrefix))]), "\r\n"...), 20000, ErrIncompleteBody},
		{"trailer after trailer signature", StreamingSignedTrailer,
			replace(signedTr, "\r\n\r\n", "\r\nx-amz-checksum-sha256:x\r\n\r\n"), 20000, ErrMalformedChunk},
		{"data after the end", StreamingSigned, append(bytes.Clone(signed), "junk"...), 20000, ErrMalformedChunk},
		{"stray CRLF after the end is fine", StreamingSigned, append(bytes.Clone(signed), "\r\n\r\n"...), 20000, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, small := range []bool{false, true} {
				var src io.Reader = bytes.NewReader(tc.body)
				bufSize := 32 << 10
				if small {
					src, bufSize = iotest.OneByteReader(src), 3
				}
				out, trailer, err := decode(src, tc.mode, tc.declared, bufSize, "x-amz-checksum-sha256")
				if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
					t.Fatalf("small=%v: err = %v, want %v", small, err, tc.want)
				}
				if err != nil {
					continue
				}
				if (tc.declared >= 0 && int64(len(out)) != tc.declared) || !bytes.Equal(out, data[:min(len(out), len(data))]) {
					t.Errorf("small=%v: decoded %d bytes", small, len(out))
				}
				if tc.mode != StreamingSigned && trailerValue(trailer, "x-amz-checksum-sha256") != tr[0][1] {
					t.Errorf("small=%v: trailer = %v", small, trailer)
				}
			}
		})
	}
}

// TestChunkErrorAtChunkEnd: data of a chunk may be handed out before its
// signature is checked, but the Read that reaches its end fails.
func TestChunkErrorAtChunkEnd(t *testing.T) {
	ctx := testChunkCtx(strings.Repeat("ab", 32))
	data := testData(3 * 8192)
	body := encodeChunked(data, 8192, StreamingSigned, ctx, nil)
	// corrupt the last byte of the second chunk
	body = bytes.Clone(body)
	hdr := len("2000;chunk-signature=") + 64 + 2
	secondEnd := hdr + 8192 + 2 + hdr + 8192
	body[secondEnd-1] ^= 0xff
	c := newDecoder(bytes.NewReader(body), StreamingSigned, ctx.signer(), int64(len(data)))
	buf := make([]byte, 1000)
	total := 0
	var err error
	for err == nil {
		var n int
		n, err = c.Read(buf)
		total += n
	}
	if !errors.Is(err, ErrChunkSignatureMismatch) || total != 2*8192 {
		t.Fatalf("read %d bytes, err=%v; want the error at the end of chunk 2", total, err)
	}
	if n, err := c.Read(buf); n != 0 || !errors.Is(err, ErrChunkSignatureMismatch) {
		t.Fatalf("error not sticky: %d, %v", n, err)
	}
}

// TestChunkDecoderMemory: a large unsigned chunk streams with the decoder's
// fixed buffer; nothing proportional to the chunk is allocated.
func TestChunkDecoderMemory(t *testing.T) {
	const size = 64 << 20
	head := []byte(strconv.FormatInt(size, 16) + "\r\n")
	tail := []byte("\r\n0\r\n\r\n")
	src := io.MultiReader(bytes.NewReader(head), io.LimitReader(zeroReader{}, size), bytes.NewReader(tail))
	c := newDecoder(src, StreamingUnsignedTrailer, nil, size)
	buf := make([]byte, 32<<10)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	n, err := io.CopyBuffer(io.Discard, c, buf)
	runtime.ReadMemStats(&after)
	if err != nil || n != size {
		t.Fatalf("copy: %d, %v", n, err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("decoding %d bytes allocated %d bytes", size, grew)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// FuzzChunkDecoder: arbitrary bodies never panic or hang, decode the same
// whatever the read sizes, and a success always yields exactly the
// declared number of bytes.
func FuzzChunkDecoder(f *testing.F) {
	ctx := testChunkCtx(strings.Repeat("ab", 32))
	tr := [][2]string{{"x-amz-checksum-crc32", "AAAAAA=="}}
	for _, n := range []int{0, 1, 100, 9000} {
		data := testData(n)
		f.Add(encodeChunked(data, 4096, StreamingSigned, ctx, nil), uint8(0), uint16(n))
		f.Add(encodeChunked(data, 4096, StreamingUnsignedTrailer, ctx, tr), uint8(1), uint16(n))
		f.Add(encodeChunked(data, 4096, StreamingSignedTrailer, ctx, tr), uint8(2), uint16(n))
	}
	f.Add(encodeChunked(testData(5000), 4096, StreamingUnsignedTrailer, ctx, tr), uint8(1), uint16(math.MaxUint16))
	modes := []PayloadMode{StreamingSigned, StreamingUnsignedTrailer, StreamingSignedTrailer}
	f.Fuzz(func(t *testing.T, body []byte, mode uint8, declared uint16) {
		m := modes[int(mode)%len(modes)]
		d := int64(declared)
		if declared == math.MaxUint16 {
			d = -1 // x-amz-decoded-content-length absent
		}
		out1, tr1, err1 := decode(bytes.NewReader(body), m, d, 32<<10, "x-amz-checksum-crc32")
		out2, tr2, err2 := decode(iotest.OneByteReader(bytes.NewReader(body)), m, d, 5, "x-amz-checksum-crc32")
		if (err1 == nil) != (err2 == nil) || (err1 != nil && err1.Error() != err2.Error()) {
			t.Fatalf("read sizes change the outcome: %v vs %v", err1, err2)
		}
		if err1 != nil {
			if !errors.Is(err1, ErrMalformedChunk) && !errors.Is(err1, ErrIncompleteBody) && !errors.Is(err1, ErrChunkSignatureMismatch) {
				t.Fatalf("unexpected error class: %v", err1)
			}
			return
		}
		if !bytes.Equal(out1, out2) || (d >= 0 && len(out1) != int(d)) {
			t.Fatalf("decoded %d/%d bytes, declared %d", len(out1), len(out2), declared)
		}
		if !slices.Equal(tr1["x-amz-checksum-crc32"], tr2["x-amz-checksum-crc32"]) {
			t.Fatalf("trailers differ: %v vs %v", tr1, tr2)
		}
		for k := range tr1 {
			if k != "x-amz-checksum-crc32" {
				t.Fatalf("unannounced trailer %q accepted", k)
			}
		}
	})
}
