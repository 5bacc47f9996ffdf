package s3api

import (
	"errors"
	"io"
	"net/http"

	"dewar/s3api/checksum"
	"dewar/s3api/s3err"
	"dewar/s3api/sigv2"
	"dewar/s3api/sigv4"
)

// protocolCodes maps the errors of s3api's own sub-packages (signatures,
// checksums) to S3 codes. Backend (domain) errors are mapped by the
// backend; this is the only place that maps protocol errors.
var protocolCodes = []struct {
	err  error
	code s3err.Code
}{
	{sigv4.ErrMissingAuth, s3err.AccessDenied},
	{sigv4.ErrMalformedAuth, s3err.AuthorizationHeaderMalformed},
	{sigv4.ErrWrongRegion, s3err.AuthorizationHeaderMalformed},
	{sigv4.ErrUnknownAccessKey, s3err.InvalidAccessKeyID},
	{sigv4.ErrSignatureMismatch, s3err.SignatureDoesNotMatch},
	{sigv4.ErrChunkSignatureMismatch, s3err.SignatureDoesNotMatch},
	{sigv4.ErrTimeSkewed, s3err.RequestTimeTooSkewed},
	{sigv4.ErrExpired, s3err.AccessDenied},
	{sigv4.ErrMissingDate, s3err.AccessDenied},
	{sigv4.ErrMissingContentSHA256, s3err.InvalidRequest},
	{sigv4.ErrBadContentSHA256, s3err.InvalidArgument},
	{sigv4.ErrContentSHA256Mismatch, s3err.XAmzContentSHA256Mismatch},
	{sigv4.ErrIncompleteBody, s3err.IncompleteBody},
	{sigv4.ErrMalformedChunk, s3err.IncompleteBody},
	{sigv4.ErrUnsupportedAlgorithm, s3err.InvalidArgument},
	{sigv4.ErrBadDecodedContentLength, s3err.InvalidArgument},
	{sigv4.ErrUnsignedHeader, s3err.AccessDenied},
	{sigv2.ErrMalformedAuth, s3err.AccessDenied},
	{sigv2.ErrSignatureMismatch, s3err.SignatureDoesNotMatch},
	{sigv2.ErrTimeSkewed, s3err.RequestTimeTooSkewed},
	{sigv2.ErrExpired, s3err.AccessDenied},
	{sigv2.ErrMissingDate, s3err.AccessDenied},
	{checksum.ErrInvalidDigest, s3err.InvalidDigest},
	{checksum.ErrBadDigest, s3err.BadDigest},
	{checksum.ErrInvalidChecksum, s3err.InvalidRequest},
	{checksum.ErrChecksumMismatch, s3err.BadDigest},
	{checksum.ErrMissingTrailer, s3err.IncompleteBody},
	{checksum.ErrUnknownAlgorithm, s3err.InvalidRequest},
}

// authError maps a verifier error to its S3 error, keeping the cause's
// text as the message (it says which header or value was wrong).
func authError(err error) error {
	return protocolError(err)
}

// protocolError maps an error from the verifiers or checksum readers. Errors
// that are none of theirs (a client that went away mid-body) are
// IncompleteBody when they are read errors, else returned unchanged.
func protocolError(err error) error {
	if err == nil {
		return nil
	}
	var e *s3err.Error
	if errors.As(err, &e) {
		return err
	}
	for _, pc := range protocolCodes {
		if errors.Is(err, pc.err) {
			out := s3err.Wrap(pc.code, err)
			if pc.code != s3err.AccessDenied && pc.code != s3err.InvalidAccessKeyID {
				out.Message = err.Error()
			}
			if errors.Is(err, sigv4.ErrExpired) || errors.Is(err, sigv2.ErrExpired) {
				out.Message = "Request has expired"
			}
			return out
		}
	}
	return err
}

// bodyError maps an error met while reading a request body.
func bodyError(err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	mapped := protocolError(err)
	var e *s3err.Error
	if errors.As(mapped, &e) {
		return mapped
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return s3err.Wrap(s3err.EntityTooLarge, err)
	}
	// Anything else from the connection: the client sent less than it
	// promised or went away.
	return s3err.Wrap(s3err.IncompleteBody, err)
}
