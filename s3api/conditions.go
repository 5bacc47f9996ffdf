package s3api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"dewar/s3api/s3err"
)

// preconditions are the If-* headers of a GET/HEAD, or the
// x-amz-copy-source-if-* headers of a copy.
type preconditions struct {
	ifMatch, ifNoneMatch               string
	ifModifiedSince, ifUnmodifiedSince time.Time
	copySource                         bool // failures are 412, never 304
}

func parsePreconditions(h http.Header, copySource bool) preconditions {
	prefix := ""
	if copySource {
		prefix = "X-Amz-Copy-Source-"
	}
	p := preconditions{
		ifMatch:     h.Get(prefix + "If-Match"),
		ifNoneMatch: h.Get(prefix + "If-None-Match"),
		copySource:  copySource,
	}
	// Unparseable dates are ignored, as RFC 9110 says and S3 does.
	if t, err := http.ParseTime(h.Get(prefix + "If-Modified-Since")); err == nil {
		p.ifModifiedSince = t
	}
	if t, err := http.ParseTime(h.Get(prefix + "If-Unmodified-Since")); err == nil {
		p.ifUnmodifiedSince = t
	}
	return p
}

// check evaluates the preconditions against info in RFC 9110 order, which
// is also S3's: If-Match, else If-Unmodified-Since; then If-None-Match, else
// If-Modified-Since. Last-Modified is compared at whole seconds, the
// resolution it has on the wire.
func (p preconditions) check(info ObjectInfo) error {
	mod := info.LastModified.UTC().Truncate(time.Second)
	if p.ifMatch != "" {
		if !etagMatches(p.ifMatch, info.ETag) {
			return s3err.New(s3err.PreconditionFailed).With("Condition", p.header("If-Match"))
		}
	} else if !p.ifUnmodifiedSince.IsZero() && mod.After(p.ifUnmodifiedSince) {
		return s3err.New(s3err.PreconditionFailed).With("Condition", p.header("If-Unmodified-Since"))
	}
	if p.ifNoneMatch != "" {
		if etagMatches(p.ifNoneMatch, info.ETag) {
			return p.notModified("If-None-Match")
		}
	} else if !p.ifModifiedSince.IsZero() && !mod.After(p.ifModifiedSince) {
		return p.notModified("If-Modified-Since")
	}
	return nil
}

func (p preconditions) header(name string) string {
	if p.copySource {
		return "x-amz-copy-source-" + strings.ToLower(name)
	}
	return name
}

func (p preconditions) notModified(name string) error {
	if p.copySource {
		return s3err.New(s3err.PreconditionFailed).With("Condition", p.header(name))
	}
	return s3err.New(s3err.NotModified)
}

// etagMatches reports whether a comma-separated If-Match / If-None-Match
// list names etag ("*" names any).
func etagMatches(list, etag string) bool {
	for _, candidate := range strings.Split(list, ",") {
		c := strings.TrimSpace(candidate)
		c = strings.TrimPrefix(c, "W/")
		if c == "*" || strings.Trim(c, `"`) == etag {
			return true
		}
	}
	return false
}

// byteRange is a resolved, satisfiable range.
type byteRange struct {
	offset, length int64
}

// parseRange resolves a Range header against size. ok is false when the
// header is absent or not a single well-formed byte range (S3 then sends
// the whole object); an unsatisfiable range is InvalidRange.
func parseRange(header string, size int64) (br byteRange, ok bool, err error) {
	spec, found := strings.CutPrefix(strings.TrimSpace(header), "bytes=")
	if !found || strings.Contains(spec, ",") {
		return byteRange{}, false, nil
	}
	first, last, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return byteRange{}, false, nil
	}
	unsatisfiable := s3err.New(s3err.InvalidRange).With("RangeRequested", header).With("ActualObjectSize", strconv.FormatInt(size, 10))
	if first == "" { // suffix: the last N bytes
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 {
			return byteRange{}, false, nil
		}
		if n == 0 || size == 0 {
			return byteRange{}, false, unsatisfiable
		}
		n = min(n, size)
		return byteRange{offset: size - n, length: n}, true, nil
	}
	start, err := strconv.ParseInt(first, 10, 64)
	if err != nil || start < 0 {
		return byteRange{}, false, nil
	}
	end := size - 1
	if last != "" {
		e, err := strconv.ParseInt(last, 10, 64)
		if err != nil || e < start {
			return byteRange{}, false, nil
		}
		end = min(e, size-1)
	}
	if start >= size {
		return byteRange{}, false, unsatisfiable
	}
	return byteRange{offset: start, length: end - start + 1}, true, nil
}

// parseCopySourceRange reads x-amz-copy-source-range ("bytes=a-b", both
// required), checked against the source size by the caller.
func parseCopySourceRange(header string) (offset, length int64, err error) {
	spec, found := strings.CutPrefix(header, "bytes=")
	first, last, found2 := strings.Cut(spec, "-")
	if !found || !found2 {
		return 0, 0, s3err.Newf(s3err.InvalidArgument, "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy")
	}
	a, err1 := strconv.ParseInt(first, 10, 64)
	b, err2 := strconv.ParseInt(last, 10, 64)
	if err1 != nil || err2 != nil || a < 0 || b < a {
		return 0, 0, s3err.Newf(s3err.InvalidArgument, "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy")
	}
	return a, b - a + 1, nil
}
