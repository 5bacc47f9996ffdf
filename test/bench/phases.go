package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

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

// measureThroughput measures every limit right before the S3 phase it is
// the ceiling of, so on a machine whose load drifts both see the same
// conditions: per shape, the fsync'd creates (4 KiB) or the hash rate and
// fsync'd large writes (64 MiB), then loopback PUT, S3 PUT, loopback GET,
// S3 GET. Small bodies go first, so the fsync-bound phases do not share
// the disk with large writes' writeback; the unsigned 64 MiB PUT is last.
func measureThroughput(ctx context.Context, cfg config, rep *report, b *s3Bench, prof *profiler, fsyncDir string) error {
	p := b.pool
	lb, err := startLoopback(p.buf[:64*miB])
	if err != nil {
		return err
	}
	defer lb.Close()
	lbCPU := cpuMeter{pid: lb.cmd.Process.Pid}
	// The 4 KiB files stay until the run ends: on ext4 without a journal,
	// creating a file skips inodes freed in the last minutes, so deleting
	// thousands of them here would slow the server's creations that follow.
	fs4, err := newFsyncBench(filepath.Join(fsyncDir, "4KiB"), p, 4*kiB)
	if err != nil {
		return err
	}
	limit := func(into *[]loadResult, name string, spec loadSpec, meter cpuMeter, op opFunc) error {
		syscall.Sync() // earlier phases' writeback must not bleed into this one
		r, err := runLoad(ctx, name, spec, meter, op)
		if err != nil {
			return err
		}
		*into = append(*into, r)
		rep.byName[r.Name] = r
		printPhase(r, "limit")
		return nil
	}
	for _, sh := range shapes {
		putName, getName := "PUT "+sh.label, "GET "+sh.label
		spec := loadSpec{conc: sh.conc, dur: cfg.dur, minOps: sh.minOps, warmup: 1}
		switch sh.size {
		case 4 * kiB:
			fspec := loadSpec{conc: sh.conc, dur: cfg.dur, warmup: 2, minOps: 8}
			if err := limit(&rep.Fsync, "fsync 4KiB c="+strconv.Itoa(sh.conc), fspec, cpuMeter{}, fs4.op); err != nil {
				return err
			}
		case 64 * miB:
			reps := 9
			if cfg.quick {
				reps = 5
			}
			rep.Hash = measureHash(p.buf[:64*miB], reps)
			fmt.Printf("  %-30s %9.1f MB/s (sha256 alone %.0f, md5 alone %.0f)  others %3.0f%%  [limit]\n",
				"hash sha256+md5 concurrent", rep.Hash.Both, rep.Hash.SHA256, rep.Hash.MD5, 100*rep.Hash.OtherCPU)
			// Not a target's limit: what flushing a large body costs
			// the 64 MiB PUT before it may answer.
			dir := filepath.Join(fsyncDir, "64MiB")
			fs64, err := newFsyncBench(dir, p, 64*miB)
			if err != nil {
				return err
			}
			if err := limit(&rep.Fsync, "fsync 64MiB c=1", loadSpec{conc: 1, dur: cfg.dur, warmup: 2, minOps: 8}, cpuMeter{}, fs64.op); err != nil {
				return err
			}
			if err := os.RemoveAll(dir); err != nil { // a few large files: room, not inodes
				return err
			}
		}
		// Large bodies get the full phase length: TCP's buffers take a
		// while to grow, and short runs of few requests scatter widely.
		lspec := loadSpec{conc: sh.conc, dur: cfg.dur / 2, minOps: sh.minOps, warmup: 1}
		if sh.size >= 64*miB {
			lspec.dur, lspec.warmup = cfg.dur, 2
		}
		bufs := make([][]byte, sh.conc)
		for i := range bufs {
			bufs[i] = make([]byte, 256<<10)
		}
		err := limit(&rep.Loopback, "loopback PUT "+sh.label, lspec, lbCPU, func(ctx context.Context, _, _ int) (int64, error) {
			return lb.put(ctx, sh.size)
		})
		if err == nil {
			err = s3Phase(ctx, rep, b, prof, putName, spec, b.putOp(putName, sh.size))
		}
		if err == nil {
			err = limit(&rep.Loopback, "loopback GET "+sh.label, lspec, lbCPU, func(ctx context.Context, w, _ int) (int64, error) {
				return lb.get(ctx, sh.size, bufs[w])
			})
		}
		if err != nil {
			return err
		}
		// The GET reads what the PUT phase wrote.
		get, err := b.getOp(getName, putName, sh.size, sh.conc)
		if err != nil {
			return err
		}
		if err := s3Phase(ctx, rep, b, prof, getName, spec, get); err != nil {
			return err
		}
	}
	return s3Phase(ctx, rep, b, prof, unsignedPut, loadSpec{conc: 1, dur: cfg.dur, minOps: 8, warmup: 1},
		b.putOp(unsignedPut, 64*miB, s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)))
}

// s3Phase runs one S3 phase against the server, under perf when the phase
// is profiled.
func s3Phase(ctx context.Context, rep *report, b *s3Bench, prof *profiler, name string, spec loadSpec, op opFunc) error {
	syscall.Sync() // earlier phases' writeback must not bleed into this one
	var recd *recording
	if profiled[name] {
		var err error
		if recd, err = prof.start(profileName(name)); err != nil {
			return err
		}
	}
	r, err := runLoad(ctx, name, spec, cpuMeter{pid: b.srv.Pid()}, op)
	// Warm-up operations ran before perf attached; r.Ops is what it saw
	// (give or take the ones in flight as it stopped).
	path, calls, perr := recd.stop(r.Ops)
	if err != nil || perr != nil {
		return errors.Join(err, perr)
	}
	if path != "" {
		rep.Profiles[name] = path
		r.SyscallsPerOp = calls
	}
	rep.S3 = append(rep.S3, r)
	rep.byName[r.Name] = r
	printPhase(r, "s3")
	return nil
}

// printPhase shows progress: one line per measured phase.
func printPhase(r loadResult, kind string) {
	fmt.Printf("  %-30s %9.1f ops/s %9.1f MB/s  p50 %8.2f ms  p99 %8.2f ms  others %3.0f%%  [%s]\n",
		r.Name, r.OpsPerSec, r.MBPerSec, r.P50ms, r.P99ms, 100*r.OtherCPU, kind)
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
		fmt.Printf("  %-30s %6.1f s %7.1f MB/s  peak RSS %6.1f MiB (VmHWM %6.1f MiB, before %5.1f MiB)  others %3.0f%%  [memory]\n",
			r.Name, r.Seconds, r.MBPerSec, r.PeakRSSMiB, r.HWMMiB, r.BaseRSSMiB, 100*r.OtherCPU)
	}
	return nil
}

func sizeLabel(n int64) string {
	if n%giB == 0 {
		return fmt.Sprintf("%d GiB", n/giB)
	}
	return fmt.Sprintf("%.0f MiB", float64(n)/miB)
}
