package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// hashLimits is the machine's hash rate over one in-memory buffer, MB/s.
type hashLimits struct {
	Both   float64 `json:"sha256_md5_concurrent_mb_per_sec"` // size / max(t_sha256, t_md5), two goroutines
	SHA256 float64 `json:"sha256_alone_mb_per_sec"`
	MD5    float64 `json:"md5_alone_mb_per_sec"`
	// OtherCPU is the share of CPU time other processes used meanwhile.
	OtherCPU float64 `json:"other_processes_cpu_share"`
}

// measureHash hashes buf reps times each way and keeps the median rate.
func measureHash(buf []byte, reps int) hashLimits {
	timeOne := func(h hash.Hash) time.Duration {
		t0 := time.Now()
		h.Write(buf)
		h.Sum(nil)
		return time.Since(t0)
	}
	rate := func(d time.Duration) float64 { return float64(len(buf)) / d.Seconds() / 1e6 }
	var both, s, m []float64
	win := startWindow(cpuMeter{})
	for range reps {
		var ts, tm time.Duration
		var wg sync.WaitGroup
		wg.Go(func() { ts = timeOne(sha256.New()) })
		wg.Go(func() { tm = timeOne(md5.New()) })
		wg.Wait()
		both = append(both, rate(max(ts, tm)))
		s = append(s, rate(timeOne(sha256.New())))
		m = append(m, rate(timeOne(md5.New())))
	}
	_, _, other := win.end()
	return hashLimits{Both: median(both), SHA256: median(s), MD5: median(m), OtherCPU: other}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// fsyncBench writes durable small files the way a content store must:
// create a temp file, write, fsync, close, rename into a shard directory,
// fsync that directory.
type fsyncBench struct {
	dir  string
	pool *pool
	size int64
}

// newFsyncBench prepares dir/tmp and 256 shard directories (made before
// the clock starts: the steady-state cost of a blob write, not the cost of
// growing a fresh store's directory tree).
func newFsyncBench(dir string, p *pool, size int64) (*fsyncBench, error) {
	for i := range 256 {
		if err := os.MkdirAll(filepath.Join(dir, "shard", fmt.Sprintf("%02x", i)), 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
		return nil, err
	}
	return &fsyncBench{dir: dir, pool: p, size: size}, nil
}

// op writes file number i durably.
func (b *fsyncBench) op(_ context.Context, _, i int) (int64, error) {
	body := b.pool.body(b.size)
	f, err := os.CreateTemp(filepath.Join(b.dir, "tmp"), "f-")
	if err != nil {
		return 0, err
	}
	// The stamp, then the rest of the window, straight from the pool.
	_, err = f.Write(body.stamp[:min(stampLen, b.size)])
	if err == nil && b.size > stampLen {
		_, err = f.Write(body.src[body.shift+stampLen : body.shift+b.size])
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return 0, err
	}
	shard := filepath.Join(b.dir, "shard", fmt.Sprintf("%02x", i%256))
	if err := os.Rename(f.Name(), filepath.Join(shard, fmt.Sprintf("%016x", i))); err != nil {
		return 0, err
	}
	d, err := os.Open(shard)
	if err != nil {
		return 0, err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return b.size, err
}

// loopbackChildEnv makes the bench binary run as the loopback server.
const loopbackChildEnv = "DEWAR_BENCH_LOOPBACK_SERVER"

// loopback is a plain Go HTTP server on 127.0.0.1 that serves an in-memory
// body and discards uploads: the most a Go client and server pair can move
// over loopback on this machine, the ceiling for an S3 GET or PUT. The
// server is this binary re-executed as a separate process, so the limit
// has the S3 measurements' shape (two processes sharing the cores), not
// one Go scheduler juggling both ends.
type loopback struct {
	cmd    *exec.Cmd
	stdin  io.Closer
	url    string
	client *http.Client
	body   []byte // the client's upload body
}

var errShortBody = errors.New("bench: short body")

// startLoopback starts the loopback server process.
func startLoopback(body []byte) (*loopback, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), loopbackChildEnv+"="+strconv.Itoa(len(body)))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe() // closed by Close (or our exit): the child exits
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: loopback server: %w", err)
	}
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("bench: loopback server: %w", err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	tr.DisableCompression = true
	return &loopback{cmd: cmd, stdin: stdin, url: "http://" + strings.TrimSpace(addr), client: &http.Client{Transport: tr}, body: body}, nil
}

// Close stops the loopback server process.
func (l *loopback) Close() {
	l.client.CloseIdleConnections()
	_ = l.stdin.Close()
	done := make(chan struct{})
	go func() { _ = l.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = l.cmd.Process.Kill()
		<-done
	}
}

// runLoopbackServer is the loopback server process: it serves GET ?n=N
// (the first N bytes of a random in-memory body) and drains PUTs, prints
// its address, and exits when its stdin closes.
func runLoopbackServer(size int) error {
	body := newPool(size).buf
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	bufs := sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			n, _ := strconv.Atoi(r.URL.Query().Get("n"))
			n = min(max(n, 0), len(body))
			w.Header().Set("Content-Length", strconv.Itoa(n))
			w.Header().Set("Content-Type", "application/octet-stream")
			_, _ = w.Write(body[:n])
		default:
			bp := bufs.Get().(*[]byte)
			_, _ = drain(r.Body, *bp)
			bufs.Put(bp)
			w.WriteHeader(http.StatusOK)
		}
	})}
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		_ = srv.Close()
	}()
	fmt.Println(ln.Addr().String())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// get downloads n bytes and discards them through buf.
func (l *loopback) get(ctx context.Context, n int64, buf []byte) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.url+"/?n="+strconv.FormatInt(n, 10), nil)
	if err != nil {
		return 0, err
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	got, err := drain(resp.Body, buf)
	if err == nil && got != n {
		err = fmt.Errorf("%w: %d of %d bytes", errShortBody, got, n)
	}
	return got, err
}

// put uploads the first n bytes of the body.
func (l *loopback) put(ctx context.Context, n int64) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, l.url+"/", bytes.NewReader(l.body[:n]))
	if err != nil {
		return 0, err
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return n, nil
}
