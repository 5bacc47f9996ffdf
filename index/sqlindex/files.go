package sqlindex

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"dewar/cas"
	"dewar/index"
)

const fileCols = `ref, size, sha1, md5, mime, first_seen, known_good, job_count`

func scanFile(s scanner) (index.File, error) {
	var f index.File
	err := s.Scan(&f.Ref, &f.Size, &f.SHA1, &f.MD5, &f.MIME, tm(&f.FirstSeen), &f.KnownGood, &f.JobCount)
	return f, err
}

// GetFile returns index.ErrFileNotFound for a hash never seen in a
// finished job.
func (ix *Index) GetFile(ctx context.Context, ref cas.Ref) (index.File, error) {
	f, err := scanFile(ix.queryRow(ctx, ix.reader, `SELECT `+fileCols+` FROM files WHERE ref = ?`, ref))
	if errors.Is(err, sql.ErrNoRows) {
		return index.File{}, fmt.Errorf("sqlindex: file %s: %w", ref, index.ErrFileNotFound)
	}
	if err != nil {
		return index.File{}, fmt.Errorf("sqlindex: get file %s: %w", ref, err)
	}
	return f, nil
}

// ListFiles pages through samples in sha256 (lowercase hex) order: refs
// starting with opts.Prefix (hex, either case) after opts.After, up to
// opts.Limit (<= 0: an empty page). The prefix is a key range of the
// primary key, never a pattern.
func (ix *Index) ListFiles(ctx context.Context, opts index.FileListOptions) (files []index.File, more bool, err error) {
	if opts.Limit <= 0 {
		return nil, false, nil
	}
	query, args := rangeQuery(`SELECT `+fileCols+` FROM files WHERE 1 = 1`, `ref`, `ORDER BY ref LIMIT ?`,
		nil, strings.ToLower(opts.Prefix), strings.ToLower(opts.After), opts.Limit+1)
	err = ix.scanAll(ctx, ix.reader, func(rows *sql.Rows) error {
		f, err := scanFile(rows)
		files = append(files, f)
		return err
	}, query, args...)
	if err != nil {
		return nil, false, fmt.Errorf("sqlindex: list files: %w", err)
	}
	if len(files) > opts.Limit {
		return files[:opts.Limit], true, nil
	}
	return files, false, nil
}

// fileBatch is how many files one statement handles (8 parameters a row).
const fileBatch = 400

// recordFiles records that a finishing job holds files (unique, in
// ascending ref order): files new to the index are inserted, pinning their
// blob with commit run under its lock; every file's job_count goes up by
// one; when knownGood, every file is marked known-good. It returns the
// job's stats. Lock order: the blob rows of the new files (ascending),
// then the file rows (ascending), all before any tree row.
func (ix *Index) recordFiles(ctx context.Context, tx *sql.Tx, cctx context.Context, files []index.File,
	commit func(context.Context, cas.Ref) error, knownGood bool, now time.Time) (index.JobStats, error) {
	var st index.JobStats
	for _, f := range files {
		st.Files++
		st.Bytes += f.Size
	}
	// Which files the index knows already. A concurrent transaction may
	// insert one of the others meanwhile (PostgreSQL); the insert below
	// finds out.
	known := map[cas.Ref]bool{}
	for start := 0; start < len(files); start += fileBatch {
		batch := files[start:min(start+fileBatch, len(files))]
		err := ix.scanAll(ctx, tx, func(rows *sql.Rows) error {
			var r cas.Ref
			err := rows.Scan(&r)
			known[r] = true
			return err
		}, `SELECT ref FROM files WHERE ref IN (`+inList(len(batch))+`)`, refArgs(batch)...)
		if err != nil {
			return st, fmt.Errorf("sqlindex: finish: known files: %w", err)
		}
	}
	var fresh []index.File
	for _, f := range files {
		if !known[f.Ref] {
			fresh = append(fresh, f)
		}
	}

	// Pin the candidates' blobs (creating or locking their rows) and make
	// sure each blob exists, under the lock.
	for start := 0; start < len(fresh); start += fileBatch {
		batch := fresh[start:min(start+fileBatch, len(fresh))]
		args := make([]any, 0, 3*len(batch))
		for _, f := range batch {
			args = append(args, f.Ref, f.Size, tm(&now))
		}
		counts := map[cas.Ref]int64{}
		err := ix.scanAll(ctx, tx, func(rows *sql.Rows) error {
			var r cas.Ref
			var n int64
			err := rows.Scan(&r, &n)
			counts[r] = n
			return err
		}, `INSERT INTO blobs (ref, size, refs, created_at) VALUES `+pinRows(len(batch))+`
			ON CONFLICT (ref) DO UPDATE SET refs = blobs.refs + 1, size = excluded.size
			RETURNING ref, refs`, args...)
		if err != nil {
			return st, fmt.Errorf("sqlindex: finish: pin files: %w", err)
		}
		for _, f := range batch {
			if commit == nil {
				if counts[f.Ref] <= 1 {
					return st, fmt.Errorf("sqlindex: %s pinned by nothing else and no commit given: %w", f.Ref, index.ErrBlobNotFound)
				}
				continue
			}
			if err := commit(cctx, f.Ref); err != nil {
				return st, fmt.Errorf("sqlindex: commit %s: %w", f.Ref, err)
			}
		}
	}

	// Insert them; those a concurrent job inserted first are not new, and
	// give back the reference they took.
	kg := knownGood
	inserted := map[cas.Ref]bool{}
	for start := 0; start < len(fresh); start += fileBatch {
		batch := fresh[start:min(start+fileBatch, len(fresh))]
		args := make([]any, 0, 8*len(batch))
		for _, f := range batch {
			args = append(args, f.Ref, f.Size, strings.ToLower(f.SHA1), strings.ToLower(f.MD5), f.MIME, tm(&now), kg, 0)
		}
		err := ix.scanAll(ctx, tx, func(rows *sql.Rows) error {
			var r cas.Ref
			err := rows.Scan(&r)
			inserted[r] = true
			return err
		}, `INSERT INTO files (`+fileCols+`) VALUES `+valueRows(len(batch), 8)+`
			ON CONFLICT (ref) DO NOTHING RETURNING ref`, args...)
		if err != nil {
			return st, fmt.Errorf("sqlindex: finish: insert files: %w", err)
		}
	}
	var lost zeroSet // cannot reach zero: the winner's row pins the blob
	for _, f := range fresh {
		if !inserted[f.Ref] {
			if err := ix.drop(ctx, tx, f.Ref, 1, &lost); err != nil {
				return st, err
			}
			continue
		}
		st.NewFiles++
		st.NewBytes += f.Size
	}

	// Count the job once per file and derive known-good.
	set := `job_count = job_count + 1`
	if knownGood {
		set += `, known_good = TRUE`
	}
	for start := 0; start < len(files); start += fileBatch {
		batch := files[start:min(start+fileBatch, len(files))]
		if _, err := ix.exec(ctx, tx, `UPDATE files SET `+set+` WHERE ref IN (`+inList(len(batch))+`)`, refArgs(batch)...); err != nil {
			return st, fmt.Errorf("sqlindex: finish: count files: %w", err)
		}
	}
	return st, nil
}

// pinRows returns n rows "(?, ?, 1, ?)": ref, size, one reference, created_at.
func pinRows(n int) string {
	return strings.TrimSuffix(strings.Repeat("(?, ?, 1, ?), ", n), ", ")
}

func refArgs(files []index.File) []any {
	args := make([]any, len(files))
	for i, f := range files {
		args[i] = f.Ref
	}
	return args
}
