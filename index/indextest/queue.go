package indextest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"dewar/cas"
	"dewar/index"
)

// RunQueue checks index.Queue: claims in order, leases, fencing tokens,
// heartbeats, retries, expiry, and Finish's all-or-nothing result.
func RunQueue(t *testing.T, newIndex NewIngestIndex) {
	t.Run("ClaimOrder", func(t *testing.T) {
		e := newEnv(t, newIndex)
		a, b, c := e.create(), e.create(), e.create()
		for _, want := range []index.Job{a, b, c} {
			j, l := e.claim("node1:w1", want.ID)
			if j.Status != index.JobProcessing || j.Attempts != 1 || !sameTime(j.UpdatedAt, t0) {
				t.Errorf("claimed job %+v", j)
			}
			if l.JobID != want.ID || l.Owner != "node1:w1" || !sameTime(l.Expires, t0.Add(time.Minute)) {
				t.Errorf("lease %+v", l)
			}
			if got := getJob(t, e.ix, want.ID); got.Status != index.JobProcessing {
				t.Errorf("stored status %q", got.Status)
			}
		}
		_, _, err := e.ix.Claim(t.Context(), "node1:w1", time.Minute)
		wantErr(t, "Claim of an empty queue", err, index.ErrNoJob)
		wantErr(t, "ErrNoJob", err, index.ErrNotFound)
	})
	t.Run("ClaimRejects", func(t *testing.T) {
		e := newEnv(t, newIndex)
		j := e.create()
		for _, c := range []struct {
			owner string
			ttl   time.Duration
		}{{"", time.Minute}, {"w", 0}, {"w", -time.Second}} {
			if _, _, err := e.ix.Claim(t.Context(), c.owner, c.ttl); err == nil {
				t.Errorf("Claim(%q, %v) succeeded", c.owner, c.ttl)
			}
		}
		if got := getJob(t, e.ix, j.ID); got.Status != index.JobQueued || got.Attempts != 0 {
			t.Errorf("refused claims changed the job: %+v", got)
		}
	})
	t.Run("HeldAndNotDue", func(t *testing.T) {
		e := newEnv(t, newIndex)
		held := e.create(func(j *index.Job) { j.Status = index.JobHeld })
		later := e.create()
		_, l := e.claim("w", later.ID) // the held one is older but never claimed
		if err := e.ix.Retry(t.Context(), l, 10*time.Minute, "upstream busy"); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(10*time.Minute - time.Millisecond)
		_, _, err := e.ix.Claim(t.Context(), "w", time.Minute)
		wantErr(t, "Claim before the retry is due", err, index.ErrNoJob)
		e.clock.Advance(time.Millisecond)
		j, l := e.claim("w", later.ID)
		if j.Attempts != 2 {
			t.Errorf("attempts %d, want 2", j.Attempts)
		}
		e.finish(l, index.JobResult{Files: []index.File{uploadFile(j)}})
		e.clock.Advance(365 * 24 * time.Hour)
		_, _, err = e.ix.Claim(t.Context(), "w", time.Minute)
		wantErr(t, "Claim with only a held job", err, index.ErrNoJob)
		if got := getJob(t, e.ix, held.ID); got.Status != index.JobHeld || got.Attempts != 0 {
			t.Errorf("held job %+v", got)
		}
	})
	t.Run("ExpiredLease", func(t *testing.T) {
		e := newEnv(t, newIndex)
		a := e.create()
		_, l1 := e.claim("w1", a.ID)
		b := e.create()
		e.clock.Advance(time.Minute - time.Millisecond)
		e.claim("w2", b.ID) // a's lease is still valid
		e.clock.Advance(time.Millisecond)
		j, l2 := e.claim("w3", a.ID) // a's lease expired: oldest runnable
		if j.Attempts != 2 || l2.Owner != "w3" || l2.Token <= l1.Token {
			t.Errorf("reclaimed %+v with lease %+v after %+v", j, l2, l1)
		}
		_, _, err := e.ix.Claim(t.Context(), "w4", time.Minute)
		wantErr(t, "Claim with every lease valid", err, index.ErrNoJob)
	})
	t.Run("ClaimConcurrent", func(t *testing.T) {
		e := newEnv(t, newIndex)
		const jobs, workers = 60, 16
		for range jobs {
			e.create()
		}
		var mu sync.Mutex
		claimed := map[string][]string{}
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := range workers {
			wg.Go(func() {
				owner := fmt.Sprintf("w%02d", w)
				for {
					j, l, err := e.ix.Claim(context.Background(), owner, time.Hour)
					if err != nil {
						if !errors.Is(err, index.ErrNoJob) {
							errs <- err
						}
						return
					}
					if l.JobID != j.ID || j.Status != index.JobProcessing {
						errs <- fmt.Errorf("claimed %+v with lease %+v", j, l)
						return
					}
					mu.Lock()
					claimed[j.ID] = append(claimed[j.ID], owner)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if len(claimed) != jobs {
			t.Errorf("%d jobs claimed, want %d", len(claimed), jobs)
		}
		for id, owners := range claimed {
			if len(owners) != 1 {
				t.Errorf("job %s handed to %v", id, owners)
			}
		}
	})
	t.Run("Heartbeat", func(t *testing.T) {
		e := newEnv(t, newIndex)
		j := e.create()
		_, l := e.claim("w1", j.ID)
		e.clock.Advance(50 * time.Second)
		l2, err := e.ix.Heartbeat(t.Context(), l, time.Minute)
		if err != nil || l2.Token != l.Token || l2.Owner != l.Owner || !sameTime(l2.Expires, t0.Add(110*time.Second)) {
			t.Fatalf("Heartbeat = %+v, %v", l2, err)
		}
		e.clock.Advance(59 * time.Second) // past the first lease, within the second
		_, _, err = e.ix.Claim(t.Context(), "w2", time.Minute)
		wantErr(t, "Claim of a renewed lease", err, index.ErrNoJob)
		for _, bad := range []index.Lease{
			{JobID: l.JobID, Owner: "w2", Token: l.Token},
			{JobID: l.JobID, Owner: l.Owner, Token: l.Token + 1},
			{JobID: index.NewJobID(t0), Owner: l.Owner, Token: l.Token},
		} {
			_, err := e.ix.Heartbeat(t.Context(), bad, time.Minute)
			wantErr(t, fmt.Sprintf("Heartbeat(%+v)", bad), err, index.ErrLeaseLost)
		}
		e.clock.Advance(2 * time.Second)
		_, l3 := e.claim("w2", j.ID)
		_, err = e.ix.Heartbeat(t.Context(), l2, time.Minute)
		wantErr(t, "Heartbeat after a reclaim", err, index.ErrLeaseLost)
		e.finish(l3, index.JobResult{Files: []index.File{uploadFile(j)}})
		_, err = e.ix.Heartbeat(t.Context(), l3, time.Minute)
		wantErr(t, "Heartbeat after Finish", err, index.ErrLeaseLost)
	})
	t.Run("FinishRecords", func(t *testing.T) {
		e := newEnv(t, newIndex)
		e.run(false, "old") // known before
		j := e.create(func(j *index.Job) { j.SourceBucket, j.SourceKey = "in", "kit.zip" })
		_, l := e.claim("w", j.ID)
		e.clock.Advance(time.Second)
		old, n1, n2 := sample("old"), sample("n1"), sample("n2")
		up := uploadFile(j)
		done := e.finish(l, index.JobResult{
			Warnings: []string{"skipped a device file", "odd name"},
			Files:    []index.File{up, old, n1, n2, n1},
			Tree: []index.TreeEntry{
				fileEntry("old.php", old), fileEntry("n1.php", n1), fileEntry("again/n1.php", n1),
				fileEntry("n2.php", n2), {Path: "again", Type: index.TreeDir},
			},
		})
		wantStats := index.JobStats{
			Files: 4, Bytes: up.Size + old.Size + n1.Size + n2.Size,
			NewFiles: 3, NewBytes: up.Size + n1.Size + n2.Size,
		}
		if done.Status != index.JobDone || done.Stats != wantStats || done.Error != "" ||
			!reflect.DeepEqual(done.Warnings, []string{"skipped a device file", "odd name"}) ||
			!sameTime(done.FinishedAt, t0.Add(time.Second)) || !sameTime(done.UpdatedAt, t0.Add(time.Second)) {
			t.Errorf("finished job %+v, want stats %+v", done, wantStats)
		}
		if got := getJob(t, e.ix, j.ID); !reflect.DeepEqual(got, done) {
			t.Errorf("stored job %+v\nwant %+v", got, done)
		}
		for _, f := range []index.File{n1, n2} {
			wantRefs(t, e.ix, f.Ref, 1)
			if e.s.committed(f.Ref) != 1 {
				t.Errorf("new file committed %d times, want once", e.s.committed(f.Ref))
			}
		}
		wantRefs(t, e.ix, old.Ref, 1) // not pinned again
		if e.s.committed(old.Ref) != 1 {
			t.Errorf("known file committed again")
		}
		wantRefs(t, e.ix, j.Upload, 2) // the job's pin and the file's
		if got := treePaths(t, e.ix, j.ID, 100); !reflect.DeepEqual(got, []string{"again", "again/n1.php", "n1.php", "n2.php", "old.php"}) {
			t.Errorf("tree %q", got)
		}
		// Done jobs leave the incoming listing.
		if _, err := e.ix.GetIncoming(t.Context(), "in", "kit.zip"); !errors.Is(err, index.ErrJobNotFound) {
			t.Errorf("GetIncoming of a done job: %v", err)
		}
		_, err := e.ix.Finish(t.Context(), l, index.JobResult{Status: index.JobDone})
		wantErr(t, "second Finish", err, index.ErrLeaseLost)
	})
	t.Run("FinishFailed", func(t *testing.T) {
		e := newEnv(t, newIndex)
		j := e.create(func(j *index.Job) { j.SourceBucket, j.SourceKey = "in", "bomb.zip" })
		_, l := e.claim("w", j.ID)
		x := sample("x")
		done := e.finish(l, index.JobResult{Status: index.JobFailed, Error: "limit: 1000000 entries",
			Files: []index.File{uploadFile(j), x}, Tree: []index.TreeEntry{fileEntry("x", x)}})
		if done.Status != index.JobFailed || done.Error != "limit: 1000000 entries" || done.Stats.Files != 2 || done.FinishedAt.IsZero() {
			t.Errorf("failed job %+v", done)
		}
		if got := treePaths(t, e.ix, j.ID, 10); len(got) != 1 {
			t.Errorf("a failed job keeps what it read: tree %q", got)
		}
		if got, err := e.ix.GetIncoming(t.Context(), "in", "bomb.zip"); err != nil || got.ID != j.ID {
			t.Errorf("failed job left incoming: %v", err)
		}
		_, _, err := e.ix.Claim(t.Context(), "w", time.Minute)
		wantErr(t, "Claim after a failure", err, index.ErrNoJob)
	})
	t.Run("FinishLeaseLost", func(t *testing.T) {
		e := newEnv(t, newIndex)
		j := e.create()
		_, l1 := e.claim("w1", j.ID)
		e.clock.Advance(2 * time.Minute)
		_, l2 := e.claim("w2", j.ID)
		stale := sample("stale")
		_, err := e.ix.Finish(t.Context(), l1, index.JobResult{Status: index.JobDone, Commit: e.s.commitRef,
			Files: []index.File{uploadFile(j), stale}, Tree: []index.TreeEntry{fileEntry("stale", stale)}})
		wantErr(t, "Finish of the first worker", err, index.ErrLeaseLost)
		if _, err := e.ix.GetFile(t.Context(), stale.Ref); !errors.Is(err, index.ErrFileNotFound) {
			t.Errorf("the lost Finish recorded a file: %v", err)
		}
		wantRefs(t, e.ix, stale.Ref, 0)
		if got := treePaths(t, e.ix, j.ID, 10); len(got) != 0 {
			t.Errorf("the lost Finish wrote a tree: %q", got)
		}
		if got := getJob(t, e.ix, j.ID); got.Status != index.JobProcessing {
			t.Errorf("the lost Finish changed the job: %+v", got)
		}
		fresh := sample("fresh")
		e.finish(l2, index.JobResult{Files: []index.File{uploadFile(j), fresh}, Tree: []index.TreeEntry{fileEntry("fresh", fresh)}})
		if got := treePaths(t, e.ix, j.ID, 10); !reflect.DeepEqual(got, []string{"fresh"}) {
			t.Errorf("tree %q, want exactly the second worker's", got)
		}
		if f := getFile(t, e.ix, fresh.Ref); f.JobCount != 1 {
			t.Errorf("job count %d", f.JobCount)
		}
		_, err = e.ix.Finish(t.Context(), l1, index.JobResult{Status: index.JobDone})
		wantErr(t, "Finish of the first worker after the second", err, index.ErrLeaseLost)
	})
	t.Run("FinishStaleTokenSameOwner", func(t *testing.T) {
		// The same worker name claiming again (a restarted process) gets
		// a new token; the old one is fenced off.
		e := newEnv(t, newIndex)
		j := e.create()
		_, old := e.claim("host:1", j.ID)
		e.clock.Advance(2 * time.Minute)
		_, cur := e.claim("host:1", j.ID)
		if cur.Token == old.Token {
			t.Fatalf("reclaim kept token %d", cur.Token)
		}
		_, err := e.ix.Finish(t.Context(), old, index.JobResult{Status: index.JobDone, Files: []index.File{uploadFile(j)}})
		wantErr(t, "Finish with the old token", err, index.ErrLeaseLost)
		err = e.ix.Retry(t.Context(), old, 0, "x")
		wantErr(t, "Retry with the old token", err, index.ErrLeaseLost)
		e.finish(cur, index.JobResult{Files: []index.File{uploadFile(j)}})
	})
	t.Run("FinishRejects", func(t *testing.T) {
		e := newEnv(t, newIndex)
		j := e.create()
		_, l := e.claim("w", j.ID)
		x := sample("x")
		files := []index.File{uploadFile(j), x}
		tests := []struct {
			name string
			r    index.JobResult
		}{
			{"status queued", index.JobResult{Status: index.JobQueued, Files: files}},
			{"no status", index.JobResult{Files: files}},
			{"blob not among files", index.JobResult{Status: index.JobDone, Files: files[:1], Tree: []index.TreeEntry{fileEntry("x", x)}}},
			{"dir with a blob", index.JobResult{Status: index.JobDone, Files: files, Tree: []index.TreeEntry{{Path: "d", Type: index.TreeDir, Blob: x.Ref}}}},
			{"bad type", index.JobResult{Status: index.JobDone, Files: files, Tree: []index.TreeEntry{{Path: "d", Type: "device"}}}},
			{"empty path", index.JobResult{Status: index.JobDone, Files: files, Tree: []index.TreeEntry{fileEntry("", x)}}},
			{"zero file ref", index.JobResult{Status: index.JobDone, Files: append(files, index.File{})}},
		}
		for _, tc := range tests {
			tc.r.Commit = e.s.commitRef
			if _, err := e.ix.Finish(t.Context(), l, tc.r); err == nil {
				t.Errorf("%s: Finish succeeded", tc.name)
			}
		}
		_, err := e.ix.Finish(t.Context(), l, index.JobResult{Status: index.JobDone, Files: files,
			Commit: func(context.Context, cas.Ref) error { return errBoom }})
		wantErr(t, "Finish with a failing commit", err, errBoom)
		_, err = e.ix.Finish(t.Context(), l, index.JobResult{Status: index.JobDone, Files: files})
		wantErr(t, "Finish of a new file without commit", err, index.ErrBlobNotFound)
		// Nothing changed and the lease still holds.
		if _, err := e.ix.GetFile(t.Context(), x.Ref); !errors.Is(err, index.ErrFileNotFound) {
			t.Errorf("a refused Finish recorded a file: %v", err)
		}
		wantRefs(t, e.ix, x.Ref, 0)
		wantRefs(t, e.ix, j.Upload, 1)
		if got := getJob(t, e.ix, j.ID); got.Status != index.JobProcessing {
			t.Errorf("job %+v", got)
		}
		e.finish(l, index.JobResult{Files: files, Tree: []index.TreeEntry{fileEntry("x", x)}})
	})
	t.Run("FinishNilCommitForTheUpload", func(t *testing.T) {
		// The job pins its upload, so the upload needs no commit.
		e := newEnv(t, newIndex)
		j := e.create()
		_, l := e.claim("w", j.ID)
		if _, err := e.ix.Finish(t.Context(), l, index.JobResult{Status: index.JobDone, Files: []index.File{uploadFile(j)}}); err != nil {
			t.Fatal(err)
		}
		wantRefs(t, e.ix, j.Upload, 2)
	})
	t.Run("FinishDuplicatePaths", func(t *testing.T) {
		e := newEnv(t, newIndex)
		j := e.create()
		_, l := e.claim("w", j.ID)
		x, y := sample("x"), sample("y")
		e.finish(l, index.JobResult{Files: []index.File{uploadFile(j), x, y},
			Tree: []index.TreeEntry{fileEntry("p", x), fileEntry("q", x), fileEntry("p", y)}})
		got, err := e.ix.GetTreeEntry(t.Context(), j.ID, "p")
		if err != nil || got.Blob != y.Ref {
			t.Errorf("duplicate path kept %+v, %v; want the last entry", got, err)
		}
		if paths := treePaths(t, e.ix, j.ID, 10); !reflect.DeepEqual(paths, []string{"p", "q"}) {
			t.Errorf("tree %q", paths)
		}
	})
	t.Run("Retry", func(t *testing.T) {
		e := newEnv(t, newIndex)
		j := e.create()
		_, l := e.claim("w1", j.ID)
		if err := e.ix.Retry(t.Context(), l, time.Minute, "store unreachable"); err != nil {
			t.Fatal(err)
		}
		got := getJob(t, e.ix, j.ID)
		if got.Status != index.JobQueued || got.Error != "store unreachable" || got.Attempts != 1 {
			t.Errorf("retried job %+v", got)
		}
		err := e.ix.Retry(t.Context(), l, 0, "again")
		wantErr(t, "second Retry", err, index.ErrLeaseLost)
		_, err = e.ix.Heartbeat(t.Context(), l, time.Minute)
		wantErr(t, "Heartbeat after Retry", err, index.ErrLeaseLost)
		_, err = e.ix.Finish(t.Context(), l, index.JobResult{Status: index.JobDone})
		wantErr(t, "Finish after Retry", err, index.ErrLeaseLost)
		e.clock.Advance(time.Minute)
		_, l2 := e.claim("w2", j.ID)
		x := sample("x")
		done := e.finish(l2, index.JobResult{Files: []index.File{uploadFile(j), x}, Tree: []index.TreeEntry{fileEntry("x", x)}})
		if done.Attempts != 2 || done.Error != "" {
			t.Errorf("finished after a retry: %+v", done)
		}
		if paths := treePaths(t, e.ix, j.ID, 10); !reflect.DeepEqual(paths, []string{"x"}) {
			t.Errorf("tree %q", paths)
		}
		if f := getFile(t, e.ix, x.Ref); f.JobCount != 1 {
			t.Errorf("job count %d", f.JobCount)
		}
	})
	t.Run("ExpireLeases", func(t *testing.T) {
		e := newEnv(t, newIndex)
		a, b, c := e.create(), e.create(), e.create()
		e.claim("node1:w1", a.ID)
		e.claim("node2:w1", b.ID)
		e.claim("node1:w2", c.ID)
		n, err := e.ix.ExpireLeases(t.Context(), "node1:")
		if err != nil || n != 2 {
			t.Errorf("ExpireLeases = %d, %v; want 2", n, err)
		}
		if n, err := e.ix.ExpireLeases(t.Context(), "node1:"); err != nil || n != 0 {
			t.Errorf("second ExpireLeases = %d, %v; want 0", n, err)
		}
		e.claim("node3:w1", a.ID) // without the clock moving
		e.claim("node3:w2", c.ID)
		_, _, err = e.ix.Claim(t.Context(), "node3:w3", time.Minute)
		wantErr(t, "Claim of node2's job", err, index.ErrNoJob)
		if n, err := e.ix.ExpireLeases(t.Context(), ""); err != nil || n != 3 {
			t.Errorf("ExpireLeases of all = %d, %v; want 3", n, err)
		}
	})
}
