package analyze

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"

	"dewar/cas"
	"dewar/index"
)

// Errors of this package.
var (
	// ErrCrashed: an analyzer panicked on a file's bytes. The file is left
	// without a (new) analysis; the process goes on.
	ErrCrashed = errors.New("analyze: an analyzer crashed on this file")
	// ErrUnknownAnalyzer: Reanalyze was asked for an analysis Versions
	// does not name.
	ErrUnknownAnalyzer = errors.New("analyze: unknown analyzer")
)

// Func analyses one file's bytes; Analyze with fixed Options is one.
// Ingestion and Reanalyze take one so tests can count or fail runs.
type Func func(ctx context.Context, r io.Reader, mimeHint string) (index.Analysis, error)

// With returns Analyze with o as a Func.
func With(o Options) Func {
	return func(ctx context.Context, r io.Reader, mimeHint string) (index.Analysis, error) {
		return Analyze(ctx, r, mimeHint, o)
	}
}

// Blob analyses a stored blob with fn (nil: Analyze with default
// Options), streaming it from the store, and sets the record's Ref. A
// panic inside the analyzers becomes ErrCrashed, so one hostile file
// cannot stop an ingestion or a re-analysis run. A missing blob is
// cas.ErrNotFound.
func Blob(ctx context.Context, st cas.Fetcher, ref cas.Ref, mimeHint string, fn Func) (a index.Analysis, err error) {
	if fn == nil {
		fn = With(Options{})
	}
	rc, err := st.Fetch(ctx, ref, 0, -1)
	if err != nil {
		return index.Analysis{}, fmt.Errorf("analyze: %s: %w", ref, err)
	}
	defer rc.Close()
	defer func() {
		if p := recover(); p != nil {
			a, err = index.Analysis{}, fmt.Errorf("%w: %s: %v", ErrCrashed, ref, p)
		}
	}()
	a, err = fn(ctx, rc, mimeHint)
	if err != nil {
		return index.Analysis{}, fmt.Errorf("analyze: %s: %w", ref, err)
	}
	a.Ref = ref
	return a, nil
}

// Index is what re-analysis needs of the index.
type Index interface {
	index.Analyses
	index.Files
}

// ReanalyzeOptions configure Reanalyze.
type ReanalyzeOptions struct {
	// Analyzer limits the run to files stale for this analysis (a name in
	// Versions); "" means any.
	Analyzer string
	// Workers analyse files in parallel (default 1).
	Workers int
	// Page is how many stale refs are asked for at a time (default 256).
	Page int
	// Analyze runs the analysis; nil means Analyze with default Options.
	Analyze Func
	// Progress, when set, is called after every file with the totals so
	// far; calls are serialised.
	Progress func(ReanalyzeReport)
	// OnError, when set, is told of every file that could not be
	// re-analysed (a missing blob, a crashed analyzer); calls are
	// serialised. The run goes on without it.
	OnError func(ref cas.Ref, err error)
}

// ReanalyzeReport counts what a run did.
type ReanalyzeReport struct {
	Analyzed int64 `json:"analyzed"` // files analysed and recorded
	Bytes    int64 `json:"bytes"`    // their size
	Missing  int64 `json:"missing"`  // blobs missing from the store or damaged (see dewar verify)
	Failed   int64 `json:"failed"`   // files an analyzer crashed on
	Gone     int64 `json:"gone"`     // files that left the index meanwhile
}

// Reanalyze brings the analyses of stored files up to the current
// Versions: for each analysis (or opts.Analyzer), it pages through the
// files whose recorded version is older or missing (index StaleFiles, in
// ref order) and records a fresh analysis of each (SetAnalysis replaces
// the whole record, with every current version).
//
// It is resumable and needs no state of its own: the recorded versions are
// the progress, so a run that was interrupted, or that failed on a file,
// is continued by running it again. Files that cannot be analysed (see
// OnError) stay stale and are skipped for the rest of the run. It works
// beside a running server: ingestion records analyses only for files that
// have none, and both write whole records.
//
// Errors: ErrUnknownAnalyzer, ctx's, and the index's or store's other
// than a missing blob (the run stops at the first; what was recorded
// stays).
func Reanalyze(ctx context.Context, st cas.Fetcher, idx Index, opts ReanalyzeOptions) (ReanalyzeReport, error) {
	versions := Versions()
	names := slices.Sorted(maps.Keys(versions))
	if opts.Analyzer != "" {
		if _, ok := versions[opts.Analyzer]; !ok {
			return ReanalyzeReport{}, fmt.Errorf("%w %q (known: %v)", ErrUnknownAnalyzer, opts.Analyzer, names)
		}
		names = []string{opts.Analyzer}
	}
	if opts.Workers <= 0 {
		opts.Workers = 1
	}
	if opts.Page <= 0 {
		opts.Page = 256
	}
	r := &reanalyzer{st: st, idx: idx, o: opts, skip: map[cas.Ref]bool{}}
	for _, name := range names {
		if err := r.pass(ctx, name, versions[name]); err != nil {
			return r.report, err
		}
	}
	return r.report, nil
}

type reanalyzer struct {
	st  cas.Fetcher
	idx Index
	o   ReanalyzeOptions

	mu     sync.Mutex
	report ReanalyzeReport
	// skip holds the files that failed in an earlier pass of this run:
	// they are still stale for every later pass.
	skip map[cas.Ref]bool
}

// pass re-analyses the files stale for one analysis.
func (r *reanalyzer) pass(ctx context.Context, name string, version int) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	refs := make(chan cas.Ref)
	var wg sync.WaitGroup
	for range r.o.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ref := range refs {
				if err := r.one(ctx, ref); err != nil {
					cancel(err)
					return
				}
			}
		}()
	}
	var after cas.Ref
	var listErr error
list:
	for {
		page, err := r.idx.StaleFiles(ctx, name, version, after, r.o.Page)
		if err != nil {
			listErr = err
			break
		}
		for _, ref := range page {
			r.mu.Lock()
			skip := r.skip[ref]
			r.mu.Unlock()
			if skip {
				continue
			}
			select {
			case refs <- ref:
			case <-ctx.Done():
				break list
			}
		}
		if len(page) < r.o.Page {
			break
		}
		after = page[len(page)-1]
	}
	close(refs)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	if listErr != nil {
		return fmt.Errorf("analyze: listing files stale for %s: %w", name, listErr)
	}
	return nil
}

// one re-analyses one file. Errors it returns stop the run.
func (r *reanalyzer) one(ctx context.Context, ref cas.Ref) error {
	f, err := r.idx.GetFile(ctx, ref)
	if errors.Is(err, index.ErrNotFound) {
		r.count(func(rep *ReanalyzeReport) { rep.Gone++ })
		return nil
	}
	if err != nil {
		return err
	}
	a, err := Blob(ctx, r.st, ref, f.MIME, r.o.Analyze)
	switch {
	case errors.Is(err, cas.ErrNotFound), errors.Is(err, cas.ErrCorrupt):
		r.fail(ref, err, func(rep *ReanalyzeReport) { rep.Missing++ })
		return nil
	case errors.Is(err, ErrCrashed):
		r.fail(ref, err, func(rep *ReanalyzeReport) { rep.Failed++ })
		return nil
	case err != nil:
		return err
	}
	err = r.idx.SetAnalysis(ctx, a)
	if errors.Is(err, index.ErrNotFound) {
		r.count(func(rep *ReanalyzeReport) { rep.Gone++ })
		return nil
	}
	if err != nil {
		return fmt.Errorf("analyze: recording %s: %w", ref, err)
	}
	r.count(func(rep *ReanalyzeReport) { rep.Analyzed++; rep.Bytes += f.Size })
	return nil
}

func (r *reanalyzer) fail(ref cas.Ref, err error, fn func(*ReanalyzeReport)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.skip[ref] = true
	if r.o.OnError != nil {
		r.o.OnError(ref, err)
	}
	fn(&r.report)
	if r.o.Progress != nil {
		r.o.Progress(r.report)
	}
}

func (r *reanalyzer) count(fn func(*ReanalyzeReport)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fn(&r.report)
	if r.o.Progress != nil {
		r.o.Progress(r.report)
	}
}
