package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// loadSpec says how long a measurement runs: at least dur and at least
// minOps operations (large bodies), but never past maxDur.
type loadSpec struct {
	conc   int
	dur    time.Duration
	minOps int
	maxDur time.Duration
	warmup int // operations per worker before the clock starts
}

// opFunc performs operation i (unique across workers) as worker w and
// returns the payload bytes it moved.
type opFunc func(ctx context.Context, w, i int) (int64, error)

// loadResult is one measured phase.
type loadResult struct {
	Name        string  `json:"name"`
	Conc        int     `json:"concurrency"`
	Ops         int     `json:"ops"`
	Bytes       int64   `json:"bytes"`
	Seconds     float64 `json:"seconds"`
	OpsPerSec   float64 `json:"ops_per_sec"`
	MBPerSec    float64 `json:"mb_per_sec"` // 10^6 bytes per second
	P50ms       float64 `json:"p50_ms"`
	P99ms       float64 `json:"p99_ms"`
	ServerCPU   float64 `json:"server_cpu_seconds,omitempty"` // user+system of the dewar process
	ClientCPU   float64 `json:"client_cpu_seconds"`           // user+system of this process
	ServerCPUop float64 `json:"server_cpu_ms_per_op,omitempty"`
	ClientCPUop float64 `json:"client_cpu_ms_per_op"`
	// OtherCPU is the share of the machine's CPU time that other
	// processes (not this client, not the measured server) used during
	// the phase: the noise on a shared machine.
	OtherCPU float64 `json:"other_processes_cpu_share"`
	// SyscallsPerOp counts the server's system calls per operation (only
	// in phases profiled with -perf).
	SyscallsPerOp map[string]float64 `json:"server_syscalls_per_op,omitempty"`
}

// cpuMeter reads the CPU time of a process (and of more, for a server
// made of two: a dewar and its upstream); the zero value measures nothing.
type cpuMeter struct {
	pid  int
	more []int
	// pgDB, when set, adds the PostgreSQL backends serving that database.
	pgDB string
}

// runLoad runs op with spec.conc workers and measures throughput and
// latency. server, when non-zero, is the process whose CPU time is charged
// to the phase. The first error stops the phase and is returned.
func runLoad(ctx context.Context, name string, spec loadSpec, server cpuMeter, op opFunc) (loadResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var firstErr error
	var errOnce sync.Once
	fail := func(err error) {
		errOnce.Do(func() { firstErr = fmt.Errorf("%s: %w", name, err) })
		cancel()
	}

	// Warm up: connections, caches, lazily made directories.
	var wg sync.WaitGroup
	for w := range spec.conc {
		wg.Go(func() {
			for range spec.warmup {
				if _, err := op(ctx, w, int(next.Add(1)-1)); err != nil {
					fail(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return loadResult{}, firstErr
	}

	lats := make([][]time.Duration, spec.conc)
	var ops atomic.Int64
	var bytes atomic.Int64
	maxDur := spec.maxDur
	if maxDur < spec.dur {
		maxDur = 4 * spec.dur
	}
	win := startWindow(server)
	start := time.Now()
	for w := range spec.conc {
		wg.Go(func() {
			for {
				el := time.Since(start)
				if el >= maxDur || (el >= spec.dur && ops.Load() >= int64(spec.minOps)) || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				n, err := op(ctx, w, int(next.Add(1)-1))
				if err != nil {
					fail(err)
					return
				}
				lats[w] = append(lats[w], time.Since(t0))
				ops.Add(1)
				bytes.Add(n)
			}
		})
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	if firstErr != nil {
		return loadResult{}, firstErr
	}
	all := slices.Concat(lats...)
	slices.Sort(all)
	r := loadResult{
		Name: name, Conc: spec.conc, Ops: len(all), Bytes: bytes.Load(), Seconds: el,
		OpsPerSec: float64(len(all)) / el, MBPerSec: float64(bytes.Load()) / el / 1e6,
		P50ms: ms(percentile(all, 0.50)), P99ms: ms(percentile(all, 0.99)),
	}
	r.ServerCPU, r.ClientCPU, r.OtherCPU = win.end()
	if server.pid != 0 {
		r.ServerCPUop = 1000 * r.ServerCPU / float64(r.Ops)
	}
	r.ClientCPUop = 1000 * r.ClientCPU / float64(r.Ops)
	return r, nil
}

// percentile returns the q-quantile of sorted (nearest rank).
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// selfCPU returns this process's user+system CPU seconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return tvSeconds(ru.Utime) + tvSeconds(ru.Stime)
}

func tvSeconds(tv syscall.Timeval) float64 {
	return float64(tv.Sec) + float64(tv.Usec)/1e6
}

// cpuWindow splits the machine's CPU time over an interval between this
// process, the measured server and everyone else.
type cpuWindow struct {
	server          cpuMeter
	t0              time.Time
	busy, srv, self float64
}

func startWindow(server cpuMeter) cpuWindow {
	return cpuWindow{server: server, t0: time.Now(), busy: machineBusy(), srv: server.seconds(), self: selfCPU()}
}

// end returns the server's and this process's CPU seconds since the
// start, and the share of all CPUs' time other processes used.
func (w cpuWindow) end() (server, self, other float64) {
	server, self = w.server.seconds()-w.srv, selfCPU()-w.self
	capacity := time.Since(w.t0).Seconds() * float64(runtime.NumCPU())
	if capacity > 0 {
		other = max(0, (machineBusy()-w.busy-server-self)/capacity)
	}
	return server, self, other
}

// endWith is end for a window whose measured work ran in child processes
// (their CPU seconds, not this process's): it returns the share of all
// CPUs' time other processes used.
func (w cpuWindow) endWith(children float64) (other float64) {
	server, self := w.server.seconds()-w.srv, selfCPU()-w.self
	capacity := time.Since(w.t0).Seconds() * float64(runtime.NumCPU())
	if capacity > 0 {
		other = max(0, (machineBusy()-w.busy-server-self-children)/capacity)
	}
	return other
}

// machineBusy returns the non-idle CPU seconds of all CPUs since boot,
// from /proc/stat (user, nice, system, irq, softirq, steal).
func machineBusy() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var busy float64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		v, _ := strconv.ParseFloat(f[i], 64)
		busy += v
	}
	return busy / clkTck
}
