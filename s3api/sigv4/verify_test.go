package sigv4

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// roundTripCases are S3 requests of every shape the clients in CLIENTS.md
// send, with keys full of characters that need escaping.
var roundTripCases = []struct {
	name, method, path, query string
	body                      []byte
	unsigned                  bool              // UNSIGNED-PAYLOAD instead of the hex digest
	header                    map[string]string // extra headers, signed
	rewriteQuery              string            // wire query after signing (equivalent encoding)
	host                      string            // virtual-host style Host
}{
	{name: "list buckets", method: "GET", path: "/"},
	{name: "get", method: "GET", path: "/bucket/key.txt"},
	{name: "put", method: "PUT", path: "/bucket/dir/file.bin", body: []byte("hello world"),
		header: map[string]string{"Content-Type": "application/octet-stream", "X-Amz-Meta-Notes": "a   b  c"}},
	{name: "put unsigned payload", method: "PUT", path: "/bucket/u", body: []byte("data"), unsigned: true},
	{name: "head", method: "HEAD", path: "/bucket/key"},
	{name: "delete", method: "DELETE", path: "/bucket/key"},
	{name: "delete objects", method: "POST", path: "/bucket", query: "delete=",
		body: []byte(`<Delete><Object><Key>a b</Key></Object></Delete>`)},
	{name: "create multipart", method: "POST", path: "/bucket/big file", query: "uploads="},
	{name: "upload part", method: "PUT", path: "/bucket/big file", query: "partNumber=3&uploadId=abc~DEF-_.123",
		body: bytes.Repeat([]byte("p"), 1000), unsigned: true},
	{name: "list v2", method: "GET", path: "/bucket",
		query: "continuation-token=a%2Bb%3D%3D&delimiter=%2F&encoding-type=url&list-type=2&prefix=dir%2Fa%20b%2Bc"},
	{name: "list v1 s3fs unescaped delimiter", method: "GET", path: "/bucket",
		query: "delimiter=%2F&max-keys=1000&prefix=x", rewriteQuery: "max-keys=1000&prefix=x&delimiter=/"},
	{name: "query plus means space", method: "GET", path: "/bucket",
		query: "prefix=a%20b", rewriteQuery: "prefix=a+b"},
	{name: "query empty values", method: "GET", path: "/bucket", query: "versioning=", rewriteQuery: "versioning"},
	{name: "key with space plus percent equals amp", method: "PUT", path: "/bucket/a b+c%d=e&f.txt", body: []byte("x")},
	{name: "key with quote parens brackets", method: "GET", path: "/bucket/it's (1) [2] ~,;#@!$*.txt"},
	{name: "unicode key", method: "PUT", path: "/bucket/ü/日本語/☃.txt", body: []byte("snow")},
	{name: "double slash and dot segments", method: "GET", path: "/bucket/a//b/../c/./d"},
	{name: "trailing slash marker", method: "PUT", path: "/bucket/dir/", body: []byte{},
		header: map[string]string{"Content-Type": "application/x-directory"}},
	{name: "range and conditional headers", method: "GET", path: "/bucket/k",
		header: map[string]string{"Range": "bytes=0-9", "If-Match": `"abc"`}},
	{name: "expect 100-continue", method: "PUT", path: "/bucket/e", body: bytes.Repeat([]byte("e"), 4096),
		header: map[string]string{"Expect": "100-continue"}},
	{name: "virtual host", method: "GET", path: "/key", host: "bucket.s3.example.test"},
	{name: "response overrides", method: "GET", path: "/bucket/k",
		query: "response-content-disposition=attachment%3B%20filename%3D%22x%20y.txt%22&response-content-type=text%2Fplain"},
}

func TestHeaderAuthRoundTrip(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		srv := newServer(t, newVerifier(time.Time{}), useTLS)
		for _, tc := range roundTripCases {
			name := tc.name
			if useTLS {
				name += " tls"
			}
			t.Run(name, func(t *testing.T) {
				req := newRequest(t, tc.method, srv.URL, tc.path, tc.query, tc.body)
				for k, v := range tc.header {
					req.Header.Set(k, v)
				}
				if tc.host != "" {
					req.Host = tc.host
				}
				hash := sha256Hex(tc.body)
				if tc.unsigned {
					hash = unsignedPayload
				}
				sdkSign(t, req, hash, time.Now(), testAK, testSK, testRegion)
				if tc.rewriteQuery != "" {
					req.URL.RawQuery = tc.rewriteQuery
				}
				o := srv.do(t, req)
				if o.err != nil {
					t.Fatalf("verify: %v\nauthorization: %s", o.err, req.Header.Get("Authorization"))
				}
				if o.res.AccessKey != testAK || o.res.Presigned {
					t.Errorf("result = %+v", o.res)
				}
				if !bytes.Equal(o.body, tc.body) {
					t.Errorf("body = %q, want %q", o.body, tc.body)
				}
				wantMode := SignedHex
				if tc.unsigned {
					wantMode = Unsigned
				}
				if o.res.PayloadMode != wantMode {
					t.Errorf("mode = %v, want %v", o.res.PayloadMode, wantMode)
				}
				if wantMode == SignedHex && sha256Hex(tc.body) != hexString(o.res.PayloadSHA256) {
					t.Errorf("PayloadSHA256 = %x", o.res.PayloadSHA256)
				}
				if o.res.ContentLength != int64(len(tc.body)) {
					t.Errorf("ContentLength = %d, want %d", o.res.ContentLength, len(tc.body))
				}
				if tc.host != "" && o.host != tc.host {
					t.Errorf("host = %q", o.host)
				}
			})
		}
	}
}

func TestPresignedRoundTrip(t *testing.T) {
	srv := newServer(t, newVerifier(time.Time{}), false)
	for _, tc := range roundTripCases {
		if tc.rewriteQuery != "" {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			req := newRequest(t, tc.method, srv.URL, tc.path, tc.query, tc.body)
			if tc.host != "" {
				req.Host = tc.host
			}
			preq := sdkPresign(t, req, time.Hour, time.Now())
			// urllib adds a Content-Type nobody signed; presigned URLs sign only host.
			preq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.host != "" {
				preq.Host = tc.host
			}
			o := srv.do(t, preq)
			if o.err != nil {
				t.Fatalf("verify: %v\nurl: %s", o.err, preq.URL)
			}
			if !o.res.Presigned || o.res.PayloadMode != Unsigned || o.res.AccessKey != testAK {
				t.Errorf("result = %+v", o.res)
			}
			if !bytes.Equal(o.body, tc.body) {
				t.Errorf("body = %q, want %q", o.body, tc.body)
			}
		})
	}
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	var s strings.Builder
	for _, c := range b {
		s.WriteByte(digits[c>>4])
		s.WriteByte(digits[c&15])
	}
	return s.String()
}

// TestHeaderAuthErrors checks that every way of getting a request wrong
// yields the sentinel s3api maps to the right S3 error code.
func TestHeaderAuthErrors(t *testing.T) {
	body := []byte("payload bytes")
	sign := func(t *testing.T, base string, mutate func(*http.Request)) *http.Request {
		req := newRequest(t, "PUT", base, "/bucket/key", "x-id=PutObject", body)
		req.Header.Set("X-Amz-Meta-A", "1")
		if mutate != nil {
			mutate(req)
		}
		return req
	}
	cases := []struct {
		name    string
		now     time.Time // verifier clock; zero = testTime
		build   func(t *testing.T, base string) *http.Request
		want    error
		inBody  bool // the error comes from reading Result.Body
		wantMsg string
	}{
		{name: "no auth", want: ErrMissingAuth, build: func(t *testing.T, base string) *http.Request {
			return sign(t, base, nil)
		}},
		{name: "tampered signature", want: ErrSignatureMismatch, build: func(t *testing.T, base string) *http.Request {
			req := sign(t, base, nil)
			sdkSign(t, req, sha256Hex(body), testTime, testAK, testSK, testRegion)
			a := req.Header.Get("Authorization")
			last := a[len(a)-1]
			flip := byte('0')
			if last == '0' {
				flip = '1'
			}
			req.Header.Set("Authorization", a[:len(a)-1]+string(flip))
			return req
		}},
		{name: "signature not hex", want: ErrSignatureMismatch, build: func(t *testing.T, base string) *http.Request {
			req := sign(t, base, nil)
			sdkSign(t, req, sha256Hex(body), testTime, testAK, testSK, testRegion)
			a := req.Header.Get("Authorization")
			req.Header.Set("Authorization", a[:len(a)-64]+strings.Repeat("zz", 32))
			return req
		}},
		{name: "wrong secret", want: ErrSignatureMismatch, build: func(t *testing.T, base string) *http.Request {
			req := sign(t, base, nil)
			sdkSign(t, req, sha256Hex(body), testTime, testAK, "not-the-secret", testRegion)
			return req
		}},
		{name: "unknown access key", want: ErrUnknownAccessKey, build: func(t *testing.T, base string) *http.Request {
			req := sign(t, base, nil)
			sdkSign(t, req, sha256Hex(body), testTime, "AKIDUNKNOWN", testSK, testRegion)
			return req
		}},
		{name: "wrong region", want: ErrWrongRegion, wantMsg: "the region 'eu-west-1' is wrong; expecting 'us-east-1'",
			build: func(t *testing.T, base string) *http.Request {
				req := sign(t, base, nil)
				sdkSign(t, req, sha256Hex(body), testTime, testAK, testSK, "eu-west-1")
				return req
			}},
		{name: "clock ahead of request", now: testTime.Add(16 * time.Minute), want: ErrTimeSkewed,
			build: func(t *testing.T, base string) *http.Request {
				req := sign(t, base, nil)
				sdkSign(t, req, sha256Hex(body), testTime, testAK, testSK, testRegion)
				return req
			}},
		{name: "request from the future", now: testTime.Add(-16 * time.Minute), want: ErrTimeSkewed,
			build: func(t *testing.T, base string) *http.Request {
				req := sign(t, base, nil)
				sdkSign(t, req, sha256Hex(body), testTime, testAK, testSK, testRegion)
				return req
			}},
		{name: "within skew", now: testTime.Add(14 * time.Minute), want: nil,
			build: func(t *testing.T, base string) *http.Request {
				req := sign(t, base, nil)
				sdkSign(t, req, sha256Hex(body), testTime, testAK, testSK, testRegion)
				return req
			}},
		{name: "missing x-amz-date", want: ErrMissingDate, build: func(t *testing.T, base string) *http.Request {
			req := sign(t, base, nil)
			sdkSign(t, req, sha256Hex(body), testTime, testAK, testSK, testRegion)
			req.Header.Del("X-Amz-Date")
			return req
		}},
		{name: "garbage x-amz-date", want: ErrMissingDate, build: func(t *testing.T, base string) *http.Request {
			req := sign(t, base, nil)
			sdkSign(t, req, sha256Hex(body), testTime, testAK, testSK, testRegion)
			req.Header.Set("X-Amz-Date", "yesterday")
			return req
		}},
		{name: "x-amz-date changed after signing", want: ErrSignatureMismatch, build: func(t *testing.T, base string) *http.Request {
			req := sign(t, base, nil)
			sdkSign(t, req, sha256Hex(body), testTime, testAK, testSK, testRegion)
			req.Header.Set("X-Amz-Date", testTime.Add(time.Second).Format(amzDateFormat))
			return req
		}},
		{name: "credential date is not the request date", want: ErrMalformedAuth, build: func(t *testing.T, base string) *http.Request {
			req := sign(t, base, nil)
			sdkSign(t, req, sha256Hex(body), testTime, testAK, testSK, testRegion)
			req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), "/20250314/", "/20250313/", 1))
			return req
		}},
		{name: "missing x-amz-content-sha256", want: ErrMissingContentSHA256, build: func(t *testing.T, base string) *http.Request {
			req := sign(t, base, nil)
			sdkSign(t, req, sha256Hex(body), testTime, testAK, testSK, testRegion)
			req.Header.Del("X-Amz-Content-Sha256")
			return req
		}},
		{name: "invalid x-amz-content-sha256", want: ErrBadContentSHA256, build: func(t *testing.T, base string) *http.Request {
			req := sign(t, base, nil)
			sdkSign(t, req, "STREAMING-BOGUS", testTime, testAK, testSK, testRegion)
			return req
		}},
		{name: "body does not match signed digest", want: ErrContentSHA256Mismatch, inBody: true,
			build: func(t *testing.T, base string) *http.Request {
				req := sign(t, base, nil)
				sdkSign(t, req, sha256Hex([]byte("other bytes")), testTime, testAK, testSK, testRegion)
				return req
			}},
		{name: "host not signed", want: ErrMalformedAuth, build: func(t *testing.T, base string) *http.Request {
			req := sign(t, base, nil)
			sdkSign(t, req, sha256Hex(body), testTime, testAK, testSK, testRegion)
			a := req.Header.Get("Authorization")
			if !strings.Contains(a, ";host;") {
				t.Fatalf("authorization %q", a)
			}
			req.Header.Set("Authorization", strings.Replace(a, ";host;", ";", 1))
			return req
		}},
		{name: "missing Signature field", want: ErrMalformedAuth, build: func(t *testing.T, base string) *http.Request {
			req := sign(t, base, nil)
			sdkSign(t, req, sha256Hex(body), testTime, testAK, testSK, testRegion)
			a := req.Header.Get("Authorization")
			req.Header.Set("Authorization", a[:strings.Index(a, ", Signature=")])
			return req
		}},
		{name: "credential for another service", want: ErrMalformedAuth, build: func(t *testing.T, base string) *http.Request {
			req := sign(t, base, nil)
			sdkSign(t, req, sha256Hex(body), testTime, testAK, testSK, testRegion)
			req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), "/s3/", "/ec2/", 1))
			return req
		}},
		{name: "sigv4a", want: ErrUnsupportedAlgorithm, build: func(t *testing.T, base string) *http.Request {
			req := sign(t, base, nil)
			sdkSign(t, req, sha256Hex(body), testTime, testAK, testSK, testRegion)
			req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), "AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256", 1))
			return req
		}},
		{name: "header and query auth together", want: ErrMalformedAuth, build: func(t *testing.T, base string) *http.Request {
			req := sign(t, base, nil)
			sdkSign(t, req, sha256Hex(body), testTime, testAK, testSK, testRegion)
			req.URL.RawQuery += "&X-Amz-Algorithm=AWS4-HMAC-SHA256"
			return req
		}},
		{name: "query parameter added", want: ErrSignatureMismatch, build: func(t *testing.T, base string) *http.Request {
			req := sign(t, base, nil)
			sdkSign(t, req, sha256Hex(body), testTime, testAK, testSK, testRegion)
			req.URL.RawQuery += "&acl="
			return req
		}},
		{name: "path changed", want: ErrSignatureMismatch, build: func(t *testing.T, base string) *http.Request {
			req := sign(t, base, nil)
			sdkSign(t, req, sha256Hex(body), testTime, testAK, testSK, testRegion)
			req.URL.Path, req.URL.RawPath = "/bucket/kez", ""
			return req
		}},
		{name: "signed header changed", want: ErrSignatureMismatch, build: func(t *testing.T, base string) *http.Request {
			req := sign(t, base, nil)
			sdkSign(t, req, sha256Hex(body), testTime, testAK, testSK, testRegion)
			req.Header.Set("X-Amz-Meta-A", "2")
			return req
		}},
		{name: "method changed", want: ErrSignatureMismatch, build: func(t *testing.T, base string) *http.Request {
			req := sign(t, base, nil)
			sdkSign(t, req, sha256Hex(body), testTime, testAK, testSK, testRegion)
			req.Method = "POST"
			return req
		}},
		{name: "host changed", want: ErrSignatureMismatch, build: func(t *testing.T, base string) *http.Request {
			req := sign(t, base, nil)
			sdkSign(t, req, sha256Hex(body), testTime, testAK, testSK, testRegion)
			req.Host = "evil.example"
			return req
		}},
		{name: "unsigned x-amz header added", want: ErrUnsignedHeader, build: func(t *testing.T, base string) *http.Request {
			req := sign(t, base, nil)
			sdkSign(t, req, sha256Hex(body), testTime, testAK, testSK, testRegion)
			req.Header.Set("X-Amz-Metadata-Directive", "REPLACE")
			return req
		}},
		{name: "unsigned header added is fine", want: nil, build: func(t *testing.T, base string) *http.Request {
			req := sign(t, base, nil)
			sdkSign(t, req, sha256Hex(body), testTime, testAK, testSK, testRegion)
			req.Header.Set("User-Agent", "something else")
			req.Header.Set("Content-Md5", base64.StdEncoding.EncodeToString(md5Sum(body)))
			return req
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			now := tc.now
			if now.IsZero() {
				now = testTime
			}
			srv := newServer(t, newVerifier(now), false)
			o := srv.do(t, tc.build(t, srv.URL))
			if !errors.Is(o.err, tc.want) || (tc.want == nil) != (o.err == nil) {
				t.Fatalf("err = %v, want %v", o.err, tc.want)
			}
			if tc.want != nil && tc.inBody == (o.res == nil) {
				t.Errorf("error from Body = %v, want %v", o.res != nil, tc.inBody)
			}
			if tc.want == ErrUnsignedHeader && !errors.Is(o.err, ErrSignatureMismatch) {
				t.Errorf("ErrUnsignedHeader must also match ErrSignatureMismatch: %v", o.err)
			}
			if tc.wantMsg != "" && !strings.Contains(o.err.Error(), tc.wantMsg) {
				t.Errorf("message %q lacks %q", o.err, tc.wantMsg)
			}
		})
	}
}

func md5Sum(b []byte) []byte {
	s := md5.Sum(b)
	return s[:]
}

func TestPresignedErrors(t *testing.T) {
	cases := []struct {
		name    string
		now     time.Time
		expires time.Duration
		mutate  func(*http.Request)
		want    error
	}{
		{name: "valid at the last second", now: testTime.Add(time.Hour), expires: time.Hour},
		{name: "expired", now: testTime.Add(time.Hour + time.Second), expires: time.Hour, want: ErrExpired},
		{name: "dated in the future", now: testTime.Add(-16 * time.Minute), expires: time.Hour, want: ErrTimeSkewed},
		{name: "future within skew", now: testTime.Add(-14 * time.Minute), expires: time.Hour},
		{name: "seven days", now: testTime.Add(6 * 24 * time.Hour), expires: 7 * 24 * time.Hour},
		{name: "expires too long", now: testTime, expires: 7*24*time.Hour + time.Second, want: ErrMalformedAuth},
		{name: "tampered signature", now: testTime, expires: time.Hour, want: ErrSignatureMismatch,
			mutate: func(r *http.Request) {
				q := r.URL.Query()
				s := q.Get("X-Amz-Signature")
				q.Set("X-Amz-Signature", strings.Repeat("0", 64-len(s))+s[:len(s)-1]+"0")
				if q.Get("X-Amz-Signature") == s {
					q.Set("X-Amz-Signature", s[:len(s)-1]+"1")
				}
				r.URL.RawQuery = q.Encode()
			}},
		{name: "expiry extended", now: testTime, expires: time.Hour, want: ErrSignatureMismatch,
			mutate: func(r *http.Request) {
				q := r.URL.Query()
				q.Set("X-Amz-Expires", "7200")
				r.URL.RawQuery = q.Encode()
			}},
		{name: "missing credential", now: testTime, expires: time.Hour, want: ErrMalformedAuth,
			mutate: func(r *http.Request) {
				q := r.URL.Query()
				q.Del("X-Amz-Credential")
				r.URL.RawQuery = q.Encode()
			}},
		{name: "unknown algorithm", now: testTime, expires: time.Hour, want: ErrUnsupportedAlgorithm,
			mutate: func(r *http.Request) {
				q := r.URL.Query()
				q.Set("X-Amz-Algorithm", "AWS4-ECDSA-P256-SHA256")
				r.URL.RawQuery = q.Encode()
			}},
		{name: "streaming payload not allowed", now: testTime, expires: time.Hour, want: ErrBadContentSHA256,
			mutate: func(r *http.Request) {
				r.URL.RawQuery += "&X-Amz-Content-Sha256=" + streamingSigned
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, newVerifier(tc.now), false)
			req := newRequest(t, "GET", srv.URL, "/bucket/a b+c", "", nil)
			preq := sdkPresign(t, req, tc.expires, testTime)
			if tc.mutate != nil {
				tc.mutate(preq)
			}
			o := srv.do(t, preq)
			if !errors.Is(o.err, tc.want) || (tc.want == nil) != (o.err == nil) {
				t.Fatalf("err = %v, want %v", o.err, tc.want)
			}
		})
	}
}

// TestIncompleteBody cuts the connection before Content-Length bytes.
func TestIncompleteBody(t *testing.T) {
	srv := newServer(t, newVerifier(testTime), false)
	for _, unsigned := range []bool{false, true} {
		body := bytes.Repeat([]byte("z"), 100)
		req := newRequest(t, "PUT", srv.URL, "/bucket/cut", "", body)
		hash := sha256Hex(body)
		if unsigned {
			hash = unsignedPayload
		}
		sdkSign(t, req, hash, testTime, testAK, testSK, testRegion)
		var raw bytes.Buffer
		if err := req.Write(&raw); err != nil {
			t.Fatal(err)
		}
		o := srv.sendRaw(t, raw.Bytes()[:raw.Len()-40])
		if o.res == nil || !errors.Is(o.err, ErrIncompleteBody) {
			t.Errorf("unsigned=%v: err = %v, want ErrIncompleteBody from Body", unsigned, o.err)
		}
	}
}

func TestDeferPayloadHash(t *testing.T) {
	v := newVerifier(testTime)
	v.DeferPayloadHash = true
	srv := newServer(t, v, false)
	body := []byte("the caller hashes this")
	req := newRequest(t, "PUT", srv.URL, "/b/k", "", body)
	wrong := sha256Hex([]byte("something else"))
	sdkSign(t, req, wrong, testTime, testAK, testSK, testRegion)
	o := srv.do(t, req)
	if o.err != nil {
		t.Fatalf("err = %v; DeferPayloadHash must not hash", o.err)
	}
	if hexString(o.res.PayloadSHA256) != wrong || !bytes.Equal(o.body, body) {
		t.Errorf("PayloadSHA256 = %x body = %q", o.res.PayloadSHA256, o.body)
	}
}

func TestIsRequest(t *testing.T) {
	cases := []struct {
		authz, query string
		want         bool
	}{
		{"AWS4-HMAC-SHA256 Credential=a/20250101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00", "", true},
		{"", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=x", true},
		{"AWS AKID:c2ln", "", false},
		{"", "AWSAccessKeyId=a&Signature=b&Expires=1", false},
		{"", "", false},
	}
	for _, tc := range cases {
		r, _ := http.NewRequest("GET", "http://h/b/k?"+tc.query, nil)
		if tc.authz != "" {
			r.Header.Set("Authorization", tc.authz)
		}
		if got := IsRequest(r); got != tc.want {
			t.Errorf("IsRequest(%q, %q) = %v", tc.authz, tc.query, got)
		}
	}
}

func TestVerifierConfig(t *testing.T) {
	r, _ := http.NewRequest("GET", "http://h/", nil)
	for _, v := range []*Verifier{{Credentials: staticCreds{}}, {Region: testRegion}} {
		if _, err := v.Verify(r); err == nil {
			t.Errorf("Verify with %+v succeeded", v)
		}
	}
}

func TestCanonicalURIAndQuery(t *testing.T) {
	if got := uriEncode("/a b/ü~+%*", false); got != "/a%20b/%C3%BC~%2B%25%2A" {
		t.Errorf("uriEncode path = %s", got)
	}
	got, err := canonicalQuery("b=2&a=z&a=y&X-Amz-Signature=s&c&d=%2F+%7e", true)
	if err != nil || got != "a=y&a=z&b=2&c=&d=%2F%20~" {
		t.Errorf("canonicalQuery = %q, %v", got, err)
	}
	if _, err := canonicalQuery("a=%zz", false); !errors.Is(err, ErrMalformedAuth) {
		t.Errorf("bad escape: %v", err)
	}
}

func TestSigningKeyCache(t *testing.T) {
	var c keyCache
	k1 := c.get("ak", "s1", "20250101", "r")
	if !bytes.Equal(k1, deriveKey("s1", "20250101", "r")) {
		t.Fatal("cached key differs from derived key")
	}
	if k2 := c.get("ak", "s2", "20250101", "r"); bytes.Equal(k1, k2) {
		t.Fatal("rotated secret reused the old key")
	}
	for i := range maxCachedKeys + 10 {
		c.get("ak", "s", string(rune('a'+i%26))+strings.Repeat("x", i), "r")
	}
	if len(c.m) > maxCachedKeys {
		t.Fatalf("cache holds %d keys", len(c.m))
	}
}
