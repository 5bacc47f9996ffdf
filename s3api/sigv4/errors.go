package sigv4

import "errors"

// Sentinel errors. Verify and the Result body wrap them with detail; match
// them with errors.Is. The comment names the S3 error code each maps to.
var (
	// ErrMissingAuth: the request carries no SigV4 authentication (AccessDenied).
	ErrMissingAuth = errors.New("sigv4: request is not signed")
	// ErrMalformedAuth: the Authorization header or the presigned query
	// parameters cannot be parsed or are inconsistent
	// (AuthorizationHeaderMalformed / AuthorizationQueryParametersError).
	ErrMalformedAuth = errors.New("sigv4: malformed authorization")
	// ErrWrongRegion: the credential scope names another region
	// (AuthorizationHeaderMalformed "the region 'x' is wrong; expecting 'y'").
	ErrWrongRegion = errors.New("sigv4: wrong region in credential scope")
	// ErrUnknownAccessKey: Credentials does not know the access key
	// (InvalidAccessKeyId). Credentials implementations wrap it.
	ErrUnknownAccessKey = errors.New("sigv4: unknown access key")
	// ErrSignatureMismatch: the request signature is wrong (SignatureDoesNotMatch).
	ErrSignatureMismatch = errors.New("sigv4: signature does not match")
	// ErrUnsignedHeader: header authentication with an x-amz-* header that
	// is not among SignedHeaders (AccessDenied "There were headers present
	// in the request which were not signed"). Such errors also match
	// ErrSignatureMismatch.
	ErrUnsignedHeader = errors.New("sigv4: x-amz-* header not signed")
	// ErrTimeSkewed: the request time is too far from the server clock
	// (RequestTimeTooSkewed).
	ErrTimeSkewed = errors.New("sigv4: request time too skewed")
	// ErrExpired: a presigned URL is past its expiry (AccessDenied "Request has expired").
	ErrExpired = errors.New("sigv4: request has expired")
	// ErrMissingDate: neither x-amz-date nor Date is usable (AccessDenied).
	ErrMissingDate = errors.New("sigv4: missing or invalid request date")
	// ErrMissingContentSHA256: header authentication without
	// x-amz-content-sha256 (InvalidRequest).
	ErrMissingContentSHA256 = errors.New("sigv4: missing x-amz-content-sha256")
	// ErrBadContentSHA256: x-amz-content-sha256 is neither a hex digest nor a
	// known payload mode, or the mode is not allowed here (InvalidArgument).
	ErrBadContentSHA256 = errors.New("sigv4: invalid x-amz-content-sha256")
	// ErrContentSHA256Mismatch: the body does not hash to the signed digest
	// (XAmzContentSHA256Mismatch).
	ErrContentSHA256Mismatch = errors.New("sigv4: body does not match x-amz-content-sha256")
	// ErrBadDecodedContentLength: x-amz-decoded-content-length is not a
	// non-negative integer (InvalidArgument).
	ErrBadDecodedContentLength = errors.New("sigv4: invalid x-amz-decoded-content-length")
	// ErrIncompleteBody: the body has fewer or more bytes than declared, or
	// the connection broke while reading it (IncompleteBody).
	ErrIncompleteBody = errors.New("sigv4: incomplete body")
	// ErrMalformedChunk: aws-chunked framing error (IncompleteBody or
	// InvalidRequest; AWS is not consistent).
	ErrMalformedChunk = errors.New("sigv4: malformed aws-chunked body")
	// ErrChunkSignatureMismatch: a chunk or trailer signature is wrong
	// (SignatureDoesNotMatch).
	ErrChunkSignatureMismatch = errors.New("sigv4: chunk signature does not match")
	// ErrUnsupportedAlgorithm: an authorization scheme other than
	// AWS4-HMAC-SHA256 (e.g. SigV4a) (AuthorizationHeaderMalformed / NotImplemented).
	ErrUnsupportedAlgorithm = errors.New("sigv4: unsupported signing algorithm")
)
