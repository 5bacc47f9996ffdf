package s3conformance

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// regressionCases pin server bugs this suite found, one case per fix, so
// each stays fixed on every target.
var regressionCases = []testCase{
	{"RegressionHeadResponseOverrides", testHeadResponseOverrides},
	{"RegressionUnknownLengthUpload", testUnknownLengthUpload},
	{"RegressionReadsRacingDeletes", testReadsRacingDeletes},
	{"RegressionPresignedQueryErrors", testPresignedQueryErrors},
	{"RegressionConditionalWrites", testConditionalWrites},
}

// testHeadResponseOverrides: HeadObject takes response-content-type and
// friends as GetObject does (s3api applied them to GET only).
func testHeadResponseOverrides(t *testing.T, e *env) {
	b := e.bucket(t)
	_, err := e.s3.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("o"), Body: bytes.NewReader([]byte("x")), ContentType: aws.String("text/x-php")})
	must(t, err, "PutObject")
	h, err := e.s3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("o"),
		ResponseContentType: aws.String("text/plain"), ResponseContentDisposition: aws.String("inline"),
		ResponseCacheControl: aws.String("no-store")})
	must(t, err, "HeadObject with response-* overrides")
	eq(t, "HEAD Content-Type", aws.ToString(h.ContentType), "text/plain")
	eq(t, "HEAD Content-Disposition", aws.ToString(h.ContentDisposition), "inline")
	eq(t, "HEAD Cache-Control", aws.ToString(h.CacheControl), "no-store")
}

// testUnknownLengthUpload: an upload whose length nobody states (aws-chunked
// without x-amz-decoded-content-length, no Content-Length) is fine however
// the HTTP framing carries it: chunked over HTTP/1.1, DATA frames over
// HTTP/2 (s3api answered 411 MissingContentLength on HTTP/2).
func testUnknownLengthUpload(t *testing.T, e *env) {
	b := e.bucket(t)
	body := data(300_000)
	req := e.trailerRequestTo(t, trailerOpts{bucket: b, key: "nolen", chunkedTE: true}, body, "x-amz-checksum-crc32", sum64(algs[0].new, body), nil)
	req.Header.Del("X-Amz-Decoded-Content-Length")
	req.Header.Del("Authorization")
	e.sign(t, req, streamingTrailer, signOpts{})
	wantRaw(t, e.send(t, req), http.StatusOK, "")
	e.wantBody(t, b, "nolen", body)
	// A plain body of unknown length.
	req = e.newRequest(t, http.MethodPut, b, "plain", nil, body)
	req.ContentLength = -1
	req.TransferEncoding = []string{"chunked"}
	e.sign(t, req, unsignedPayload, signOpts{})
	wantRaw(t, e.send(t, req), http.StatusOK, "")
	e.wantBody(t, b, "plain", body)
	if e.https() {
		// The SDK streams an unseekable body of unknown length with a
		// trailing checksum (over TLS only; over HTTP it refuses itself).
		_, err := e.s3.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("sdk"), Body: io.MultiReader(bytes.NewReader(body))})
		must(t, err, "PutObject of an unseekable body")
		e.wantBody(t, b, "sdk", body)
	}
}

// testReadsRacingDeletes races reads of objects (GET, CopyObject,
// UploadPartCopy) against deletes of their last reference: each read
// either happens before the delete (the bytes) or after it (NoSuchKey),
// never an InternalError. Dewar reaped the blob between the copy's index
// lookup and its commit and answered 500.
func testReadsRacingDeletes(t *testing.T, e *env) {
	b := e.bucket(t)
	id := e.create(t, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("mp")})
	const keys = 8
	for round := range 12 {
		bodies := make([][]byte, keys)
		for k := range keys {
			bodies[k] = data(10_000 + round*keys + k) // unique: a delete reaps its blob
			e.put(t, b, fmt.Sprintf("src%d", k), bodies[k])
		}
		var wg sync.WaitGroup
		errs := make(chan error, 4*keys)
		for k := range keys {
			src := fmt.Sprintf("src%d", k)
			wg.Add(4)
			go func() {
				defer wg.Done()
				_, err := e.s3.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: &b, Key: &src})
				errs <- err
			}()
			go func() {
				defer wg.Done()
				_, err := e.s3.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: &b, Key: aws.String(fmt.Sprintf("dst%d-%d", round, k)), CopySource: copySource(b, src)})
				errs <- beforeOrAfter(err, "CopyObject")
			}()
			go func() {
				defer wg.Done()
				_, err := e.s3.UploadPartCopy(ctx(t), &s3.UploadPartCopyInput{Bucket: &b, Key: aws.String("mp"), UploadId: &id, PartNumber: aws.Int32(int32(k + 1)), CopySource: copySource(b, src)})
				errs <- beforeOrAfter(err, "UploadPartCopy")
			}()
			go func() {
				defer wg.Done()
				out, err := e.s3.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: &src})
				if err == nil {
					got, rerr := io.ReadAll(out.Body)
					out.Body.Close()
					if rerr == nil && !bytes.Equal(got, bodies[k]) {
						rerr = fmt.Errorf("GetObject: %d bytes, not the object", len(got))
					}
					err = rerr
				}
				errs <- beforeOrAfter(err, "GetObject")
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		for k := range keys {
			dst := fmt.Sprintf("dst%d-%d", round, k)
			if _, err := e.s3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: &dst}); err == nil {
				e.wantBody(t, b, dst, bodies[k])
			}
		}
	}
}

// beforeOrAfter accepts success and NoSuchKey.
func beforeOrAfter(err error, op string) error {
	if err == nil {
		return nil
	}
	if code, st := errInfo(err); st == http.StatusNotFound && code == "NoSuchKey" {
		return nil
	}
	return fmt.Errorf("%s: %w", op, err)
}

// testPresignedQueryErrors: a presigned URL with malformed query
// parameters, an expiry over seven days or another region's scope is
// AuthorizationQueryParametersError, as AWS answers (s3api answered the
// header-auth code, AuthorizationHeaderMalformed).
func testPresignedQueryErrors(t *testing.T, e *env) {
	b := e.bucket(t)
	e.put(t, b, "p", []byte("x"))
	presigned := func(expires int, o signOpts) *url.URL {
		u, err := url.Parse(e.presign(t, e.newRequest(t, http.MethodGet, b, "p", nil, nil), expires, o))
		must(t, err, "parsing the presigned URL")
		return u
	}
	for _, tc := range []struct {
		name string
		u    func() *url.URL
	}{
		{"expires over 7 days", func() *url.URL { return presigned(7*24*3600+1, signOpts{}) }},
		{"other region", func() *url.URL { return presigned(600, signOpts{region: "eu-north-9"}) }},
		{"no credential", func() *url.URL {
			u := presigned(600, signOpts{})
			q := u.Query()
			q.Del("X-Amz-Credential")
			u.RawQuery = q.Encode()
			return u
		}},
		{"expires not a number", func() *url.URL {
			u := presigned(600, signOpts{})
			q := u.Query()
			q.Set("X-Amz-Expires", "soon")
			u.RawQuery = q.Encode()
			return u
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(ctx(t), http.MethodGet, tc.u().String(), nil)
			wantRaw(t, e.send(t, req), http.StatusBadRequest, "AuthorizationQueryParametersError")
		})
	}
}

// testConditionalWrites: PutObject and CompleteMultipartUpload with
// If-None-Match: * or If-Match never overwrite an object the condition
// protects: S3 answers 412; a server that cannot check atomically must
// refuse (501). Dewar ignored the headers and overwrote. A server that
// answers 412 supports them, so the writes whose condition holds succeed.
func testConditionalWrites(t *testing.T, e *env) {
	b := e.bucket(t)
	e.put(t, b, "lock", []byte("held"))
	supported := false
	refused := func(t *testing.T, err error) {
		t.Helper()
		_, st := errInfo(err)
		if st != http.StatusPreconditionFailed && st != http.StatusNotImplemented {
			t.Fatalf("conditional write: %v; want 412 (or 501)", err)
		}
		supported = supported || st == http.StatusPreconditionFailed
		e.wantBody(t, b, "lock", []byte("held"))
	}
	_, err := e.s3.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("lock"), Body: bytes.NewReader([]byte("mine")), IfNoneMatch: aws.String("*")})
	refused(t, err)
	_, err = e.s3.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("lock"), Body: bytes.NewReader([]byte("mine")), IfMatch: aws.String(`"00000000000000000000000000000000"`)})
	refused(t, err)
	id := e.create(t, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("lock")})
	p := e.uploadPart(t, b, "lock", id, 1, []byte("mine"))
	_, err = e.s3.CompleteMultipartUpload(ctx(t), &s3.CompleteMultipartUploadInput{Bucket: &b, Key: aws.String("lock"), UploadId: &id,
		IfNoneMatch: aws.String("*"), MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{p}}})
	refused(t, err)
	if !supported {
		return
	}
	// Conditions that hold: create a new key, replace a known version.
	_, err = e.s3.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("new"), Body: bytes.NewReader([]byte("first")), IfNoneMatch: aws.String("*")})
	must(t, err, "PutObject If-None-Match: * on a new key")
	_, err = e.s3.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("lock"), Body: bytes.NewReader([]byte("swapped")), IfMatch: aws.String(quotedMD5([]byte("held")))})
	must(t, err, "PutObject If-Match with the current ETag")
	e.wantBody(t, b, "lock", []byte("swapped"))
	e.wantBody(t, b, "new", []byte("first"))
}
