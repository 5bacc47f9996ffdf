package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// profiler records CPU profiles of the server and of this client with
// Linux perf during chosen phases (-perf DIR), so a missed target can be
// explained: both processes share the machine's cores, and the split
// between them, the kernel and each hot function is what the report
// needs. Only these two processes are recorded: on a shared machine other
// processes (other dewar servers among them) would blur the picture.
type profiler struct {
	dir    string
	server int // pid of the measured dewar
}

// recording is a running `perf record`.
type recording struct {
	p     *profiler
	phase string
	data  string
	cmd   *exec.Cmd
}

// start begins recording; a nil profiler records nothing.
func (p *profiler) start(phase string) (*recording, error) {
	if p == nil {
		return nil, nil
	}
	data := filepath.Join(p.dir, phase+".data")
	pids := strconv.Itoa(p.server) + "," + strconv.Itoa(os.Getpid())
	cmd := exec.Command("perf", "record", "-q", "-e", "cpu-clock", "-F", "999", "-g", "-p", pids, "-o", data)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: perf record: %w", err)
	}
	time.Sleep(300 * time.Millisecond) // let perf attach before the clock starts
	return &recording{p: p, phase: phase, data: data, cmd: cmd}, nil
}

// stop ends the recording and writes <phase>.txt: the flat profile of
// both processes by command and symbol, then the inclusive profile of the
// server alone (percentages of its own samples). It returns the path.
func (r *recording) stop() (string, error) {
	if r == nil {
		return "", nil
	}
	_ = r.cmd.Process.Signal(syscall.SIGINT)
	_ = r.cmd.Wait()
	flat, err := exec.Command("perf", "report", "-i", r.data, "--stdio", "--no-children", "-g", "none",
		"--sort", "comm,dso,sym", "--percent-limit", "0.7").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("bench: perf report: %w\n%s", err, flat)
	}
	incl, err := exec.Command("perf", "report", "-i", r.data, "--stdio", "--children", "-g", "none",
		"--pid", strconv.Itoa(r.p.server), "--percentage", "relative", "--sort", "sym", "--percent-limit", "1.5").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("bench: perf report: %w\n%s", err, incl)
	}
	out := filepath.Join(r.p.dir, r.phase+".txt")
	text := "== flat self time (dewar server + bench client) ==\n" + stripComments(flat) +
		"\n== inclusive, dewar server only (% of its samples) ==\n" + stripComments(incl)
	if err := os.WriteFile(out, []byte(text), 0o644); err != nil {
		return "", err
	}
	return out, nil
}

// stripComments drops perf's '#' header lines and blank lines.
func stripComments(b []byte) string {
	var keep []string
	for _, l := range strings.Split(string(b), "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n") + "\n"
}
