package gateway

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"time"

	"dewar/cas"
	"dewar/index"
)

// MaintenanceStore is what verify and gc need of the content store.
type MaintenanceStore interface {
	cas.Walker
	cas.Fetcher
	cas.Remover
}

// MaintenanceIndex is what verify and gc need of the index.
type MaintenanceIndex interface {
	index.Blobs
}

// VerifyReport is what `dewar verify` found.
type VerifyReport struct {
	Blobs int64 // blobs in the store
	Bytes int64 // their logical size
	// Corrupt blobs no longer hash to their name (or have the wrong size).
	Corrupt []cas.Ref
	// Missing blobs are referenced by the index but absent from the store.
	Missing []cas.Ref
	// Orphaned blobs are in the store with no reference (gc frees them).
	Orphaned []cas.Ref
}

// Damaged reports whether anything was lost or corrupted (orphans are
// only waste).
func (r VerifyReport) Damaged() bool { return len(r.Corrupt) > 0 || len(r.Missing) > 0 }

// blobCursor pages through the index's blob rows in ref order.
type blobCursor struct {
	idx  index.Blobs
	page []index.BlobRecord
	done bool
	last cas.Ref
}

func (c *blobCursor) peek(ctx context.Context) (index.BlobRecord, bool, error) {
	if len(c.page) == 0 && !c.done {
		page, err := c.idx.ListBlobs(ctx, c.last, 1000)
		if err != nil {
			return index.BlobRecord{}, false, err
		}
		if len(page) == 0 {
			c.done = true
		} else {
			c.page, c.last = page, page[len(page)-1].Ref
		}
	}
	if len(c.page) == 0 {
		return index.BlobRecord{}, false, nil
	}
	return c.page[0], true, nil
}

func (c *blobCursor) next() { c.page = c.page[1:] }

// mergeBlobs walks the store and the index's blob rows side by side in ref
// order, calling onStore for each stored blob (with its row, if any) and
// onIndexOnly for rows the store lacks.
func mergeBlobs(ctx context.Context, store cas.Walker, idx index.Blobs,
	onStore func(b cas.BlobInfo, row *index.BlobRecord) error,
	onIndexOnly func(row index.BlobRecord) error) error {
	cur := &blobCursor{idx: idx}
	err := store.Walk(ctx, cas.Ref{}, func(b cas.BlobInfo) error {
		for {
			row, ok, err := cur.peek(ctx)
			if err != nil {
				return err
			}
			if !ok || !row.Ref.Less(b.Ref) {
				break
			}
			if err := onIndexOnly(row); err != nil {
				return err
			}
			cur.next()
		}
		row, ok, err := cur.peek(ctx)
		if err != nil {
			return err
		}
		if ok && row.Ref == b.Ref {
			cur.next()
			return onStore(b, &row)
		}
		return onStore(b, nil)
	})
	if err != nil {
		return err
	}
	for {
		row, ok, err := cur.peek(ctx)
		if err != nil || !ok {
			return err
		}
		if err := onIndexOnly(row); err != nil {
			return err
		}
		cur.next()
	}
}

// Verify re-hashes every blob in the store (streaming, one at a time) and
// compares the store with the index's references. progress, when not nil,
// is called after each blob.
func Verify(ctx context.Context, store MaintenanceStore, idx MaintenanceIndex, progress func(VerifyReport)) (VerifyReport, error) {
	var r VerifyReport
	buf := make([]byte, 1<<20)
	err := mergeBlobs(ctx, store, idx,
		func(b cas.BlobInfo, row *index.BlobRecord) error {
			r.Blobs++
			r.Bytes += b.Size
			ok, err := rehash(ctx, store, b, buf)
			switch {
			case errors.Is(err, cas.ErrNotFound):
				// Removed since the walk listed it (a concurrent delete).
			case errors.Is(err, cas.ErrCorrupt):
				// A store that checks as it reads (compressed frames)
				// found the damage itself.
				r.Corrupt = append(r.Corrupt, b.Ref)
			case err != nil:
				return err
			case !ok || (row != nil && row.Size != b.Size):
				r.Corrupt = append(r.Corrupt, b.Ref)
			}
			if row == nil || row.Refs == 0 {
				r.Orphaned = append(r.Orphaned, b.Ref)
			}
			if progress != nil {
				progress(r)
			}
			return nil
		},
		func(row index.BlobRecord) error {
			if row.Refs > 0 {
				r.Missing = append(r.Missing, row.Ref)
			}
			return nil
		})
	return r, err
}

// rehash reads a blob and reports whether it still hashes to its name and
// has the size the walk reported.
func rehash(ctx context.Context, store cas.Fetcher, b cas.BlobInfo, buf []byte) (bool, error) {
	rc, err := store.Fetch(ctx, b.Ref, 0, -1)
	if err != nil {
		return false, err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, rc, buf)
	if err != nil {
		return false, fmt.Errorf("gateway: verify %s: %w", b.Ref, err)
	}
	got, _ := cas.RefFromBytes(h.Sum(nil))
	return got == b.Ref && n == b.Size, nil
}

// GCOptions tune GC.
type GCOptions struct {
	// Grace spares unreferenced blobs younger than this: an upload or an
	// ingestion may have stored them a moment ago and be about to record
	// them (default 1 hour).
	Grace time.Duration
	// DryRun reports what would be freed without removing anything.
	DryRun bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// GCReport is what `dewar gc` did.
type GCReport struct {
	Examined int64 // blobs in the store
	Removed  int64 // blobs removed (or, dry run, that would be)
	Freed    int64 // their logical bytes
	Young    int64 // unreferenced but within the grace period
	Rows     int64 // index rows left at zero after a crash, cleared
}

// GC removes blobs nothing references. Each removal goes through the
// index's Reap, which re-checks the count under the blob's lock, so a
// concurrent upload of the same bytes never loses its blob.
func GC(ctx context.Context, store MaintenanceStore, idx MaintenanceIndex, o GCOptions) (GCReport, error) {
	if o.Grace <= 0 {
		o.Grace = time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	var r GCReport
	reap := func(ref cas.Ref, size int64) error {
		if o.DryRun {
			r.Removed++
			r.Freed += size
			return nil
		}
		removed, err := idx.Reap(ctx, ref, store.Remove)
		if err != nil {
			return err
		}
		if removed {
			r.Removed++
			r.Freed += size
		}
		return nil
	}
	cutoff := o.Now().Add(-o.Grace)
	err := mergeBlobs(ctx, store, idx,
		func(b cas.BlobInfo, row *index.BlobRecord) error {
			r.Examined++
			if row != nil && row.Refs > 0 {
				return nil
			}
			// A zero row is a drop whose reap was lost (a crash): Reap's
			// lock makes it safe at any age. A blob with no row may be an
			// upload or ingestion about to pin it: spare it for a while.
			if row == nil && (b.ModTime.IsZero() || b.ModTime.After(cutoff)) {
				r.Young++
				return nil
			}
			return reap(b.Ref, b.Size)
		},
		func(row index.BlobRecord) error {
			if row.Refs == 0 && !o.DryRun {
				// A zero row whose blob is already gone: clear it.
				if _, err := idx.Reap(ctx, row.Ref, store.Remove); err != nil {
					return err
				}
				r.Rows++
			}
			return nil
		})
	return r, err
}
