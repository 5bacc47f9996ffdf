package s3conformance

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

var authCases = []testCase{
	{"AuthMissingSignature", testAuthMissing},
	{"AuthWrongSecret", testAuthWrongSecret},
	{"AuthUnknownAccessKey", testAuthUnknownKey},
	{"AuthSkewedClock", testAuthSkew},
	{"AuthWrongRegion", testAuthWrongRegion},
	{"AuthTamperedRequest", testAuthTampered},
	{"AuthMalformed", testAuthMalformed},
	{"SigV4CanonicalForms", testSigV4Canonical},
	{"PresignedURLs", testPresigned},
	{"PresignedExpired", testPresignedExpired},
	{"PresignedOver7Days", testPresignedTooLong},
}

// authProbe is one operation sent with broken authentication; after each,
// nothing may have been written.
type authProbe struct {
	name string
	req  func(t *testing.T, e *env, bucket string) *http.Request
}

var putBody = []byte("must not be stored")

func authProbes() []authProbe {
	return []authProbe{
		{"GET", func(t *testing.T, e *env, b string) *http.Request {
			return e.newRequest(t, http.MethodGet, b, "exists", nil, nil)
		}},
		{"PUT", func(t *testing.T, e *env, b string) *http.Request {
			return e.newRequest(t, http.MethodPut, b, "victim", nil, putBody)
		}},
		{"ListBuckets", func(t *testing.T, e *env, b string) *http.Request {
			return e.newRequest(t, http.MethodGet, "", "", nil, nil)
		}},
		{"DELETE", func(t *testing.T, e *env, b string) *http.Request {
			return e.newRequest(t, http.MethodDelete, b, "exists", nil, nil)
		}},
	}
}

// authCheck sends each probe, signed by sign (nil: unsigned), and expects
// status and code; then checks the bucket is untouched.
func (e *env) authCheck(t *testing.T, sign func(t *testing.T, req *http.Request, body []byte), status int, code string) {
	t.Helper()
	b := e.bucket(t)
	e.put(t, b, "exists", []byte("still here"))
	for _, p := range authProbes() {
		t.Run(p.name, func(t *testing.T) {
			req := p.req(t, e, b)
			var body []byte
			if req.Method == http.MethodPut {
				body = putBody
			}
			if sign != nil {
				sign(t, req, body)
			}
			wantRaw(t, e.send(t, req), status, code)
		})
	}
	e.absent(t, b, "victim")
	e.wantBody(t, b, "exists", []byte("still here"))
}

func testAuthMissing(t *testing.T, e *env) {
	e.authCheck(t, nil, http.StatusForbidden, "AccessDenied")
	// An unsigned request with an x-amz-content-sha256 is still anonymous.
	b := e.bucket(t)
	req := e.newRequest(t, http.MethodPut, b, "victim", nil, putBody)
	req.Header.Set("X-Amz-Content-Sha256", sha256Hex(putBody))
	wantRaw(t, e.send(t, req), http.StatusForbidden, "AccessDenied")
	e.absent(t, b, "victim")
}

func testAuthWrongSecret(t *testing.T, e *env) {
	e.authCheck(t, func(t *testing.T, req *http.Request, body []byte) {
		e.signBody(t, req, body, signOpts{secretKey: e.tg.SecretKey + "x"})
	}, http.StatusForbidden, "SignatureDoesNotMatch")
	// The SDK with a wrong secret gets the same.
	c := e.client(nil, func(o *s3.Options) {
		o.Credentials = credentials.NewStaticCredentialsProvider(e.tg.AccessKey, "wrong", "")
	})
	_, err := c.ListBuckets(ctx(t), &s3.ListBucketsInput{})
	wantErr(t, err, http.StatusForbidden, "SignatureDoesNotMatch")
}

func testAuthUnknownKey(t *testing.T, e *env) {
	e.authCheck(t, func(t *testing.T, req *http.Request, body []byte) {
		e.signBody(t, req, body, signOpts{accessKey: "S3CNOSUCHACCESSKEY"})
	}, http.StatusForbidden, "InvalidAccessKeyId")
}

func testAuthSkew(t *testing.T, e *env) {
	for _, skew := range []time.Duration{-20 * time.Minute, 20 * time.Minute, -24 * time.Hour} {
		t.Run(skew.String(), func(t *testing.T) {
			e.authCheck(t, func(t *testing.T, req *http.Request, body []byte) {
				e.signBody(t, req, body, signOpts{at: time.Now().UTC().Add(skew)})
			}, http.StatusForbidden, "RequestTimeTooSkewed")
		})
	}
	// A few minutes off is fine.
	b := e.bucket(t)
	req := e.newRequest(t, http.MethodPut, b, "ok", nil, []byte("x"))
	e.signBody(t, req, []byte("x"), signOpts{at: time.Now().UTC().Add(-5 * time.Minute)})
	wantRaw(t, e.send(t, req), http.StatusOK, "")
}

func testAuthWrongRegion(t *testing.T, e *env) {
	e.authCheck(t, func(t *testing.T, req *http.Request, body []byte) {
		e.signBody(t, req, body, signOpts{region: "eu-north-9"})
	}, http.StatusBadRequest, "AuthorizationHeaderMalformed")
}

// testAuthTampered changes a signed request after signing: a header, the
// path, the query.
func testAuthTampered(t *testing.T, e *env) {
	b := e.bucket(t)
	e.put(t, b, "exists", []byte("x"))
	for _, tc := range []struct {
		name   string
		tamper func(req *http.Request)
	}{
		{"signed header", func(req *http.Request) {
			req.Header.Set("X-Amz-Date", time.Now().UTC().Add(time.Second).Format(amzDateFormat))
		}},
		{"path", func(req *http.Request) { req.URL.Path += "2"; req.URL.RawPath += "2" }},
		{"query", func(req *http.Request) { req.URL.RawQuery = "x-id=PutObject" }},
		{"signature", func(req *http.Request) {
			a := req.Header.Get("Authorization")
			req.Header.Set("Authorization", a[:len(a)-4]+"0000")
		}},
		{"content-type", func(req *http.Request) { req.Header.Set("Content-Type", "text/evil") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := e.newRequest(t, http.MethodPut, b, "victim", nil, putBody)
			req.Header.Set("Content-Type", "text/plain")
			e.signBody(t, req, putBody, signOpts{})
			tc.tamper(req)
			wantRaw(t, e.send(t, req), http.StatusForbidden, "SignatureDoesNotMatch")
			e.absent(t, b, "victim")
			e.absent(t, b, "victim2")
		})
	}
}

func testPresigned(t *testing.T, e *env) {
	b := e.bucket(t)
	body := data(5000)
	e.put(t, b, "p", body)
	pc := s3.NewPresignClient(e.s3)
	get, err := pc.PresignGetObject(ctx(t), &s3.GetObjectInput{Bucket: &b, Key: aws.String("p")}, s3.WithPresignExpires(10*time.Minute))
	must(t, err, "PresignGetObject")
	req, _ := http.NewRequestWithContext(ctx(t), http.MethodGet, get.URL, nil)
	r := e.send(t, req)
	wantRaw(t, r, http.StatusOK, "")
	if !bytes.Equal(r.body, body) {
		t.Fatal("presigned GET: wrong body")
	}
	// A presigned PUT; urllib sends a form content type when none is set.
	put, err := pc.PresignPutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("up")}, s3.WithPresignExpires(10*time.Minute))
	must(t, err, "PresignPutObject")
	up := data(3000)
	req, _ = http.NewRequestWithContext(ctx(t), http.MethodPut, put.URL, bytes.NewReader(up))
	for k, v := range put.SignedHeader {
		if !strings.EqualFold(k, "host") {
			req.Header[k] = v
		}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r = e.send(t, req)
	wantRaw(t, r, http.StatusOK, "")
	eq(t, "presigned PUT ETag", r.header.Get("ETag"), quotedMD5(up))
	e.wantBody(t, b, "up", up)

	// A presigned URL with a changed signature or key is refused.
	for _, mangle := range []func(string) string{
		func(u string) string { // the signature
			i := strings.Index(u, "X-Amz-Signature=") + len("X-Amz-Signature=")
			sig := []byte(u[i : i+64])
			sig[0] ^= 1
			return u[:i] + string(sig) + u[i+64:]
		},
		func(u string) string { return strings.Replace(u, "/p?", "/up?", 1) }, // the key
	} {
		req, _ := http.NewRequestWithContext(ctx(t), http.MethodGet, mangle(get.URL), nil)
		wantRaw(t, e.send(t, req), http.StatusForbidden, "SignatureDoesNotMatch")
	}
	// A presigned PUT whose body is then tampered with is signed as
	// UNSIGNED-PAYLOAD, so a body change is fine, but a key change is not.
	req, _ = http.NewRequestWithContext(ctx(t), http.MethodPut, strings.Replace(put.URL, "/up?", "/up2?", 1), bytes.NewReader(up))
	wantRaw(t, e.send(t, req), http.StatusForbidden, "SignatureDoesNotMatch")
	e.absent(t, b, "up2")
}

func testPresignedExpired(t *testing.T, e *env) {
	b := e.bucket(t)
	e.put(t, b, "p", []byte("x"))
	req := e.newRequest(t, http.MethodGet, b, "p", nil, nil)
	u := e.presign(t, req, 60, signOpts{at: time.Now().UTC().Add(-2 * time.Hour)})
	r, _ := http.NewRequestWithContext(ctx(t), http.MethodGet, u, nil)
	wantRaw(t, e.send(t, r), http.StatusForbidden, "AccessDenied")
	// A presigned PUT that expired writes nothing.
	req = e.newRequest(t, http.MethodPut, b, "late", nil, nil)
	u = e.presign(t, req, 1, signOpts{at: time.Now().UTC().Add(-time.Minute)})
	r, _ = http.NewRequestWithContext(ctx(t), http.MethodPut, u, bytes.NewReader(putBody))
	wantRaw(t, e.send(t, r), http.StatusForbidden, "AccessDenied")
	e.absent(t, b, "late")
	// One that is still valid works (the control).
	req = e.newRequest(t, http.MethodGet, b, "p", nil, nil)
	u = e.presign(t, req, 3*3600, signOpts{at: time.Now().UTC().Add(-2 * time.Hour)})
	r, _ = http.NewRequestWithContext(ctx(t), http.MethodGet, u, nil)
	wantRaw(t, e.send(t, r), http.StatusOK, "")
}

func testPresignedTooLong(t *testing.T, e *env) {
	b := e.bucket(t)
	e.put(t, b, "p", []byte("x"))
	for _, expires := range []int{7*24*3600 + 1, 30 * 24 * 3600} {
		req := e.newRequest(t, http.MethodGet, b, "p", nil, nil)
		u := e.presign(t, req, expires, signOpts{})
		r, _ := http.NewRequestWithContext(ctx(t), http.MethodGet, u, nil)
		resp := e.send(t, r)
		want4xx(t, resp)
		if bytes.Equal(resp.body, []byte("x")) {
			t.Fatal("served the object")
		}
	}
	// Exactly 7 days is allowed.
	req := e.newRequest(t, http.MethodGet, b, "p", nil, nil)
	u := e.presign(t, req, 7*24*3600, signOpts{})
	r, _ := http.NewRequestWithContext(ctx(t), http.MethodGet, u, nil)
	wantRaw(t, e.send(t, r), http.StatusOK, "")
	// Expires that is not a number.
	req = e.newRequest(t, http.MethodGet, b, "p", nil, nil)
	u = e.presign(t, req, 60, signOpts{})
	parsed, _ := url.Parse(u)
	q := parsed.Query()
	q.Set("X-Amz-Expires", "soon")
	parsed.RawQuery = q.Encode()
	r, _ = http.NewRequestWithContext(ctx(t), http.MethodGet, parsed.String(), nil)
	want4xx(t, e.send(t, r))
}

// testAuthMalformed sends broken Authorization headers and presigned
// queries: each is a 4xx, never a success or a 500.
func testAuthMalformed(t *testing.T, e *env) {
	b := e.bucket(t)
	e.put(t, b, "exists", []byte("x"))
	good := e.newRequest(t, http.MethodGet, b, "exists", nil, nil)
	e.signBody(t, good, nil, signOpts{})
	auth := good.Header.Get("Authorization")
	for _, tc := range []struct {
		name   string
		header string
		status int
		code   string
	}{
		{"no credential", "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=00", http.StatusBadRequest, "AuthorizationHeaderMalformed"},
		{"short scope", strings.Replace(auth, "/us-east-1/s3/aws4_request", "/us-east-1", 1), http.StatusBadRequest, "AuthorizationHeaderMalformed"},
		{"wrong service", strings.Replace(auth, "/s3/aws4_request", "/ec2/aws4_request", 1), http.StatusBadRequest, "AuthorizationHeaderMalformed"},
		{"unsigned x-amz-date", strings.Replace(auth, "x-amz-date", "x-amz-content-sha256", 1), 0, ""},
		{"garbage", "AWS4-HMAC-SHA256 garbage", http.StatusBadRequest, "AuthorizationHeaderMalformed"},
		{"sigv4a", strings.Replace(auth, "AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256", 1), 0, ""},
		{"empty", "", http.StatusForbidden, "AccessDenied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := e.newRequest(t, http.MethodGet, b, "exists", nil, nil)
			for k, v := range good.Header {
				req.Header[k] = v
			}
			req.Header.Set("Authorization", tc.header)
			r := e.send(t, req)
			if tc.status == 0 {
				want4xx(t, r)
				return
			}
			wantRaw(t, r, tc.status, tc.code)
		})
	}
	// Presigned URLs missing a parameter.
	req := e.newRequest(t, http.MethodGet, b, "exists", nil, nil)
	u := e.presign(t, req, 600, signOpts{})
	for _, drop := range []string{"X-Amz-Signature", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders"} {
		t.Run("presigned without "+drop, func(t *testing.T) {
			parsed, _ := url.Parse(u)
			q := parsed.Query()
			q.Del(drop)
			parsed.RawQuery = q.Encode()
			r, _ := http.NewRequestWithContext(ctx(t), http.MethodGet, parsed.String(), nil)
			resp := e.send(t, r)
			want4xx(t, resp)
			if string(resp.body) == "x" {
				t.Fatal("served the object")
			}
		})
	}
}

// testSigV4Canonical signs requests whose canonical form needs care:
// header values with runs of spaces, repeated headers, repeated and empty
// query parameters, and a signed Date header beside X-Amz-Date.
func testSigV4Canonical(t *testing.T, e *env) {
	b := e.bucket(t)
	for _, tc := range []struct {
		name  string
		setup func(req *http.Request)
		after func(t *testing.T)
	}{
		{"spaces in a signed value", func(req *http.Request) {
			req.Header.Set("X-Amz-Meta-Spaced", "a   b  c")
		}, func(t *testing.T) {
			h, err := e.s3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("spaces in a signed value")})
			must(t, err, "HeadObject")
			if v := h.Metadata["spaced"]; v != "a   b  c" && v != "a b c" {
				t.Errorf("metadata %q", v)
			}
		}},
		{"repeated header", func(req *http.Request) {
			req.Header.Add("X-Amz-Meta-Twice", "one")
			req.Header.Add("X-Amz-Meta-Twice", "two")
		}, func(t *testing.T) {
			h, err := e.s3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("repeated header")})
			must(t, err, "HeadObject")
			eq(t, "metadata", h.Metadata["twice"], "one,two")
		}},
		{"Date signed too", func(req *http.Request) {}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(tc.name)
			req := e.newRequest(t, http.MethodPut, b, tc.name, nil, body)
			tc.setup(req)
			if tc.name == "Date signed too" {
				// Date is signed as an ordinary header; X-Amz-Date rules.
				now := time.Now().UTC()
				req.Header.Set("Date", now.Format(http.TimeFormat))
				e.signBody(t, req, body, signOpts{at: now})
				auth := req.Header.Get("Authorization")
				if !strings.Contains(auth, "date;") && !strings.Contains(auth, ";date") {
					t.Fatalf("Date not signed: %s", auth)
				}
			} else {
				e.signBody(t, req, body, signOpts{})
			}
			wantRaw(t, e.send(t, req), http.StatusOK, "")
			e.wantBody(t, b, tc.name, body)
			if tc.after != nil {
				tc.after(t)
			}
		})
	}
	// Repeated and empty query parameters in a signed listing.
	req := e.newRequest(t, http.MethodGet, b, "", nil, nil)
	req.URL.RawQuery = "list-type=2&prefix=&delimiter=%2F&fetch-owner=true&max-keys=5&encoding-type=url"
	e.signBody(t, req, nil, signOpts{})
	wantRaw(t, e.send(t, req), http.StatusOK, "")
}
