package s3conformance

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// regressionCases pin server bugs this suite found, one case per fix, so
// each stays fixed on every target.
var regressionCases = []testCase{
	{"RegressionHeadResponseOverrides", testHeadResponseOverrides},
	{"RegressionUnknownLengthUpload", testUnknownLengthUpload},
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
