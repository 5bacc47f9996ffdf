package ingest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"dewar/analyzers/archive/archivetest"
	"dewar/test/fixtures"
)

// manyFiles is a zip of n small distinct PHP files under kit/, and the
// entries it must give.
func manyFiles(n int) fixtures.Fixture {
	fs := []archivetest.File{{Name: "kit", Dir: true}}
	want := []fixtures.Want{{Path: "kit", Type: "dir"}}
	for i := range n {
		body := fmt.Appendf(nil, "<?php /* crash test file %d */ echo %d;\n", i, i*i)
		name := fmt.Sprintf("kit/m%06d.php", i)
		fs = append(fs, archivetest.File{Name: name, Body: body})
		want = append(want, fixtures.Want{Path: name, Type: "file", Size: int64(len(body)), SHA256: sum(body)})
	}
	return fixtures.Fixture{Name: "crash/many", Upload: "many.zip", Data: archivetest.Zip(fs, archivetest.Deflate),
		Entries: want, Exact: true, Outcome: fixtures.Outcome{Kind: fixtures.OK}}
}

// TestCrash kills the server with SIGKILL while it walks a big archive
// (with more jobs queued behind it), and right after an upload was
// acknowledged. After a restart on the same data directory every job
// finishes exactly once: the interrupted one is taken again (attempts 2),
// its tree is whole and has no duplicate, its files count it once, the
// uploads are still readable, and no job is lost or doubled.
func TestCrash(t *testing.T) {
	t.Parallel()
	s := newServer(t, false, "--workers", "1")
	big := manyFiles(5000)
	queued := []fixtures.Fixture{fixture(t, "kit-2/zip"), fixture(t, "knowngood/tar.xz"), fixture(t, "kit-1/rar")}
	ctx := context.Background()

	step(t, s, "kill-while-processing", func(t *testing.T, s *server) {
		bigID := s.mustPut(incomingOther, "crash/many.zip", big.Data, nil)
		var ids []string
		for _, f := range queued {
			ids = append(ids, s.mustPut(bucketOf(f), keyOf(f), f.Data, nil))
		}
		deadline := time.Now().Add(time.Minute)
		for {
			j, err := s.api().Job(ctx, bigID)
			if err != nil {
				t.Fatal(err)
			}
			if j.Status == "processing" {
				break
			}
			if j.Done() || time.Now().After(deadline) {
				t.Fatalf("the big job is %s before the crash", j.Status)
			}
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond)
		s.Kill()
		s.Restart()

		j := s.wait(bigID)
		m := s.manifest(bigID)
		if j.Status != "done" || j.Attempts < 2 || j.Error != "" {
			t.Errorf("interrupted job: %s after %d attempts, error %q; want done after 2 or more", j.Status, j.Attempts, j.Error)
		}
		checkTree(t, big, m.Tree)
		checkStats(t, m)
		if m.Stats.NewFiles != m.Stats.Files {
			t.Errorf("interrupted job stats %+v: every file is new", m.Stats)
		}
		// Counted once per file, not once per attempt.
		s.wantFileMeta(samplesBucket, big.Entries[len(big.Entries)-1].SHA256, map[string]string{"job-count": "1"})
		if got := s.get(samplesBucket, sum(big.Data)); sum(got) != sum(big.Data) {
			t.Errorf("the upload is not readable after the crash")
		}
		for i, f := range queued {
			j := s.wait(ids[i])
			checkOutcome(t, f, j)
			checkTree(t, f, s.manifest(ids[i]).Tree)
		}
		jobs := s.allJobs()
		if len(jobs) != 1+len(queued) {
			t.Errorf("%d jobs after the crash, want %d", len(jobs), 1+len(queued))
		}
	})

	step(t, s, "kill-after-ack", func(t *testing.T, s *server) {
		f := fixture(t, "kit-2/tar.bz2")
		id := s.mustPut(incomingOther, "crash/acked.tar.bz2", f.Data, map[string]string{"notes": "acknowledged, then the power went"})
		s.Kill()
		s.Restart()
		j := s.wait(id)
		checkOutcome(t, f, j)
		checkTree(t, f, s.manifest(id).Tree)
		if j.Notes != "acknowledged, then the power went" {
			t.Errorf("notes after the crash: %q", j.Notes)
		}
		n := 0
		for _, x := range s.allJobs() {
			if x.Name == "crash/acked.tar.bz2" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d jobs for the acknowledged upload, want 1", n)
		}
		s.mustServe()
	})
}
