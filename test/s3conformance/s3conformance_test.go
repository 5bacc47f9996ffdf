package s3conformance_test

import (
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"dewar/index/postgres/pgtest"
	"dewar/s3api"
	"dewar/s3api/s3mem"
	"dewar/test/harness"
	"dewar/test/s3conformance"
)

const domain = "localtest"

// memServer serves s3api over the in-memory backend: it proves the
// protocol layer alone.
func memServer(t *testing.T, useTLS bool) s3conformance.Target {
	t.Helper()
	h, err := s3api.New(s3api.Config{
		Backend:     s3mem.New(),
		Credentials: s3mem.Credentials{harness.AccessKey: harness.SecretKey},
		Region:      harness.Region,
		Domains:     []string{domain},
		Logger:      slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	tg := s3conformance.Target{
		AccessKey: harness.AccessKey, SecretKey: harness.SecretKey, Region: harness.Region,
		Caps: s3conformance.Capabilities{VirtualHostDomain: domain},
	}
	if useTLS {
		certFile, keyFile, caFile := harness.WriteCert(t, t.TempDir())
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		// The SDK speaks HTTP/2 when offered; dewarServer covers HTTP/1.1.
		srv.EnableHTTP2 = true
		srv.StartTLS()
		tg.HTTPClient = trusting(t, caFile)
	} else {
		srv.Start()
		tg.HTTPClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	t.Cleanup(srv.Close)
	tg.Endpoint = srv.URL
	return tg
}

func trusting(t *testing.T, caFile string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	return &http.Client{Transport: tr}
}

// dewarServer runs a real `dewar serve` on its embedded defaults, or with
// extra flags (another index or store).
func dewarServer(t *testing.T, useTLS bool, extra ...string) s3conformance.Target {
	t.Helper()
	args := append([]string{"--domain", domain, "--log-level", "warn"}, extra...)
	srv := harness.Start(t, harness.Options{TLS: useTLS, Args: args})
	hc := srv.HTTPClient()
	// HTTP/1.1, as botocore, rclone and s3cmd speak it: aws-chunked
	// uploads then travel with Transfer-Encoding: chunked. memServer's
	// HTTPS target covers HTTP/2.
	tr := hc.Transport.(*http.Transport)
	tr.ForceAttemptHTTP2 = false
	tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	return s3conformance.Target{
		Endpoint: srv.URL, AccessKey: harness.AccessKey, SecretKey: harness.SecretKey, Region: harness.Region,
		HTTPClient: hc,
		Caps:       s3conformance.Capabilities{VirtualHostDomain: domain},
	}
}

func TestMemHTTP(t *testing.T)    { s3conformance.Run(t, memServer(t, false)) }
func TestMemHTTPS(t *testing.T)   { s3conformance.Run(t, memServer(t, true)) }
func TestDewarHTTP(t *testing.T)  { s3conformance.Run(t, dewarServer(t, false)) }
func TestDewarHTTPS(t *testing.T) { s3conformance.Run(t, dewarServer(t, true)) }

// TestDewarPostgres runs the whole suite against dewar serve with the
// PostgreSQL index (a throwaway database).
func TestDewarPostgres(t *testing.T) {
	s3conformance.Run(t, dewarServer(t, false, "--index", pgtest.NewDatabase(t)))
}

// TestDewarUpstream runs the whole suite against dewar serve whose blobs
// live in another Dewar over S3 (the upstream store of a scaled-out node).
func TestDewarUpstream(t *testing.T) {
	up := harness.Start(t, harness.Options{Args: []string{"--log-level", "warn"}})
	createBucket(t, up, "blobs")
	store := "s3://blobs/node?endpoint=" + up.URL + "&region=" + harness.Region +
		"&access_key=" + harness.AccessKey + "&secret_key=" + harness.SecretKey
	s3conformance.Run(t, dewarServer(t, false, "--store", store))
}

// createBucket makes a bucket on a harness server with a plain SDK client.
func createBucket(t *testing.T, srv *harness.Server, name string) {
	t.Helper()
	c := s3.New(s3.Options{
		BaseEndpoint: aws.String(srv.URL), Region: harness.Region, UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(harness.AccessKey, harness.SecretKey, ""),
	})
	if _, err := c.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
}
