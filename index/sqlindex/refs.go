package sqlindex

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"slices"

	"dewar/cas"
	"dewar/index"
)

// The reference-count protocol of package index, in SQL. The per-blob lock
// is the blobs row: pin's upsert, drop's UPDATE and Reap's upsert each lock
// it (in PostgreSQL a row lock held to commit, queuing on an uncommitted
// insert of the same ref; in SQLite the write transaction covers it).

// pin adds one reference to ref, creating its row, and then makes sure the
// blob exists: it runs commit (with the caller's context cctx) while the row
// is locked. A nil commit is accepted only when another row already pinned
// the blob, since then it exists; otherwise it fails with
// index.ErrBlobNotFound.
func (ix *Index) pin(ctx context.Context, tx *sql.Tx, cctx context.Context, ref cas.Ref, size int64, commit index.CommitFunc) error {
	if ref.IsZero() {
		return fmt.Errorf("%w: zero blob ref", ErrInvalid)
	}
	now := ix.now()
	var refs int64
	err := ix.queryRow(ctx, tx, `INSERT INTO blobs (ref, size, refs, created_at) VALUES (?, ?, 1, ?)
		ON CONFLICT (ref) DO UPDATE SET refs = blobs.refs + 1, size = excluded.size
		RETURNING refs`, ref, size, tm(&now)).Scan(&refs)
	if err != nil {
		return fmt.Errorf("sqlindex: pin %s: %w", ref, err)
	}
	if commit == nil {
		if refs <= 1 {
			return fmt.Errorf("sqlindex: %s pinned by nothing else and no commit given: %w", ref, index.ErrBlobNotFound)
		}
		return nil
	}
	if err := commit(cctx); err != nil {
		return fmt.Errorf("sqlindex: commit %s: %w", ref, err)
	}
	return nil
}

// zeroSet collects the refs whose count reached zero, once each, in order.
type zeroSet struct {
	refs []cas.Ref
	seen map[cas.Ref]bool
}

func (z *zeroSet) add(r cas.Ref) {
	if z.seen == nil {
		z.seen = map[cas.Ref]bool{}
	}
	if !z.seen[r] {
		z.seen[r] = true
		z.refs = append(z.refs, r)
	}
}

// drop removes n references to ref and records it in z when none remain.
// The row is kept at zero; Reap deletes it.
func (ix *Index) drop(ctx context.Context, tx *sql.Tx, ref cas.Ref, n int64, z *zeroSet) error {
	var refs int64
	err := ix.queryRow(ctx, tx, `UPDATE blobs SET refs = refs - ? WHERE ref = ? RETURNING refs`, n, ref).Scan(&refs)
	if err != nil {
		// sql.ErrNoRows would mean a row pointed at a blob without a
		// blobs row, which the foreign keys rule out.
		return fmt.Errorf("sqlindex: drop %d refs of %s: %w", n, ref, err)
	}
	if refs == 0 {
		z.add(ref)
	}
	return nil
}

// blobChanges collects the reference changes of one write, so that they
// are applied (apply) after the rows they belong to are locked, and in
// ascending ref order: every writer then takes blob row locks in the same
// order and after its other row locks, so writers cannot deadlock on blobs
// (PostgreSQL). See "Lock order" in doc.go.
type blobChanges struct {
	pins  []pinReq
	drops map[cas.Ref]int64
}

type pinReq struct {
	ref    cas.Ref
	size   int64
	commit index.CommitFunc
}

// pin records one new reference to ref, whose commit must run under its lock.
func (c *blobChanges) pin(ref cas.Ref, size int64, commit index.CommitFunc) {
	c.pins = append(c.pins, pinReq{ref, size, commit})
}

// drop records n dropped references to ref.
func (c *blobChanges) drop(ref cas.Ref, n int64) {
	if c.drops == nil {
		c.drops = map[cas.Ref]int64{}
	}
	c.drops[ref] += n
}

// apply pins and drops in ascending ref order. For one ref the pins come
// before the drops, so a blob that is both put and dropped (the same bytes
// under the same key) never passes through zero. Refs left at zero are
// recorded in z. cctx is the caller's context, for the CommitFuncs.
func (ix *Index) apply(ctx context.Context, tx *sql.Tx, cctx context.Context, c *blobChanges, z *zeroSet) error {
	refs := make([]cas.Ref, 0, len(c.pins)+len(c.drops))
	for _, p := range c.pins {
		refs = append(refs, p.ref)
	}
	for r := range c.drops {
		refs = append(refs, r)
	}
	slices.SortFunc(refs, func(a, b cas.Ref) int { return bytes.Compare(a.Bytes(), b.Bytes()) })
	refs = slices.Compact(refs)
	for _, r := range refs {
		for _, p := range c.pins {
			if p.ref != r {
				continue
			}
			if err := ix.pin(ctx, tx, cctx, p.ref, p.size, p.commit); err != nil {
				return err
			}
		}
		if n := c.drops[r]; n > 0 {
			if err := ix.drop(ctx, tx, r, n, z); err != nil {
				return err
			}
		}
	}
	return nil
}

// GetBlob returns the blob's row; index.ErrBlobNotFound when there is none.
func (ix *Index) GetBlob(ctx context.Context, ref cas.Ref) (index.BlobRecord, error) {
	b := index.BlobRecord{Ref: ref}
	err := ix.queryRow(ctx, ix.reader, `SELECT size, refs, created_at FROM blobs WHERE ref = ?`, ref).
		Scan(&b.Size, &b.Refs, tm(&b.CreatedAt))
	if err == sql.ErrNoRows {
		return index.BlobRecord{}, fmt.Errorf("sqlindex: blob %s: %w", ref, index.ErrBlobNotFound)
	}
	if err != nil {
		return index.BlobRecord{}, fmt.Errorf("sqlindex: get blob %s: %w", ref, err)
	}
	return b, nil
}

// Reap removes ref from the store when no row refers to it. Under the
// blob's lock (the upsert below creates or locks its row) it checks the
// count; at zero it deletes the row, then calls remove, then commits, so a
// failing remove leaves the zero row for a later Reap. If the commit fails
// after remove succeeded the zero row stays too, so remove must treat a
// missing blob as success.
func (ix *Index) Reap(ctx context.Context, ref cas.Ref, remove index.RemoveFunc) (removed bool, err error) {
	if ref.IsZero() {
		return false, fmt.Errorf("%w: zero blob ref", ErrInvalid)
	}
	// Alone: with group commit, a write earlier in the same group may have
	// dropped the count to zero without committing; readers still see the
	// blob referenced, and the group may yet fail.
	err = ix.w.alone(ctx, func(tctx context.Context, tx *sql.Tx) error {
		removed = false
		now := ix.now()
		var refs int64
		err := ix.queryRow(tctx, tx, `INSERT INTO blobs (ref, size, refs, created_at) VALUES (?, 0, 0, ?)
			ON CONFLICT (ref) DO UPDATE SET refs = blobs.refs
			RETURNING refs`, ref, tm(&now)).Scan(&refs)
		if err != nil {
			return fmt.Errorf("sqlindex: reap %s: lock: %w", ref, err)
		}
		if refs > 0 {
			return nil
		}
		if _, err := ix.exec(tctx, tx, `DELETE FROM blobs WHERE ref = ?`, ref); err != nil {
			// A foreign key violation here means a row still points at
			// the blob although its count is zero: refuse to remove it.
			return fmt.Errorf("sqlindex: reap %s: delete row: %w", ref, err)
		}
		if err := remove(ctx, ref); err != nil {
			return fmt.Errorf("sqlindex: reap %s: remove: %w", ref, err)
		}
		removed = true
		return nil
	})
	if err != nil {
		return false, err
	}
	return removed, nil
}

// ListBlobs lists up to limit blob rows above after, in ref order.
func (ix *Index) ListBlobs(ctx context.Context, after cas.Ref, limit int) ([]index.BlobRecord, error) {
	if limit <= 0 {
		return nil, nil
	}
	from := ""
	if !after.IsZero() {
		from = after.String()
	}
	var out []index.BlobRecord
	err := ix.scanAll(ctx, ix.reader, func(rows *sql.Rows) error {
		var b index.BlobRecord
		if err := rows.Scan(&b.Ref, &b.Size, &b.Refs, tm(&b.CreatedAt)); err != nil {
			return err
		}
		out = append(out, b)
		return nil
	}, `SELECT ref, size, refs, created_at FROM blobs WHERE ref > ? ORDER BY ref LIMIT ?`, from, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlindex: list blobs: %w", err)
	}
	return out, nil
}

// ZeroBlobs lists up to limit refs above after whose count is zero.
func (ix *Index) ZeroBlobs(ctx context.Context, after cas.Ref, limit int) ([]cas.Ref, error) {
	if limit <= 0 {
		return nil, nil
	}
	from := ""
	if !after.IsZero() {
		from = after.String()
	}
	var refs []cas.Ref
	err := ix.scanAll(ctx, ix.reader, func(rows *sql.Rows) error {
		var r cas.Ref
		if err := rows.Scan(&r); err != nil {
			return err
		}
		refs = append(refs, r)
		return nil
	}, `SELECT ref FROM blobs WHERE refs = 0 AND ref > ? ORDER BY ref LIMIT ?`, from, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlindex: zero blobs: %w", err)
	}
	return refs, nil
}
