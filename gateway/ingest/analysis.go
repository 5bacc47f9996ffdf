package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"dewar/cas"
	"dewar/gateway/analyze"
	"dewar/index"
)

// DefaultAnalysisBudget is the default Options.AnalysisBudget.
const DefaultAnalysisBudget = 64 << 20

// Content analysis of a job's files (gateway/analyze) runs after the
// job's blobs are committed, one file at a time, streaming each back from
// the store, and only for files that have no analysis yet: new files, and
// known files whose earlier analysis never landed. Re-ingesting an archive
// therefore analyses nothing. The upload itself is a file of the job and is
// analysed like the others; as an archive it gets the fuzzy hashes only
// (see gateway/analyze).
//
// The records travel in JobResult.Analyses, so they land in the same
// transaction as the files (the index records an analysis only for a file
// it knows). They are kept in memory until then, up to AnalysisBudget
// (estimated bytes); the files beyond it are analysed after Finish and
// recorded one by one with SetAnalysis, so memory stays bounded however
// many files and indicators a hostile archive holds. Those late records
// miss the job's token frequencies (counted in Finish), and if the process
// dies before they land, the files are left unanalysed until `dewar
// reanalyze` or their next ingestion does them.

// analyses returns the records of c's files that need one, within the
// budget, and the files left for after Finish. Files the analyzers crash on
// are left out with a warning. Errors are the store's or the index's.
func (r *Runner) analyses(ctx context.Context, c *collector) (out []index.Analysis, later []index.File, warnings []string, err error) {
	files := make([]index.File, 0, len(c.files))
	for _, f := range c.files {
		files = append(files, f)
	}
	slices.SortFunc(files, func(a, b index.File) int { return bytes.Compare(a.Ref.Bytes(), b.Ref.Bytes()) })
	var used int64
	for _, f := range files {
		need, err := r.needsAnalysis(ctx, f.Ref)
		if err != nil {
			return nil, nil, nil, err
		}
		if !need {
			continue
		}
		if used >= r.o.AnalysisBudget {
			later = append(later, f)
			continue
		}
		a, err := analyze.Blob(ctx, r.o.Store, f.Ref, f.MIME, r.o.Analyze)
		switch {
		case errors.Is(err, analyze.ErrCrashed):
			r.log.Error("ingest: an analyzer crashed; the file is stored without analysis", "file", f.Ref, "err", err)
			warnings = append(warnings, fmt.Sprintf("analysis of %s failed: an analyzer crashed on it", f.Ref))
			continue
		case err != nil:
			return nil, nil, nil, &storeError{err}
		}
		used += recordSize(a)
		out = append(out, a)
	}
	return out, later, warnings, nil
}

// needsAnalysis reports whether ref has no analysis: a file new to the
// index, or a known one without a record.
func (r *Runner) needsAnalysis(ctx context.Context, ref cas.Ref) (bool, error) {
	_, err := r.o.Index.GetFile(ctx, ref)
	if errors.Is(err, index.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	_, err = r.o.Index.GetAnalysis(ctx, ref)
	if errors.Is(err, index.ErrNotFound) {
		return true, nil
	}
	return false, err
}

// analyseLater records the analyses of files left over the budget, now
// that Finish made them known to the index. Failures are logged: the files
// stay unanalysed for reanalyze.
func (r *Runner) analyseLater(ctx context.Context, jobID string, files []index.File) {
	done := 0
	for _, f := range files {
		if ctx.Err() != nil {
			break
		}
		need, err := r.needsAnalysis(ctx, f.Ref)
		if err == nil && !need {
			continue
		}
		a, err := analyze.Blob(ctx, r.o.Store, f.Ref, f.MIME, r.o.Analyze)
		if err == nil {
			err = r.o.Index.SetAnalysis(ctx, a)
		}
		if err != nil {
			r.log.Warn("ingest: analysis after the job finished failed; dewar reanalyze will retry", "job", jobID, "file", f.Ref, "err", err)
			continue
		}
		done++
	}
	r.log.Info("ingest: analysed the files over the analysis budget", "job", jobID, "files", done, "of", len(files))
}

// recordSize estimates the memory a record holds: its strings and slices
// with their headers.
func recordSize(a index.Analysis) int64 {
	const hdr = 16
	n := int64(256 + len(a.SSDeep) + len(a.TLSH) + len(a.PDQ) + len(a.PHash) + len(a.Language))
	for _, t := range a.Tokens {
		n += int64(hdr + len(t))
	}
	for _, c := range a.IOCs {
		n += int64(5*hdr + len(c.Type) + len(c.Value) + len(c.Chain) + len(c.Class) + len(c.Context))
	}
	n += int64(24*len(a.Keys) + 4*len(a.MinHash) + 48*len(a.Versions))
	return n
}
