package sqlindex

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"dewar/cas"
	"dewar/index"
)

const treeCols = `path, raw_path, type, blob, size, target`

func scanTreeEntry(s scanner) (index.TreeEntry, error) {
	var e index.TreeEntry
	var raw, target []byte
	err := s.Scan(&e.Path, &raw, &e.Type, &e.Blob, &e.Size, &target)
	e.RawPath, e.Target = string(raw), string(target)
	return e, err
}

// ListTree pages through a job's tree in bytewise path order: paths within
// opts.Prefix after opts.After, up to opts.Limit (<= 0: an empty page), one
// range scan of the tree's primary key. index.ErrJobNotFound when the job
// is unknown.
func (ix *Index) ListTree(ctx context.Context, jobID string, opts index.TreeListOptions) (entries []index.TreeEntry, more bool, err error) {
	if opts.Limit <= 0 {
		return nil, false, ix.jobExists(ctx, ix.reader, jobID)
	}
	// tkey is the entry's index.TreeEntry.TreeKey: key order, not path order.
	query, args := rangeQuery(`SELECT `+treeCols+` FROM tree WHERE job_id = ?`, `tkey`, `ORDER BY tkey LIMIT ?`,
		[]any{jobID}, opts.Prefix, opts.After, opts.Limit+1)
	err = ix.scanAll(ctx, ix.reader, func(rows *sql.Rows) error {
		e, err := scanTreeEntry(rows)
		entries = append(entries, e)
		return err
	}, query, args...)
	if err != nil {
		return nil, false, fmt.Errorf("sqlindex: list tree of %q: %w", jobID, err)
	}
	if len(entries) == 0 {
		return nil, false, ix.jobExists(ctx, ix.reader, jobID)
	}
	if len(entries) > opts.Limit {
		return entries[:opts.Limit], true, nil
	}
	return entries, false, nil
}

// GetTreeEntry returns the entry of a job's tree at path: an error wrapping
// index.ErrNotFound when the job has no such path (index.ErrJobNotFound
// when the job itself is unknown).
func (ix *Index) GetTreeEntry(ctx context.Context, jobID, path string) (index.TreeEntry, error) {
	e, err := scanTreeEntry(ix.queryRow(ctx, ix.reader, `SELECT `+treeCols+` FROM tree WHERE job_id = ? AND path = ?`, jobID, path))
	if errors.Is(err, sql.ErrNoRows) {
		if err := ix.jobExists(ctx, ix.reader, jobID); err != nil {
			return index.TreeEntry{}, err
		}
		return index.TreeEntry{}, fmt.Errorf("sqlindex: job %q has no path %q: %w", jobID, path, index.ErrNotFound)
	}
	if err != nil {
		return index.TreeEntry{}, fmt.Errorf("sqlindex: get tree entry %q of %q: %w", path, jobID, err)
	}
	return e, nil
}

// JobsOfFile pages through the occurrences of a file in finished jobs,
// ordered by job ID then path, after the exclusive (after.JobID,
// after.Path) cursor. Besides the tree paths, a job whose upload the file
// was (the archive itself) has an occurrence with Path "", which sorts
// first within the job. Both sources are keyset range scans of an index
// (tree_blob, jobs_upload), merged here, so a page costs the same for a
// file in a hundred thousand jobs. A limit <= 0 gives an empty page.
func (ix *Index) JobsOfFile(ctx context.Context, ref cas.Ref, after index.JobFile, limit int) (occurrences []index.JobFile, more bool, err error) {
	if limit <= 0 {
		return nil, false, nil
	}
	var paths, uploads []index.JobFile
	err = ix.scanAll(ctx, ix.reader, func(rows *sql.Rows) error {
		var o index.JobFile
		err := rows.Scan(&o.JobID, &o.Path)
		paths = append(paths, o)
		return err
	}, `SELECT job_id, path FROM tree WHERE blob = ? AND (job_id, path) > (?, ?) ORDER BY job_id, path LIMIT ?`,
		ref, after.JobID, after.Path, limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("sqlindex: jobs of %s: %w", ref, err)
	}
	// ("", id) > after exactly when id > after.JobID, since "" is the
	// least path.
	err = ix.scanAll(ctx, ix.reader, func(rows *sql.Rows) error {
		var o index.JobFile
		err := rows.Scan(&o.JobID)
		uploads = append(uploads, o)
		return err
	}, `SELECT id FROM jobs WHERE upload = ? AND id > ? AND finished_at IS NOT NULL ORDER BY id LIMIT ?`,
		ref, after.JobID, limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("sqlindex: jobs of %s: %w", ref, err)
	}
	for len(occurrences) <= limit && (len(paths) > 0 || len(uploads) > 0) {
		if len(uploads) == 0 || len(paths) > 0 && jobFileLess(paths[0], uploads[0]) {
			occurrences, paths = append(occurrences, paths[0]), paths[1:]
		} else {
			occurrences, uploads = append(occurrences, uploads[0]), uploads[1:]
		}
	}
	if len(occurrences) > limit {
		return occurrences[:limit], true, nil
	}
	return occurrences, false, nil
}

func jobFileLess(a, b index.JobFile) bool {
	if c := strings.Compare(a.JobID, b.JobID); c != 0 {
		return c < 0
	}
	return a.Path < b.Path
}

// treeBatch is how many tree rows one INSERT carries (10 parameters each,
// well under SQLite's and PostgreSQL's parameter limits).
const treeBatch = 500

// writeTree replaces the tree of job jobID with tree (unique paths). Each
// row also gets its name (treeName, for name: searches) and knownGood: the
// job is known-good and ended done (KnownGoodOverlap's partial index).
func (ix *Index) writeTree(ctx context.Context, tx *sql.Tx, jobID string, tree []index.TreeEntry, knownGood bool) error {
	if _, err := ix.exec(ctx, tx, `DELETE FROM tree WHERE job_id = ?`, jobID); err != nil {
		return fmt.Errorf("sqlindex: replace tree of %s: %w", jobID, err)
	}
	for start := 0; start < len(tree); start += treeBatch {
		batch := tree[start:min(start+treeBatch, len(tree))]
		args := make([]any, 0, 10*len(batch))
		for _, e := range batch {
			args = append(args, jobID, e.Path, []byte(e.RawPath), e.Type, e.Blob, e.Size, []byte(e.Target),
				treeName(e.Path), knownGood, e.TreeKey())
		}
		_, err := ix.exec(ctx, tx, `INSERT INTO tree (job_id, `+treeCols+`, name, known_good, tkey) VALUES `+valueRows(len(batch), 10), args...)
		if err != nil {
			return fmt.Errorf("sqlindex: write tree of %s: %w", jobID, err)
		}
	}
	return nil
}

// treeName is what name: searches compare: the last element of a tree
// path, ASCII letters folded (see fold).
func treeName(path string) string {
	return fold(path[strings.LastIndexByte(path, '/')+1:])
}

// valueRows returns n rows of cols placeholders: "(?, ?), (?, ?)".
func valueRows(n, cols int) string {
	row := "(" + strings.Repeat("?, ", cols-1) + "?)"
	var b strings.Builder
	b.Grow(n * (len(row) + 2))
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	return b.String()
}

// inList returns n comma-separated placeholders.
func inList(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
