package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"dewar/cas"
	"dewar/index"
	"dewar/index/sqlindex"
)

// TestFinishManyFiles: recording a job of 2,500 new files (and as many
// paths) works in one Finish; the time is logged, not asserted.
func TestFinishManyFiles(t *testing.T) {
	ctx := t.Context()
	ix := openTemp(t, Options{})
	id := index.NewJobID(time.Now())
	up := cas.Sum([]byte("perf upload"))
	if _, err := ix.CreateJob(ctx, index.NewJob{Job: index.Job{ID: id, Upload: up, UploadSize: 1}, Commit: noop}); err != nil {
		t.Fatal(err)
	}
	_, l, err := ix.Claim(ctx, "w", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	r := index.JobResult{Status: index.JobDone, Commit: func(context.Context, cas.Ref) error { return nil },
		Files: []index.File{{Ref: up, Size: 1}}}
	for i := range 2500 {
		f := index.File{Ref: cas.Sum(fmt.Appendf(nil, "perf %d", i)), Size: int64(i), SHA1: "s", MD5: "m", MIME: "text/plain"}
		r.Files = append(r.Files, f)
		r.Tree = append(r.Tree, index.TreeEntry{Path: fmt.Sprintf("dir%02d/file%04d.php", i%50, i), Type: index.TreeFile, Blob: f.Ref, Size: f.Size})
	}
	start := time.Now()
	j, err := ix.Finish(ctx, l, r)
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Finish of %d files took %v", len(r.Files), took)
	if j.Stats.NewFiles != 2501 {
		t.Errorf("stats %+v", j.Stats)
	}
}

// TestJobsOfFileManyJobs: a file in 100,000 jobs pages by keyset, so a
// page deep in the list costs what the first does, and the query plan is
// an index range with no sort. (The race detector gets 10,000 jobs: it
// checks for races, not speed.)
func TestJobsOfFileManyJobs(t *testing.T) {
	ctx := t.Context()
	ix := openTemp(t, Options{})
	jobs := 100000
	if raceEnabled {
		jobs = 10000
	}
	ref := cas.Sum([]byte("popular"))
	err := ix.Update(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for _, q := range []string{
			`INSERT INTO blobs (ref, size, refs, created_at) VALUES ('` + ref.String() + `', 1, 1, '')`,
			`INSERT INTO files (ref, size, sha1, md5, mime, first_seen, known_good, job_count)
				VALUES ('` + ref.String() + `', 1, '', '', '', '', 0, ` + fmt.Sprint(jobs) + `)`,
			`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ` + fmt.Sprint(jobs) + `)
				INSERT INTO jobs (id, name, known_good, status, error, warnings, submitted_at, submitter, notes,
					upload, upload_size, upload_md5, source_bucket, source_key, content_type, files, new_files, bytes,
					new_bytes, attempts, run_after, lease_owner, lease_token, updated_at, finished_at)
				SELECT printf('%026d', i), '', 0, 'done', '', '[]', '', '', '', '` + ref.String() + `', 1, '',
					'', '', '', 1, 0, 1, 0, 1, '', '', 1, '', '' FROM n`,
			`INSERT INTO tree (job_id, path, raw_path, type, blob, size, target, tkey)
				SELECT id, 'kit/index.php', x'', 'file', upload, 1, x'', 'kit/index.php' FROM jobs`,
			`INSERT INTO tree (job_id, path, raw_path, type, blob, size, target, tkey)
				SELECT id, 'kit/other.php', x'', 'file', NULL, 1, x'', 'kit/other.php' FROM jobs`,
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("%.40s: %w", q, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Each job has the file at one path and as its upload.
	cursors := []index.JobFile{{}, {JobID: fmt.Sprintf("%026d", jobs/2)}, {JobID: fmt.Sprintf("%026d", jobs-30), Path: "kit/index.php"}}
	var worst time.Duration
	for _, after := range cursors {
		start := time.Now()
		occ, more, err := ix.JobsOfFile(ctx, ref, after, 50)
		took := time.Since(start)
		worst = max(worst, took)
		if err != nil || len(occ) == 0 {
			t.Fatalf("JobsOfFile after %v: %v, %v", after, occ, err)
		}
		if occ[0].JobID < after.JobID || (after.JobID == "" && (occ[0] != index.JobFile{JobID: fmt.Sprintf("%026d", 1)})) {
			t.Errorf("after %v: first %v", after, occ[0])
		}
		if !more || len(occ) != 50 {
			t.Errorf("after %v: %d occurrences, more=%v; want a full page and more", after, len(occ), more)
		}
		t.Logf("page after %v: %d occurrences, more=%v, %v", after, len(occ), more, took)
	}
	// Speed is reported (t.Logf above), never asserted: the plans below
	// are what keeps pages fast whatever the machine's load.
	t.Logf("slowest page took %v", worst)
	// The plans: index ranges in order, no temporary sort, no full scan.
	for _, q := range []string{
		`SELECT job_id, path FROM tree WHERE blob = ? AND (job_id, path) > (?, ?) ORDER BY job_id, path LIMIT ?`,
		`SELECT id FROM jobs WHERE upload = ? AND id > ? AND finished_at IS NOT NULL ORDER BY id LIMIT ?`,
	} {
		plan := queryPlan(t, ix, q, ref, "x", "y", 10)
		if strings.Contains(plan, "TEMP B-TREE") || !strings.Contains(plan, "USING") || strings.Contains(plan, "SCAN") {
			t.Errorf("plan of %q:\n%s", q, plan)
		}
	}
}

// queryPlan returns SQLite's EXPLAIN QUERY PLAN of query, one line per step.
func queryPlan(t *testing.T, ix *sqlindex.Index, query string, args ...any) string {
	t.Helper()
	var b strings.Builder
	err := ix.Update(t.Context(), func(ctx context.Context, tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				return err
			}
			b.WriteString(detail + "\n")
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
