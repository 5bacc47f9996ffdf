// Package s3conformance is an S3 behaviour suite that runs against any
// endpoint. It drives the server with the AWS SDK for Go v2 (default
// flexible checksums, path-style and virtual-hosted-style), its transfer
// manager, minio-go (streaming signatures and trailers), and hand-built
// requests signed with the SDK's SigV4 signer for what no SDK will send.
//
// Run(t, target) registers one explicit subtest per behaviour. Subtests are
// independent: each makes its own buckets (removed at the end) and they run
// in parallel. After all of them, the suite checks that every HTTP response
// it saw carried x-amz-request-id.
package s3conformance

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Target is the endpoint under test.
type Target struct {
	// Endpoint is the base URL, e.g. "https://127.0.0.1:9000" (path-style).
	Endpoint  string
	AccessKey string
	SecretKey string
	// Region is the signing region (default us-east-1).
	Region string
	// HTTPClient must trust the endpoint's certificate; its Transport must
	// be an *http.Transport (nil: a default one). The suite clones it.
	HTTPClient *http.Client
	Caps       Capabilities
}

// Capabilities describe what the endpoint offers beyond path-style S3.
// The suite never skips: a subtest whose capability is absent is not
// registered at all, so a target states what it leaves out.
type Capabilities struct {
	// VirtualHostDomain is a base domain the server serves as
	// "<bucket>.<domain>". The suite resolves every name under it to
	// Endpoint's address itself (no DNS needed). Empty: path-style only.
	VirtualHostDomain string
	// TLSServerName is the certificate name to verify for virtual-hosted
	// requests over HTTPS (default "localhost").
	TLSServerName string
	// MinPartSize is the smallest part but the last (default 5 MiB).
	MinPartSize int64
	// LargeObjectSize is the size of the transfer-manager objects
	// (default 41 MiB + 123 bytes, so parts and the tail are uneven).
	LargeObjectSize int64
}

func (tg *Target) defaults() {
	if tg.Region == "" {
		tg.Region = "us-east-1"
	}
	if tg.HTTPClient == nil {
		tg.HTTPClient = &http.Client{}
	}
	if tg.Caps.TLSServerName == "" {
		tg.Caps.TLSServerName = "localhost"
	}
	if tg.Caps.MinPartSize <= 0 {
		tg.Caps.MinPartSize = 5 << 20
	}
	if tg.Caps.LargeObjectSize <= 0 {
		tg.Caps.LargeObjectSize = 41<<20 + 123
	}
}

// testCase is one named behaviour.
type testCase struct {
	name string
	fn   func(t *testing.T, e *env)
}

// Run runs the whole suite against tg.
func Run(t *testing.T, tg Target) {
	tg.defaults()
	e := newEnv(t, tg)
	var cases []testCase
	cases = append(cases, bucketCases...)
	cases = append(cases, objectCases...)
	cases = append(cases, rangeCases...)
	cases = append(cases, checksumCases...)
	cases = append(cases, copyCases...)
	cases = append(cases, multipartCases...)
	cases = append(cases, listCases...)
	cases = append(cases, authCases...)
	cases = append(cases, badInputCases...)
	cases = append(cases, minioCases...)
	cases = append(cases, transferCases...)
	cases = append(cases, concurrencyCases...)
	cases = append(cases, regressionCases...)
	if tg.Caps.VirtualHostDomain != "" {
		cases = append(cases, virtualHostCases...)
	}
	t.Run("suite", func(t *testing.T) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				tc.fn(t, e)
			})
		}
	})
	t.Run("EveryResponseHasRequestID", func(t *testing.T) {
		n, missing := e.tap.report()
		if n == 0 {
			t.Fatal("the suite saw no HTTP responses")
		}
		for _, m := range missing {
			t.Errorf("response without x-amz-request-id: %s", m)
		}
	})
}

// env is what every subtest shares for one target.
type env struct {
	tg  Target
	tap *tap
	// s3 is the default SDK client: path-style, default checksums.
	s3 *s3.Client
	// http sends hand-built requests through the same tap.
	http *http.Client
	// tr is the transport under the tap (TLS trust).
	tr *http.Transport
	u  *url.URL
}

func newEnv(t *testing.T, tg Target) *env {
	u, err := url.Parse(tg.Endpoint)
	if err != nil {
		t.Fatalf("endpoint %q: %v", tg.Endpoint, err)
	}
	base, ok := tg.HTTPClient.Transport.(*http.Transport)
	if tg.HTTPClient.Transport == nil {
		base, ok = http.DefaultTransport.(*http.Transport), true
	}
	if !ok {
		t.Fatalf("Target.HTTPClient.Transport must be an *http.Transport, is %T", tg.HTTPClient.Transport)
	}
	tr := base.Clone()
	tr.MaxIdleConnsPerHost = 32
	e := &env{tg: tg, tap: &tap{base: tr}, tr: tr, u: u}
	e.http = &http.Client{Transport: e.tap, Timeout: 5 * time.Minute}
	e.s3 = e.client(nil)
	return e
}

// client returns an SDK client whose requests pass through the tap and
// then rt (when not nil, rt must forward to e.tap).
func (e *env) client(rt http.RoundTripper, optFns ...func(*s3.Options)) *s3.Client {
	hc := e.http
	if rt != nil {
		hc = &http.Client{Transport: rt, Timeout: 5 * time.Minute}
	}
	opts := s3.Options{
		Region:       e.tg.Region,
		BaseEndpoint: aws.String(e.tg.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(e.tg.AccessKey, e.tg.SecretKey, ""),
		HTTPClient:   hc,
		// What config.LoadDefaultConfig gives every program: CRC32 on
		// uploads (trailers over TLS), validation of returned checksums.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
		// A retry would hide a failure.
		Retryer: aws.NopRetryer{},
		// Composite (multipart) checksums cannot be validated and the SDK
		// would log that on every such GET.
		DisableLogOutputChecksumValidationSkipped: true,
	}
	return s3.New(opts, optFns...)
}

// vhostClient is a virtual-hosted-style SDK client: requests go to
// "<bucket>.<domain>:<port>", dialled at the endpoint's address. rec, when
// not nil, records its exchanges.
func (e *env) vhostClient(rec *recorder) *s3.Client {
	domain := e.tg.Caps.VirtualHostDomain
	tr := e.tr.Clone()
	target := e.u.Host
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err == nil && (host == domain || strings.HasSuffix(host, "."+domain)) {
			addr = target
		}
		return dialer.DialContext(ctx, network, addr)
	}
	if e.https() {
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{}
		}
		tr.TLSClientConfig = tr.TLSClientConfig.Clone()
		tr.TLSClientConfig.ServerName = e.tg.Caps.TLSServerName
	}
	var rt http.RoundTripper = &tap{base: tr, parent: e.tap}
	if rec != nil {
		rec.next = rt
		rt = rec
	}
	c := e.client(rt, func(o *s3.Options) {
		o.UsePathStyle = false
		o.BaseEndpoint = aws.String(e.u.Scheme + "://" + domain + ":" + e.u.Port())
	})
	return c
}

// tap is the transport under every client of the suite: it records each
// response that lacks x-amz-request-id.
type tap struct {
	base   http.RoundTripper
	parent *tap // counts go to the parent when set

	mu      sync.Mutex
	n       int
	missing []string
}

func (p *tap) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r = r.WithContext(r.Context())
		r.Body = readOnlyBody{r.Body}
	}
	resp, err := p.base.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	sink := p
	if p.parent != nil {
		sink = p.parent
	}
	sink.mu.Lock()
	sink.n++
	if resp.Header.Get("x-amz-request-id") == "" {
		sink.missing = append(sink.missing, r.Method+" "+r.URL.String()+" -> "+resp.Status)
	}
	sink.mu.Unlock()
	return resp, nil
}

// readOnlyBody hides a request body's WriteTo. smithy-go's request body
// answers WriteTo with io.EOF once the SDK has closed it, and the SDK
// closes it as soon as the response arrives; net/http, still probing the
// body for bytes beyond Content-Length, takes that io.EOF for a write
// error and closes the connection under the response being read ("use of
// closed network connection"). A fast server (s3mem) hits that race; Read
// ends with a plain io.EOF instead.
type readOnlyBody struct{ io.ReadCloser }

func (p *tap) report() (int, []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n, append([]string(nil), p.missing...)
}

// exchange is one request and its response as a recorder saw them.
type exchange struct {
	method   string
	url      *url.URL
	header   http.Header // request
	status   int
	respHead http.Header
}

// recorder remembers the exchanges of one subtest's client.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	ex   []exchange
}

func (e *env) recorder() *recorder { return &recorder{next: e.tap} }

func (rc *recorder) RoundTrip(r *http.Request) (*http.Response, error) {
	h := r.Header.Clone()
	resp, err := rc.next.RoundTrip(r)
	x := exchange{method: r.Method, url: r.URL, header: h}
	if err == nil {
		x.status, x.respHead = resp.StatusCode, resp.Header.Clone()
	}
	rc.mu.Lock()
	rc.ex = append(rc.ex, x)
	rc.mu.Unlock()
	return resp, err
}

func (rc *recorder) exchanges() []exchange {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]exchange(nil), rc.ex...)
}

// last returns the last exchange with method m.
func (rc *recorder) last(t *testing.T, m string) exchange {
	t.Helper()
	ex := rc.exchanges()
	for i := len(ex) - 1; i >= 0; i-- {
		if ex[i].method == m {
			return ex[i]
		}
	}
	t.Fatalf("no %s request was recorded", m)
	return exchange{}
}

func (e *env) https() bool { return e.u.Scheme == "https" }
