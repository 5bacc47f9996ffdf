package s3conformance

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

var virtualHostCases = []testCase{
	{"VirtualHostedStyle", testVirtualHost},
	{"VirtualHostedPresigned", testVirtualHostPresigned},
	{"PathStyleOnTheBareDomain", testPathStyleBareDomain},
}

func testVirtualHost(t *testing.T, e *env) {
	rec := e.recorder()
	vc := e.vhostClient(rec)
	b := fmt.Sprintf("s3c-vhost-%d", bucketSeq.Add(1))
	_, err := vc.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: &b})
	must(t, err, "CreateBucket (virtual-hosted)")
	t.Cleanup(func() { e.removeBucket(t, b) })
	_, err = vc.HeadBucket(ctx(t), &s3.HeadBucketInput{Bucket: &b})
	must(t, err, "HeadBucket")

	body := data(300_000)
	put, err := vc.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("dir/obj key+1"), Body: bytes.NewReader(body), Metadata: map[string]string{"via": "vhost"}})
	must(t, err, "PutObject")
	eq(t, "ETag", aws.ToString(put.ETag), quotedMD5(body))
	// Path-style sees what virtual-hosted wrote, and the other way round.
	e.wantBody(t, b, "dir/obj key+1", body)
	e.put(t, b, "from-path", []byte("p"))
	get, err := vc.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("from-path")})
	must(t, err, "GetObject")
	got, _ := io.ReadAll(get.Body)
	get.Body.Close()
	eq(t, "body", string(got), "p")
	get, err = vc.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("dir/obj key+1"), Range: aws.String("bytes=10-19")})
	must(t, err, "GetObject range")
	got, _ = io.ReadAll(get.Body)
	get.Body.Close()
	if !bytes.Equal(got, body[10:20]) {
		t.Errorf("ranged GET: wrong bytes")
	}
	eq(t, "metadata", get.Metadata["via"], "vhost")

	list, err := vc.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: &b, Delimiter: aws.String("/")})
	must(t, err, "ListObjectsV2")
	eq(t, "listing", fmt.Sprint(keysOf(list.Contents), prefixesOf(list.CommonPrefixes)), "[from-path] [dir/]")
	eq(t, "listing Name", aws.ToString(list.Name), b)
	v1, err := vc.ListObjects(ctx(t), &s3.ListObjectsInput{Bucket: &b})
	must(t, err, "ListObjects")
	eq(t, "v1 listing", len(v1.Contents), 2)

	_, err = vc.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: &b, Key: aws.String("copy"), CopySource: copySource(b, "dir/obj key+1")})
	must(t, err, "CopyObject")
	e.wantBody(t, b, "copy", body)

	loc, err := vc.GetBucketLocation(ctx(t), &s3.GetBucketLocationInput{Bucket: &b})
	must(t, err, "GetBucketLocation")
	_ = loc
	_, err = vc.GetBucketVersioning(ctx(t), &s3.GetBucketVersioningInput{Bucket: &b})
	must(t, err, "GetBucketVersioning")

	// Multipart through the virtual host.
	cr, err := vc.CreateMultipartUpload(ctx(t), &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("mp")})
	must(t, err, "CreateMultipartUpload")
	min := int(e.tg.Caps.MinPartSize)
	p1, p2 := data(min), data(10)
	var done []types.CompletedPart
	for i, p := range [][]byte{p1, p2} {
		n := int32(i + 1)
		up, err := vc.UploadPart(ctx(t), &s3.UploadPartInput{Bucket: &b, Key: aws.String("mp"), UploadId: cr.UploadId, PartNumber: &n, Body: bytes.NewReader(p)})
		must(t, err, "UploadPart")
		done = append(done, types.CompletedPart{PartNumber: &n, ETag: up.ETag, ChecksumCRC32: up.ChecksumCRC32})
	}
	ups, err := vc.ListMultipartUploads(ctx(t), &s3.ListMultipartUploadsInput{Bucket: &b})
	must(t, err, "ListMultipartUploads")
	eq(t, "uploads", len(ups.Uploads), 1)
	_, err = vc.CompleteMultipartUpload(ctx(t), &s3.CompleteMultipartUploadInput{Bucket: &b, Key: aws.String("mp"), UploadId: cr.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: done}})
	must(t, err, "CompleteMultipartUpload")
	e.wantBody(t, b, "mp", append(append([]byte(nil), p1...), p2...))

	_, err = vc.DeleteObjects(ctx(t), &s3.DeleteObjectsInput{Bucket: &b, Delete: &types.Delete{Objects: []types.ObjectIdentifier{{Key: aws.String("copy")}, {Key: aws.String("mp")}}}})
	must(t, err, "DeleteObjects")
	_, err = vc.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("from-path")})
	must(t, err, "DeleteObject")
	e.absent(t, b, "from-path")
	e.absent(t, b, "copy")
	_, err = vc.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("copy")})
	wantErr(t, err, http.StatusNotFound, "NoSuchKey")
	_, err = vc.HeadBucket(ctx(t), &s3.HeadBucketInput{Bucket: aws.String(b + "-missing")})
	wantStatus(t, err, http.StatusNotFound)

	// Every request really was virtual-hosted.
	domain := e.tg.Caps.VirtualHostDomain
	for _, x := range rec.exchanges() {
		if !strings.HasPrefix(x.url.Host, b) || !strings.Contains(x.url.Host, "."+domain) {
			t.Errorf("request to %s is not virtual-hosted", x.url)
		}
		if strings.HasPrefix(x.url.Path, "/"+b) {
			t.Errorf("path %s names the bucket", x.url.Path)
		}
	}
}

func testVirtualHostPresigned(t *testing.T, e *env) {
	b := e.bucket(t)
	body := data(1000)
	e.put(t, b, "p", body)
	pc := s3.NewPresignClient(e.vhostClient(nil))
	get, err := pc.PresignGetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("p")}, s3.WithPresignExpires(time.Hour))
	must(t, err, "PresignGetObject")
	if !strings.Contains(get.URL, b+"."+e.tg.Caps.VirtualHostDomain) {
		t.Fatalf("presigned URL %s is not virtual-hosted", get.URL)
	}
	// Send it through a client that resolves the domain.
	vc := e.vhostClient(nil)
	hc := vc.Options().HTTPClient
	req, _ := http.NewRequestWithContext(ctx(t), http.MethodGet, get.URL, nil)
	resp, err := hc.Do(req)
	must(t, err, "GET presigned")
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	eq(t, "status", resp.StatusCode, http.StatusOK)
	if !bytes.Equal(got, body) {
		t.Fatal("presigned virtual-hosted GET: wrong body")
	}
	// The same URL with the bucket moved into the path of another host is
	// a different request: refused.
	req, _ = http.NewRequestWithContext(ctx(t), http.MethodGet, strings.Replace(get.URL, b+".", "", 1), nil)
	resp, err = hc.Do(req)
	must(t, err, "GET tampered")
	resp.Body.Close()
	if resp.StatusCode < 400 {
		t.Errorf("bucket moved out of the host: status %d", resp.StatusCode)
	}
}

// testPathStyleBareDomain: the base domain itself (no bucket label) is
// path-style.
func testPathStyleBareDomain(t *testing.T, e *env) {
	b := e.bucket(t)
	e.put(t, b, "k", []byte("bare"))
	vc := e.vhostClient(nil)
	pc := s3.New(vc.Options(), func(o *s3.Options) { o.UsePathStyle = true })
	get, err := pc.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("k")})
	must(t, err, "GetObject path-style on the bare domain")
	got, _ := io.ReadAll(get.Body)
	get.Body.Close()
	eq(t, "body", string(got), "bare")
	out, err := pc.ListBuckets(ctx(t), &s3.ListBucketsInput{})
	must(t, err, "ListBuckets on the bare domain")
	if len(out.Buckets) == 0 {
		t.Error("no buckets listed")
	}
}
