package watch

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"dewar/gateway"
	"dewar/index"
)

// recorder is a Submitter that remembers what it got, and fails while err
// is set.
type recorder struct {
	mu   sync.Mutex
	subs []submitted
	err  error
}

type submitted struct {
	sub  gateway.Submission
	body string
	at   time.Time
}

func (r *recorder) Submit(ctx context.Context, body io.Reader, sub gateway.Submission) (index.Job, error) {
	b, err := io.ReadAll(body)
	if err != nil {
		return index.Job{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return index.Job{}, r.err
	}
	r.subs = append(r.subs, submitted{sub: sub, body: string(b), at: time.Now()})
	return index.Job{ID: index.NewJobID(time.Now())}, nil
}

func (r *recorder) all() []submitted {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]submitted(nil), r.subs...)
}

// stable is StableFor; files grow by a chunk every stable/4, so a stall of
// the test of up to 3/4 of it cannot make a growing file look stable.
const stable = time.Second

// watchDirs runs the watcher over a known-good and an other folder until
// the test ends.
func watchDirs(t *testing.T, rec *recorder) (kg, other string) {
	t.Helper()
	root := t.TempDir()
	kg, other = filepath.Join(root, "kg"), filepath.Join(root, "other")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Dirs: []Dir{{Path: kg, KnownGood: true}, {Path: other}}, Submitter: rec,
			StableFor: stable, Rescan: time.Second, Logger: slog.New(slog.DiscardHandler)})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	// Run creates the folders; wait for that.
	for range 100 {
		if _, err := os.Stat(other); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return kg, other
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// TestGrowingFileWaits: a file still being written is not taken until it
// has stopped changing for StableFor; then it is submitted once, whole,
// and moved to done/.
func TestGrowingFileWaits(t *testing.T) {
	rec := &recorder{}
	_, other := watchDirs(t, rec)
	p := filepath.Join(other, "slow.zip")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	var lastWrite time.Time
	for i := range 8 {
		chunk := strings.Repeat(string(rune('a'+i)), 1000)
		if _, err := f.WriteString(chunk); err != nil {
			t.Fatal(err)
		}
		want.WriteString(chunk)
		lastWrite = time.Now()
		time.Sleep(stable / 4)
		if n := len(rec.all()); n != 0 {
			t.Fatalf("submitted while still being written (after chunk %d)", i)
		}
	}
	f.Close()
	waitFor(t, "the submission", func() bool { return len(rec.all()) == 1 })
	s := rec.all()[0]
	if s.at.Sub(lastWrite) < stable {
		t.Errorf("submitted %v after the last write, before it was stable for %v", s.at.Sub(lastWrite), stable)
	}
	if s.body != want.String() || s.sub.Name != "slow.zip" || s.sub.KnownGood || s.sub.Submitter != "watcher" {
		t.Errorf("submission %+v with %d bytes, want slow.zip, not known-good, %d bytes", s.sub, len(s.body), want.Len())
	}
	waitFor(t, "the move to done/", func() bool { return exists(filepath.Join(other, DoneDir, "slow.zip")) && !exists(p) })
	time.Sleep(2 * stable)
	if n := len(rec.all()); n != 1 {
		t.Errorf("%d submissions, want 1 (done/ is not watched)", n)
	}
}

// TestSubfoldersAndKnownGood: files in subfolders are submitted with their
// relative name and moved to done/ beside them; the known-good folder
// makes known-good jobs; dot files are left alone; a second file of the
// same name does not overwrite the first in done/.
func TestSubfoldersAndKnownGood(t *testing.T) {
	rec := &recorder{}
	kg, other := watchDirs(t, rec)
	write := func(p, body string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(other, "2026", "06", "kit.zip"), "nested")
	write(filepath.Join(kg, "release.tar.gz"), "release")
	write(filepath.Join(other, ".partial"), "hidden")
	waitFor(t, "two submissions", func() bool { return len(rec.all()) == 2 })
	byName := map[string]submitted{}
	for _, s := range rec.all() {
		byName[s.sub.Name] = s
	}
	if s := byName["2026/06/kit.zip"]; s.body != "nested" || s.sub.KnownGood {
		t.Errorf("subfolder file: %+v", s)
	}
	if s := byName["release.tar.gz"]; s.body != "release" || !s.sub.KnownGood {
		t.Errorf("known-good folder file: %+v", s)
	}
	waitFor(t, "moves", func() bool {
		return exists(filepath.Join(other, "2026", "06", DoneDir, "kit.zip")) && exists(filepath.Join(kg, DoneDir, "release.tar.gz"))
	})
	write(filepath.Join(other, "2026", "06", "kit.zip"), "second")
	waitFor(t, "the second kit.zip", func() bool { return exists(filepath.Join(other, "2026", "06", DoneDir, "kit.zip.1")) })
	if b, _ := os.ReadFile(filepath.Join(other, "2026", "06", DoneDir, "kit.zip")); string(b) != "nested" {
		t.Errorf("done/kit.zip overwritten: %q", b)
	}
	if !exists(filepath.Join(other, ".partial")) || len(rec.all()) != 3 {
		t.Errorf("dot file taken, or %d submissions (want 3)", len(rec.all()))
	}
}

// TestFailedSubmission: when no job can be made, the file goes to failed/
// with a .error file giving the reason, and is not retried.
func TestFailedSubmission(t *testing.T) {
	rec := &recorder{err: errors.New("store is full")}
	_, other := watchDirs(t, rec)
	p := filepath.Join(other, "kit.zip")
	if err := os.WriteFile(p, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	failed := filepath.Join(other, FailedDir, "kit.zip")
	waitFor(t, "the move to failed/", func() bool { return exists(failed + ".error") })
	if b, _ := os.ReadFile(failed); string(b) != "data" || exists(p) {
		t.Errorf("failed/kit.zip holds %q (original still there: %v)", b, exists(p))
	}
	if b, _ := os.ReadFile(failed + ".error"); !strings.Contains(string(b), "store is full") {
		t.Errorf(".error says %q", b)
	}
	rec.mu.Lock()
	rec.err = nil
	rec.mu.Unlock()
	time.Sleep(3 * stable)
	if n := len(rec.all()); n != 0 {
		t.Errorf("files in failed/ were submitted again (%d)", n)
	}
}
