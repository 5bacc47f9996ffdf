package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Root credentials of the server the bench starts.
const (
	accessKey = "DEWARBENCHROOTKEY"
	secretKey = "dewar-bench-root-secret-key"
	region    = "us-east-1"
)

var errServerExited = errors.New("bench: dewar exited")

// server is the `dewar serve` the bench started; Stop ends only it.
type server struct {
	cmd     *exec.Cmd
	done    chan struct{}
	url     string // S3 listener
	ui      string // web UI and JSON API listener
	dataDir string
	logPath string
}

// moduleRoot walks up from the working directory to the go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("bench: no go.mod above the working directory")
		}
		dir = parent
	}
}

// ensureBinary builds bin/dewar when it is missing.
func ensureBinary(root, bin string) error {
	if _, err := os.Stat(bin); err == nil {
		return nil
	}
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/dewar")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("bench: go build: %w\n%s", err, out)
	}
	return nil
}

// freeAddr returns a 127.0.0.1 address whose port was free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startServer runs `bin serve` on free ports with dataDir and waits until
// the S3 listener answers. extra are more serve flags (--index, --store,
// --compress).
func startServer(ctx context.Context, bin, dataDir, logPath string, extra ...string) (*server, error) {
	s3Addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	uiAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	args := append([]string{"serve", "--data-dir", dataDir, "--s3-addr", s3Addr, "--region", region}, extra...)
	cmd := exec.Command(bin, args...)
	// The web UI's address goes by environment: a binary without a UI
	// listener ignores it instead of refusing an unknown flag.
	cmd.Env = append(os.Environ(), "DEWAR_ROOT_ACCESS_KEY="+accessKey, "DEWAR_ROOT_SECRET_KEY="+secretKey, "DEWAR_UI_ADDR="+uiAddr)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // a ^C to the bench is ours to forward
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("bench: start dewar: %w", err)
	}
	s := &server{cmd: cmd, done: make(chan struct{}), url: "http://" + s3Addr, ui: "http://" + uiAddr, dataDir: dataDir, logPath: logPath}
	go func() { _ = cmd.Wait(); logf.Close(); close(s.done) }()
	if err := s.waitReady(ctx); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

// waitReady polls until an unsigned request gets any HTTP answer.
func (s *server) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("%w before it was ready; log:\n%s", errServerExited, s.logTail())
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		resp, err := http.Get(s.url + "/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("bench: dewar did not answer on %s within 30s; log:\n%s", s.url, s.logTail())
}

// Pid returns the server's process id.
func (s *server) Pid() int { return s.cmd.Process.Pid }

// Alive reports an error when the server has exited.
func (s *server) Alive() error {
	select {
	case <-s.done:
		return fmt.Errorf("%w; log:\n%s", errServerExited, s.logTail())
	default:
		return nil
	}
}

// Stop sends SIGTERM and waits for a graceful exit, then SIGKILL after a
// minute. Only the process the bench started is signalled. It returns an
// error when the server did not exit cleanly; later calls return nil.
func (s *server) Stop() error {
	select {
	case <-s.done:
		return nil
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(time.Minute):
		_ = s.cmd.Process.Kill()
		<-s.done
		return fmt.Errorf("bench: dewar ignored SIGTERM for a minute; killed")
	}
	if st := s.cmd.ProcessState; st != nil && !st.Success() {
		return fmt.Errorf("bench: dewar exited with %v after SIGTERM; log:\n%s", st, s.logTail())
	}
	return nil
}

func (s *server) logTail() string {
	b, _ := os.ReadFile(s.logPath)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}

// clkTck is USER_HZ, the unit of /proc/<pid>/stat times (100 on every
// Linux architecture Go supports).
const clkTck = 100

// seconds returns the processes' user+system CPU seconds (all threads).
func (m cpuMeter) seconds() float64 {
	s := procCPU(m.pid)
	for _, p := range m.more {
		s += procCPU(p)
	}
	for _, p := range pgBackends(m.pgDB) {
		s += procCPU(p)
	}
	return s
}

// procCPU returns a process's user+system CPU seconds; 0 for pid 0.
func procCPU(pid int) float64 {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces; fields after ")" start at 3.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64) // field 14
	st, _ := strconv.ParseFloat(f[12], 64) // field 15
	return (ut + st) / clkTck
}

// memStatus is a process's resident memory, in KiB.
type memStatus struct{ RSS, HWM int64 }

// readMem reads VmRSS and VmHWM from /proc/<pid>/status.
func readMem(pid int) (memStatus, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memStatus{}, err
	}
	defer f.Close()
	var m memStatus
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var dst *int64
		switch k {
		case "VmRSS":
			dst = &m.RSS
		case "VmHWM":
			dst = &m.HWM
		default:
			continue
		}
		*dst, _ = strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
	}
	return m, sc.Err()
}

// resetHWM resets VmHWM to the current RSS (Linux clear_refs "5"), so a
// phase's peak is not an earlier phase's.
func resetHWM(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}
