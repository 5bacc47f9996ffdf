package s3store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"dewar/cas"
)

// Fetch returns a reader of length bytes of the blob from offset (to the
// end when length < 0), cut at the blob's end. A whole-blob read is one
// GET; a range first HEADs the blob for its size, so an offset at or past
// the end gives an empty reader without asking the upstream for a range it
// would refuse (416), and then GETs exactly the bytes wanted. A missing
// blob gives cas.ErrNotFound. When the body breaks mid-stream the reader
// resumes with a ranged GET from where it stopped (see the package doc).
// The caller closes the reader.
func (s *Store) Fetch(ctx context.Context, ref cas.Ref, offset, length int64) (io.ReadCloser, error) {
	if err := ctxErr(ctx, "fetch"); err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, fmt.Errorf("s3store: fetch %s: negative offset %d", ref, offset)
	}
	r := &blobReader{s: s, ctx: ctx, ref: ref, key: s.key(ref), retries: s.opts.MaxAttempts - 1}
	if offset == 0 && length < 0 {
		r.end = -1 // the answer tells
		if err := r.open(-1); err != nil {
			return nil, err
		}
		return r, nil
	}
	size, err := s.headSize(ctx, r.key)
	if err != nil {
		return nil, wrapErr("fetch", ref, err)
	}
	if offset >= size || length == 0 {
		return io.NopCloser(strings.NewReader("")), nil
	}
	r.pos, r.end = offset, size
	if length >= 0 && length < size-offset {
		r.end = offset + length
	}
	if err := r.open(r.end); err != nil {
		return nil, err
	}
	return r, nil
}

// blobReader reads [pos, end) of a blob from a GET body, re-opening the
// rest with a ranged GET when the body fails before end.
type blobReader struct {
	s       *Store
	ctx     context.Context
	ref     cas.Ref
	key     string
	body    io.ReadCloser
	etag    *string // of the first answer; later ranges must match it
	pos     int64
	end     int64 // -1 until the first answer tells the size
	retries int   // re-opens left
	unsized bool  // the upstream did not say how long the body is
	err     error // sticky
}

// open GETs the object from pos, up to end (exclusive) when end >= 0.
func (r *blobReader) open(end int64) error {
	in := &s3.GetObjectInput{Bucket: aws.String(r.s.cfg.Bucket), Key: aws.String(r.key), IfMatch: r.etag}
	if end >= 0 {
		in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", r.pos, end-1))
	}
	out, err := r.s.client.GetObject(r.ctx, in)
	if err != nil {
		return wrapErr("fetch", r.ref, err)
	}
	if r.end < 0 {
		if out.ContentLength == nil {
			// No length (a chunked answer): read to the body's end and
			// trust it, as nothing tells a short body from a whole one.
			r.end = math.MaxInt64
			r.retries = 0
			r.unsized = true
		} else {
			r.end = aws.ToInt64(out.ContentLength)
		}
	}
	if r.etag == nil {
		r.etag = out.ETag
	}
	r.body = out.Body
	return nil
}

func (r *blobReader) Read(p []byte) (int, error) {
	for {
		if r.err != nil {
			return 0, r.err
		}
		if r.pos >= r.end {
			r.err = io.EOF
			return 0, io.EOF
		}
		if int64(len(p)) > r.end-r.pos {
			p = p[:r.end-r.pos]
		}
		n, err := r.body.Read(p)
		r.pos += int64(n)
		switch {
		case err == nil, err == io.EOF && r.pos >= r.end:
			return n, nil // EOF itself on the next call, from pos >= end
		case err == io.EOF && r.unsized:
			r.err = io.EOF
		case r.ctx.Err() != nil:
			r.err = fmt.Errorf("s3store: fetch %s: %w", r.ref, r.ctx.Err())
		case r.retries == 0:
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			r.err = fmt.Errorf("s3store: fetch %s at byte %d: %w", r.ref, r.pos, err)
		default:
			// Broken or short body: ask for the rest.
			r.retries--
			r.body.Close()
			r.body = io.NopCloser(strings.NewReader(""))
			if oerr := r.open(r.end); oerr != nil {
				r.err = fmt.Errorf("s3store: resuming fetch %s at byte %d after %v: %w", r.ref, r.pos, err, oerr)
			}
		}
		if n > 0 {
			return n, nil
		}
	}
}

func (r *blobReader) Close() error {
	if r.err == nil {
		r.err = errors.New("s3store: read after Close")
	}
	return r.body.Close()
}

// Stat HEADs the blob: its size, no content read; cas.ErrNotFound when
// missing.
func (s *Store) Stat(ctx context.Context, ref cas.Ref) (cas.BlobInfo, error) {
	if err := ctxErr(ctx, "stat"); err != nil {
		return cas.BlobInfo{}, err
	}
	size, err := s.headSize(ctx, s.key(ref))
	if err != nil {
		return cas.BlobInfo{}, wrapErr("stat", ref, err)
	}
	return cas.BlobInfo{SizedRef: cas.SizedRef{Ref: ref, Size: size}, StoredSize: size}, nil
}
