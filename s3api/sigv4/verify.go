// Package sigv4 verifies AWS Signature Version 4 on S3 requests arriving at
// a server: the Authorization header, presigned query strings, and the
// payload modes named by x-amz-content-sha256, including the aws-chunked
// streaming encodings with chained chunk signatures and trailers.
//
// Verify checks everything that can be checked before the body is read and
// returns a Result whose Body decodes and verifies the payload while it is
// read. Any error from Body means the request must be rejected and
// everything read from it discarded.
package sigv4

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	algorithm       = "AWS4-HMAC-SHA256"
	amzDateFormat   = "20060102T150405Z"
	shortDateFormat = "20060102"
	service         = "s3"
	terminator      = "aws4_request"
	maxExpires      = 7 * 24 * 60 * 60
	defaultMaxSkew  = 15 * time.Minute

	unsignedPayload          = "UNSIGNED-PAYLOAD"
	streamingSigned          = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	streamingSignedTrailer   = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	streamingUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
)

// Credentials looks up the secret of an access key. An unknown key yields
// an error wrapping ErrUnknownAccessKey; any other error is passed on
// wrapped (an internal failure, not the client's fault).
type Credentials interface {
	SecretKey(ctx context.Context, accessKey string) (string, error)
}

// PayloadMode is how the payload is protected, from x-amz-content-sha256.
type PayloadMode int

const (
	// Unsigned: UNSIGNED-PAYLOAD (always for presigned URLs without X-Amz-Content-Sha256).
	Unsigned PayloadMode = iota + 1
	// SignedHex: the hex sha256 of the body was signed.
	SignedHex
	// StreamingSigned: STREAMING-AWS4-HMAC-SHA256-PAYLOAD.
	StreamingSigned
	// StreamingUnsignedTrailer: STREAMING-UNSIGNED-PAYLOAD-TRAILER.
	StreamingUnsignedTrailer
	// StreamingSignedTrailer: STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER.
	StreamingSignedTrailer
)

func (m PayloadMode) String() string {
	switch m {
	case Unsigned:
		return unsignedPayload
	case SignedHex:
		return "signed hex digest"
	case StreamingSigned:
		return streamingSigned
	case StreamingUnsignedTrailer:
		return streamingUnsignedTrailer
	case StreamingSignedTrailer:
		return streamingSignedTrailer
	}
	return "PayloadMode(" + strconv.Itoa(int(m)) + ")"
}

// Streaming reports whether the body is aws-chunked.
func (m PayloadMode) Streaming() bool {
	return m == StreamingSigned || m == StreamingUnsignedTrailer || m == StreamingSignedTrailer
}

// Verifier verifies SigV4 requests for one region. It is safe for
// concurrent use and must not be copied after first use (it caches
// derived signing keys).
type Verifier struct {
	// Region is required; the credential scope must name it, else ErrWrongRegion.
	Region      string
	Credentials Credentials
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxSkew is the allowed distance between the request time and Now;
	// 0 means 15 minutes, as AWS.
	MaxSkew time.Duration
	// DeferPayloadHash: when true and x-amz-content-sha256 is a hex digest,
	// Body does not hash; the caller promises to compare the body's sha256
	// with Result.PayloadSHA256 itself (Dewar's content store hashes anyway).
	DeferPayloadHash bool

	keys keyCache
}

// Result is a verified request.
type Result struct {
	AccessKey string
	Presigned bool
	// Body yields the payload, decoded from aws-chunked when needed, and
	// verifies it as it is read. A Read error (ErrContentSHA256Mismatch,
	// ErrChunkSignatureMismatch, ErrIncompleteBody, ErrMalformedChunk, ...)
	// means: abort and keep nothing. Bytes of a chunk may be returned
	// before its signature is checked at the chunk end.
	Body io.Reader
	// ContentLength is the decoded payload length; -1 when unknown
	// (Transfer-Encoding: chunked, or aws-chunked without
	// x-amz-decoded-content-length).
	ContentLength int64
	// Trailer returns the trailing headers (lowercase names) once Body has
	// returned io.EOF; an empty header before that or when there are none.
	Trailer func() http.Header
	// PayloadSHA256 is the signed digest when x-amz-content-sha256 is hex.
	PayloadSHA256 []byte
	PayloadMode   PayloadMode
}

// IsRequest reports whether r claims SigV4 authentication: an
// Authorization header starting with AWS4-HMAC-SHA256, or an
// X-Amz-Algorithm query parameter.
func IsRequest(r *http.Request) bool {
	if strings.HasPrefix(r.Header.Get("Authorization"), algorithm) {
		return true
	}
	return r.URL.RawQuery != "" && r.URL.Query().Has("X-Amz-Algorithm")
}

// Verify authenticates r. It does not read the body: Result.Body does,
// verifying as it goes. Errors wrap the package's sentinels.
func (v *Verifier) Verify(r *http.Request) (*Result, error) {
	if v.Region == "" {
		return nil, errors.New("sigv4: Verifier.Region is not set")
	}
	if v.Credentials == nil {
		return nil, errors.New("sigv4: Verifier.Credentials is not set")
	}
	a, err := parseAuth(r)
	if err != nil {
		return nil, err
	}
	if a.region != v.Region {
		return nil, fmt.Errorf("sigv4: the region '%s' is wrong; expecting '%s': %w", a.region, v.Region, ErrWrongRegion)
	}
	if err := v.checkTime(a); err != nil {
		return nil, err
	}
	mode, digest, err := payloadMode(a.payloadHash)
	if err != nil {
		return nil, err
	}
	if !a.presigned {
		// A header nobody signed could have been added in transit
		// (x-amz-meta-*, x-amz-copy-source, x-amz-metadata-directive...).
		for name := range r.Header {
			if lk := strings.ToLower(name); strings.HasPrefix(lk, "x-amz-") && !slices.Contains(a.signedHeaders, lk) {
				return nil, fmt.Errorf("sigv4: header %s: %w: %w", lk, ErrUnsignedHeader, ErrSignatureMismatch)
			}
		}
	}
	if a.presigned && mode.Streaming() {
		return nil, fmt.Errorf("sigv4: %s is not allowed on a presigned URL: %w", a.payloadHash, ErrBadContentSHA256)
	}

	secret, err := v.Credentials.SecretKey(r.Context(), a.accessKey)
	if err != nil {
		if errors.Is(err, ErrUnknownAccessKey) {
			return nil, fmt.Errorf("sigv4: access key %q: %w", a.accessKey, err)
		}
		return nil, fmt.Errorf("sigv4: looking up access key %q: %w", a.accessKey, err)
	}
	key := v.keys.get(a.accessKey, secret, a.date, a.region)

	creq, err := canonicalRequestHash(r, a)
	if err != nil {
		return nil, err
	}
	scope := a.scope()
	sts := algorithm + "\n" + a.amzDate + "\n" + scope + "\n" + creq
	want := hmacSHA256(key, sts)
	if a.signature == nil || !hmac.Equal(want, a.signature) {
		return nil, fmt.Errorf("sigv4: access key %q: %w", a.accessKey, ErrSignatureMismatch)
	}

	res := &Result{
		AccessKey:     a.accessKey,
		Presigned:     a.presigned,
		PayloadMode:   mode,
		PayloadSHA256: digest,
		ContentLength: r.ContentLength,
		Trailer:       func() http.Header { return http.Header{} },
	}
	body := r.Body
	if body == nil {
		body = http.NoBody
	}
	switch mode {
	case Unsigned:
		res.Body = &plainReader{src: body}
	case SignedHex:
		if v.DeferPayloadHash {
			res.Body = &plainReader{src: body}
		} else {
			res.Body = &plainReader{src: body, h: sha256.New(), want: digest}
		}
	default:
		cr, err := newChunkReader(r, body, mode, &chunkSigner{
			key:     key,
			prefix:  a.amzDate + "\n" + scope + "\n",
			prevSig: hex.EncodeToString(want),
		})
		if err != nil {
			return nil, err
		}
		res.Body = cr
		res.ContentLength = cr.declared
		res.Trailer = cr.trailer
	}
	return res, nil
}

func (v *Verifier) checkTime(a *authInfo) error {
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	skew := v.MaxSkew
	if skew <= 0 {
		skew = defaultMaxSkew
	}
	if a.presigned {
		if now.After(a.time.Add(a.expires)) {
			return fmt.Errorf("sigv4: presigned URL expired at %s: %w", a.time.Add(a.expires).UTC().Format(time.RFC3339), ErrExpired)
		}
		if a.time.After(now.Add(skew)) {
			return fmt.Errorf("sigv4: presigned URL dated %s is in the future: %w", a.amzDate, ErrTimeSkewed)
		}
		return nil
	}
	if d := now.Sub(a.time); d > skew || d < -skew {
		return fmt.Errorf("sigv4: request time %s is %s off the server time: %w", a.amzDate, d.Round(time.Second), ErrTimeSkewed)
	}
	return nil
}

// payloadMode classifies x-amz-content-sha256.
func payloadMode(v string) (PayloadMode, []byte, error) {
	switch v {
	case unsignedPayload:
		return Unsigned, nil, nil
	case streamingSigned:
		return StreamingSigned, nil, nil
	case streamingUnsignedTrailer:
		return StreamingUnsignedTrailer, nil, nil
	case streamingSignedTrailer:
		return StreamingSignedTrailer, nil, nil
	}
	if len(v) == 64 {
		if d, err := hex.DecodeString(v); err == nil {
			return SignedHex, d, nil
		}
	}
	return 0, nil, fmt.Errorf("sigv4: x-amz-content-sha256 %q: %w", v, ErrBadContentSHA256)
}
