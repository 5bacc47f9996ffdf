package cas

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
)

// NewVerifyingReader returns a reader of r's bytes that hashes them as they
// pass. At r's end it returns io.EOF only when the bytes hashed to want;
// otherwise it returns an error wrapping ErrCorrupt in place of io.EOF, so a
// consumer that copies to EOF learns of the damage before it trusts the
// result. Errors from r pass through unchanged. The reader is not safe for
// concurrent use.
func NewVerifyingReader(r io.Reader, want Ref) io.Reader {
	return &verifyingReader{r: r, want: want, h: sha256.New()}
}

type verifyingReader struct {
	r    io.Reader
	want Ref
	h    hash.Hash
	n    int64
	err  error // sticky final result: io.EOF, a corruption error, or r's error
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	switch {
	case err == io.EOF:
		got, _ := RefFromBytes(v.h.Sum(nil))
		if got != v.want {
			err = fmt.Errorf("%w: read %d bytes hashing to %s, want %s", ErrCorrupt, v.n, got, v.want)
		}
		v.err = err
	case err != nil:
		v.err = err
	}
	return n, err
}

// WalkFetcher is what Verify needs from a store.
type WalkFetcher interface {
	Walker
	Fetcher
}

// Verify re-reads and re-hashes every blob of s with a Ref greater than
// after, in Walk order, streaming each one (memory does not grow with blob
// size). It calls report once per blob: with a nil error when the bytes hash
// to the Ref and have the listed size, with an error wrapping ErrCorrupt
// when they do not, and with any other read error as it came. Blobs removed
// between the listing and the read (a collector running beside Verify) are
// skipped, not reported. Verify stops at the first error report returns, or
// when ctx ends, and returns that error; damage alone is not an error of
// Verify's, it is what report is for.
func Verify(ctx context.Context, s WalkFetcher, after Ref, report func(BlobInfo, error) error) error {
	buf := make([]byte, 256<<10)
	h := sha256.New()
	return s.Walk(ctx, after, func(info BlobInfo) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := verifyOne(ctx, s, info, h, buf)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
		return report(info, err)
	})
}

func verifyOne(ctx context.Context, s Fetcher, info BlobInfo, h hash.Hash, buf []byte) error {
	rc, err := s.Fetch(ctx, info.Ref, 0, -1)
	if err != nil {
		return err
	}
	defer rc.Close()
	h.Reset()
	// Plain read loop rather than io.CopyBuffer: a WriterTo on the store's
	// reader would bypass buf and allocate its own.
	var n int64
	for {
		m, err := rc.Read(buf)
		h.Write(buf[:m])
		n += int64(m)
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("cas: verify %s: %w", info.Ref, err)
		}
	}
	got, _ := RefFromBytes(h.Sum(nil))
	if got != info.Ref {
		return fmt.Errorf("%w: %s hashes to %s", ErrCorrupt, info.Ref, got)
	}
	if n != info.Size {
		return fmt.Errorf("%w: %s has %d bytes, listed as %d", ErrCorrupt, info.Ref, n, info.Size)
	}
	return nil
}
