package sigv4

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/signer"
)

// TestMinioSignV4GoServerQuirks: minio-go signs every header it is given,
// including ones net/http moves out of r.Header on the server (Host,
// Transfer-Encoding) or keeps (Expect, Content-Length).
func TestMinioSignV4GoServerQuirks(t *testing.T) {
	srv := newServer(t, newVerifier(time.Time{}), false)
	body := bytes.Repeat([]byte("q"), 5000)
	t.Run("content-length and expect", func(t *testing.T) {
		req := newRequest(t, "PUT", srv.URL, "/bucket/a b", "", body)
		req.Header.Set("Content-Length", strconv.Itoa(len(body)))
		req.Header.Set("Expect", "100-continue")
		req.Header.Set("X-Amz-Content-Sha256", sha256Hex(body))
		req = signer.SignV4(*req, testAK, testSK, "", testRegion)
		o := srv.do(t, req)
		if o.err != nil || !bytes.Equal(o.body, body) {
			t.Fatalf("verify: %v (%s)", o.err, req.Header.Get("Authorization"))
		}
	})
	t.Run("transfer-encoding chunked", func(t *testing.T) {
		req := newRequest(t, "PUT", srv.URL, "/bucket/te", "", nil)
		req.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body))) // length unknown to the client
		req.ContentLength = -1
		req.TransferEncoding = []string{"chunked"}
		req.Header.Set("Transfer-Encoding", "chunked")
		req.Header.Set("X-Amz-Content-Sha256", unsignedPayload)
		req = signer.SignV4(*req, testAK, testSK, "", testRegion)
		o := srv.do(t, req)
		if o.err != nil || !bytes.Equal(o.body, body) {
			t.Fatalf("verify: %v (%s)", o.err, req.Header.Get("Authorization"))
		}
		if o.res.ContentLength != -1 {
			t.Errorf("ContentLength = %d, want -1", o.res.ContentLength)
		}
	})
	t.Run("presigned", func(t *testing.T) {
		req := newRequest(t, "GET", srv.URL, "/bucket/ü ☃", "versionId=a%2Bb", nil)
		req = signer.PreSignV4(*req, testAK, testSK, "", testRegion, 300)
		if o := srv.do(t, req); o.err != nil || !o.res.Presigned {
			t.Fatalf("verify: %v", o.err)
		}
	})
}

// TestDateHeaderFallback: without x-amz-date the Date header dates the
// request; the string to sign carries it in ISO 8601 basic form.
func TestDateHeaderFallback(t *testing.T) {
	at := testTime
	r := httptest.NewRequest("GET", "http://example.test/bucket/key", nil)
	r.Header.Set("Date", at.Format(http.TimeFormat))
	r.Header.Set("X-Amz-Content-Sha256", unsignedPayload)
	creq := "GET\n/bucket/key\n\nhost:example.test\nx-amz-content-sha256:UNSIGNED-PAYLOAD\n\nhost;x-amz-content-sha256\nUNSIGNED-PAYLOAD"
	sum := sha256.Sum256([]byte(creq))
	scope := "20250314/" + testRegion + "/s3/aws4_request"
	sts := "AWS4-HMAC-SHA256\n20250314T150926Z\n" + scope + "\n" + hex.EncodeToString(sum[:])
	m := hmac.New(sha256.New, deriveKey(testSK, "20250314", testRegion))
	m.Write([]byte(sts))
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+testAK+"/"+scope+
		", SignedHeaders=host;x-amz-content-sha256, Signature="+hex.EncodeToString(m.Sum(nil)))
	if _, err := newVerifier(at.Add(time.Minute)).Verify(r); err != nil {
		t.Fatal(err)
	}
}

type failingCreds struct{ err error }

func (f failingCreds) SecretKey(context.Context, string) (string, error) { return "", f.err }

// TestCredentialsFailure: a lookup failure that is not "unknown key" is
// passed on, not disguised as a client error.
func TestCredentialsFailure(t *testing.T) {
	down := errors.New("database is down")
	v := &Verifier{Region: testRegion, Credentials: failingCreds{down}, Now: func() time.Time { return testTime }}
	r := httptest.NewRequest("GET", "http://example.test/b/k", nil)
	sdkSign(t, r, unsignedPayload, testTime, testAK, testSK, testRegion)
	_, err := v.Verify(r)
	if !errors.Is(err, down) || errors.Is(err, ErrUnknownAccessKey) || errors.Is(err, ErrSignatureMismatch) {
		t.Fatalf("err = %v", err)
	}
}

// TestInMemoryRequest: requests built in memory (httptest.NewRequest) keep
// their length only in r.ContentLength; the SDK signs content-length.
func TestInMemoryRequest(t *testing.T) {
	body := []byte("in memory")
	r := httptest.NewRequest("PUT", "http://example.test/b/k", bytes.NewReader(body))
	sdkSign(t, r, sha256Hex(body), testTime, testAK, testSK, testRegion)
	if r.Header.Get("Content-Length") != "" {
		t.Fatal("test premise: no Content-Length header")
	}
	res, err := newVerifier(testTime).Verify(r)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(res.Body); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("body %q, %v", got, err)
	}
}

func TestParseCredential(t *testing.T) {
	cases := []struct {
		cred, ak string
		ok       bool
	}{
		{"AK/20250314/us-east-1/s3/aws4_request", "AK", true},
		{"A/K/20250314/us-east-1/s3/aws4_request", "A/K", true},
		{"/20250314/us-east-1/s3/aws4_request", "", false},
		{"AK/2025031/us-east-1/s3/aws4_request", "", false},
		{"AK/20251399/us-east-1/s3/aws4_request", "", false},
		{"AK/20250314//s3/aws4_request", "", false},
		{"AK/20250314/us-east-1/s3/aws5_request", "", false},
		{"AK/20250314/us-east-1/s3", "", false},
	}
	for _, tc := range cases {
		var a authInfo
		err := a.setCredential(tc.cred)
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrMalformedAuth)) || (tc.ok && a.accessKey != tc.ak) {
			t.Errorf("setCredential(%q) = %q, %v", tc.cred, a.accessKey, err)
		}
	}
	for _, s := range []string{"host;Content-Type", "host;;x", "host;host", "x-amz-date"} {
		var a authInfo
		if err := a.setSignedHeaders(s); !errors.Is(err, ErrMalformedAuth) {
			t.Errorf("setSignedHeaders(%q) = %v", s, err)
		}
	}
	for m := Unsigned; m <= StreamingSignedTrailer; m++ {
		if got, _, err := payloadMode(m.String()); m != SignedHex && (err != nil || got != m) {
			t.Errorf("payloadMode(%v) failed: %v", m, err)
		}
	}
}
