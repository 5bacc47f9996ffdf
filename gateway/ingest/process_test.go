package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"dewar/analyzers/archive/archivetest"
	"dewar/cas"
	"dewar/index"
	"dewar/test/fixtures"
)

var (
	fixturesOnce sync.Once
	allFixtures  []fixtures.Fixture
	fixturesErr  error
)

// loadFixtures renders fixtures.All(7) and fixtures.Hostile() once.
func loadFixtures(t *testing.T) []fixtures.Fixture {
	t.Helper()
	fixturesOnce.Do(func() {
		all, err := fixtures.All(7)
		if err != nil {
			fixturesErr = err
			return
		}
		h, err := fixtures.Hostile()
		allFixtures, fixturesErr = append(all, h...), err
	})
	if fixturesErr != nil {
		t.Fatalf("fixtures: %v", fixturesErr)
	}
	return allFixtures
}

// TestFixtures ingests every fixture (every format, the kits, every
// hostile case) as its own job and checks each job's status, error and
// tree against what the generator knows, then the stats across jobs:
// every file is new exactly once, the store holds one blob per sample,
// and re-submitting stores nothing new.
func TestFixtures(t *testing.T) {
	e := newEnv(t)
	e.start(e.runner(Options{Workers: 2}))
	all := loadFixtures(t)
	jobs := make([]index.Job, len(all))
	for i, f := range all {
		jobs[i] = e.submit(f.Upload, f.Data, strings.HasPrefix(f.Name, "knowngood/"))
	}
	ids := make([]string, len(jobs))
	for i, j := range jobs {
		ids[i] = j.ID
	}
	done := e.wait(ids...)

	ctx := context.Background()
	seen := map[cas.Ref]int64{} // every file of every job, with its size
	known := map[cas.Ref]bool{} // files of done known-good jobs
	var newFiles, newBytes int64
	for i, f := range all {
		j := done[jobs[i].ID]
		tree := e.tree(j.ID)
		t.Run(f.Name, func(t *testing.T) { checkJob(t, f, j, tree) })
		files := map[cas.Ref]int64{j.Upload: j.UploadSize}
		for _, te := range tree {
			if te.Type == index.TreeFile {
				files[te.Blob] = te.Size
			}
		}
		var bytes int64
		for ref, size := range files {
			bytes += size
			seen[ref] = size
			if j.KnownGood && j.Status == index.JobDone {
				known[ref] = true
			}
		}
		if j.Stats.Files != int64(len(files)) || j.Stats.Bytes != bytes || j.Stats.NewFiles > j.Stats.Files || j.Stats.NewBytes > j.Stats.Bytes {
			t.Errorf("%s: stats %+v; want files %d, bytes %d, new at most those", f.Name, j.Stats, len(files), bytes)
		}
		newFiles += j.Stats.NewFiles
		newBytes += j.Stats.NewBytes
	}
	var distinctBytes int64
	for ref, size := range seen {
		distinctBytes += size
		fl, err := e.idx.GetFile(ctx, ref)
		if err != nil {
			t.Errorf("file %s of a job is not a sample: %v", ref, err)
			continue
		}
		if fl.KnownGood != known[ref] {
			t.Errorf("file %s known-good %v, want %v", ref, fl.KnownGood, known[ref])
		}
	}
	if newFiles != int64(len(seen)) || newBytes != distinctBytes {
		t.Errorf("new files %d (%d bytes) over all jobs, want each of the %d distinct files (%d bytes) new once", newFiles, newBytes, len(seen), distinctBytes)
	}
	blobs := e.blobCount()
	if blobs != len(seen) {
		t.Errorf("store holds %d blobs, want one per distinct file: %d", blobs, len(seen))
	}

	// The same archives again: new jobs, nothing new, no new blob.
	again := map[string]index.Job{}
	for i, f := range all {
		if i%7 == 0 {
			again[f.Name] = e.submit(f.Upload, f.Data, false)
		}
	}
	for name, j := range again {
		first := jobs[indexOf(all, name)]
		got := e.wait(j.ID)[j.ID]
		was := done[first.ID]
		if got.ID == was.ID || got.Stats.NewFiles != 0 || got.Stats.NewBytes != 0 || got.Stats.Files != was.Stats.Files || got.Stats.Bytes != was.Stats.Bytes {
			t.Errorf("%s again: job %s stats %+v; want a new job with files %d, bytes %d and nothing new", name, got.ID, got.Stats, was.Stats.Files, was.Stats.Bytes)
		}
	}
	if n := e.blobCount(); n != blobs {
		t.Errorf("re-submitting stored %d new blobs", n-blobs)
	}
}

func indexOf(all []fixtures.Fixture, name string) int {
	for i, f := range all {
		if f.Name == name {
			return i
		}
	}
	return -1
}

// TestKnownGoodFlips: a file first seen in an ordinary job turns
// known-good when a known-good job holding it finishes later; files only
// the kit has stay unknown.
func TestKnownGoodFlips(t *testing.T) {
	e := newEnv(t)
	e.start(e.runner(Options{}))
	kg := fixtures.KnownGood(3)
	kit := fixtures.Kit(kg, 4)
	kitFx, err := fixtures.Render("kit", kit)
	if err != nil {
		t.Fatal(err)
	}
	kgFx, err := fixtures.Render("kg", kg)
	if err != nil {
		t.Fatal(err)
	}
	kitJob := e.submit("kit.zip", kitFx[0].Data, false)
	e.wait(kitJob.ID)
	inKG := map[string]bool{}
	for _, n := range kg {
		if n.Type == "file" {
			inKG[sum(n.Body)] = true
		}
	}
	var shared, own []cas.Ref
	for _, te := range e.tree(kitJob.ID) {
		if te.Type != index.TreeFile {
			continue
		}
		if inKG[te.Blob.String()] {
			shared = append(shared, te.Blob)
		} else {
			own = append(own, te.Blob)
		}
	}
	if len(shared) < 100 || len(own) < 5 {
		t.Fatalf("kit shares %d files with the release and has %d of its own", len(shared), len(own))
	}
	ctx := context.Background()
	knownGood := func(ref cas.Ref) bool {
		f, err := e.idx.GetFile(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		return f.KnownGood
	}
	if knownGood(shared[0]) {
		t.Fatalf("%s known-good before any known-good job", shared[0])
	}
	kgJob := e.submit("release.tar.gz", kgFx[5].Data, true)
	if j := e.wait(kgJob.ID)[kgJob.ID]; j.Status != index.JobDone {
		t.Fatalf("known-good job %s: %s", j.Status, j.Error)
	}
	for _, ref := range shared {
		if !knownGood(ref) {
			t.Errorf("%s in the known-good release is not known-good", ref)
		}
		if f, _ := e.idx.GetFile(ctx, ref); f.JobCount != 2 {
			t.Errorf("%s job count %d, want 2", ref, f.JobCount)
		}
	}
	for _, ref := range own {
		if knownGood(ref) {
			t.Errorf("%s only in the kit turned known-good", ref)
		}
	}
}

// bigZip is a zip of n small distinct files.
func bigZip(n int) ([]byte, []fixtures.Want) {
	fs := make([]archivetest.File, n)
	want := make([]fixtures.Want, n)
	for i := range n {
		body := fmt.Appendf(nil, "<?php // file %d of a big kit\n", i)
		fs[i] = archivetest.File{Name: fmt.Sprintf("kit/f%05d.php", i), Body: body}
		want[i] = fixtures.Want{Path: fs[i].Name, Type: "file", Size: int64(len(body)), SHA256: sum(body)}
	}
	fs = append([]archivetest.File{{Name: "kit", Dir: true}}, fs...)
	want = append([]fixtures.Want{{Path: "kit", Type: "dir"}}, want...)
	return archivetest.Zip(fs, archivetest.Deflate), want
}

// TestInterruptedJobFinishesOnce: a job claimed by an earlier life of this
// node (which crashed mid-walk) is taken again on start, finishes exactly
// once with the whole tree, and the dead holder can no longer record it.
func TestInterruptedJobFinishesOnce(t *testing.T) {
	e := newEnv(t)
	data, want := bigZip(300)
	j := e.submit("big.zip", data, false)
	ctx := context.Background()
	claimed, deadLease, err := e.idx.Claim(ctx, "test/4242/worker-0", time.Hour)
	if err != nil || claimed.ID != j.ID {
		t.Fatalf("claim: %v %v", claimed.ID, err)
	}
	e.start(e.runner(Options{}))
	got := e.wait(j.ID)[j.ID]
	if got.Status != index.JobDone || got.Attempts != 2 || got.Error != "" {
		t.Errorf("job %s after %d attempts, error %q; want done after 2", got.Status, got.Attempts, got.Error)
	}
	checkJob(t, fixtures.Fixture{Name: "big", Entries: want, Exact: true, Outcome: fixtures.Outcome{Kind: fixtures.OK}}, got, e.tree(j.ID))
	if _, err := e.idx.Finish(ctx, deadLease, index.JobResult{Status: index.JobFailed, Error: "late"}); !errors.Is(err, index.ErrLeaseLost) {
		t.Errorf("the dead holder's Finish: %v, want ErrLeaseLost", err)
	}
	if again, _ := e.idx.GetJob(ctx, j.ID); again.Status != index.JobDone || again.Error != "" {
		t.Errorf("after the late Finish: %s %q", again.Status, again.Error)
	}
}

// slowStore delays every Stage, so a walk takes long enough to interrupt.
type slowStore struct {
	cas.Store
	delay time.Duration
}

func (s *slowStore) Stage(ctx context.Context, r io.Reader, opts cas.StageOptions) (cas.Staged, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(s.delay):
	}
	return s.Store.Stage(ctx, r, opts)
}

// TestShutdownHandsJobBack: stopping the runner mid-job queues the job
// again at once (no backoff, not failed), and the next runner finishes it
// with the whole tree.
func TestShutdownHandsJobBack(t *testing.T) {
	e := newEnv(t)
	data, want := bigZip(400)
	j := e.submit("big.zip", data, false)
	stop := e.start(e.runner(Options{Store: &slowStore{Store: e.store, delay: 5 * time.Millisecond}}))
	ctx := context.Background()
	for {
		got, err := e.idx.GetJob(ctx, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status == index.JobProcessing {
			break
		}
		if !got.Status.Waiting() {
			t.Fatalf("job %s before it could be interrupted", got.Status)
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	stop()
	back, err := e.idx.GetJob(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if back.Status != index.JobQueued || back.Attempts != 1 {
		t.Fatalf("after shutdown: %s, attempts %d, error %q; want queued after 1", back.Status, back.Attempts, back.Error)
	}
	e.start(e.runner(Options{}))
	got := e.wait(j.ID)[j.ID]
	if got.Status != index.JobDone || got.Attempts != 2 {
		t.Errorf("job %s after %d attempts; want done after 2", got.Status, got.Attempts)
	}
	checkJob(t, fixtures.Fixture{Name: "big", Entries: want, Exact: true, Outcome: fixtures.Outcome{Kind: fixtures.OK}}, got, e.tree(j.ID))
}

// TestStoreFailureRetries: a failing store is not the archive's fault: the
// job is queued again with the reason, runs once the store works, and
// gives up after MaxAttempts.
func TestStoreFailureRetries(t *testing.T) {
	data, want := bigZip(20)
	ok := fixtures.Fixture{Name: "small", Entries: want, Exact: true, Outcome: fixtures.Outcome{Kind: fixtures.OK}}
	t.Run("recovers", func(t *testing.T) {
		e := newEnv(t)
		fs := &failingStore{Store: e.store}
		fs.fail.Store(true)
		j := e.submit("small.zip", data, false)
		e.start(e.runner(Options{Store: fs}))
		ctx := context.Background()
		deadline := time.Now().Add(30 * time.Second)
		for {
			got, err := e.idx.GetJob(ctx, j.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status == index.JobQueued && got.Attempts == 1 {
				if !strings.Contains(got.Error, errDisk.Error()) {
					t.Errorf("waiting for a retry with error %q; want the store's reason", got.Error)
				}
				break
			}
			if !got.Status.Waiting() || time.Now().After(deadline) {
				t.Fatalf("job %s (attempts %d, %q); want it queued for a retry", got.Status, got.Attempts, got.Error)
			}
			time.Sleep(5 * time.Millisecond)
		}
		fs.fail.Store(false)
		got := e.wait(j.ID)[j.ID]
		if got.Status != index.JobDone || got.Attempts != 2 || got.Error != "" {
			t.Errorf("job %s after %d attempts, error %q; want done after 2", got.Status, got.Attempts, got.Error)
		}
		checkJob(t, ok, got, e.tree(j.ID))
	})
	t.Run("gives-up", func(t *testing.T) {
		e := newEnv(t)
		fs := &failingStore{Store: e.store}
		fs.fail.Store(true)
		j := e.submit("small.zip", data, false)
		e.start(e.runner(Options{Store: fs, MaxAttempts: 1}))
		got := e.wait(j.ID)[j.ID]
		if got.Status != index.JobFailed || !strings.Contains(got.Error, "gave up after 1 attempts") || !strings.Contains(got.Error, errDisk.Error()) {
			t.Errorf("job %s, error %q; want failed, gave up, naming the store's error", got.Status, got.Error)
		}
	})
}

// TestMissingUpload: an upload that vanished from the store fails its job
// with the reason instead of retrying forever.
func TestMissingUpload(t *testing.T) {
	e := newEnv(t)
	j := e.submit("gone.zip", []byte("soon gone"), false)
	if err := e.store.Remove(context.Background(), j.Upload); err != nil {
		t.Fatal(err)
	}
	e.start(e.runner(Options{}))
	got := e.wait(j.ID)[j.ID]
	if got.Status != index.JobFailed || !strings.Contains(got.Error, "missing") {
		t.Errorf("job %s, error %q; want failed, upload missing", got.Status, got.Error)
	}
}

func TestSingleName(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"index.php", "index.php"},
		{"dir/sub/index.php", "index.php"},
		{`C:\kits\login.php`, "login.php"},
		{"bad\x01\x1bname", "bad__name"},
		{"", "upload"},
		{"dir/", "upload"},
		{"..", "upload"},
		{"☃.html", "☃.html"},
	} {
		if got := singleName(c.in); got != c.want {
			t.Errorf("singleName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	for _, c := range []struct {
		attempt int
		want    time.Duration
	}{{0, 2 * time.Second}, {1, 2 * time.Second}, {2, 4 * time.Second}, {3, 8 * time.Second}, {8, 256 * time.Second}, {9, 5 * time.Minute}, {50, 5 * time.Minute}} {
		if got := backoff(c.attempt); got != c.want {
			t.Errorf("backoff(%d) = %v, want %v", c.attempt, got, c.want)
		}
	}
}

// nestedFixture is a zip holding a tar.gz holding a zip: walking it needs
// spools in the temp dir.
func nestedFixture(t *testing.T) fixtures.Fixture {
	t.Helper()
	for _, f := range loadFixtures(t) {
		if f.Name == "kit-1/nested" {
			return f
		}
	}
	t.Fatal("no kit-1/nested fixture")
	return fixtures.Fixture{}
}

// TestTempDirCreated: a runner makes its temp dir (a fresh data dir has
// none), so nested archives, which spool there, walk on the first start.
func TestTempDirCreated(t *testing.T) {
	e := newEnv(t)
	f := nestedFixture(t)
	e.start(e.runner(Options{TempDir: filepath.Join(e.dir, "data", "tmp")}))
	j := e.submit(f.Upload, f.Data, false)
	got := e.wait(j.ID)[j.ID]
	checkJob(t, f, got, e.tree(j.ID))
}

// TestSpoolFailureRetries: when the walker cannot write its spool (the
// temp dir vanished, the disk is full) the job is not the archive's fault:
// it is queued again, and done once the disk works.
func TestSpoolFailureRetries(t *testing.T) {
	e := newEnv(t)
	f := nestedFixture(t)
	tmp := filepath.Join(e.dir, "spools")
	r := e.runner(Options{TempDir: tmp})
	if err := os.Remove(tmp); err != nil {
		t.Fatal(err)
	}
	e.start(r)
	j := e.submit(f.Upload, f.Data, false)
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := e.idx.GetJob(ctx, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status == index.JobQueued && got.Attempts == 1 {
			if !strings.Contains(got.Error, tmp) {
				t.Errorf("queued again with error %q; want the spool's", got.Error)
			}
			break
		}
		if !got.Status.Waiting() || time.Now().After(deadline) {
			t.Fatalf("job %s (attempts %d, %q); want it queued for a retry", got.Status, got.Attempts, got.Error)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	got := e.wait(j.ID)[j.ID]
	if got.Attempts != 2 {
		t.Errorf("done after %d attempts, want 2", got.Attempts)
	}
	checkJob(t, f, got, e.tree(j.ID))
}

// panicStore panics on the first Stage, as a decoder might on crafted input.
type panicStore struct {
	cas.Store
	armed atomic.Bool
}

func (s *panicStore) Stage(ctx context.Context, r io.Reader, opts cas.StageOptions) (cas.Staged, error) {
	if s.armed.CompareAndSwap(true, false) {
		panic("decoder out of bounds")
	}
	return s.Store.Stage(ctx, r, opts)
}

// TestPanicFailsJob: a panic while analysing fails that job with the
// reason instead of taking the process down; the worker goes on with the
// next job.
func TestPanicFailsJob(t *testing.T) {
	e := newEnv(t)
	ps := &panicStore{Store: e.store}
	ps.armed.Store(true)
	data, want := bigZip(10)
	bad := e.submit("bad.zip", data, false)
	e.start(e.runner(Options{Store: ps, Workers: 1}))
	got := e.wait(bad.ID)[bad.ID]
	if got.Status != index.JobFailed || !strings.Contains(got.Error, "decoder out of bounds") || got.Attempts != 1 {
		t.Errorf("job %s after %d attempts, error %q; want failed naming the panic", got.Status, got.Attempts, got.Error)
	}
	next := e.submit("next.zip", data, false)
	got = e.wait(next.ID)[next.ID]
	checkJob(t, fixtures.Fixture{Name: "next", Entries: want, Exact: true, Outcome: fixtures.Outcome{Kind: fixtures.OK}}, got, e.tree(next.ID))
}

// TestCrashLoopGivesUp: a job whose every attempt was cut off (the process
// died under it: killed, out of memory) fails once it has had MaxAttempts,
// instead of being taken again and crashing the server forever.
func TestCrashLoopGivesUp(t *testing.T) {
	e := newEnv(t)
	data, _ := bigZip(10)
	j := e.submit("killer.zip", data, false)
	ctx := context.Background()
	for range 2 {
		if _, _, err := e.idx.Claim(ctx, "test/99/worker-0", time.Hour); err != nil {
			t.Fatal(err)
		}
		if _, err := e.idx.ExpireLeases(ctx, "test/"); err != nil {
			t.Fatal(err)
		}
	}
	e.start(e.runner(Options{MaxAttempts: 2}))
	got := e.wait(j.ID)[j.ID]
	if got.Status != index.JobFailed || got.Attempts != 3 || !strings.Contains(got.Error, "gave up after 2 attempts") {
		t.Errorf("job %s after %d attempts, error %q; want failed after giving up", got.Status, got.Attempts, got.Error)
	}
}
