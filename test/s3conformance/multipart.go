package s3conformance

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

var multipartCases = []testCase{
	{"MultipartUpload", testMultipart},
	{"MultipartCompositeChecksum", testMultipartComposite},
	{"MultipartCompositeOtherAlgorithms", testMultipartCompositeOther},
	{"MultipartGetPartNumber", testGetPartNumber},
	{"MultipartAbort", testMultipartAbort},
	{"MultipartListParts", testListParts},
	{"MultipartListUploads", testListUploads},
	{"MultipartUploadPartCopy", testUploadPartCopy},
	{"MultipartEntityTooSmall", testEntityTooSmall},
	{"MultipartInvalidPartOrder", testInvalidPartOrder},
	{"MultipartInvalidPart", testInvalidPart},
	{"MultipartNoSuchUpload", testNoSuchUpload},
	{"MultipartPartOverwrite", testPartOverwrite},
}

// multipartETag is S3's ETag of a multipart object.
func multipartETag(parts ...[]byte) string {
	h := md5.New()
	for _, p := range parts {
		s := md5.Sum(p)
		h.Write(s[:])
	}
	return `"` + hex.EncodeToString(h.Sum(nil)) + "-" + strconv.Itoa(len(parts)) + `"`
}

func (e *env) create(t *testing.T, in *s3.CreateMultipartUploadInput) string {
	t.Helper()
	out, err := e.s3.CreateMultipartUpload(ctx(t), in)
	must(t, err, "CreateMultipartUpload")
	if aws.ToString(out.UploadId) == "" {
		t.Fatal("no UploadId")
	}
	eq(t, "Bucket", aws.ToString(out.Bucket), aws.ToString(in.Bucket))
	eq(t, "Key", aws.ToString(out.Key), aws.ToString(in.Key))
	return aws.ToString(out.UploadId)
}

func (e *env) uploadPart(t *testing.T, bucket, key, id string, n int32, body []byte) types.CompletedPart {
	t.Helper()
	out, err := e.s3.UploadPart(ctx(t), &s3.UploadPartInput{Bucket: &bucket, Key: &key, UploadId: &id, PartNumber: aws.Int32(n), Body: bytes.NewReader(body)})
	must(t, err, fmt.Sprintf("UploadPart %d", n))
	eq(t, fmt.Sprintf("part %d ETag", n), aws.ToString(out.ETag), quotedMD5(body))
	return types.CompletedPart{PartNumber: aws.Int32(n), ETag: out.ETag, ChecksumCRC32: out.ChecksumCRC32}
}

func (e *env) complete(t *testing.T, bucket, key, id string, parts ...types.CompletedPart) *s3.CompleteMultipartUploadOutput {
	t.Helper()
	out, err := e.s3.CompleteMultipartUpload(ctx(t), &s3.CompleteMultipartUploadInput{Bucket: &bucket, Key: &key, UploadId: &id, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	must(t, err, "CompleteMultipartUpload")
	return out
}

func testMultipart(t *testing.T, e *env) {
	b := e.bucket(t)
	key := "mp/kit.zip"
	id := e.create(t, &s3.CreateMultipartUploadInput{
		Bucket: &b, Key: &key,
		ContentType:        aws.String("application/zip"),
		ContentDisposition: aws.String(`attachment; filename="kit.zip"`),
		CacheControl:       aws.String("no-store"),
		Metadata:           map[string]string{"md5chksum": "abc==", "mtime": "1700000000"},
	})
	min := int(e.tg.Caps.MinPartSize)
	p1, p2, p3 := data(min), data(min+1), data(1234)
	// Parts may arrive in any order.
	c3 := e.uploadPart(t, b, key, id, 3, p3)
	c1 := e.uploadPart(t, b, key, id, 1, p1)
	c2 := e.uploadPart(t, b, key, id, 2, p2)
	// Not visible before completion.
	e.absent(t, b, key)
	out := e.complete(t, b, key, id, c1, c2, c3)
	eq(t, "Complete ETag", aws.ToString(out.ETag), multipartETag(p1, p2, p3))
	eq(t, "Complete Key", aws.ToString(out.Key), key)
	eq(t, "Complete Bucket", aws.ToString(out.Bucket), b)

	whole := bytes.Join([][]byte{p1, p2, p3}, nil)
	e.wantBody(t, b, key, whole)
	h, err := e.s3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: &key})
	must(t, err, "HeadObject")
	eq(t, "ETag", aws.ToString(h.ETag), multipartETag(p1, p2, p3))
	eq(t, "Content-Length", aws.ToInt64(h.ContentLength), int64(len(whole)))
	eq(t, "Content-Type", aws.ToString(h.ContentType), "application/zip")
	eq(t, "Content-Disposition", aws.ToString(h.ContentDisposition), `attachment; filename="kit.zip"`)
	eq(t, "Cache-Control", aws.ToString(h.CacheControl), "no-store")
	eq(t, "metadata", fmt.Sprint(h.Metadata), fmt.Sprint(map[string]string{"md5chksum": "abc==", "mtime": "1700000000"}))
	list, err := e.s3.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: &b})
	must(t, err, "ListObjectsV2")
	if len(list.Contents) != 1 || aws.ToString(list.Contents[0].ETag) != multipartETag(p1, p2, p3) || aws.ToInt64(list.Contents[0].Size) != int64(len(whole)) {
		t.Errorf("listing: %+v", list.Contents)
	}
	// The upload is gone once completed.
	_, err = e.s3.ListParts(ctx(t), &s3.ListPartsInput{Bucket: &b, Key: &key, UploadId: &id})
	wantErr(t, err, http.StatusNotFound, "NoSuchUpload")
	ups, err := e.s3.ListMultipartUploads(ctx(t), &s3.ListMultipartUploadsInput{Bucket: &b})
	must(t, err, "ListMultipartUploads")
	eq(t, "uploads left", len(ups.Uploads), 0)

	// A single-part upload (below the minimum size: the last part may be small).
	id = e.create(t, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("one")})
	c := e.uploadPart(t, b, "one", id, 1, p3)
	out = e.complete(t, b, "one", id, c)
	eq(t, "single-part ETag", aws.ToString(out.ETag), multipartETag(p3))
	e.wantBody(t, b, "one", p3)
	// Completing onto an existing key replaces it.
	id = e.create(t, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("one")})
	c = e.uploadPart(t, b, "one", id, 1, p1[:100])
	e.complete(t, b, "one", id, c)
	e.wantBody(t, b, "one", p1[:100])
	// A single PUT over a multipart object leaves no trace of its parts
	// or its metadata.
	e.put(t, b, key, p3)
	h, err = e.s3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: &key, PartNumber: aws.Int32(1)})
	must(t, err, "HeadObject partNumber=1 after a PUT")
	if n := aws.ToInt32(h.PartsCount); n > 1 {
		t.Errorf("PartsCount %d after a single PUT", n)
	}
	eq(t, "ETag after PUT", aws.ToString(h.ETag), quotedMD5(p3))
	eq(t, "Content-Length", aws.ToInt64(h.ContentLength), int64(len(p3)))
	eq(t, "metadata after PUT", len(h.Metadata), 0)
}

// testMultipartComposite is aws s3 cp's multipart upload: CRC32 named at
// create, each part carrying it, complete listing each part's CRC32.
func testMultipartComposite(t *testing.T, e *env) {
	b := e.bucket(t)
	key := "composite"
	out, err := e.s3.CreateMultipartUpload(ctx(t), &s3.CreateMultipartUploadInput{Bucket: &b, Key: &key, ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
	must(t, err, "CreateMultipartUpload")
	id := aws.ToString(out.UploadId)
	eq(t, "create ChecksumAlgorithm", out.ChecksumAlgorithm, types.ChecksumAlgorithmCrc32)
	min := int(e.tg.Caps.MinPartSize)
	parts := [][]byte{data(min), data(min), data(77)}
	var done []types.CompletedPart
	var raw []byte
	for i, p := range parts {
		n := int32(i + 1)
		up, err := e.s3.UploadPart(ctx(t), &s3.UploadPartInput{Bucket: &b, Key: &key, UploadId: &id, PartNumber: &n, Body: bytes.NewReader(p), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
		must(t, err, "UploadPart")
		eq(t, "part CRC32", aws.ToString(up.ChecksumCRC32), base64.StdEncoding.EncodeToString(crc32Raw(p)))
		done = append(done, types.CompletedPart{PartNumber: &n, ETag: up.ETag, ChecksumCRC32: up.ChecksumCRC32})
		raw = append(raw, crc32Raw(p)...)
	}
	lp, err := e.s3.ListParts(ctx(t), &s3.ListPartsInput{Bucket: &b, Key: &key, UploadId: &id})
	must(t, err, "ListParts")
	eq(t, "ListParts ChecksumAlgorithm", lp.ChecksumAlgorithm, types.ChecksumAlgorithmCrc32)
	for i, p := range lp.Parts {
		eq(t, fmt.Sprintf("listed part %d CRC32", i+1), aws.ToString(p.ChecksumCRC32), aws.ToString(done[i].ChecksumCRC32))
	}
	want := base64.StdEncoding.EncodeToString(crc32Raw(raw)) + "-3"
	co := e.complete(t, b, key, id, done...)
	eq(t, "complete ChecksumCRC32", aws.ToString(co.ChecksumCRC32), want)
	eq(t, "complete ChecksumType", co.ChecksumType, types.ChecksumTypeComposite)
	get, err := e.s3.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: &key, ChecksumMode: types.ChecksumModeEnabled})
	must(t, err, "GetObject")
	body, err := io.ReadAll(get.Body)
	get.Body.Close()
	must(t, err, "reading")
	if !bytes.Equal(body, bytes.Join(parts, nil)) {
		t.Fatal("wrong body")
	}
	eq(t, "GetObject ChecksumCRC32", aws.ToString(get.ChecksumCRC32), want)
	eq(t, "GetObject ChecksumType", get.ChecksumType, types.ChecksumTypeComposite)

	// A part checksum in the complete request that does not match the part.
	id = e.create(t, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("bad"), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
	n := int32(1)
	up, err := e.s3.UploadPart(ctx(t), &s3.UploadPartInput{Bucket: &b, Key: aws.String("bad"), UploadId: &id, PartNumber: &n, Body: bytes.NewReader(parts[2]), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
	must(t, err, "UploadPart")
	_, err = e.s3.CompleteMultipartUpload(ctx(t), &s3.CompleteMultipartUploadInput{Bucket: &b, Key: aws.String("bad"), UploadId: &id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: &n, ETag: up.ETag, ChecksumCRC32: aws.String("AAAAAA==")}}}})
	wantErr(t, err, http.StatusBadRequest, "InvalidPart")
	e.absent(t, b, "bad")
}

func testGetPartNumber(t *testing.T, e *env) {
	b := e.bucket(t)
	min := int(e.tg.Caps.MinPartSize)
	parts := [][]byte{data(min), data(min + 100), data(999)}
	id := e.create(t, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("p")})
	var done []types.CompletedPart
	for i, p := range parts {
		done = append(done, e.uploadPart(t, b, "p", id, int32(i+1), p))
	}
	e.complete(t, b, "p", id, done...)
	whole := bytes.Join(parts, nil)
	off := 0
	for i, p := range parts {
		n := int32(i + 1)
		out, err := e.s3.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("p"), PartNumber: &n})
		must(t, err, fmt.Sprintf("GetObject partNumber=%d", n))
		got, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if !bytes.Equal(got, p) {
			t.Fatalf("part %d: wrong bytes", n)
		}
		eq(t, "PartsCount", aws.ToInt32(out.PartsCount), 3)
		eq(t, "Content-Length", aws.ToInt64(out.ContentLength), int64(len(p)))
		eq(t, "Content-Range", aws.ToString(out.ContentRange), fmt.Sprintf("bytes %d-%d/%d", off, off+len(p)-1, len(whole)))
		eq(t, "ETag", aws.ToString(out.ETag), multipartETag(parts...))
		h, err := e.s3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("p"), PartNumber: &n})
		must(t, err, "HeadObject partNumber")
		eq(t, "HEAD PartsCount", aws.ToInt32(h.PartsCount), 3)
		eq(t, "HEAD Content-Length", aws.ToInt64(h.ContentLength), int64(len(p)))
		off += len(p)
	}
	_, err := e.s3.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("p"), PartNumber: aws.Int32(4)})
	wantErr(t, err, http.StatusRequestedRangeNotSatisfiable, "InvalidPartNumber")
	// The raw status is 206.
	req := e.newRequest(t, http.MethodGet, b, "p", map[string][]string{"partNumber": {"3"}}, nil)
	e.signBody(t, req, nil, signOpts{})
	r := e.send(t, req)
	wantRaw(t, r, http.StatusPartialContent, "")
	eq(t, "x-amz-mp-parts-count", r.header.Get("x-amz-mp-parts-count"), "3")
	// Range and partNumber together are refused.
	_, err = e.s3.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("p"), PartNumber: aws.Int32(1), Range: aws.String("bytes=0-1")})
	wantErr(t, err, http.StatusBadRequest, "InvalidRequest")

	// A plain object is one part: part 1 is the whole object (200).
	body := data(4000)
	e.put(t, b, "plain", body)
	out, err := e.s3.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("plain"), PartNumber: aws.Int32(1)})
	must(t, err, "GetObject plain partNumber=1")
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if !bytes.Equal(got, body) {
		t.Fatal("plain part 1: wrong bytes")
	}
	if c := aws.ToInt32(out.PartsCount); c > 1 {
		t.Errorf("plain object PartsCount = %d", c)
	}
	_, err = e.s3.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("plain"), PartNumber: aws.Int32(2)})
	wantErr(t, err, http.StatusRequestedRangeNotSatisfiable, "InvalidPartNumber")
}

func testMultipartAbort(t *testing.T, e *env) {
	b := e.bucket(t)
	id := e.create(t, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("a")})
	e.uploadPart(t, b, "a", id, 1, data(1000))
	e.uploadPart(t, b, "a", id, 2, data(1000))
	_, err := e.s3.AbortMultipartUpload(ctx(t), &s3.AbortMultipartUploadInput{Bucket: &b, Key: aws.String("a"), UploadId: &id})
	must(t, err, "AbortMultipartUpload")
	e.absent(t, b, "a")
	_, err = e.s3.ListParts(ctx(t), &s3.ListPartsInput{Bucket: &b, Key: aws.String("a"), UploadId: &id})
	wantErr(t, err, http.StatusNotFound, "NoSuchUpload")
	_, err = e.s3.UploadPart(ctx(t), &s3.UploadPartInput{Bucket: &b, Key: aws.String("a"), UploadId: &id, PartNumber: aws.Int32(3), Body: bytes.NewReader([]byte("x"))})
	wantErr(t, err, http.StatusNotFound, "NoSuchUpload")
	_, err = e.s3.AbortMultipartUpload(ctx(t), &s3.AbortMultipartUploadInput{Bucket: &b, Key: aws.String("a"), UploadId: &id})
	wantErr(t, err, http.StatusNotFound, "NoSuchUpload")
	ups, err := e.s3.ListMultipartUploads(ctx(t), &s3.ListMultipartUploadsInput{Bucket: &b})
	must(t, err, "ListMultipartUploads")
	eq(t, "uploads", len(ups.Uploads), 0)
	// The raw status of an abort is 204.
	id = e.create(t, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("a")})
	req := e.newRequest(t, http.MethodDelete, b, "a", map[string][]string{"uploadId": {id}}, nil)
	e.signBody(t, req, nil, signOpts{})
	wantRaw(t, e.send(t, req), http.StatusNoContent, "")
}

func testListParts(t *testing.T, e *env) {
	b := e.bucket(t)
	id := e.create(t, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("lp")})
	var bodies [][]byte
	for n := int32(1); n <= 5; n++ {
		p := data(100 * int(n))
		bodies = append(bodies, p)
		e.uploadPart(t, b, "lp", id, n, p)
	}
	out, err := e.s3.ListParts(ctx(t), &s3.ListPartsInput{Bucket: &b, Key: aws.String("lp"), UploadId: &id})
	must(t, err, "ListParts")
	eq(t, "parts", len(out.Parts), 5)
	eq(t, "IsTruncated", aws.ToBool(out.IsTruncated), false)
	for i, p := range out.Parts {
		eq(t, "PartNumber", aws.ToInt32(p.PartNumber), int32(i+1))
		eq(t, "ETag", aws.ToString(p.ETag), quotedMD5(bodies[i]))
		eq(t, "Size", aws.ToInt64(p.Size), int64(len(bodies[i])))
		if p.LastModified == nil || p.LastModified.IsZero() {
			t.Errorf("part %d has no LastModified", i+1)
		}
	}
	if out.Initiator == nil || out.Owner == nil || aws.ToString(out.Owner.ID) == "" {
		t.Errorf("ListParts lacks Initiator or Owner")
	}
	eq(t, "StorageClass", out.StorageClass, types.StorageClassStandard)

	// Paging with max-parts.
	var got []int32
	marker := (*string)(nil)
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("ListParts paging does not end")
		}
		page, err := e.s3.ListParts(ctx(t), &s3.ListPartsInput{Bucket: &b, Key: aws.String("lp"), UploadId: &id, MaxParts: aws.Int32(2), PartNumberMarker: marker})
		must(t, err, "ListParts page")
		eq(t, "MaxParts", aws.ToInt32(page.MaxParts), 2)
		for _, p := range page.Parts {
			got = append(got, aws.ToInt32(p.PartNumber))
		}
		if !aws.ToBool(page.IsTruncated) {
			break
		}
		eq(t, "page size", len(page.Parts), 2)
		marker = page.NextPartNumberMarker
		if aws.ToString(marker) != strconv.Itoa(int(got[len(got)-1])) {
			t.Fatalf("NextPartNumberMarker = %q after part %d", aws.ToString(marker), got[len(got)-1])
		}
	}
	eq(t, "paged parts", fmt.Sprint(got), "[1 2 3 4 5]")
	// The paginator agrees.
	p := s3.NewListPartsPaginator(e.s3, &s3.ListPartsInput{Bucket: &b, Key: aws.String("lp"), UploadId: &id, MaxParts: aws.Int32(3)})
	n := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx(t))
		must(t, err, "ListParts paginator")
		n += len(page.Parts)
	}
	eq(t, "paginated parts", n, 5)
}

func testListUploads(t *testing.T, e *env) {
	b := e.bucket(t)
	ids := map[string][]string{}
	for _, k := range []string{"a/1", "a/1", "a/2", "b/1", "c", "c"} {
		ids[k] = append(ids[k], e.create(t, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String(k)}))
	}
	all, err := e.s3.ListMultipartUploads(ctx(t), &s3.ListMultipartUploadsInput{Bucket: &b})
	must(t, err, "ListMultipartUploads")
	eq(t, "uploads", len(all.Uploads), 6)
	// S3 sorts by key, then by initiation time within a key.
	for i, u := range all.Uploads {
		if i > 0 {
			prev := all.Uploads[i-1]
			if aws.ToString(prev.Key) > aws.ToString(u.Key) ||
				(aws.ToString(prev.Key) == aws.ToString(u.Key) && aws.ToTime(prev.Initiated).After(aws.ToTime(u.Initiated))) {
				t.Errorf("uploads out of order at %d", i)
			}
		}
		if u.Initiated == nil || u.Initiated.IsZero() || u.Owner == nil {
			t.Errorf("upload %s lacks Initiated or Owner", aws.ToString(u.Key))
		}
	}
	// Paging two at a time visits each upload once.
	var seen []string
	var km, um *string
	for pages := 0; ; pages++ {
		if pages > 6 {
			t.Fatal("paging does not end")
		}
		page, err := e.s3.ListMultipartUploads(ctx(t), &s3.ListMultipartUploadsInput{Bucket: &b, MaxUploads: aws.Int32(2), KeyMarker: km, UploadIdMarker: um})
		must(t, err, "ListMultipartUploads page")
		for _, u := range page.Uploads {
			seen = append(seen, aws.ToString(u.Key)+"#"+aws.ToString(u.UploadId))
		}
		if !aws.ToBool(page.IsTruncated) {
			break
		}
		eq(t, "page size", len(page.Uploads), 2)
		km, um = page.NextKeyMarker, page.NextUploadIdMarker
		if aws.ToString(km) == "" {
			t.Fatal("truncated page without NextKeyMarker")
		}
	}
	eq(t, "paged uploads", len(seen), 6)
	uniq := map[string]bool{}
	for _, s := range seen {
		uniq[s] = true
	}
	eq(t, "distinct paged uploads", len(uniq), 6)

	pre, err := e.s3.ListMultipartUploads(ctx(t), &s3.ListMultipartUploadsInput{Bucket: &b, Prefix: aws.String("a/")})
	must(t, err, "ListMultipartUploads prefix")
	eq(t, "uploads under a/", len(pre.Uploads), 3)
	eq(t, "Prefix", aws.ToString(pre.Prefix), "a/")

	del, err := e.s3.ListMultipartUploads(ctx(t), &s3.ListMultipartUploadsInput{Bucket: &b, Delimiter: aws.String("/")})
	must(t, err, "ListMultipartUploads delimiter")
	var cps []string
	for _, cp := range del.CommonPrefixes {
		cps = append(cps, aws.ToString(cp.Prefix))
	}
	eq(t, "common prefixes", fmt.Sprint(cps), "[a/ b/]")
	eq(t, "uploads beside the prefixes", len(del.Uploads), 2)
	for _, u := range del.Uploads {
		eq(t, "upload key", aws.ToString(u.Key), "c")
	}
	_, err = e.s3.ListMultipartUploads(ctx(t), &s3.ListMultipartUploadsInput{Bucket: aws.String(b + "-missing")})
	wantErr(t, err, http.StatusNotFound, "NoSuchBucket")
}

func testUploadPartCopy(t *testing.T, e *env) {
	b := e.bucket(t)
	min := int(e.tg.Caps.MinPartSize)
	src := data(min + 3000)
	e.put(t, b, "src key+odd", src)
	id := e.create(t, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("dst")})
	cs := copySource(b, "src key+odd")
	r1, err := e.s3.UploadPartCopy(ctx(t), &s3.UploadPartCopyInput{Bucket: &b, Key: aws.String("dst"), UploadId: &id, PartNumber: aws.Int32(1),
		CopySource: cs, CopySourceRange: aws.String(fmt.Sprintf("bytes=0-%d", min-1))})
	must(t, err, "UploadPartCopy range 1")
	eq(t, "part 1 ETag", aws.ToString(r1.CopyPartResult.ETag), quotedMD5(src[:min]))
	// A whole-object part copy.
	r2, err := e.s3.UploadPartCopy(ctx(t), &s3.UploadPartCopyInput{Bucket: &b, Key: aws.String("dst"), UploadId: &id, PartNumber: aws.Int32(2), CopySource: cs})
	must(t, err, "UploadPartCopy whole")
	eq(t, "part 2 ETag", aws.ToString(r2.CopyPartResult.ETag), quotedMD5(src))
	r3, err := e.s3.UploadPartCopy(ctx(t), &s3.UploadPartCopyInput{Bucket: &b, Key: aws.String("dst"), UploadId: &id, PartNumber: aws.Int32(3),
		CopySource: cs, CopySourceRange: aws.String(fmt.Sprintf("bytes=%d-%d", min, len(src)-1))})
	must(t, err, "UploadPartCopy range 3")
	eq(t, "part 3 ETag", aws.ToString(r3.CopyPartResult.ETag), quotedMD5(src[min:]))
	// A range past the end of the source is refused.
	_, err = e.s3.UploadPartCopy(ctx(t), &s3.UploadPartCopyInput{Bucket: &b, Key: aws.String("dst"), UploadId: &id, PartNumber: aws.Int32(4),
		CopySource: cs, CopySourceRange: aws.String(fmt.Sprintf("bytes=0-%d", len(src)))})
	wantErr(t, err, http.StatusRequestedRangeNotSatisfiable, "InvalidRange")
	// Malformed ranges.
	for _, rng := range []string{"bytes=5-", "bytes=-5", "bytes=9-3", "items=0-1"} {
		_, err = e.s3.UploadPartCopy(ctx(t), &s3.UploadPartCopyInput{Bucket: &b, Key: aws.String("dst"), UploadId: &id, PartNumber: aws.Int32(4),
			CopySource: cs, CopySourceRange: aws.String(rng)})
		if _, st := errInfo(err); st != http.StatusBadRequest && st != http.StatusRequestedRangeNotSatisfiable {
			t.Errorf("copy source range %q: %v", rng, err)
		}
	}
	// Source conditions apply to part copies too.
	_, err = e.s3.UploadPartCopy(ctx(t), &s3.UploadPartCopyInput{Bucket: &b, Key: aws.String("dst"), UploadId: &id, PartNumber: aws.Int32(4),
		CopySource: cs, CopySourceIfMatch: aws.String(`"0000"`)})
	wantErr(t, err, http.StatusPreconditionFailed, "PreconditionFailed")

	out := e.complete(t, b, "dst", id,
		types.CompletedPart{PartNumber: aws.Int32(1), ETag: r1.CopyPartResult.ETag},
		types.CompletedPart{PartNumber: aws.Int32(2), ETag: r2.CopyPartResult.ETag},
		types.CompletedPart{PartNumber: aws.Int32(3), ETag: r3.CopyPartResult.ETag})
	eq(t, "ETag", aws.ToString(out.ETag), multipartETag(src[:min], src, src[min:]))
	e.wantBody(t, b, "dst", bytes.Join([][]byte{src[:min], src, src[min:]}, nil))
}

func testEntityTooSmall(t *testing.T, e *env) {
	b := e.bucket(t)
	id := e.create(t, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("small")})
	p2 := data(1024)
	c1 := e.uploadPart(t, b, "small", id, 1, data(1024))
	c2 := e.uploadPart(t, b, "small", id, 2, p2)
	_, err := e.s3.CompleteMultipartUpload(ctx(t), &s3.CompleteMultipartUploadInput{Bucket: &b, Key: aws.String("small"), UploadId: &id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{c1, c2}}})
	wantErr(t, err, http.StatusBadRequest, "EntityTooSmall")
	e.absent(t, b, "small")
	// The upload survives a failed completion and can be fixed.
	big := data(int(e.tg.Caps.MinPartSize))
	c1 = e.uploadPart(t, b, "small", id, 1, big)
	e.complete(t, b, "small", id, c1, c2)
	e.wantBody(t, b, "small", bytes.Join([][]byte{big, p2}, nil))
}

func testInvalidPartOrder(t *testing.T, e *env) {
	b := e.bucket(t)
	id := e.create(t, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("o")})
	min := int(e.tg.Caps.MinPartSize)
	c1 := e.uploadPart(t, b, "o", id, 1, data(min))
	c2 := e.uploadPart(t, b, "o", id, 2, data(min))
	for _, parts := range [][]types.CompletedPart{{c2, c1}, {c1, c1}} {
		_, err := e.s3.CompleteMultipartUpload(ctx(t), &s3.CompleteMultipartUploadInput{Bucket: &b, Key: aws.String("o"), UploadId: &id,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
		wantErr(t, err, http.StatusBadRequest, "InvalidPartOrder")
		e.absent(t, b, "o")
	}
}

func testInvalidPart(t *testing.T, e *env) {
	b := e.bucket(t)
	id := e.create(t, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("ip")})
	c2 := e.uploadPart(t, b, "ip", id, 2, data(100))
	for name, parts := range map[string][]types.CompletedPart{
		"wrong ETag":   {{PartNumber: aws.Int32(2), ETag: aws.String(quotedMD5([]byte("other")))}},
		"missing part": {{PartNumber: aws.Int32(1), ETag: c2.ETag}, c2},
		"missing last": {c2, {PartNumber: aws.Int32(3), ETag: c2.ETag}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.s3.CompleteMultipartUpload(ctx(t), &s3.CompleteMultipartUploadInput{Bucket: &b, Key: aws.String("ip"), UploadId: &id,
				MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
			if name == "missing last" {
				// Part 2 is too small to be followed by another: AWS may
				// name either fault.
				if code, _ := errInfo(err); code == "EntityTooSmall" {
					return
				}
			}
			wantErr(t, err, http.StatusBadRequest, "InvalidPart")
			e.absent(t, b, "ip")
		})
	}
	// Unquoted ETags are accepted (some clients send them bare).
	e.complete(t, b, "ip", id, types.CompletedPart{PartNumber: aws.Int32(2), ETag: aws.String(trimQuotes(aws.ToString(c2.ETag)))})
}

func trimQuotes(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

func testNoSuchUpload(t *testing.T, e *env) {
	b := e.bucket(t)
	bogus := "bogus-upload-id"
	_, err := e.s3.UploadPart(ctx(t), &s3.UploadPartInput{Bucket: &b, Key: aws.String("k"), UploadId: &bogus, PartNumber: aws.Int32(1), Body: bytes.NewReader([]byte("x"))})
	wantErr(t, err, http.StatusNotFound, "NoSuchUpload")
	_, err = e.s3.CompleteMultipartUpload(ctx(t), &s3.CompleteMultipartUploadInput{Bucket: &b, Key: aws.String("k"), UploadId: &bogus,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: aws.String(quotedMD5(nil))}}}})
	wantErr(t, err, http.StatusNotFound, "NoSuchUpload")
	_, err = e.s3.AbortMultipartUpload(ctx(t), &s3.AbortMultipartUploadInput{Bucket: &b, Key: aws.String("k"), UploadId: &bogus})
	wantErr(t, err, http.StatusNotFound, "NoSuchUpload")
	_, err = e.s3.ListParts(ctx(t), &s3.ListPartsInput{Bucket: &b, Key: aws.String("k"), UploadId: &bogus})
	wantErr(t, err, http.StatusNotFound, "NoSuchUpload")
	// A real upload id used with another key is no such upload either.
	id := e.create(t, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("real")})
	_, err = e.s3.UploadPart(ctx(t), &s3.UploadPartInput{Bucket: &b, Key: aws.String("other"), UploadId: &id, PartNumber: aws.Int32(1), Body: bytes.NewReader([]byte("x"))})
	wantErr(t, err, http.StatusNotFound, "NoSuchUpload")
	// Part numbers outside 1..10000.
	for _, n := range []int32{0, 10001} {
		_, err = e.s3.UploadPart(ctx(t), &s3.UploadPartInput{Bucket: &b, Key: aws.String("real"), UploadId: &id, PartNumber: aws.Int32(n), Body: bytes.NewReader([]byte("x"))})
		wantErr(t, err, http.StatusBadRequest, "InvalidArgument")
	}
	// Creating an upload in a missing bucket.
	_, err = e.s3.CreateMultipartUpload(ctx(t), &s3.CreateMultipartUploadInput{Bucket: aws.String(b + "-missing"), Key: aws.String("k")})
	wantErr(t, err, http.StatusNotFound, "NoSuchBucket")
}

// testPartOverwrite: uploading a part number again replaces the part.
func testPartOverwrite(t *testing.T, e *env) {
	b := e.bucket(t)
	id := e.create(t, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("ow")})
	e.uploadPart(t, b, "ow", id, 1, data(500))
	second := data(600)
	c := e.uploadPart(t, b, "ow", id, 1, second)
	lp, err := e.s3.ListParts(ctx(t), &s3.ListPartsInput{Bucket: &b, Key: aws.String("ow"), UploadId: &id})
	must(t, err, "ListParts")
	if len(lp.Parts) != 1 || aws.ToInt64(lp.Parts[0].Size) != 600 {
		t.Fatalf("parts after overwrite: %+v", lp.Parts)
	}
	e.complete(t, b, "ow", id, c)
	e.wantBody(t, b, "ow", second)
}

// testMultipartCompositeOther: COMPOSITE checksums of CRC32C and SHA256
// parts (the checksum of the parts' raw checksums, then "-N").
func testMultipartCompositeOther(t *testing.T, e *env) {
	b := e.bucket(t)
	parts := [][]byte{data(int(e.tg.Caps.MinPartSize)), data(100)}
	for _, a := range algs {
		if a.alg != types.ChecksumAlgorithmCrc32c && a.alg != types.ChecksumAlgorithmSha256 {
			continue
		}
		t.Run(string(a.alg), func(t *testing.T) {
			key := "composite-" + string(a.alg)
			id := e.create(t, &s3.CreateMultipartUploadInput{Bucket: &b, Key: &key, ChecksumAlgorithm: a.alg})
			var done []types.CompletedPart
			var raw []byte
			for i, p := range parts {
				n := int32(i + 1)
				up, err := e.s3.UploadPart(ctx(t), &s3.UploadPartInput{Bucket: &b, Key: &key, UploadId: &id, PartNumber: &n, Body: bytes.NewReader(p), ChecksumAlgorithm: a.alg})
				must(t, err, "UploadPart")
				got := checksumOf(a.alg, up.ChecksumCRC32, up.ChecksumCRC32C, up.ChecksumCRC64NVME, up.ChecksumSHA1, up.ChecksumSHA256)
				eq(t, "part checksum", got, sum64(a.new, p))
				done = append(done, types.CompletedPart{PartNumber: &n, ETag: up.ETag, ChecksumCRC32C: up.ChecksumCRC32C, ChecksumSHA256: up.ChecksumSHA256})
				h := a.new()
				h.Write(p)
				raw = h.Sum(raw)
			}
			h := a.new()
			h.Write(raw)
			want := base64.StdEncoding.EncodeToString(h.Sum(nil)) + "-2"
			co := e.complete(t, b, key, id, done...)
			eq(t, "complete checksum", checksumOf(a.alg, co.ChecksumCRC32, co.ChecksumCRC32C, co.ChecksumCRC64NVME, co.ChecksumSHA1, co.ChecksumSHA256), want)
			head, err := e.s3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: &key, ChecksumMode: types.ChecksumModeEnabled})
			must(t, err, "HeadObject")
			eq(t, "HEAD checksum", checksumOf(a.alg, head.ChecksumCRC32, head.ChecksumCRC32C, head.ChecksumCRC64NVME, head.ChecksumSHA1, head.ChecksumSHA256), want)
			eq(t, "HEAD checksum type", head.ChecksumType, types.ChecksumTypeComposite)
		})
	}
}
