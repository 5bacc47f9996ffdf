package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/klauspost/compress/zstd"
)

// storageReport is the back-end benchmark (issue 4): the S3 core's
// compact phases on SQLite and PostgreSQL indexes and on local and
// upstream stores, the upstream's own direct throughput as the limit of
// the upstream path, and compression of text-heavy objects.
type storageReport struct {
	Configs []storageConfig `json:"configs"`
	// Direct is the upstream Dewar driven straight with the SDK, right
	// before the same phase through the upstream path.
	Direct []loadResult `json:"upstream_direct"`
	// Text holds the text-heavy phases on the uncompressed and the
	// compressed server.
	Text     []loadResult  `json:"text_phases"`
	Stored   compressStore `json:"compressed_store"`
	ZstdRef  zstdRef       `json:"zstd_in_process"`
	Rows     []row         `json:"rows"`
	Notes    []string      `json:"notes,omitempty"`
	byName   map[string]loadResult
	pgDBName string
}

// storageConfig is one index and store pair.
type storageConfig struct {
	Name    string       `json:"name"`
	Index   string       `json:"index"`
	Store   string       `json:"store"`
	Phases  []loadResult `json:"phases"`
	Skipped string       `json:"skipped,omitempty"`
}

// compressStore is what the compressed server's store holds after the
// text PUTs: logical bytes (what was PUT) against bytes on disk.
type compressStore struct {
	LogicalBytes int64   `json:"logical_bytes"`
	StoredBytes  int64   `json:"stored_bytes"` // sizes of the store's blob files
	Blobs        int     `json:"blobs"`
	Compressed   int     `json:"compressed_blobs"` // kept as .zst
	Ratio        float64 `json:"ratio"`            // logical / stored
}

// zstdRef is the klauspost zstd encoder the store uses (level 3, 1 MiB
// frames, one goroutine) run in this process over the text pool: the
// best ratio the store can reach on it and the single-core speeds.
type zstdRef struct {
	Ratio        float64 `json:"ratio"`
	EncodeMBPerS float64 `json:"encode_mb_per_sec"`
	DecodeMBPerS float64 `json:"decode_mb_per_sec"`
}

// storagePhase is one compact S3 phase.
type storagePhase struct {
	label string // "PUT 4KiB c=16"
	put   bool
	size  int64
	conc  int
}

var storagePhases = []storagePhase{
	{"PUT 4KiB c=16", true, 4 * kiB, 16},
	{"GET 4KiB c=16", false, 4 * kiB, 16},
	{"PUT 64MiB c=1", true, 64 * miB, 1},
	{"GET 64MiB c=1", false, 64 * miB, 1},
}

var textPhases = []storagePhase{
	{"PUT 64MiB c=1", true, 64 * miB, 1},
	{"GET 64MiB c=1", false, 64 * miB, 1},
	{"PUT 1MiB c=8", true, 1 * miB, 8},
	{"GET 1MiB c=8", false, 1 * miB, 8},
}

// spec is a phase's length: large bodies run at least cfg.dur and 8
// operations (4 with -quick), small ones two thirds of cfg.dur.
func (ph storagePhase) spec(cfg config) loadSpec {
	if ph.size >= 64*miB {
		n := 8
		if cfg.quick {
			n = 4
		}
		return loadSpec{conc: 1, dur: cfg.dur, minOps: n, warmup: 1}
	}
	minOps := 200
	if ph.size >= miB {
		minOps = 40
	}
	return loadSpec{conc: ph.conc, dur: cfg.dur * 2 / 3, minOps: minOps, warmup: 1}
}

// runStorage measures issue 4's figures.
func runStorage(ctx context.Context, env *benchEnv) (*storageReport, error) {
	fmt.Println("\n== storage: SQLite vs PostgreSQL index, local vs upstream store, compression ==")
	rep := &storageReport{byName: map[string]loadResult{}}
	t0 := time.Now()
	text := newTextPool(80*miB, 3)
	fmt.Printf("  text pool: %.0f MiB of kit-like PHP/JS/HTML/CSS generated in %.1f s\n", float64(len(text.buf))/miB, time.Since(t0).Seconds())
	rep.ZstdRef = measureZstd(text.buf)
	fmt.Printf("  %-44s ratio %.2f, encode %.0f MB/s, decode %.0f MB/s (one goroutine)  [reference]\n", "zstd level 3, 1 MiB frames, in-process", rep.ZstdRef.Ratio, rep.ZstdRef.EncodeMBPerS, rep.ZstdRef.DecodeMBPerS)

	// SQLite + local files, then the text phases on the same server.
	local := storageConfig{Name: "sqlite+local", Index: "SQLite", Store: "local files"}
	if err := rep.config(ctx, env, &local, env.pool, storagePhases, nil, func(ctx context.Context, b *s3Bench) error {
		return rep.phases(ctx, env, b, "text uncompressed", textPhases, &rep.Text)
	}); err != nil {
		return nil, err
	}
	rep.Configs = append(rep.Configs, local)

	// Compression: the text phases on a --compress server.
	comp := storageConfig{Name: "sqlite+local --compress", Index: "SQLite", Store: "local files, zstd"}
	err := rep.config(ctx, env, &comp, text, nil, []string{"--compress"}, func(ctx context.Context, b *s3Bench) error {
		if err := rep.phases(ctx, env, b, "text compressed", textPhases, &rep.Text); err != nil {
			return err
		}
		var err error
		rep.Stored, err = storedBytes(filepath.Join(b.srv.dataDir, "store"), b, "text compressed", textPhases)
		return err
	})
	if err != nil {
		return nil, err
	}
	st := rep.Stored
	fmt.Printf("  compressed store: %d blobs (%d kept compressed), %.1f MiB logical, %.1f MiB on disk: ratio %.2f\n",
		st.Blobs, st.Compressed, float64(st.LogicalBytes)/miB, float64(st.StoredBytes)/miB, st.Ratio)

	// PostgreSQL index, local files.
	pgc := storageConfig{Name: "postgres+local", Index: "PostgreSQL", Store: "local files"}
	if err := rep.postgres(ctx, env, &pgc); err != nil {
		return nil, err
	}
	rep.Configs = append(rep.Configs, pgc)

	// SQLite, upstream store (a second Dewar on loopback).
	up := storageConfig{Name: "sqlite+upstream", Index: "SQLite", Store: "upstream S3 (a second dewar)"}
	if err := rep.upstream(ctx, env, &up); err != nil {
		return nil, err
	}
	rep.Configs = append(rep.Configs, up)
	rep.Rows = rep.rows()
	return rep, nil
}

// config starts a server with extra flags, runs phases on pool's bodies,
// then more, and stops it.
func (rep *storageReport) config(ctx context.Context, env *benchEnv, c *storageConfig, p *pool, phases []storagePhase, extra []string,
	more func(context.Context, *s3Bench) error) error {
	srv, err := env.start(ctx, "storage-"+profileName(c.Name), extra...)
	if err != nil {
		return err
	}
	defer func() { _ = srv.Stop() }()
	b := &s3Bench{c: newS3(srv.url, env.rec), bucket: "bench", pool: p, srv: srv, keys: map[string][]string{}, meter: cpuMeter{pid: srv.Pid(), pgDB: rep.pgDBName}}
	if _, err := b.c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b.bucket)}); err != nil {
		return fmt.Errorf("bench: %s: create bucket: %w", c.Name, err)
	}
	if err := rep.phases(ctx, env, b, c.Name, phases, &c.Phases); err != nil {
		return errors.Join(err, srv.Alive())
	}
	if more != nil {
		if err := more(ctx, b); err != nil {
			return errors.Join(err, srv.Alive())
		}
	}
	return srv.Stop()
}

// phases runs each phase as "<prefix> <label>" and appends the results.
func (rep *storageReport) phases(ctx context.Context, env *benchEnv, b *s3Bench, prefix string, phases []storagePhase, into *[]loadResult) error {
	for _, ph := range phases {
		r, err := rep.phase(ctx, env, b, prefix, ph)
		if err != nil {
			return err
		}
		*into = append(*into, r)
	}
	return nil
}

// phase runs one phase; a GET reads what the PUT of the same size wrote.
func (rep *storageReport) phase(ctx context.Context, env *benchEnv, b *s3Bench, prefix string, ph storagePhase) (loadResult, error) {
	name := prefix + " " + ph.label
	var op opFunc
	if ph.put {
		op = b.putOp(name, ph.size)
	} else {
		var err error
		putName := prefix + " " + strings.Replace(ph.label, "GET", "PUT", 1)
		if op, err = b.getOp(name, putName, ph.size, ph.conc); err != nil {
			return loadResult{}, err
		}
	}
	syscall.Sync()
	r, err := runLoad(ctx, name, ph.spec(env.cfg), b.meter, op)
	if err != nil {
		return r, err
	}
	rep.byName[name] = r
	printPhase(r, "storage")
	return r, nil
}

// postgres runs the compact phases with the index in a throwaway
// PostgreSQL database.
func (rep *storageReport) postgres(ctx context.Context, env *benchEnv, c *storageConfig) error {
	pg := pgAdmin{base: env.cfg.pgURL}
	name := fmt.Sprintf("dewar_bench_%d_%d", os.Getpid(), time.Now().Unix())
	dsn, err := pg.create(ctx, name)
	if err != nil {
		c.Skipped = err.Error()
		fmt.Println("  postgres+local skipped:", err)
		return nil
	}
	defer func() {
		if err := pg.drop(context.WithoutCancel(ctx), name); err != nil {
			fmt.Println("  could not drop", name+":", err)
		}
	}()
	rep.pgDBName = name
	defer func() { rep.pgDBName = "" }()
	rep.Notes = append(rep.Notes, "postgres+local: server CPU includes the PostgreSQL backends serving its database; PostgreSQL's background writers count as other processes")
	return rep.config(ctx, env, c, env.pool, storagePhases, []string{"--index", dsn}, nil)
}

// upstream runs the compact phases on a server whose store is a second
// dewar (its bucket "blobs"), and the second dewar's own 64 MiB PUT and
// GET (bucket "direct") right before the same phase through the first.
func (rep *storageReport) upstream(ctx context.Context, env *benchEnv, c *storageConfig) error {
	us, err := env.start(ctx, "storage-upstream")
	if err != nil {
		return err
	}
	defer func() { _ = us.Stop() }()
	direct := &s3Bench{c: newS3(us.url, env.rec), bucket: "direct", pool: env.pool, srv: us, keys: map[string][]string{}, meter: cpuMeter{pid: us.Pid()}}
	for _, bucket := range []string{"direct", "blobs"} {
		if _, err := direct.c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
			return fmt.Errorf("bench: upstream: create bucket %s: %w", bucket, err)
		}
	}
	store := "s3://blobs/node?endpoint=" + us.url + "&region=" + region + "&access_key=" + accessKey + "&secret_key=" + secretKey
	srv, err := env.start(ctx, "storage-"+profileName(c.Name), "--store", store)
	if err != nil {
		return err
	}
	defer func() { _ = srv.Stop() }()
	b := &s3Bench{c: newS3(srv.url, env.rec), bucket: "bench", pool: env.pool, srv: srv, keys: map[string][]string{}, meter: cpuMeter{pid: srv.Pid(), more: []int{us.Pid()}}}
	if _, err := b.c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b.bucket)}); err != nil {
		return fmt.Errorf("bench: %s: create bucket: %w", c.Name, err)
	}
	rep.Notes = append(rep.Notes, "sqlite+upstream: server CPU is both dewars' (the node and its upstream store)")
	for _, ph := range storagePhases {
		if ph.size >= 64*miB {
			r, err := rep.phase(ctx, env, direct, "upstream direct", ph)
			if err != nil {
				return errors.Join(err, us.Alive())
			}
			rep.Direct = append(rep.Direct, r)
		}
		r, err := rep.phase(ctx, env, b, c.Name, ph)
		if err != nil {
			return errors.Join(err, srv.Alive(), us.Alive())
		}
		c.Phases = append(c.Phases, r)
	}
	if err := srv.Stop(); err != nil {
		return err
	}
	return us.Stop()
}

// storedBytes sums the blob files of a local store and counts what the
// phases PUT (warm-up included) as the logical bytes.
func storedBytes(storeDir string, b *s3Bench, prefix string, phases []storagePhase) (compressStore, error) {
	var st compressStore
	for _, ph := range phases {
		if ph.put {
			b.mu.Lock()
			st.LogicalBytes += int64(len(b.keys[prefix+" "+ph.label])) * ph.size
			b.mu.Unlock()
		}
	}
	err := filepath.WalkDir(filepath.Join(storeDir, "blobs"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st.Blobs++
		st.StoredBytes += info.Size()
		if strings.HasSuffix(p, ".zst") {
			st.Compressed++
		}
		return nil
	})
	if st.StoredBytes > 0 {
		st.Ratio = float64(st.LogicalBytes) / float64(st.StoredBytes)
	}
	return st, err
}

// newTextPool generates size bytes of kit-like text (PHP, JS, HTML, CSS
// in files of 4 to 256 KiB) for bodies that compress as real kits do.
func newTextPool(size int, seed uint64) *pool {
	g := newKitGen(seed)
	r := rand.New(rand.NewPCG(seed, 0x74657874))
	buf := make([]byte, 0, size+512*kiB)
	for len(buf) < size {
		_, b := g.text(logUniform(r, 4*kiB, 256*kiB))
		buf = append(buf, b...)
	}
	p := &pool{buf: buf[:size], nonce: rand.Uint64()}
	p.rng.Store(rand.Uint64())
	return p
}

// measureZstd compresses buf in 1 MiB frames with the store's encoder
// settings and decompresses it back, on one goroutine.
func measureZstd(buf []byte) zstdRef {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(3)), zstd.WithEncoderConcurrency(1),
		zstd.WithWindowSize(miB), zstd.WithEncoderCRC(true))
	if err != nil {
		return zstdRef{}
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return zstdRef{}
	}
	defer dec.Close()
	var frames [][]byte
	var out int
	t0 := time.Now()
	for i := 0; i < len(buf); i += miB {
		f := enc.EncodeAll(buf[i:min(i+miB, len(buf))], nil)
		frames = append(frames, f)
		out += len(f)
	}
	encS := time.Since(t0).Seconds()
	dst := make([]byte, 0, miB)
	t0 = time.Now()
	for _, f := range frames {
		if _, err := dec.DecodeAll(f, dst[:0]); err != nil {
			return zstdRef{}
		}
	}
	decS := time.Since(t0).Seconds()
	return zstdRef{Ratio: float64(len(buf)) / float64(out), EncodeMBPerS: float64(len(buf)) / encS / 1e6, DecodeMBPerS: float64(len(buf)) / decS / 1e6}
}

// rows is the storage summary: the upstream target first, then each
// configuration against SQLite with local files, then compression.
func (rep *storageReport) rows() []row {
	get := func(name string) loadResult { return rep.byName[name] }
	val := func(r loadResult, size int64) (float64, string) {
		if size < miB {
			return r.OpsPerSec, "ops/s"
		}
		return r.MBPerSec, "MB/s"
	}
	var rows []row
	for _, op := range []string{"PUT", "GET"} {
		ph := op + " 64MiB c=1"
		name := "sqlite+upstream " + ph
		if _, ok := rep.byName[name]; !ok {
			rows = append(rows, skippedRow(name, "MB/s", ">= 70%", "not measured"))
			continue
		}
		rows = append(rows, ratioRow(name, get(name).MBPerSec, "MB/s", "upstream direct "+ph, get("upstream direct "+ph).MBPerSec, 0.70))
	}
	for _, c := range rep.Configs {
		if c.Name == "sqlite+local" {
			continue
		}
		if c.Skipped != "" {
			rows = append(rows, skippedRow(c.Name, "", "", c.Skipped))
			continue
		}
		for _, ph := range storagePhases {
			v, unit := val(get(c.Name+" "+ph.label), ph.size)
			l, _ := val(get("sqlite+local "+ph.label), ph.size)
			rows = append(rows, ratioRow(c.Name+" "+ph.label, v, unit, "sqlite+local", l, 0))
		}
	}
	st := rep.Stored
	rows = append(rows, row{Figure: "compression ratio, text (logical / on disk)", Value: st.Ratio, Unit: "x", LimitName: "zstd -3 in-process, same text", Limit: rep.ZstdRef.Ratio, Ratio: st.Ratio / rep.ZstdRef.Ratio})
	for _, ph := range textPhases {
		v, unit := val(get("text compressed "+ph.label), ph.size)
		l, _ := val(get("text uncompressed "+ph.label), ph.size)
		rows = append(rows, ratioRow("compressed text "+ph.label, v, unit, "uncompressed server", l, 0))
	}
	// The codec's own single-core speed bounds a single stream.
	put, getr := get("text compressed PUT 64MiB c=1"), get("text compressed GET 64MiB c=1")
	rows = append(rows,
		ratioRow("compressed text PUT 64MiB c=1 (vs codec)", put.MBPerSec, "MB/s", "zstd -3 encode, one goroutine", rep.ZstdRef.EncodeMBPerS, 0),
		ratioRow("compressed text GET 64MiB c=1 (vs codec)", getr.MBPerSec, "MB/s", "zstd decode, one goroutine", rep.ZstdRef.DecodeMBPerS, 0))
	return rows
}

// printStorage writes the storage tables.
func printStorage(out io.Writer, rep *storageReport) {
	tw := tabwriter.NewWriter(out, 2, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "\nSTORAGE BACK ENDS (compact S3 phases through aws-sdk-go-v2; MB = 10^6 bytes)\nconfig\tphase\tops\tops/s\tMB/s\tp50 ms\tp99 ms\tserver CPU ms/op\tclient CPU ms/op\tother processes' CPU\n")
	line := func(cfg string, r loadResult) {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t%.0f%%\n", cfg, strings.TrimPrefix(r.Name, cfg+" "), r.Ops, r.OpsPerSec, r.MBPerSec, r.P50ms, r.P99ms, r.ServerCPUop, r.ClientCPUop, 100*r.OtherCPU)
	}
	for _, c := range rep.Configs {
		if c.Skipped != "" {
			fmt.Fprintf(tw, "%s\tskipped: %s\n", c.Name, c.Skipped)
			continue
		}
		for _, r := range c.Phases {
			line(c.Name, r)
		}
	}
	for _, r := range rep.Direct {
		line("upstream direct", r)
	}
	for _, r := range rep.Text {
		cfg := "text uncompressed"
		if strings.HasPrefix(r.Name, "text compressed") {
			cfg = "text compressed"
		}
		line(cfg, r)
	}
	tw.Flush()
	st := rep.Stored
	fmt.Fprintf(out, "\nCOMPRESSION (--compress, text-heavy bodies): %d blobs, %d kept compressed; %.1f MiB PUT, %.1f MiB on disk: %.2fx; zstd level 3 in-process on the same text: %.2fx, encode %.0f MB/s, decode %.0f MB/s on one goroutine\n",
		st.Blobs, st.Compressed, float64(st.LogicalBytes)/miB, float64(st.StoredBytes)/miB, st.Ratio, rep.ZstdRef.Ratio, rep.ZstdRef.EncodeMBPerS, rep.ZstdRef.DecodeMBPerS)
	printRows(out, "STORAGE SUMMARY", rep.Rows)
	for _, n := range rep.Notes {
		fmt.Fprintf(out, "note: %s\n", n)
	}
}

// shares lists the storage phases' other-process CPU shares.
func (rep *storageReport) shares() []phaseShare {
	var out []phaseShare
	for _, c := range rep.Configs {
		for _, r := range c.Phases {
			out = append(out, phaseShare{r.Name, r.OtherCPU})
		}
	}
	for _, rs := range [][]loadResult{rep.Direct, rep.Text} {
		for _, r := range rs {
			out = append(out, phaseShare{r.Name, r.OtherCPU})
		}
	}
	return out
}
