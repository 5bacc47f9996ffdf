package s3store

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"

	"dewar/cas"
)

// contentType is what blobs are stored as: untrusted bytes, never to be
// rendered by whoever reads the upstream bucket directly.
const contentType = "application/octet-stream"

// abortTimeout bounds the clean-up of a failed multipart upload, which runs
// even when the caller's context has ended.
const abortTimeout = time.Minute

// commit uploads f as ref's blob unless an object of its size exists.
func (s *Store) commit(ctx context.Context, f *os.File, ref cas.SizedRef) (bool, error) {
	key := s.key(ref.Ref)
	for attempt := 1; ; attempt++ {
		size, err := s.headSize(ctx, key)
		exclusive := true
		switch {
		case err == nil && size == ref.Size:
			return false, nil
		case err == nil:
			// An object of the wrong length (written by hand, truncated):
			// replace it with the verified bytes.
			exclusive = false
		case !isNotFound(err):
			return false, wrapErr("commit", ref.Ref, err)
		}
		created, err := s.upload(ctx, key, f, ref, exclusive)
		if err != nil && errorCode(err) == "ConditionalRequestConflict" && attempt < 3 {
			continue // S3: a conditional write of the key is in flight; look again
		}
		if err != nil {
			return false, wrapErr("commit", ref.Ref, err)
		}
		return created, nil
	}
}

// headSize returns the length of the object at key.
func (s *Store) headSize(ctx context.Context, key string) (int64, error) {
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.cfg.Bucket), Key: aws.String(key)})
	if err != nil {
		return 0, err
	}
	return aws.ToInt64(out.ContentLength), nil
}

// upload sends f to key, in one PUT or in parts. With exclusive it asks
// the upstream not to replace an existing object (If-None-Match: *) and
// reports created=false when that is what happened.
func (s *Store) upload(ctx context.Context, key string, f *os.File, ref cas.SizedRef, exclusive bool) (bool, error) {
	if ref.Size > s.opts.PartSize {
		return s.putMultipart(ctx, key, f, ref, exclusive)
	}
	in := &s3.PutObjectInput{
		Bucket:        aws.String(s.cfg.Bucket),
		Key:           aws.String(key),
		Body:          io.NewSectionReader(f, 0, ref.Size), // seekable: the retryer rewinds it
		ContentLength: aws.Int64(ref.Size),
		ContentType:   aws.String(contentType),
		// The upstream checks the bytes against the Ref itself.
		ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(ref.Ref.Bytes())),
	}
	if exclusive {
		in.IfNoneMatch = aws.String("*")
	}
	// The payload's sha256 is the Ref: sign with it instead of re-hashing.
	_, err := s.client.PutObject(v4.SetPayloadHash(ctx, ref.Ref.String()), in)
	if exclusive && httpStatus(err) == http.StatusPreconditionFailed {
		return false, nil
	}
	return err == nil, err
}

// partSize returns the part size for a blob of size bytes: Options.PartSize,
// grown so no upload needs more than S3's 10,000 parts.
func (s *Store) partSize(size int64) int64 {
	return max(s.opts.PartSize, (size+maxParts-1)/maxParts)
}

// putMultipart uploads f in parts read straight from the file, several at
// once, and completes the upload; on any failure it aborts it so no parts
// linger upstream.
func (s *Store) putMultipart(ctx context.Context, key string, f *os.File, ref cas.SizedRef, exclusive bool) (created bool, err error) {
	bucket := aws.String(s.cfg.Bucket)
	up, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket:            bucket,
		Key:               aws.String(key),
		ContentType:       aws.String(contentType),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32,
	})
	if err != nil {
		return false, err
	}
	id := up.UploadId
	defer func() {
		if err == nil && created {
			return
		}
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
		defer cancel()
		// A failed abort leaves parts for the upstream's lifecycle rule
		// (AbortIncompleteMultipartUpload); the upload's error matters more.
		_, _ = s.client.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{Bucket: bucket, Key: aws.String(key), UploadId: id})
	}()

	psize := s.partSize(ref.Size)
	n := int((ref.Size + psize - 1) / psize)
	parts := make([]types.CompletedPart, n)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opts.PartConcurrency)
	for i := range n {
		off := int64(i) * psize
		size := min(psize, ref.Size-off)
		num := aws.Int32(int32(i + 1))
		g.Go(func() error {
			out, err := s.client.UploadPart(gctx, &s3.UploadPartInput{
				Bucket:            bucket,
				Key:               aws.String(key),
				UploadId:          id,
				PartNumber:        num,
				Body:              io.NewSectionReader(f, off, size),
				ContentLength:     aws.Int64(size),
				ChecksumAlgorithm: types.ChecksumAlgorithmCrc32,
			})
			if err != nil {
				return err
			}
			parts[i] = types.CompletedPart{PartNumber: num, ETag: out.ETag, ChecksumCRC32: out.ChecksumCRC32}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return false, err
	}
	in := &s3.CompleteMultipartUploadInput{
		Bucket:          bucket,
		Key:             aws.String(key),
		UploadId:        id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	}
	if exclusive {
		in.IfNoneMatch = aws.String("*")
	}
	_, err = s.client.CompleteMultipartUpload(ctx, in)
	switch {
	case err == nil:
		return true, nil
	case exclusive && httpStatus(err) == http.StatusPreconditionFailed:
		return false, nil // a concurrent writer completed first
	case errorCode(err) == "NoSuchUpload":
		// A retried Complete whose first attempt succeeded but whose answer
		// was lost finds the upload gone: the object tells.
		if size, herr := s.headSize(ctx, key); herr == nil && size == ref.Size {
			return true, nil
		}
	}
	return false, err
}
