package sqlindex

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"dewar/cas"
	"dewar/index"
	"dewar/index/listing"
)

// The queue is the jobs table itself. A job is runnable when it is queued
// and due (run_after <= now), or processing with an expired lease
// (lease_until <= now). A claim sets status processing, the lease owner,
// lease_until and a new fencing token (the job's previous token + 1, so
// tokens of one job only grow), and counts the attempt. Heartbeat, Finish
// and Retry act only while the job is processing under the same owner and
// token: a lease that expired but was not claimed again is still good.
// Every time is the index's clock (Options.Now).

// maxClaimRaces bounds how often Claim tries the next candidate after a
// concurrent claimer took the one it picked (PostgreSQL only).
const maxClaimRaces = 5

// claimLock is appended to the candidate SELECTs of Claim: where the
// dialect locks rows, concurrent claimers skip rows another one holds
// (FOR UPDATE SKIP LOCKED) instead of queuing behind it for a job that will
// no longer be runnable. SQLite's write transaction is exclusive already.
func (ix *Index) claimLock() string {
	if ix.d.ForUpdate == "" {
		return ""
	}
	return ix.d.ForUpdate + " SKIP LOCKED"
}

// Claim leases the oldest runnable job (by ID) to owner for ttl; see
// index.Queue. Held, done and failed jobs are never claimed.
// index.ErrNoJob when nothing is runnable.
func (ix *Index) Claim(ctx context.Context, owner string, ttl time.Duration) (index.Job, index.Lease, error) {
	if owner == "" || ttl <= 0 {
		return index.Job{}, index.Lease{}, fmt.Errorf("%w: claim by %q for %v", ErrInvalid, owner, ttl)
	}
	// Polling workers find an empty queue without taking the writer.
	if _, err := ix.claimCandidate(ctx, ix.reader, ix.stamp(time.Time{}), ""); err != nil {
		return index.Job{}, index.Lease{}, err
	}
	var job index.Job
	var lease index.Lease
	err := ix.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		now := ix.stamp(time.Time{})
		until := now.Add(ttl).Truncate(Precision)
		for range maxClaimRaces {
			id, err := ix.claimCandidate(ctx, tx, now, ix.claimLock())
			if err != nil {
				return err
			}
			var token int64
			job, err = scanJob(extraCols{ix.queryRow(ctx, tx, `UPDATE jobs SET status = 'processing', lease_owner = ?,
				lease_token = lease_token + 1, lease_until = ?, attempts = attempts + 1, updated_at = ?
				WHERE id = ? AND (status = 'queued' AND run_after <= ? OR status = 'processing' AND lease_until <= ?)
				RETURNING `+jobCols+`, lease_token`,
				owner, tm(&until), tm(&now), id, tm(&now), tm(&now)), []any{&token}})
			if errors.Is(err, sql.ErrNoRows) {
				continue // claimed by a concurrent transaction meanwhile
			}
			if err != nil {
				return fmt.Errorf("sqlindex: claim job %s: %w", id, err)
			}
			lease = index.Lease{JobID: id, Owner: owner, Token: token, Expires: until}
			return nil
		}
		return fmt.Errorf("sqlindex: claim: lost %d races: %w", maxClaimRaces, index.ErrNoJob)
	})
	if err != nil {
		return index.Job{}, index.Lease{}, err
	}
	return job, lease, nil
}

// claimCandidate returns the ID of the oldest runnable job at now, reading
// with lock appended to its SELECTs; index.ErrNoJob when there is none.
// Each SELECT is a range of jobs_status in ID order: queued jobs not yet
// due are skipped in place, and processing jobs are few.
func (ix *Index) claimCandidate(ctx context.Context, q querier, now time.Time, lock string) (string, error) {
	var best string
	for _, query := range []string{
		`SELECT id FROM jobs WHERE status = 'queued' AND run_after <= ? ORDER BY id LIMIT 1`,
		`SELECT id FROM jobs WHERE status = 'processing' AND lease_until <= ? ORDER BY id LIMIT 1`,
	} {
		var id string
		err := ix.queryRow(ctx, q, query+lock, tm(&now)).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("sqlindex: claim: %w", err)
		}
		if best == "" || id < best {
			best = id
		}
	}
	if best == "" {
		return "", fmt.Errorf("sqlindex: claim: %w", index.ErrNoJob)
	}
	return best, nil
}

// extraCols is a row whose columns after the ones its reader scans go to
// more (a job's columns and then its lease token, say).
type extraCols struct {
	s    scanner
	more []any
}

func (e extraCols) Scan(dest ...any) error { return e.s.Scan(append(dest, e.more...)...) }

// Heartbeat extends a held lease to now+ttl; index.ErrLeaseLost when the
// job is no longer processing under l's owner and token.
func (ix *Index) Heartbeat(ctx context.Context, l index.Lease, ttl time.Duration) (index.Lease, error) {
	if ttl <= 0 {
		return index.Lease{}, fmt.Errorf("%w: heartbeat for %v", ErrInvalid, ttl)
	}
	err := ix.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		until := ix.stamp(time.Time{}).Add(ttl).Truncate(Precision)
		res, err := ix.exec(ctx, tx, `UPDATE jobs SET lease_until = ?
			WHERE id = ? AND status = 'processing' AND lease_owner = ? AND lease_token = ?`,
			tm(&until), l.JobID, l.Owner, l.Token)
		if err := leaseHeld(res, err, l); err != nil {
			return err
		}
		l.Expires = until
		return nil
	})
	if err != nil {
		return index.Lease{}, err
	}
	return l, nil
}

// leaseHeld turns the result of an UPDATE guarded by a lease into
// index.ErrLeaseLost when it changed no row.
func leaseHeld(res sql.Result, err error, l index.Lease) error {
	if err != nil {
		return fmt.Errorf("sqlindex: lease of job %s: %w", l.JobID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlindex: lease of job %s: %w", l.JobID, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlindex: job %s, token %d of %q: %w", l.JobID, l.Token, l.Owner, index.ErrLeaseLost)
	}
	return nil
}

// Retry gives a held job back to the queue, due after delay, with reason
// as its error; index.ErrLeaseLost when l is no longer held.
func (ix *Index) Retry(ctx context.Context, l index.Lease, delay time.Duration, reason string) error {
	return ix.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		now := ix.stamp(time.Time{})
		due := now.Add(max(delay, 0)).Truncate(Precision)
		res, err := ix.exec(ctx, tx, `UPDATE jobs SET status = 'queued', run_after = ?, error = ?,
			lease_owner = '', lease_until = NULL, updated_at = ?
			WHERE id = ? AND status = 'processing' AND lease_owner = ? AND lease_token = ?`,
			tm(&due), reason, tm(&now), l.JobID, l.Owner, l.Token)
		return leaseHeld(res, err, l)
	})
}

// ExpireLeases ends, as of now, every unexpired lease whose owner starts
// with ownerPrefix ("" matches all), so their jobs can be claimed at once.
// It reports how many it ended. The holders' tokens stay valid until
// another claim, like any expired lease's.
func (ix *Index) ExpireLeases(ctx context.Context, ownerPrefix string) (int, error) {
	var n int64
	err := ix.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		now := ix.stamp(time.Time{})
		query := `UPDATE jobs SET lease_until = ? WHERE status = 'processing' AND lease_until > ? AND lease_owner >= ?`
		args := []any{tm(&now), tm(&now), ownerPrefix}
		if end, ok := listing.PrefixEnd(ownerPrefix); ok {
			query += ` AND lease_owner < ?`
			args = append(args, end)
		}
		res, err := ix.exec(ctx, tx, query, args...)
		if err != nil {
			return fmt.Errorf("sqlindex: expire leases of %q: %w", ownerPrefix, err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// Finish records a job's result if and only if l is still held; see
// index.Queue. In one transaction it checks the lease (index.ErrLeaseLost,
// changing nothing), inserts the files new to the index (pinning each blob
// and running r.Commit under its lock; known files are not pinned again),
// counts the job once per distinct file, marks the files known-good when
// the job is known-good and done, replaces the job's tree, records
// r.Analyses for the files that have none yet (existing ones are kept:
// SetAnalysis replaces), queues a done job for CountJobTokens, and stores
// the status, error, warnings and stats, ending the lease.
//
// r.Files may repeat a ref (the first wins); every file entry of r.Tree
// with a blob must name one of r.Files, and only files carry a blob
// (ErrInvalid); so must every analysis (a repeated ref: the first wins). Tree paths repeated keep their last entry. Stats: Files and
// Bytes over the distinct refs of r.Files, NewFiles and NewBytes over those
// the index did not know before.
func (ix *Index) Finish(ctx context.Context, l index.Lease, r index.JobResult) (index.Job, error) {
	files, tree, err := prepareResult(r)
	if err != nil {
		return index.Job{}, err
	}
	analyses, err := ix.prepareResultAnalyses(r.Analyses, files)
	if err != nil {
		return index.Job{}, err
	}
	var job index.Job
	err = ix.w.do(ctx, func(tctx context.Context, tx *sql.Tx) error {
		// Lock order: the job row, then recordFiles' blob and file rows,
		// then the tree rows, then writeAnalyses' rows.
		var knownGood bool
		err := ix.queryRow(tctx, tx, `SELECT known_good FROM jobs
			WHERE id = ? AND status = 'processing' AND lease_owner = ? AND lease_token = ?`+ix.d.ForUpdate,
			l.JobID, l.Owner, l.Token).Scan(&knownGood)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlindex: finish job %s, token %d of %q: %w", l.JobID, l.Token, l.Owner, index.ErrLeaseLost)
		}
		if err != nil {
			return fmt.Errorf("sqlindex: finish job %s: %w", l.JobID, err)
		}
		now := ix.stamp(time.Time{})
		kgDone := knownGood && r.Status == index.JobDone
		st, err := ix.recordFiles(tctx, tx, ctx, files, r.Commit, kgDone, now)
		if err != nil {
			return err
		}
		if err := ix.writeTree(tctx, tx, l.JobID, tree, kgDone); err != nil {
			return err
		}
		if err := ix.writeAnalyses(tctx, tx, analyses, false); err != nil {
			return err
		}
		if r.Status == index.JobDone {
			// Counted by CountJobTokens, after the result is visible.
			if _, err := ix.exec(tctx, tx, `INSERT INTO token_counts_pending (job_id) VALUES (?)`, l.JobID); err != nil {
				return fmt.Errorf("sqlindex: finish job %s: %w", l.JobID, err)
			}
		}
		job, err = scanJob(ix.queryRow(tctx, tx, `UPDATE jobs SET status = ?, error = ?, warnings = ?,
			files = ?, new_files = ?, bytes = ?, new_bytes = ?,
			lease_owner = '', lease_until = NULL, updated_at = ?, finished_at = ?
			WHERE id = ? RETURNING `+jobCols,
			r.Status, r.Error, warnings(r.Warnings), st.Files, st.NewFiles, st.Bytes, st.NewBytes,
			tm(&now), tm(&now), l.JobID))
		if err != nil {
			return fmt.Errorf("sqlindex: finish job %s: %w", l.JobID, err)
		}
		return nil
	})
	if err != nil {
		return index.Job{}, err
	}
	return job, nil
}

// prepareResult checks r and returns its distinct files in ascending ref
// order and its tree with unique paths (the last entry of a path wins).
func prepareResult(r index.JobResult) ([]index.File, []index.TreeEntry, error) {
	if r.Status != index.JobDone && r.Status != index.JobFailed {
		return nil, nil, fmt.Errorf("%w: finish with status %q", ErrInvalid, r.Status)
	}
	seen := make(map[cas.Ref]bool, len(r.Files))
	files := make([]index.File, 0, len(r.Files))
	for _, f := range r.Files {
		if f.Ref.IsZero() {
			return nil, nil, fmt.Errorf("%w: file with a zero ref", ErrInvalid)
		}
		if !seen[f.Ref] {
			seen[f.Ref] = true
			files = append(files, f)
		}
	}
	slices.SortFunc(files, func(a, b index.File) int { return refCompare(a.Ref, b.Ref) })
	at := make(map[string]int, len(r.Tree))
	tree := make([]index.TreeEntry, 0, len(r.Tree))
	for _, e := range r.Tree {
		switch {
		case e.Path == "":
			return nil, nil, fmt.Errorf("%w: tree entry with an empty path", ErrInvalid)
		case e.Type != index.TreeFile && e.Type != index.TreeDir && e.Type != index.TreeSymlink && e.Type != index.TreeOther:
			return nil, nil, fmt.Errorf("%w: tree entry %q of type %q", ErrInvalid, e.Path, e.Type)
		case !e.Blob.IsZero() && e.Type != index.TreeFile:
			return nil, nil, fmt.Errorf("%w: %s %q has a blob", ErrInvalid, e.Type, e.Path)
		case !e.Blob.IsZero() && !seen[e.Blob]:
			return nil, nil, fmt.Errorf("%w: tree entry %q: blob %s is not among the job's files", ErrInvalid, e.Path, e.Blob)
		}
		if i, ok := at[e.Path]; ok {
			tree[i] = e
			continue
		}
		at[e.Path] = len(tree)
		tree = append(tree, e)
	}
	return files, tree, nil
}
