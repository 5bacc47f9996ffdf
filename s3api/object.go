package s3api

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"dewar/s3api/s3err"
	"dewar/s3api/s3xml"
)

// CanonicalID is the S3 canonical user id Dewar shows for an access key.
func CanonicalID(accessKey string) string {
	sum := sha256.Sum256([]byte("dewar-user:" + accessKey))
	return hex.EncodeToString(sum[:])
}

func (s *Server) putObject(q *request) error {
	if err := checkStorageClassAndACL(q.r.Header); err != nil {
		return err
	}
	cond, err := writeCondition(q.r.Header)
	if err != nil {
		return err
	}
	md, err := userMetadata(q.r.Header)
	if err != nil {
		return err
	}
	body, err := s.uploadBody(q)
	if err != nil {
		return err
	}
	res, err := s.cfg.Backend.PutObject(q.r.Context(), &PutObjectInput{
		Bucket: q.bucket, Key: q.key, Body: body,
		Headers: objectHeaders(q.r.Header), Metadata: md, Condition: cond,
	})
	if err != nil {
		return err
	}
	writePutResult(q.w.Header(), res)
	q.w.WriteHeader(http.StatusOK)
	return nil
}

func writePutResult(h http.Header, res *PutResult) {
	h.Set("ETag", quoteETag(res.ETag))
	writeChecksumHeaders(h, res.Checksums, res.ChecksumType)
	for k, v := range res.ResponseHeaders {
		setRaw(h, k, v)
	}
}

func (s *Server) headObject(q *request) error { return s.readObject(q, false) }
func (s *Server) getObject(q *request) error  { return s.readObject(q, true) }

// readAttempts bounds how often a GET starts over when the object is
// replaced under it (ErrObjectChanged).
const readAttempts = 3

// readObject serves GET and HEAD, starting over when the object changed
// between the lookup and the read (nothing has been sent by then).
func (s *Server) readObject(q *request, withBody bool) error {
	for attempt := 1; ; attempt++ {
		err := s.readObjectOnce(q, withBody)
		if !errors.Is(err, ErrObjectChanged) || attempt == readAttempts {
			return err
		}
	}
}

// readObjectOnce serves GET and HEAD: preconditions, then partNumber or
// Range, then (GET) opening the bytes, then headers, then the bytes.
func (s *Server) readObjectOnce(q *request, withBody bool) error {
	ctx := q.r.Context()
	obj, err := s.cfg.Backend.GetObject(ctx, q.bucket, q.key)
	if err != nil {
		return err
	}
	info := obj.Info
	if err := parsePreconditions(q.r.Header, false).check(info); err != nil {
		if e, _ := s3err.From(err); e.Code == s3err.NotModified {
			h := q.w.Header()
			h.Set("ETag", quoteETag(info.ETag))
			h.Set("Last-Modified", info.LastModified.UTC().Format(http.TimeFormat))
		}
		return err
	}

	status := http.StatusOK
	rng := byteRange{offset: 0, length: info.Size}
	partial := false
	query := q.r.URL.Query()
	if pn := query.Get("partNumber"); pn != "" {
		if q.r.Header.Get("Range") != "" {
			return s3err.Newf(s3err.InvalidRequest, "Cannot specify both Range header and partNumber query parameter")
		}
		n, err := strconv.Atoi(pn)
		if err != nil || n < 1 || n > 10000 {
			return s3err.Newf(s3err.InvalidArgument, "Part number must be an integer between 1 and 10000, inclusive").With("ArgumentName", "partNumber")
		}
		if rng, err = partRange(info, n); err != nil {
			return err
		}
		partial = len(info.PartSizes) > 0
	} else if br, ok, err := parseRange(q.r.Header.Get("Range"), info.Size); err != nil {
		return err
	} else if ok {
		rng, partial = br, true
	}

	// Open before any object header is set: when it fails, the error
	// response must not carry the object's ETag, checksums or metadata
	// (an SDK validates the error body against x-amz-checksum-*).
	var rc io.ReadCloser
	if withBody && rng.length > 0 {
		if rc, err = obj.Open(ctx, rng.offset, rng.length); err != nil {
			return err
		}
		defer rc.Close()
	}

	h := q.w.Header()
	writeObjectHeaders(h, info)
	if strings.EqualFold(q.r.Header.Get("X-Amz-Checksum-Mode"), "ENABLED") && !partial {
		writeChecksumHeaders(h, info.Checksums, info.ChecksumType)
	}
	responseOverrides(q) // HeadObject takes them too
	if partial {
		status = http.StatusPartialContent
		h.Set("Content-Range", "bytes "+strconv.FormatInt(rng.offset, 10)+"-"+strconv.FormatInt(rng.offset+rng.length-1, 10)+"/"+strconv.FormatInt(info.Size, 10))
	}
	h.Set("Content-Length", strconv.FormatInt(rng.length, 10))
	if !withBody {
		q.w.WriteHeader(status)
		return nil
	}
	q.w.WriteHeader(status)
	if rc != nil {
		if n, err := copyBody(q.w, rc); err != nil || n != rng.length {
			// The status line is gone; all we can do is cut the connection
			// short so the client sees a truncated body, never a short
			// "complete" one.
			s.log.WarnContext(ctx, "s3 body copy failed", "request_id", infoOf(ctx).ID, "sent", n, "want", rng.length, "err", err)
			panic(http.ErrAbortHandler)
		}
	}
	return nil
}

// partRange finds part n of an object: for a multipart object the part's
// bytes; for any other object part 1 is the whole object.
func partRange(info ObjectInfo, n int) (byteRange, error) {
	if len(info.PartSizes) == 0 {
		if n != 1 {
			return byteRange{}, s3err.New(s3err.InvalidPartNumber)
		}
		return byteRange{offset: 0, length: info.Size}, nil
	}
	if n > len(info.PartSizes) {
		return byteRange{}, s3err.New(s3err.InvalidPartNumber)
	}
	var off int64
	for _, sz := range info.PartSizes[:n-1] {
		off += sz
	}
	return byteRange{offset: off, length: info.PartSizes[n-1]}, nil
}

func (s *Server) deleteObject(q *request) error {
	if err := s.cfg.Backend.DeleteObject(q.r.Context(), q.bucket, q.key); err != nil {
		return err
	}
	q.w.WriteHeader(http.StatusNoContent)
	return nil
}

// copySource parses x-amz-copy-source ("bucket/key" or "/bucket/key",
// URL-encoded, optionally "?versionId=null").
func copySource(h http.Header) (bucket, key string, err error) {
	raw := h.Get("X-Amz-Copy-Source")
	src, query, _ := strings.Cut(raw, "?")
	if query != "" {
		v, perr := url.ParseQuery(query)
		if perr != nil || (v.Get("versionId") != "" && v.Get("versionId") != "null") {
			return "", "", s3err.Newf(s3err.InvalidArgument, "Versioned copy sources are not supported.").With("ArgumentName", "x-amz-copy-source")
		}
	}
	src, err = url.PathUnescape(src)
	if err != nil {
		return "", "", s3err.Newf(s3err.InvalidArgument, "Invalid copy source encoding.").With("ArgumentName", "x-amz-copy-source")
	}
	src = strings.TrimPrefix(src, "/")
	bucket, key, ok := strings.Cut(src, "/")
	if !ok || bucket == "" || key == "" {
		return "", "", s3err.Newf(s3err.InvalidArgument, "Copy Source must mention the source bucket and key: sourcebucket/sourcekey").With("ArgumentName", "x-amz-copy-source")
	}
	if err := checkKey(key); err != nil {
		return "", "", err
	}
	return bucket, key, nil
}

func (s *Server) copySourceOf(q *request) (CopySource, error) {
	b, k, err := copySource(q.r.Header)
	if err != nil {
		return CopySource{}, err
	}
	pre := parsePreconditions(q.r.Header, true)
	return CopySource{Bucket: b, Key: k, Check: pre.check}, nil
}

func (s *Server) copyObject(q *request) error {
	if err := checkStorageClassAndACL(q.r.Header); err != nil {
		return err
	}
	src, err := s.copySourceOf(q)
	if err != nil {
		return err
	}
	in := &CopyObjectInput{Bucket: q.bucket, Key: q.key, Source: src}
	switch d := q.r.Header.Get("X-Amz-Metadata-Directive"); d {
	case "", "COPY":
	case "REPLACE":
		in.ReplaceMetadata = true
		in.Headers = objectHeaders(q.r.Header)
		if in.Metadata, err = userMetadata(q.r.Header); err != nil {
			return err
		}
	default:
		return s3err.Newf(s3err.InvalidArgument, "Unknown metadata directive.").With("ArgumentName", "x-amz-metadata-directive")
	}
	if src.Bucket == q.bucket && src.Key == q.key && !in.ReplaceMetadata {
		return s3err.Newf(s3err.InvalidRequest, "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
	}
	res, err := s.cfg.Backend.CopyObject(q.r.Context(), in)
	if err != nil {
		return err
	}
	doc := s3xml.CopyObjectResult{Xmlns: s3xml.Namespace, LastModified: s3xml.Time(resultTime(res)), ETag: quoteETag(res.ETag), Checksums: xmlChecksums(res.Checksums)}
	for k, v := range res.ResponseHeaders {
		setRaw(q.w.Header(), k, v)
	}
	return writeXML(q.w, http.StatusOK, doc)
}

func resultTime(res *PutResult) time.Time {
	if res.LastModified.IsZero() {
		return time.Now()
	}
	return res.LastModified
}

func xmlChecksums(m map[string]string) s3xml.Checksums {
	return s3xml.Checksums{
		ChecksumCRC32:     m["CRC32"],
		ChecksumCRC32C:    m["CRC32C"],
		ChecksumCRC64NVME: m["CRC64NVME"],
		ChecksumSHA1:      m["SHA1"],
		ChecksumSHA256:    m["SHA256"],
	}
}

func checksumsFromXML(c s3xml.Checksums) map[string]string {
	m := map[string]string{}
	for alg, v := range map[string]string{
		"CRC32": c.ChecksumCRC32, "CRC32C": c.ChecksumCRC32C, "CRC64NVME": c.ChecksumCRC64NVME,
		"SHA1": c.ChecksumSHA1, "SHA256": c.ChecksumSHA256,
	} {
		if v != "" {
			m[alg] = v
		}
	}
	return m
}
