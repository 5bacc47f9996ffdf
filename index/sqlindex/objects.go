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
	o.LastModified = ix.stamp(o.LastModified)
	err = ix.w.do(ctx, func(tctx context.Context, tx *sql.Tx) error {
		var z zeroSet
		if err := ix.putObject(tctx, tx, ctx, o, commit, &z); err != nil {
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

// maxUpsertRaces bounds how often putObject and putPart retry after a
// concurrent transaction inserted the same row (PostgreSQL only).
const maxUpsertRaces = 5

// putObject is PutObject inside tx: pin the new blob, write the row, drop
// the replaced row's reference. Pinning before dropping keeps a blob that
// is put again under the same key at its count.
func (ix *Index) putObject(ctx context.Context, tx *sql.Tx, cctx context.Context, o index.Object, commit index.CommitFunc, z *zeroSet) error {
	if err := ix.checkBucket(ctx, tx, o.Bucket, ""); err != nil {
		return err
	}
	if err := ix.pin(ctx, tx, cctx, o.Blob, o.Size, commit); err != nil {
		return err
	}
	old, replaced, err := ix.upsert(ctx, tx,
		`SELECT blob FROM objects WHERE bucket = ? AND key = ?`+ix.d.ForUpdate, []any{o.Bucket, o.Key},
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
	if replaced {
		return ix.drop(ctx, tx, old, 1, z)
	}
	return nil
}

// upsert writes a row that points at a blob and returns the blob the row
// it replaced pointed at. It reads the old row (locking it where the
// dialect locks rows) and updates it, or inserts with ON CONFLICT DO
// NOTHING and, when a concurrent transaction inserted the row first
// (PostgreSQL), starts over to replace that one. (An INSERT ... ON
// CONFLICT DO UPDATE cannot return the replaced value.)
func (ix *Index) upsert(ctx context.Context, tx *sql.Tx, sel string, selArgs []any, update string, updArgs []any, insert string, insArgs []any) (old cas.Ref, replaced bool, err error) {
	for range maxUpsertRaces {
		err := ix.queryRow(ctx, tx, sel, selArgs...).Scan(&old)
		switch {
		case err == nil:
			if _, err := ix.exec(ctx, tx, update, updArgs...); err != nil {
				return cas.Ref{}, false, err
			}
			return old, true, nil
		case errors.Is(err, sql.ErrNoRows):
			res, err := ix.exec(ctx, tx, insert, insArgs...)
			if err != nil {
				return cas.Ref{}, false, err
			}
			n, err := res.RowsAffected()
			if err != nil || n == 1 {
				return cas.Ref{}, false, err
			}
		default:
			return cas.Ref{}, false, err
		}
	}
	return cas.Ref{}, false, fmt.Errorf("lost %d races to concurrent inserts: %w", maxUpsertRaces, index.ErrConflict)
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
