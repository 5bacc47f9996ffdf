package s3conformance

import (
	"bytes"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// regressionCases pin server bugs this suite found, one case per fix, so
// each stays fixed on every target.
var regressionCases = []testCase{
	{"RegressionHeadResponseOverrides", testHeadResponseOverrides},
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
