package cas

import (
	"context"
	"errors"
	"io"
	"time"
)

// Sentinel errors. Implementations wrap them ("cas: ...: %w"); callers match
// with errors.Is.
var (
	// ErrNotFound: no blob with that Ref is stored.
	ErrNotFound = errors.New("cas: blob not found")
	// ErrCorrupt: bytes did not hash to the Ref they were expected to have,
	// either on Stage with a wanted Ref or when a stored blob is re-read.
	ErrCorrupt = errors.New("cas: content does not match its reference")
	// ErrTooLarge: a stream exceeded the limit given in StageOptions.
	ErrTooLarge = errors.New("cas: blob larger than allowed")
)

// BlobInfo describes one stored blob.
type BlobInfo struct {
	SizedRef
	// StoredSize is what the blob occupies in the store (smaller when
	// compressed). Equal to Size when the store does not compress.
	StoredSize int64
	// ModTime is when the blob was written, when the store knows (zero
	// otherwise); gc spares blobs younger than its grace period.
	ModTime time.Time
}

// Fetcher reads blobs.
type Fetcher interface {
	// Fetch returns a reader of the blob's bytes from offset, length bytes
	// long, or to the end when length < 0. A range running past the end is
	// cut at the end. Missing blobs give ErrNotFound. The caller closes the
	// reader. Fetch does not re-hash (that would cap reads at hash speed);
	// Verify and `dewar verify` do.
	Fetch(ctx context.Context, ref Ref, offset, length int64) (io.ReadCloser, error)
}

// Stater answers whether a blob exists and how large it is.
type Stater interface {
	// Stat returns ErrNotFound for a missing blob. Cheap: no content is read.
	Stat(ctx context.Context, ref Ref) (BlobInfo, error)
}

// StageOptions tune Stage.
type StageOptions struct {
	// Want, when not zero, is the Ref the stream must hash to; a mismatch
	// gives ErrCorrupt and stages nothing.
	Want Ref
	// MaxSize, when > 0, caps the stream; more gives ErrTooLarge.
	MaxSize int64
}

// Stager is the first half of a two-phase put: the stream is hashed while it
// is spooled somewhere private, so the Ref is known before anything becomes
// visible. Writers that must coordinate with an index (reference counts)
// stage first and commit while they hold the index's lock on the Ref.
type Stager interface {
	// Stage consumes r to EOF. An error from r (a failed signature or
	// checksum check upstream, a dropped connection) aborts the stage and
	// leaves nothing behind. The caller must Discard the result.
	Stage(ctx context.Context, r io.Reader, opts StageOptions) (Staged, error)
}

// Staged is a stream that has been hashed and spooled but is not yet a blob.
type Staged interface {
	// Ref is the sha256 and length of the staged bytes.
	Ref() SizedRef
	// ReaderAt reads the staged bytes back (archive walkers need random
	// access to the upload before it is committed).
	io.ReaderAt
	// Commit makes the blob durable and visible. It is idempotent and cheap
	// when the blob already exists, so a writer may call it once early
	// (doing the slow work outside any lock) and again under a lock to make
	// sure the blob still exists. It reports whether this call created the
	// blob. After Commit the staged bytes remain readable until Discard.
	Commit(ctx context.Context) (created bool, err error)
	// Discard releases the spool. Safe to call more than once and after
	// Commit; it never removes a committed blob.
	Discard() error
}

// Putter stores whole streams in one step.
type Putter interface {
	// Put stages r and commits it: Stage + Commit + Discard. It reports
	// whether the blob was new to the store.
	Put(ctx context.Context, r io.Reader, opts StageOptions) (ref SizedRef, created bool, err error)
}

// Walker enumerates blobs.
type Walker interface {
	// Walk calls fn for every blob with a Ref greater than after (the zero
	// Ref starts at the beginning), in ascending Ref order. It stops at the
	// first error from fn and returns it. Blobs created or removed during
	// the walk may or may not be seen.
	Walk(ctx context.Context, after Ref, fn func(BlobInfo) error) error
}

// Remover deletes blobs.
type Remover interface {
	// Remove deletes the blob. Removing a missing blob is not an error.
	// Callers coordinate with reference counts; the store does not know
	// whether anything still refers to the blob.
	Remove(ctx context.Context, ref Ref) error
}

// Store is every capability together. Consumers should accept the narrowest
// interface they use.
type Store interface {
	Fetcher
	Stater
	Stager
	Putter
	Walker
	Remover
}

// PutVia implements Put on top of Stage, for stores whose Put is nothing more.
func PutVia(ctx context.Context, s Stager, r io.Reader, opts StageOptions) (SizedRef, bool, error) {
	st, err := s.Stage(ctx, r, opts)
	if err != nil {
		return SizedRef{}, false, err
	}
	defer st.Discard()
	created, err := st.Commit(ctx)
	if err != nil {
		return SizedRef{}, false, err
	}
	return st.Ref(), created, nil
}
