package main

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// newS3 returns an aws-sdk-go-v2 client for the server: path style, static
// root credentials, every other setting (checksums, payload signing,
// retries) the SDK's default. The one change is the idle connection pool
// (the SDK keeps 10 per host), raised so 16 workers keep their
// connections instead of reconnecting.
func newS3(url string, rec *wireRecorder) *s3.Client {
	hc := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = 256
		t.MaxIdleConnsPerHost = 64
	})
	return s3.New(s3.Options{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
		BaseEndpoint: aws.String(url),
		UsePathStyle: true,
		HTTPClient:   rec.wrap(hc),
	})
}

// phaseKey labels requests with the phase that sent them.
type phaseKey struct{}

func withPhase(ctx context.Context, phase string) context.Context {
	return context.WithValue(ctx, phaseKey{}, phase)
}

// wireRecorder notes, per phase, how the SDK framed request bodies on the
// wire (payload signing mode, checksum headers), so the report says what
// the server was asked to verify rather than what we assume.
type wireRecorder struct {
	mu    sync.Mutex
	modes map[string][]string // phase -> distinct descriptions
}

func (w *wireRecorder) wrap(c s3.HTTPClient) s3.HTTPClient {
	return doerFunc(func(r *http.Request) (*http.Response, error) {
		if r.Method == http.MethodPut || r.Method == http.MethodPost {
			w.note(r)
		}
		return c.Do(r)
	})
}

type doerFunc func(*http.Request) (*http.Response, error)

func (f doerFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

func (w *wireRecorder) note(r *http.Request) {
	phase, _ := r.Context().Value(phaseKey{}).(string)
	if phase == "" {
		return
	}
	desc := r.Method + " " + describePayload(r.Header)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.modes == nil {
		w.modes = map[string][]string{}
	}
	if !slices.Contains(w.modes[phase], desc) {
		w.modes[phase] = append(w.modes[phase], desc)
	}
}

// All returns what was seen, by phase.
func (w *wireRecorder) All() map[string][]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string][]string, len(w.modes))
	for phase, modes := range w.modes {
		out[phase] = slices.Clone(modes)
	}
	return out
}

// describePayload names the payload mode of a signed request.
func describePayload(h http.Header) string {
	p := h.Get("X-Amz-Content-Sha256")
	switch {
	case p == "":
		p = "no x-amz-content-sha256"
	case len(p) == 64 && strings.Trim(p, "0123456789abcdef") == "":
		p = "signed payload (sha256 of the body, computed by the SDK before sending)"
	}
	var sums []string
	for k := range h {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-checksum-") || lk == "content-md5" || lk == "x-amz-trailer" {
			sums = append(sums, lk)
		}
	}
	slices.Sort(sums)
	if len(sums) == 0 {
		sums = []string{"no checksum header"}
	}
	if te := h.Get("Content-Encoding"); te != "" {
		sums = append(sums, "content-encoding: "+te)
	}
	return p + "; " + strings.Join(sums, ", ")
}
