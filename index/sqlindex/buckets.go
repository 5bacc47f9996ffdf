package sqlindex

import (
	"context"
	"database/sql"
	"fmt"

	"dewar/cas"
	"dewar/index"
)

// CreateBucket records b; index.ErrBucketExists when the name is taken.
// A zero CreatedAt is set to now.
func (ix *Index) CreateBucket(ctx context.Context, b index.Bucket) error {
	b.CreatedAt = ix.stamp(b.CreatedAt)
	return ix.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := ix.exec(ctx, tx, `INSERT INTO buckets (name, owner, created_at) VALUES (?, ?, ?)`,
			b.Name, b.Owner, tm(&b.CreatedAt))
		if ix.d.constraint(err) == UniqueViolation {
			return fmt.Errorf("sqlindex: bucket %q: %w", b.Name, index.ErrBucketExists)
		}
		if err != nil {
			return fmt.Errorf("sqlindex: create bucket %q: %w", b.Name, err)
		}
		return nil
	})
}

// GetBucket returns index.ErrBucketNotFound when missing.
func (ix *Index) GetBucket(ctx context.Context, name string) (index.Bucket, error) {
	b := index.Bucket{Name: name}
	err := ix.queryRow(ctx, ix.reader, `SELECT owner, created_at FROM buckets WHERE name = ?`, name).
		Scan(&b.Owner, tm(&b.CreatedAt))
	if err == sql.ErrNoRows {
		return index.Bucket{}, fmt.Errorf("sqlindex: bucket %q: %w", name, index.ErrBucketNotFound)
	}
	if err != nil {
		return index.Bucket{}, fmt.Errorf("sqlindex: get bucket %q: %w", name, err)
	}
	return b, nil
}

// ListBuckets returns all buckets by name.
func (ix *Index) ListBuckets(ctx context.Context) ([]index.Bucket, error) {
	var bs []index.Bucket
	err := ix.scanAll(ctx, ix.reader, func(rows *sql.Rows) error {
		var b index.Bucket
		if err := rows.Scan(&b.Name, &b.Owner, tm(&b.CreatedAt)); err != nil {
			return err
		}
		bs = append(bs, b)
		return nil
	}, `SELECT name, owner, created_at FROM buckets ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlindex: list buckets: %w", err)
	}
	return bs, nil
}

// DeleteBucket deletes an empty bucket, aborting its multipart uploads.
func (ix *Index) DeleteBucket(ctx context.Context, name string) (zeroed []cas.Ref, err error) {
	err = ix.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var z zeroSet
		if err := ix.checkBucket(ctx, tx, name, ix.d.ForUpdate); err != nil {
			return err
		}
		var one int
		err := ix.queryRow(ctx, tx, `SELECT 1 FROM objects WHERE bucket = ? LIMIT 1`, name).Scan(&one)
		if err == nil {
			return fmt.Errorf("sqlindex: bucket %q: %w", name, index.ErrBucketNotEmpty)
		}
		if err != sql.ErrNoRows {
			return fmt.Errorf("sqlindex: delete bucket %q: %w", name, err)
		}
		// Lock order (doc.go): bucket, uploads, parts, blobs. Locking the
		// uploads makes a concurrent PutPart (which shares its upload's
		// lock) finish first or find the upload gone.
		if ix.d.ForUpdate != "" {
			if err := ix.scanAll(ctx, tx, func(*sql.Rows) error { return nil },
				`SELECT id FROM uploads WHERE bucket = ? ORDER BY id`+ix.d.ForUpdate, name); err != nil {
				return fmt.Errorf("sqlindex: delete bucket %q: lock uploads: %w", name, err)
			}
		}
		var ch blobChanges
		if err := ix.deleteParts(ctx, tx, &ch, `DELETE FROM parts WHERE upload_id IN (SELECT id FROM uploads WHERE bucket = ?) RETURNING blob`, name); err != nil {
			return fmt.Errorf("sqlindex: delete bucket %q: parts: %w", name, err)
		}
		if _, err := ix.exec(ctx, tx, `DELETE FROM uploads WHERE bucket = ?`, name); err != nil {
			return fmt.Errorf("sqlindex: delete bucket %q: uploads: %w", name, err)
		}
		if err := ix.apply(ctx, tx, ctx, &ch, &z); err != nil {
			return err
		}
		_, err = ix.exec(ctx, tx, `DELETE FROM buckets WHERE name = ?`, name)
		if ix.d.constraint(err) == ForeignKeyViolation {
			// An object or upload arrived concurrently (PostgreSQL).
			return fmt.Errorf("sqlindex: bucket %q: %w", name, index.ErrBucketNotEmpty)
		}
		if err != nil {
			return fmt.Errorf("sqlindex: delete bucket %q: %w", name, err)
		}
		zeroed = z.refs
		return nil
	})
	if err != nil {
		return nil, err
	}
	return zeroed, nil
}

// checkBucket returns index.ErrBucketNotFound unless bucket exists. lock is
// "", Dialect.ForShare (writers adding rows to the bucket) or
// Dialect.ForUpdate (DeleteBucket, which so waits for those writers and
// holds off new ones: they then find the bucket gone).
func (ix *Index) checkBucket(ctx context.Context, q querier, bucket, lock string) error {
	var one int
	err := ix.queryRow(ctx, q, `SELECT 1 FROM buckets WHERE name = ?`+lock, bucket).Scan(&one)
	if err == sql.ErrNoRows {
		return fmt.Errorf("sqlindex: bucket %q: %w", bucket, index.ErrBucketNotFound)
	}
	if err != nil {
		return fmt.Errorf("sqlindex: bucket %q: %w", bucket, err)
	}
	return nil
}
