package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"dewar/gateway/web/apiclient"
	"dewar/test/fixtures"
	"dewar/test/harness"
)

// seed is the fixtures' seed: the same bytes every run.
const seed = 11

const (
	incomingKG    = "incoming-knowngood"
	incomingOther = "incoming-other"
	samplesBucket = "samples"
	jobsBucket    = "jobs"
)

var (
	fxOnce     sync.Once
	fxAll      []fixtures.Fixture
	fxHostile  []fixtures.Fixture
	fxErr      error
	fxRendered time.Duration
)

// loadFixtures renders fixtures.All(seed) and fixtures.Hostile() once per
// test process.
func loadFixtures(t *testing.T) (all, hostile []fixtures.Fixture) {
	t.Helper()
	harness.Require(t, "7z", "bzip2")
	fxOnce.Do(func() {
		start := time.Now()
		if fxAll, fxErr = fixtures.All(seed); fxErr != nil {
			return
		}
		fxHostile, fxErr = fixtures.Hostile()
		fxRendered = time.Since(start)
	})
	if fxErr != nil {
		t.Fatalf("fixtures: %v", fxErr)
	}
	return fxAll, fxHostile
}

// fixture returns the fixture named name.
func fixture(t *testing.T, name string) fixtures.Fixture {
	t.Helper()
	all, hostile := loadFixtures(t)
	for _, f := range append(append([]fixtures.Fixture{}, all...), hostile...) {
		if f.Name == name {
			return f
		}
	}
	t.Fatalf("no fixture %s", name)
	return fixtures.Fixture{}
}

// server is one running dewar with its API address.
type server struct {
	*harness.Server
	t      *testing.T
	tls    bool
	uiAddr string
	dir    string // scratch directory for client configs and downloads
}

// newServer starts dewar with its own API port and extra serve flags.
func newServer(t *testing.T, tls bool, args ...string) *server {
	t.Helper()
	ui := harness.FreeAddr(t)
	opts := harness.Options{TLS: tls, Args: append([]string{"--ui-addr", ui}, args...)}
	return &server{Server: harness.Start(t, opts), t: t, tls: tls, uiAddr: ui, dir: t.TempDir()}
}

// with returns s bound to a subtest.
func (s *server) with(t *testing.T) *server {
	c := *s
	c.t = t
	return &c
}

func (s *server) scheme() string {
	if s.tls {
		return "https"
	}
	return "http"
}

// apiURL is the base URL of the web UI and JSON API.
func (s *server) apiURL() string { return s.scheme() + "://" + s.uiAddr }

// api returns a JSON API client with the root credentials.
func (s *server) api() *apiclient.Client {
	c := apiclient.New(s.apiURL(), harness.AccessKey, harness.SecretKey)
	c.HTTPClient = s.HTTPClient()
	return c
}

// s3 returns an aws-sdk-go-v2 client for the server's current address
// (it changes on Restart), with the SDK's default flexible checksums.
func (s *server) s3() *s3.Client {
	return s.s3As(harness.AccessKey, harness.SecretKey)
}

func (s *server) s3As(accessKey, secretKey string) *s3.Client {
	return s3.New(s3.Options{
		Region: harness.Region, BaseEndpoint: aws.String(s.URL), UsePathStyle: true,
		Credentials:                credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
		HTTPClient:                 s.HTTPClient(),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
		Retryer:                    aws.NopRetryer{},
		// Composite (multipart) checksums cannot be validated.
		DisableLogOutputChecksumValidationSkipped: true,
	})
}

func ctxT() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 3*time.Minute)
}

// rawHeader returns a response header as it came over the wire.
func rawHeader(md middleware.Metadata, name string) string {
	if r, ok := awsmiddleware.GetRawResponse(md).(*smithyhttp.Response); ok {
		return r.Header.Get(name)
	}
	return ""
}

// put uploads data into bucket/key with aws-sdk-go-v2 and returns the
// x-dewar-job-id of the answer.
func (s *server) put(bucket, key string, data []byte, meta map[string]string) (string, error) {
	ctx, cancel := ctxT()
	defer cancel()
	out, err := s.s3().PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(data), Metadata: meta})
	if err != nil {
		return "", err
	}
	id := rawHeader(out.ResultMetadata, "x-dewar-job-id")
	if id == "" {
		return "", fmt.Errorf("PUT %s/%s: no x-dewar-job-id in the answer", bucket, key)
	}
	return id, nil
}

func (s *server) mustPut(bucket, key string, data []byte, meta map[string]string) string {
	s.t.Helper()
	id, err := s.put(bucket, key, data, meta)
	if err != nil {
		s.t.Fatalf("PUT %s/%s: %v", bucket, key, err)
	}
	return id
}

// wait polls the API until the job is done or failed.
func (s *server) wait(id string) apiclient.Job {
	s.t.Helper()
	ctx, cancel := ctxT()
	defer cancel()
	j, err := s.api().WaitJob(ctx, id, 50*time.Millisecond)
	if err != nil {
		s.t.Fatalf("waiting for job %s: %v (last status %q)", id, err, j.Status)
	}
	return j
}

// manifest reads jobs/<id>/manifest.json through S3.
func (s *server) manifest(id string) apiclient.Job {
	s.t.Helper()
	b := s.get(jobsBucket, id+"/manifest.json")
	var j apiclient.Job
	if err := json.Unmarshal(b, &j); err != nil {
		s.t.Fatalf("manifest of %s: %v", id, err)
	}
	return j
}

// get reads an object through S3.
func (s *server) get(bucket, key string) []byte {
	s.t.Helper()
	ctx, cancel := ctxT()
	defer cancel()
	out, err := s.s3().GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		s.t.Fatalf("GET %s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		s.t.Fatalf("GET %s/%s: %v", bucket, key, err)
	}
	return b
}

// head answers HEAD bucket/key.
func (s *server) head(bucket, key string) (*s3.HeadObjectOutput, error) {
	ctx, cancel := ctxT()
	defer cancel()
	return s.s3().HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
}

// listAll lists bucket under prefix with ListObjectsV2 pages of max keys.
func (s *server) listAll(bucket, prefix, delimiter string, max int32) (keys, prefixes []string) {
	s.t.Helper()
	ctx, cancel := ctxT()
	defer cancel()
	in := &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix, MaxKeys: &max}
	if delimiter != "" {
		in.Delimiter = &delimiter
	}
	p := s3.NewListObjectsV2Paginator(s.s3(), in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			s.t.Fatalf("list %s/%s: %v", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, *o.Key)
		}
		for _, cp := range page.CommonPrefixes {
			prefixes = append(prefixes, *cp.Prefix)
		}
	}
	return keys, prefixes
}

// blobCount counts the blobs of the server's file store.
func (s *server) blobCount() int {
	s.t.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(s.DataDir, "store", "blobs"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return err
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return n
}

// peakRSS returns the server's peak resident set size (VmHWM) in bytes.
func (s *server) peakRSS() int64 {
	s.t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.Pid()))
	if err != nil {
		s.t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				s.t.Fatal(err)
			}
			return kb << 10
		}
	}
	s.t.Fatal("no VmHWM in /proc/<pid>/status")
	return 0
}

// resetPeakRSS makes VmHWM start again from the current RSS
// (/proc/<pid>/clear_refs, value 5).
func (s *server) resetPeakRSS() {
	s.t.Helper()
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", s.Pid()), []byte("5"), 0); err != nil {
		s.t.Fatalf("resetting the peak RSS: %v", err)
	}
}

// mustServe checks the server still answers ListBuckets with Dewar's buckets.
func (s *server) mustServe() {
	s.t.Helper()
	if s.Exited() {
		s.t.Fatal("the server exited")
	}
	ctx, cancel := ctxT()
	defer cancel()
	out, err := s.s3().ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		s.t.Fatalf("ListBuckets: %v", err)
	}
	var names []string
	for _, b := range out.Buckets {
		names = append(names, *b.Name)
	}
	for _, want := range []string{incomingKG, incomingOther, samplesBucket, jobsBucket} {
		if !strings.Contains(strings.Join(names, ","), want) {
			s.t.Errorf("ListBuckets %v lacks %s", names, want)
		}
	}
}

// --- client processes ---

// result is what a client process did.
type result struct {
	stdout, stderr string
	code           int
	err            error
}

func (r result) String() string {
	return fmt.Sprintf("exit %d (%v)\nstdout:\n%s\nstderr:\n%s", r.code, r.err,
		harness.LastLines(r.stdout, 30), harness.LastLines(r.stderr, 30))
}

// clientEnv is the test's environment without AWS_* (the machine sets
// AWS_CA_BUNDLE globally), plus extra.
func clientEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

var (
	toolsMu sync.Mutex
	tools   = map[string]string{}
)

// tool returns the program to run for name. A pyenv shim is resolved to
// the program it would run: the shim costs a second per start, and the
// suite starts the AWS CLI and python dozens of times.
func tool(name string) string {
	toolsMu.Lock()
	defer toolsMu.Unlock()
	if p, ok := tools[name]; ok {
		return p
	}
	p := name
	if lp, err := exec.LookPath(name); err == nil && strings.Contains(lp, "/shims/") {
		if out, err := exec.Command("pyenv", "which", name).Output(); err == nil {
			p = strings.TrimSpace(string(out))
		}
	}
	tools[name] = p
	return p
}

// run runs a client process (bounded to 3 minutes) without failing.
func run(env []string, stdin io.Reader, name string, args ...string) result {
	ctx, cancel := ctxT()
	defer cancel()
	cmd := exec.CommandContext(ctx, tool(name), args...)
	cmd.Env = clientEnv(env...)
	cmd.Stdin = stdin
	cmd.WaitDelay = 5 * time.Second
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	r := result{stdout: so.String(), stderr: se.String(), err: err}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		r.code = -1
	}
	return r
}

func mustRun(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	r := run(env, nil, name, args...)
	if r.err != nil {
		t.Fatalf("%s %s: %s", name, strings.Join(args, " "), r)
	}
	return r.stdout
}

// writeFile writes a file into the scratch directory and returns its path.
func (s *server) writeFile(name string, content []byte, mode os.FileMode) string {
	s.t.Helper()
	p := filepath.Join(s.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(p, content, mode); err != nil {
		s.t.Fatal(err)
	}
	return p
}

// awsEnv configures the AWS CLI and boto3 for the server with the given
// credentials (root when empty) and trusts its certificate (AWS_CA_BUNDLE).
func (s *server) awsEnv(accessKey, secretKey string) []string {
	s.t.Helper()
	if accessKey == "" {
		accessKey, secretKey = harness.AccessKey, harness.SecretKey
	}
	cfg := s.writeFile("aws/config", []byte("[default]\nregion = "+harness.Region+"\n"), 0o600)
	creds := s.writeFile("aws/credentials-"+accessKey, []byte(fmt.Sprintf(
		"[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", accessKey, secretKey)), 0o600)
	env := []string{"AWS_CONFIG_FILE=" + cfg, "AWS_SHARED_CREDENTIALS_FILE=" + creds,
		"AWS_DEFAULT_REGION=" + harness.Region, "AWS_EC2_METADATA_DISABLED=true", "PYTHONDONTWRITEBYTECODE=1"}
	if s.tls {
		env = append(env, "AWS_CA_BUNDLE="+s.CAFile)
	}
	return env
}

// aws runs the AWS CLI with the root credentials and fails on error.
func (s *server) aws(args ...string) string {
	s.t.Helper()
	return mustRun(s.t, s.awsEnv("", ""), "aws", append([]string{"--endpoint-url", s.URL}, args...)...)
}

// python runs a testdata script with boto3; scripts take the endpoint and
// the CA file ("" over HTTP) first.
func (s *server) python(env []string, script string, args ...string) string {
	s.t.Helper()
	ca := ""
	if s.tls {
		ca = s.CAFile
	}
	return mustRun(s.t, env, "python3", append([]string{filepath.Join("testdata", script), s.URL, ca}, args...)...)
}

// --- comparing trees with the generator ---

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// treeOf converts a manifest's tree into the fixtures' terms: raw paths
// that were not UTF-8 decoded, sizes on files only.
func treeOf(t *testing.T, tree []apiclient.TreeEntry) []fixtures.Want {
	t.Helper()
	out := make([]fixtures.Want, 0, len(tree))
	for _, e := range tree {
		w := fixtures.Want{Path: e.Path, Type: e.Type, SHA256: e.SHA256, Target: e.Target, RawPath: e.RawPath}
		if e.RawPathBase64 != "" {
			raw, err := base64.StdEncoding.DecodeString(e.RawPathBase64)
			if err != nil {
				t.Errorf("%s: raw_path_base64 %q: %v", e.Path, e.RawPathBase64, err)
			}
			w.RawPath = string(raw)
		}
		if e.Size != nil {
			w.Size = *e.Size
		}
		out = append(out, w)
	}
	return out
}

// checkTree compares a job's tree with the fixture's: exactly, or (for a
// walk that stopped early) every expected entry present.
func checkTree(t *testing.T, f fixtures.Fixture, tree []apiclient.TreeEntry) {
	t.Helper()
	got := treeOf(t, tree)
	want, exact := f.ExpectedTree(), f.ExactTree()
	seen := map[string]bool{}
	for _, g := range got {
		if seen[g.Path] {
			t.Errorf("path %q twice in the tree", g.Path)
		}
		seen[g.Path] = true
	}
	if d := fixtures.TreeDiff(want, got, exact); d != "" {
		t.Errorf("tree of %d entries, want %d (exact %v): %s", len(got), len(want), exact, d)
	}
}

// checkOutcome compares a job's status, error and warnings with the
// fixture's expected outcome.
func checkOutcome(t *testing.T, f fixtures.Fixture, j apiclient.Job) {
	t.Helper()
	o := f.Outcome
	want := ""
	switch {
	case o.Limit != "":
		want = "limit " + o.Limit + " exceeded"
	case o.Err != nil:
		want = o.Err.Error()
	}
	bad := false
	switch o.Kind {
	case fixtures.OK:
		bad = j.Status != "done" || j.Error != "" || len(j.Warnings) > 0
	case fixtures.Warned:
		bad = j.Status != "done" || j.Error != "" || !anyContains(j.Warnings, want)
	case fixtures.Failed:
		bad = j.Status != "failed" || !strings.Contains(j.Error, want)
	case fixtures.NotArchive:
		if len(f.Data) == 0 {
			want = "empty upload"
			bad = j.Status != "failed" || !strings.Contains(j.Error, want)
		} else {
			want = ""
			bad = j.Status != "done" || j.Error != ""
		}
	}
	if bad {
		t.Errorf("job %s: status %s, error %q, warnings %q; want %s naming %q", j.ID, j.Status, j.Error, j.Warnings, o.Kind, want)
	}
}

func anyContains(list []string, s string) bool {
	for _, x := range list {
		if strings.Contains(x, s) {
			return true
		}
	}
	return false
}

// filesOf returns the distinct files of a job (tree files and the upload)
// with their sizes: what its stats count.
func filesOf(j apiclient.Job) map[string]int64 {
	files := map[string]int64{j.ArchiveSHA256: j.ArchiveSize}
	for _, e := range j.Tree {
		if e.Type == "file" && e.Size != nil {
			files[e.SHA256] = *e.Size
		}
	}
	return files
}

// checkStats checks a job's files and bytes against its tree.
func checkStats(t *testing.T, j apiclient.Job) {
	t.Helper()
	files := filesOf(j)
	var bytes int64
	for _, n := range files {
		bytes += n
	}
	st := j.Stats
	if st.Files != int64(len(files)) || st.Bytes != bytes || st.NewFiles > st.Files || st.NewBytes > st.Bytes || st.NewFiles < 0 {
		t.Errorf("job %s stats %+v; want files %d, bytes %d, and new ones among them", j.ID, st, len(files), bytes)
	}
}

// writeTree writes a fixture tree model to dir: files, directories (empty
// ones too) and symlinks.
func writeTree(t *testing.T, dir string, tree fixtures.Tree) {
	t.Helper()
	for _, n := range tree {
		p := filepath.Join(dir, filepath.FromSlash(n.Path))
		var err error
		switch n.Type {
		case "dir":
			err = os.MkdirAll(p, 0o755)
		case "file":
			if err = os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
				err = os.WriteFile(p, n.Body, 0o644)
			}
		case "symlink":
			if err = os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
				err = os.Symlink(n.Target, p)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// wantsOf lists the entries a tree model must produce, as fixtures do.
func wantsOf(tree fixtures.Tree, prefix string) []fixtures.Want {
	var w []fixtures.Want
	for _, n := range tree {
		x := fixtures.Want{Path: prefix + n.Path, Type: n.Type, Target: n.Target}
		if n.Type == "file" {
			x.Size, x.SHA256 = int64(len(n.Body)), sum(n.Body)
		}
		w = append(w, x)
	}
	return w
}
