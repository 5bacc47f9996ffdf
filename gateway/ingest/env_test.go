package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"dewar/cas"
	"dewar/cas/filestore"
	"dewar/index"
	"dewar/index/sqlindex"
	"dewar/index/sqlite"
	"dewar/test/fixtures"
)

// env is a real filestore and a real SQLite index in a temp dir, with jobs
// created the way the gateway creates them (upload stored, then the job
// and its queue row in one CreateJob).
type env struct {
	t     *testing.T
	dir   string
	store *filestore.Store
	idx   *sqlindex.Index
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	st, err := filestore.Open(filepath.Join(dir, "store"), filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ix, err := sqlite.Open(filepath.Join(dir, "index.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	return &env{t: t, dir: dir, store: st, idx: ix}
}

// runner returns a Runner over the env with fast polling; o's zero fields
// are filled in.
func (e *env) runner(o Options) *Runner {
	e.t.Helper()
	if o.Store == nil {
		o.Store = e.store
	}
	if o.Index == nil {
		o.Index = e.idx
	}
	if o.Node == "" {
		o.Node = "test"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Poll == 0 {
		o.Poll = 20 * time.Millisecond
	}
	if o.TempDir == "" {
		o.TempDir = filepath.Join(e.dir, "tmp")
		if err := os.MkdirAll(o.TempDir, 0o755); err != nil {
			e.t.Fatal(err)
		}
	}
	r, err := New(o)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// start runs r until the test ends (or the returned stop is called).
func (e *env) start(r *Runner) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := r.Run(ctx); err != nil {
			e.t.Errorf("Run: %v", err)
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	e.t.Cleanup(stop)
	return stop
}

// submit stores data and creates its job.
func (e *env) submit(name string, data []byte, knownGood bool) index.Job {
	e.t.Helper()
	ctx := context.Background()
	ref, _, err := e.store.Put(ctx, bytes.NewReader(data), cas.StageOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	j := index.Job{ID: index.NewJobID(now), Name: name, KnownGood: knownGood, Status: index.JobQueued,
		SubmittedAt: now, UpdatedAt: now, Submitter: "tester", Upload: ref.Ref, UploadSize: ref.Size}
	commit := func(ctx context.Context) error { _, err := e.store.Stat(ctx, ref.Ref); return err }
	if _, err := e.idx.CreateJob(ctx, index.NewJob{Job: j, Commit: commit}); err != nil {
		e.t.Fatal(err)
	}
	return j
}

// wait polls until every job is done or failed.
func (e *env) wait(ids ...string) map[string]index.Job {
	e.t.Helper()
	out := map[string]index.Job{}
	deadline := time.Now().Add(2 * time.Minute)
	for _, id := range ids {
		for {
			j, err := e.idx.GetJob(context.Background(), id)
			if err != nil {
				e.t.Fatal(err)
			}
			if !j.Status.Waiting() {
				out[id] = j
				break
			}
			if time.Now().After(deadline) {
				e.t.Fatalf("job %s still %s (attempts %d, error %q)", id, j.Status, j.Attempts, j.Error)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return out
}

// tree returns a job's whole tree.
func (e *env) tree(id string) []index.TreeEntry {
	e.t.Helper()
	var out []index.TreeEntry
	after := ""
	for {
		page, more, err := e.idx.ListTree(context.Background(), id, index.TreeListOptions{After: after, Limit: 500})
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, page...)
		if !more || len(page) == 0 {
			return out
		}
		after = page[len(page)-1].TreeKey()
	}
}

// blobCount counts the blobs in the store.
func (e *env) blobCount() int {
	e.t.Helper()
	n := 0
	if err := e.store.Walk(context.Background(), cas.Ref{}, func(cas.BlobInfo) error { n++; return nil }); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// entryOf is a tree entry in the fixtures' terms. The tree has no
// hardlink type: hard links are "other" with their target; only files
// have a size.
func entryOf(e index.TreeEntry) fixtures.Want {
	w := fixtures.Want{Path: e.Path, Type: string(e.Type), Target: e.Target, RawPath: e.RawPath}
	if e.Type == index.TreeFile {
		w.Size, w.SHA256 = e.Size, e.Blob.String()
	}
	return w
}

// checkJob compares a finished job with the fixture's expectation: status,
// error or warnings, and the tree (exactly, or each expected entry present).
func checkJob(t *testing.T, f fixtures.Fixture, j index.Job, tree []index.TreeEntry) {
	t.Helper()
	checkOutcome(t, f, string(j.Status), j.Error, j.Warnings)
	got := make([]fixtures.Want, len(tree))
	for i, e := range tree {
		got[i] = entryOf(e)
	}
	CompareTree(t, f, got)
}

// checkOutcome checks a job's status, error and warnings against the
// fixture's outcome.
func checkOutcome(t *testing.T, f fixtures.Fixture, status, errText string, warnings []string) {
	t.Helper()
	o := f.Outcome
	wantText := ""
	switch {
	case o.Limit != "":
		wantText = "limit " + o.Limit + " exceeded"
	case o.Err != nil && o.Kind != fixtures.NotArchive:
		wantText = o.Err.Error()
	}
	switch o.Kind {
	case fixtures.OK:
		if status != "done" || errText != "" || len(warnings) > 0 {
			t.Errorf("status %s, error %q, warnings %q; want done without either", status, errText, warnings)
		}
	case fixtures.Warned:
		if status != "done" || errText != "" || !anyContains(warnings, wantText) {
			t.Errorf("status %s, error %q, warnings %q; want done with a warning naming %q", status, errText, warnings, wantText)
		}
	case fixtures.Failed:
		if status != "failed" || !strings.Contains(errText, wantText) {
			t.Errorf("status %s, error %q; want failed naming %q", status, errText, wantText)
		}
	case fixtures.NotArchive:
		if len(f.Data) == 0 {
			if status != "failed" || !strings.Contains(errText, "empty upload") {
				t.Errorf("empty upload: status %s, error %q; want failed, empty upload", status, errText)
			}
		} else if status != "done" || errText != "" {
			t.Errorf("single file: status %s, error %q; want done", status, errText)
		}
	}
}

func anyContains(list []string, s string) bool {
	for _, x := range list {
		if strings.Contains(x, s) {
			return true
		}
	}
	return false
}

// CompareTree compares a recorded tree (sorted by path) with the fixture's
// expectation, naming a few differences.
func CompareTree(t *testing.T, f fixtures.Fixture, got []fixtures.Want) {
	t.Helper()
	want, exact := f.ExpectedTree(), f.ExactTree()
	if d := fixtures.TreeDiff(want, got, exact); d != "" {
		t.Errorf("tree of %d entries, want %d (exact %v): %s", len(got), len(want), exact, d)
	}
}

// failingStore is a store whose writes fail while fail is set (a broken
// disk); it hides the filestore's Batcher, so ingestion stages each file.
type failingStore struct {
	cas.Store
	fail atomic.Bool
}

var errDisk = errors.New("disk on fire")

func (s *failingStore) Stage(ctx context.Context, r io.Reader, opts cas.StageOptions) (cas.Staged, error) {
	if s.fail.Load() {
		return nil, errDisk
	}
	return s.Store.Stage(ctx, r, opts)
}
