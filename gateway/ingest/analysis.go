package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"golang.org/x/sync/errgroup"

	"dewar/cas"
	"dewar/gateway/analyze"
	"dewar/index"
)

// DefaultAnalysisBudget is the default Options.AnalysisBudget.
const DefaultAnalysisBudget = 24 << 20

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
// recorded in batches with SetAnalyses, so memory stays bounded however
// many files and indicators a hostile archive holds. The worker counts the
// job's tokens (CountJobTokens) after those late records, so they count
// too; if the process dies before they land, the job is counted without
// them at the next start and the files are left unanalysed until `dewar
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
	need, err := r.unanalysed(ctx, files)
	if err != nil {
		return nil, nil, nil, err
	}
	// Files are analysed AnalysisWorkers at a time; once the records
	// reach the budget no more are started, and the rest wait for
	// analyseLater. Records keep need's order.
	results := make([]*index.Analysis, len(need))
	var (
		mu   sync.Mutex
		used int64
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.o.AnalysisWorkers)
	for i, f := range need {
		mu.Lock()
		over := used >= r.o.AnalysisBudget
		mu.Unlock()
		if over {
			later = append(later, need[i:]...)
			break
		}
		g.Go(func() error {
			a, err := analyze.Blob(gctx, r.o.Store, f.Ref, f.MIME, r.o.Analyze)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, analyze.ErrCrashed):
				r.log.Error("ingest: an analyzer crashed; the file is stored without analysis", "file", f.Ref, "err", err)
				warnings = append(warnings, fmt.Sprintf("analysis of %s failed: an analyzer crashed on it", f.Ref))
				return nil
			case err != nil:
				return &storeError{err}
			}
			used += recordSize(a)
			results[i] = &a
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, nil, err
	}
	for _, a := range results {
		if a != nil {
			out = append(out, *a)
		}
	}
	slices.Sort(warnings)
	return out, later, warnings, nil
}

// unanalysed returns those of files with no analysis: files new to the
// index, and known ones whose record never landed.
func (r *Runner) unanalysed(ctx context.Context, files []index.File) ([]index.File, error) {
	refs := make([]cas.Ref, len(files))
	for i, f := range files {
		refs[i] = f.Ref
	}
	missing, err := r.o.Index.Unanalysed(ctx, refs)
	if err != nil {
		return nil, err
	}
	out := make([]index.File, 0, len(missing))
	byRef := make(map[cas.Ref]index.File, len(files))
	for _, f := range files {
		byRef[f.Ref] = f
	}
	for _, ref := range missing {
		out = append(out, byRef[ref])
	}
	return out, nil
}

// analyseLater records the analyses of files left over the budget, now
// that Finish made them known to the index, in batches of laterBatch
// estimated bytes (one transaction each). Failures are logged: the files
// stay unanalysed for reanalyze.
func (r *Runner) analyseLater(ctx context.Context, jobID string, files []index.File) {
	need, err := r.unanalysed(ctx, files)
	if err != nil {
		need = files // analysing twice is harmless; SetAnalyses replaces
	}
	done := 0
	var batch []index.Analysis
	var size int64
	flush := func() {
		if len(batch) == 0 {
			return
		}
		err := r.o.Index.SetAnalyses(ctx, batch)
		if errors.Is(err, index.ErrFileNotFound) {
			// A file went (gc) since Finish: record the others one by one.
			for _, a := range batch {
				if err := r.o.Index.SetAnalysis(ctx, a); err == nil {
					done++
				}
			}
		} else if err != nil {
			r.log.Warn("ingest: recording analyses after the job finished failed; dewar reanalyze will retry", "job", jobID, "files", len(batch), "err", err)
		} else {
			done += len(batch)
		}
		batch, size = batch[:0], 0
	}
	for _, f := range need {
		if ctx.Err() != nil {
			break
		}
		a, err := analyze.Blob(ctx, r.o.Store, f.Ref, f.MIME, r.o.Analyze)
		if err != nil {
			r.log.Warn("ingest: analysis after the job finished failed; dewar reanalyze will retry", "job", jobID, "file", f.Ref, "err", err)
			continue
		}
		batch = append(batch, a)
		if size += recordSize(a); size >= laterBatch {
			flush()
		}
	}
	flush()
	r.log.Info("ingest: analysed the files over the analysis budget", "job", jobID, "files", done, "of", len(files))
}

// laterBatch is the estimated size of the analyses analyseLater records
// in one transaction.
const laterBatch = 2 << 20

// recordSize estimates the memory a record holds: its strings with their
// headers and allocation rounding, and its slices. The index copies parts
// of a record while it writes it, which the budget's size leaves room for.
func recordSize(a index.Analysis) int64 {
	const hdr = 32
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
