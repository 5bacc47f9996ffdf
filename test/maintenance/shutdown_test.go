package maintenance

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"dewar/test/harness"
)

// slowReader hands out its bytes at a bounded rate and reports when half
// of them are out.
type slowReader struct {
	r    *bytes.Reader
	half chan struct{}
	sent int
	size int
}

func (s *slowReader) Read(p []byte) (int, error) {
	time.Sleep(10 * time.Millisecond)
	n, err := s.r.Read(p[:min(len(p), 64<<10)])
	s.sent += n
	if s.sent >= s.size/2 && s.half != nil {
		close(s.half)
		s.half = nil
	}
	return n, err
}

// SIGTERM lets an upload in flight finish: it is acknowledged, and the
// object is whole after a restart.
func TestGracefulShutdownFinishesInFlightUpload(t *testing.T) {
	srv := harness.Start(t, harness.Options{})
	c := client(srv)
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("drain")}); err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("in flight during shutdown\n"), 4<<20/26) // about 4 MiB: ~6 s at this rate
	want := sha256.Sum256(body)
	sr := &slowReader{r: bytes.NewReader(body), half: make(chan struct{}), size: len(body)}
	req, err := http.NewRequest(http.MethodPut, srv.URL+"/drain/big", sr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(body))
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	creds := aws.Credentials{AccessKeyID: harness.AccessKey, SecretAccessKey: harness.SecretKey}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, "UNSIGNED-PAYLOAD", "s3", harness.Region, time.Now()); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			msg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("status %d: %s", resp.StatusCode, msg)
			}
		}
		done <- err
	}()
	<-sr.half
	stopped := make(chan struct{})
	go func() { srv.Stop(); close(stopped) }() // SIGTERM, then wait for the exit
	if err := <-done; err != nil {
		t.Fatalf("upload in flight at SIGTERM failed: %v", err)
	}
	<-stopped
	srv.Restart()
	got, err := client(srv).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("drain"), Key: aws.String("big")})
	if err != nil {
		t.Fatalf("object after restart: %v", err)
	}
	data, _ := io.ReadAll(got.Body)
	if sha256.Sum256(data) != want {
		t.Fatalf("object after restart has %d bytes that differ from the upload", len(data))
	}
}
