// Package ingest runs the ingestion queue: workers claim jobs with a lease
// they keep renewing, walk the upload (analyzers/archive), store every file
// once in the content store, hash and sniff it, analyse the files that
// have no analysis yet (analysis.go), and record the tree and the result
// in one transaction that only lands while the lease still
// holds — so a job interrupted by a crash is picked up again and produces
// exactly one result.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"dewar/analyzers/archive"
	"dewar/cas"
	"dewar/gateway/analyze"
	"dewar/index"
)

// Index is what ingestion needs of the index.
type Index interface {
	index.Queue
	index.Files
	index.Jobs
	index.Analyses
}

// Options configure a Runner.
type Options struct {
	Store cas.Store
	Index Index
	// Workers is how many jobs run at once (default 2).
	Workers int
	// Node names this process in lease owners ("node/pid/worker-N"); a
	// restarted node expires the leases its earlier life left.
	Node string
	// LeaseTTL is how long a claim lasts without a heartbeat (default 30s);
	// heartbeats come every third of it.
	LeaseTTL time.Duration
	// Poll is how often idle workers look for work (default 1s); Notify
	// wakes them at once.
	Poll time.Duration
	// MaxAttempts before a job that keeps failing for transient reasons,
	// or whose attempts keep being cut off by a dying process, is marked
	// failed (default 5).
	MaxAttempts int
	// Archive limits and passwords.
	Limits    archive.Limits
	Passwords []string
	// TempDir holds spools of uploads and nested archives; New creates it
	// when missing ("" is the system's temp directory).
	TempDir string
	Logger  *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Analyze analyses one file (nil: gateway/analyze's defaults).
	Analyze analyze.Func
	// AnalysisBudget bounds the estimated bytes of analysis records a job
	// keeps for its Finish (default DefaultAnalysisBudget); see
	// analysis.go.
	AnalysisBudget int64
	// AnalysisWorkers is how many of a job's files are analysed at once
	// (default: the CPUs Go may use), so one large kit uses every core.
	AnalysisWorkers int
}

// Runner owns the workers.
type Runner struct {
	o    Options
	wake chan struct{}
	log  *slog.Logger
}

// New returns a Runner; call Run to start it.
func New(o Options) (*Runner, error) {
	if o.Store == nil || o.Index == nil {
		return nil, errors.New("ingest: Options need Store and Index")
	}
	if o.Workers <= 0 {
		o.Workers = 2
	}
	if o.Node == "" {
		host, _ := os.Hostname()
		o.Node = host
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 30 * time.Second
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.Limits == (archive.Limits{}) {
		o.Limits = archive.DefaultLimits()
	}
	if o.Passwords == nil {
		o.Passwords = archive.DefaultPasswords
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Analyze == nil {
		o.Analyze = analyze.With(analyze.Options{})
	}
	if o.AnalysisBudget <= 0 {
		o.AnalysisBudget = DefaultAnalysisBudget
	}
	if o.AnalysisWorkers <= 0 {
		o.AnalysisWorkers = runtime.GOMAXPROCS(0)
	}
	if o.TempDir != "" {
		if err := os.MkdirAll(o.TempDir, 0o700); err != nil {
			return nil, fmt.Errorf("ingest: temp dir: %w", err)
		}
	}
	return &Runner{o: o, wake: make(chan struct{}, 1), log: o.Logger}, nil
}

// Notify wakes an idle worker (a job was queued).
func (r *Runner) Notify() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// ownerPrefix is this node's lease-owner prefix.
func (r *Runner) ownerPrefix() string { return r.o.Node + "/" }

// Run expires the leases an earlier life of this node left behind, then
// runs the workers until ctx ends. Jobs in flight when ctx ends are handed
// back to the queue.
func (r *Runner) Run(ctx context.Context) error {
	if n, err := r.o.Index.ExpireLeases(ctx, r.ownerPrefix()); err != nil {
		return fmt.Errorf("ingest: expiring old leases: %w", err)
	} else if n > 0 {
		r.log.Info("ingest: resuming jobs interrupted by a restart", "jobs", n)
	}
	var wg sync.WaitGroup
	for i := range r.o.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.work(ctx, fmt.Sprintf("%s%d/worker-%d", r.ownerPrefix(), os.Getpid(), i))
		}()
	}
	wg.Wait()
	return nil
}

// work is one worker's loop.
func (r *Runner) work(ctx context.Context, owner string) {
	for ctx.Err() == nil {
		j, lease, err := r.o.Index.Claim(ctx, owner, r.o.LeaseTTL)
		if errors.Is(err, index.ErrNoJob) {
			// Idle: count what finished jobs (this life's or an earlier
			// one's) left waiting.
			r.countTokens(ctx, math.MaxInt)
			select {
			case <-ctx.Done():
				return
			case <-r.wake:
			case <-time.After(r.o.Poll):
			}
			continue
		}
		if err != nil {
			if ctx.Err() == nil {
				r.log.Error("ingest: claim failed", "err", err)
				time.Sleep(r.o.Poll)
			}
			continue
		}
		// More work may be waiting: let another idle worker look too.
		r.Notify()
		r.run(ctx, j, lease)
		// The job's own count, and a few more, so counting keeps up under
		// a steady stream of jobs too.
		r.countTokens(ctx, 4)
	}
}

// countTokens counts up to max done jobs' tokens in their job
// frequencies (index.Queue.CountJobTokens). Failures are logged; the
// jobs stay queued for the next call.
func (r *Runner) countTokens(ctx context.Context, max int) {
	n, err := r.o.Index.CountJobTokens(ctx, max)
	if err != nil && ctx.Err() == nil {
		r.log.Error("ingest: counting finished jobs' tokens failed; will retry", "err", err)
	}
	if n > 0 {
		r.log.Debug("ingest: counted finished jobs' tokens", "jobs", n)
	}
}

// run processes one claimed job, keeping its lease alive.
func (r *Runner) run(ctx context.Context, j index.Job, lease index.Lease) {
	jctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var mu sync.Mutex
	current := lease
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		t := time.NewTicker(r.o.LeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-jctx.Done():
				return
			case <-t.C:
				mu.Lock()
				l, err := r.o.Index.Heartbeat(jctx, current, r.o.LeaseTTL)
				if err == nil {
					current = l
				}
				mu.Unlock()
				if errors.Is(err, index.ErrLeaseLost) {
					cancel(err)
					return
				}
			}
		}
	}()
	start := time.Now()
	var res *index.JobResult
	var perr error
	var later []index.File // analysed after Finish (over the budget)
	if j.Attempts > r.o.MaxAttempts {
		// Every earlier attempt ended without a result or a retry: the
		// process died under it (killed, out of memory). Taking it again
		// could crash the server again, forever.
		res = &index.JobResult{Status: index.JobFailed, Error: fmt.Sprintf(
			"gave up after %d attempts: each was interrupted (the server stopped or crashed while processing this upload)", j.Attempts-1)}
	} else {
		res, perr = r.processSafely(jctx, j, &later)
	}
	cancel(nil)
	<-hbDone
	mu.Lock()
	lease = current
	mu.Unlock()
	log := r.log.With("job", j.ID, "name", j.Name, "attempt", j.Attempts)

	if perr != nil {
		// Not the archive's fault: the store, the index, or a shutdown.
		switch {
		case errors.Is(context.Cause(jctx), index.ErrLeaseLost):
			log.Warn("ingest: lease lost; another worker has the job", "err", perr)
			return
		case ctx.Err() != nil:
			// Shutting down: hand the job back for the next start.
			if err := r.o.Index.Retry(context.WithoutCancel(ctx), lease, 0, "interrupted by shutdown"); err != nil && !errors.Is(err, index.ErrLeaseLost) {
				log.Error("ingest: could not hand back job", "err", err)
			}
			return
		case j.Attempts >= r.o.MaxAttempts:
			res = &index.JobResult{Status: index.JobFailed, Error: fmt.Sprintf("gave up after %d attempts: %v", j.Attempts, perr)}
		default:
			delay := backoff(j.Attempts)
			log.Warn("ingest: attempt failed; will retry", "err", perr, "in", delay)
			if err := r.o.Index.Retry(ctx, lease, delay, perr.Error()); err != nil {
				log.Error("ingest: retry failed", "err", err)
			}
			return
		}
	}
	res.Commit = func(ctx context.Context, ref cas.Ref) error {
		_, err := r.o.Store.Stat(ctx, ref)
		return err
	}
	done, err := r.o.Index.Finish(ctx, lease, *res)
	switch {
	case errors.Is(err, index.ErrLeaseLost):
		log.Warn("ingest: lease lost before finishing; another worker has the job")
	case errors.Is(err, cas.ErrNotFound):
		// A blob vanished between storing and recording (a racing delete
		// of the same bytes elsewhere): walk again.
		log.Warn("ingest: a stored file vanished before the job was recorded; retrying", "err", err)
		_ = r.o.Index.Retry(ctx, lease, backoff(j.Attempts), err.Error())
	case err != nil:
		log.Error("ingest: recording the result failed; will retry", "err", err)
		_ = r.o.Index.Retry(ctx, lease, backoff(j.Attempts), err.Error())
	default:
		log.Info("ingest: job finished", "status", done.Status, "error", done.Error,
			"files", done.Stats.Files, "new_files", done.Stats.NewFiles, "bytes", done.Stats.Bytes,
			"new_bytes", done.Stats.NewBytes, "analysed", len(res.Analyses), "took", time.Since(start).Round(time.Millisecond))
		if len(later) > 0 {
			r.analyseLater(ctx, j.ID, later)
		}
	}
}

// processSafely is process with a panic (a decoder tripping over crafted
// input) turned into the job's failure: one hostile upload must not take
// the server down, nor, retried after the restart, take it down again.
func (r *Runner) processSafely(ctx context.Context, j index.Job, later *[]index.File) (res *index.JobResult, err error) {
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("ingest: analysis panicked; the job fails", "job", j.ID, "name", j.Name, "panic", p, "stack", string(debug.Stack()))
			res, err = &index.JobResult{Status: index.JobFailed, Error: fmt.Sprintf("analysis crashed on this upload: %v", p)}, nil
		}
	}()
	return r.process(ctx, j, later)
}

// backoff is the delay before attempt n+1: 2s, 4s, 8s ... capped at 5 min.
func backoff(attempt int) time.Duration {
	d := 2 * time.Second << min(max(attempt-1, 0), 8)
	return min(d, 5*time.Minute)
}
