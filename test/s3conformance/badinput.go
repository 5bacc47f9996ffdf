package s3conformance

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

var badInputCases = []testCase{
	{"ContentSHA256Mismatch", testContentSHA256Mismatch},
	{"StreamingSignedChunks", testStreamingSigned},
	{"StreamingTamperedChunkSignature", testTamperedChunkSignature},
	{"StreamingTruncatedBody", testTruncatedChunked},
	{"StreamingMisframedChunkHeader", testMisframedChunk},
	{"MalformedXMLCompleteMultipartUpload", testMalformedCompleteXML},
	{"MalformedXMLDeleteObjects", testMalformedDeleteXML},
	{"KeyTooLong", testKeyTooLong},
	{"ShortBodyThenClose", testShortBody},
	{"ClientDisconnectsMidUpload", testDisconnect},
}

func testContentSHA256Mismatch(t *testing.T, e *env) {
	b := e.bucket(t)
	body := data(100_000)
	for _, tc := range []struct {
		name string
		hash string
		code string
	}{
		{"other body's digest", sha256Hex([]byte("other")), "XAmzContentSHA256Mismatch"},
		{"digest of a prefix", sha256Hex(body[:len(body)-1]), "XAmzContentSHA256Mismatch"},
		{"not a digest", "abc", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := e.newRequest(t, http.MethodPut, b, "m", nil, body)
			e.sign(t, req, tc.hash, signOpts{})
			r := e.send(t, req)
			if tc.code != "" {
				wantRaw(t, r, http.StatusBadRequest, tc.code)
			} else {
				want4xx(t, r)
			}
			e.absent(t, b, "m")
		})
	}
	// The same on an upload part: the part is not stored.
	id := e.create(t, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("mp")})
	req := e.newRequest(t, http.MethodPut, b, "mp", url.Values{"partNumber": {"1"}, "uploadId": {id}}, body)
	e.sign(t, req, sha256Hex([]byte("other")), signOpts{})
	wantRaw(t, e.send(t, req), http.StatusBadRequest, "XAmzContentSHA256Mismatch")
	lp, err := e.s3.ListParts(ctx(t), &s3.ListPartsInput{Bucket: &b, Key: aws.String("mp"), UploadId: &id})
	must(t, err, "ListParts")
	eq(t, "parts stored", len(lp.Parts), 0)
	// A mismatch on an overwrite keeps the old object.
	e.put(t, b, "keep", []byte("old"))
	req = e.newRequest(t, http.MethodPut, b, "keep", nil, body)
	e.sign(t, req, sha256Hex([]byte("other")), signOpts{})
	wantRaw(t, e.send(t, req), http.StatusBadRequest, "XAmzContentSHA256Mismatch")
	e.wantBody(t, b, "keep", []byte("old"))
}

// testStreamingSigned is the positive control for the chunked tests: the
// hand-made STREAMING-AWS4-HMAC-SHA256-PAYLOAD body is accepted.
func testStreamingSigned(t *testing.T, e *env) {
	b := e.bucket(t)
	for _, n := range []int{0, 1, chunkedBodyChunks, 3*chunkedBodyChunks + 17} {
		body := data(n)
		key := "s" + strconv.Itoa(n)
		r := e.send(t, e.streamingRequest(t, b, key, body, nil))
		wantRaw(t, r, http.StatusOK, "")
		eq(t, "ETag", r.header.Get("ETag"), quotedMD5(body))
		e.wantBody(t, b, key, body)
	}
	// Unsigned trailer mode too (what SDKs send over HTTPS).
	body := data(2*chunkedBodyChunks + 5)
	r := e.send(t, e.trailerRequest(t, b, "t", body, "x-amz-checksum-crc32", sum64(algs[0].new, body), nil))
	wantRaw(t, r, http.StatusOK, "")
	e.wantBody(t, b, "t", body)
}

func testTamperedChunkSignature(t *testing.T, e *env) {
	b := e.bucket(t)
	body := data(3*chunkedBodyChunks + 100)
	e.put(t, b, "keep", []byte("old"))
	for _, tc := range []struct {
		name   string
		tamper func([]byte) []byte
	}{
		{"first chunk signature", func(enc []byte) []byte { return flipSig(enc, 0) }},
		{"middle chunk signature", func(enc []byte) []byte { return flipSig(enc, 2) }},
		{"final empty chunk signature", func(enc []byte) []byte { return flipSig(enc, 4) }},
		{"chunk data", func(enc []byte) []byte {
			i := bytes.Index(enc, []byte("\r\n")) + 2 + 1000
			enc[i] ^= 0x55
			return enc
		}},
		{"chunks swapped", func(enc []byte) []byte {
			// Two equal-size chunks exchanged: each is signed, but out of chain.
			first := chunkAt(enc, 0)
			second := chunkAt(enc, 1)
			out := append([]byte(nil), enc[:first[0]]...)
			out = append(out, enc[second[0]:second[1]]...)
			out = append(out, enc[first[0]:first[1]]...)
			return append(out, enc[second[1]:]...)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, key := range []string{"victim", "keep"} {
				r := e.send(t, e.streamingRequest(t, b, key, body, tc.tamper))
				wantRaw(t, r, http.StatusForbidden, "SignatureDoesNotMatch")
			}
			e.absent(t, b, "victim")
			e.wantBody(t, b, "keep", []byte("old"))
		})
	}
}

// chunkAt returns the [start, end) byte span of chunk i (header included).
func chunkAt(enc []byte, i int) [2]int {
	off := 0
	for n := 0; ; n++ {
		hdrEnd := bytes.Index(enc[off:], []byte("\r\n")) + off
		sizeHex, _, _ := strings.Cut(string(enc[off:hdrEnd]), ";")
		size, _ := strconv.ParseInt(sizeHex, 16, 64)
		end := hdrEnd + 2 + int(size) + 2
		if n == i {
			return [2]int{off, end}
		}
		off = end
	}
}

// flipSig changes one hex digit of chunk i's signature.
func flipSig(enc []byte, i int) []byte {
	span := chunkAt(enc, i)
	j := bytes.Index(enc[span[0]:], []byte("chunk-signature=")) + span[0] + len("chunk-signature=")
	if enc[j] == '0' {
		enc[j] = '1'
	} else {
		enc[j] = '0'
	}
	return enc
}

func testTruncatedChunked(t *testing.T, e *env) {
	b := e.bucket(t)
	body := data(3*chunkedBodyChunks + 100)
	e.put(t, b, "keep", []byte("old"))
	cut := func(n int) func([]byte) []byte {
		return func(enc []byte) []byte { return enc[:n] }
	}
	for _, tc := range []struct {
		name   string
		tamper func([]byte) []byte
	}{
		{"mid chunk", cut(chunkedBodyChunks + 500)},
		{"before final chunk", func(enc []byte) []byte { return enc[:chunkAt(enc, 4)[0]] }},
		{"mid chunk header", func(enc []byte) []byte { return enc[:chunkAt(enc, 1)[0]+10] }},
		{"no trailing CRLF", func(enc []byte) []byte { return enc[:len(enc)-2] }},
	} {
		t.Run("signed/"+tc.name, func(t *testing.T) {
			for _, key := range []string{"victim", "keep"} {
				want4xx(t, e.send(t, e.streamingRequest(t, b, key, body, tc.tamper)))
			}
			e.absent(t, b, "victim")
			e.wantBody(t, b, "keep", []byte("old"))
		})
		t.Run("trailer/"+tc.name, func(t *testing.T) {
			for _, key := range []string{"victim", "keep"} {
				req := e.trailerRequest(t, b, key, body, "x-amz-checksum-crc32", sum64(algs[0].new, body), func(enc []byte) []byte {
					if tc.name == "before final chunk" {
						return enc[:bytes.LastIndex(enc, []byte("0\r\n"))]
					}
					if tc.name == "mid chunk header" {
						return enc[:len("10000\r\n")+chunkedBodyChunks+2+3]
					}
					return tc.tamper(enc)
				})
				want4xx(t, e.send(t, req))
			}
			e.absent(t, b, "victim")
			e.wantBody(t, b, "keep", []byte("old"))
		})
	}
	// Fewer decoded bytes than x-amz-decoded-content-length announced,
	// framing intact.
	req := e.streamingRequestWithLength(t, b, "victim", body, len(body)+1)
	want4xx(t, e.send(t, req))
	req = e.streamingRequestWithLength(t, b, "victim", body, len(body)-1)
	want4xx(t, e.send(t, req))
	e.absent(t, b, "victim")
}

// streamingRequestWithLength signs a streaming PUT whose
// x-amz-decoded-content-length is decoded instead of the truth.
func (e *env) streamingRequestWithLength(t *testing.T, bucket, key string, body []byte, decoded int) *http.Request {
	t.Helper()
	o := e.resolve(signOpts{})
	encodedLen := len(signedChunks(&chunkSigner{}, body))
	req := e.newRequest(t, http.MethodPut, bucket, key, nil, nil)
	req.Header.Set("Content-Encoding", "aws-chunked")
	req.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(decoded))
	req.ContentLength = int64(encodedLen)
	e.sign(t, req, streamingSigned, o)
	_, seed, _ := strings.Cut(req.Header.Get("Authorization"), "Signature=")
	date := o.at.Format("20060102")
	cs := &chunkSigner{key: signingKey(o.secretKey, date, o.region), amzDate: o.at.Format(amzDateFormat), scope: date + "/" + o.region + "/s3/aws4_request", prev: seed}
	req.Body = io.NopCloser(bytes.NewReader(signedChunks(cs, body)))
	return req
}

func testMisframedChunk(t *testing.T, e *env) {
	b := e.bucket(t)
	body := data(2*chunkedBodyChunks + 100)
	e.put(t, b, "keep", []byte("old"))
	for _, tc := range []struct {
		name   string
		tamper func([]byte) []byte
	}{
		{"size not hex", func(enc []byte) []byte { enc[0] = 'z'; return enc }},
		{"size too large", func(enc []byte) []byte {
			return append([]byte("fffffffffffffff"), enc[bytes.IndexByte(enc, ';'):]...)
		}},
		{"size larger than the chunk", func(enc []byte) []byte {
			s := chunkAt(enc, 1)
			return bytes.Replace(enc, enc[s[0]:s[0]+5], []byte("10001"), 1)
		}},
		{"size smaller than the chunk", func(enc []byte) []byte {
			return append([]byte(fmt.Sprintf("%x", chunkedBodyChunks-1)), enc[bytes.IndexByte(enc, ';'):]...)
		}},
		{"LF instead of CRLF after data", func(enc []byte) []byte {
			s := chunkAt(enc, 0)
			return append(append(append([]byte(nil), enc[:s[1]-2]...), '\n'), enc[s[1]:]...)
		}},
		{"no chunk-signature", func(enc []byte) []byte {
			return bytes.Replace(enc, []byte(";chunk-signature="), []byte(";chunk-signatur="), 1)
		}},
		{"garbage after the final chunk", func(enc []byte) []byte { return append(enc, "junk"...) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, key := range []string{"victim", "keep"} {
				req := e.streamingRequest(t, b, key, body, tc.tamper)
				r := e.send(t, req)
				want4xx(t, r)
			}
			e.absent(t, b, "victim")
			e.wantBody(t, b, "keep", []byte("old"))
		})
	}
	// Unsigned-trailer framing errors.
	for _, tc := range []struct {
		name   string
		tamper func([]byte) []byte
	}{
		{"size not hex", func(enc []byte) []byte { enc[0] = 'z'; return enc }},
		{"trailer without colon", func(enc []byte) []byte {
			return bytes.Replace(enc, []byte("x-amz-checksum-crc32:"), []byte("x-amz-checksum-crc32 "), 1)
		}},
		{"other trailer than announced", func(enc []byte) []byte {
			return bytes.Replace(enc, []byte("x-amz-checksum-crc32:"), []byte("x-amz-checksum-crc3x:"), 1)
		}},
	} {
		t.Run("trailer/"+tc.name, func(t *testing.T) {
			req := e.trailerRequest(t, b, "victim", body, "x-amz-checksum-crc32", sum64(algs[0].new, body), tc.tamper)
			want4xx(t, e.send(t, req))
			e.absent(t, b, "victim")
		})
	}
}

func testMalformedCompleteXML(t *testing.T, e *env) {
	b := e.bucket(t)
	id := e.create(t, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("x")})
	part := e.uploadPart(t, b, "x", id, 1, data(100))
	for _, tc := range []struct{ name, body, code string }{
		{"not xml", "this is not xml", "MalformedXML"},
		{"truncated", `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>`, "MalformedXML"},
		{"no parts", `<CompleteMultipartUpload></CompleteMultipartUpload>`, "MalformedXML"},
		{"part number not a number", `<CompleteMultipartUpload><Part><PartNumber>one</PartNumber><ETag>` + aws.ToString(part.ETag) + `</ETag></Part></CompleteMultipartUpload>`, "MalformedXML"},
		{"empty body", "", "MissingRequestBodyError"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := e.newRequest(t, http.MethodPost, b, "x", url.Values{"uploadId": {id}}, []byte(tc.body))
			e.signBody(t, req, []byte(tc.body), signOpts{})
			r := e.send(t, req)
			if tc.code == "MissingRequestBodyError" && r.code == "MalformedXML" {
				tc.code = "MalformedXML" // AWS answers either
			}
			wantRaw(t, r, http.StatusBadRequest, tc.code)
			e.absent(t, b, "x")
		})
	}
	// The upload is still there and completes.
	e.complete(t, b, "x", id, part)
}

func testMalformedDeleteXML(t *testing.T, e *env) {
	b := e.bucket(t)
	e.put(t, b, "k", []byte("v"))
	for _, tc := range []struct{ name, body string }{
		{"not xml", "<<<"},
		{"truncated", `<Delete><Object><Key>k</Key></Object>`},
		{"unclosed element", `<Delete><Object><Key>k</Object></Delete>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := e.newRequest(t, http.MethodPost, b, "", url.Values{"delete": {""}}, []byte(tc.body))
			req.URL.RawQuery = "delete"
			e.signBody(t, req, []byte(tc.body), signOpts{})
			wantRaw(t, e.send(t, req), http.StatusBadRequest, "MalformedXML")
			e.wantBody(t, b, "k", []byte("v"))
		})
	}
	// The control: a well-formed document by hand, with no Content-MD5.
	doc := `<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet><Object><Key>k</Key></Object></Delete>`
	req := e.newRequest(t, http.MethodPost, b, "", nil, []byte(doc))
	req.URL.RawQuery = "delete"
	e.signBody(t, req, []byte(doc), signOpts{})
	wantRaw(t, e.send(t, req), http.StatusOK, "")
	e.absent(t, b, "k")
}

func testKeyTooLong(t *testing.T, e *env) {
	b := e.bucket(t)
	ok := strings.Repeat("k", 1024)
	e.put(t, b, ok, []byte("max"))
	e.wantBody(t, b, ok, []byte("max"))
	// 1024 bytes of UTF-8, fewer characters.
	okUTF8 := strings.Repeat("ü", 512)
	e.put(t, b, okUTF8, []byte("max"))
	for _, long := range []string{strings.Repeat("k", 1025), strings.Repeat("ü", 512) + "x"} {
		_, err := e.s3.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String(long), Body: strings.NewReader("x")})
		wantErr(t, err, http.StatusBadRequest, "KeyTooLongError")
		_, err = e.s3.CreateMultipartUpload(ctx(t), &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String(long)})
		wantErr(t, err, http.StatusBadRequest, "KeyTooLongError")
		_, err = e.s3.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: &b, Key: aws.String(long), CopySource: copySource(b, ok)})
		wantErr(t, err, http.StatusBadRequest, "KeyTooLongError")
	}
	// Only the two 1024-byte keys exist: nothing was stored under a
	// truncated name.
	out, err := e.s3.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: &b})
	must(t, err, "ListObjectsV2")
	eq(t, "objects", len(out.Contents), 2)
}

// testShortBody promises a Content-Length, sends less and half-closes:
// nothing is stored, and the old object stays.
func testShortBody(t *testing.T, e *env) {
	b := e.bucket(t)
	e.put(t, b, "keep", []byte("old"))
	body := data(256 << 10)
	for _, key := range []string{"victim", "keep"} {
		req := e.newRequest(t, http.MethodPut, b, key, nil, body)
		e.signBody(t, req, body, signOpts{})
		req.Header.Set("Connection", "close")
		conn := e.dial(t)
		req.Body = io.NopCloser(bytes.NewReader(body[:100_000]))
		req.ContentLength = int64(len(body))
		// Write fails (too short); the request bytes are sent anyway.
		_ = req.Write(conn)
		if cw, ok := conn.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
		_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		resp, _ := io.ReadAll(conn)
		conn.Close()
		if bytes.HasPrefix(resp, []byte("HTTP/1.1 200")) {
			t.Fatalf("a short body was accepted: %.200s", resp)
		}
	}
	eventually(t, "no partial object", func() error {
		_, err := e.s3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("victim")})
		if _, st := errInfo(err); st != http.StatusNotFound {
			return fmt.Errorf("HEAD victim: %v", err)
		}
		return nil
	})
	e.absent(t, b, "victim")
	e.wantBody(t, b, "keep", []byte("old"))
}

// testDisconnect drops the connection in the middle of uploads of every
// kind; the server keeps nothing and goes on serving.
func testDisconnect(t *testing.T, e *env) {
	b := e.bucket(t)
	e.put(t, b, "keep", []byte("old"))
	body := data(2 << 20)
	id := e.create(t, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("mp")})
	for _, tc := range []struct {
		name string
		req  func() *http.Request
	}{
		{"signed PUT", func() *http.Request {
			req := e.newRequest(t, http.MethodPut, b, "victim", nil, body)
			e.signBody(t, req, body, signOpts{})
			return req
		}},
		{"unsigned PUT over keep", func() *http.Request {
			req := e.newRequest(t, http.MethodPut, b, "keep", nil, body)
			e.sign(t, req, unsignedPayload, signOpts{})
			return req
		}},
		{"streaming PUT", func() *http.Request { return e.streamingRequest(t, b, "victim", body, nil) }},
		{"trailer PUT", func() *http.Request {
			return e.trailerRequest(t, b, "victim", body, "x-amz-checksum-crc32", sum64(algs[0].new, body), nil)
		}},
		{"chunked transfer encoding", func() *http.Request {
			req := e.newRequest(t, http.MethodPut, b, "victim", nil, body)
			req.ContentLength = -1
			req.TransferEncoding = []string{"chunked"}
			e.sign(t, req, unsignedPayload, signOpts{})
			return req
		}},
		{"upload part", func() *http.Request {
			req := e.newRequest(t, http.MethodPut, b, "mp", url.Values{"partNumber": {"1"}, "uploadId": {id}}, body)
			e.signBody(t, req, body, signOpts{})
			return req
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req()
			full, err := io.ReadAll(req.Body)
			must(t, err, "reading the request body")
			pr, pw := io.Pipe()
			req.Body = pr
			conn := e.dial(t)
			done := make(chan struct{})
			go func() { _ = req.Write(conn); close(done) }()
			_, _ = pw.Write(full[:len(full)/3])
			time.Sleep(100 * time.Millisecond) // let the server start storing
			conn.Close()
			pw.CloseWithError(io.ErrClosedPipe)
			<-done
			eventually(t, "no partial object", func() error {
				_, err := e.s3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("victim")})
				if _, st := errInfo(err); st != http.StatusNotFound {
					return fmt.Errorf("HEAD victim: %v", err)
				}
				lp, err := e.s3.ListParts(ctx(t), &s3.ListPartsInput{Bucket: &b, Key: aws.String("mp"), UploadId: &id})
				if err != nil {
					return err
				}
				if len(lp.Parts) != 0 {
					return fmt.Errorf("%d parts stored", len(lp.Parts))
				}
				return nil
			})
			e.absent(t, b, "victim")
			e.wantBody(t, b, "keep", []byte("old"))
		})
	}
	// The server still works, for this client and its connection pool.
	e.put(t, b, "after", body)
	e.wantBody(t, b, "after", body)
}
