package analyze

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"dewar/cas"
	"dewar/cas/filestore"
	"dewar/index"
	"dewar/index/sqlite"
)

// TestReanalyzeSQLite runs re-analysis against the real SQLite index and
// file store: files recorded by a job without analyses get them; an
// analyzer's version bump (an older recorded version) redoes only those
// files; an interrupted run resumes.
func TestReanalyzeSQLite(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := filestore.Open(filepath.Join(dir, "store"), filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ix, err := sqlite.Open(filepath.Join(dir, "index.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()

	// One job whose files are 8 kit variants, recorded without analyses.
	up, _, err := st.Put(ctx, bytes.NewReader([]byte("upload")), cas.StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	j := index.Job{ID: index.NewJobID(now), Name: "kits.zip", Status: index.JobQueued, SubmittedAt: now, UpdatedAt: now,
		Submitter: "t", Upload: up.Ref, UploadSize: up.Size}
	commit := func(ctx context.Context) error { _, err := st.Stat(ctx, up.Ref); return err }
	if _, err := ix.CreateJob(ctx, index.NewJob{Job: j, Commit: commit}); err != nil {
		t.Fatal(err)
	}
	res := index.JobResult{Status: index.JobDone, Commit: func(ctx context.Context, ref cas.Ref) error { _, err := st.Stat(ctx, ref); return err }}
	res.Files = append(res.Files, index.File{Ref: up.Ref, Size: up.Size, MIME: "text/plain"})
	var refs []cas.Ref
	for i := range 8 {
		b := kitPHP(i)
		ref, _, err := st.Put(ctx, bytes.NewReader(b), cas.StageOptions{})
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, ref.Ref)
		res.Files = append(res.Files, index.File{Ref: ref.Ref, Size: ref.Size, MIME: "text/x-php"})
		res.Tree = append(res.Tree, index.TreeEntry{Path: ref.Ref.String()[:8] + ".php", Type: index.TreeFile, Blob: ref.Ref, Size: ref.Size})
	}
	_, lease, err := ix.Claim(ctx, "t/1/w", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Finish(ctx, lease, res); err != nil {
		t.Fatal(err)
	}

	// Interrupted after 3 files, then resumed: 9 files analysed once each.
	ctx1, cancel := context.WithCancel(ctx)
	c := &counting{before: func(_ cas.Ref, n int) error {
		if n == 4 {
			cancel()
			return ctx1.Err()
		}
		return nil
	}}
	rep, err := Reanalyze(ctx1, st, ix, ReanalyzeOptions{Analyze: c.fn, Page: 2})
	if !errors.Is(err, context.Canceled) || rep.Analyzed != 3 {
		t.Fatalf("interrupted: %+v %v", rep, err)
	}
	c.before = nil
	rep, err = Reanalyze(ctx, st, ix, ReanalyzeOptions{Analyze: c.fn, Workers: 2, Page: 2})
	if err != nil || rep.Analyzed != 6 {
		t.Fatalf("resumed: %+v %v", rep, err)
	}
	for _, ref := range refs {
		a, err := ix.GetAnalysis(ctx, ref)
		if err != nil || a.Language != "php" || len(a.IOCs) == 0 || !mapsEqual(a.Versions, Versions()) {
			t.Fatalf("analysis of %s: %+v %v", ref, a, err)
		}
		if c.runs[ref] != 1 {
			t.Fatalf("%s analysed %d times", ref, c.runs[ref])
		}
	}

	// A tokens version bump, seen as two records made by the old version.
	for _, ref := range refs[:2] {
		a, err := ix.GetAnalysis(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		a.Versions["tokens"]--
		a.Language = "stale"
		if err := ix.SetAnalysis(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	rep, err = Reanalyze(ctx, st, ix, ReanalyzeOptions{Analyzer: "tokens", Analyze: c.fn})
	if err != nil || rep.Analyzed != 2 {
		t.Fatalf("after the bump: %+v %v", rep, err)
	}
	for _, ref := range refs[:2] {
		if a, _ := ix.GetAnalysis(ctx, ref); a.Language != "php" || !mapsEqual(a.Versions, Versions()) {
			t.Fatalf("bumped record not redone: %+v", a)
		}
	}
	if rep, err := Reanalyze(ctx, st, ix, ReanalyzeOptions{Analyze: c.fn}); err != nil || rep != (ReanalyzeReport{}) {
		t.Fatalf("nothing left: %+v %v", rep, err)
	}
}
