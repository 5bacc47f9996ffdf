package s3conformance

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

var copyCases = []testCase{
	{"CopyObjectCopyDirective", testCopyCopy},
	{"CopyObjectReplaceDirective", testCopyReplace},
	{"CopyObjectOntoItself", testCopySelf},
	{"CopyObjectSourceConditions", testCopyConditions},
	{"CopyObjectOddSourceKeys", testCopyOddKeys},
	{"CopyObjectMissingSource", testCopyMissing},
}

func copySource(bucket, key string) *string {
	return aws.String(bucket + "/" + url.PathEscape(key))
}

func testCopyCopy(t *testing.T, e *env) {
	src, dst := e.bucket(t), e.bucket(t)
	body := data(40_000)
	_, err := e.s3.PutObject(ctx(t), &s3.PutObjectInput{
		Bucket: &src, Key: aws.String("s"), Body: bytes.NewReader(body),
		ContentType: aws.String("application/zip"), CacheControl: aws.String("max-age=60"),
		ContentDisposition: aws.String("inline"),
		Metadata:           map[string]string{"notes": "copied", "mtime": "17"},
	})
	must(t, err, "PutObject")
	time.Sleep(1100 * time.Millisecond) // a copy is a new object: its own Last-Modified
	srcHead, err := e.s3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &src, Key: aws.String("s")})
	must(t, err, "HeadObject source")
	// rclone's moveto: COPY directive explicitly; the default is the same.
	for _, directive := range []types.MetadataDirective{types.MetadataDirectiveCopy, ""} {
		key := "d-" + string(directive)
		out, err := e.s3.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: &dst, Key: &key, CopySource: copySource(src, "s"), MetadataDirective: directive})
		must(t, err, "CopyObject "+string(directive))
		if out.CopyObjectResult == nil {
			t.Fatal("no CopyObjectResult")
		}
		eq(t, "CopyObjectResult ETag", aws.ToString(out.CopyObjectResult.ETag), quotedMD5(body))
		if lm := aws.ToTime(out.CopyObjectResult.LastModified); !lm.After(aws.ToTime(srcHead.LastModified)) {
			t.Errorf("copy LastModified %v is not after the source's %v", lm, srcHead.LastModified)
		}
		e.wantBody(t, dst, key, body)
		h, err := e.s3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &dst, Key: &key})
		must(t, err, "HeadObject copy")
		eq(t, "Content-Type", aws.ToString(h.ContentType), "application/zip")
		eq(t, "Cache-Control", aws.ToString(h.CacheControl), "max-age=60")
		eq(t, "Content-Disposition", aws.ToString(h.ContentDisposition), "inline")
		eq(t, "metadata", fmt.Sprint(h.Metadata), fmt.Sprint(map[string]string{"notes": "copied", "mtime": "17"}))
		eq(t, "ETag", aws.ToString(h.ETag), quotedMD5(body))
	}
	// Deleting the source leaves the copy.
	_, err = e.s3.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: &src, Key: aws.String("s")})
	must(t, err, "DeleteObject source")
	e.wantBody(t, dst, "d-COPY", body)
}

func testCopyReplace(t *testing.T, e *env) {
	b := e.bucket(t)
	body := data(10_000)
	_, err := e.s3.PutObject(ctx(t), &s3.PutObjectInput{
		Bucket: &b, Key: aws.String("s"), Body: bytes.NewReader(body),
		ContentType: aws.String("application/zip"), CacheControl: aws.String("max-age=60"),
		Metadata: map[string]string{"old": "1", "shared": "old"},
	})
	must(t, err, "PutObject")
	_, err = e.s3.CopyObject(ctx(t), &s3.CopyObjectInput{
		Bucket: &b, Key: aws.String("r"), CopySource: copySource(b, "s"),
		MetadataDirective: types.MetadataDirectiveReplace,
		ContentType:       aws.String("text/plain"),
		Metadata:          map[string]string{"shared": "new", "mode": "493"},
	})
	must(t, err, "CopyObject REPLACE")
	h, err := e.s3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("r")})
	must(t, err, "HeadObject")
	eq(t, "Content-Type", aws.ToString(h.ContentType), "text/plain")
	eq(t, "Cache-Control (not resent, so gone)", aws.ToString(h.CacheControl), "")
	eq(t, "metadata", fmt.Sprint(h.Metadata), fmt.Sprint(map[string]string{"mode": "493", "shared": "new"}))
	e.wantBody(t, b, "r", body)
	// The source is unchanged.
	h, err = e.s3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("s")})
	must(t, err, "HeadObject source")
	eq(t, "source metadata", fmt.Sprint(h.Metadata), fmt.Sprint(map[string]string{"old": "1", "shared": "old"}))
}

func testCopySelf(t *testing.T, e *env) {
	b := e.bucket(t)
	body := data(5000)
	_, err := e.s3.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("self"), Body: bytes.NewReader(body), Metadata: map[string]string{"a": "1"}})
	must(t, err, "PutObject")
	for _, directive := range []types.MetadataDirective{"", types.MetadataDirectiveCopy} {
		_, err = e.s3.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: &b, Key: aws.String("self"), CopySource: copySource(b, "self"), MetadataDirective: directive})
		wantErr(t, err, http.StatusBadRequest, "InvalidRequest")
	}
	// s3fs's chmod: REPLACE onto itself is how metadata changes.
	_, err = e.s3.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: &b, Key: aws.String("self"), CopySource: copySource(b, "self"),
		MetadataDirective: types.MetadataDirectiveReplace, Metadata: map[string]string{"a": "2"}})
	must(t, err, "CopyObject onto itself with REPLACE")
	h, err := e.s3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("self")})
	must(t, err, "HeadObject")
	eq(t, "metadata", h.Metadata["a"], "2")
	e.wantBody(t, b, "self", body)
}

func testCopyConditions(t *testing.T, e *env) {
	b := e.bucket(t)
	body := data(2000)
	e.put(t, b, "s", body)
	h, err := e.s3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("s")})
	must(t, err, "HeadObject")
	etag, lm := aws.ToString(h.ETag), aws.ToTime(h.LastModified)
	past, future := lm.Add(-time.Hour), lm.Add(time.Hour)
	for _, tc := range []struct {
		name string
		set  func(in *s3.CopyObjectInput)
		ok   bool
	}{
		{"IfMatch/right", func(in *s3.CopyObjectInput) { in.CopySourceIfMatch = &etag }, true},
		{"IfMatch/wrong", func(in *s3.CopyObjectInput) { in.CopySourceIfMatch = aws.String(`"0000"`) }, false},
		{"IfNoneMatch/right", func(in *s3.CopyObjectInput) { in.CopySourceIfNoneMatch = &etag }, false},
		{"IfNoneMatch/wrong", func(in *s3.CopyObjectInput) { in.CopySourceIfNoneMatch = aws.String(`"0000"`) }, true},
		{"IfModifiedSince/past", func(in *s3.CopyObjectInput) { in.CopySourceIfModifiedSince = &past }, true},
		{"IfModifiedSince/future", func(in *s3.CopyObjectInput) { in.CopySourceIfModifiedSince = &future }, false},
		{"IfUnmodifiedSince/past", func(in *s3.CopyObjectInput) { in.CopySourceIfUnmodifiedSince = &past }, false},
		{"IfUnmodifiedSince/future", func(in *s3.CopyObjectInput) { in.CopySourceIfUnmodifiedSince = &future }, true},
		{"IfMatch+IfUnmodifiedSince", func(in *s3.CopyObjectInput) {
			in.CopySourceIfMatch, in.CopySourceIfUnmodifiedSince = &etag, &past
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := "dst-" + strings.ReplaceAll(tc.name, "/", "-")
			in := &s3.CopyObjectInput{Bucket: &b, Key: &key, CopySource: copySource(b, "s")}
			tc.set(in)
			_, err := e.s3.CopyObject(ctx(t), in)
			if tc.ok {
				must(t, err, "CopyObject")
				e.wantBody(t, b, key, body)
				return
			}
			wantErr(t, err, http.StatusPreconditionFailed, "PreconditionFailed")
			e.absent(t, b, key)
		})
	}
}

// testCopyOddKeys copies keys whose names need escaping in
// x-amz-copy-source, escaped both as botocore does (quote, safe "/~")
// and minimally (url.PathEscape).
func testCopyOddKeys(t *testing.T, e *env) {
	b := e.bucket(t)
	for i, k := range oddKeys {
		body := []byte("copy of " + k)
		e.put(t, b, k, body)
		for j, src := range []string{b + "/" + awsEscape(k), "/" + b + "/" + url.PathEscape(k)} {
			dst := fmt.Sprintf("copy/%d/%d", i, j)
			_, err := e.s3.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: &b, Key: &dst, CopySource: &src})
			must(t, err, fmt.Sprintf("CopyObject from %q (%q)", k, src))
			e.wantBody(t, b, dst, body)
		}
		// And the other way round: an odd destination key.
		dst := "to/" + k
		_, err := e.s3.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: &b, Key: &dst, CopySource: copySource(b, k)})
		must(t, err, "CopyObject to "+dst)
		e.wantBody(t, b, dst, body)
	}
	// ?versionId=null names the only version an unversioned bucket has.
	e.put(t, b, "v", []byte("v"))
	_, err := e.s3.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: &b, Key: aws.String("v2"), CopySource: aws.String(b + "/v?versionId=null")})
	must(t, err, "CopyObject with versionId=null")
	e.wantBody(t, b, "v2", []byte("v"))
}

func testCopyMissing(t *testing.T, e *env) {
	b := e.bucket(t)
	_, err := e.s3.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: &b, Key: aws.String("d"), CopySource: copySource(b, "missing")})
	wantErr(t, err, http.StatusNotFound, "NoSuchKey")
	e.absent(t, b, "d")
	_, err = e.s3.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: &b, Key: aws.String("d"), CopySource: copySource(b+"-missing", "k")})
	wantErr(t, err, http.StatusNotFound, "NoSuchBucket")
	e.put(t, b, "s", []byte("s"))
	_, err = e.s3.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: aws.String(b + "-missing"), Key: aws.String("d"), CopySource: copySource(b, "s")})
	wantErr(t, err, http.StatusNotFound, "NoSuchBucket")
	// A copy source without a key.
	_, err = e.s3.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: &b, Key: aws.String("d"), CopySource: aws.String(b)})
	wantErr(t, err, http.StatusBadRequest, "InvalidArgument")
}
