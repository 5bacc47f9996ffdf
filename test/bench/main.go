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
//     close, rename into a shard directory, fsync it) at concurrency 1, 16,
//     and the same for 64 MiB files (what flushing a large body costs);
//   - loopback: a Go HTTP server process on 127.0.0.1 serving an in-memory
//     body to a Go client that discards it, and the reverse, at the S3
//     shapes.
//
// S3 phases: PUT then GET of unique random bodies at 4 KiB (c=1, c=16),
// 1 MiB (c=8) and 64 MiB (c=1), all SDK defaults; then the 64 MiB PUT
// again with UNSIGNED-PAYLOAD, to tell the client's hashing from the
// server's; then one large single PUT and one multipart upload while the
// server's resident memory is sampled. Every phase also reports the CPU
// time of the server, of this client, and of other processes (on a shared
// machine, the noise).
//
// Flags: -quick (short phases, 1 GiB memory test), -json FILE, -dir DIR,
// -perf DIR (perf profiles and system call counts of the target phases),
// -keep, -duration, -big, -memory.
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
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
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
	flag.StringVar(&cfg.perfDir, "perf", "", "record perf CPU profiles (server and client) and the server's system calls per operation for the target phases into this directory")
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
	LoadStart   string  `json:"loadavg_start"`
	LoadEnd     string  `json:"loadavg_end"`
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
	fmt.Printf("dewar bench: %d CPUs, %s, load average %s, data under %s (%s, same device as the repo: %v; default temp dir too: %v; %.0f GiB free)\n",
		rep.Machine.CPUs, rep.Machine.GoVersion, rep.Machine.LoadStart, runDir, rep.Machine.FSType, rep.Machine.SameDevice, rep.Machine.TempSameDev, rep.Machine.FreeGiB)

	p := newPool(128 * miB)

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
	defer func() { _ = srv.Stop() }() // on errors; the normal path stops it below and checks
	fmt.Printf("server: pid %d on %s\n", srv.Pid(), srv.url)
	if prof != nil {
		prof.server = srv.Pid()
	}
	rec := &wireRecorder{}
	b := &s3Bench{c: newS3(srv.url, rec), bucket: "bench", pool: p, srv: srv, keys: map[string][]string{}}
	if _, err := b.c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b.bucket)}); err != nil {
		return fmt.Errorf("create bucket: %w", err)
	}
	if err := measureThroughput(ctx, cfg, rep, b, prof, filepath.Join(runDir, "fsync")); err != nil {
		return errors.Join(err, srv.Alive())
	}
	if cfg.memory {
		if err := measureMemory(ctx, cfg, rep, b, runDir); err != nil {
			return errors.Join(err, srv.Alive())
		}
	}
	if err := srv.Stop(); err != nil {
		return err
	}
	fmt.Println("server: stopped cleanly (SIGTERM)")
	rep.Machine.LoadEnd = loadAvg()
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
	m := machineInfo{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), DataDir: dir, LoadStart: loadAvg()}
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

// loadAvg returns the 1, 5 and 15 minute load averages.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

func freeBytes(dir string) int64 {
	var st syscall.Statfs_t
	if syscall.Statfs(dir, &st) != nil {
		return 0
	}
	return int64(st.Bavail) * st.Bsize
}
