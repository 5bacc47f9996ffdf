// Package maintenance tests `dewar verify` and `dewar gc` as an operator
// runs them: beside a data directory a real server wrote.
package maintenance

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"dewar/test/harness"
)

func client(srv *harness.Server) *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint: aws.String(srv.URL), Region: harness.Region, UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(harness.AccessKey, harness.SecretKey, ""),
	})
}

func dewar(t *testing.T, dataDir string, args ...string) (string, error) {
	cmd := exec.Command(harness.Binary(t), args...)
	cmd.Env = append(os.Environ(), "DEWAR_DATA_DIR="+dataDir)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestVerifyReportsAFlippedByteAndGCFrees(t *testing.T) {
	srv := harness.Start(t, harness.Options{Args: []string{"--ui-addr", harness.FreeAddr(t)}})
	ctx := context.Background()
	c := client(srv)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("maint")}); err != nil {
		t.Fatal(err)
	}
	bodies := map[string]string{"a": "first object body", "b": "second object body", "c": "third object body"}
	for k, v := range bodies {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("maint"), Key: aws.String(k), Body: strings.NewReader(v)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("maint"), Key: aws.String("c")}); err != nil {
		t.Fatal(err)
	}
	// verify works beside the running server.
	if out, err := dewar(t, srv.DataDir, "verify", "--quiet"); err != nil || !strings.Contains(out, "0 corrupt, 0 missing") {
		t.Fatalf("verify of a healthy store: %v\n%s", err, out)
	}
	srv.Stop()

	sum := sha256.Sum256([]byte(bodies["b"]))
	h := hex.EncodeToString(sum[:])
	p := filepath.Join(srv.DataDir, "store", "blobs", h[0:3], h)
	os.Chmod(p, 0o644)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	data[0] ^= 0x20
	if err := os.WriteFile(p, data, 0o444); err != nil {
		t.Fatal(err)
	}
	out, err := dewar(t, srv.DataDir, "verify", "--quiet")
	var exit *exec.ExitError
	if !errorsAs(err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("verify of a damaged store exited %v\n%s", err, out)
	}
	if !strings.Contains(out, "corrupt  "+h) {
		t.Fatalf("verify did not name the damaged blob %s:\n%s", h, out)
	}

	// gc frees nothing referenced; with no grace it frees nothing here
	// either, since the deleted object's blob was reaped at once.
	out, err = dewar(t, srv.DataDir, "gc", "--grace", "1ns")
	if err != nil || !strings.Contains(out, "removed 0") {
		t.Fatalf("gc: %v\n%s", err, out)
	}
	// An orphan (a blob left by a crash before its row) is freed.
	orphan := []byte("an orphaned blob")
	osum := sha256.Sum256(orphan)
	oh := hex.EncodeToString(osum[:])
	op := filepath.Join(srv.DataDir, "store", "blobs", oh[0:3], oh)
	os.MkdirAll(filepath.Dir(op), 0o755)
	if err := os.WriteFile(op, orphan, 0o444); err != nil {
		t.Fatal(err)
	}
	out, err = dewar(t, srv.DataDir, "gc", "--grace", "1ns")
	if err != nil || !strings.Contains(out, "removed 1") {
		t.Fatalf("gc of an orphan: %v\n%s", err, out)
	}
	if _, err := os.Stat(op); !os.IsNotExist(err) {
		t.Fatalf("orphan still there: %v", err)
	}
	if !bytes.Contains([]byte(out), []byte("examined")) {
		t.Fatalf("gc output: %s", out)
	}
}

// errorsAs is errors.As for the exit error of a finished command.
func errorsAs(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*target = e
	}
	return ok
}
