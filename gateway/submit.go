package gateway

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"dewar/cas"
	"dewar/index"
)

// Errors of submission.
var (
	// ErrInvalid: a submission field is malformed (collected-at, say).
	ErrInvalid = errors.New("gateway: invalid submission")
)

// Submission describes a new job.
type Submission struct {
	Name        string // original name (upload key, file name)
	KnownGood   bool
	Notes       string
	CollectedAt time.Time
	Hold        bool
	Submitter   string
	ContentType string
	// SourceBucket and SourceKey are set for uploads to incoming buckets.
	SourceBucket string
	SourceKey    string
	// UploadMD5 is the hex MD5 of the upload when the caller computed it
	// (Submit computes it itself).
	UploadMD5 string
}

// ParseCollectedAt reads an RFC 3339 time (x-amz-meta-collected-at, the
// API's collected_at); empty gives the zero time.
func ParseCollectedAt(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		if d, derr := time.Parse("2006-01-02", s); derr == nil {
			return d.UTC(), nil
		}
		return time.Time{}, fmt.Errorf("%w: collected-at %q is not an RFC 3339 time", ErrInvalid, s)
	}
	return t.UTC(), nil
}

// ParseHold reads x-amz-meta-hold / the API's hold field.
func ParseHold(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "false", "0", "no":
		return false, nil
	case "true", "1", "yes":
		return true, nil
	}
	return false, fmt.Errorf("%w: hold %q is not true or false", ErrInvalid, s)
}

// Submit stores r and creates its job. The upload is in the content store,
// durably, before the job exists; the job and its queue entry are one
// transaction, so once Submit returns the upload cannot be lost.
func (s *Service) Submit(ctx context.Context, r io.Reader, sub Submission) (index.Job, error) {
	h := md5.New()
	st, err := s.store.Stage(ctx, io.TeeReader(r, h), cas.StageOptions{})
	if err != nil {
		return index.Job{}, err
	}
	defer st.Discard()
	if _, err := st.Commit(ctx); err != nil {
		return index.Job{}, err
	}
	sub.UploadMD5 = hex.EncodeToString(h.Sum(nil))
	return s.SubmitStaged(ctx, st, sub, "")
}

// SubmitStaged creates the job for an upload already staged and committed
// in the store (the S3 path verifies signatures and checksums while it
// stages). fromUpload names a multipart upload to delete with the same
// transaction.
func (s *Service) SubmitStaged(ctx context.Context, st Staged, sub Submission, fromUpload string) (index.Job, error) {
	ref := st.Ref()
	return s.submitRef(ctx, ref, func(ctx context.Context) error {
		_, err := st.Commit(ctx)
		return err
	}, sub, fromUpload)
}

// Staged is the part of cas.Staged submission needs.
type Staged interface {
	Ref() cas.SizedRef
	Commit(ctx context.Context) (bool, error)
}

// SubmitBlob creates a job for a blob the caller has in the store with a
// commit function (a multipart upload assembled from its parts).
func (s *Service) SubmitBlob(ctx context.Context, ref cas.SizedRef, commit index.CommitFunc, sub Submission, fromUpload string) (index.Job, error) {
	return s.submitRef(ctx, ref, commit, sub, fromUpload)
}

func (s *Service) submitRef(ctx context.Context, ref cas.SizedRef, commit index.CommitFunc, sub Submission, fromUpload string) (index.Job, error) {
	now := s.Now()
	status := index.JobQueued
	if sub.Hold {
		status = index.JobHeld
	}
	name := sub.Name
	if name == "" {
		name = ref.Ref.String()
	}
	j := index.Job{
		ID: index.NewJobID(now), Name: name, KnownGood: sub.KnownGood, Status: status,
		SubmittedAt: now, CollectedAt: sub.CollectedAt, Submitter: sub.Submitter, Notes: sub.Notes,
		Upload: ref.Ref, UploadSize: ref.Size, UploadMD5: sub.UploadMD5, SourceBucket: sub.SourceBucket, SourceKey: sub.SourceKey,
		ContentType: sub.ContentType, UpdatedAt: now,
	}
	zeroed, err := s.idx.CreateJob(ctx, index.NewJob{Job: j, Commit: commit, FromUpload: fromUpload})
	if err != nil {
		return index.Job{}, err
	}
	s.Reap(ctx, zeroed)
	if status == index.JobQueued {
		s.notify()
	}
	s.log.InfoContext(ctx, "job submitted", "job", j.ID, "name", j.Name, "known_good", j.KnownGood, "status", j.Status, "size", j.UploadSize, "submitter", j.Submitter)
	return j, nil
}

// Release queues a held job, optionally replacing its notes.
func (s *Service) Release(ctx context.Context, id string, notes *string) (index.Job, error) {
	j, err := s.idx.Release(ctx, id, notes)
	if err != nil {
		return index.Job{}, err
	}
	s.notify()
	s.log.InfoContext(ctx, "job released", "job", id)
	return j, nil
}

// SetNotes replaces a job's notes.
func (s *Service) SetNotes(ctx context.Context, id, notes string) (index.Job, error) {
	return s.idx.SetNotes(ctx, id, notes)
}

// Reap removes blobs whose last reference went away; failures are logged
// (gc catches what is left).
func (s *Service) Reap(ctx context.Context, refs []cas.Ref) {
	ctx = context.WithoutCancel(ctx)
	for _, ref := range refs {
		if _, err := s.idx.Reap(ctx, ref, s.store.Remove); err != nil {
			s.log.WarnContext(ctx, "reap failed; gc will retry", "ref", ref.String(), "err", err)
		}
	}
}
