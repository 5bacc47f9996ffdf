package s3api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"dewar/s3api/s3err"
	"dewar/s3api/sigv2"
	"dewar/s3api/sigv4"
)

// authResult is an authenticated request's identity and payload.
type authResult struct {
	accessKey string
	// body is the payload: aws-chunked decoded, and, for SigV4, checked
	// against its signature or digest as it is read.
	body          io.Reader
	size          int64 // -1 when unknown
	trailer       func() http.Header
	contentSHA256 []byte // to be verified by the backend (DeferPayloadHash)
}

// authenticate verifies the request's signature. There is no anonymous
// access: a request with no signature is AccessDenied.
func (s *Server) authenticate(r *http.Request, vhostBucket string) (authResult, error) {
	switch {
	case sigv4.IsRequest(r):
		res, err := s.v4.Verify(r)
		if err != nil {
			return authResult{}, v4Error(r, err)
		}
		return authResult{
			accessKey:     res.AccessKey,
			body:          res.Body,
			size:          res.ContentLength,
			trailer:       res.Trailer,
			contentSHA256: deferredDigest(s.cfg.DeferPayloadHash, res.PayloadSHA256),
		}, nil
	case sigv2.IsRequest(r):
		ak, err := s.v2.Verify(r, vhostBucket)
		if err != nil {
			return authResult{}, authError(err)
		}
		return authResult{accessKey: ak, body: r.Body, size: r.ContentLength, trailer: noTrailer}, nil
	default:
		return authResult{}, s3err.Newf(s3err.AccessDenied, "Anonymous access is not allowed; sign the request.")
	}
}

// v4Error maps a SigV4 failure. A presigned URL whose query parameters
// are malformed or name another region gets the code AWS uses for those,
// AuthorizationQueryParametersError, rather than the header one.
func v4Error(r *http.Request, err error) error {
	presigned := r.Header.Get("Authorization") == "" && r.URL.Query().Has("X-Amz-Algorithm")
	if presigned && (errors.Is(err, sigv4.ErrMalformedAuth) || errors.Is(err, sigv4.ErrWrongRegion)) {
		e := s3err.Wrap(s3err.AuthorizationQueryParametersError, err)
		e.Message = err.Error()
		return e
	}
	return authError(err)
}

func deferredDigest(deferred bool, d []byte) []byte {
	if deferred {
		return d
	}
	return nil
}

func noTrailer() http.Header { return nil }

// credentialAdapter turns the backend's "unknown key" into the verifiers'.
type credentialAdapter struct{ c Credentials }

func (a credentialAdapter) SecretKey(ctx context.Context, accessKey string) (string, error) {
	secret, err := a.c.SecretKey(ctx, accessKey)
	if errors.Is(err, ErrUnknownAccessKey) {
		return "", fmt.Errorf("%w: %v", sigv4.ErrUnknownAccessKey, err)
	}
	return secret, err
}
