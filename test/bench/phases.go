package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

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
		// Large files go now, for the room. Small ones stay until the run
		// ends: on ext4 without a journal, creating a file skips inodes
		// freed in the last minutes, so deleting thousands of them here
		// would slow the server's file creations that follow.
		if fs.size >= miB {
			if err := os.RemoveAll(dir); err != nil {
				return err
			}
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
		// Warm-up operations ran before perf attached; r.Ops is what it saw
		// (give or take the ones in flight as it stopped).
		path, calls, perr := recd.stop(r.Ops)
		if perr != nil {
			return errors.Join(err, perr)
		}
		if path != "" {
			rep.Profiles[ph.name] = path
			r.SyscallsPerOp = calls
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
