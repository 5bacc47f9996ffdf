package ingest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dewar/gateway/web/apiclient"
)

// stableFor is the server's --watch-stable.
const stableFor = 2 * time.Second

// TestWatcher runs dewar with watched folders (--watch-other,
// --watch-knowngood, --watch-stable 2s): a kit written slowly, a chunk every
// 600 ms, becomes a job only once it has stopped growing for 2 s, and
// whole; then it moves to done/. A release dropped into a subfolder of the
// known-good folder becomes a known-good job named by its relative path.
// An empty file is submitted too: its job fails ("empty upload") and the
// file goes to done/ like any file that became a job (failed/ is for files
// no job could be made of).
func TestWatcher(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	other, kgDir := filepath.Join(root, "other"), filepath.Join(root, "knowngood")
	s := newServer(t, false, "--watch-other", other, "--watch-knowngood", kgDir, "--watch-stable", stableFor.String())

	step(t, s, "growing-file-waits", func(t *testing.T, s *server) {
		f := fixture(t, "kit-2/zip")
		p := filepath.Join(other, "slow.zip")
		out, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		// 8 chunks, one every 600 ms (4.8 s of writing, more than twice
		// --watch-stable), watching for an early job in between; a stall
		// of the test below 1.4 s cannot make the file look stable.
		const chunks = 8
		size := (len(f.Data) + chunks - 1) / chunks
		var lastWrite time.Time
		for i := 0; i < len(f.Data); i += size {
			if gap := time.Since(lastWrite); !lastWrite.IsZero() && gap >= stableFor {
				t.Fatalf("the test stalled %v between writes, longer than --watch-stable", gap)
			}
			if _, err := out.Write(f.Data[i:min(i+size, len(f.Data))]); err != nil {
				t.Fatal(err)
			}
			lastWrite = time.Now()
			for end := time.Now().Add(600 * time.Millisecond); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
				if j, ok := s.jobsByName()["slow.zip"]; ok {
					t.Fatalf("job %s made while the file was still being written (after %d of %d bytes)", j.ID, i+size, len(f.Data))
				}
			}
		}
		if err := out.Close(); err != nil {
			t.Fatal(err)
		}
		j := s.waitNamed("slow.zip")
		if took := time.Since(lastWrite); took < stableFor {
			t.Errorf("job seen %v after the last write, before the file was stable for %v", took, stableFor)
		}
		j = s.wait(j.ID)
		checkOutcome(t, f, j)
		checkTree(t, f, s.manifest(j.ID).Tree)
		if j.KnownGood || j.ArchiveSHA256 != sum(f.Data) || j.Submitter != "watcher" {
			t.Errorf("watched job: known-good %v, archive %s, submitter %q", j.KnownGood, j.ArchiveSHA256, j.Submitter)
		}
		waitGone(t, p)
		if b, err := os.ReadFile(filepath.Join(other, "done", "slow.zip")); err != nil || sum(b) != sum(f.Data) {
			t.Errorf("done/slow.zip: %v", err)
		}
	})

	step(t, s, "known-good-subfolder", func(t *testing.T, s *server) {
		f := fixture(t, "knowngood/tar.gz")
		dir := filepath.Join(kgDir, "vendor", "2026")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "release.tar.gz")
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		j := s.wait(s.waitNamed("vendor/2026/release.tar.gz").ID)
		checkOutcome(t, f, j)
		checkTree(t, f, s.manifest(j.ID).Tree)
		if !j.KnownGood {
			t.Errorf("a job from the known-good folder is not known-good")
		}
		waitGone(t, p)
		if _, err := os.Stat(filepath.Join(dir, "done", "release.tar.gz")); err != nil {
			t.Errorf("not moved to done/ beside it: %v", err)
		}
	})

	step(t, s, "empty-file", func(t *testing.T, s *server) {
		p := filepath.Join(other, "empty.zip")
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		j := s.wait(s.waitNamed("empty.zip").ID)
		if j.Status != "failed" || !strings.Contains(j.Error, "empty upload") {
			t.Errorf("empty file: job %s %q, want failed (empty upload)", j.Status, j.Error)
		}
		waitGone(t, p)
		if _, err := os.Stat(filepath.Join(other, "done", "empty.zip")); err != nil {
			t.Errorf("empty.zip not in done/: %v", err)
		}
		if entries, _ := os.ReadDir(filepath.Join(other, "failed")); len(entries) != 0 {
			t.Errorf("failed/ holds %d files", len(entries))
		}
	})
}

// waitNamed polls the API until a job with name exists (30 s at most).
func (s *server) waitNamed(name string) apiclient.Job {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if j, ok := s.jobsByName()[name]; ok {
			return j
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no job named %q after 30s", name)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitGone waits until the watcher moved p away.
func waitGone(t *testing.T, p string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(p); os.IsNotExist(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still there 10s after its job was made", p)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
