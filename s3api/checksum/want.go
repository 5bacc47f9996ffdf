package checksum

import (
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
)

// Want is what a request asks to be checked or computed about its payload.
type Want struct {
	// ContentMD5 is the decoded Content-MD5, nil if absent.
	ContentMD5 []byte
	// Values are the base64 values of x-amz-checksum-* headers.
	Values map[Algorithm]string
	// TrailerAlgorithm is the checksum announced in x-amz-trailer, "" if none.
	TrailerAlgorithm Algorithm
	// Trailer returns the trailing headers once the body is read (set by
	// the caller, e.g. from sigv4.Result.Trailer). Names may be lowercase.
	Trailer func() http.Header
	// Compute lists algorithms to compute without an expected value
	// (x-amz-sdk-checksum-algorithm without a value, or the multipart
	// upload's algorithm).
	Compute []Algorithm
}

// WantFromHeader parses Content-MD5, x-amz-checksum-<alg>,
// x-amz-sdk-checksum-algorithm and x-amz-trailer. A malformed Content-MD5
// yields ErrInvalidDigest; a malformed checksum, or more than one checksum
// (header or trailer), ErrInvalidChecksum; an unknown algorithm
// ErrUnknownAlgorithm. x-amz-sdk-checksum-algorithm is ignored when a
// checksum value or trailer is present, as S3 does.
func WantFromHeader(h http.Header) (Want, error) {
	var w Want
	if vs := h.Values("Content-Md5"); len(vs) > 0 {
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(vs[0]))
		if len(vs) > 1 || err != nil || len(b) != md5.Size {
			return Want{}, fmt.Errorf("checksum: Content-MD5 %q: %w", vs[0], ErrInvalidDigest)
		}
		w.ContentMD5 = b
	}
	for _, a := range Algorithms() {
		vs := h.Values(a.HeaderName())
		if len(vs) == 0 {
			continue
		}
		if len(vs) > 1 {
			return Want{}, fmt.Errorf("checksum: %s repeated: %w", a.HeaderName(), ErrInvalidChecksum)
		}
		if _, err := decode(a, vs[0]); err != nil {
			return Want{}, err
		}
		if w.Values == nil {
			w.Values = make(map[Algorithm]string, 1)
		}
		w.Values[a] = strings.TrimSpace(vs[0])
	}
	if len(w.Values) > 1 {
		return Want{}, fmt.Errorf("checksum: Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.: %w", ErrInvalidChecksum)
	}
	for _, v := range h.Values("X-Amz-Trailer") {
		for name := range strings.SplitSeq(v, ",") {
			name = strings.ToLower(strings.TrimSpace(name))
			suffix, ok := strings.CutPrefix(name, "x-amz-checksum-")
			if !ok {
				continue
			}
			a, err := ParseAlgorithm(suffix)
			if err != nil {
				return Want{}, fmt.Errorf("checksum: x-amz-trailer %q: %w", name, err)
			}
			if w.TrailerAlgorithm != "" || len(w.Values) > 0 {
				return Want{}, fmt.Errorf("checksum: Expecting a single x-amz-checksum- header: %w", ErrInvalidChecksum)
			}
			w.TrailerAlgorithm = a
		}
	}
	if v := h.Get("X-Amz-Sdk-Checksum-Algorithm"); v != "" {
		a, err := ParseAlgorithm(strings.TrimSpace(v))
		if err != nil {
			return Want{}, fmt.Errorf("checksum: x-amz-sdk-checksum-algorithm: %w", err)
		}
		if len(w.Values) == 0 && w.TrailerAlgorithm == "" {
			w.Compute = append(w.Compute, a)
		}
	}
	return w, nil
}

// decode checks that v is base64 of a's digest size.
func decode(a Algorithm, v string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
	if err != nil || len(b) != a.Size() {
		return nil, fmt.Errorf("checksum: value %q for %s: %w", v, a.HeaderName(), ErrInvalidChecksum)
	}
	return b, nil
}
