package s3conformance

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

var minioCases = []testCase{
	{"MinioPutGet", testMinioPutGet},
	{"MinioTrailingChecksums", testMinioTrailing},
	{"MinioMultipart", testMinioMultipart},
	{"MinioListCopyRemove", testMinioListCopyRemove},
	{"MinioSignatureV2", testMinioV2},
}

// minioClient is a path-style minio-go client; trailing enables its
// trailing-checksum mode; v2 signs with Signature V2.
func (e *env) minioClient(t *testing.T, rt http.RoundTripper, trailing, v2 bool) *minio.Client {
	t.Helper()
	creds := credentials.NewStaticV4(e.tg.AccessKey, e.tg.SecretKey, "")
	if v2 {
		creds = credentials.NewStaticV2(e.tg.AccessKey, e.tg.SecretKey, "")
	}
	if rt == nil {
		rt = e.tap
	}
	c, err := minio.New(e.u.Host, &minio.Options{
		Creds:           creds,
		Secure:          e.https(),
		Transport:       rt,
		Region:          e.tg.Region,
		BucketLookup:    minio.BucketLookupPath,
		TrailingHeaders: trailing,
		MaxRetries:      1,
	})
	must(t, err, "minio.New")
	return c
}

func minioCode(err error) (string, int) {
	r := minio.ToErrorResponse(err)
	return r.Code, r.StatusCode
}

func testMinioPutGet(t *testing.T, e *env) {
	b := e.bucket(t)
	rec := e.recorder()
	mc := e.minioClient(t, rec, false, false)
	for _, n := range []int{0, 100_000, 3<<20 + 7} {
		body := data(n)
		key := fmt.Sprintf("minio/%d", n)
		info, err := mc.PutObject(ctx(t), b, key, bytes.NewReader(body), int64(n), minio.PutObjectOptions{
			ContentType:  "application/x-kit",
			UserMetadata: map[string]string{"notes": "via minio", "Submitter": "alice"},
		})
		must(t, err, "minio PutObject")
		eq(t, "ETag", info.ETag, md5Hex(body))
		x := rec.last(t, http.MethodPut)
		mode := x.header.Get("X-Amz-Content-Sha256")
		if e.https() {
			// minio-go does not stream-sign over TLS.
			eq(t, "x-amz-content-sha256", mode, unsignedPayload)
		} else {
			eq(t, "x-amz-content-sha256", mode, streamingSigned)
		}
		obj, err := mc.GetObject(ctx(t), b, key, minio.GetObjectOptions{})
		must(t, err, "minio GetObject")
		got, err := io.ReadAll(obj)
		obj.Close()
		must(t, err, "reading")
		if !bytes.Equal(got, body) {
			t.Fatalf("%d bytes: read back other bytes", n)
		}
		st, err := mc.StatObject(ctx(t), b, key, minio.StatObjectOptions{})
		must(t, err, "minio StatObject")
		eq(t, "Size", st.Size, int64(n))
		eq(t, "ContentType", st.ContentType, "application/x-kit")
		head, err := e.s3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: &key})
		must(t, err, "HeadObject")
		eq(t, "metadata", fmt.Sprint(head.Metadata), fmt.Sprint(map[string]string{"notes": "via minio", "submitter": "alice"}))
	}
	// A ranged read.
	body := data(10_000)
	_, err := mc.PutObject(ctx(t), b, "r", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
	must(t, err, "minio PutObject")
	opts := minio.GetObjectOptions{}
	must(t, opts.SetRange(100, 199), "SetRange")
	obj, err := mc.GetObject(ctx(t), b, "r", opts)
	must(t, err, "minio GetObject range")
	got, _ := io.ReadAll(obj)
	obj.Close()
	if !bytes.Equal(got, body[100:200]) {
		t.Fatalf("range read: %d bytes", len(got))
	}
	_, err = mc.StatObject(ctx(t), b, "missing", minio.StatObjectOptions{})
	if _, st := minioCode(err); st != http.StatusNotFound {
		t.Errorf("StatObject missing: %v", err)
	}
}

func testMinioTrailing(t *testing.T, e *env) {
	b := e.bucket(t)
	rec := e.recorder()
	mc := e.minioClient(t, rec, true, false)
	body := data(200_000)
	for _, ck := range []struct {
		typ minio.ChecksumType
		alg types.ChecksumAlgorithm
	}{
		{minio.ChecksumCRC32C, types.ChecksumAlgorithmCrc32c},
		{minio.ChecksumCRC32, types.ChecksumAlgorithmCrc32},
		{minio.ChecksumCRC64NVME, types.ChecksumAlgorithmCrc64nvme},
		{minio.ChecksumSHA1, types.ChecksumAlgorithmSha1},
		{minio.ChecksumSHA256, types.ChecksumAlgorithmSha256},
	} {
		t.Run(ck.typ.String(), func(t *testing.T) {
			key := "trailing-" + ck.typ.String()
			_, err := mc.PutObject(ctx(t), b, key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{Checksum: ck.typ, DisableMultipart: true})
			must(t, err, "minio PutObject with a trailing checksum")
			x := rec.last(t, http.MethodPut)
			want := "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
			if e.https() {
				want = streamingTrailer
			}
			eq(t, "x-amz-content-sha256", x.header.Get("X-Amz-Content-Sha256"), want)
			if x.header.Get("X-Amz-Trailer") == "" {
				t.Errorf("no x-amz-trailer header")
			}
			e.wantBody(t, b, key, body)
			head, err := e.s3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: &key, ChecksumMode: types.ChecksumModeEnabled})
			must(t, err, "HeadObject")
			var local string
			for _, a := range algs {
				if a.alg == ck.alg {
					local = sum64(a.new, body)
				}
			}
			eq(t, "stored checksum", checksumOf(ck.alg, head.ChecksumCRC32, head.ChecksumCRC32C, head.ChecksumCRC64NVME, head.ChecksumSHA1, head.ChecksumSHA256), local)
		})
	}
	// The default trailing mode: minio-go adds CRC32C itself.
	_, err := mc.PutObject(ctx(t), b, "auto", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{DisableMultipart: true, DisableContentSha256: true})
	must(t, err, "minio PutObject auto checksum")
	e.wantBody(t, b, "auto", body)
}

func testMinioMultipart(t *testing.T, e *env) {
	b := e.bucket(t)
	for _, trailing := range []bool{false, true} {
		t.Run(fmt.Sprintf("trailing=%v", trailing), func(t *testing.T) {
			mc := e.minioClient(t, nil, trailing, false)
			min := int(e.tg.Caps.MinPartSize)
			body := data(2*min + 12345)
			key := fmt.Sprintf("mp-%v", trailing)
			info, err := mc.PutObject(ctx(t), b, key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{
				PartSize: uint64(min), ContentType: "application/zip", UserMetadata: map[string]string{"md5chksum": "x"},
			})
			must(t, err, "minio multipart PutObject")
			eq(t, "ETag", `"`+info.ETag+`"`, multipartETag(body[:min], body[min:2*min], body[2*min:]))
			e.wantBody(t, b, key, body)
			head, err := e.s3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: &key})
			must(t, err, "HeadObject")
			eq(t, "Content-Type", aws.ToString(head.ContentType), "application/zip")
			eq(t, "metadata md5chksum", head.Metadata["md5chksum"], "x")
			// Unknown length: minio-go streams parts until EOF.
			key2 := key + "-stream"
			_, err = mc.PutObject(ctx(t), b, key2, io.MultiReader(bytes.NewReader(body)), -1, minio.PutObjectOptions{PartSize: uint64(min)})
			must(t, err, "minio PutObject unknown size")
			e.wantBody(t, b, key2, body)
		})
	}
}

func testMinioListCopyRemove(t *testing.T, e *env) {
	b := e.bucket(t)
	mc := e.minioClient(t, nil, false, false)
	var keys []string
	for i := range 30 {
		keys = append(keys, fmt.Sprintf("dir%d/file %02d", i%3, i))
	}
	e.putMany(t, b, keys)
	var listed []string
	for o := range mc.ListObjects(ctx(t), b, minio.ListObjectsOptions{Recursive: true, MaxKeys: 7}) {
		must(t, o.Err, "minio ListObjects")
		listed = append(listed, o.Key)
	}
	if !slices.Equal(listed, sorted(keys)) {
		t.Errorf("minio listed %q", listed)
	}
	var dirs []string
	for o := range mc.ListObjects(ctx(t), b, minio.ListObjectsOptions{UseV1: true}) {
		must(t, o.Err, "minio ListObjects v1")
		dirs = append(dirs, o.Key)
	}
	eq(t, "top level", fmt.Sprint(dirs), "[dir0/ dir1/ dir2/]")

	_, err := mc.CopyObject(ctx(t), minio.CopyDestOptions{Bucket: b, Object: "copied", ReplaceMetadata: true, UserMetadata: map[string]string{"k": "v"}},
		minio.CopySrcOptions{Bucket: b, Object: keys[0]})
	must(t, err, "minio CopyObject")
	e.wantBody(t, b, "copied", []byte(keys[0]))

	// RemoveObjects sends DeleteObjects with Content-MD5.
	ch := make(chan minio.ObjectInfo)
	go func() {
		defer close(ch)
		for _, k := range keys {
			ch <- minio.ObjectInfo{Key: k}
		}
	}()
	for r := range mc.RemoveObjects(ctx(t), b, ch, minio.RemoveObjectsOptions{}) {
		t.Errorf("RemoveObjects %s: %v", r.ObjectName, r.Err)
	}
	left := 0
	for o := range mc.ListObjects(ctx(t), b, minio.ListObjectsOptions{Recursive: true}) {
		must(t, o.Err, "ListObjects")
		left++
	}
	eq(t, "objects left", left, 1)
	must(t, mc.RemoveObject(ctx(t), b, "copied", minio.RemoveObjectOptions{}), "RemoveObject")
	exists, err := mc.BucketExists(ctx(t), b)
	must(t, err, "BucketExists")
	eq(t, "BucketExists", exists, true)
}

// testMinioV2 drives the server with Signature V2 (aws CLI v1 and boto3
// still presign with it).
func testMinioV2(t *testing.T, e *env) {
	b := e.bucket(t)
	mc := e.minioClient(t, nil, false, true)
	body := data(50_000)
	_, err := mc.PutObject(ctx(t), b, "v2 key+odd", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{ContentType: "text/plain"})
	must(t, err, "minio V2 PutObject")
	obj, err := mc.GetObject(ctx(t), b, "v2 key+odd", minio.GetObjectOptions{})
	must(t, err, "minio V2 GetObject")
	got, _ := io.ReadAll(obj)
	obj.Close()
	if !bytes.Equal(got, body) {
		t.Fatal("V2: wrong body")
	}
	n := 0
	for o := range mc.ListObjects(ctx(t), b, minio.ListObjectsOptions{UseV1: true}) {
		must(t, o.Err, "V2 ListObjects")
		n++
	}
	eq(t, "V2 listed", n, 1)
	u, err := mc.PresignedGetObject(ctx(t), b, "v2 key+odd", time.Hour, nil)
	must(t, err, "V2 presign")
	req, _ := http.NewRequestWithContext(ctx(t), http.MethodGet, u.String(), nil)
	r := e.send(t, req)
	wantRaw(t, r, http.StatusOK, "")
	if !bytes.Equal(r.body, body) {
		t.Fatal("V2 presigned GET: wrong body")
	}
	// A V2 request with a wrong secret.
	bad, err := minio.New(e.u.Host, &minio.Options{Creds: credentials.NewStaticV2(e.tg.AccessKey, "wrong", ""), Secure: e.https(), Transport: e.tap, Region: e.tg.Region, BucketLookup: minio.BucketLookupPath, MaxRetries: 1})
	must(t, err, "minio.New")
	_, err = bad.PutObject(context.Background(), b, "victim", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
	if code, _ := minioCode(err); code != "SignatureDoesNotMatch" {
		t.Errorf("V2 with a wrong secret: %v", err)
	}
	e.absent(t, b, "victim")
}
