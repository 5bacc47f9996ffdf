package gateway

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"dewar/cas"
	"dewar/cas/filestore"
	"dewar/index"
	"dewar/index/sqlindex"
	"dewar/index/sqlite"
)

// testService is a Service over a real filestore and SQLite index in a
// temp dir, counting Notify calls. now, when set, is both clocks.
type testService struct {
	*Service
	store    *filestore.Store
	idx      *sqlindex.Index
	notified atomic.Int64
}

func newTestService(t *testing.T, now func() time.Time) *testService {
	t.Helper()
	dir := t.TempDir()
	st, err := filestore.Open(filepath.Join(dir, "store"), filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ix, err := sqlite.Open(filepath.Join(dir, "index.db"), sqlite.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	ts := &testService{store: st, idx: ix}
	svc, err := New(context.Background(), Options{Store: st, Index: ix, Now: now,
		Logger: slog.New(slog.DiscardHandler), Notify: func() { ts.notified.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	ts.Service = svc
	return ts
}

func TestParseCollectedAt(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    time.Time
		invalid bool
	}{
		{in: ""},
		{in: "  "},
		{in: "2026-01-02T15:04:05Z", want: time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)},
		{in: "2026-01-02T16:04:05+01:00", want: time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)},
		{in: "2026-01-02T15:04:05.123456789Z", want: time.Date(2026, 1, 2, 15, 4, 5, 123456789, time.UTC)},
		{in: "2026-01-02", want: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)},
		{in: "yesterday", invalid: true},
		{in: "2026-13-01T00:00:00Z", invalid: true},
		{in: "1767366245", invalid: true},
	} {
		got, err := ParseCollectedAt(c.in)
		if c.invalid {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("ParseCollectedAt(%q) = %v, %v; want ErrInvalid", c.in, got, err)
			}
			continue
		}
		if err != nil || !got.Equal(c.want) || got.Location() != time.UTC {
			t.Errorf("ParseCollectedAt(%q) = %v, %v; want %v in UTC", c.in, got, err, c.want)
		}
	}
}

func TestParseHold(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    bool
		invalid bool
	}{
		{"", false, false}, {"false", false, false}, {"0", false, false}, {"no", false, false},
		{"true", true, false}, {"TRUE", true, false}, {" 1 ", true, false}, {"yes", true, false},
		{"maybe", false, true}, {"2", false, true},
	} {
		got, err := ParseHold(c.in)
		if c.invalid != errors.Is(err, ErrInvalid) || (!c.invalid && (err != nil || got != c.want)) {
			t.Errorf("ParseHold(%q) = %v, %v; want %v (invalid %v)", c.in, got, err, c.want, c.invalid)
		}
	}
}

func TestBucketKinds(t *testing.T) {
	n := DefaultBucketNames()
	for _, c := range []struct {
		bucket   string
		kind     BucketKind
		incoming bool
	}{
		{"incoming-knowngood", IncomingKnownGood, true},
		{"incoming-other", IncomingOther, true},
		{"samples", Samples, false},
		{"jobs", Jobs, false},
		{"my-bucket", Ordinary, false},
		{"Samples", Ordinary, false},
	} {
		if k := n.Kind(c.bucket); k != c.kind || k.Incoming() != c.incoming {
			t.Errorf("Kind(%q) = %v (incoming %v), want %v (%v)", c.bucket, k, k.Incoming(), c.kind, c.incoming)
		}
	}
}

// TestNewCreatesBuckets: the four buckets exist after New, and a second
// New over the same index is fine.
func TestNewCreatesBuckets(t *testing.T) {
	ts := newTestService(t, nil)
	for _, b := range DefaultBucketNames().All() {
		if _, err := ts.idx.GetBucket(context.Background(), b); err != nil {
			t.Errorf("bucket %s: %v", b, err)
		}
	}
	if _, err := New(context.Background(), Options{Store: ts.store, Index: ts.idx}); err != nil {
		t.Errorf("second New: %v", err)
	}
}

func TestSubmit(t *testing.T) {
	ts := newTestService(t, nil)
	ctx := context.Background()
	body := []byte("PK\x03\x04 not really a zip, but bytes")
	collected := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		name   string
		sub    Submission
		status index.JobStatus
		notify int64
	}{
		{"queued", Submission{Name: "kit.zip", KnownGood: true, Notes: "from a tip", CollectedAt: collected, Submitter: "alice"}, index.JobQueued, 1},
		{"held", Submission{Name: "held.zip", Hold: true, Submitter: "bob"}, index.JobHeld, 0},
		{"unnamed", Submission{Submitter: "carol"}, index.JobQueued, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := ts.notified.Load()
			j, err := ts.Submit(ctx, bytes.NewReader(body), c.sub)
			if err != nil {
				t.Fatal(err)
			}
			sha, md := sha256.Sum256(body), md5.Sum(body)
			wantName := c.sub.Name
			if wantName == "" {
				wantName = hex.EncodeToString(sha[:])
			}
			if j.Status != c.status || j.Name != wantName || j.KnownGood != c.sub.KnownGood || j.Notes != c.sub.Notes ||
				j.Submitter != c.sub.Submitter || !j.CollectedAt.Equal(c.sub.CollectedAt) ||
				j.Upload.String() != hex.EncodeToString(sha[:]) || j.UploadSize != int64(len(body)) || j.UploadMD5 != hex.EncodeToString(md[:]) {
				t.Errorf("job %+v", j)
			}
			if !index.ValidJobID(j.ID) {
				t.Errorf("job id %q", j.ID)
			}
			if n := ts.notified.Load() - before; n != c.notify {
				t.Errorf("Notify called %d times, want %d", n, c.notify)
			}
			got, err := ts.idx.GetJob(ctx, j.ID)
			if err != nil || got.Status != c.status || got.Upload != j.Upload || got.UploadMD5 != j.UploadMD5 {
				t.Errorf("GetJob: %+v, %v", got, err)
			}
			rc, err := ts.store.Fetch(ctx, j.Upload, 0, -1)
			if err != nil {
				t.Fatalf("upload not in the store: %v", err)
			}
			stored, _ := io.ReadAll(rc)
			rc.Close()
			if !bytes.Equal(stored, body) {
				t.Errorf("stored upload differs")
			}
		})
	}
	n := 0
	if err := ts.store.Walk(ctx, cas.Ref{}, func(cas.BlobInfo) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("three submissions of the same bytes left %d blobs, want 1", n)
	}
}

// errReader fails after its bytes, as a dropped upload does.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// TestSubmitFailedUploadLeavesNothing: a body that fails midway creates no
// job and no blob.
func TestSubmitFailedUploadLeavesNothing(t *testing.T) {
	ts := newTestService(t, nil)
	ctx := context.Background()
	cut := errors.New("connection reset")
	_, err := ts.Submit(ctx, io.MultiReader(bytes.NewReader([]byte("half an upload")), errReader{cut}), Submission{Name: "x.zip"})
	if !errors.Is(err, cut) {
		t.Fatalf("Submit: %v, want the reader's error", err)
	}
	jobs, _, err := ts.idx.ListJobs(ctx, index.JobListOptions{Limit: 10})
	if err != nil || len(jobs) != 0 {
		t.Errorf("jobs after a failed upload: %d, %v", len(jobs), err)
	}
	if err := ts.store.Walk(ctx, cas.Ref{}, func(b cas.BlobInfo) error { return errors.New("blob " + b.Ref.String()) }); err != nil {
		t.Errorf("store after a failed upload: %v", err)
	}
	if ts.notified.Load() != 0 {
		t.Errorf("Notify called for a failed upload")
	}
}

func TestRelease(t *testing.T) {
	ts := newTestService(t, nil)
	ctx := context.Background()
	held, err := ts.Submit(ctx, bytes.NewReader([]byte("held")), Submission{Name: "h.zip", Hold: true, Notes: "old"})
	if err != nil {
		t.Fatal(err)
	}
	queued, err := ts.Submit(ctx, bytes.NewReader([]byte("queued")), Submission{Name: "q.zip"})
	if err != nil {
		t.Fatal(err)
	}
	before := ts.notified.Load()
	notes := "looked at it: go"
	j, err := ts.Release(ctx, held.ID, &notes)
	if err != nil || j.Status != index.JobQueued || j.Notes != notes {
		t.Errorf("Release: %s %q, %v; want queued with the new notes", j.Status, j.Notes, err)
	}
	if ts.notified.Load() != before+1 {
		t.Errorf("Release did not wake the workers")
	}
	for _, c := range []struct {
		id   string
		want error
	}{{held.ID, index.ErrJobState}, {queued.ID, index.ErrJobState}, {index.NewJobID(time.Now()), index.ErrJobNotFound}} {
		if _, err := ts.Release(ctx, c.id, nil); !errors.Is(err, c.want) {
			t.Errorf("Release(%s): %v, want %v", c.id, err, c.want)
		}
	}
	j, err = ts.SetNotes(ctx, queued.ID, "edited")
	if err != nil || j.Notes != "edited" || j.Status != index.JobQueued {
		t.Errorf("SetNotes: %+v, %v", j, err)
	}
	if _, err := ts.SetNotes(ctx, index.NewJobID(time.Now()), "x"); !errors.Is(err, index.ErrJobNotFound) {
		t.Errorf("SetNotes of an unknown job: %v", err)
	}
}
