// Command bench measures dewar against this machine's own limits and
// against reference tools, measured in the same run, and prints each
// figure with its ratio to its limit and whether the target is met. It is
// `make bench`; targets are reported, never asserted: the exit status is
// non-zero only on errors.
//
// Each part starts its own `bin/dewar serve` processes (building the
// binary when missing; a private copy runs) on free 127.0.0.1 ports with
// fresh data directories under <repo>/.bench (ignored by git and, unlike
// the default temp dir on many machines, never a tmpfs: the fsync limit
// must be measured on the file system the server writes to), drives them
// with aws-sdk-go-v2 and the JSON API, and stops them with SIGTERM. Every
// measurement also reports the CPU time of the server, of this client,
// and of other processes (on a shared machine, the noise).
//
// -phases selects the parts (default all, in this order):
//
// s3, the S3 core. Limits: hash (sha256 and md5 on two goroutines over
// one 64 MiB buffer, also each alone); fsync (durable 4 KiB file
// creations at concurrency 1 and 16, durable 64 MiB writes); loopback (a
// Go HTTP server process serving and draining in-memory bodies). Phases:
// PUT then GET of unique random bodies at 4 KiB (c=1, c=16), 1 MiB (c=8)
// and 64 MiB (c=1), SDK defaults; the 64 MiB PUT again with
// UNSIGNED-PAYLOAD; one large single PUT and one multipart upload while
// the server's resident memory is sampled.
//
// ingest (ingest.go): a generated 2,500-file kit zip (~50 MiB) PUT to
// incoming-other and followed through the API until done, first and again
// (nothing new), against (a) `unzip -q` + sha256sum of every file and (b)
// Go's archive/zip + sha256 in memory; the analyzers timed in-process over
// the same files; the server's memory while it ingests a 1 GiB archive.
//
// storage (storage.go): compact S3 phases on SQLite and PostgreSQL
// indexes and on local and upstream (a second dewar) stores, the
// upstream's direct throughput as the limit; compression ratio and speed
// on kit-like text.
//
// search (search.go, searchgen.go): p50/p99 of hash lookups, bulk
// lookups, IOC queries, a 3-clause query and similar through the API on a
// generated index of 1M files, 5M IOCs and 50k jobs, on SQLite and
// PostgreSQL; the generated databases are cached in
// <repo>/.bench/search-cache and a PostgreSQL database
// dewar_bench_search (the first run generates them, which takes a while).
//
// Flags: -phases LIST, -quick (short phases, 1 GiB S3 memory test, 256
// MiB archive, 100k-file search index), -json FILE, -dir DIR, -perf DIR
// (perf profiles and system call counts of the S3 target phases and the
// ingests), -keep, -duration, -big, -memory, -pg URL.
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
	"slices"
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
	phases   map[string]bool
	pgURL    string
}

// phaseNames are the parts of the benchmark -phases selects, in run order.
var phaseNames = []string{"s3", "ingest", "storage", "search"}

// parsePhases reads -phases: a comma list of phaseNames.
func parsePhases(s string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !slices.Contains(phaseNames, p) {
			return nil, fmt.Errorf("bench: -phases: unknown phase %q (have %s)", p, strings.Join(phaseNames, ","))
		}
		out[p] = true
	}
	if len(out) == 0 {
		return nil, errors.New("bench: -phases: no phase selected")
	}
	return out, nil
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
	flag.BoolVar(&cfg.memory, "memory", true, "run the large-upload memory tests (S3 large PUTs, ingest of a large archive)")
	phases := flag.String("phases", strings.Join(phaseNames, ","), "comma list of the parts to run: s3 (the S3 core), ingest, storage (index and store back ends, compression), search")
	flag.StringVar(&cfg.pgURL, "pg", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "PostgreSQL server (any database on it) where the storage and search phases create their own databases")
	flag.Parse()
	var err error
	if cfg.phases, err = parsePhases(*phases); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
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
	Started time.Time `json:"started"`
	Quick   bool      `json:"quick"`
	Phases  []string  `json:"phases"`
	// PartSeconds is each part's wall time (search: with generation, when
	// its cached index had to be made).
	PartSeconds map[string]float64    `json:"part_seconds"`
	Machine     machineInfo           `json:"machine"`
	Hash        hashLimits            `json:"hash_limit"`
	Fsync       []loadResult          `json:"fsync_limit"`
	Loopback    []loadResult          `json:"loopback_limit"`
	S3          []loadResult          `json:"s3"`
	Memory      []memResult           `json:"memory"`
	Wire        map[string][]string   `json:"wire"` // phase -> how the SDK framed its bodies
	Rows        []row                 `json:"rows"` // the S3 core's summary
	Ingest      *ingestReport         `json:"ingest,omitempty"`
	Storage     *storageReport        `json:"storage,omitempty"`
	Search      *searchReport         `json:"search,omitempty"`
	Profiles    map[string]string     `json:"profiles,omitempty"`
	Notes       []string              `json:"notes,omitempty"`
	byName      map[string]loadResult `json:"-"`
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
	for _, p := range phaseNames {
		if cfg.phases[p] {
			rep.Phases = append(rep.Phases, p)
		}
	}
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
	env := &benchEnv{cfg: cfg, root: root, bin: bin, runDir: runDir, pool: p, rec: &wireRecorder{}}
	rep.PartSeconds = map[string]float64{}
	parts := map[string]func() error{
		"s3": func() error { return runS3(ctx, env, rep, prof) },
		"ingest": func() (err error) {
			rep.Ingest, err = runIngest(ctx, env)
			return err
		},
		"storage": func() (err error) {
			rep.Storage, err = runStorage(ctx, env)
			return err
		},
		"search": func() (err error) {
			rep.Search, err = runSearch(ctx, env)
			return err
		},
	}
	for _, name := range rep.Phases {
		t0 := time.Now()
		if err := parts[name](); err != nil {
			return err
		}
		rep.PartSeconds[name] = time.Since(t0).Seconds()
		fmt.Printf("== %s done in %.0f s\n", name, rep.PartSeconds[name])
	}
	rep.Machine.LoadEnd = loadAvg()
	rep.Wire = env.rec.All()
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

// benchEnv is what every part of the run shares.
type benchEnv struct {
	cfg    config
	root   string // the module root
	bin    string // the private copy of dewar under test
	runDir string // this run's scratch directory
	pool   *pool
	rec    *wireRecorder
}

// start runs a dewar serve of its own under runDir/<name> (data dir
// <name>/data, log <name>/dewar.log) with extra serve flags.
func (e *benchEnv) start(ctx context.Context, name string, extra ...string) (*server, error) {
	dir := filepath.Join(e.runDir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	srv, err := startServer(ctx, e.bin, filepath.Join(dir, "data"), filepath.Join(dir, "dewar.log"), extra...)
	if err != nil {
		return nil, fmt.Errorf("bench: %s server: %w", name, err)
	}
	fmt.Printf("server %s: pid %d, S3 %s, API %s %s\n", name, srv.Pid(), srv.url, srv.ui, strings.Join(extra, " "))
	return srv, nil
}

// profile runs fn under perf (recording the server pid and this process)
// when -perf is set, and returns the profile's text file ("" without
// -perf). ops is what per-operation system call counts divide by.
func (e *benchEnv) profile(name string, pid, ops int, fn func() error) (string, error) {
	if e.cfg.perfDir == "" {
		return "", fn()
	}
	rec, err := (&profiler{dir: e.cfg.perfDir, server: pid}).start(profileName(name))
	if err != nil {
		return "", err
	}
	err = fn()
	path, _, perr := rec.stop(ops)
	return path, errors.Join(err, perr)
}

// runS3 measures the S3 core (issue 2) on a default server.
func runS3(ctx context.Context, env *benchEnv, rep *report, prof *profiler) error {
	fmt.Println("\n== s3: the S3 core against the machine's limits ==")
	srv, err := env.start(ctx, "s3")
	if err != nil {
		return err
	}
	defer func() { _ = srv.Stop() }() // on errors; the normal path stops it below and checks
	if prof != nil {
		prof.server = srv.Pid()
	}
	b := &s3Bench{c: newS3(srv.url, env.rec), bucket: "bench", pool: env.pool, srv: srv, keys: map[string][]string{}}
	if _, err := b.c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b.bucket)}); err != nil {
		return fmt.Errorf("create bucket: %w", err)
	}
	if err := measureThroughput(ctx, env.cfg, rep, b, prof, filepath.Join(env.runDir, "fsync")); err != nil {
		return errors.Join(err, srv.Alive())
	}
	if env.cfg.memory {
		if err := measureMemory(ctx, env.cfg, rep, b, env.runDir); err != nil {
			return errors.Join(err, srv.Alive())
		}
	}
	if err := srv.Stop(); err != nil {
		return err
	}
	fmt.Println("server s3: stopped cleanly (SIGTERM)")
	rep.Rows = buildRows(rep)
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
