// Package harness starts real dewar processes for end-to-end tests: it
// builds the binary once, runs `dewar serve` on a free 127.0.0.1 port with
// a temporary data directory, waits until it answers, and stops only the
// processes it started. It also decides whether a missing client tool
// skips a test (locally) or fails it (CI sets DEWAR_TEST_REQUIRE=all).
package harness

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Root credentials every harness server starts with.
const (
	AccessKey = "DEWARTESTROOTKEY"
	SecretKey = "dewar-test-root-secret-key"
	Region    = "us-east-1"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary returns the path of a dewar binary built from this checkout (once
// per test process), or $DEWAR_BIN when set.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("DEWAR_BIN"); p != "" {
		return p
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "dewar-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "dewar")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/dewar")
		cmd.Dir = moduleRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// moduleRoot is the directory holding go.mod (tests run in their package dir).
func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// ModuleRoot returns the repository root.
func ModuleRoot() string { return moduleRoot() }

// Options configure a server.
type Options struct {
	// DataDir is reused when set (restarts); a fresh temp dir otherwise.
	DataDir string
	// TLS serves HTTPS with a certificate made for 127.0.0.1 and localhost.
	TLS bool
	// Args are extra `dewar serve` flags.
	Args []string
	// Env are extra environment variables (KEY=VALUE).
	Env []string
}

// Server is a running `dewar serve`.
type Server struct {
	t       testing.TB
	opts    Options
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}

	Addr string // host:port
	URL  string // http(s)://host:port
	// UIURL is the web UI and JSON API listener (a free port unless
	// Options.Args name --ui-addr).
	UIURL   string
	DataDir string
	// CAFile is the PEM certificate clients must trust (TLS only).
	CAFile   string
	certFile string
	keyFile  string
}

// Start runs dewar serve and waits until it answers. The server is stopped
// (SIGTERM) when the test ends; its log is printed if the test failed.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{t: t, opts: opts, DataDir: opts.DataDir}
	if s.DataDir == "" {
		s.DataDir = filepath.Join(t.TempDir(), "data")
	}
	if opts.TLS {
		s.certFile, s.keyFile, s.CAFile = WriteCert(t, t.TempDir())
	}
	s.start()
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			s.dumpLog()
		}
	})
	return s
}

func (s *Server) start() {
	t := s.t
	t.Helper()
	s.Addr = FreeAddr(t)
	scheme := "http"
	args := []string{"serve", "--data-dir", s.DataDir, "--s3-addr", s.Addr, "--region", Region, "--log-level", "debug"}
	if s.opts.TLS {
		scheme = "https"
		args = append(args, "--tls-cert", s.certFile, "--tls-key", s.keyFile)
	}
	uiAddr := ""
	for i, a := range s.opts.Args {
		if a == "--ui-addr" && i+1 < len(s.opts.Args) {
			uiAddr = s.opts.Args[i+1]
		} else if v, ok := strings.CutPrefix(a, "--ui-addr="); ok {
			uiAddr = v
		}
	}
	if uiAddr == "" {
		uiAddr = FreeAddr(t)
		args = append(args, "--ui-addr", uiAddr)
	}
	args = append(args, s.opts.Args...)
	s.URL = scheme + "://" + s.Addr
	s.UIURL = scheme + "://" + uiAddr
	logf, err := os.CreateTemp(t.TempDir(), "dewar-log-")
	if err != nil {
		t.Fatal(err)
	}
	s.logPath = logf.Name()
	cmd := exec.Command(Binary(t), args...)
	cmd.Env = append(os.Environ(), "DEWAR_ROOT_ACCESS_KEY="+AccessKey, "DEWAR_ROOT_SECRET_KEY="+SecretKey)
	cmd.Env = append(cmd.Env, s.opts.Env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.cmd = cmd
	s.done = make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(s.done) }()
	s.waitReady()
}

// waitReady polls until the server answers HTTP (an unsigned request gets
// 403 AccessDenied, which proves the S3 handler is up).
func (s *Server) waitReady() {
	t := s.t
	t.Helper()
	client := s.HTTPClient()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			s.dumpLog()
			t.Fatalf("dewar exited before it was ready")
		default:
		}
		resp, err := client.Get(s.URL + "/")
		if err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.dumpLog()
	t.Fatalf("dewar did not answer on %s within 30s", s.URL)
}

// HTTPClient returns a client that trusts the server's certificate.
func (s *Server) HTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if s.CAFile != "" {
		pool := x509.NewCertPool()
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			s.t.Fatal(err)
		}
		pool.AppendCertsFromPEM(pem)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	return &http.Client{Transport: tr, Timeout: 5 * time.Minute}
}

// Stop sends SIGTERM and waits for a graceful exit (SIGKILL after 30 s).
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
}

// Kill ends the server with SIGKILL, as a crash would.
func (s *Server) Kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.done
}

// Restart starts the server again on the same data directory (after Stop
// or Kill), on a new port.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start()
}

// Pid returns the process id of the running server (after Restart, of
// the new process), e.g. to read its memory use from /proc.
func (s *Server) Pid() int {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Exited reports whether the process has ended.
func (s *Server) Exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// Log returns what the server has written so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.logPath)
	return string(b)
}

func (s *Server) dumpLog() {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) > 200 {
		lines = lines[len(lines)-200:]
	}
	s.t.Logf("dewar log (last %d lines):\n%s", len(lines), strings.Join(lines, "\n"))
}

// FreeAddr returns a 127.0.0.1 address with a port that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// WriteCert writes a self-signed certificate for 127.0.0.1 and localhost
// into dir and returns the cert, key and CA (= cert) paths.
func WriteCert(t testing.TB, dir string) (certFile, keyFile, caFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "dewar test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, certFile
}

// Require checks that every tool is on PATH (or, for "boto3", importable
// by python3). A missing tool skips the test locally and fails it when
// DEWAR_TEST_REQUIRE is "all" or lists the tool, so CI never passes by
// skipping.
func Require(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		var err error
		switch tool {
		case "boto3":
			err = exec.Command("python3", "-c", "import boto3").Run()
		case "fuse":
			_, err = os.Stat("/dev/fuse")
		default:
			_, err = exec.LookPath(tool)
		}
		if err == nil {
			continue
		}
		if Required(tool) {
			t.Fatalf("%s is required (DEWAR_TEST_REQUIRE=%s) but unavailable: %v", tool, os.Getenv("DEWAR_TEST_REQUIRE"), err)
		}
		t.Skipf("%s unavailable (%v); set DEWAR_TEST_REQUIRE=all to make this a failure", tool, err)
	}
}

// Required reports whether DEWAR_TEST_REQUIRE makes tool mandatory.
func Required(tool string) bool {
	for _, r := range strings.Split(os.Getenv("DEWAR_TEST_REQUIRE"), ",") {
		r = strings.TrimSpace(r)
		if r == "all" || r == tool {
			return true
		}
	}
	return false
}

// Run runs a command with env added to the test's environment, failing
// the test with its output when it fails. It returns stdout.
func Run(t testing.TB, env []string, name string, args ...string) string {
	t.Helper()
	out, errOut, err := RunErr(env, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// RunErr is Run that returns the error instead of failing.
func RunErr(env []string, name string, args ...string) (stdout, stderr string, err error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err = cmd.Run()
	return so.String(), se.String(), err
}

// LastLines returns the last n lines of s (for messages).
func LastLines(s string, n int) string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
