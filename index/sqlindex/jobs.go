package sqlindex

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"dewar/cas"
	"dewar/index"
)

// Compile-time checks that Index provides the job capabilities.
var (
	_ index.Ingest = (*Index)(nil)
	_ index.Jobs   = (*Index)(nil)
	_ index.Files  = (*Index)(nil)
	_ index.Queue  = (*Index)(nil)
)

// jobCols are the columns scanJob reads, in its order.
const jobCols = `id, name, known_good, status, error, warnings, submitted_at, collected_at,
	submitter, notes, upload, upload_size, upload_md5, source_bucket, source_key, content_type,
	files, new_files, bytes, new_bytes, attempts, updated_at, finished_at`

func scanJob(s scanner) (index.Job, error) {
	var j index.Job
	err := s.Scan(&j.ID, &j.Name, &j.KnownGood, &j.Status, &j.Error, js(&j.Warnings),
		tm(&j.SubmittedAt), nullTm(&j.CollectedAt), &j.Submitter, &j.Notes, &j.Upload, &j.UploadSize,
		&j.UploadMD5, &j.SourceBucket, &j.SourceKey, &j.ContentType,
		&j.Stats.Files, &j.Stats.NewFiles, &j.Stats.Bytes, &j.Stats.NewBytes, &j.Attempts,
		tm(&j.UpdatedAt), nullTm(&j.FinishedAt))
	if len(j.Warnings) == 0 {
		j.Warnings = nil
	}
	return j, err
}

// dbNullTime is dbTime where the zero time is NULL.
type dbNullTime struct{ t *time.Time }

func (d dbNullTime) Value() (driver.Value, error) {
	if d.t.IsZero() {
		return nil, nil
	}
	return tm(d.t).Value()
}

func (d dbNullTime) Scan(src any) error {
	if src == nil {
		*d.t = time.Time{}
		return nil
	}
	return tm(d.t).Scan(src)
}

func nullTm(t *time.Time) dbNullTime { return dbNullTime{t} }

// warnings is the stored form of a warning list: never JSON null.
func warnings(w []string) dbJSON {
	if w == nil {
		w = []string{}
	}
	return js(w)
}

// CreateJob records nj.Job as queued (or held), pins its upload and, when
// nj.FromUpload is set, deletes that multipart upload and its parts, in one
// transaction; see index.Jobs. The caller chooses the ID (index.NewJobID):
// it must be a valid job ID (ErrInvalid) and unused (index.ErrConflict).
// Status "" means queued; SubmittedAt zero means now; the result fields
// (error, warnings, stats, attempts, finished) start empty whatever nj
// holds. A failing Commit leaves nothing behind.
func (ix *Index) CreateJob(ctx context.Context, nj index.NewJob) (zeroed []cas.Ref, err error) {
	j := nj.Job
	if !index.ValidJobID(j.ID) {
		return nil, fmt.Errorf("%w: job ID %q", ErrInvalid, j.ID)
	}
	switch j.Status {
	case "":
		j.Status = index.JobQueued
	case index.JobQueued, index.JobHeld:
	default:
		return nil, fmt.Errorf("%w: new job with status %q", ErrInvalid, j.Status)
	}
	if j.Upload.IsZero() {
		return nil, fmt.Errorf("%w: job %s has no upload", ErrInvalid, j.ID)
	}
	j.SubmittedAt = ix.stamp(j.SubmittedAt)
	if !j.CollectedAt.IsZero() {
		j.CollectedAt = j.CollectedAt.UTC().Truncate(Precision)
	}
	err = ix.w.do(ctx, func(tctx context.Context, tx *sql.Tx) error {
		now := ix.stamp(time.Time{})
		// Lock order: the multipart upload row, its parts, then the blob
		// rows in ascending ref order (the upload's pin before the parts'
		// drops of the same ref, so it never passes through zero), then
		// the new job row, which needs its blob row.
		var drops map[cas.Ref]int64
		if nj.FromUpload != "" {
			if _, err := ix.getUpload(tctx, tx, nj.FromUpload, ix.d.ForUpdate); err != nil {
				return err
			}
			drops = map[cas.Ref]int64{}
			err := ix.scanAll(tctx, tx, func(rows *sql.Rows) error {
				var r cas.Ref
				if err := rows.Scan(&r); err != nil {
					return err
				}
				drops[r]++
				return nil
			}, `DELETE FROM parts WHERE upload_id = ? RETURNING blob`, nj.FromUpload)
			if err != nil {
				return fmt.Errorf("sqlindex: create job %s: delete parts: %w", j.ID, err)
			}
			if _, err := ix.exec(tctx, tx, `DELETE FROM uploads WHERE id = ?`, nj.FromUpload); err != nil {
				return fmt.Errorf("sqlindex: create job %s: delete upload: %w", j.ID, err)
			}
		}
		var z zeroSet
		pinned := false
		for _, r := range sortedRefs(drops) {
			if !pinned && !r.Less(j.Upload) {
				if err := ix.pin(tctx, tx, ctx, j.Upload, j.UploadSize, nj.Commit); err != nil {
					return err
				}
				pinned = true
			}
			if err := ix.drop(tctx, tx, r, drops[r], &z); err != nil {
				return err
			}
		}
		if !pinned {
			if err := ix.pin(tctx, tx, ctx, j.Upload, j.UploadSize, nj.Commit); err != nil {
				return err
			}
		}
		_, err := ix.exec(tctx, tx, `INSERT INTO jobs (`+jobCols+`, run_after, lease_owner, lease_token, lease_until)
			VALUES (?, ?, ?, ?, '', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, 0, 0, ?, NULL, ?, '', 0, NULL)`,
			j.ID, j.Name, j.KnownGood, j.Status, warnings(nil), tm(&j.SubmittedAt), nullTm(&j.CollectedAt),
			j.Submitter, j.Notes, j.Upload, j.UploadSize, j.UploadMD5, j.SourceBucket, j.SourceKey, j.ContentType,
			tm(&now), tm(&now))
		if ix.d.constraint(err) == UniqueViolation {
			return fmt.Errorf("sqlindex: job %s exists: %w", j.ID, index.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("sqlindex: create job %s: %w", j.ID, err)
		}
		zeroed = z.refs
		return nil
	})
	if err != nil {
		return nil, err
	}
	return zeroed, nil
}

// GetJob returns index.ErrJobNotFound when unknown.
func (ix *Index) GetJob(ctx context.Context, id string) (index.Job, error) {
	j, err := scanJob(ix.queryRow(ctx, ix.reader, `SELECT `+jobCols+` FROM jobs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return index.Job{}, fmt.Errorf("sqlindex: job %q: %w", id, index.ErrJobNotFound)
	}
	if err != nil {
		return index.Job{}, fmt.Errorf("sqlindex: get job %q: %w", id, err)
	}
	return j, nil
}

// jobExists returns index.ErrJobNotFound unless job id exists.
func (ix *Index) jobExists(ctx context.Context, q querier, id string) error {
	var one int
	err := ix.queryRow(ctx, q, `SELECT 1 FROM jobs WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlindex: job %q: %w", id, index.ErrJobNotFound)
	}
	if err != nil {
		return fmt.Errorf("sqlindex: job %q: %w", id, err)
	}
	return nil
}

// ListJobs pages through jobs by ID (oldest first, or newest first with
// opts.Newest), optionally of one status, after the exclusive opts.After.
// A Limit <= 0 gives an empty page.
func (ix *Index) ListJobs(ctx context.Context, opts index.JobListOptions) (jobs []index.Job, more bool, err error) {
	if opts.Limit <= 0 {
		return nil, false, nil
	}
	var conds []string
	var args []any
	if opts.Status != "" {
		conds, args = append(conds, `status = ?`), append(args, opts.Status)
	}
	order := `id`
	if opts.Newest {
		order = `id DESC`
		if opts.After != "" {
			conds, args = append(conds, `id < ?`), append(args, opts.After)
		}
	} else {
		conds, args = append(conds, `id > ?`), append(args, opts.After)
	}
	query := `SELECT ` + jobCols + ` FROM jobs`
	if len(conds) > 0 {
		query += ` WHERE ` + strings.Join(conds, ` AND `)
	}
	query += ` ORDER BY ` + order + ` LIMIT ?`
	err = ix.scanAll(ctx, ix.reader, func(rows *sql.Rows) error {
		j, err := scanJob(rows)
		jobs = append(jobs, j)
		return err
	}, query, append(args, opts.Limit+1)...)
	if err != nil {
		return nil, false, fmt.Errorf("sqlindex: list jobs: %w", err)
	}
	if len(jobs) > opts.Limit {
		return jobs[:opts.Limit], true, nil
	}
	return jobs, false, nil
}

// SetNotes replaces a job's notes; index.ErrJobNotFound when unknown.
func (ix *Index) SetNotes(ctx context.Context, id, notes string) (index.Job, error) {
	var j index.Job
	err := ix.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		now := ix.stamp(time.Time{})
		var err error
		j, err = scanJob(ix.queryRow(ctx, tx, `UPDATE jobs SET notes = ?, updated_at = ? WHERE id = ? RETURNING `+jobCols,
			notes, tm(&now), id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlindex: job %q: %w", id, index.ErrJobNotFound)
		}
		if err != nil {
			return fmt.Errorf("sqlindex: set notes of job %q: %w", id, err)
		}
		return nil
	})
	return j, err
}

// Release queues a held job to run now, replacing its notes when notes is
// not nil; index.ErrJobState unless it is held, index.ErrJobNotFound when
// unknown.
func (ix *Index) Release(ctx context.Context, id string, notes *string) (index.Job, error) {
	var n any // NULL keeps the notes
	if notes != nil {
		n = *notes
	}
	var j index.Job
	err := ix.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		now := ix.stamp(time.Time{})
		var err error
		j, err = scanJob(ix.queryRow(ctx, tx, `UPDATE jobs SET status = 'queued', notes = COALESCE(?, notes),
			run_after = ?, updated_at = ? WHERE id = ? AND status = 'held' RETURNING `+jobCols,
			n, tm(&now), tm(&now), id))
		if errors.Is(err, sql.ErrNoRows) {
			if err := ix.jobExists(ctx, tx, id); err != nil {
				return err
			}
			return fmt.Errorf("sqlindex: release job %q: %w", id, index.ErrJobState)
		}
		if err != nil {
			return fmt.Errorf("sqlindex: release job %q: %w", id, err)
		}
		return nil
	})
	return j, err
}

// sortedRefs returns the keys of m in ascending order.
func sortedRefs(m map[cas.Ref]int64) []cas.Ref {
	refs := make([]cas.Ref, 0, len(m))
	for r := range m {
		refs = append(refs, r)
	}
	sortRefs(refs)
	return refs
}

// sortRefs sorts refs ascending: the order blob rows are locked in.
func sortRefs(refs []cas.Ref) { slices.SortFunc(refs, refCompare) }

func refCompare(a, b cas.Ref) int {
	switch {
	case a.Less(b):
		return -1
	case b.Less(a):
		return 1
	}
	return 0
}
