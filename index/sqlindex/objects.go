package sqlindex

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"dewar/cas"
	"dewar/index"
	"dewar/index/listing"
)

const objectCols = `key, blob, size, etag, last_modified, owner, meta`

type scanner interface{ Scan(dest ...any) error }

func scanObject(s scanner, bucket string) (index.Object, error) {
	o := index.Object{Bucket: bucket}
	err := s.Scan(&o.Key, &o.Blob, &o.Size, &o.ETag, tm(&o.LastModified), &o.Owner, js(&o.Meta))
	return o, err
}

// PutObject creates or replaces o.Bucket/o.Key; see index.Objects. A zero
// LastModified is set to now.
func (ix *Index) PutObject(ctx context.Context, o index.Object, commit index.CommitFunc) (zeroed []cas.Ref, err error) {
	return ix.PutObjectIf(ctx, o, index.PutCondition{}, commit)
}

// PutObjectIf is PutObject when cond holds for the row the transaction
// locked, index.ErrPreconditionFailed otherwise.
func (ix *Index) PutObjectIf(ctx context.Context, o index.Object, cond index.PutCondition, commit index.CommitFunc) (zeroed []cas.Ref, err error) {
	o.LastModified = ix.stamp(o.LastModified)
	err = ix.w.do(ctx, func(tctx context.Context, tx *sql.Tx) error {
		var z zeroSet
		if err := ix.putObject(tctx, tx, ctx, o, cond, commit, &blobChanges{}, &z); err != nil {
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

// putObject is PutObject inside tx, applying ch (changes the caller
// collected, e.g. the parts a completed upload drops) with its own. Locks
// follow the order of doc.go: the bucket row (shared), the object row, the
// blob rows in ref order; the object row is written last, once the blob it
// points at has its row.
func (ix *Index) putObject(ctx context.Context, tx *sql.Tx, cctx context.Context, o index.Object, cond index.PutCondition, commit index.CommitFunc, ch *blobChanges, z *zeroSet) error {
	if err := ix.checkBucket(ctx, tx, o.Bucket, ix.d.ForShare); err != nil {
		return err
	}
	var old cas.Ref
	var oldETag string
	err := ix.queryRow(ctx, tx, `SELECT blob, etag FROM objects WHERE bucket = ? AND key = ?`+ix.d.ForUpdate, o.Bucket, o.Key).Scan(&old, &oldETag)
	exists := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlindex: put object %q/%q: %w", o.Bucket, o.Key, err)
	}
	if (cond.IfNoneMatch && exists) || (cond.IfMatch != "" && (!exists || oldETag != cond.IfMatch)) {
		return fmt.Errorf("sqlindex: put object %q/%q: %w", o.Bucket, o.Key, index.ErrPreconditionFailed)
	}
	ch.pin(o.Blob, o.Size, commit)
	if exists {
		ch.drop(old, 1)
	}
	if err := ix.apply(ctx, tx, cctx, ch, z); err != nil {
		return err
	}
	err = ix.writeRow(ctx, tx, exists,
		`UPDATE objects SET blob = ?, size = ?, etag = ?, last_modified = ?, owner = ?, meta = ? WHERE bucket = ? AND key = ?`,
		[]any{o.Blob, o.Size, o.ETag, tm(&o.LastModified), o.Owner, js(o.Meta), o.Bucket, o.Key},
		`INSERT INTO objects (bucket, key, blob, size, etag, last_modified, owner, meta)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (bucket, key) DO NOTHING`,
		[]any{o.Bucket, o.Key, o.Blob, o.Size, o.ETag, tm(&o.LastModified), o.Owner, js(o.Meta)})
	if ix.d.constraint(err) == ForeignKeyViolation {
		return fmt.Errorf("sqlindex: bucket %q: %w", o.Bucket, index.ErrBucketNotFound)
	}
	if err != nil {
		return fmt.Errorf("sqlindex: put object %q/%q: %w", o.Bucket, o.Key, err)
	}
	return nil
}

// errRace is returned when a row the transaction found missing (and so
// could not lock) was inserted by a concurrent transaction before its own
// insert (PostgreSQL only). The writer runs the whole transaction again,
// which then finds the row and locks it in the right order.
var errRace = fmt.Errorf("%w: lost a race to insert the same row", index.ErrConflict)

// writeRow writes a row that points at a blob: update when the
// transaction found (and locked) it, else insert with ON CONFLICT DO
// NOTHING, which reports errRace when a concurrent transaction inserted it
// first. (An INSERT ... ON CONFLICT DO UPDATE could not tell the caller
// which blob the replaced row held.)
func (ix *Index) writeRow(ctx context.Context, tx *sql.Tx, exists bool, update string, updArgs []any, insert string, insArgs []any) error {
	if exists {
		_, err := ix.exec(ctx, tx, update, updArgs...)
		return err
	}
	res, err := ix.exec(ctx, tx, insert, insArgs...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != 1 {
		return errRace
	}
	return nil
}

// GetObject returns index.ErrObjectNotFound, or index.ErrBucketNotFound
// when the bucket is missing.
func (ix *Index) GetObject(ctx context.Context, bucket, key string) (index.Object, error) {
	o, err := scanObject(ix.queryRow(ctx, ix.reader, `SELECT `+objectCols+` FROM objects WHERE bucket = ? AND key = ?`, bucket, key), bucket)
	if errors.Is(err, sql.ErrNoRows) {
		if err := ix.checkBucket(ctx, ix.reader, bucket, ""); err != nil {
			return index.Object{}, err
		}
		return index.Object{}, fmt.Errorf("sqlindex: object %q/%q: %w", bucket, key, index.ErrObjectNotFound)
	}
	if err != nil {
		return index.Object{}, fmt.Errorf("sqlindex: get object %q/%q: %w", bucket, key, err)
	}
	return o, nil
}

// DeleteObject deletes bucket/key and drops its reference.
func (ix *Index) DeleteObject(ctx context.Context, bucket, key string) (zeroed []cas.Ref, err error) {
	err = ix.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var z zeroSet
		var old cas.Ref
		err := ix.queryRow(ctx, tx, `DELETE FROM objects WHERE bucket = ? AND key = ? RETURNING blob`, bucket, key).Scan(&old)
		if errors.Is(err, sql.ErrNoRows) {
			if err := ix.checkBucket(ctx, tx, bucket, ""); err != nil {
				return err
			}
			return fmt.Errorf("sqlindex: object %q/%q: %w", bucket, key, index.ErrObjectNotFound)
		}
		if err != nil {
			return fmt.Errorf("sqlindex: delete object %q/%q: %w", bucket, key, err)
		}
		if err := ix.drop(ctx, tx, old, 1, &z); err != nil {
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

// ListObjects pages through bucket in bytewise key order with keyset
// queries (key > after within the prefix's range, LIMIT n), never loading
// the bucket; index.ErrBucketNotFound when it is missing.
func (ix *Index) ListObjects(ctx context.Context, bucket string, opts index.ListOptions) (index.ListPage, error) {
	if err := ix.checkBucket(ctx, ix.reader, bucket, ""); err != nil {
		return index.ListPage{}, err
	}
	src := func(ctx context.Context, prefix, after string, limit int) ([]index.Object, error) {
		var objs []index.Object
		query, args := rangeQuery(`SELECT `+objectCols+` FROM objects WHERE bucket = ?`, `key`, `ORDER BY key LIMIT ?`,
			[]any{bucket}, prefix, after, limit)
		err := ix.scanAll(ctx, ix.reader, func(rows *sql.Rows) error {
			o, err := scanObject(rows, bucket)
			objs = append(objs, o)
			return err
		}, query, args...)
		return objs, err
	}
	p, err := listing.List(ctx, src, func(o index.Object) string { return o.Key },
		opts.Prefix, opts.Delimiter, opts.After, opts.Limit)
	if err != nil {
		return index.ListPage{}, fmt.Errorf("sqlindex: list %q: %w", bucket, err)
	}
	return index.ListPage{Objects: p.Items, CommonPrefixes: p.CommonPrefixes, Truncated: p.Truncated, Next: p.Next}, nil
}

// rangeQuery appends to head (which selects with the given args) the
// conditions col > after, col >= prefix and col < PrefixEnd(prefix), then
// tail with limit. The prefix's upper bound is computed here, so no
// pattern matching (LIKE) ever sees user input.
func rangeQuery(head, col, tail string, args []any, prefix, after string, limit int) (string, []any) {
	q := head + ` AND ` + col + ` > ? AND ` + col + ` >= ?`
	args = append(args, after, prefix)
	if end, ok := listing.PrefixEnd(prefix); ok {
		q += ` AND ` + col + ` < ?`
		args = append(args, end)
	}
	return q + ` ` + tail, append(args, limit)
}
