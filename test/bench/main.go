// Command bench measures a running dewar against this machine's own limits,
// measured in the same run, and prints each figure with its ratio to its
// limit and whether the target is met. It is `make bench`; targets are
// reported, never asserted: the exit status is non-zero only on errors.
//
// It starts its own `bin/dewar serve` (building it when missing) on a free
// 127.0.0.1 port with a fresh data directory under <repo>/.bench (ignored
// by git and, unlike the default temp dir on many machines, never a tmpfs:
// the fsync limit must be measured on the file system the server writes
// to, so both live side by side there), drives it with aws-sdk-go-v2, and
// stops it with SIGTERM at the end.
//
// Limits:
//   - hash: sha256 and md5 on two goroutines over one 64 MiB buffer,
//     size / max(t_sha256, t_md5) (also each alone);
//   - fsync: durable 4 KiB file creations per second (create, write, fsync,
//     close, rename into a shard directory, fsync it) at concurrency 1, 16;
//   - loopback: a Go HTTP server on 127.0.0.1 serving an in-memory body to
//     a Go client that discards it, and the reverse, at the S3 shapes.
//
// Flags: -quick (short phases, 1 GiB memory test), -json FILE, -dir DIR,
// -perf DIR (record perf profiles of the target phases), -keep.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

const (
	kiB = 1 << 10
	miB = 1 << 20
	giB = 1 << 30
)

type config struct {
	quick    bool
	jsonPath string
	dir      string
	bin      string
	perfDir  string
	keep     bool
	dur      time.Duration
	bigSize  int64
	memory   bool
}

func main() {
	if n, err := strconv.Atoi(os.Getenv(loopbackChildEnv)); err == nil {
		if err := runLoopbackServer(n); err != nil {
			fmt.Fprintln(os.Stderr, "bench: loopback server:", err)
			os.Exit(1)
		}
		return
	}
	var cfg config
	flag.BoolVar(&cfg.quick, "quick", false, "short phases and a 1 GiB memory test (about a minute)")
	flag.StringVar(&cfg.jsonPath, "json", "", "also write the results as JSON to this file")
	flag.StringVar(&cfg.dir, "dir", "", "parent of the run's temp data directory (default <repo>/.bench)")
	flag.StringVar(&cfg.bin, "bin", "", "dewar binary (default <repo>/bin/dewar, built when missing)")
	flag.StringVar(&cfg.perfDir, "perf", "", "record system-wide perf profiles of the target phases into this directory")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the run's data directory and server log")
	flag.DurationVar(&cfg.dur, "duration", 0, "minimum length of each measured phase (default 6s, 2s with -quick)")
	flag.Int64Var(&cfg.bigSize, "big", 0, "size of the memory test's uploads in bytes (default 5 GiB, 1 GiB with -quick)")
	flag.BoolVar(&cfg.memory, "memory", true, "run the large-upload memory test")
	flag.Parse()
	if cfg.dur == 0 {
		cfg.dur = 6 * time.Second
		if cfg.quick {
			cfg.dur = 2 * time.Second
		}
	}
	if cfg.bigSize == 0 {
		cfg.bigSize = 5 * giB
		if cfg.quick {
			cfg.bigSize = 1 * giB
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// report is everything a run measured; it is also the JSON output.
type report struct {
	Started  time.Time             `json:"started"`
	Quick    bool                  `json:"quick"`
	Machine  machineInfo           `json:"machine"`
	Hash     hashLimits            `json:"hash_limit"`
	Fsync    []loadResult          `json:"fsync_limit"`
	Loopback []loadResult          `json:"loopback_limit"`
	S3       []loadResult          `json:"s3"`
	Memory   []memResult           `json:"memory"`
	Wire     map[string][]string   `json:"wire"` // phase -> how the SDK framed its bodies
	Rows     []row                 `json:"rows"`
	Profiles map[string]string     `json:"profiles,omitempty"`
	Notes    []string              `json:"notes,omitempty"`
	byName   map[string]loadResult `json:"-"`
}

type machineInfo struct {
	CPUs        int     `json:"cpus"`
	GoVersion   string  `json:"go_version"`
	DataDir     string  `json:"data_dir"`
	FSType      string  `json:"fs_type"`
	SameDevice  bool    `json:"same_device_as_repo"`
	TempSameDev bool    `json:"default_temp_dir_same_device"`
	FreeGiB     float64 `json:"free_gib"`
}

func run(ctx context.Context, cfg config) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	if cfg.bin == "" {
		cfg.bin = filepath.Join(root, "bin", "dewar")
	}
	if err := ensureBinary(root, cfg.bin); err != nil {
		return err
	}
	if cfg.dir == "" {
		cfg.dir = filepath.Join(root, ".bench")
	}
	if err := os.MkdirAll(cfg.dir, 0o755); err != nil {
		return err
	}
	runDir, err := os.MkdirTemp(cfg.dir, "run-")
	if err != nil {
		return err
	}
	if !cfg.keep {
		defer os.RemoveAll(runDir)
	}
	rep := &report{Started: time.Now().UTC(), Quick: cfg.quick, Wire: map[string][]string{}, byName: map[string]loadResult{}}
	rep.Machine, err = describeMachine(root, runDir)
	if err != nil {
		return err
	}
	var prof *profiler
	if cfg.perfDir != "" {
		if err := os.MkdirAll(cfg.perfDir, 0o755); err != nil {
			return err
		}
		prof = &profiler{dir: cfg.perfDir}
		rep.Profiles = map[string]string{}
		rep.Notes = append(rep.Notes, "perf was recording during the profiled phases; their figures carry its overhead")
	}
	fmt.Printf("dewar bench: %d CPUs, %s, data under %s (%s, same device as the repo: %v, %.0f GiB free)\n",
		rep.Machine.CPUs, rep.Machine.GoVersion, runDir, rep.Machine.FSType, rep.Machine.SameDevice, rep.Machine.FreeGiB)

	p := newPool(128 * miB)
	if err := measureLimits(ctx, cfg, rep, p, filepath.Join(runDir, "fsync")); err != nil {
		return err
	}

	// Run a private copy: a rebuild of bin/dewar during the run (make
	// build elsewhere in the tree) must not change the binary under test or
	// the symbols perf resolves against it.
	bin := filepath.Join(runDir, "dewar")
	if err := copyFile(cfg.bin, bin); err != nil {
		return err
	}
	srv, err := startServer(ctx, bin, filepath.Join(runDir, "data"), filepath.Join(runDir, "dewar.log"))
	if err != nil {
		return err
	}
	defer srv.Stop()
	fmt.Printf("server: pid %d on %s\n", srv.Pid(), srv.url)
	if prof != nil {
		prof.server = srv.Pid()
	}
	rec := &wireRecorder{}
	b := &s3Bench{c: newS3(srv.url, rec), bucket: "bench", pool: p, srv: srv, keys: map[string][]string{}}
	if _, err := b.c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b.bucket)}); err != nil {
		return fmt.Errorf("create bucket: %w", err)
	}
	if err := measureS3(ctx, cfg, rep, b, prof); err != nil {
		return errors.Join(err, srv.Alive())
	}
	if cfg.memory {
		if err := measureMemory(ctx, cfg, rep, b, runDir); err != nil {
			return errors.Join(err, srv.Alive())
		}
	}
	srv.Stop()
	rep.Wire = rec.All()
	rep.Rows = buildRows(rep)
	rep.Notes = append(rep.Notes, noiseNotes(rep)...)
	printReport(os.Stdout, rep)
	if cfg.jsonPath != "" {
		if err := writeJSON(cfg.jsonPath, rep); err != nil {
			return err
		}
		fmt.Printf("\nJSON written to %s\n", cfg.jsonPath)
	}
	return nil
}

// describeMachine reports the CPU count and where the data directory sits.
func describeMachine(root, dir string) (machineInfo, error) {
	m := machineInfo{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), DataDir: dir}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return m, err
	}
	m.FSType = fsName(st.Type)
	m.FreeGiB = float64(st.Bavail) * float64(st.Bsize) / giB
	dev := func(p string) uint64 {
		var s syscall.Stat_t
		if syscall.Stat(p, &s) != nil {
			return ^uint64(0)
		}
		return s.Dev
	}
	m.SameDevice = dev(dir) == dev(root)
	m.TempSameDev = dev(os.TempDir()) == dev(root)
	return m, nil
}

func fsName(magic int64) string {
	switch magic {
	case 0xEF53:
		return "ext4"
	case 0x58465342:
		return "xfs"
	case 0x9123683E:
		return "btrfs"
	case 0x01021994:
		return "tmpfs"
	case 0x794c7630:
		return "overlayfs"
	case 0x2fc12fc1:
		return "zfs"
	}
	return fmt.Sprintf("fs magic %#x", magic)
}

// copyFile copies an executable.
func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o755)
}

func freeBytes(dir string) int64 {
	var st syscall.Statfs_t
	if syscall.Statfs(dir, &st) != nil {
		return 0
	}
	return int64(st.Bavail) * st.Bsize
}

// measureLimits measures the machine: hash, fsync'd creates, loopback.
func measureLimits(ctx context.Context, cfg config, rep *report, p *pool, fsyncDir string) error {
	reps := 9
	if cfg.quick {
		reps = 5
	}
	fmt.Print("limits: hash")
	rep.Hash = measureHash(p.buf[:64*miB], reps)

	fmt.Print(", fsync")
	for _, fs := range []struct {
		size  int64
		label string
		concs []int
	}{
		{4 * kiB, "4KiB", []int{1, 16}},
		// Not a target's limit: what flushing a large body costs the
		// 64 MiB PUT before it may answer.
		{64 * miB, "64MiB", []int{1}},
	} {
		dir := filepath.Join(fsyncDir, fs.label)
		fb, err := newFsyncBench(dir, p, fs.size)
		if err != nil {
			return err
		}
		for _, c := range fs.concs {
			syscall.Sync()
			spec := loadSpec{conc: c, dur: cfg.dur, warmup: 2, minOps: 8}
			r, err := runLoad(ctx, fmt.Sprintf("fsync %s c=%d", fs.label, c), spec, cpuMeter{}, fb.op)
			if err != nil {
				return err
			}
			rep.Fsync = append(rep.Fsync, r)
			rep.byName[r.Name] = r
		}
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
	}

	fmt.Print(", loopback")
	lb, err := startLoopback(p.buf[:64*miB])
	if err != nil {
		return err
	}
	defer lb.Close()
	lbCPU := cpuMeter{lb.cmd.Process.Pid}
	for _, sh := range shapes {
		bufs := make([][]byte, sh.conc)
		for i := range bufs {
			bufs[i] = make([]byte, 256<<10)
		}
		// Large bodies get the full phase length: TCP's buffers take a
		// while to grow, and short runs of few requests scatter widely.
		spec := loadSpec{conc: sh.conc, dur: cfg.dur / 2, minOps: sh.minOps, warmup: 1}
		if sh.size >= 64*miB {
			spec.dur, spec.warmup = cfg.dur, 2
		}
		get, err := runLoad(ctx, "loopback GET "+sh.label, spec, lbCPU, func(ctx context.Context, w, _ int) (int64, error) {
			return lb.get(ctx, sh.size, bufs[w])
		})
		if err != nil {
			return err
		}
		put, err := runLoad(ctx, "loopback PUT "+sh.label, spec, lbCPU, func(ctx context.Context, _, _ int) (int64, error) {
			return lb.put(ctx, sh.size)
		})
		if err != nil {
			return err
		}
		rep.Loopback = append(rep.Loopback, get, put)
		rep.byName[get.Name], rep.byName[put.Name] = get, put
	}
	fmt.Println(": done")
	return nil
}

// shape is one S3 load: body size and concurrency.
type shape struct {
	label  string
	size   int64
	conc   int
	minOps int
}

var shapes = []shape{
	{"4KiB c=1", 4 * kiB, 1, 50},
	{"4KiB c=16", 4 * kiB, 16, 200},
	{"1MiB c=8", 1 * miB, 8, 40},
	{"64MiB c=1", 64 * miB, 1, 8},
}

// unsignedPut is the extra phase that separates the server's cost from the
// client's: the SDK's default over plain HTTP hashes every body with
// sha256 before sending it (a signed payload), which at concurrency 1 is
// time neither the server nor the network can overlap.
const unsignedPut = "PUT 64MiB c=1 UNSIGNED-PAYLOAD"

// profiled names the phases -perf records.
var profiled = map[string]bool{"PUT 64MiB c=1": true, "PUT 4KiB c=16": true, "GET 64MiB c=1": true, unsignedPut: true}

// measureS3 runs PUT then GET for every shape, small bodies first so the
// fsync-bound phases do not share the disk with large writes' writeback,
// and last the 64 MiB PUT with an unsigned payload.
func measureS3(ctx context.Context, cfg config, rep *report, b *s3Bench, prof *profiler) error {
	type phase struct {
		name string
		spec loadSpec
		op   func() (opFunc, error)
	}
	var phases []phase
	for _, sh := range shapes {
		putName, getName := "PUT "+sh.label, "GET "+sh.label
		spec := loadSpec{conc: sh.conc, dur: cfg.dur, minOps: sh.minOps, warmup: 1}
		phases = append(phases,
			phase{putName, spec, func() (opFunc, error) { return b.putOp(putName, sh.size), nil }},
			// The GET reads what the PUT phase wrote, so it is built after it.
			phase{getName, spec, func() (opFunc, error) { return b.getOp(getName, putName, sh.size, sh.conc) }},
		)
	}
	phases = append(phases, phase{unsignedPut, loadSpec{conc: 1, dur: cfg.dur, minOps: 8, warmup: 1}, func() (opFunc, error) {
		return b.putOp(unsignedPut, 64*miB, s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)), nil
	}})
	for _, ph := range phases {
		op, err := ph.op()
		if err != nil {
			return err
		}
		syscall.Sync() // earlier phases' writeback must not bleed into this one
		var recd *recording
		if profiled[ph.name] {
			if recd, err = prof.start(profileName(ph.name)); err != nil {
				return err
			}
		}
		r, err := runLoad(ctx, ph.name, ph.spec, cpuMeter{b.srv.Pid()}, op)
		if path, perr := recd.stop(); perr != nil {
			return errors.Join(err, perr)
		} else if path != "" {
			rep.Profiles[ph.name] = path
		}
		if err != nil {
			return err
		}
		rep.S3 = append(rep.S3, r)
		rep.byName[r.Name] = r
		fmt.Printf("  %-30s %9.1f ops/s %9.1f MB/s  p50 %8.2f ms  p99 %8.2f ms\n", r.Name, r.OpsPerSec, r.MBPerSec, r.P50ms, r.P99ms)
	}
	return nil
}

func profileName(phase string) string {
	out := []rune{}
	for _, r := range phase {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			out = append(out, r)
		default:
			out = append(out, '-')
		}
	}
	return string(out)
}

// measureMemory uploads cfg.bigSize as one PUT and as a multipart upload,
// when the file system has room for both (plus the parts and temp copies
// a multipart upload may hold at once).
func measureMemory(ctx context.Context, cfg config, rep *report, b *s3Bench, runDir string) error {
	need := 3*cfg.bigSize + 2*giB
	for _, mp := range []bool{false, true} {
		name := fmt.Sprintf("%s single PUT", sizeLabel(cfg.bigSize))
		if mp {
			name = fmt.Sprintf("%s multipart", sizeLabel(cfg.bigSize))
		}
		if free := freeBytes(runDir); free < need {
			msg := fmt.Sprintf("not enough room in %s: %.1f GiB free, need %.1f GiB", runDir, float64(free)/giB, float64(need)/giB)
			fmt.Println("  memory:", name, "skipped:", msg)
			rep.Memory = append(rep.Memory, memResult{Name: name, Bytes: cfg.bigSize, Skipped: msg})
			continue
		}
		syscall.Sync()
		r, err := b.bigPut(ctx, name, cfg.bigSize, mp)
		if err != nil {
			return err
		}
		rep.Memory = append(rep.Memory, r)
		fmt.Printf("  %-22s %6.1f s %7.1f MB/s  peak RSS %6.1f MiB (VmHWM %6.1f MiB, before %5.1f MiB)\n",
			r.Name, r.Seconds, r.MBPerSec, r.PeakRSSMiB, r.HWMMiB, r.BaseRSSMiB)
	}
	return nil
}

func sizeLabel(n int64) string {
	if n%giB == 0 {
		return fmt.Sprintf("%d GiB", n/giB)
	}
	return fmt.Sprintf("%.0f MiB", float64(n)/miB)
}
