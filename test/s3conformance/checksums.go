package s3conformance

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash"
	"hash/crc32"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/crc64nvme"
)

var checksumCases = []testCase{
	{"FlexibleChecksums", testFlexibleChecksums},
	{"DefaultCRC32OnTheWire", testDefaultCRC32},
	{"WrongChecksumIsBadDigest", testWrongChecksum},
	{"ContentMD5", testContentMD5},
	{"TrailerChecksum", testTrailerChecksum},
	{"TrailerChecksumBotocoreFraming", testTrailerBotocore},
	{"UploadPartDigests", testUploadPartDigests},
}

// algs are the flexible checksum algorithms with a local implementation.
var algs = []struct {
	alg    types.ChecksumAlgorithm
	header string
	new    func() hash.Hash
}{
	{types.ChecksumAlgorithmCrc32, "x-amz-checksum-crc32", func() hash.Hash { return crc32.NewIEEE() }},
	{types.ChecksumAlgorithmCrc32c, "x-amz-checksum-crc32c", func() hash.Hash { return crc32.New(crc32.MakeTable(crc32.Castagnoli)) }},
	{types.ChecksumAlgorithmCrc64nvme, "x-amz-checksum-crc64nvme", func() hash.Hash { return crc64nvme.New() }},
	{types.ChecksumAlgorithmSha1, "x-amz-checksum-sha1", sha1.New},
	{types.ChecksumAlgorithmSha256, "x-amz-checksum-sha256", sha256.New},
}

func sum64(h func() hash.Hash, b []byte) string {
	x := h()
	x.Write(b)
	return base64.StdEncoding.EncodeToString(x.Sum(nil))
}

// checksumOf returns the checksum field of alg in any SDK output.
func checksumOf(alg types.ChecksumAlgorithm, crc32, crc32c, crc64, sha1, sha256 *string) string {
	switch alg {
	case types.ChecksumAlgorithmCrc32:
		return aws.ToString(crc32)
	case types.ChecksumAlgorithmCrc32c:
		return aws.ToString(crc32c)
	case types.ChecksumAlgorithmCrc64nvme:
		return aws.ToString(crc64)
	case types.ChecksumAlgorithmSha1:
		return aws.ToString(sha1)
	case types.ChecksumAlgorithmSha256:
		return aws.ToString(sha256)
	}
	return ""
}

func testFlexibleChecksums(t *testing.T, e *env) {
	b := e.bucket(t)
	body := data(300_000) // several aws-chunked chunks over TLS
	for _, a := range algs {
		t.Run(string(a.alg), func(t *testing.T) {
			key := "sum-" + string(a.alg)
			want := sum64(a.new, body)
			rec := e.recorder()
			c := e.client(rec)
			put, err := c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: &key, Body: bytes.NewReader(body), ChecksumAlgorithm: a.alg})
			must(t, err, "PutObject")
			x := rec.last(t, http.MethodPut)
			if e.https() {
				// Over TLS the SDK streams the checksum as a trailer.
				eq(t, "x-amz-content-sha256", x.header.Get("X-Amz-Content-Sha256"), streamingTrailer)
				eq(t, "x-amz-trailer", x.header.Get("X-Amz-Trailer"), a.header)
			} else {
				eq(t, "checksum header", x.header.Get(a.header), want)
			}
			eq(t, "PutObject checksum", checksumOf(a.alg, put.ChecksumCRC32, put.ChecksumCRC32C, put.ChecksumCRC64NVME, put.ChecksumSHA1, put.ChecksumSHA256), want)
			eq(t, "PutObject ETag", aws.ToString(put.ETag), quotedMD5(body))

			get, err := c.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: &key, ChecksumMode: types.ChecksumModeEnabled})
			must(t, err, "GetObject")
			got, err := io.ReadAll(get.Body) // the SDK validates while reading
			get.Body.Close()
			must(t, err, "reading (SDK checksum validation)")
			if !bytes.Equal(got, body) {
				t.Fatal("wrong body")
			}
			eq(t, "GetObject checksum", checksumOf(a.alg, get.ChecksumCRC32, get.ChecksumCRC32C, get.ChecksumCRC64NVME, get.ChecksumSHA1, get.ChecksumSHA256), want)
			eq(t, "GetObject checksum type", get.ChecksumType, types.ChecksumTypeFullObject)

			head, err := c.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: &key, ChecksumMode: types.ChecksumModeEnabled})
			must(t, err, "HeadObject")
			eq(t, "HeadObject checksum", checksumOf(a.alg, head.ChecksumCRC32, head.ChecksumCRC32C, head.ChecksumCRC64NVME, head.ChecksumSHA1, head.ChecksumSHA256), want)

			// Without checksum mode, no checksum headers.
			head, err = c.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: &key})
			must(t, err, "HeadObject")
			if v := checksumOf(a.alg, head.ChecksumCRC32, head.ChecksumCRC32C, head.ChecksumCRC64NVME, head.ChecksumSHA1, head.ChecksumSHA256); v != "" {
				t.Errorf("checksum %q sent without x-amz-checksum-mode", v)
			}
		})
	}
}

// testDefaultCRC32: with no algorithm named, the SDK sends CRC32 (as the
// aws CLI and boto3 do), and the server returns it.
func testDefaultCRC32(t *testing.T, e *env) {
	b := e.bucket(t)
	body := data(70_000)
	rec := e.recorder()
	c := e.client(rec)
	put, err := c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("d"), Body: bytes.NewReader(body)})
	must(t, err, "PutObject")
	x := rec.last(t, http.MethodPut)
	want := sum64(algs[0].new, body)
	if e.https() {
		eq(t, "x-amz-trailer", x.header.Get("X-Amz-Trailer"), "x-amz-checksum-crc32")
	} else {
		eq(t, "x-amz-checksum-crc32", x.header.Get("X-Amz-Checksum-Crc32"), want)
	}
	eq(t, "PutObject ChecksumCRC32", aws.ToString(put.ChecksumCRC32), want)
	get, err := c.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("d"), ChecksumMode: types.ChecksumModeEnabled})
	must(t, err, "GetObject")
	_, err = io.ReadAll(get.Body)
	get.Body.Close()
	must(t, err, "reading")
	eq(t, "GetObject ChecksumCRC32", aws.ToString(get.ChecksumCRC32), want)
}

// testWrongChecksum: a checksum that does not match the body is BadDigest
// and leaves nothing behind, for every algorithm.
func testWrongChecksum(t *testing.T, e *env) {
	b := e.bucket(t)
	body := data(100_000)
	wrongOf := map[types.ChecksumAlgorithm]string{}
	for _, a := range algs {
		wrongOf[a.alg] = sum64(a.new, []byte("other bytes"))
	}
	for _, a := range algs {
		t.Run(string(a.alg), func(t *testing.T) {
			key := "bad-" + string(a.alg)
			in := &s3.PutObjectInput{Bucket: &b, Key: &key, Body: bytes.NewReader(body)}
			w := aws.String(wrongOf[a.alg])
			switch a.alg {
			case types.ChecksumAlgorithmCrc32:
				in.ChecksumCRC32 = w
			case types.ChecksumAlgorithmCrc32c:
				in.ChecksumCRC32C = w
			case types.ChecksumAlgorithmCrc64nvme:
				in.ChecksumCRC64NVME = w
			case types.ChecksumAlgorithmSha1:
				in.ChecksumSHA1 = w
			case types.ChecksumAlgorithmSha256:
				in.ChecksumSHA256 = w
			}
			_, err := e.s3.PutObject(ctx(t), in)
			wantErr(t, err, http.StatusBadRequest, "BadDigest")
			e.absent(t, b, key)

			// The same by hand, in a header of a signed request.
			req := e.newRequest(t, http.MethodPut, b, key, nil, body)
			req.Header.Set(a.header, wrongOf[a.alg])
			e.signBody(t, req, body, signOpts{})
			wantRaw(t, e.send(t, req), http.StatusBadRequest, "BadDigest")
			e.absent(t, b, key)
		})
	}
	// A wrong checksum on an overwrite keeps the old object.
	e.put(t, b, "keep", []byte("old"))
	_, err := e.s3.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("keep"), Body: bytes.NewReader(body), ChecksumCRC32: aws.String(wrongOf[types.ChecksumAlgorithmCrc32])})
	wantErr(t, err, http.StatusBadRequest, "BadDigest")
	e.wantBody(t, b, "keep", []byte("old"))
	// A checksum that is not even base64 of the right length.
	req := e.newRequest(t, http.MethodPut, b, "garbage", nil, body)
	req.Header.Set("x-amz-checksum-crc32", "not base64!")
	e.signBody(t, req, body, signOpts{})
	want4xx(t, e.send(t, req))
	e.absent(t, b, "garbage")
}

func testContentMD5(t *testing.T, e *env) {
	b := e.bucket(t)
	body := data(50_000)
	sum := md5.Sum(body)
	right := base64.StdEncoding.EncodeToString(sum[:])
	wrongSum := md5.Sum([]byte("x"))
	wrong := base64.StdEncoding.EncodeToString(wrongSum[:])

	_, err := e.s3.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("ok"), Body: bytes.NewReader(body), ContentMD5: &right})
	must(t, err, "PutObject with the right Content-MD5")
	e.wantBody(t, b, "ok", body)

	_, err = e.s3.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("bad"), Body: bytes.NewReader(body), ContentMD5: &wrong})
	wantErr(t, err, http.StatusBadRequest, "BadDigest")
	e.absent(t, b, "bad")

	// rclone's way: UNSIGNED-PAYLOAD, integrity from Content-MD5 alone.
	for _, tc := range []struct {
		name, md5 string
		status    int
		code      string
	}{
		{"right", right, http.StatusOK, ""},
		{"wrong", wrong, http.StatusBadRequest, "BadDigest"},
		{"malformed", "not-an-md5", http.StatusBadRequest, "InvalidDigest"},
		{"short", base64.StdEncoding.EncodeToString(sum[:8]), http.StatusBadRequest, "InvalidDigest"},
	} {
		t.Run("unsigned/"+tc.name, func(t *testing.T) {
			key := "unsigned-" + tc.name
			req := e.newRequest(t, http.MethodPut, b, key, nil, body)
			req.Header.Set("Content-MD5", tc.md5)
			e.sign(t, req, unsignedPayload, signOpts{})
			wantRaw(t, e.send(t, req), tc.status, tc.code)
			if tc.status == http.StatusOK {
				e.wantBody(t, b, key, body)
			} else {
				e.absent(t, b, key)
			}
		})
	}
}

// testTrailerChecksum sends STREAMING-UNSIGNED-PAYLOAD-TRAILER by hand
// (over either scheme) with a right and a wrong trailing checksum.
func testTrailerChecksum(t *testing.T, e *env) {
	b := e.bucket(t)
	body := data(200_000)
	for _, a := range algs {
		t.Run(string(a.alg), func(t *testing.T) {
			key := "trailer-" + string(a.alg)
			req := e.trailerRequest(t, b, key, body, a.header, sum64(a.new, body), nil)
			wantRaw(t, e.send(t, req), http.StatusOK, "")
			e.wantBody(t, b, key, body)
			head, err := e.s3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: &key, ChecksumMode: types.ChecksumModeEnabled})
			must(t, err, "HeadObject")
			eq(t, "stored checksum", checksumOf(a.alg, head.ChecksumCRC32, head.ChecksumCRC32C, head.ChecksumCRC64NVME, head.ChecksumSHA1, head.ChecksumSHA256), sum64(a.new, body))

			bad := "bad-" + key
			req = e.trailerRequest(t, b, bad, body, a.header, sum64(a.new, body[1:]), nil)
			wantRaw(t, e.send(t, req), http.StatusBadRequest, "BadDigest")
			e.absent(t, b, bad)
		})
	}
	// A trailer that was announced but never sent.
	req := e.trailerRequest(t, b, "missing-trailer", body, "x-amz-checksum-crc32", "", func(enc []byte) []byte {
		i := bytes.LastIndex(enc, []byte("0\r\n"))
		return append(enc[:i:i], "0\r\n\r\n"...)
	})
	want4xx(t, e.send(t, req))
	e.absent(t, b, "missing-trailer")
}

// crc32Raw is the 4-byte big-endian CRC32 of b (for composite checksums).
func crc32Raw(b []byte) []byte {
	return binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(b))
}

// testTrailerBotocore frames the trailer upload as botocore does over
// HTTPS: Transfer-Encoding: chunked around aws-chunked, no Content-Length.
func testTrailerBotocore(t *testing.T, e *env) {
	b := e.bucket(t)
	body := data(300_000)
	crc := sum64(algs[0].new, body)
	o := trailerOpts{bucket: b, key: "boto", chunkedTE: true}
	wantRaw(t, e.send(t, e.trailerRequestTo(t, o, body, "x-amz-checksum-crc32", crc, nil)), http.StatusOK, "")
	e.wantBody(t, b, "boto", body)
	o.key = "boto-bad"
	wantRaw(t, e.send(t, e.trailerRequestTo(t, o, body, "x-amz-checksum-crc32", sum64(algs[0].new, body[1:]), nil)), http.StatusBadRequest, "BadDigest")
	e.absent(t, b, "boto-bad")
}

// testUploadPartDigests: a part whose Content-MD5, flexible checksum or
// trailer is wrong is refused and not stored.
func testUploadPartDigests(t *testing.T, e *env) {
	b := e.bucket(t)
	id := e.create(t, &s3.CreateMultipartUploadInput{Bucket: &b, Key: aws.String("p"), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
	body := data(200_000)
	q := url.Values{"partNumber": {"1"}, "uploadId": {id}}
	wrongMD5 := base64.StdEncoding.EncodeToString(make([]byte, 16))
	wrongCRC := sum64(algs[0].new, []byte("x"))

	req := e.newRequest(t, http.MethodPut, b, "p", q, body)
	req.Header.Set("Content-MD5", wrongMD5)
	e.signBody(t, req, body, signOpts{})
	wantRaw(t, e.send(t, req), http.StatusBadRequest, "BadDigest")

	_, err := e.s3.UploadPart(ctx(t), &s3.UploadPartInput{Bucket: &b, Key: aws.String("p"), UploadId: &id, PartNumber: aws.Int32(1),
		Body: bytes.NewReader(body), ChecksumCRC32: &wrongCRC})
	wantErr(t, err, http.StatusBadRequest, "BadDigest")

	req = e.trailerRequestTo(t, trailerOpts{bucket: b, key: "p", query: q}, body, "x-amz-checksum-crc32", wrongCRC, nil)
	wantRaw(t, e.send(t, req), http.StatusBadRequest, "BadDigest")

	lp, err := e.s3.ListParts(ctx(t), &s3.ListPartsInput{Bucket: &b, Key: aws.String("p"), UploadId: &id})
	must(t, err, "ListParts")
	eq(t, "parts stored", len(lp.Parts), 0)

	// The right trailer is stored with its checksum.
	req = e.trailerRequestTo(t, trailerOpts{bucket: b, key: "p", query: q, chunkedTE: true}, body, "x-amz-checksum-crc32", sum64(algs[0].new, body), nil)
	r := e.send(t, req)
	wantRaw(t, r, http.StatusOK, "")
	eq(t, "part ETag", r.header.Get("ETag"), quotedMD5(body))
	eq(t, "part x-amz-checksum-crc32", r.header.Get("x-amz-checksum-crc32"), sum64(algs[0].new, body))
	lp, err = e.s3.ListParts(ctx(t), &s3.ListPartsInput{Bucket: &b, Key: aws.String("p"), UploadId: &id})
	must(t, err, "ListParts")
	if len(lp.Parts) != 1 || aws.ToString(lp.Parts[0].ChecksumCRC32) != sum64(algs[0].new, body) {
		t.Errorf("parts: %+v", lp.Parts)
	}
}
