package index

import (
	"context"
	"fmt"
	"time"

	"dewar/cas"
)

// Errors of the job capabilities.
var (
	ErrJobNotFound  = fmt.Errorf("%w: no such job", ErrNotFound)
	ErrFileNotFound = fmt.Errorf("%w: no such file", ErrNotFound)
	// ErrNoJob: Claim found nothing runnable.
	ErrNoJob = fmt.Errorf("%w: no runnable job", ErrNotFound)
	// ErrLeaseLost: the lease expired and the job was claimed again (or
	// finished) by someone else; the holder must drop its work.
	ErrLeaseLost = fmt.Errorf("%w: job lease lost", ErrConflict)
	// ErrJobState: the job is not in a state that allows the change
	// (releasing a job that is not held, say).
	ErrJobState = fmt.Errorf("%w: job is not in the right state", ErrConflict)
)

// JobStatus is where a job is in its life.
type JobStatus string

// Job statuses. held waits for a person; queued waits for a worker.
const (
	JobQueued     JobStatus = "queued"
	JobHeld       JobStatus = "held"
	JobProcessing JobStatus = "processing"
	JobDone       JobStatus = "done"
	JobFailed     JobStatus = "failed"
)

// Waiting reports whether the job has not reached a final status.
func (s JobStatus) Waiting() bool { return s != JobDone && s != JobFailed }

// JobStats count what a job contributed.
type JobStats struct {
	Files    int64 `json:"files"`     // distinct files in the tree (the upload included)
	NewFiles int64 `json:"new_files"` // of those, never seen before this job
	Bytes    int64 `json:"bytes"`     // bytes of those files
	NewBytes int64 `json:"new_bytes"` // bytes of the new ones
}

// Job is one submission.
type Job struct {
	// ID is time-ordered and URL-safe (see NewJobID): sorting by ID sorts
	// by submission time.
	ID          string
	Name        string // original name: the upload key or file name
	KnownGood   bool
	Status      JobStatus
	Error       string   // the reason, when failed or limited
	Warnings    []string // problems that did not fail the job
	SubmittedAt time.Time
	CollectedAt time.Time // zero when unknown
	Submitter   string
	Notes       string
	// Upload is the submitted bytes (the archive), pinned by the job.
	Upload     cas.Ref
	UploadSize int64
	// UploadMD5 is the hex MD5 of the upload: the ETag incoming buckets show.
	UploadMD5 string
	// Source is where the upload came from: an incoming bucket and key
	// (listed there until the job is done), or "" bucket for API, CLI and
	// watched folders.
	SourceBucket string
	SourceKey    string
	// ContentType of the upload as sent (served back on GET incoming/<key>).
	ContentType string
	Stats       JobStats
	Attempts    int
	UpdatedAt   time.Time
	FinishedAt  time.Time // zero until done or failed
}

// NewJob is what CreateJob needs besides the Job itself.
type NewJob struct {
	Job Job
	// Commit makes the upload blob exist (see CommitFunc).
	Commit CommitFunc
	// FromUpload, when set, names a multipart upload that became this job:
	// it is deleted with its parts in the same transaction.
	FromUpload string
}

// JobListOptions select jobs.
type JobListOptions struct {
	Status JobStatus // "" for all
	// After is an exclusive ID cursor; jobs come in ID order (oldest first)
	// unless Newest is set.
	After  string
	Newest bool
	Limit  int
}

// TreeType is the kind of a tree entry.
type TreeType string

// Tree entry types, as in manifest.json.
const (
	TreeFile    TreeType = "file"
	TreeDir     TreeType = "dir"
	TreeSymlink TreeType = "symlink"
	TreeOther   TreeType = "other"
)

// TreeEntry is one path of a job's tree.
type TreeEntry struct {
	Path    string // relative, '/'-separated, made safe
	RawPath string // the original name bytes when Path differs, else ""
	Type    TreeType
	Blob    cas.Ref // files only
	Size    int64   // files only
	Target  string  // links only
}

// TreeKey is the entry's name in key order: its path, plus "/" for a
// directory.
func (e TreeEntry) TreeKey() string {
	if e.Type == TreeDir {
		return e.Path + "/"
	}
	return e.Path
}

// TreeListOptions select a page of a job's tree in TreeKey order.
type TreeListOptions struct {
	Prefix string
	After  string
	Limit  int
}

// JobFile is one occurrence of a file in a job.
type JobFile struct {
	JobID string
	Path  string
}

// Jobs records submissions and their trees.
type Jobs interface {
	// CreateJob records a new job (status queued or held), pins its upload
	// and, being the queue's row, queues it: one transaction, so an
	// acknowledged upload is never lost. Returns the refs a FromUpload's
	// parts left at zero.
	CreateJob(ctx context.Context, nj NewJob) (zeroed []cas.Ref, err error)
	// GetJob returns ErrJobNotFound when unknown.
	GetJob(ctx context.Context, id string) (Job, error)
	// ListJobs pages through jobs by ID.
	ListJobs(ctx context.Context, opts JobListOptions) (jobs []Job, more bool, err error)
	// SetNotes replaces a job's notes.
	SetNotes(ctx context.Context, id, notes string) (Job, error)
	// Release turns a held job into a queued one, optionally replacing its
	// notes; ErrJobState unless it is held.
	Release(ctx context.Context, id string, notes *string) (Job, error)
	// ListIncoming pages through the jobs of an incoming bucket that are not
	// done (queued, held, processing, failed) by SourceKey; of several jobs
	// with the same key, the newest stands for it. ListOptions.Delimiter
	// works as for objects; Objects in the page are not filled, Jobs are.
	ListIncoming(ctx context.Context, bucket string, opts ListOptions) (IncomingPage, error)
	// GetIncoming returns the newest not-done job of bucket with key.
	GetIncoming(ctx context.Context, bucket, key string) (Job, error)
	// ListTree pages through a job's tree in key order: bytewise by
	// TreeKey (a directory sorts as its path plus "/", the order its S3 key
	// jobs/<id>/files/<path>/ has). Prefix and After are TreeKeys.
	ListTree(ctx context.Context, jobID string, opts TreeListOptions) (entries []TreeEntry, more bool, err error)
	// GetTreeEntry returns ErrNotFound when the job has no such path.
	GetTreeEntry(ctx context.Context, jobID, path string) (TreeEntry, error)
	// JobsOfFile pages through the jobs a file occurs in (by job ID, then
	// path), after the (jobID, path) cursor.
	JobsOfFile(ctx context.Context, ref cas.Ref, after JobFile, limit int) (occurrences []JobFile, more bool, err error)
}

// IncomingPage is a page of ListIncoming.
type IncomingPage struct {
	Jobs           []Job
	CommonPrefixes []string
	Truncated      bool
	Next           string
}

// File is one sample: a byte string that came in through a job.
type File struct {
	Ref       cas.Ref
	Size      int64
	SHA1      string // lowercase hex
	MD5       string // lowercase hex
	MIME      string
	FirstSeen time.Time
	// KnownGood: the file occurs in at least one known-good job. Kept up
	// to date when a known-good job finishes.
	KnownGood bool
	// JobCount is the number of jobs the file occurs in.
	JobCount int64
}

// FileListOptions select a page of samples in sha256 order.
type FileListOptions struct {
	Prefix string // hex prefix of the sha256
	After  string // exclusive hex cursor
	Limit  int
}

// Files answers questions about samples.
type Files interface {
	// GetFile returns ErrFileNotFound for a hash never seen in a job.
	GetFile(ctx context.Context, ref cas.Ref) (File, error)
	// ListFiles pages through samples by sha256, straight from the index.
	ListFiles(ctx context.Context, opts FileListOptions) (files []File, more bool, err error)
}

// Lease is a worker's hold on a claimed job.
type Lease struct {
	JobID   string
	Owner   string // the worker, e.g. "host:pid:worker-3"
	Token   int64  // fencing token: changes with every claim
	Expires time.Time
}

// JobResult is what ingestion found, recorded by Finish in one transaction.
type JobResult struct {
	Status   JobStatus // JobDone or JobFailed
	Error    string
	Warnings []string
	// Files are the distinct files of the job (the upload included). New
	// ones are inserted and pin their blob; each blob must already be in
	// the store (Commit re-checks under the lock).
	Files []File
	Tree  []TreeEntry
	// Commit makes sure a file's blob exists, under the blob's lock, for
	// files new to the index.
	Commit func(ctx context.Context, ref cas.Ref) error
	// Analyses of the job's files, recorded in the same transaction for
	// files that have none yet (SetAnalysis replaces existing ones). The
	// job's files then count once more in each of their tokens' job
	// frequencies.
	Analyses []Analysis
}

// Queue is the durable ingestion queue: job rows themselves, claimed with
// leases that workers renew, and finished under a fencing token so a job
// produces exactly one result even when a worker dies or stalls.
type Queue interface {
	// Claim leases the oldest runnable job (queued, due, and not leased or
	// its lease expired) to owner for ttl, marking it processing and
	// counting the attempt. ErrNoJob when there is none.
	Claim(ctx context.Context, owner string, ttl time.Duration) (Job, Lease, error)
	// Heartbeat extends a lease; ErrLeaseLost when it is no longer held.
	Heartbeat(ctx context.Context, l Lease, ttl time.Duration) (Lease, error)
	// Finish records a job's result, its files and tree, its stats and the
	// known-good and job-count updates, and queues a done job for
	// CountJobTokens, if and only if l is still held;
	// else ErrLeaseLost and nothing changes. Returns the final job.
	Finish(ctx context.Context, l Lease, r JobResult) (Job, error)
	// Retry gives the job back to the queue to run again after delay,
	// recording reason as its error for now; ErrLeaseLost when not held.
	Retry(ctx context.Context, l Lease, delay time.Duration, reason string) error
	// ExpireLeases makes every lease held by owners with this prefix claimable
	// at once (a restarted single node knows its old leases are dead).
	ExpireLeases(ctx context.Context, ownerPrefix string) (int, error)
	// CountJobTokens adds up to max done jobs, queued by their Finish, to
	// the job frequencies of their files' tokens, each job exactly once
	// (the count is the expensive part of a large job's result, so it
	// runs after the result is visible). Returns how many it counted.
	CountJobTokens(ctx context.Context, max int) (int, error)
}

// Ingest is the index as ingestion uses it. (It joins Index once every
// implementation has the job tables.)
type Ingest interface {
	Jobs
	Files
	Queue
}
