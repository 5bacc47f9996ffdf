package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"dewar/test/harness"
)

// The raw client is the tests' oracle: a few signed requests built by hand
// (aws-sdk-go-v2's signer, nothing else of an SDK), so what a CLI client
// claims can be checked against what the server actually holds.

// rawRequest describes one signed request.
type rawRequest struct {
	method, bucket, key string
	query               url.Values
	header              http.Header
	body                io.Reader // nil: empty
	size                int64     // Content-Length when body is set
	unsigned            bool      // UNSIGNED-PAYLOAD instead of the body's sha256
	accessKey, secret   string    // default: root
	at                  time.Time // signing time; zero: now
	payloadHash         string    // x-amz-content-sha256 to claim; default: the body's
}

// escapeKey percent-encodes a key as SigV4 wants it: everything but the
// unreserved characters and '/'.
func escapeKey(key string) string {
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.~/", c) >= 0 {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
		}
	}
	return b.String()
}

// newRaw builds and signs the request.
func (s *server) newRaw(rq rawRequest) *http.Request {
	s.t.Helper()
	u := s.URL + "/"
	if rq.bucket != "" {
		u += rq.bucket
		if rq.key != "" {
			u += "/" + escapeKey(rq.key)
		}
	}
	if len(rq.query) > 0 {
		// SigV4 wants %20, not '+', for spaces in the query.
		u += "?" + strings.ReplaceAll(rq.query.Encode(), "+", "%20")
	}
	var body []byte
	var reader io.Reader
	if rq.body != nil && !rq.unsigned {
		var err error
		if body, err = io.ReadAll(rq.body); err != nil {
			s.t.Fatal(err)
		}
		reader = bytes.NewReader(body)
	} else if rq.body != nil {
		reader = rq.body
	}
	req, err := http.NewRequest(rq.method, u, reader)
	if err != nil {
		s.t.Fatal(err)
	}
	for k, v := range rq.header {
		req.Header[k] = v
	}
	payload := hex.EncodeToString(sha256Of(body))
	if rq.unsigned {
		payload = "UNSIGNED-PAYLOAD"
		req.ContentLength = rq.size
	}
	if rq.payloadHash != "" {
		payload = rq.payloadHash
	}
	req.Header.Set("X-Amz-Content-Sha256", payload)
	ak, sk := rq.accessKey, rq.secret
	if ak == "" {
		ak, sk = harness.AccessKey, harness.SecretKey
	}
	at := rq.at
	if at.IsZero() {
		at = time.Now()
	}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	creds := aws.Credentials{AccessKeyID: ak, SecretAccessKey: sk}
	if err := signer.SignHTTP(context.Background(), creds, req, payload, "s3", harness.Region, at); err != nil {
		s.t.Fatal(err)
	}
	return req
}

// presign returns a SigV4 presigned URL for method on bucket/key.
func (s *server) presign(method, bucket, key string, expires time.Duration) string {
	s.t.Helper()
	req, err := http.NewRequest(method, s.URL+"/"+bucket+"/"+escapeKey(key), nil)
	if err != nil {
		s.t.Fatal(err)
	}
	req.URL.RawQuery = url.Values{"X-Amz-Expires": {strconv.Itoa(int(expires / time.Second))}}.Encode()
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	creds := aws.Credentials{AccessKeyID: harness.AccessKey, SecretAccessKey: harness.SecretKey}
	u, _, err := signer.PresignHTTP(context.Background(), creds, req, "UNSIGNED-PAYLOAD", "s3", harness.Region, time.Now())
	if err != nil {
		s.t.Fatal(err)
	}
	return u
}

// errorCode returns the <Code> of an S3 error document ("" if none).
func errorCode(body []byte) string {
	var e struct{ Code string }
	_ = xml.Unmarshal(body, &e)
	return e.Code
}

func sha256Of(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

// do sends a signed request and returns the status, headers and body.
func (s *server) do(rq rawRequest) (int, http.Header, []byte) {
	s.t.Helper()
	resp, err := s.HTTPClient().Do(s.newRaw(rq))
	if err != nil {
		s.t.Fatalf("%s %s/%s: %v", rq.method, rq.bucket, rq.key, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatalf("%s %s/%s: reading body: %v", rq.method, rq.bucket, rq.key, err)
	}
	return resp.StatusCode, resp.Header, b
}

// head returns the status and headers of HEAD bucket/key.
func (s *server) head(bucket, key string) (int, http.Header) {
	s.t.Helper()
	st, h, _ := s.do(rawRequest{method: http.MethodHead, bucket: bucket, key: key})
	return st, h
}

// getObject returns the body of bucket/key, failing unless it is 200.
func (s *server) getObject(bucket, key string) []byte {
	s.t.Helper()
	st, _, b := s.do(rawRequest{method: http.MethodGet, bucket: bucket, key: key})
	if st != http.StatusOK {
		s.t.Fatalf("GET %s/%s: status %d: %s", bucket, key, st, b)
	}
	return b
}

// rawHeader returns the values of a response header under exactly name,
// as a client that does not canonicalise sees it.
func rawHeader(h http.Header, name string) []string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

// userMeta returns the x-amz-meta-* headers of h by their names as sent.
func userMeta(h http.Header) map[string]string {
	md := map[string]string{}
	for k, v := range h {
		if strings.HasPrefix(strings.ToLower(k), "x-amz-meta-") {
			md[k] = strings.Join(v, ",")
		}
	}
	return md
}

// mustExist fails unless bucket/key exists with the given sha256.
func (s *server) mustExist(bucket, key, wantSHA string) {
	s.t.Helper()
	if got := bytesSHA256(s.getObject(bucket, key)); wantSHA != "" && got != wantSHA {
		s.t.Errorf("%s/%s: sha256 %s, want %s", bucket, key, got, wantSHA)
	}
}

// mustBeAbsent fails unless bucket/key is invisible: HEAD 404 and no
// listing entry under its name.
func (s *server) mustBeAbsent(bucket, key string) {
	s.t.Helper()
	if st, _ := s.head(bucket, key); st != http.StatusNotFound {
		s.t.Errorf("HEAD %s/%q: status %d, want 404", bucket, key, st)
	}
	keys, _ := s.list(bucket, key, "")
	for _, k := range keys {
		if k == key {
			s.t.Errorf("list %s: %q is listed after a failed upload", bucket, key)
		}
	}
}

// mustServe fails unless the server still answers a signed ListBuckets.
func (s *server) mustServe() {
	s.t.Helper()
	if st, _, b := s.do(rawRequest{method: http.MethodGet}); st != http.StatusOK {
		s.t.Fatalf("ListBuckets after bad input: status %d: %s", st, b)
	}
}

// mustCreateBucket creates a bucket with the raw client.
func (s *server) mustCreateBucket(bucket string) {
	s.t.Helper()
	if st, _, b := s.do(rawRequest{method: http.MethodPut, bucket: bucket}); st != http.StatusOK {
		s.t.Fatalf("CreateBucket %s: status %d: %s", bucket, st, b)
	}
}

// list pages through ListObjectsV2 (encoding-type=url) and returns every
// key and common prefix, decoded.
func (s *server) list(bucket, prefix, delimiter string) (keys, prefixes []string) {
	s.t.Helper()
	token := ""
	for page := 0; ; page++ {
		q := url.Values{"list-type": {"2"}, "prefix": {prefix}, "encoding-type": {"url"}}
		if delimiter != "" {
			q.Set("delimiter", delimiter)
		}
		if token != "" {
			q.Set("continuation-token", token)
		}
		st, _, b := s.do(rawRequest{method: http.MethodGet, bucket: bucket, query: q})
		if st != http.StatusOK {
			s.t.Fatalf("ListObjectsV2 %s %q: status %d: %s", bucket, prefix, st, b)
		}
		var res struct {
			IsTruncated           bool
			NextContinuationToken string
			Contents              []struct{ Key string }
			CommonPrefixes        []struct{ Prefix string }
		}
		if err := xml.Unmarshal(b, &res); err != nil {
			s.t.Fatalf("ListObjectsV2: %v\n%s", err, b)
		}
		for _, c := range res.Contents {
			keys = append(keys, mustUnescape(s.t, c.Key))
		}
		for _, p := range res.CommonPrefixes {
			prefixes = append(prefixes, mustUnescape(s.t, p.Prefix))
		}
		if !res.IsTruncated {
			return keys, prefixes
		}
		if page > 100 || res.NextContinuationToken == "" {
			s.t.Fatalf("ListObjectsV2 %s: truncated without a usable continuation token", bucket)
		}
		token = res.NextContinuationToken
	}
}

func mustUnescape(t *testing.T, s string) string {
	t.Helper()
	u, err := url.QueryUnescape(s)
	if err != nil {
		t.Fatalf("listing returned a badly encoded key %q: %v", s, err)
	}
	return u
}
