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

// tracedSyscalls are counted in the server during a profiled phase: how
// many fsyncs, file creations and directory operations one request costs
// explains a phase bound by disk latency better than CPU samples do.
var tracedSyscalls = []string{"fsync", "fdatasync", "openat", "mkdirat", "linkat", "renameat2", "unlinkat", "write", "pwrite64", "read", "sendfile64"}

// recording is a running `perf record` and `perf stat`.
type recording struct {
	p     *profiler
	phase string
	data  string
	stat  string // perf stat's CSV output
	cmd   *exec.Cmd
	cmdSt *exec.Cmd
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
	stat := filepath.Join(p.dir, phase+".stat.csv")
	var events []string
	for _, sc := range tracedSyscalls {
		events = append(events, "syscalls:sys_enter_"+sc)
	}
	cmdSt := exec.Command("perf", "stat", "-x", ",", "-o", stat, "-e", strings.Join(events, ","), "-p", strconv.Itoa(p.server))
	cmdSt.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmdSt.Start(); err != nil {
		_ = cmd.Process.Signal(syscall.SIGINT)
		_ = cmd.Wait()
		return nil, fmt.Errorf("bench: perf stat: %w", err)
	}
	time.Sleep(300 * time.Millisecond) // let perf attach before the clock starts
	return &recording{p: p, phase: phase, data: data, stat: stat, cmd: cmd, cmdSt: cmdSt}, nil
}

// syscallsPerOp reads perf stat's CSV (count,unit,event,...) and divides
// each count by ops.
func syscallsPerOp(path string, ops int) map[string]float64 {
	b, err := os.ReadFile(path)
	if err != nil || ops == 0 {
		return nil
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ",")
		if len(f) < 3 || !strings.HasPrefix(f[2], "syscalls:sys_enter_") {
			continue
		}
		n, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		out[strings.TrimPrefix(f[2], "syscalls:sys_enter_")] = n / float64(ops)
	}
	return out
}

// stop ends the recording and writes <phase>.txt: the server's system
// calls per operation (ops is the phase's count), the flat profile of both
// processes by command and symbol, then the inclusive profile of the
// server alone (percentages of its own samples). It returns the path and
// the system calls per operation.
func (r *recording) stop(ops int) (string, map[string]float64, error) {
	if r == nil {
		return "", nil, nil
	}
	for _, c := range []*exec.Cmd{r.cmd, r.cmdSt} {
		_ = c.Process.Signal(syscall.SIGINT)
		_ = c.Wait()
	}
	perOp := syscallsPerOp(r.stat, ops)
	flat, err := exec.Command("perf", "report", "-i", r.data, "--stdio", "--no-children", "-g", "none",
		"--sort", "comm,dso,sym", "--percent-limit", "0.7").CombinedOutput()
	if err != nil {
		return "", nil, fmt.Errorf("bench: perf report: %w\n%s", err, flat)
	}
	incl, err := exec.Command("perf", "report", "-i", r.data, "--stdio", "--children", "-g", "none",
		"--pid", strconv.Itoa(r.p.server), "--percentage", "relative", "--sort", "sym", "--percent-limit", "1.5").CombinedOutput()
	if err != nil {
		return "", nil, fmt.Errorf("bench: perf report: %w\n%s", err, incl)
	}
	out := filepath.Join(r.p.dir, r.phase+".txt")
	var calls []string
	for _, sc := range tracedSyscalls {
		if n, ok := perOp[sc]; ok {
			calls = append(calls, fmt.Sprintf("%s %.2f", sc, n))
		}
	}
	text := fmt.Sprintf("== server system calls per operation (%d ops) ==\n%s\n\n", ops, strings.Join(calls, ", ")) +
		"== flat self time (dewar server + bench client) ==\n" + stripComments(flat) +
		"\n== inclusive, dewar server only (% of its samples) ==\n" + stripComments(incl)
	if err := os.WriteFile(out, []byte(text), 0o644); err != nil {
		return "", nil, err
	}
	return out, perOp, nil
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
