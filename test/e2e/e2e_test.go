package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"dewar/test/harness"
)

// Sizes of the upload fixtures: big is above every client's multipart
// threshold (aws/boto3 8 MiB, s3cmd 5 MiB chunks, rclone cutoff set to 5 MiB).
const (
	smallSize = 1000
	bigSize   = 40 << 20
)

// fixtureDir holds files shared by all tests of the process (read-only).
var fixtureDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "dewar-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fixtureDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	fixturesOnce sync.Once
	fixturesErr  error
)

// fixtures returns the paths of the small and the 40 MiB file, made once
// from a fixed seed (same bytes every run).
func fixtures(t *testing.T) (small, big string) {
	t.Helper()
	small, big = filepath.Join(fixtureDir, "small.bin"), filepath.Join(fixtureDir, "big.bin")
	fixturesOnce.Do(func() {
		rng := rand.NewChaCha8([32]byte{'d', 'e', 'w', 'a', 'r'})
		for _, f := range []struct {
			path string
			size int64
		}{{small, smallSize}, {big, bigSize}} {
			out, err := os.Create(f.path)
			if err != nil {
				fixturesErr = err
				return
			}
			_, err = io.CopyN(out, rng, f.size)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				fixturesErr = err
				return
			}
		}
	})
	if fixturesErr != nil {
		t.Fatal(fixturesErr)
	}
	return small, big
}

// oddNames are the key fragments every listing test must survive: S3 and
// URL metacharacters and NFC unicode (written with escapes so the source
// file's normalisation cannot change them).
var oddNames = []string{
	"with space", "plus+sign", "per%cent", "eq=ual", "amp&ersand", "quo'te",
	"(paren)", "[bracket]", "til~de", "com,ma", "semi;colon", "ha#sh", "at@sign",
	"\u00fcber", "\u65e5\u672c\u8a9e", "snow\u2603man", "100%25+%2B", `what?is*this!$:"\^{}|<>`,
}

// oddDirs are the sub-prefixes of the listing tree.
var oddDirs = []string{"d space", "d+plus", "d%25pct", "d=&amp", "d\u2603\u65e5\u672c\u8a9e", "d(\u00fc)"}

const (
	listPrefix = "many/"
	listFlat   = 1040 // keys directly under listPrefix: more than one page
	listNested = 10   // keys under each of oddDirs
	dirsPrefix = "dirs/"
	dirsCount  = 1010 // sub-prefixes of dirsPrefix: common prefixes span pages
)

// listTree is the listing fixture every client lists: more than 1000 keys
// with odd names under "many/", more than 1000 common prefixes under
// "dirs/", and two keys that prefix listings must leave out.
type listTree struct {
	keys     []string // every key under "many/" (1100)
	flat     []string // the keys directly under "many/"
	prefixes []string // common prefixes of "many/" with delimiter "/"
	dirKeys  []string // every key under "dirs/", one per sub-prefix
	dirs     []string // common prefixes of "dirs/" with delimiter "/"
	outside  []string
}

var tree = buildTree()

func buildTree() listTree {
	var lt listTree
	for i := range listFlat {
		k := fmt.Sprintf("%s%04d %s", listPrefix, i, oddNames[i%len(oddNames)])
		lt.flat = append(lt.flat, k)
		lt.keys = append(lt.keys, k)
	}
	for d, dir := range oddDirs {
		lt.prefixes = append(lt.prefixes, listPrefix+dir+"/")
		for i := range listNested {
			lt.keys = append(lt.keys, fmt.Sprintf("%s%s/%02d %s", listPrefix, dir, i, oddNames[(d+i)%len(oddNames)]))
		}
	}
	for i := range dirsCount {
		p := fmt.Sprintf("%s%04d %s/", dirsPrefix, i, oddNames[i%len(oddNames)])
		lt.dirs = append(lt.dirs, p)
		lt.dirKeys = append(lt.dirKeys, p+"f")
	}
	lt.outside = []string{"manyx", "zz/outside"}
	return lt
}

// sameSet fails the test unless got and want hold the same strings,
// naming a few differences.
func sameSet(t *testing.T, what string, got, want []string) {
	t.Helper()
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	if slices.Equal(g, w) {
		return
	}
	var missing, extra []string
	gs, ws := map[string]int{}, map[string]int{}
	for _, x := range g {
		gs[x]++
	}
	for _, x := range w {
		ws[x]++
	}
	for x, n := range ws {
		if gs[x] < n {
			missing = append(missing, x)
		}
	}
	for x, n := range gs {
		if ws[x] < n {
			extra = append(extra, x)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	t.Errorf("%s: got %d entries, want %d; missing %d %q; extra %d %q", what, len(got), len(want),
		len(missing), head(missing, 5), len(extra), head(extra, 5))
}

func head(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func bytesSHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// sameFile fails unless the two files have the same bytes.
func sameFile(t *testing.T, got, want string) {
	t.Helper()
	if g, w := fileSHA256(t, got), fileSHA256(t, want); g != w {
		t.Errorf("%s: sha256 %s, want %s (as %s)", got, g, w, want)
	}
}

// readRange returns length bytes of path from offset.
func readRange(t *testing.T, path string, offset, length int64) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, length)
	if _, err := f.ReadAt(b, offset); err != nil {
		t.Fatal(err)
	}
	return b
}

// server is one running dewar with what the clients need to reach it.
type server struct {
	*harness.Server
	t   *testing.T
	tls bool
	dir string // per-server scratch directory (client configs, downloads)
	// s3fsDone receives the exit of the s3fs process mounted for the test.
	s3fsDone chan error
}

// newServer starts dewar over HTTP or HTTPS for the test.
func newServer(t *testing.T, tls bool) *server {
	t.Helper()
	// Every server gets its own web UI port: the default one is shared.
	opts := harness.Options{TLS: tls, Args: []string{"--ui-addr", harness.FreeAddr(t)}}
	return &server{Server: harness.Start(t, opts), t: t, tls: tls, dir: t.TempDir()}
}

// forEachScheme runs fn once over HTTP and once over HTTPS, in parallel
// subtests, each against its own server.
func forEachScheme(t *testing.T, fn func(t *testing.T, s *server)) {
	for _, sc := range []struct {
		name string
		tls  bool
	}{{"http", false}, {"https", true}} {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			fn(t, newServer(t, sc.tls))
		})
	}
}

// path returns a path in the server's scratch directory.
func (s *server) path(name string) string { return filepath.Join(s.dir, name) }

// writeFile writes a file into the scratch directory and returns its path.
func (s *server) writeFile(name, content string, mode os.FileMode) string {
	s.t.Helper()
	p := s.path(name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		s.t.Fatal(err)
	}
	return p
}

// result is what a client process did.
type result struct {
	stdout, stderr string
	code           int // exit code; -1 when it did not exit normally
	err            error
}

func (r result) String() string {
	return fmt.Sprintf("exit %d (%v)\nstdout:\n%s\nstderr:\n%s", r.code, r.err,
		harness.LastLines(r.stdout, 40), harness.LastLines(r.stderr, 40))
}

// cmdTimeout bounds every client process so a hung client (a stuck mount,
// a retry loop) fails the test instead of the whole run.
const cmdTimeout = 3 * time.Minute

// clientEnv is the environment of client processes: the test's own
// without AWS_* (the machine sets AWS_CA_BUNDLE, and stray credentials
// must not leak in), plus extra.
func clientEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// run runs a client process and returns what it did, without failing.
func run(t *testing.T, env []string, stdin io.Reader, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
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
	if ctx.Err() != nil {
		r.err = fmt.Errorf("timed out after %v: %w", cmdTimeout, err)
		r.code = -1
	}
	return r
}

// mustRun runs a client process and fails the test unless it exits 0.
func mustRun(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	r := run(t, env, nil, name, args...)
	if r.err != nil || r.code != 0 {
		t.Fatalf("%s %s: %s", name, strings.Join(args, " "), r)
	}
	return r.stdout
}

// mustFail runs a client process that must fail and whose output must
// name wantCode.
func mustFail(t *testing.T, env []string, wantCode string, name string, args ...string) result {
	t.Helper()
	r := run(t, env, nil, name, args...)
	if r.code == 0 {
		t.Errorf("%s %s succeeded, want failure with %s", name, strings.Join(args, " "), wantCode)
	} else if r.code < 0 {
		t.Errorf("%s %s: %s", name, strings.Join(args, " "), r)
	} else if !strings.Contains(r.stdout+r.stderr, wantCode) {
		t.Errorf("%s %s: output does not name %s: %s", name, strings.Join(args, " "), wantCode, r)
	}
	return r
}

// awsEnv writes an AWS config and credentials file for the server (with
// profiles "default", "wrongsecret" and "unknownkey") and returns the
// environment that makes the aws CLI and boto3 use them and trust the
// server's certificate.
func (s *server) awsEnv() []string {
	s.t.Helper()
	cfg := s.writeFile("aws/config", "[default]\nregion = "+harness.Region+"\n"+
		"[profile wrongsecret]\nregion = "+harness.Region+"\n"+
		"[profile unknownkey]\nregion = "+harness.Region+"\n", 0o600)
	creds := s.writeFile("aws/credentials", fmt.Sprintf(
		"[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n"+
			"[wrongsecret]\naws_access_key_id = %s\naws_secret_access_key = not-the-secret\n"+
			"[unknownkey]\naws_access_key_id = NOSUCHACCESSKEY1\naws_secret_access_key = %s\n",
		harness.AccessKey, harness.SecretKey, harness.AccessKey, harness.SecretKey), 0o600)
	env := []string{"AWS_CONFIG_FILE=" + cfg, "AWS_SHARED_CREDENTIALS_FILE=" + creds,
		"AWS_DEFAULT_REGION=" + harness.Region, "AWS_EC2_METADATA_DISABLED=true", "PYTHONDONTWRITEBYTECODE=1"}
	if s.tls {
		env = append(env, "AWS_CA_BUNDLE="+s.CAFile)
	}
	return env
}

// aws runs the AWS CLI against the server and fails the test on error.
func (s *server) aws(args ...string) string {
	s.t.Helper()
	return mustRun(s.t, s.awsEnv(), "aws", append([]string{"--endpoint-url", s.URL}, args...)...)
}

// awsResult runs the AWS CLI and returns what it did.
func (s *server) awsResult(args ...string) result {
	s.t.Helper()
	return run(s.t, s.awsEnv(), nil, "aws", append([]string{"--endpoint-url", s.URL}, args...)...)
}

// python runs a script from testdata with boto3 configured for the server.
// Scripts take the endpoint and the CA file ("" for HTTP) as their first
// two arguments.
func (s *server) python(script string, args ...string) string {
	s.t.Helper()
	ca := ""
	if s.tls {
		ca = s.CAFile
	}
	full := append([]string{filepath.Join("testdata", script), s.URL, ca}, args...)
	return mustRun(s.t, s.awsEnv(), "python3", full...)
}

// seed creates bucket and the listing tree in it (with boto3, in
// parallel).
func (s *server) seed(bucket string) {
	s.t.Helper()
	keys, err := json.Marshal(map[string][]string{"keyed": slices.Concat(tree.keys, tree.outside), "empty": tree.dirKeys})
	if err != nil {
		s.t.Fatal(err)
	}
	s.python("seed.py", bucket, s.writeFile("seed-keys.json", string(keys), 0o644))
}

// with returns s bound to a subtest, so its helpers fail that subtest.
func (s *server) with(t *testing.T) *server {
	c := *s
	c.t = t
	return &c
}

// step runs one sequential subtest against s.
func step(t *testing.T, s *server, name string, fn func(t *testing.T, s *server)) {
	t.Helper()
	t.Run(name, func(t *testing.T) { fn(t, s.with(t)) })
}

// oddTree writes a local directory of small files whose names are the odd
// names, in two nested directories, and returns the relative paths.
func oddTree(t *testing.T, root string) []string {
	t.Helper()
	var rel []string
	for i, n := range oddNames {
		for _, dir := range []string{"top", "top/" + oddDirs[i%len(oddDirs)]} {
			p := dir + "/" + n + ".txt"
			full := filepath.Join(root, filepath.FromSlash(p))
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(full, []byte("content of "+p), 0o644); err != nil {
				t.Fatal(err)
			}
			rel = append(rel, p)
		}
	}
	return rel
}

// prefixed returns each of names with prefix prepended.
func prefixed(prefix string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = prefix + n
	}
	return out
}

// subtree returns the keys of tree.keys under prefix, relative to it.
func subtree(prefix string) []string {
	var out []string
	for _, k := range tree.keys {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			out = append(out, rest)
		}
	}
	return out
}
