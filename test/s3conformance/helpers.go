package s3conformance

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

var bucketSeq atomic.Int64

// bucket creates a fresh bucket for one subtest and removes it (with
// everything in it) when the subtest ends.
func (e *env) bucket(t *testing.T) string {
	t.Helper()
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	name := fmt.Sprintf("s3c-%d-%s", bucketSeq.Add(1), hex.EncodeToString(rnd[:]))
	if _, err := e.s3.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: &name}); err != nil {
		t.Fatalf("CreateBucket %s: %v", name, err)
	}
	t.Cleanup(func() { e.removeBucket(t, name) })
	return name
}

// removeBucket empties and deletes a bucket, aborting its uploads.
func (e *env) removeBucket(t *testing.T, name string) {
	c := context.Background()
	for {
		out, err := e.s3.ListMultipartUploads(c, &s3.ListMultipartUploadsInput{Bucket: &name})
		if err != nil || len(out.Uploads) == 0 {
			break
		}
		for _, u := range out.Uploads {
			_, _ = e.s3.AbortMultipartUpload(c, &s3.AbortMultipartUploadInput{Bucket: &name, Key: u.Key, UploadId: u.UploadId})
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
	}
	p := s3.NewListObjectsV2Paginator(e.s3, &s3.ListObjectsV2Input{Bucket: &name, EncodingType: types.EncodingTypeUrl})
	for p.HasMorePages() {
		page, err := p.NextPage(c)
		if err != nil {
			break
		}
		var ids []types.ObjectIdentifier
		for _, o := range page.Contents {
			k, err := url.QueryUnescape(aws.ToString(o.Key))
			if err != nil {
				k = aws.ToString(o.Key)
			}
			ids = append(ids, types.ObjectIdentifier{Key: aws.String(k)})
		}
		if len(ids) > 0 {
			_, _ = e.s3.DeleteObjects(c, &s3.DeleteObjectsInput{Bucket: &name, Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)}})
		}
	}
	if _, err := e.s3.DeleteBucket(c, &s3.DeleteBucketInput{Bucket: &name}); err != nil && !t.Failed() {
		t.Errorf("cleanup: DeleteBucket %s: %v", name, err)
	}
}

func ctx(t *testing.T) context.Context { return t.Context() }

// data returns n pseudo-random bytes, different on every call.
func data(n int) []byte {
	b := make([]byte, n)
	r := mrand.NewChaCha8([32]byte{byte(n), byte(n >> 8), byte(n >> 16), byte(dataSeq.Add(1))})
	_, _ = r.Read(b)
	return b
}

var dataSeq atomic.Int64

func md5Hex(b []byte) string    { s := md5.Sum(b); return hex.EncodeToString(s[:]) }
func quotedMD5(b []byte) string { return `"` + md5Hex(b) + `"` }
func sha256Hex(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// put stores body under key with the default client.
func (e *env) put(t *testing.T, bucket, key string, body []byte) *s3.PutObjectOutput {
	t.Helper()
	out, err := e.s3.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(body)})
	if err != nil {
		t.Fatalf("PutObject %s/%s: %v", bucket, key, err)
	}
	return out
}

// putMany stores one small object per key, with some concurrency.
func (e *env) putMany(t *testing.T, bucket string, keys []string) {
	t.Helper()
	var wg sync.WaitGroup
	ch := make(chan string)
	var mu sync.Mutex
	var firstErr error
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range ch {
				_, err := e.s3.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &bucket, Key: aws.String(k), Body: strings.NewReader(k)})
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("PutObject %q: %w", k, err)
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, k := range keys {
		ch <- k
	}
	close(ch)
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
}

// get reads an object's bytes.
func (e *env) get(t *testing.T, bucket, key string) []byte {
	t.Helper()
	out, err := e.s3.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		t.Fatalf("GetObject %s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("GetObject %s/%s: reading body: %v", bucket, key, err)
	}
	return b
}

// wantBody checks an object reads back as want.
func (e *env) wantBody(t *testing.T, bucket, key string, want []byte) {
	t.Helper()
	got := e.get(t, bucket, key)
	if !bytes.Equal(got, want) {
		t.Fatalf("%s/%s: got %d bytes (sha256 %s), want %d bytes (sha256 %s)", bucket, key, len(got), sha256Hex(got)[:12], len(want), sha256Hex(want)[:12])
	}
}

// absent asserts that no object (whole or partial) is visible under key:
// HEAD and GET are 404 and no listing shows it.
func (e *env) absent(t *testing.T, bucket, key string) {
	t.Helper()
	_, err := e.s3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	wantStatus(t, err, http.StatusNotFound)
	_, err = e.s3.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	wantErr(t, err, http.StatusNotFound, "NoSuchKey")
	out, err := e.s3.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &key})
	if err != nil {
		t.Fatalf("ListObjectsV2: %v", err)
	}
	for _, o := range out.Contents {
		if aws.ToString(o.Key) == key {
			t.Fatalf("%s/%s is listed (size %d) after a failed write", bucket, key, aws.ToInt64(o.Size))
		}
	}
}

// errInfo extracts the S3 error code and HTTP status of an SDK error.
func errInfo(err error) (code string, status int) {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return code, status
}

// wantErr asserts err is an S3 error with status and code.
func wantErr(t *testing.T, err error, status int, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("succeeded; want %d %s", status, code)
	}
	gotCode, gotStatus := errInfo(err)
	if gotStatus != status || gotCode != code {
		t.Fatalf("got %d %q (%v); want %d %s", gotStatus, gotCode, err, status, code)
	}
}

// wantStatus asserts err is an HTTP error with status (HEAD has no code).
func wantStatus(t *testing.T, err error, status int) {
	t.Helper()
	if err == nil {
		t.Fatalf("succeeded; want HTTP %d", status)
	}
	if _, got := errInfo(err); got != status {
		t.Fatalf("got HTTP %d (%v); want %d", got, err, status)
	}
}

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// xmlError is the S3 error document.
type xmlError struct {
	Code      string `xml:"Code"`
	Message   string `xml:"Message"`
	RequestID string `xml:"RequestId"`
}

// rawResponse is the outcome of a hand-built request.
type rawResponse struct {
	status int
	header http.Header
	body   []byte
	code   string // S3 error code from the body, if any
}

func (r rawResponse) String() string {
	return fmt.Sprintf("HTTP %d %s %.300s", r.status, r.code, r.body)
}

// send performs req and reads the whole answer.
func (e *env) send(t *testing.T, req *http.Request) rawResponse {
	t.Helper()
	resp, err := e.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", req.Method, req.URL, err)
	}
	out := rawResponse{status: resp.StatusCode, header: resp.Header, body: body}
	if resp.StatusCode >= 300 && len(body) > 0 {
		var xe xmlError
		if xml.Unmarshal(body, &xe) == nil {
			out.code = xe.Code
		}
	}
	return out
}

// wantRaw asserts a raw response's status and (when not empty) code.
func wantRaw(t *testing.T, r rawResponse, status int, code string) {
	t.Helper()
	if r.status != status || (code != "" && r.code != code) {
		t.Fatalf("got %v; want %d %s", r, status, code)
	}
	if r.header.Get("x-amz-request-id") == "" {
		t.Errorf("no x-amz-request-id on %d %s", r.status, r.code)
	}
	if r.status >= 400 && len(r.body) > 0 {
		var xe xmlError
		if err := xml.Unmarshal(r.body, &xe); err != nil || xe.RequestID == "" {
			t.Errorf("error body without RequestId: %s", r.body)
		}
	}
}

// want4xx asserts a client error that is not an authentication pass.
func want4xx(t *testing.T, r rawResponse) {
	t.Helper()
	if r.status < 400 || r.status > 499 {
		t.Fatalf("got %v; want a 4xx error", r)
	}
}

// eventually retries f until it returns nil or 10 s pass.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
