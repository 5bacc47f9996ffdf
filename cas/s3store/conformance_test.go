package s3store

import (
	"bytes"
	"context"
	"fmt"
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
