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
	"dewar/index/listing"
)

const uploadCols = `id, bucket, key, initiated, owner, meta`

func scanUpload(s scanner) (index.Upload, error) {
	var u index.Upload
	err := s.Scan(&u.ID, &u.Bucket, &u.Key, tm(&u.Initiated), &u.Owner, js(&u.Meta))
	return u, err
}

// CreateUpload records u; index.ErrBucketNotFound for a missing bucket,
// index.ErrConflict for a taken id. A zero Initiated is set to now.
func (ix *Index) CreateUpload(ctx context.Context, u index.Upload) error {
	u.Initiated = ix.stamp(u.Initiated)
	return ix.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := ix.checkBucket(ctx, tx, u.Bucket, ix.d.ForShare); err != nil {
			return err
		}
		_, err := ix.exec(ctx, tx, `INSERT INTO uploads (`+uploadCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
			u.ID, u.Bucket, u.Key, tm(&u.Initiated), u.Owner, js(u.Meta))
		switch ix.d.constraint(err) {
		case UniqueViolation:
			return fmt.Errorf("sqlindex: upload id %q taken: %w", u.ID, index.ErrConflict)
		case ForeignKeyViolation:
			return fmt.Errorf("sqlindex: bucket %q: %w", u.Bucket, index.ErrBucketNotFound)
		}
		if err != nil {
			return fmt.Errorf("sqlindex: create upload: %w", err)
		}
		return nil
	})
}

// GetUpload returns index.ErrUploadNotFound when unknown, completed or
// aborted.
func (ix *Index) GetUpload(ctx context.Context, id string) (index.Upload, error) {
	return ix.getUpload(ctx, ix.reader, id, "")
}

// getUpload reads upload id; lock is "" or Dialect.ForUpdate.
func (ix *Index) getUpload(ctx context.Context, q querier, id, lock string) (index.Upload, error) {
	u, err := scanUpload(ix.queryRow(ctx, q, `SELECT `+uploadCols+` FROM uploads WHERE id = ?`+lock, id))
	if errors.Is(err, sql.ErrNoRows) {
		return index.Upload{}, fmt.Errorf("sqlindex: upload %q: %w", id, index.ErrUploadNotFound)
	}
	if err != nil {
		return index.Upload{}, fmt.Errorf("sqlindex: get upload %q: %w", id, err)
	}
	return u, nil
}

// PutPart creates or replaces part p.Number of p.UploadID; see
// index.Multipart. A zero LastModified is set to now.
func (ix *Index) PutPart(ctx context.Context, p index.Part, commit index.CommitFunc) (zeroed []cas.Ref, err error) {
	if p.Number < 1 {
		return nil, fmt.Errorf("%w: part number %d", ErrInvalid, p.Number)
	}
	p.LastModified = ix.stamp(p.LastModified)
	err = ix.w.do(ctx, func(tctx context.Context, tx *sql.Tx) error {
		var z zeroSet
		// Lock order (doc.go): the upload row (shared, so a Complete or
		// Abort waits for this part or this part for it), the part row,
		// the blob rows.
		var one int
		err := ix.queryRow(tctx, tx, `SELECT 1 FROM uploads WHERE id = ?`+ix.d.ForShare, p.UploadID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlindex: upload %q: %w", p.UploadID, index.ErrUploadNotFound)
		}
		if err != nil {
			return fmt.Errorf("sqlindex: put part: %w", err)
		}
		var old cas.Ref
		err = ix.queryRow(tctx, tx, `SELECT blob FROM parts WHERE upload_id = ? AND number = ?`+ix.d.ForUpdate, p.UploadID, p.Number).Scan(&old)
		exists := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlindex: put part %d of %q: %w", p.Number, p.UploadID, err)
		}
		var ch blobChanges
		ch.pin(p.Blob, p.Size, commit)
		if exists {
			ch.drop(old, 1)
		}
		if err := ix.apply(tctx, tx, ctx, &ch, &z); err != nil {
			return err
		}
		err = ix.writeRow(tctx, tx, exists,
			`UPDATE parts SET blob = ?, size = ?, etag = ?, checksums = ?, last_modified = ? WHERE upload_id = ? AND number = ?`,
			[]any{p.Blob, p.Size, p.ETag, js(p.Checksums), tm(&p.LastModified), p.UploadID, p.Number},
			`INSERT INTO parts (upload_id, number, blob, size, etag, checksums, last_modified)
				VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (upload_id, number) DO NOTHING`,
			[]any{p.UploadID, p.Number, p.Blob, p.Size, p.ETag, js(p.Checksums), tm(&p.LastModified)})
		if ix.d.constraint(err) == ForeignKeyViolation {
			return fmt.Errorf("sqlindex: upload %q: %w", p.UploadID, index.ErrUploadNotFound)
		}
		if err != nil {
			return fmt.Errorf("sqlindex: put part %d of %q: %w", p.Number, p.UploadID, err)
		}
		zeroed = z.refs
		return nil
	})
	if err != nil {
		return nil, err
	}
	return zeroed, nil
}

// ListParts returns up to limit parts numbered above after, and whether
// more follow; index.ErrUploadNotFound for an unknown upload.
func (ix *Index) ListParts(ctx context.Context, uploadID string, after, limit int) (parts []index.Part, truncated bool, err error) {
	if _, err := ix.GetUpload(ctx, uploadID); err != nil {
		return nil, false, err
	}
	if limit <= 0 {
		return nil, false, nil
	}
	err = ix.scanAll(ctx, ix.reader, func(rows *sql.Rows) error {
		p := index.Part{UploadID: uploadID}
		if err := rows.Scan(&p.Number, &p.Blob, &p.Size, &p.ETag, js(&p.Checksums), tm(&p.LastModified)); err != nil {
			return err
		}
		parts = append(parts, p)
		return nil
	}, `SELECT number, blob, size, etag, checksums, last_modified FROM parts
		WHERE upload_id = ? AND number > ? ORDER BY number LIMIT ?`, uploadID, after, limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("sqlindex: list parts of %q: %w", uploadID, err)
	}
	if len(parts) > limit {
		return parts[:limit], true, nil
	}
	return parts, false, nil
}

// ListUploads pages through bucket's unfinished uploads ordered by key,
// initiation time and id, as S3 ListMultipartUploads: KeyMarker alone
// starts after that key; with UploadIDMarker it starts after that upload
// of KeyMarker. Limit counts uploads and common prefixes.
func (ix *Index) ListUploads(ctx context.Context, bucket string, opts index.UploadListOptions) (index.UploadPage, error) {
	var page index.UploadPage
	if err := ix.checkBucket(ctx, ix.reader, bucket, ""); err != nil {
		return page, err
	}
	if opts.Limit <= 0 {
		return page, nil
	}
	// entries is the page in order: one upload or one common prefix each.
	type entry struct {
		u  *index.Upload
		cp string
	}
	var entries []entry

	// The rest of KeyMarker's uploads come first.
	if opts.UploadIDMarker != "" && strings.HasPrefix(opts.KeyMarker, opts.Prefix) {
		if _, rolled := listing.CommonPrefix(opts.KeyMarker, opts.Prefix, opts.Delimiter); !rolled {
			rest, err := ix.uploadsAfter(ctx, bucket, opts.KeyMarker, opts.UploadIDMarker, opts.Limit+1)
			if err != nil {
				return page, err
			}
			for i := range rest {
				entries = append(entries, entry{u: &rest[i]})
			}
		}
	}

	// Then the keys after KeyMarker, each key a group of uploads, through
	// the shared delimiter listing.
	if len(entries) <= opts.Limit {
		src := func(ctx context.Context, prefix, after string, limit int) ([][]index.Upload, error) {
			return ix.uploadGroups(ctx, bucket, prefix, after, limit)
		}
		p, err := listing.List(ctx, src, func(g []index.Upload) string { return g[0].Key },
			opts.Prefix, opts.Delimiter, opts.KeyMarker, max(opts.Limit-len(entries), 1))
		if err != nil {
			return page, fmt.Errorf("sqlindex: list uploads of %q: %w", bucket, err)
		}
		// Merge groups and prefixes back into key order: a common prefix
		// sorts after every item before it and before every item after it.
		gs, cps := p.Items, p.CommonPrefixes
		for len(gs) > 0 || len(cps) > 0 {
			if len(cps) == 0 || len(gs) > 0 && gs[0][0].Key < cps[0] {
				for i := range gs[0] {
					entries = append(entries, entry{u: &gs[0][i]})
				}
				gs = gs[1:]
				continue
			}
			entries = append(entries, entry{cp: cps[0]})
			cps = cps[1:]
		}
		page.Truncated = p.Truncated
	}
	if len(entries) > opts.Limit {
		entries = entries[:opts.Limit]
		page.Truncated = true
	}
	for _, e := range entries {
		if e.u != nil {
			page.Uploads = append(page.Uploads, *e.u)
		} else {
			page.CommonPrefixes = append(page.CommonPrefixes, e.cp)
		}
	}
	if page.Truncated && len(entries) > 0 {
		if last := entries[len(entries)-1]; last.u != nil {
			page.NextKeyMarker, page.NextUploadIDMarker = last.u.Key, last.u.ID
		} else {
			page.NextKeyMarker = last.cp
		}
	}
	return page, nil
}

// uploadsAfter returns up to limit uploads of bucket/key that sort after
// upload markerID. When the marker upload is gone, it falls back to S3's
// documented rule: ids greater than the marker.
func (ix *Index) uploadsAfter(ctx context.Context, bucket, key, markerID string, limit int) ([]index.Upload, error) {
	var us []index.Upload
	scan := func(rows *sql.Rows) error {
		u, err := scanUpload(rows)
		us = append(us, u)
		return err
	}
	var initiated time.Time
	err := ix.queryRow(ctx, ix.reader, `SELECT initiated FROM uploads WHERE id = ? AND bucket = ? AND key = ?`,
		markerID, bucket, key).Scan(tm(&initiated))
	switch {
	case err == nil:
		err = ix.scanAll(ctx, ix.reader, scan, `SELECT `+uploadCols+` FROM uploads
			WHERE bucket = ? AND key = ? AND (initiated > ? OR (initiated = ? AND id > ?))
			ORDER BY initiated, id LIMIT ?`, bucket, key, tm(&initiated), tm(&initiated), markerID, limit)
	case errors.Is(err, sql.ErrNoRows):
		err = ix.scanAll(ctx, ix.reader, scan, `SELECT `+uploadCols+` FROM uploads
			WHERE bucket = ? AND key = ? AND id > ? ORDER BY initiated, id LIMIT ?`, bucket, key, markerID, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlindex: list uploads of %q: %w", bucket, err)
	}
	return us, nil
}

// uploadGroups is the listing source for ListUploads: the uploads of the
// first limit distinct keys within prefix after after, grouped by key.
func (ix *Index) uploadGroups(ctx context.Context, bucket, prefix, after string, limit int) ([][]index.Upload, error) {
	keys, args := rangeQuery(`SELECT DISTINCT key FROM uploads WHERE bucket = ?`, `key`, `ORDER BY key LIMIT ?`,
		[]any{bucket}, prefix, after, limit)
	var groups [][]index.Upload
	err := ix.scanAll(ctx, ix.reader, func(rows *sql.Rows) error {
		u, err := scanUpload(rows)
		if err != nil {
			return err
		}
		if n := len(groups); n > 0 && groups[n-1][0].Key == u.Key {
			groups[n-1] = append(groups[n-1], u)
		} else {
			groups = append(groups, []index.Upload{u})
		}
		return nil
	}, `SELECT `+uploadCols+` FROM uploads WHERE bucket = ? AND key IN (`+keys+`) ORDER BY key, initiated, id`,
		append([]any{bucket}, args...)...)
	return groups, err
}

// CompleteUpload puts o as PutObject does, deletes the upload and its
// parts, and returns the refs left at zero, in one transaction. Empty
// o.Bucket and o.Key are taken from the upload; others must match it.
func (ix *Index) CompleteUpload(ctx context.Context, uploadID string, o index.Object, commit index.CommitFunc) (zeroed []cas.Ref, err error) {
	return ix.CompleteUploadIf(ctx, uploadID, o, index.PutCondition{}, commit)
}

// CompleteUploadIf is CompleteUpload when cond holds for the key the
// object goes to; otherwise index.ErrPreconditionFailed, and the upload
// stays as it was.
func (ix *Index) CompleteUploadIf(ctx context.Context, uploadID string, o index.Object, cond index.PutCondition, commit index.CommitFunc) (zeroed []cas.Ref, err error) {
	o.LastModified = ix.stamp(o.LastModified)
	err = ix.w.do(ctx, func(tctx context.Context, tx *sql.Tx) error {
		var z zeroSet
		// Lock order (doc.go): the bucket row before the upload row, as
		// DeleteBucket takes them; so read the upload's bucket first.
		u, err := ix.getUpload(tctx, tx, uploadID, "")
		if err != nil {
			return err
		}
		if err := ix.checkBucket(tctx, tx, u.Bucket, ix.d.ForShare); errors.Is(err, index.ErrBucketNotFound) {
			return fmt.Errorf("sqlindex: upload %q: bucket deleted: %w", uploadID, index.ErrUploadNotFound)
		} else if err != nil {
			return err
		}
		if u, err = ix.getUpload(tctx, tx, uploadID, ix.d.ForUpdate); err != nil {
			return err
		}
		if o.Bucket == "" && o.Key == "" {
			o.Bucket, o.Key = u.Bucket, u.Key
		}
		if o.Bucket != u.Bucket || o.Key != u.Key {
			return fmt.Errorf("%w: completing upload of %q/%q as %q/%q", ErrInvalid, u.Bucket, u.Key, o.Bucket, o.Key)
		}
		var ch blobChanges
		if err := ix.deleteUpload(tctx, tx, uploadID, &ch); err != nil {
			return err
		}
		if err := ix.putObject(tctx, tx, ctx, o, cond, commit, &ch, &z); err != nil {
			return err
		}
		zeroed = z.refs
		return nil
	})
	if err != nil {
		return nil, err
	}
	return zeroed, nil
}

// AbortUpload deletes the upload and its parts; index.ErrUploadNotFound
// when it is gone.
func (ix *Index) AbortUpload(ctx context.Context, uploadID string) (zeroed []cas.Ref, err error) {
	err = ix.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var z zeroSet
		if _, err := ix.getUpload(ctx, tx, uploadID, ix.d.ForUpdate); err != nil {
			return err
		}
		var ch blobChanges
		if err := ix.deleteUpload(ctx, tx, uploadID, &ch); err != nil {
			return err
		}
		if err := ix.apply(ctx, tx, ctx, &ch, &z); err != nil {
			return err
		}
		zeroed = z.refs
		return nil
	})
	if err != nil {
		return nil, err
	}
	return zeroed, nil
}

// deleteUpload deletes the upload's parts and the upload, recording in ch
// the references the parts held. The DELETE ... RETURNING reads each part
// as it deletes it (locked), so a part replaced concurrently is counted
// with the blob it holds at that moment.
func (ix *Index) deleteUpload(ctx context.Context, tx *sql.Tx, id string, ch *blobChanges) error {
	if err := ix.deleteParts(ctx, tx, ch, `DELETE FROM parts WHERE upload_id = ? RETURNING blob`, id); err != nil {
		return fmt.Errorf("sqlindex: delete parts of %q: %w", id, err)
	}
	if _, err := ix.exec(ctx, tx, `DELETE FROM uploads WHERE id = ?`, id); err != nil {
		return fmt.Errorf("sqlindex: delete upload %q: %w", id, err)
	}
	return nil
}

// deleteParts runs query, a DELETE of parts RETURNING blob, and records a
// dropped reference in ch for every row.
func (ix *Index) deleteParts(ctx context.Context, tx *sql.Tx, ch *blobChanges, query string, args ...any) error {
	return ix.scanAll(ctx, tx, func(rows *sql.Rows) error {
		var r cas.Ref
		if err := rows.Scan(&r); err != nil {
			return err
		}
		ch.drop(r, 1)
		return nil
	}, query, args...)
}
