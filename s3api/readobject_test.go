package s3api_test

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"dewar/s3api"
	"dewar/s3api/s3mem"
)

// failingOpen serves objects whose bytes cannot be read.
type failingOpen struct{ *s3mem.Backend }

func (f failingOpen) GetObject(ctx context.Context, bucket, key string) (*s3api.Object, error) {
	o, err := f.Backend.GetObject(ctx, bucket, key)
	if err != nil {
		return nil, err
	}
	o.Open = func(context.Context, int64, int64) (io.ReadCloser, error) { return nil, errors.New("disk gone") }
	return o, nil
}

func signedRequest(t *testing.T, method, url string, body string, header http.Header) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	sum := sha256.Sum256([]byte(body))
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	s := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err := s.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AK", SecretAccessKey: "SK"}, req, hash, "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	return req
}

func crc32Of(s string) string {
	return base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE([]byte(s))))
}

// TestGetOpenFailureSendsBareError: when the object's bytes cannot be
// opened, the error response carries none of the object's headers. It
// used to keep them, x-amz-checksum-crc32 included, and SDKs validating
// response checksums then rejected the error body itself.
func TestGetOpenFailureSendsBareError(t *testing.T) {
	mem := s3mem.New()
	h, err := s3api.New(s3api.Config{Backend: failingOpen{mem}, Credentials: s3mem.Credentials{"AK": "SK"}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, r := range []*http.Request{
		signedRequest(t, http.MethodPut, srv.URL+"/bkt", "", nil),
		signedRequest(t, http.MethodPut, srv.URL+"/bkt/k", "body", http.Header{
			"X-Amz-Meta-Notes": {"n"}, "X-Amz-Checksum-Crc32": {crc32Of("body")}, "Content-Type": {"text/plain"},
		}),
	} {
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %s", r.Method, r.URL, resp.Status)
		}
	}
	for _, rng := range []string{"", "bytes=1-2"} {
		hdr := http.Header{"X-Amz-Checksum-Mode": {"ENABLED"}}
		if rng != "" {
			hdr.Set("Range", rng)
		}
		resp, err := http.DefaultClient.Do(signedRequest(t, http.MethodGet, srv.URL+"/bkt/k", "", hdr))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusInternalServerError {
			t.Fatalf("Range %q: status %s", rng, resp.Status)
		}
		for _, name := range []string{"ETag", "Last-Modified", "X-Amz-Checksum-Crc32", "X-Amz-Meta-Notes", "Content-Range", "Accept-Ranges"} {
			if v := resp.Header.Get(name); v != "" {
				t.Errorf("Range %q: error response carries %s: %s", rng, name, v)
			}
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/xml" {
			t.Errorf("Range %q: Content-Type %q", rng, ct)
		}
		var doc struct{ Code, RequestId string }
		if err := xml.Unmarshal(body, &doc); err != nil || doc.Code != "InternalError" || doc.RequestId == "" {
			t.Errorf("Range %q: body %q (%v)", rng, body, err)
		}
	}
}

// changingOnce answers the first GetObject with a stale description whose
// Open reports the object changed, as a content-addressed backend does
// when an overwrite reaped the bytes between lookup and read.
type changingOnce struct {
	*s3mem.Backend
	calls int
}

func (c *changingOnce) GetObject(ctx context.Context, bucket, key string) (*s3api.Object, error) {
	c.calls++
	o, err := c.Backend.GetObject(ctx, bucket, key)
	if err != nil || c.calls > 1 {
		return o, err
	}
	o.Info.ETag = "00000000000000000000000000000000"
	o.Open = func(context.Context, int64, int64) (io.ReadCloser, error) {
		return nil, fmt.Errorf("backend: %w", s3api.ErrObjectChanged)
	}
	return o, nil
}

// TestGetStartsOverWhenObjectChanged: a GET whose object is replaced
// between lookup and read is served again from the lookup, with the new
// object's bytes and headers.
func TestGetStartsOverWhenObjectChanged(t *testing.T) {
	be := &changingOnce{Backend: s3mem.New()}
	h, err := s3api.New(s3api.Config{Backend: be, Credentials: s3mem.Credentials{"AK": "SK"}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, r := range []*http.Request{
		signedRequest(t, http.MethodPut, srv.URL+"/bkt", "", nil),
		signedRequest(t, http.MethodPut, srv.URL+"/bkt/k", "new bytes", nil),
	} {
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	resp, err := http.DefaultClient.Do(signedRequest(t, http.MethodGet, srv.URL+"/bkt/k", "", nil))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "new bytes" {
		t.Fatalf("GET: %s %q", resp.Status, body)
	}
	if etag := resp.Header.Get("ETag"); etag != `"`+md5Hex("new bytes")+`"` {
		t.Errorf("ETag %s is not the new object's", etag)
	}
	if be.calls != 2 {
		t.Errorf("GetObject called %d times, want 2", be.calls)
	}
}

func md5Hex(s string) string { sum := md5.Sum([]byte(s)); return hex.EncodeToString(sum[:]) }
