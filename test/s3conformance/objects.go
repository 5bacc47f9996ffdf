package s3conformance

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

var objectCases = []testCase{
	{"PutGetHead", testPutGetHead},
	{"EmptyObject", testEmptyObject},
	{"ObjectHeadersRoundTrip", testObjectHeaders},
	{"UserMetadataLowercase", testUserMetadata},
	{"UserMetadataLowercaseOnTheWire", testUserMetadataWire},
	{"ResponseOverrides", testResponseOverrides},
	{"MissingKey", testMissingKey},
	{"OddKeys", testOddKeys},
	{"LiteralSubDelimsInPath", testLiteralPath},
	{"DirectoryMarkers", testDirMarkers},
	{"UnsupportedSubresources", testUnsupportedSubresources},
	{"DeleteObjectMissingKeyIs204", testDeleteObjectMissing},
	{"DeleteObjectsVerbose", func(t *testing.T, e *env) { testDeleteObjects(t, e, false) }},
	{"DeleteObjectsQuiet", func(t *testing.T, e *env) { testDeleteObjects(t, e, true) }},
	{"DeleteObjectsOverLimit", testDeleteObjectsOverLimit},
	{"DeleteObjectsOddKeysAndDigests", testDeleteObjectsOdd},
	{"MetadataTooLarge", testMetadataTooLarge},
	{"ExpectContinueRefusedBeforeBody", testExpectContinue},
	{"ReadAfterWrite", testReadAfterWrite},
	{"DedupIsInvisible", testDedupInvisible},
}

func testPutGetHead(t *testing.T, e *env) {
	b := e.bucket(t)
	body := data(100_000)
	before := time.Now().Add(-2 * time.Second).Truncate(time.Second)
	put := e.put(t, b, "obj", body)
	eq(t, "PutObject ETag", aws.ToString(put.ETag), quotedMD5(body))

	head, err := e.s3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("obj")})
	must(t, err, "HeadObject")
	eq(t, "HEAD ETag", aws.ToString(head.ETag), quotedMD5(body))
	eq(t, "HEAD Content-Length", aws.ToInt64(head.ContentLength), int64(len(body)))
	if aws.ToString(head.ContentType) == "" {
		t.Errorf("HEAD has no Content-Type")
	}
	if lm := aws.ToTime(head.LastModified); lm.Before(before) || lm.After(time.Now().Add(2*time.Second)) {
		t.Errorf("Last-Modified %v is not about now", lm)
	}
	eq(t, "Accept-Ranges", aws.ToString(head.AcceptRanges), "bytes")
	// Over TLS the SDK sent Content-Encoding: aws-chunked; that framing is
	// not the object's encoding.
	eq(t, "HEAD Content-Encoding", aws.ToString(head.ContentEncoding), "")

	get, err := e.s3.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("obj")})
	must(t, err, "GetObject")
	got, err := io.ReadAll(get.Body)
	get.Body.Close()
	must(t, err, "reading GetObject body")
	if !bytes.Equal(got, body) {
		t.Fatalf("GetObject returned other bytes")
	}
	eq(t, "GET ETag", aws.ToString(get.ETag), quotedMD5(body))
	eq(t, "GET Content-Length", aws.ToInt64(get.ContentLength), int64(len(body)))
	eq(t, "GET Last-Modified", aws.ToTime(get.LastModified), aws.ToTime(head.LastModified))

	// The listing agrees with HEAD.
	out, err := e.s3.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: &b})
	must(t, err, "ListObjectsV2")
	if len(out.Contents) != 1 {
		t.Fatalf("listing has %d objects", len(out.Contents))
	}
	o := out.Contents[0]
	eq(t, "listed ETag", aws.ToString(o.ETag), quotedMD5(body))
	eq(t, "listed Size", aws.ToInt64(o.Size), int64(len(body)))
	eq(t, "listed LastModified (seconds)", aws.ToTime(o.LastModified).Truncate(time.Second), aws.ToTime(head.LastModified))

	// Without a Content-Type on the upload, S3 serves binary/octet-stream.
	req := e.newRequest(t, http.MethodPut, b, "untyped", nil, body[:10])
	e.signBody(t, req, body[:10], signOpts{})
	wantRaw(t, e.send(t, req), http.StatusOK, "")
	head, err = e.s3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("untyped")})
	must(t, err, "HeadObject untyped")
	eq(t, "default Content-Type", aws.ToString(head.ContentType), "binary/octet-stream")
}

func testEmptyObject(t *testing.T, e *env) {
	b := e.bucket(t)
	put := e.put(t, b, "empty", nil)
	eq(t, "ETag", aws.ToString(put.ETag), quotedMD5(nil))
	e.wantBody(t, b, "empty", nil)
	head, err := e.s3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("empty")})
	must(t, err, "HeadObject")
	eq(t, "Content-Length", aws.ToInt64(head.ContentLength), 0)
	// s3fs's directory marker: a zero-byte "dir/" with a content type.
	_, err = e.s3.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("dir/"), Body: bytes.NewReader(nil), ContentType: aws.String("application/x-directory")})
	must(t, err, "PutObject dir/")
	head, err = e.s3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("dir/")})
	must(t, err, "HeadObject dir/")
	eq(t, "dir/ Content-Type", aws.ToString(head.ContentType), "application/x-directory")
}

func testObjectHeaders(t *testing.T, e *env) {
	b := e.bucket(t)
	body := data(3000)
	expires := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
	_, err := e.s3.PutObject(ctx(t), &s3.PutObjectInput{
		Bucket: &b, Key: aws.String("h"), Body: bytes.NewReader(body),
		ContentType:        aws.String("text/x-php; charset=utf-8"),
		ContentEncoding:    aws.String("gzip"),
		ContentDisposition: aws.String(`attachment; filename="kit.zip"`),
		ContentLanguage:    aws.String("de-CH"),
		CacheControl:       aws.String("no-cache, max-age=0"),
		Expires:            &expires,
	})
	must(t, err, "PutObject")
	check := func(what, ct, ce, cd, cl, cc string, exp *time.Time) {
		t.Helper()
		eq(t, what+" Content-Type", ct, "text/x-php; charset=utf-8")
		// The aws-chunked framing the SDK adds over TLS is not stored.
		eq(t, what+" Content-Encoding", ce, "gzip")
		eq(t, what+" Content-Disposition", cd, `attachment; filename="kit.zip"`)
		eq(t, what+" Content-Language", cl, "de-CH")
		eq(t, what+" Cache-Control", cc, "no-cache, max-age=0")
		if exp == nil || !exp.Equal(expires) {
			t.Errorf("%s Expires = %v, want %v", what, exp, expires)
		}
	}
	head, err := e.s3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("h")})
	must(t, err, "HeadObject")
	check("HEAD", aws.ToString(head.ContentType), aws.ToString(head.ContentEncoding), aws.ToString(head.ContentDisposition),
		aws.ToString(head.ContentLanguage), aws.ToString(head.CacheControl), head.Expires)
	get, err := e.s3.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("h")})
	must(t, err, "GetObject")
	got, _ := io.ReadAll(get.Body)
	get.Body.Close()
	check("GET", aws.ToString(get.ContentType), aws.ToString(get.ContentEncoding), aws.ToString(get.ContentDisposition),
		aws.ToString(get.ContentLanguage), aws.ToString(get.CacheControl), get.Expires)
	if !bytes.Equal(got, body) {
		t.Errorf("body changed (Content-Encoding gzip must not be decoded by the server)")
	}
}

func testUserMetadata(t *testing.T, e *env) {
	b := e.bucket(t)
	md := map[string]string{
		"notes":        "phishing kit from campaign 7",
		"collected-at": "2026-01-02T03:04:05Z",
		"Mixed-Case":   "value keeps its Case",
		"mtime":        "1700000000.123456789",
	}
	_, err := e.s3.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("m"), Body: strings.NewReader("x"), Metadata: md})
	must(t, err, "PutObject")
	want := map[string]string{}
	for k, v := range md {
		want[strings.ToLower(k)] = v
	}
	head, err := e.s3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("m")})
	must(t, err, "HeadObject")
	if fmt.Sprint(head.Metadata) != fmt.Sprint(want) {
		t.Errorf("HEAD metadata = %v, want %v", head.Metadata, want)
	}
	get, err := e.s3.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("m")})
	must(t, err, "GetObject")
	get.Body.Close()
	if fmt.Sprint(get.Metadata) != fmt.Sprint(want) {
		t.Errorf("GET metadata = %v, want %v", get.Metadata, want)
	}
	// An overwrite without metadata leaves none.
	e.put(t, b, "m", []byte("y"))
	head, err = e.s3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("m")})
	must(t, err, "HeadObject after overwrite")
	if len(head.Metadata) != 0 {
		t.Errorf("metadata survived an overwrite: %v", head.Metadata)
	}
}

// testUserMetadataWire reads the response header names off the wire:
// botocore builds Metadata keys from them as sent, so they must be
// lowercase whatever case the upload used (rclone sends X-Amz-Meta-Mtime).
func testUserMetadataWire(t *testing.T, e *env) {
	b := e.bucket(t)
	req := e.newRequest(t, http.MethodPut, b, "wire", nil, []byte("w"))
	req.Header["X-Amz-Meta-Mtime"] = []string{"1700000000.5"}
	req.Header["x-amz-meta-notes"] = []string{"lower"}
	e.signBody(t, req, []byte("w"), signOpts{})
	wantRaw(t, e.send(t, req), http.StatusOK, "")
	for _, method := range []string{http.MethodHead, http.MethodGet} {
		req := e.newRequest(t, method, b, "wire", nil, nil)
		e.signBody(t, req, nil, signOpts{})
		status, names := e.rawHeaderNames(t, req)
		if !strings.Contains(status, " 200 ") {
			t.Fatalf("%s: %s", method, status)
		}
		var meta []string
		for _, n := range names {
			if strings.HasPrefix(strings.ToLower(n), "x-amz-meta-") {
				meta = append(meta, n)
			}
		}
		slices.Sort(meta)
		if want := []string{"x-amz-meta-mtime", "x-amz-meta-notes"}; !slices.Equal(meta, want) {
			t.Errorf("%s sent metadata headers %q, want exactly %q", method, meta, want)
		}
	}
}

func testResponseOverrides(t *testing.T, e *env) {
	b := e.bucket(t)
	_, err := e.s3.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("o"), Body: strings.NewReader("<?php echo 1;"), ContentType: aws.String("text/x-php")})
	must(t, err, "PutObject")
	exp := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	out, err := e.s3.GetObject(ctx(t), &s3.GetObjectInput{
		Bucket: &b, Key: aws.String("o"),
		ResponseContentType:        aws.String("text/plain"),
		ResponseContentDisposition: aws.String(`attachment; filename="x.txt"`),
		ResponseCacheControl:       aws.String("private"),
		ResponseContentLanguage:    aws.String("fr"),
		ResponseContentEncoding:    aws.String("identity"),
		ResponseExpires:            &exp,
	})
	must(t, err, "GetObject with response-* overrides")
	body, _ := io.ReadAll(out.Body)
	out.Body.Close()
	eq(t, "body", string(body), "<?php echo 1;")
	eq(t, "Content-Type", aws.ToString(out.ContentType), "text/plain")
	eq(t, "Content-Disposition", aws.ToString(out.ContentDisposition), `attachment; filename="x.txt"`)
	eq(t, "Cache-Control", aws.ToString(out.CacheControl), "private")
	eq(t, "Content-Language", aws.ToString(out.ContentLanguage), "fr")
	eq(t, "Content-Encoding", aws.ToString(out.ContentEncoding), "identity")
	if out.Expires == nil || !out.Expires.Equal(exp) {
		t.Errorf("Expires = %v, want %v", out.Expires, exp)
	}
	// Overrides do not change what is stored.
	head, err := e.s3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("o")})
	must(t, err, "HeadObject")
	eq(t, "stored Content-Type", aws.ToString(head.ContentType), "text/x-php")
}

func testMissingKey(t *testing.T, e *env) {
	b := e.bucket(t)
	_, err := e.s3.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("nope")})
	wantErr(t, err, http.StatusNotFound, "NoSuchKey")
	_, err = e.s3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("nope")})
	wantStatus(t, err, http.StatusNotFound)
	_, err = e.s3.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String(b + "-missing"), Key: aws.String("nope")})
	wantErr(t, err, http.StatusNotFound, "NoSuchBucket")
	// The error document names the key and carries the request id.
	req := e.newRequest(t, http.MethodGet, b, "nope", nil, nil)
	e.signBody(t, req, nil, signOpts{})
	r := e.send(t, req)
	wantRaw(t, r, http.StatusNotFound, "NoSuchKey")
	if !bytes.Contains(r.body, []byte("<Key>nope</Key>")) && !bytes.Contains(r.body, []byte("nope")) {
		t.Errorf("NoSuchKey body does not name the key: %s", r.body)
	}
	eq(t, "error Content-Type", r.header.Get("Content-Type"), "application/xml")
}

// oddKeys are the key shapes real sync trees contain (CLIENTS.md).
var oddKeys = []string{
	"space key.txt", "plus+key", "equals=1", "percent%25key%", "amp&er", "quote's", "paren(1)",
	"bracket[2]", "tilde~", "comma,semi;colon", "hash#frag", "at@sign", "question?mark",
	"ümlaut/日本語/☃.txt", "dollar$", "star*", "back\\slash", "double//slash", "trailing/",
	"./dot/../segments", "a b/c d/e f", "tab\tkey", "emoji🦀",
}

func testOddKeys(t *testing.T, e *env) {
	b := e.bucket(t)
	for _, k := range oddKeys {
		body := []byte("body of " + k)
		e.put(t, b, k, body)
		e.wantBody(t, b, k, body)
		_, err := e.s3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String(k)})
		must(t, err, "HeadObject "+k)
	}
	var listed []string
	p := s3.NewListObjectsV2Paginator(e.s3, &s3.ListObjectsV2Input{Bucket: &b})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx(t))
		must(t, err, "ListObjectsV2")
		for _, o := range page.Contents {
			listed = append(listed, aws.ToString(o.Key))
		}
	}
	want := slices.Clone(oddKeys)
	slices.Sort(want)
	if !slices.Equal(listed, want) {
		t.Errorf("listed %q\nwant   %q", listed, want)
	}
	for _, k := range oddKeys {
		_, err := e.s3.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: &b, Key: aws.String(k)})
		must(t, err, "DeleteObject "+k)
		e.absent(t, b, k)
	}
}

func testDeleteObjectMissing(t *testing.T, e *env) {
	b := e.bucket(t)
	req := e.newRequest(t, http.MethodDelete, b, "never-was", nil, nil)
	e.signBody(t, req, nil, signOpts{})
	wantRaw(t, e.send(t, req), http.StatusNoContent, "")
	e.put(t, b, "was", []byte("x"))
	_, err := e.s3.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("was")})
	must(t, err, "DeleteObject")
	e.absent(t, b, "was")
	_, err = e.s3.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("was")})
	must(t, err, "DeleteObject again")
	_, err = e.s3.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: aws.String(b + "-missing"), Key: aws.String("k")})
	wantErr(t, err, http.StatusNotFound, "NoSuchBucket")
}

func testDeleteObjects(t *testing.T, e *env, quiet bool) {
	b := e.bucket(t)
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprintf("del/%04d", i)
	}
	e.putMany(t, b, keys[:999])
	e.put(t, b, "keep", []byte("kept"))
	ids := make([]types.ObjectIdentifier, len(keys))
	for i, k := range keys {
		ids[i] = types.ObjectIdentifier{Key: aws.String(k)} // the last one never existed
	}
	rec := e.recorder()
	out, err := e.client(rec).DeleteObjects(ctx(t), &s3.DeleteObjectsInput{Bucket: &b, Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(quiet)}})
	must(t, err, "DeleteObjects")
	x := rec.last(t, http.MethodPost)
	if x.header.Get("Content-Md5") != "" {
		t.Errorf("the SDK sent Content-MD5; this test means to prove it is not needed")
	}
	if x.header.Get("X-Amz-Checksum-Crc32") == "" && x.header.Get("X-Amz-Trailer") == "" {
		t.Logf("note: the SDK sent no CRC32 with DeleteObjects")
	}
	if len(out.Errors) != 0 {
		t.Fatalf("DeleteObjects errors: %+v", out.Errors[0])
	}
	if quiet {
		eq(t, "quiet Deleted entries", len(out.Deleted), 0)
	} else {
		eq(t, "verbose Deleted entries", len(out.Deleted), len(keys))
		seen := map[string]bool{}
		for _, d := range out.Deleted {
			seen[aws.ToString(d.Key)] = true
		}
		for _, k := range keys {
			if !seen[k] {
				t.Errorf("%s not reported deleted", k)
				break
			}
		}
	}
	list, err := e.s3.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: &b})
	must(t, err, "ListObjectsV2")
	if len(list.Contents) != 1 || aws.ToString(list.Contents[0].Key) != "keep" {
		t.Errorf("after DeleteObjects the bucket lists %d objects", len(list.Contents))
	}
	e.absent(t, b, keys[500])
	e.wantBody(t, b, "keep", []byte("kept"))
}

func testDeleteObjectsOverLimit(t *testing.T, e *env) {
	b := e.bucket(t)
	ids := make([]types.ObjectIdentifier, 1001)
	for i := range ids {
		ids[i] = types.ObjectIdentifier{Key: aws.String(fmt.Sprintf("k%d", i))}
	}
	_, err := e.s3.DeleteObjects(ctx(t), &s3.DeleteObjectsInput{Bucket: &b, Delete: &types.Delete{Objects: ids}})
	wantErr(t, err, http.StatusBadRequest, "MalformedXML")
	_, err = e.s3.DeleteObjects(ctx(t), &s3.DeleteObjectsInput{Bucket: aws.String(b + "-missing"), Delete: &types.Delete{Objects: ids[:1]}})
	wantErr(t, err, http.StatusNotFound, "NoSuchBucket")
}

func testReadAfterWrite(t *testing.T, e *env) {
	b := e.bucket(t)
	for i := range 25 {
		key := fmt.Sprintf("raw/%d", i%3)
		body := data(1 + i*3001)
		e.put(t, b, key, body) // first a create, then overwrites
		e.wantBody(t, b, key, body)
		head, err := e.s3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: &key})
		must(t, err, "HeadObject")
		eq(t, "ETag after write", aws.ToString(head.ETag), quotedMD5(body))
		out, err := e.s3.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: &b, Prefix: &key})
		must(t, err, "ListObjectsV2")
		if len(out.Contents) != 1 || aws.ToInt64(out.Contents[0].Size) != int64(len(body)) || aws.ToString(out.Contents[0].ETag) != quotedMD5(body) {
			t.Fatalf("listing right after the write shows %+v", out.Contents)
		}
		if i%4 == 3 {
			_, err := e.s3.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: &b, Key: &key})
			must(t, err, "DeleteObject")
			e.absent(t, b, key)
		}
	}
}

func testDedupInvisible(t *testing.T, e *env) {
	b1, b2 := e.bucket(t), e.bucket(t)
	body := data(200_000)
	e.put(t, b1, "one", body)
	e.put(t, b1, "two", body)
	e.put(t, b2, "three", body)
	_, err := e.s3.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: &b1, Key: aws.String("one")})
	must(t, err, "DeleteObject one")
	e.absent(t, b1, "one")
	e.wantBody(t, b1, "two", body)
	e.wantBody(t, b2, "three", body)
	// Overwrite one copy with other bytes: the others keep theirs.
	other := data(1234)
	e.put(t, b1, "two", other)
	e.wantBody(t, b1, "two", other)
	e.wantBody(t, b2, "three", body)
	// Delete the whole bucket holding the last reference but one, then
	// the last one still reads.
	_, err = e.s3.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: &b1, Key: aws.String("two")})
	must(t, err, "DeleteObject two")
	e.wantBody(t, b2, "three", body)
	// Same bytes again after every other reference went away.
	e.put(t, b1, "again", body)
	_, err = e.s3.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: &b2, Key: aws.String("three")})
	must(t, err, "DeleteObject three")
	e.wantBody(t, b1, "again", body)
	head, err := e.s3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b1, Key: aws.String("again")})
	must(t, err, "HeadObject")
	eq(t, "ETag", aws.ToString(head.ETag), quotedMD5(body))
}

func testDeleteObjectsOdd(t *testing.T, e *env) {
	b := e.bucket(t)
	keys := append([]string{"x<y>&z", "quote\"d", "apos'", "tab\tkey"}, oddKeys...)
	e.putMany(t, b, keys)
	ids := make([]types.ObjectIdentifier, len(keys))
	for i, k := range keys {
		ids[i] = types.ObjectIdentifier{Key: aws.String(k)}
	}
	out, err := e.s3.DeleteObjects(ctx(t), &s3.DeleteObjectsInput{Bucket: &b, Delete: &types.Delete{Objects: ids}})
	must(t, err, "DeleteObjects")
	var deleted []string
	for _, d := range out.Deleted {
		deleted = append(deleted, aws.ToString(d.Key))
	}
	slices.Sort(deleted)
	if want := sorted(keys); !slices.Equal(deleted, want) {
		t.Errorf("Deleted %q\nwant    %q", deleted, want)
	}
	for _, k := range keys {
		e.absent(t, b, k)
	}
	// Content-MD5 is checked when sent (minio-go sends it).
	e.put(t, b, "k", []byte("v"))
	doc := []byte(`<Delete><Object><Key>k</Key></Object></Delete>`)
	for _, tc := range []struct {
		name, md5 string
		status    int
		code      string
	}{
		{"wrong", base64.StdEncoding.EncodeToString(make([]byte, 16)), http.StatusBadRequest, "BadDigest"},
		{"right", base64.StdEncoding.EncodeToString(md5Sum(doc)), http.StatusOK, ""},
	} {
		req := e.newRequest(t, http.MethodPost, b, "", nil, doc)
		req.URL.RawQuery = "delete"
		req.Header.Set("Content-MD5", tc.md5)
		e.signBody(t, req, doc, signOpts{})
		wantRaw(t, e.send(t, req), tc.status, tc.code)
		if tc.status != http.StatusOK {
			e.wantBody(t, b, "k", []byte("v"))
		}
	}
	e.absent(t, b, "k")
}

func md5Sum(b []byte) []byte { s := md5.Sum(b); return s[:] }

func testMetadataTooLarge(t *testing.T, e *env) {
	b := e.bucket(t)
	md := map[string]string{"big": strings.Repeat("v", 2100)}
	_, err := e.s3.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("m"), Body: strings.NewReader("x"), Metadata: md})
	wantErr(t, err, http.StatusBadRequest, "MetadataTooLarge")
	e.absent(t, b, "m")
	_, err = e.s3.CreateMultipartUpload(ctx(t), &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("m"), Metadata: md})
	wantErr(t, err, http.StatusBadRequest, "MetadataTooLarge")
	// Just under the limit is fine.
	md = map[string]string{"big": strings.Repeat("v", 1900)}
	_, err = e.s3.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("m"), Body: strings.NewReader("x"), Metadata: md})
	must(t, err, "PutObject with 1.9 KB of metadata")
}

// testExpectContinue: a PUT that will fail (no such bucket, bad auth) is
// answered before the client sends its body.
func testExpectContinue(t *testing.T, e *env) {
	b := e.bucket(t)
	for _, tc := range []struct {
		name   string
		bucket string
		sign   bool
		status int
	}{
		{"no such bucket", b + "-missing", true, http.StatusNotFound},
		{"unsigned", b, false, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := data(1 << 20)
			req := e.newRequest(t, http.MethodPut, tc.bucket, "k", nil, body)
			req.Header.Set("Expect", "100-Continue") // rclone's capital C
			if tc.sign {
				e.sign(t, req, unsignedPayload, signOpts{})
			}
			conn := e.dial(t)
			defer conn.Close()
			// Headers only: the body is never sent.
			fmt.Fprintf(conn, "PUT %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", req.URL.RequestURI(), req.URL.Host, len(body))
			must(t, req.Header.Write(conn), "writing headers")
			fmt.Fprint(conn, "\r\n")
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			line, err := bufioLine(conn)
			if err != nil {
				t.Fatalf("no answer before the body was sent: %v", err)
			}
			if !strings.Contains(line, fmt.Sprintf(" %d ", tc.status)) {
				t.Fatalf("status line %q, want %d", line, tc.status)
			}
		})
	}
	e.absent(t, b, "k")
}

// bufioLine reads the first line of a response.
func bufioLine(r io.Reader) (string, error) {
	var line []byte
	buf := make([]byte, 1)
	for {
		if _, err := r.Read(buf); err != nil {
			return string(line), err
		}
		if buf[0] == '\n' {
			return strings.TrimSpace(string(line)), nil
		}
		line = append(line, buf[0])
	}
}

// testLiteralPath sends a key whose RFC 3986 sub-delimiters travel
// unescaped in the path (as curl and some SDKs send them). SigV4 for S3
// signs the path decoded once and fully re-encoded, so the signature is
// over the escaped form whatever the wire form; the SDK then finds the key.
func testLiteralPath(t *testing.T, e *env) {
	b := e.bucket(t)
	key := "lit+plus,comma;semi=eq@at!bang$dollar&amp'q(p)*star:colon"
	req := e.newRequest(t, http.MethodPut, b, key, nil, []byte("literal"))
	e.signBody(t, req, []byte("literal"), signOpts{}) // over the escaped path
	req.URL.RawPath = "/" + b + "/" + key
	if req.URL.EscapedPath() != req.URL.RawPath {
		t.Fatalf("net/url re-escaped the path: %s", req.URL.EscapedPath())
	}
	wantRaw(t, e.send(t, req), http.StatusOK, "")
	e.wantBody(t, b, key, []byte("literal"))
	// And the fully escaped form reaches the same object.
	req = e.newRequest(t, http.MethodGet, b, key, nil, nil)
	e.signBody(t, req, nil, signOpts{})
	r := e.send(t, req)
	wantRaw(t, r, http.StatusOK, "")
	eq(t, "body", string(r.body), "literal")
	// An encoded slash decodes to the same key as a plain one (and S3
	// signs the decoded path, where it is a plain '/').
	req = e.newRequest(t, http.MethodPut, b, "enc/slash", nil, []byte("s"))
	e.signBody(t, req, []byte("s"), signOpts{})
	req.URL.RawPath = "/" + b + "/enc%2Fslash"
	wantRaw(t, e.send(t, req), http.StatusOK, "")
	e.wantBody(t, b, "enc/slash", []byte("s"))
	// A signature over the literal (unencoded) path is not S3's canonical
	// form and is refused.
	req = e.newRequest(t, http.MethodPut, b, key, nil, []byte("x"))
	req.URL.RawPath = "/" + b + "/" + key
	e.signBody(t, req, []byte("x"), signOpts{})
	wantRaw(t, e.send(t, req), http.StatusForbidden, "SignatureDoesNotMatch")
	e.wantBody(t, b, key, []byte("literal"))
}

// testDirMarkers: a "dir/" marker is an object like any other; deleting it
// leaves the keys under it, deleting those leaves the marker.
func testDirMarkers(t *testing.T, e *env) {
	b := e.bucket(t)
	e.putMany(t, b, []string{"d/", "d/a", "d/sub/", "d/sub/b"})
	_, err := e.s3.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("d/")})
	must(t, err, "DeleteObject d/")
	out, err := e.s3.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: &b, Prefix: aws.String("d/"), Delimiter: aws.String("/")})
	must(t, err, "ListObjectsV2")
	eq(t, "listing", fmt.Sprint(keysOf(out.Contents), prefixesOf(out.CommonPrefixes)), "[d/a] [d/sub/]")
	_, err = e.s3.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: &b, Key: aws.String("d/sub/b")})
	must(t, err, "DeleteObject d/sub/b")
	out, err = e.s3.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: &b, Prefix: aws.String("d/sub/"), Delimiter: aws.String("/")})
	must(t, err, "ListObjectsV2")
	eq(t, "sub listing", fmt.Sprint(keysOf(out.Contents)), "[d/sub/]")
	e.wantBody(t, b, "d/sub/", []byte("d/sub/"))
}

// testUnsupportedSubresources: what an unversioned, untagged store does not
// do is refused without touching the object, and the empty answers are
// well-formed.
func testUnsupportedSubresources(t *testing.T, e *env) {
	b := e.bucket(t)
	e.put(t, b, "k", []byte("v"))
	tags, err := e.s3.GetObjectTagging(ctx(t), &s3.GetObjectTaggingInput{Bucket: &b, Key: aws.String("k")})
	must(t, err, "GetObjectTagging")
	eq(t, "tags", len(tags.TagSet), 0)
	_, err = e.s3.PutObjectTagging(ctx(t), &s3.PutObjectTaggingInput{Bucket: &b, Key: aws.String("k"),
		Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}}})
	if err == nil {
		t.Error("PutObjectTagging succeeded on a store without tags")
	}
	_, err = e.s3.PutBucketVersioning(ctx(t), &s3.PutBucketVersioningInput{Bucket: &b,
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}})
	if err == nil {
		t.Error("PutBucketVersioning Enabled succeeded on an unversioned store")
	}
	v, err := e.s3.GetBucketVersioning(ctx(t), &s3.GetBucketVersioningInput{Bucket: &b})
	must(t, err, "GetBucketVersioning")
	eq(t, "versioning", v.Status, "")
	e.wantBody(t, b, "k", []byte("v"))
	acl, err := e.s3.GetObjectAcl(ctx(t), &s3.GetObjectAclInput{Bucket: &b, Key: aws.String("k")})
	must(t, err, "GetObjectAcl")
	if len(acl.Grants) != 1 || acl.Grants[0].Permission != types.PermissionFullControl {
		t.Errorf("object ACL: %+v", acl.Grants)
	}
	_, err = e.s3.GetObjectAcl(ctx(t), &s3.GetObjectAclInput{Bucket: &b, Key: aws.String("missing")})
	wantErr(t, err, http.StatusNotFound, "NoSuchKey")
}
