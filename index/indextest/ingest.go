package indextest

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"sync"
	"testing"
	"time"

	"dewar/cas"
	"dewar/index"
)

// IngestIndex is an index with the job capabilities too.
type IngestIndex interface {
	index.Index
	index.Ingest
}

// NewIngestIndex returns an empty index for one subtest whose clock (for
// every time it sets itself: leases, due times, stamps) is now.
type NewIngestIndex func(t *testing.T, now func() time.Time) IngestIndex

// RunIngest runs the suites of the job capabilities: RunJobs, RunFiles and
// RunQueue.
func RunIngest(t *testing.T, newIndex NewIngestIndex) {
	t.Run("Jobs", func(t *testing.T) { RunJobs(t, newIndex) })
	t.Run("Files", func(t *testing.T) { RunFiles(t, newIndex) })
	t.Run("Queue", func(t *testing.T) { RunQueue(t, newIndex) })
}

// clock is a settable time source for the index under test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is one subtest's index, fake store and clock.
type env struct {
	t     *testing.T
	ix    IngestIndex
	s     *store
	clock *clock
}

func newEnv(t *testing.T, newIndex NewIngestIndex) *env {
	c := &clock{t: t0}
	return &env{t: t, ix: newIndex(t, c.Now), s: newStore(), clock: c}
}

// newJob returns a job to create: a fresh ID, an upload named after it.
func (e *env) newJob(mods ...func(*index.Job)) index.Job {
	id := index.NewJobID(e.clock.Now())
	j := index.Job{
		ID: id, Name: "kit.zip", Upload: blob("upload:" + id), UploadSize: 4096, UploadMD5: "0123456789abcdef0123456789abcdef",
		Submitter: "alice", ContentType: "application/zip",
	}
	for _, m := range mods {
		m(&j)
	}
	return j
}

// create creates a job (see newJob) and returns it as stored.
func (e *env) create(mods ...func(*index.Job)) index.Job {
	e.t.Helper()
	j := e.newJob(mods...)
	if _, err := e.ix.CreateJob(e.t.Context(), index.NewJob{Job: j, Commit: e.s.commit(j.Upload)}); err != nil {
		e.t.Fatalf("CreateJob: %v", err)
	}
	got, err := e.ix.GetJob(e.t.Context(), j.ID)
	if err != nil {
		e.t.Fatalf("GetJob after CreateJob: %v", err)
	}
	return got
}

// claim claims the next job and checks it is want (when want != "").
func (e *env) claim(owner, want string) (index.Job, index.Lease) {
	e.t.Helper()
	j, l, err := e.ix.Claim(e.t.Context(), owner, time.Minute)
	if err != nil {
		e.t.Fatalf("Claim(%q): %v", owner, err)
	}
	if want != "" && j.ID != want {
		e.t.Fatalf("Claim(%q) = job %s, want %s", owner, j.ID, want)
	}
	return j, l
}

// finish finishes the job of l with r (r.Commit defaulting to the store's).
func (e *env) finish(l index.Lease, r index.JobResult) index.Job {
	e.t.Helper()
	if r.Commit == nil {
		r.Commit = e.s.commitRef
	}
	if r.Status == "" {
		r.Status = index.JobDone
	}
	j, err := e.ix.Finish(e.t.Context(), l, r)
	if err != nil {
		e.t.Fatalf("Finish(%s): %v", l.JobID, err)
	}
	return j
}

// run creates a job, claims and finishes it with files (the upload
// included) and a tree of one path per file, "<name>.txt".
func (e *env) run(knownGood bool, names ...string) index.Job {
	e.t.Helper()
	j := e.create(func(j *index.Job) { j.KnownGood = knownGood })
	_, l := e.claim("worker", j.ID)
	r := index.JobResult{Files: []index.File{uploadFile(j)}}
	for _, n := range names {
		f := sample(n)
		r.Files = append(r.Files, f)
		r.Tree = append(r.Tree, fileEntry(n+".txt", f))
	}
	return e.finish(l, r)
}

// commitRef is a JobResult.Commit that makes ref exist.
func (s *store) commitRef(ctx context.Context, ref cas.Ref) error { return s.commit(ref)(ctx) }

// sample is the File of a blob named name, with hashes derived from it.
func sample(name string) index.File {
	s1, m5 := sha1.Sum([]byte(name)), md5.Sum([]byte(name))
	return index.File{
		Ref: blob(name), Size: int64(100 + len(name)),
		SHA1: hex.EncodeToString(s1[:]), MD5: hex.EncodeToString(m5[:]), MIME: "text/plain",
	}
}

// uploadFile is the File of a job's upload.
func uploadFile(j index.Job) index.File {
	return index.File{Ref: j.Upload, Size: j.UploadSize, SHA1: "00", MD5: "11", MIME: "application/zip"}
}

func fileEntry(path string, f index.File) index.TreeEntry {
	return index.TreeEntry{Path: path, Type: index.TreeFile, Blob: f.Ref, Size: f.Size}
}

func getFile(t *testing.T, ix IngestIndex, ref cas.Ref) index.File {
	t.Helper()
	f, err := ix.GetFile(t.Context(), ref)
	if err != nil {
		t.Fatalf("GetFile(%s): %v", ref.String()[:8], err)
	}
	return f
}

func getJob(t *testing.T, ix IngestIndex, id string) index.Job {
	t.Helper()
	j, err := ix.GetJob(t.Context(), id)
	if err != nil {
		t.Fatalf("GetJob(%s): %v", id, err)
	}
	return j
}

// treePaths lists a job's whole tree, page by page of n.
func treePaths(t *testing.T, ix IngestIndex, jobID string, n int) []string {
	t.Helper()
	var paths []string
	after := ""
	for {
		es, more, err := ix.ListTree(t.Context(), jobID, index.TreeListOptions{After: after, Limit: n})
		if err != nil {
			t.Fatalf("ListTree(%s): %v", jobID, err)
		}
		for _, e := range es {
			paths = append(paths, e.Path)
		}
		if !more {
			return paths
		}
		if len(es) == 0 {
			t.Fatalf("ListTree(%s): empty page with more", jobID)
		}
		after = es[len(es)-1].Path
	}
}
