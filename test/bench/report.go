package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"text/tabwriter"
)

// row is one line of the summary: a figure, its limit, and its target.
type row struct {
	Figure    string  `json:"figure"`
	Value     float64 `json:"value"`
	Unit      string  `json:"unit"`
	LimitName string  `json:"limit_name,omitempty"`
	Limit     float64 `json:"limit,omitempty"`
	Ratio     float64 `json:"ratio,omitempty"`
	Target    string  `json:"target,omitempty"`
	Met       *bool   `json:"met,omitempty"` // nil: no target, or not measured
	Note      string  `json:"note,omitempty"`
	// LowerBetter marks a figure that is a cost (a time) against a
	// reference time: the ratio reads as "1.3x the reference".
	LowerBetter bool `json:"lower_is_better,omitempty"`
}

// ratioRow compares a figure with a limit; minRatio 0 means no target.
func ratioRow(figure string, value float64, unit, limitName string, limit, minRatio float64) row {
	r := row{Figure: figure, Value: value, Unit: unit, LimitName: limitName, Limit: limit}
	if limit > 0 {
		r.Ratio = value / limit
	}
	if minRatio > 0 {
		r.Target = fmt.Sprintf(">= %.0f%%", 100*minRatio)
		met := r.Ratio >= minRatio
		r.Met = &met
	}
	return r
}

// maxRatioRow compares a cost (a time) with a reference cost; the target
// is met when value <= maxRatio x limit (maxRatio 0: no target).
func maxRatioRow(figure string, value float64, unit, limitName string, limit, maxRatio float64) row {
	r := row{Figure: figure, Value: value, Unit: unit, LimitName: limitName, Limit: limit, LowerBetter: true}
	if limit > 0 {
		r.Ratio = value / limit
	}
	if maxRatio > 0 {
		r.Target = fmt.Sprintf("<= %.1fx", maxRatio)
		met := limit > 0 && r.Ratio <= maxRatio
		r.Met = &met
	}
	return r
}

// targetRow is a figure with an absolute target (a latency, a memory
// size); target describes it and met says whether it held.
func targetRow(figure string, value float64, unit, target string, met bool) row {
	return row{Figure: figure, Value: value, Unit: unit, Target: target, Met: &met}
}

// skippedRow stands for a figure that could not be measured.
func skippedRow(figure, unit, target, why string) row {
	return row{Figure: figure, Unit: unit, Target: target, Note: "skipped: " + why}
}

// buildRows turns the measurements into the summary table: the four
// targets of the benchmark contract first, then the other figures with
// their nearest limit for context.
func buildRows(rep *report) []row {
	s := func(name string) loadResult { return rep.byName[name] }
	hash := rep.Hash.Both
	rows := []row{
		ratioRow("PUT 64MiB c=1", s("PUT 64MiB c=1").MBPerSec, "MB/s", "hash sha256+md5 concurrent", hash, 0.85),
		ratioRow("GET 64MiB c=1", s("GET 64MiB c=1").MBPerSec, "MB/s", "loopback GET 64MiB c=1", s("loopback GET 64MiB c=1").MBPerSec, 0.60),
		ratioRow("PUT 4KiB c=16", s("PUT 4KiB c=16").OpsPerSec, "ops/s", "fsync'd 4KiB creates c=16", s("fsync 4KiB c=16").OpsPerSec, 0.70),
	}
	for _, m := range rep.Memory {
		r := row{Figure: "peak RSS, " + m.Name, Unit: "MiB", Target: "< 200 MiB"}
		if m.Skipped != "" {
			r.Note = "skipped: " + m.Skipped
		} else {
			r.Value = m.Peak()
			met := r.Value < 200
			r.Met = &met
		}
		rows = append(rows, r)
	}
	if len(rep.Memory) == 0 {
		rows = append(rows, row{Figure: "peak RSS, large PUTs", Unit: "MiB", Target: "< 200 MiB", Note: "not run (-memory=false)"})
	}
	rows = append(rows,
		ratioRow("PUT 4KiB c=1", s("PUT 4KiB c=1").OpsPerSec, "ops/s", "fsync'd 4KiB creates c=1", s("fsync 4KiB c=1").OpsPerSec, 0),
		ratioRow("PUT 1MiB c=8", s("PUT 1MiB c=8").MBPerSec, "MB/s", "hash sha256+md5 concurrent", hash, 0),
		ratioRow(unsignedPut, s(unsignedPut).MBPerSec, "MB/s", "hash sha256+md5 concurrent", hash, 0),
		ratioRow("PUT 64MiB c=1 (vs fsync'd write)", s("PUT 64MiB c=1").MBPerSec, "MB/s", "fsync'd 64MiB file writes c=1", s("fsync 64MiB c=1").MBPerSec, 0),
		ratioRow("PUT 64MiB c=1 (vs loopback)", s("PUT 64MiB c=1").MBPerSec, "MB/s", "loopback PUT 64MiB c=1", s("loopback PUT 64MiB c=1").MBPerSec, 0),
		ratioRow("GET 4KiB c=1", s("GET 4KiB c=1").OpsPerSec, "ops/s", "loopback GET 4KiB c=1", s("loopback GET 4KiB c=1").OpsPerSec, 0),
		ratioRow("GET 4KiB c=16", s("GET 4KiB c=16").OpsPerSec, "ops/s", "loopback GET 4KiB c=16", s("loopback GET 4KiB c=16").OpsPerSec, 0),
		ratioRow("GET 1MiB c=8", s("GET 1MiB c=8").MBPerSec, "MB/s", "loopback GET 1MiB c=8", s("loopback GET 1MiB c=8").MBPerSec, 0),
	)
	return rows
}

// noisyShare is the share of CPU time taken by other processes above
// which a phase's figure says more about the neighbours than about dewar.
const noisyShare = 0.10

// noiseNotes warns about phases during which other processes took a
// noticeable share of the machine.
func noiseNotes(rep *report) []string {
	var noisy []string
	add := func(name string, share float64) {
		if share > noisyShare {
			noisy = append(noisy, fmt.Sprintf("%s %.0f%%", name, 100*share))
		}
	}
	add("hash limit", rep.Hash.OtherCPU)
	for _, rs := range [][]loadResult{rep.Fsync, rep.Loopback, rep.S3} {
		for _, r := range rs {
			add(r.Name, r.OtherCPU)
		}
	}
	for _, m := range rep.Memory {
		add(m.Name, m.OtherCPU)
	}
	var more []phaseShare
	if rep.Ingest != nil {
		more = append(more, rep.Ingest.shares...)
	}
	if rep.Storage != nil {
		more = append(more, rep.Storage.shares()...)
	}
	if rep.Search != nil {
		more = append(more, rep.Search.shares()...)
	}
	for _, s := range more {
		add(s.name, s.other)
	}
	if len(noisy) == 0 {
		return nil
	}
	return []string{fmt.Sprintf("the machine was shared: other processes used more than %.0f%% of its CPU during: %s; those figures and ratios are unreliable, rerun on a quiet machine",
		100*noisyShare, strings.Join(noisy, ", "))}
}

// printReport writes the limits, the phases and the summary table.
func printReport(out io.Writer, rep *report) {
	tw := tabwriter.NewWriter(out, 2, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "\nmachine: %d CPUs, load average %s at the start and %s at the end; data dir %s (%s)\n",
		rep.Machine.CPUs, rep.Machine.LoadStart, rep.Machine.LoadEnd, rep.Machine.DataDir, rep.Machine.FSType)
	var parts []string
	for _, p := range rep.Phases {
		if s, ok := rep.PartSeconds[p]; ok {
			parts = append(parts, fmt.Sprintf("%s %.0f s", p, s))
		}
	}
	fmt.Fprintf(tw, "parts run: %s\n", strings.Join(parts, ", "))
	tw.Flush()
	if len(rep.S3) > 0 {
		printS3(out, rep)
	}
	if rep.Ingest != nil {
		printIngest(out, rep.Ingest)
	}
	if rep.Storage != nil {
		printStorage(out, rep.Storage)
	}
	if rep.Search != nil {
		printSearch(out, rep.Search)
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(out, "note: %s\n", n)
	}
}

// printS3 writes the S3 core's limits, phases and summary.
func printS3(out io.Writer, rep *report) {
	tw := tabwriter.NewWriter(out, 2, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "\nLIMITS (this machine, this run; MB = 10^6 bytes)\n")
	fmt.Fprintf(tw, "limit\tvalue\t\tother processes' CPU\n")
	fmt.Fprintf(tw, "hash 64MiB, sha256+md5 concurrent\t%.0f MB/s\t(sha256 alone %.0f MB/s, md5 alone %.0f MB/s)\t%.0f%%\n", rep.Hash.Both, rep.Hash.SHA256, rep.Hash.MD5, 100*rep.Hash.OtherCPU)
	for _, r := range rep.Fsync {
		fmt.Fprintf(tw, "%s\t%.0f files/s\t(%.0f MB/s, p50 %.2f ms, p99 %.2f ms)\t%.0f%%\n", r.Name, r.OpsPerSec, r.MBPerSec, r.P50ms, r.P99ms, 100*r.OtherCPU)
	}
	for _, r := range rep.Loopback {
		fmt.Fprintf(tw, "%s\t%.0f req/s\t%.0f MB/s\t%.0f%%\n", r.Name, r.OpsPerSec, r.MBPerSec, 100*r.OtherCPU)
	}
	tw.Flush()

	fmt.Fprintf(tw, "\nS3 THROUGH aws-sdk-go-v2\nphase\tops\tops/s\tMB/s\tp50 ms\tp99 ms\tserver CPU ms/op\tclient CPU ms/op\tother processes' CPU\n")
	for _, r := range rep.S3 {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t%.0f%%\n", r.Name, r.Ops, r.OpsPerSec, r.MBPerSec, r.P50ms, r.P99ms, r.ServerCPUop, r.ClientCPUop, 100*r.OtherCPU)
	}
	tw.Flush()
	if len(rep.Memory) > 0 {
		fmt.Fprintf(tw, "\nLARGE UPLOADS (server memory sampled every 100 ms)\nupload\tseconds\tMB/s\tpeak VmRSS MiB\tVmHWM MiB\tRSS before MiB\tserver CPU s\tclient CPU s\tother processes' CPU\n")
		for _, m := range rep.Memory {
			if m.Skipped != "" {
				fmt.Fprintf(tw, "%s\tskipped: %s\n", m.Name, m.Skipped)
				continue
			}
			hwm := fmt.Sprintf("%.1f", m.HWMMiB)
			if !m.HWMReset {
				hwm += " (lifetime)"
			}
			fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.1f\t%s\t%.1f\t%.1f\t%.1f\t%.0f%%\n", m.Name, m.Seconds, m.MBPerSec, m.PeakRSSMiB, hwm, m.BaseRSSMiB, m.ServerCPU, m.ClientCPU, 100*m.OtherCPU)
		}
		tw.Flush()
	}
	fmt.Fprintf(out, "\nHOW THE SDK SENT BODIES (x-amz-content-sha256; checksum headers)\n")
	for _, r := range rep.S3 {
		if modes := rep.Wire[r.Name]; len(modes) > 0 {
			fmt.Fprintf(out, "  %-30s %s\n", r.Name, strings.Join(modes, " | "))
		}
	}
	for _, m := range rep.Memory {
		if modes := rep.Wire[m.Name]; len(modes) > 0 {
			fmt.Fprintf(out, "  %-30s %s\n", m.Name, strings.Join(modes, " | "))
		}
	}

	if len(rep.Rows) > 0 {
		printRows(out, "S3 SUMMARY", rep.Rows)
	}
	if len(rep.Profiles) > 0 {
		fmt.Fprintf(out, "\nPERF PROFILES (server system calls per operation; hot spots in the files)\n")
		for _, r := range rep.S3 {
			path, ok := rep.Profiles[r.Name]
			if !ok {
				continue
			}
			var calls []string
			for _, sc := range tracedSyscalls {
				if n := r.SyscallsPerOp[sc]; n >= 0.005 {
					calls = append(calls, fmt.Sprintf("%s %.2f", sc, n))
				}
			}
			fmt.Fprintf(out, "  %-30s %s\n  %-30s %s\n", r.Name, path, "", strings.Join(calls, ", "))
		}
	}
}

// printRows writes one summary table: figure, value, limit or reference,
// ratio, target, met.
func printRows(out io.Writer, title string, rows []row) {
	tw := tabwriter.NewWriter(out, 2, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "\n%s\nfigure\tvalue\tlimit / reference\tratio\ttarget\tmet\n", title)
	for _, r := range rows {
		limit, ratio := "-", "-"
		if r.LimitName != "" {
			limit = fmt.Sprintf("%s %s (%s)", num(r.Limit), r.Unit, r.LimitName)
		}
		switch {
		case r.Limit > 0 && r.LowerBetter:
			ratio = fmt.Sprintf("%.2fx", r.Ratio)
		case r.Limit > 0:
			ratio = fmt.Sprintf("%.0f%%", 100*r.Ratio)
		}
		value := num(r.Value) + " " + r.Unit
		met := "-"
		switch {
		case r.Note != "":
			value, met = "-", r.Note
		case r.Met != nil && *r.Met:
			met = "yes"
		case r.Met != nil:
			met = "NO"
		}
		target := r.Target
		if target == "" {
			target = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Figure, value, limit, ratio, target, met)
	}
	tw.Flush()
}

// num formats a figure with the precision its size deserves.
func num(v float64) string {
	switch a := math.Abs(v); {
	case a == 0:
		return "0"
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func writeJSON(path string, rep *report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
