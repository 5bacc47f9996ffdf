package indextest

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"dewar/cas"
	"dewar/index"
)

// RunJobs checks index.Jobs: creating jobs (with the upload's pin and the
// multipart upload it replaces), reading, listing, notes, release, the
// incoming listings and the trees.
func RunJobs(t *testing.T, newIndex NewIngestIndex) {
	t.Run("CreateGet", func(t *testing.T) {
		e := newEnv(t, newIndex)
		want := e.newJob(func(j *index.Job) {
			j.Name, j.KnownGood, j.Notes = "dir/kit é.zip", true, "from the feed"
			j.SubmittedAt, j.CollectedAt = t0.Add(-time.Hour), t0.Add(-48*time.Hour)
			j.SourceBucket, j.SourceKey = "incoming-knowngood", "dir/kit é.zip"
			// Result fields are the queue's to set, not the creator's.
			j.Error, j.Warnings, j.Attempts, j.Stats = "ignored", []string{"ignored"}, 7, index.JobStats{Files: 9}
		})
		if _, err := e.ix.CreateJob(t.Context(), index.NewJob{Job: want, Commit: e.s.commit(want.Upload)}); err != nil {
			t.Fatal(err)
		}
		got := getJob(t, e.ix, want.ID)
		if !sameTime(got.SubmittedAt, want.SubmittedAt) || !sameTime(got.CollectedAt, want.CollectedAt) || !sameTime(got.UpdatedAt, t0) {
			t.Errorf("times: submitted %v collected %v updated %v", got.SubmittedAt, got.CollectedAt, got.UpdatedAt)
		}
		want.Status, want.Error, want.Warnings, want.Attempts, want.Stats = index.JobQueued, "", nil, 0, index.JobStats{}
		got.SubmittedAt, got.CollectedAt, got.UpdatedAt = want.SubmittedAt, want.CollectedAt, want.UpdatedAt
		if !reflect.DeepEqual(got, want) {
			t.Errorf("GetJob = %+v\nwant %+v", got, want)
		}
		wantRefs(t, e.ix, want.Upload, 1)
		if e.s.committed(want.Upload) != 1 {
			t.Errorf("upload committed %d times, want 1", e.s.committed(want.Upload))
		}
	})
	t.Run("CreateDefaults", func(t *testing.T) {
		e := newEnv(t, newIndex)
		j := e.create()
		if j.Status != index.JobQueued || !sameTime(j.SubmittedAt, t0) || !j.CollectedAt.IsZero() || !j.FinishedAt.IsZero() {
			t.Errorf("defaults: %+v", j)
		}
		held := e.create(func(j *index.Job) { j.Status = index.JobHeld })
		if held.Status != index.JobHeld {
			t.Errorf("held job has status %q", held.Status)
		}
	})
	t.Run("CreateRejects", func(t *testing.T) {
		e := newEnv(t, newIndex)
		tests := []struct {
			name string
			mod  func(*index.Job)
		}{
			{"no ID", func(j *index.Job) { j.ID = "" }},
			{"bad ID", func(j *index.Job) { j.ID = "not-a-job-id" }},
			{"done", func(j *index.Job) { j.Status = index.JobDone }},
			{"processing", func(j *index.Job) { j.Status = index.JobProcessing }},
			{"unknown status", func(j *index.Job) { j.Status = "later" }},
		}
		for _, tc := range tests {
			j := e.newJob(tc.mod)
			if _, err := e.ix.CreateJob(t.Context(), index.NewJob{Job: j, Commit: e.s.commit(j.Upload)}); err == nil {
				t.Errorf("%s: CreateJob succeeded", tc.name)
			}
			wantRefs(t, e.ix, j.Upload, 0)
		}
		j := e.newJob(func(j *index.Job) { j.Upload = cas.Ref{} })
		if _, err := e.ix.CreateJob(t.Context(), index.NewJob{Job: j, Commit: e.s.commit(j.Upload)}); err == nil {
			t.Error("CreateJob without an upload succeeded")
		}
		if jobs, _, err := e.ix.ListJobs(t.Context(), index.JobListOptions{Limit: 10}); err != nil || len(jobs) != 0 {
			t.Errorf("rejected jobs were recorded: %d, %v", len(jobs), err)
		}
	})
	t.Run("CreateDuplicateID", func(t *testing.T) {
		e := newEnv(t, newIndex)
		j := e.create()
		dup := j
		dup.Upload = blob("other upload")
		_, err := e.ix.CreateJob(t.Context(), index.NewJob{Job: dup, Commit: e.s.commit(dup.Upload)})
		wantErr(t, "CreateJob of a taken ID", err, index.ErrConflict)
		wantRefs(t, e.ix, j.Upload, 1)
		wantRefs(t, e.ix, dup.Upload, 0)
		if got := getJob(t, e.ix, j.ID); got.Upload != j.Upload {
			t.Errorf("the first job was changed: %+v", got)
		}
	})
	t.Run("CreateCommitFails", func(t *testing.T) {
		e := newEnv(t, newIndex)
		mustBucket(t, e.ix, "incoming")
		mustUpload(t, e.ix, index.Upload{ID: "u1", Bucket: "incoming", Key: "kit.zip"})
		putPart(t, e.ix, e.s, "u1", 1, blob("part1"))
		j := e.newJob()
		_, err := e.ix.CreateJob(t.Context(), index.NewJob{Job: j, Commit: failCommit(errBoom), FromUpload: "u1"})
		wantErr(t, "CreateJob with a failing commit", err, errBoom)
		_, err = e.ix.GetJob(t.Context(), j.ID)
		wantErr(t, "GetJob of the failed job", err, index.ErrJobNotFound)
		wantRefs(t, e.ix, j.Upload, 0)
		if _, err := e.ix.GetUpload(t.Context(), "u1"); err != nil {
			t.Errorf("multipart upload gone after a failed CreateJob: %v", err)
		}
		wantRefs(t, e.ix, blob("part1"), 1)
	})
	t.Run("CreateNilCommit", func(t *testing.T) {
		e := newEnv(t, newIndex)
		j := e.newJob()
		_, err := e.ix.CreateJob(t.Context(), index.NewJob{Job: j})
		wantErr(t, "CreateJob of an unpinned blob without commit", err, index.ErrBlobNotFound)
		wantRefs(t, e.ix, j.Upload, 0)
		// An upload another row pins is vouched for.
		mustBucket(t, e.ix, "b")
		put(t, e.ix, e.s, "b", "k", j.Upload)
		if _, err := e.ix.CreateJob(t.Context(), index.NewJob{Job: j}); err != nil {
			t.Fatalf("CreateJob of a pinned blob without commit: %v", err)
		}
		wantRefs(t, e.ix, j.Upload, 2)
	})
	t.Run("CreateFromUpload", func(t *testing.T) {
		e := newEnv(t, newIndex)
		mustBucket(t, e.ix, "incoming")
		mustUpload(t, e.ix, index.Upload{ID: "u1", Bucket: "incoming", Key: "kit.zip"})
		mustUpload(t, e.ix, index.Upload{ID: "u2", Bucket: "incoming", Key: "other.zip"})
		putPart(t, e.ix, e.s, "u1", 1, blob("p1"))
		putPart(t, e.ix, e.s, "u1", 2, blob("p2"))
		putPart(t, e.ix, e.s, "u1", 3, blob("p1"))
		putPart(t, e.ix, e.s, "u2", 1, blob("p2"))
		j := e.newJob(func(j *index.Job) { j.SourceBucket, j.SourceKey = "incoming", "kit.zip" })
		z, err := e.ix.CreateJob(t.Context(), index.NewJob{Job: j, Commit: e.s.commit(j.Upload), FromUpload: "u1"})
		if err != nil {
			t.Fatal(err)
		}
		wantZeroed(t, "CreateJob FromUpload", z, blob("p1"))
		wantRefs(t, e.ix, blob("p1"), 0)
		wantRefs(t, e.ix, blob("p2"), 1) // still a part of u2
		wantRefs(t, e.ix, j.Upload, 1)
		_, err = e.ix.GetUpload(t.Context(), "u1")
		wantErr(t, "GetUpload after CreateJob", err, index.ErrUploadNotFound)
		_, _, err = e.ix.ListParts(t.Context(), "u1", 0, 10)
		wantErr(t, "ListParts after CreateJob", err, index.ErrUploadNotFound)
		if _, err := e.ix.GetUpload(t.Context(), "u2"); err != nil {
			t.Errorf("another upload was deleted: %v", err)
		}
		getJob(t, e.ix, j.ID)
	})
	t.Run("CreateFromUploadSameBlob", func(t *testing.T) {
		// A one-part upload's object has the part's bytes: the job's pin
		// must come before the part's drop, so the count never hits zero.
		e := newEnv(t, newIndex)
		mustBucket(t, e.ix, "incoming")
		mustUpload(t, e.ix, index.Upload{ID: "u1", Bucket: "incoming", Key: "kit.zip"})
		j := e.newJob()
		putPart(t, e.ix, e.s, "u1", 1, j.Upload)
		z, err := e.ix.CreateJob(t.Context(), index.NewJob{Job: j, Commit: e.s.commit(j.Upload), FromUpload: "u1"})
		if err != nil || len(z) != 0 {
			t.Fatalf("CreateJob = %v, %v; want no zeroed refs", z, err)
		}
		wantRefs(t, e.ix, j.Upload, 1)
	})
	t.Run("CreateFromMissingUpload", func(t *testing.T) {
		e := newEnv(t, newIndex)
		j := e.newJob()
		_, err := e.ix.CreateJob(t.Context(), index.NewJob{Job: j, Commit: e.s.commit(j.Upload), FromUpload: "gone"})
		wantErr(t, "CreateJob from a missing upload", err, index.ErrUploadNotFound)
		_, err = e.ix.GetJob(t.Context(), j.ID)
		wantErr(t, "GetJob", err, index.ErrJobNotFound)
		wantRefs(t, e.ix, j.Upload, 0)
	})
	t.Run("GetMissing", func(t *testing.T) {
		e := newEnv(t, newIndex)
		_, err := e.ix.GetJob(t.Context(), index.NewJobID(t0))
		wantErr(t, "GetJob", err, index.ErrJobNotFound)
	})
	t.Run("SetNotes", func(t *testing.T) {
		e := newEnv(t, newIndex)
		j := e.create()
		e.clock.Advance(time.Minute)
		got, err := e.ix.SetNotes(t.Context(), j.ID, "seen on pastebin\nline 2")
		if err != nil {
			t.Fatal(err)
		}
		if got.Notes != "seen on pastebin\nline 2" || !sameTime(got.UpdatedAt, t0.Add(time.Minute)) || got.Status != index.JobQueued {
			t.Errorf("SetNotes = %+v", got)
		}
		if stored := getJob(t, e.ix, j.ID); stored.Notes != got.Notes {
			t.Errorf("stored notes %q", stored.Notes)
		}
		_, err = e.ix.SetNotes(t.Context(), index.NewJobID(t0), "x")
		wantErr(t, "SetNotes of a missing job", err, index.ErrJobNotFound)
	})
	t.Run("Release", func(t *testing.T) {
		e := newEnv(t, newIndex)
		held := e.create(func(j *index.Job) { j.Status, j.Notes = index.JobHeld, "before" })
		kept := e.create(func(j *index.Job) { j.Status, j.Notes = index.JobHeld, "kept" })
		queued := e.create()
		notes := "checked by bob"
		got, err := e.ix.Release(t.Context(), held.ID, &notes)
		if err != nil || got.Status != index.JobQueued || got.Notes != notes {
			t.Errorf("Release with notes = %+v, %v", got, err)
		}
		got, err = e.ix.Release(t.Context(), kept.ID, nil)
		if err != nil || got.Status != index.JobQueued || got.Notes != "kept" {
			t.Errorf("Release without notes = %+v, %v", got, err)
		}
		_, err = e.ix.Release(t.Context(), queued.ID, &notes)
		wantErr(t, "Release of a queued job", err, index.ErrJobState)
		_, err = e.ix.Release(t.Context(), held.ID, nil)
		wantErr(t, "second Release", err, index.ErrJobState)
		_, err = e.ix.Release(t.Context(), index.NewJobID(t0), nil)
		wantErr(t, "Release of a missing job", err, index.ErrJobNotFound)
		if j := getJob(t, e.ix, queued.ID); j.Notes != "" {
			t.Errorf("refused Release changed notes to %q", j.Notes)
		}
		e.claim("w", held.ID) // released jobs are claimable, in ID order
	})
	t.Run("ListJobs", func(t *testing.T) {
		e := newEnv(t, newIndex)
		var ids []string
		var held []string
		for i := range 7 {
			j := e.create(func(j *index.Job) {
				if i%3 == 1 {
					j.Status = index.JobHeld
				}
			})
			ids = append(ids, j.ID)
			if j.Status == index.JobHeld {
				held = append(held, j.ID)
			}
		}
		first := getJob(t, e.ix, ids[0])
		_, l := e.claim("w", first.ID)
		e.finish(l, index.JobResult{Files: []index.File{uploadFile(first)}})
		newest := slices.Clone(ids)
		slices.Reverse(newest)
		tests := []struct {
			name string
			o    index.JobListOptions
			want []string
			more bool
		}{
			{"all", index.JobListOptions{Limit: 100}, ids, false},
			{"limit 0", index.JobListOptions{Limit: 0}, nil, false},
			{"first page", index.JobListOptions{Limit: 3}, ids[:3], true},
			{"exact page", index.JobListOptions{Limit: 7}, ids, false},
			{"after", index.JobListOptions{After: ids[2], Limit: 3}, ids[3:6], true},
			{"after to the end", index.JobListOptions{After: ids[3], Limit: 3}, ids[4:], false},
			{"after the last", index.JobListOptions{After: ids[6], Limit: 3}, nil, false},
			{"newest", index.JobListOptions{Newest: true, Limit: 2}, newest[:2], true},
			{"newest after", index.JobListOptions{Newest: true, After: ids[2], Limit: 5}, []string{ids[1], ids[0]}, false},
			{"held", index.JobListOptions{Status: index.JobHeld, Limit: 100}, held, false},
			{"held after", index.JobListOptions{Status: index.JobHeld, After: held[0], Limit: 1}, held[1:2], false},
			{"done", index.JobListOptions{Status: index.JobDone, Limit: 100}, ids[:1], false},
			{"newest held", index.JobListOptions{Status: index.JobHeld, Newest: true, Limit: 1}, held[1:], true},
		}
		for _, tc := range tests {
			jobs, more, err := e.ix.ListJobs(t.Context(), tc.o)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			var got []string
			for _, j := range jobs {
				got = append(got, j.ID)
			}
			if !slices.Equal(got, tc.want) || more != tc.more {
				t.Errorf("%s: got %v more=%v, want %v more=%v", tc.name, got, more, tc.want, tc.more)
			}
		}
	})
	runIncoming(t, newIndex)
	runTree(t, newIndex)
}

// runIncoming checks ListIncoming and GetIncoming.
func runIncoming(t *testing.T, newIndex NewIngestIndex) {
	// incomingFixture creates jobs in bucket "in" (and a neighbour) and
	// returns the sorted keys that must be listed and the job that stands
	// for each.
	incomingFixture := func(e *env) ([]string, map[string]string) {
		in := func(key string, st index.JobStatus) index.Job {
			return e.create(func(j *index.Job) {
				j.SourceBucket, j.SourceKey = "in", key
				if st == index.JobHeld {
					j.Status = st
				}
			})
		}
		// runIn creates a queued job of key and finishes it with status.
		runIn := func(key string, status index.JobStatus) {
			j := in(key, index.JobQueued)
			_, l := e.claim("w", j.ID)
			e.finish(l, index.JobResult{Status: status, Error: "corrupt", Files: []index.File{uploadFile(j)}})
		}
		newest := map[string]string{}
		// A done job is not listed; an older waiting one of its key is.
		newest["dir/file"] = in("dir/file", index.JobHeld).ID
		runIn("dir/file", index.JobDone)
		// A key with only a done job is not listed.
		runIn("only-done", index.JobDone)
		// A failed job waits in incoming.
		runIn("failed.zip", index.JobFailed)
		newest["failed.zip"] = getJobs(e, index.JobFailed)[0].ID
		for _, k := range listingKeys {
			if newest[k] == "" {
				newest[k] = in(k, index.JobQueued).ID
			}
		}
		// A newer job stands for its key, held or not.
		newest["a/b"] = in("a/b", index.JobHeld).ID
		// Processing jobs are listed.
		if j, _ := e.claim("w", ""); j.SourceKey != listingKeys[0] {
			e.t.Fatalf("claimed %q", j.SourceKey)
		}
		// The neighbour bucket and API jobs are not listed.
		e.create(func(j *index.Job) { j.SourceBucket, j.SourceKey = "in2", "a/zzz" })
		e.create()
		keys := make([]string, 0, len(newest))
		for k := range newest {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return keys, newest
	}
	listIncoming := func(t *testing.T, ix IngestIndex, newest map[string]string, o index.ListOptions) page {
		t.Helper()
		ip, err := ix.ListIncoming(t.Context(), "in", o)
		if err != nil {
			t.Fatalf("ListIncoming(%+v): %v", o, err)
		}
		p := page{Prefixes: ip.CommonPrefixes, Truncated: ip.Truncated, Next: ip.Next}
		for _, j := range ip.Jobs {
			p.Keys = append(p.Keys, j.SourceKey)
			if j.SourceBucket != "in" || j.ID != newest[j.SourceKey] || j.Status == index.JobDone {
				t.Errorf("key %q listed with job %s (bucket %q, status %s), want job %s",
					j.SourceKey, j.ID, j.SourceBucket, j.Status, newest[j.SourceKey])
			}
		}
		return p
	}
	t.Run("ListIncoming", func(t *testing.T) {
		e := newEnv(t, newIndex)
		keys, newest := incomingFixture(e)
		var opts []index.ListOptions
		for _, delim := range []string{"", "/", "::"} {
			for _, prefix := range []string{"", "a", "a/", "dir/", "x::", "é", "zzz"} {
				for _, after := range []string{"", "a/", "a/b", "dir/file", "k\u0080", "x::z::", "é/", "zzz"} {
					for _, limit := range []int{0, 1, 2, 5, 1000} {
						opts = append(opts, index.ListOptions{Prefix: prefix, Delimiter: delim, After: after, Limit: limit})
					}
				}
			}
		}
		for _, o := range opts {
			got, want := listIncoming(t, e.ix, newest, o), model(keys, o)
			if !samePage(got, want) {
				t.Errorf("ListIncoming(%+v)\n got %v\nwant %v", o, got, want)
			}
		}
		// Pages join into the whole listing.
		var all []string
		o := index.ListOptions{Delimiter: "/", Limit: 2}
		for {
			p := listIncoming(t, e.ix, newest, o)
			all = append(append(all, p.Keys...), p.Prefixes...)
			if !p.Truncated {
				break
			}
			o.After = p.Next
		}
		whole := model(keys, index.ListOptions{Delimiter: "/", Limit: 1000})
		if want := append(slices.Clone(whole.Keys), whole.Prefixes...); !sameSet(all, want) {
			t.Errorf("pages joined = %q, want %q", all, want)
		}
		if p, err := e.ix.ListIncoming(t.Context(), "empty", index.ListOptions{Limit: 10}); err != nil || len(p.Jobs) != 0 || p.Truncated {
			t.Errorf("empty bucket: %+v, %v", p, err)
		}
	})
	t.Run("GetIncoming", func(t *testing.T) {
		e := newEnv(t, newIndex)
		_, newest := incomingFixture(e)
		for _, key := range []string{"a", "a/b", "dir/file", "failed.zip", "é"} {
			j, err := e.ix.GetIncoming(t.Context(), "in", key)
			if err != nil || j.ID != newest[key] {
				t.Errorf("GetIncoming(%q) = %s, %v; want %s", key, j.ID, err, newest[key])
			}
		}
		for _, c := range []struct{ bucket, key string }{
			{"in", "only-done"}, {"in", "missing"}, {"in", "a/zzz"}, {"in2", "a/b"},
		} {
			_, err := e.ix.GetIncoming(t.Context(), c.bucket, c.key)
			wantErr(t, fmt.Sprintf("GetIncoming(%q, %q)", c.bucket, c.key), err, index.ErrJobNotFound)
		}
		failed, err := e.ix.GetIncoming(t.Context(), "in", "failed.zip")
		if err != nil || failed.Status != index.JobFailed || failed.Error != "corrupt" {
			t.Errorf("failed job: %+v, %v", failed, err)
		}
	})
}

func sameSet(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

// getJobs lists every job of a status.
func getJobs(e *env, st index.JobStatus) []index.Job {
	e.t.Helper()
	jobs, _, err := e.ix.ListJobs(e.t.Context(), index.JobListOptions{Status: st, Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	return jobs
}
