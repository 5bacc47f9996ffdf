package s3conformance

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

var rangeCases = []testCase{
	{"Range", testRange},
	{"RangeOnEmptyObject", testRangeEmpty},
	{"ConditionalGetHead", testConditionals},
	{"IfMatchWithRange", testIfMatchWithRange},
}

func testRange(t *testing.T, e *env) {
	b := e.bucket(t)
	body := data(1000)
	e.put(t, b, "r", body)
	for _, tc := range []struct {
		rng        string
		status     int // 206, 200 (ignored range) or 416
		start, end int // inclusive, for 206
	}{
		{"bytes=0-9", 206, 0, 9},
		{"bytes=0-0", 206, 0, 0},
		{"bytes=999-999", 206, 999, 999},
		{"bytes=10-", 206, 10, 999},
		{"bytes=0-", 206, 0, 999},
		{"bytes=-10", 206, 990, 999},
		{"bytes=-1", 206, 999, 999},
		{"bytes=-1000", 206, 0, 999},
		{"bytes=-5000", 206, 0, 999},      // suffix longer than the object
		{"bytes=990-5000", 206, 990, 999}, // end past the end
		{"bytes=500-999", 206, 500, 999},
		{"bytes=1000-", 416, 0, 0},
		{"bytes=1000-2000", 416, 0, 0},
		{"bytes=5000-6000", 416, 0, 0},
		{"bytes=-0", 416, 0, 0},
		{"bytes=abc", 200, 0, 999},     // malformed: ignored, as S3 does
		{"bytes=5-2", 200, 0, 999},     // last < first: ignored
		{"bytes=0-1,5-6", 200, 0, 999}, // multiple ranges: S3 sends it all
		{"items=0-10", 200, 0, 999},    // other unit: ignored
	} {
		t.Run(tc.rng, func(t *testing.T) {
			out, err := e.s3.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("r"), Range: aws.String(tc.rng)})
			if tc.status == 416 {
				wantErr(t, err, http.StatusRequestedRangeNotSatisfiable, "InvalidRange")
				_, err = e.s3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("r"), Range: aws.String(tc.rng)})
				wantStatus(t, err, http.StatusRequestedRangeNotSatisfiable)
				return
			}
			must(t, err, "GetObject")
			got, err := io.ReadAll(out.Body)
			out.Body.Close()
			must(t, err, "reading")
			want := body[tc.start : tc.end+1]
			if !bytes.Equal(got, want) {
				t.Fatalf("got %d bytes, want bytes %d-%d", len(got), tc.start, tc.end)
			}
			eq(t, "Content-Length", aws.ToInt64(out.ContentLength), int64(len(want)))
			eq(t, "ETag", aws.ToString(out.ETag), quotedMD5(body))
			wantCR := ""
			if tc.status == 206 {
				wantCR = fmt.Sprintf("bytes %d-%d/1000", tc.start, tc.end)
			}
			eq(t, "Content-Range", aws.ToString(out.ContentRange), wantCR)

			// HEAD answers the same status and length without a body.
			head, err := e.s3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("r"), Range: aws.String(tc.rng)})
			must(t, err, "HeadObject with Range")
			eq(t, "HEAD Content-Length", aws.ToInt64(head.ContentLength), int64(len(want)))
			eq(t, "HEAD Content-Range", aws.ToString(head.ContentRange), wantCR)
		})
	}
	// The status code itself, which the SDK hides.
	req := e.newRequest(t, http.MethodGet, b, "r", nil, nil)
	req.Header.Set("Range", "bytes=1-2")
	e.signBody(t, req, nil, signOpts{})
	r := e.send(t, req)
	wantRaw(t, r, http.StatusPartialContent, "")
	eq(t, "raw body", string(r.body), string(body[1:3]))
	req = e.newRequest(t, http.MethodGet, b, "r", nil, nil)
	req.Header.Set("Range", "bytes=2000-")
	e.signBody(t, req, nil, signOpts{})
	wantRaw(t, e.send(t, req), http.StatusRequestedRangeNotSatisfiable, "InvalidRange")
}

func testRangeEmpty(t *testing.T, e *env) {
	b := e.bucket(t)
	e.put(t, b, "empty", nil)
	_, err := e.s3.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("empty"), Range: aws.String("bytes=0-")})
	wantErr(t, err, http.StatusRequestedRangeNotSatisfiable, "InvalidRange")
	_, err = e.s3.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("empty"), Range: aws.String("bytes=-5")})
	wantErr(t, err, http.StatusRequestedRangeNotSatisfiable, "InvalidRange")
}

func testConditionals(t *testing.T, e *env) {
	b := e.bucket(t)
	body := data(500)
	e.put(t, b, "c", body)
	head, err := e.s3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("c")})
	must(t, err, "HeadObject")
	etag := aws.ToString(head.ETag)
	lm := aws.ToTime(head.LastModified)
	past, future := lm.Add(-time.Hour), lm.Add(time.Hour)
	type cond struct {
		ifMatch, ifNoneMatch     string
		ifModSince, ifUnmodSince time.Time
	}
	for _, tc := range []struct {
		name   string
		c      cond
		status int // 200, 304 or 412
	}{
		{"IfMatch/right", cond{ifMatch: etag}, 200},
		{"IfMatch/unquoted", cond{ifMatch: md5Hex(body)}, 200},
		{"IfMatch/star", cond{ifMatch: "*"}, 200},
		{"IfMatch/list", cond{ifMatch: `"0000", ` + etag}, 200},
		{"IfMatch/wrong", cond{ifMatch: `"00000000000000000000000000000000"`}, 412},
		{"IfNoneMatch/right", cond{ifNoneMatch: etag}, 304},
		{"IfNoneMatch/star", cond{ifNoneMatch: "*"}, 304},
		{"IfNoneMatch/wrong", cond{ifNoneMatch: `"0000"`}, 200},
		{"IfModifiedSince/past", cond{ifModSince: past}, 200},
		{"IfModifiedSince/exact", cond{ifModSince: lm}, 304},
		{"IfModifiedSince/future", cond{ifModSince: future}, 304},
		{"IfUnmodifiedSince/past", cond{ifUnmodSince: past}, 412},
		{"IfUnmodifiedSince/exact", cond{ifUnmodSince: lm}, 200},
		{"IfUnmodifiedSince/future", cond{ifUnmodSince: future}, 200},
		// S3: If-Match true wins over If-Unmodified-Since false.
		{"IfMatch+IfUnmodifiedSince", cond{ifMatch: etag, ifUnmodSince: past}, 200},
		// If-None-Match decides alone when present.
		{"IfNoneMatch+IfModifiedSince", cond{ifNoneMatch: `"0000"`, ifModSince: future}, 200},
		{"IfMatch+IfNoneMatch", cond{ifMatch: etag, ifNoneMatch: etag}, 304},
		{"IfMatchWrong+IfNoneMatch", cond{ifMatch: `"0000"`, ifNoneMatch: etag}, 412},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := &s3.GetObjectInput{Bucket: &b, Key: aws.String("c")}
			hin := &s3.HeadObjectInput{Bucket: &b, Key: aws.String("c")}
			if tc.c.ifMatch != "" {
				in.IfMatch, hin.IfMatch = aws.String(tc.c.ifMatch), aws.String(tc.c.ifMatch)
			}
			if tc.c.ifNoneMatch != "" {
				in.IfNoneMatch, hin.IfNoneMatch = aws.String(tc.c.ifNoneMatch), aws.String(tc.c.ifNoneMatch)
			}
			if !tc.c.ifModSince.IsZero() {
				in.IfModifiedSince, hin.IfModifiedSince = &tc.c.ifModSince, &tc.c.ifModSince
			}
			if !tc.c.ifUnmodSince.IsZero() {
				in.IfUnmodifiedSince, hin.IfUnmodifiedSince = &tc.c.ifUnmodSince, &tc.c.ifUnmodSince
			}
			out, err := e.s3.GetObject(ctx(t), in)
			_, herr := e.s3.HeadObject(ctx(t), hin)
			switch tc.status {
			case 200:
				must(t, err, "GetObject")
				got, _ := io.ReadAll(out.Body)
				out.Body.Close()
				if !bytes.Equal(got, body) {
					t.Errorf("wrong body")
				}
				must(t, herr, "HeadObject")
			case 304:
				wantStatus(t, err, http.StatusNotModified)
				wantStatus(t, herr, http.StatusNotModified)
			case 412:
				wantErr(t, err, http.StatusPreconditionFailed, "PreconditionFailed")
				wantStatus(t, herr, http.StatusPreconditionFailed)
			}
		})
	}
	// Unparseable dates are ignored, as RFC 9110 says.
	for _, h := range []string{"If-Modified-Since", "If-Unmodified-Since"} {
		req := e.newRequest(t, http.MethodGet, b, "c", nil, nil)
		req.Header.Set(h, "yesterday at noon")
		e.signBody(t, req, nil, signOpts{})
		wantRaw(t, e.send(t, req), http.StatusOK, "")
	}
	// A 304 carries the ETag and Last-Modified and no body.
	req := e.newRequest(t, http.MethodGet, b, "c", nil, nil)
	req.Header.Set("If-None-Match", etag)
	e.signBody(t, req, nil, signOpts{})
	r := e.send(t, req)
	wantRaw(t, r, http.StatusNotModified, "")
	eq(t, "304 ETag", r.header.Get("ETag"), etag)
	eq(t, "304 Last-Modified", r.header.Get("Last-Modified"), lm.UTC().Format(http.TimeFormat))
	eq(t, "304 body length", len(r.body), 0)
}

// testIfMatchWithRange is how s3transfer (aws s3 cp, boto3) downloads:
// parallel ranged GETs, each with If-Match of the first response's ETag.
func testIfMatchWithRange(t *testing.T, e *env) {
	b := e.bucket(t)
	body := data(10_000)
	put := e.put(t, b, "im", body)
	etag := aws.ToString(put.ETag)
	for off := 0; off < len(body); off += 3000 {
		end := min(off+2999, len(body)-1)
		out, err := e.s3.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("im"), IfMatch: &etag, Range: aws.String(fmt.Sprintf("bytes=%d-%d", off, end))})
		must(t, err, "ranged GetObject with If-Match")
		got, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if !bytes.Equal(got, body[off:end+1]) {
			t.Fatalf("range %d-%d: wrong bytes", off, end)
		}
		eq(t, "Content-Range", aws.ToString(out.ContentRange), fmt.Sprintf("bytes %d-%d/%d", off, end, len(body)))
	}
	// After an overwrite the old ETag no longer matches: 412, not bytes of
	// the new object.
	e.put(t, b, "im", data(10_000))
	_, err := e.s3.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("im"), IfMatch: &etag, Range: aws.String("bytes=0-99")})
	wantErr(t, err, http.StatusPreconditionFailed, "PreconditionFailed")
	// If-None-Match with a matching ETag and a Range is 304.
	_, err = e.s3.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("im"), IfNoneMatch: aws.String("*"), Range: aws.String("bytes=0-99")})
	wantStatus(t, err, http.StatusNotModified)
}
