package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go/encoding/httpbinding"
)

const (
	testAK     = "AKIAIOSFODNN7EXAMPLE"
	testSK     = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	testRegion = "us-east-1"
)

// testTime is a fixed signing time for tests that control the clock.
var testTime = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

type staticCreds map[string]string

func (c staticCreds) SecretKey(_ context.Context, ak string) (string, error) {
	if s, ok := c[ak]; ok {
		return s, nil
	}
	return "", fmt.Errorf("test credentials: %q: %w", ak, ErrUnknownAccessKey)
}

func newVerifier(now time.Time) *Verifier {
	v := &Verifier{Region: testRegion, Credentials: staticCreds{testAK: testSK}}
	if !now.IsZero() {
		v.Now = func() time.Time { return now }
	}
	return v
}

// outcome is what the server-side handler saw.
type outcome struct {
	res     *Result
	err     error // from Verify or from reading Result.Body
	body    []byte
	trailer http.Header
	host    string
}

// server runs v in a real HTTP server: the handler verifies, reads the
// body through Result.Body and reports the outcome.
type server struct {
	*httptest.Server
	out chan outcome
}

func newServer(t *testing.T, v *Verifier, useTLS bool) *server {
	t.Helper()
	s := &server{out: make(chan outcome, 16)}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o := outcome{host: r.Host}
		o.res, o.err = v.Verify(r)
		if o.err == nil {
			o.body, o.err = io.ReadAll(o.res.Body)
			o.trailer = o.res.Trailer()
		}
		s.out <- o
		if o.err != nil {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	if useTLS {
		s.Server = httptest.NewTLSServer(h)
	} else {
		s.Server = httptest.NewServer(h)
	}
	t.Cleanup(s.Close)
	return s
}

// do sends req and returns the handler's outcome.
func (s *server) do(t *testing.T, req *http.Request) outcome {
	t.Helper()
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return s.wait(t)
}

func (s *server) wait(t *testing.T) outcome {
	t.Helper()
	select {
	case o := <-s.out:
		return o
	case <-time.After(20 * time.Second):
		t.Fatal("handler did not report")
	}
	return outcome{}
}

// sendRaw writes raw bytes to the server on a fresh connection, half-closes
// it and returns the handler's outcome: for truncated and hand-made bodies.
func (s *server) sendRaw(t *testing.T, raw []byte) outcome {
	t.Helper()
	c, err := net.Dial("tcp", s.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := c.Write(raw); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	o := s.wait(t)
	io.Copy(io.Discard, c)
	return o
}

// newRequest builds a client request for an S3 key path, escaped on the
// wire the way the AWS SDK escapes it.
func newRequest(t *testing.T, method, base, path, rawQuery string, body []byte) *http.Request {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = path
	u.RawPath = httpbinding.EscapePath(path, false)
	u.RawQuery = rawQuery
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, u.String(), r)
	if err != nil {
		t.Fatal(err)
	}
	req.URL = u
	return req
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// sdkSign signs req in the header with the AWS SDK's SigV4 signer (the
// oracle), the way the S3 client does (no double path escaping).
func sdkSign(t *testing.T, req *http.Request, payloadHash string, at time.Time, ak, sk, region string) {
	t.Helper()
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)
	s := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	err := s.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: ak, SecretAccessKey: sk},
		req, payloadHash, "s3", region, at)
	if err != nil {
		t.Fatal(err)
	}
}

// sdkPresign presigns req with the AWS SDK signer and returns a request for
// the presigned URL carrying the headers the signer says must be sent.
func sdkPresign(t *testing.T, req *http.Request, expires time.Duration, at time.Time) *http.Request {
	t.Helper()
	q := req.URL.Query()
	q.Set("X-Amz-Expires", fmt.Sprint(int64(expires/time.Second)))
	req.URL.RawQuery = q.Encode()
	s := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	signed, hdr, err := s.PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: testAK, SecretAccessKey: testSK},
		req, unsignedPayload, "s3", testRegion, at)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(signed)
	if err != nil {
		t.Fatal(err)
	}
	u.RawPath = req.URL.RawPath
	out := req.Clone(context.Background())
	out.URL = u
	out.Header = http.Header{}
	for k, vs := range hdr {
		if !strings.EqualFold(k, "host") {
			out.Header[k] = vs
		}
	}
	if req.GetBody != nil {
		out.Body, _ = req.GetBody()
	}
	return out
}
