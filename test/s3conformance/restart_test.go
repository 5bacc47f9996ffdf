package s3conformance

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"dewar/test/harness"
)

// TestDewarKillRestart: every write acknowledged before a SIGKILL reads
// back the same after a restart, and an unfinished multipart upload can be
// completed.
func TestDewarKillRestart(t *testing.T) {
	srv := harness.Start(t, harness.Options{Args: []string{"--log-level", "warn"}})
	newEnvFor := func() *env {
		tg := Target{Endpoint: srv.URL, AccessKey: harness.AccessKey, SecretKey: harness.SecretKey, Region: harness.Region, HTTPClient: srv.HTTPClient()}
		tg.defaults()
		return newEnv(t, tg)
	}
	e := newEnvFor()
	b := fmt.Sprintf("s3c-restart-%d", bucketSeq.Add(1))
	_, err := e.s3.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: &b})
	must(t, err, "CreateBucket")
	t.Cleanup(func() { e.removeBucket(t, b) }) // e is the latest env by then
	small, big := data(1000), data(6<<20+5)
	e.put(t, b, "small", small)
	e.put(t, b, "big", big)
	e.put(t, b, "dup", small) // dedup: two keys, one blob
	_, err = e.s3.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("meta"), Body: bytes.NewReader(small),
		ContentType: aws.String("text/plain"), Metadata: map[string]string{"notes": "kept"}, ChecksumAlgorithm: types.ChecksumAlgorithmSha256})
	must(t, err, "PutObject meta")
	_, err = e.s3.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: &b, Key: aws.String("copy"), CopySource: copySource(b, "big")})
	must(t, err, "CopyObject")
	id := e.create(t, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("mp"), Metadata: map[string]string{"md5chksum": "x"}})
	p1 := e.uploadPart(t, b, "mp", id, 1, big)
	done := e.create(t, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("done")})
	d1 := e.uploadPart(t, b, "done", done, 1, big)
	d2 := e.uploadPart(t, b, "done", done, 2, small)
	e.complete(t, b, "done", done, d1, d2)
	e.put(t, b, "gone", small)
	_, err = e.s3.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("gone")})
	must(t, err, "DeleteObject")

	srv.Kill()
	srv.Restart()
	e = newEnvFor()

	e.wantBody(t, b, "small", small)
	e.wantBody(t, b, "big", big)
	e.wantBody(t, b, "dup", small)
	e.wantBody(t, b, "copy", big)
	e.wantBody(t, b, "done", append(append([]byte(nil), big...), small...))
	e.absent(t, b, "gone")
	h, err := e.s3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("meta"), ChecksumMode: types.ChecksumModeEnabled})
	must(t, err, "HeadObject meta")
	eq(t, "Content-Type", aws.ToString(h.ContentType), "text/plain")
	eq(t, "metadata", h.Metadata["notes"], "kept")
	eq(t, "SHA256", aws.ToString(h.ChecksumSHA256), sum64(algs[4].new, small))
	h, err = e.s3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("done"), PartNumber: aws.Int32(2)})
	must(t, err, "HeadObject done part 2")
	eq(t, "PartsCount", aws.ToInt32(h.PartsCount), 2)
	eq(t, "ETag", aws.ToString(h.ETag), multipartETag(big, small))

	p2 := e.uploadPart(t, b, "mp", id, 2, small)
	out := e.complete(t, b, "mp", id, p1, p2)
	eq(t, "completed ETag", aws.ToString(out.ETag), multipartETag(big, small))
	e.wantBody(t, b, "mp", append(append([]byte(nil), big...), small...))
	h, err = e.s3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("mp")})
	must(t, err, "HeadObject mp")
	eq(t, "metadata through the restart", h.Metadata["md5chksum"], "x")

	list, err := e.s3.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: &b})
	must(t, err, "ListObjectsV2")
	eq(t, "keys", fmt.Sprint(keysOf(list.Contents)), "[big copy done dup meta mp small]")
	_, err = e.s3.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("gone")})
	wantErr(t, err, http.StatusNotFound, "NoSuchKey")
}
