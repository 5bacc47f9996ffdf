package s3store

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"dewar/cas"
	"dewar/cas/castest"
	"dewar/test/harness"
)

// runConformance runs castest on fresh prefixes of testBucket at endpoint.
func runConformance(t *testing.T, endpoint string, direct *s3.Client) {
	var n atomic.Int64
	newStore := func(t *testing.T) cas.Store {
		return openStore(t, endpoint, fmt.Sprintf("conformance/%d", n.Add(1)), testOptions(t, nil))
	}
	// Damage a blob behind the store's back: overwrite the object with
	// other bytes of another length, as a broken upstream or a hand edit
	// would.
	corrupt := func(s cas.Store, ref cas.Ref) error {
		_, err := direct.PutObject(context.Background(), &s3.PutObjectInput{
			Bucket: aws.String(testBucket),
			Key:    aws.String(s.(*Store).key(ref)),
			Body:   bytes.NewReader([]byte("not the bytes of " + ref.String())),
		})
		return err
	}
	// Neither s3mem nor Dewar's ordinary buckets honour If-None-Match on
	// PUT, so concurrent first Puts may each report created.
	castest.Run(t, newStore, castest.WithCorrupt(corrupt), castest.WithLooseCreated())
}

// TestConformanceFake runs the suite against the in-process upstream.
func TestConformanceFake(t *testing.T) {
	endpoint, direct := fakeUpstream(t)
	runConformance(t, endpoint, direct)
}

// TestConformanceDewar runs the suite against a second Dewar process: a
// real S3 server over the network, with an ordinary bucket as upstream.
func TestConformanceDewar(t *testing.T) {
	endpoint, direct := dewarUpstream(t)
	runConformance(t, endpoint, direct)
}

// TestDewarHTTPS: over TLS the SDK sends parts as aws-chunked bodies with
// trailing checksums and single PUTs with the Ref as signed payload hash;
// blobs of both kinds round-trip through a Dewar upstream that way.
func TestDewarHTTPS(t *testing.T) {
	srv := harness.Start(t, harness.Options{TLS: true, Args: []string{"--log-level", "warn", "--ui-addr", harness.FreeAddr(t)}})
	direct := directClient(srv.URL)
	direct = s3.New(direct.Options(), func(o *s3.Options) { o.HTTPClient = srv.HTTPClient() })
	if _, err := direct.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(testBucket)}); err != nil {
		t.Fatal(err)
	}
	ft := newFaultTransport()
	ft.base = srv.HTTPClient().Transport
	s := openStore(t, srv.URL, "tls", testOptions(t, ft))
	var refs []cas.Ref
	for i, size := range []int{1000, MinPartSize + 1} {
		data := pattern(byte(60+i), size)
		ref, created, err := s.Put(context.Background(), bytes.NewReader(data), cas.StageOptions{})
		if err != nil || !created {
			t.Fatalf("Put(%d bytes) over HTTPS = %v, %v", size, created, err)
		}
		if got := mustFetch(t, s, ref.Ref, 0, -1); !bytes.Equal(got, data) {
			t.Errorf("%d-byte blob differs after the round trip", size)
		}
		if got := mustFetch(t, s, ref.Ref, 7, 100); !bytes.Equal(got, data[7:107]) {
			t.Errorf("range of the %d-byte blob differs", size)
		}
		refs = append(refs, ref.Ref)
	}
	for _, p := range ft.requests("UploadPart") {
		if got := p.Header.Get("X-Amz-Content-Sha256"); got != "STREAMING-UNSIGNED-PAYLOAD-TRAILER" {
			t.Errorf("part over HTTPS sent x-amz-content-sha256 %q, want the trailer mode", got)
		}
	}
	// The SDK sends single PUTs unsigned over TLS; the upstream still
	// checks the body against x-amz-checksum-sha256, the Ref.
	puts := ft.requests("PutObject")
	if len(puts) != 1 {
		t.Fatalf("%d single PUTs, want 1", len(puts))
	}
	if got, want := puts[0].Header.Get("X-Amz-Checksum-Sha256"), base64.StdEncoding.EncodeToString(refs[0].Bytes()); got != want {
		t.Errorf("single PUT over HTTPS: x-amz-checksum-sha256 %q, want %q", got, want)
	}
	if got := puts[0].Header.Get("X-Amz-Content-Sha256"); got != "UNSIGNED-PAYLOAD" {
		t.Errorf("single PUT over HTTPS: x-amz-content-sha256 %q, want UNSIGNED-PAYLOAD", got)
	}
	slices.SortFunc(refs, func(a, b cas.Ref) int { return strings.Compare(a.String(), b.String()) })
	var walked []cas.Ref
	if err := s.Walk(context.Background(), cas.Ref{}, func(b cas.BlobInfo) error { walked = append(walked, b.Ref); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(walked, refs) {
		t.Errorf("Walk = %v, want %v", walked, refs)
	}
}

// dewarUpstream starts `dewar serve` and creates testBucket in it.
func dewarUpstream(t testing.TB) (string, *s3.Client) {
	t.Helper()
	srv := harness.Start(t, harness.Options{Args: []string{"--log-level", "warn", "--ui-addr", harness.FreeAddr(t)}})
	direct := directClient(srv.URL)
	if _, err := direct.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(testBucket)}); err != nil {
		t.Fatal(err)
	}
	return srv.URL, direct
}
