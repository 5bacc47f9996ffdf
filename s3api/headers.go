package s3api

import (
	"net/http"
	"strconv"
	"strings"

	"dewar/s3api/checksum"
	"dewar/s3api/s3err"
)

// maxUserMetadata is S3's limit on the total size of x-amz-meta-* names and values.
const maxUserMetadata = 2048

// objectHeaders reads the standard headers S3 stores with an object.
func objectHeaders(h http.Header) ObjectHeaders {
	return ObjectHeaders{
		ContentType:        h.Get("Content-Type"),
		ContentEncoding:    contentEncoding(h),
		ContentDisposition: h.Get("Content-Disposition"),
		ContentLanguage:    h.Get("Content-Language"),
		CacheControl:       h.Get("Cache-Control"),
		Expires:            h.Get("Expires"),
	}
}

// contentEncoding drops the "aws-chunked" transfer coding, which describes
// the request framing, not the object.
func contentEncoding(h http.Header) string {
	var keep []string
	for _, v := range h.Values("Content-Encoding") {
		for _, part := range strings.Split(v, ",") {
			part = strings.TrimSpace(part)
			if part != "" && !strings.EqualFold(part, "aws-chunked") {
				keep = append(keep, part)
			}
		}
	}
	return strings.Join(keep, ",")
}

// userMetadata collects x-amz-meta-* headers under lowercase names without
// the prefix (names arrive in any case: rclone sends X-Amz-Meta-Mtime).
func userMetadata(h http.Header) (map[string]string, error) {
	md := map[string]string{}
	total := 0
	for name, values := range h {
		lower := strings.ToLower(name)
		if !strings.HasPrefix(lower, "x-amz-meta-") || len(values) == 0 {
			continue
		}
		k := strings.TrimPrefix(lower, "x-amz-meta-")
		v := strings.Join(values, ",")
		md[k] = v
		total += len(k) + len(v)
	}
	if total > maxUserMetadata {
		return nil, s3err.New(s3err.MetadataTooLarge)
	}
	return md, nil
}

// checkStorageClassAndACL accepts what clients send by default
// (x-amz-storage-class: STANDARD, x-amz-acl: private) and refuses what
// Dewar cannot honour.
func checkStorageClassAndACL(h http.Header) error {
	if sc := h.Get("X-Amz-Storage-Class"); sc != "" && sc != "STANDARD" {
		return s3err.Newf(s3err.InvalidStorageClass, "The storage class %q is not supported; only STANDARD is.", sc)
	}
	if acl := h.Get("X-Amz-Acl"); acl != "" && acl != "private" && acl != "bucket-owner-full-control" {
		return s3err.Newf(s3err.NotImplemented, "Only the private canned ACL is supported.")
	}
	for _, g := range []string{"X-Amz-Grant-Read", "X-Amz-Grant-Write", "X-Amz-Grant-Full-Control", "X-Amz-Grant-Read-Acp", "X-Amz-Grant-Write-Acp"} {
		if h.Get(g) != "" {
			return s3err.Newf(s3err.NotImplemented, "ACL grants are not supported.")
		}
	}
	if h.Get("X-Amz-Server-Side-Encryption-Customer-Algorithm") != "" {
		return s3err.Newf(s3err.NotImplemented, "Server-side encryption with customer keys is not supported.")
	}
	return nil
}

// writeCondition reads an S3 conditional write: If-None-Match: * (create
// only, as Terraform's S3 lock files use) or If-Match: <etag> (compare and
// swap). Backends check it atomically with the write; S3 accepts no other
// If-None-Match value on writes.
func writeCondition(h http.Header) (WriteCondition, error) {
	var c WriteCondition
	if v := h.Get("If-None-Match"); v != "" {
		if strings.TrimSpace(v) != "*" {
			return c, s3err.Newf(s3err.NotImplemented, "Only If-None-Match: * is supported on writes.")
		}
		c.IfNoneMatch = true
	}
	if v := strings.TrimSpace(h.Get("If-Match")); v != "" {
		c.IfMatch = strings.Trim(strings.TrimPrefix(v, "W/"), `"`)
	}
	return c, nil
}

// setRaw sets a header under exactly the given name. Go's Header.Set would
// canonicalise "x-amz-meta-notes" to "X-Amz-Meta-Notes", and botocore builds
// Metadata keys from the names as they arrive.
func setRaw(h http.Header, name, value string) { h[name] = []string{value} }

func quoteETag(etag string) string { return `"` + etag + `"` }

// writeObjectHeaders sets the headers GET and HEAD send for info.
func writeObjectHeaders(h http.Header, info ObjectInfo) {
	ct := info.Headers.ContentType
	if ct == "" {
		ct = "binary/octet-stream"
	}
	h.Set("Content-Type", ct)
	for name, v := range map[string]string{
		"Content-Encoding":    info.Headers.ContentEncoding,
		"Content-Disposition": info.Headers.ContentDisposition,
		"Content-Language":    info.Headers.ContentLanguage,
		"Cache-Control":       info.Headers.CacheControl,
		"Expires":             info.Headers.Expires,
	} {
		if v != "" {
			h.Set(name, v)
		}
	}
	h.Set("ETag", quoteETag(info.ETag))
	h.Set("Last-Modified", info.LastModified.UTC().Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
	for k, v := range info.Metadata {
		setRaw(h, "x-amz-meta-"+k, v)
	}
	if n := len(info.PartSizes); n > 0 {
		setRaw(h, "x-amz-mp-parts-count", strconv.Itoa(n))
	}
	for k, v := range info.ResponseHeaders {
		setRaw(h, k, v)
	}
}

// writeChecksumHeaders sets x-amz-checksum-* and x-amz-checksum-type.
func writeChecksumHeaders(h http.Header, sums map[string]string, typ string) {
	for alg, v := range sums {
		a, err := checksum.ParseAlgorithm(alg)
		if err != nil {
			continue
		}
		setRaw(h, a.HeaderName(), v)
	}
	if len(sums) > 0 && typ != "" {
		setRaw(h, "x-amz-checksum-type", typ)
	}
}

// responseOverrides applies response-content-type and friends (GET and HEAD).
func responseOverrides(q *request) {
	query := q.r.URL.Query()
	for param, header := range map[string]string{
		"response-content-type":        "Content-Type",
		"response-content-language":    "Content-Language",
		"response-expires":             "Expires",
		"response-cache-control":       "Cache-Control",
		"response-content-disposition": "Content-Disposition",
		"response-content-encoding":    "Content-Encoding",
	} {
		if v := query.Get(param); v != "" {
			q.w.Header().Set(header, v)
		}
	}
}
