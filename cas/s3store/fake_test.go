package s3store

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"dewar/s3api"
	"dewar/s3api/s3mem"
	"dewar/test/harness"
)

// The in-process upstream for fast tests: Dewar's own S3 protocol layer
// over its in-memory backend, on an httptest server at 127.0.0.1. (Test
// files only: the package itself must not import s3api.)

const testBucket = "dewar-blobs"

// fakeUpstream starts an S3 server with testBucket created and returns its
// endpoint and a client without faults for setting up and inspecting it.
func fakeUpstream(t testing.TB) (endpoint string, direct *s3.Client) {
	t.Helper()
	h, err := s3api.New(s3api.Config{
		Backend:     s3mem.New(),
		Credentials: s3mem.Credentials{harness.AccessKey: harness.SecretKey},
		Region:      harness.Region,
		Logger:      slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	direct = directClient(srv.URL)
	if _, err := direct.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(testBucket)}); err != nil {
		t.Fatal(err)
	}
	return srv.URL, direct
}

// directClient talks to an upstream as the harness's root user.
func directClient(endpoint string) *s3.Client {
	return s3.New(s3.Options{
		Region:       harness.Region,
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(harness.AccessKey, harness.SecretKey, ""),
		HTTPClient:   &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
	})
}

// storeURL is the s3:// URL of a store under prefix on endpoint.
func storeURL(endpoint, prefix string) string {
	q := url.Values{
		"endpoint":   {endpoint},
		"region":     {harness.Region},
		"access_key": {harness.AccessKey},
		"secret_key": {harness.SecretKey},
	}
	return "s3://" + testBucket + "/" + prefix + "?" + q.Encode()
}

// testOptions are fast defaults: the smallest part size S3 allows (so
// 5 MiB+ blobs exercise multipart) and millisecond backoff.
func testOptions(t testing.TB, ft *faultTransport) Options {
	o := Options{
		TempDir:     t.TempDir(),
		PartSize:    MinPartSize,
		MaxAttempts: 4,
		MaxBackoff:  2 * time.Millisecond,
	}
	if ft != nil {
		o.HTTPClient = &http.Client{Transport: ft}
	}
	return o
}

func openStore(t testing.TB, endpoint, prefix string, opts Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), storeURL(endpoint, prefix), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// request is what the fault transport saw of one request.
type request struct {
	Op     string // S3 operation, from method and query
	Key    string
	Header http.Header
	Query  url.Values
}

// fault makes matching requests fail, Times times.
type fault struct {
	Op    string // operation to match
	Part  string // partNumber to match, "" for any
	Times int    // how many matching requests fail; < 0 means all
	// Status and Code: answer with this S3 error instead of forwarding.
	Status int
	Code   string
	// ResetAfter >= 0 with Status 0: forward the request but fail like a
	// reset connection, after sending ResetAfter bytes of the request body
	// (uploads) or after delivering ResetAfter bytes of the answer (GET).
	ResetAfter int64
}

// faultTransport forwards requests to the upstream, logs them, and fails
// those its faults match: the way to prove retries without a flaky network.
type faultTransport struct {
	base http.RoundTripper

	mu       sync.Mutex
	delay    time.Duration // added to every PUT, to make uploads overlap
	gate     chan struct{} // when set, PUTs wait until it is closed
	faults   []*fault
	log      []request
	inFlight int
	peak     int // most PUTs in flight at once
}

func newFaultTransport(faults ...*fault) *faultTransport {
	return &faultTransport{base: http.DefaultTransport.(*http.Transport).Clone(), faults: faults}
}

// operation names the S3 operation of a path-style request.
func operation(r *http.Request) string {
	q := r.URL.Query()
	onBucket := strings.Count(strings.Trim(r.URL.Path, "/"), "/") == 0
	switch r.Method {
	case http.MethodHead:
		if onBucket {
			return "HeadBucket"
		}
		return "HeadObject"
	case http.MethodGet:
		switch {
		case q.Has("uploads"):
			return "ListMultipartUploads"
		case onBucket:
			return "ListObjects"
		}
		return "GetObject"
	case http.MethodPut:
		if q.Has("partNumber") {
			return "UploadPart"
		}
		return "PutObject"
	case http.MethodPost:
		if q.Has("uploads") {
			return "CreateMultipartUpload"
		}
		return "CompleteMultipartUpload"
	case http.MethodDelete:
		if q.Has("uploadId") {
			return "AbortMultipartUpload"
		}
		return "DeleteObject"
	}
	return r.Method
}

func (ft *faultTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	op := operation(r)
	key := strings.TrimPrefix(r.URL.Path, "/"+testBucket+"/")
	ft.mu.Lock()
	ft.log = append(ft.log, request{Op: op, Key: key, Header: r.Header.Clone(), Query: r.URL.Query()})
	var f *fault
	for _, c := range ft.faults {
		if c.Op == op && (c.Part == "" || c.Part == r.URL.Query().Get("partNumber")) && c.Times != 0 {
			c.Times--
			cp := *c
			f = &cp
			break
		}
	}
	delay, gate := ft.delay, ft.gate
	if r.Method == http.MethodPut {
		ft.inFlight++
		ft.peak = max(ft.peak, ft.inFlight)
		defer func() { ft.mu.Lock(); ft.inFlight--; ft.mu.Unlock() }()
	}
	ft.mu.Unlock()
	if r.Method == http.MethodPut && gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
	if r.Method == http.MethodPut && delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
	switch {
	case f == nil:
		return ft.base.RoundTrip(r)
	case f.Status != 0:
		if r.Body != nil {
			io.Copy(io.Discard, r.Body)
			r.Body.Close()
		}
		body := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>injected</Message><RequestId>fault</RequestId></Error>`, f.Code)
		if r.Method == http.MethodHead {
			body = ""
		}
		return &http.Response{
			StatusCode: f.Status, Status: http.StatusText(f.Status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header:        http.Header{"Content-Type": {"application/xml"}, "X-Amz-Request-Id": {"fault"}},
			Body:          io.NopCloser(strings.NewReader(body)),
			ContentLength: int64(len(body)),
			Request:       r,
		}, nil
	case r.Method == http.MethodGet:
		resp, err := ft.base.RoundTrip(r)
		if err != nil {
			return nil, err
		}
		resp.Body = &resetReader{rc: resp.Body, left: f.ResetAfter}
		return resp, nil
	default:
		if r.Body != nil {
			io.CopyN(io.Discard, r.Body, f.ResetAfter)
			r.Body.Close()
		}
		return nil, errReset
	}
}

// errReset is what a connection reset by the peer looks like.
var errReset = &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}

// resetReader delivers left bytes, then fails as a reset connection.
type resetReader struct {
	rc   io.ReadCloser
	left int64
}

func (r *resetReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, errReset
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.rc.Read(p)
	r.left -= int64(n)
	return n, err
}

func (r *resetReader) Close() error { return r.rc.Close() }

// requests returns the logged requests of op (all when op is "").
func (ft *faultTransport) requests(op string) []request {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	var out []request
	for _, r := range ft.log {
		if op == "" || r.Op == op {
			out = append(out, r)
		}
	}
	return out
}

// count returns how many logged requests f matches (failed or not).
func (ft *faultTransport) count(f fault) int {
	n := 0
	for _, r := range ft.requests(f.Op) {
		if f.Part == "" || r.Query.Get("partNumber") == f.Part {
			n++
		}
	}
	return n
}

// reset forgets the log.
func (ft *faultTransport) reset() {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	ft.log = nil
}

// setDelay sets the delay added to every PUT.
func (ft *faultTransport) setDelay(d time.Duration) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	ft.delay = d
}

// peakPuts returns the most PUTs that were in flight at once.
func (ft *faultTransport) peakPuts() int {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return ft.peak
}

// clearFaults removes every fault.
func (ft *faultTransport) clearFaults() {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	ft.faults = nil
}

// addFault installs a fault for the requests that follow.
func (ft *faultTransport) addFault(f *fault) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	ft.faults = append(ft.faults, f)
}
