package s3gw

import (
	"context"
	"errors"

	"dewar/cas"
	"dewar/gateway/auth"
	"dewar/index"
	"dewar/s3api/s3err"
)

// s3Error is the one place where Dewar's domain errors become S3 errors.
// Errors that already are S3 errors (a failed checksum surfacing from a
// request body) pass through; anything unmapped stays as it is and s3api
// sends it as InternalError with the request id in the log.
func s3Error(err error) error {
	if err == nil {
		return nil
	}
	var e *s3err.Error
	if errors.As(err, &e) {
		return err
	}
	switch {
	case errors.Is(err, auth.ErrDenied), errors.Is(err, auth.ErrUnknownUser):
		return s3err.Wrap(s3err.AccessDenied, err)
	case errors.Is(err, index.ErrBucketNotFound):
		return s3err.Wrap(s3err.NoSuchBucket, err)
	case errors.Is(err, index.ErrObjectNotFound):
		return s3err.Wrap(s3err.NoSuchKey, err)
	case errors.Is(err, index.ErrUploadNotFound):
		return s3err.Wrap(s3err.NoSuchUpload, err)
	case errors.Is(err, index.ErrBucketNotEmpty):
		return s3err.Wrap(s3err.BucketNotEmpty, err)
	case errors.Is(err, index.ErrPreconditionFailed):
		return s3err.Wrap(s3err.PreconditionFailed, err)
	case errors.Is(err, index.ErrBucketExists):
		return s3err.Wrap(s3err.BucketAlreadyExists, err)
	case errors.Is(err, cas.ErrTooLarge):
		return s3err.Wrap(s3err.EntityTooLarge, err)
	case errors.Is(err, errPayloadDigest):
		return s3err.Wrap(s3err.XAmzContentSHA256Mismatch, err)
	case errors.Is(err, context.Canceled):
		return s3err.Wrap(s3err.RequestTimeout, err)
	}
	return err
}

// errPayloadDigest marks a body whose sha256 differs from the signed
// x-amz-content-sha256 (checked by the store, which hashes anyway).
var errPayloadDigest = errors.New("s3gw: payload does not match x-amz-content-sha256")
