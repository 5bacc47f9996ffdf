package s3api

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"dewar/s3api/checksum"
	"dewar/s3api/s3err"
	"dewar/s3api/s3xml"
)

// maxParts is S3's limit on parts per upload.
const maxParts = 10000

func (s *Server) createMultipartUpload(q *request) error {
	if err := checkStorageClassAndACL(q.r.Header); err != nil {
		return err
	}
	md, err := userMetadata(q.r.Header)
	if err != nil {
		return err
	}
	alg := q.r.Header.Get("X-Amz-Checksum-Algorithm")
	if alg != "" {
		a, err := checksum.ParseAlgorithm(alg)
		if err != nil {
			return protocolError(err)
		}
		alg = string(a)
	}
	if t := q.r.Header.Get("X-Amz-Checksum-Type"); t != "" && t != "COMPOSITE" {
		return s3err.Newf(s3err.InvalidRequest, "Only the COMPOSITE checksum type is supported for multipart uploads.")
	}
	id, err := s.cfg.Backend.CreateMultipartUpload(q.r.Context(), &CreateMultipartUploadInput{
		Bucket: q.bucket, Key: q.key, Headers: objectHeaders(q.r.Header), Metadata: md, ChecksumAlgorithm: alg,
	})
	if err != nil {
		return err
	}
	if alg != "" {
		setRaw(q.w.Header(), "x-amz-checksum-algorithm", alg)
		setRaw(q.w.Header(), "x-amz-checksum-type", "COMPOSITE")
	}
	return writeXML(q.w, http.StatusOK, s3xml.InitiateMultipartUploadResult{
		Xmlns: s3xml.Namespace, Bucket: q.bucket, Key: q.key, UploadID: id,
	})
}

func partNumber(q *request) (int, error) {
	v := q.r.URL.Query().Get("partNumber")
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxParts {
		return 0, s3err.Newf(s3err.InvalidArgument, "Part number must be an integer between 1 and 10000, inclusive").With("ArgumentName", "partNumber").With("ArgumentValue", v)
	}
	return n, nil
}

func (s *Server) uploadPart(q *request) error {
	n, err := partNumber(q)
	if err != nil {
		return err
	}
	body, err := s.uploadBody(q)
	if err != nil {
		return err
	}
	res, err := s.cfg.Backend.UploadPart(q.r.Context(), &UploadPartInput{
		Bucket: q.bucket, Key: q.key, UploadID: q.r.URL.Query().Get("uploadId"), PartNumber: n, Body: body,
	})
	if err != nil {
		return err
	}
	writePutResult(q.w.Header(), res)
	q.w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) uploadPartCopy(q *request) error {
	n, err := partNumber(q)
	if err != nil {
		return err
	}
	src, err := s.copySourceOf(q)
	if err != nil {
		return err
	}
	in := &UploadPartCopyInput{
		Bucket: q.bucket, Key: q.key, UploadID: q.r.URL.Query().Get("uploadId"), PartNumber: n,
		Source: src, Length: -1,
	}
	if rng := q.r.Header.Get("X-Amz-Copy-Source-Range"); rng != "" {
		if in.Offset, in.Length, err = parseCopySourceRange(rng); err != nil {
			return err
		}
	}
	res, err := s.cfg.Backend.UploadPartCopy(q.r.Context(), in)
	if err != nil {
		return err
	}
	return writeXML(q.w, http.StatusOK, s3xml.CopyPartResult{
		Xmlns: s3xml.Namespace, LastModified: s3xml.Time(resultTime(res)), ETag: quoteETag(res.ETag),
		Checksums: xmlChecksums(res.Checksums),
	})
}

// completeKeepAlive is how long CompleteMultipartUpload may work before
// the response starts with whitespace, as S3 does, so clients' read
// timeouts do not fire while a large object is assembled.
const completeKeepAlive = 2 * time.Second

func (s *Server) completeMultipartUpload(q *request) error {
	cond, err := writeCondition(q.r.Header)
	if err != nil {
		return err
	}
	var doc s3xml.CompleteMultipartUpload
	if err := readXML(q, &doc, true); err != nil {
		return err
	}
	if len(doc.Parts) == 0 {
		return s3err.Newf(s3err.MalformedXML, "You must specify at least one part")
	}
	if len(doc.Parts) > maxParts {
		return s3err.Newf(s3err.MalformedXML, "Too many parts")
	}
	in := &CompleteMultipartUploadInput{Bucket: q.bucket, Key: q.key, UploadID: q.r.URL.Query().Get("uploadId"), Condition: cond}
	for i, p := range doc.Parts {
		if i > 0 && p.PartNumber <= doc.Parts[i-1].PartNumber {
			return s3err.New(s3err.InvalidPartOrder)
		}
		in.Parts = append(in.Parts, CompletePart{Number: p.PartNumber, ETag: strings.Trim(p.ETag, `"`), Checksums: checksumsFromXML(p.Checksums)})
	}

	type outcome struct {
		res *PutResult
		err error
	}
	done := make(chan outcome, 1)
	ctx := q.r.Context()
	go func() {
		res, err := s.cfg.Backend.CompleteMultipartUpload(ctx, in)
		done <- outcome{res, err}
	}()
	var out outcome
	started := false
	timer := time.NewTimer(completeKeepAlive)
	defer timer.Stop()
	for waiting := true; waiting; {
		select {
		case out = <-done:
			waiting = false
		case <-timer.C:
			if !started {
				started = true
				q.w.Header().Set("Content-Type", "application/xml")
				q.w.WriteHeader(http.StatusOK)
				fmt.Fprint(q.w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
			} else {
				fmt.Fprint(q.w, " ")
			}
			http.NewResponseController(q.w).Flush()
			timer.Reset(10 * time.Second)
		}
	}
	var body any
	if out.err != nil {
		if !started {
			return out.err
		}
		// Headers are gone: S3 sends the error document with status 200,
		// and SDKs look for it.
		e, known := s3err.From(out.err)
		if !known {
			s.log.ErrorContext(ctx, "complete multipart upload failed", "request_id", infoOf(ctx).ID, "err", out.err)
		}
		raw := s3err.Body(e, q.r.URL.EscapedPath(), infoOf(ctx).ID, s.cfg.HostID)
		_, _ = q.w.Write(raw[len(`<?xml version="1.0" encoding="UTF-8"?>`)+1:])
		return nil
	}
	res := out.res
	doc2 := s3xml.CompleteMultipartUploadResult{
		Xmlns: s3xml.Namespace, Location: "/" + q.bucket + "/" + q.key, Bucket: q.bucket, Key: q.key,
		ETag: quoteETag(res.ETag), Checksums: xmlChecksums(res.Checksums),
	}
	if len(res.Checksums) > 0 {
		doc2.ChecksumType = res.ChecksumType
	}
	body = doc2
	if !started {
		for k, v := range res.ResponseHeaders {
			setRaw(q.w.Header(), k, v)
		}
		return writeXML(q.w, http.StatusOK, body)
	}
	return writeXMLContinued(q.w, body)
}

func (s *Server) abortMultipartUpload(q *request) error {
	if err := s.cfg.Backend.AbortMultipartUpload(q.r.Context(), q.bucket, q.key, q.r.URL.Query().Get("uploadId")); err != nil {
		return err
	}
	q.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listParts(q *request) error {
	query := q.r.URL.Query()
	max, err := maxKeysParam(query, "max-parts")
	if err != nil {
		return err
	}
	after := 0
	if v := query.Get("part-number-marker"); v != "" {
		if after, err = strconv.Atoi(v); err != nil || after < 0 {
			return s3err.Newf(s3err.InvalidArgument, "Invalid part-number-marker").With("ArgumentName", "part-number-marker")
		}
	}
	out, err := s.cfg.Backend.ListParts(q.r.Context(), &ListPartsInput{
		Bucket: q.bucket, Key: q.key, UploadID: query.Get("uploadId"), After: after, Max: max,
	})
	if err != nil {
		return err
	}
	owner := xmlOwner(out.Owner)
	init := s3xml.Initiator(owner)
	res := s3xml.ListPartsResult{
		Xmlns: s3xml.Namespace, Bucket: q.bucket, Key: q.key, UploadID: query.Get("uploadId"),
		Initiator: &init, Owner: &owner, StorageClass: "STANDARD",
		PartNumberMarker: after, MaxParts: max, IsTruncated: out.Truncated,
		ChecksumAlgorithm: out.ChecksumAlgorithm,
	}
	if out.ChecksumAlgorithm != "" {
		res.ChecksumType = "COMPOSITE"
	}
	for _, p := range out.Parts {
		res.Parts = append(res.Parts, s3xml.Part{
			PartNumber: p.Number, LastModified: s3xml.Time(p.LastModified), ETag: quoteETag(p.ETag), Size: p.Size,
			Checksums: xmlChecksums(p.Checksums),
		})
		res.NextPartNumberMarker = p.Number
	}
	return writeXML(q.w, http.StatusOK, res)
}

func (s *Server) listMultipartUploads(q *request) error {
	query := q.r.URL.Query()
	p, err := readListParams(query, "max-uploads")
	if err != nil {
		return err
	}
	in := &ListUploadsInput{
		Bucket: q.bucket, Prefix: p.prefix, Delimiter: p.delimiter,
		KeyMarker: query.Get("key-marker"), UploadIDMarker: query.Get("upload-id-marker"), Max: p.max,
	}
	if in.KeyMarker == "" {
		in.UploadIDMarker = "" // S3 ignores upload-id-marker without key-marker
	}
	out := &ListUploadsOutput{}
	if p.max > 0 {
		if out, err = s.cfg.Backend.ListMultipartUploads(q.r.Context(), in); err != nil {
			return err
		}
	} else if err := s.cfg.Backend.HeadBucket(q.r.Context(), q.bucket); err != nil {
		return err
	}
	res := s3xml.ListMultipartUploadsResult{
		Xmlns: s3xml.Namespace, Bucket: q.bucket, KeyMarker: p.enc(in.KeyMarker), UploadIDMarker: in.UploadIDMarker,
		Prefix: p.enc(p.prefix), Delimiter: p.enc(p.delimiter), MaxUploads: p.max, IsTruncated: out.Truncated,
		CommonPrefixes: p.xmlPrefixes(out.CommonPrefixes),
	}
	if out.Truncated {
		res.NextKeyMarker = p.enc(out.NextKeyMarker)
		res.NextUploadIDMarker = out.NextUploadIDMarker
	}
	if p.encode {
		res.EncodingType = "url"
	}
	for _, u := range out.Uploads {
		owner := xmlOwner(u.Owner)
		init := s3xml.Initiator(owner)
		res.Uploads = append(res.Uploads, s3xml.Upload{
			Key: p.enc(u.Key), UploadID: u.UploadID, Initiator: &init, Owner: &owner,
			StorageClass: "STANDARD", Initiated: s3xml.Time(u.Initiated), ChecksumAlgorithm: u.ChecksumAlgorithm,
		})
	}
	return writeXML(q.w, http.StatusOK, res)
}

// AssembleParts checks a CompleteMultipartUpload request against the
// stored parts (every named part exists with that ETag and, when given,
// those checksums; every part but the last is at least minPartSize) and
// returns the stored parts in request order. Backends share it so the S3
// rules live in one place.
func AssembleParts(requested []CompletePart, stored map[int]PartInfo, minPartSize int64) ([]PartInfo, error) {
	out := make([]PartInfo, 0, len(requested))
	for i, rp := range requested {
		sp, ok := stored[rp.Number]
		if !ok || sp.ETag != rp.ETag {
			return nil, s3err.New(s3err.InvalidPart).With("PartNumber", strconv.Itoa(rp.Number)).With("ETag", rp.ETag)
		}
		for alg, v := range rp.Checksums {
			if got, ok := sp.Checksums[alg]; !ok || got != v {
				return nil, s3err.Newf(s3err.InvalidPart, "The %s checksum of part %d does not match the uploaded part.", strings.ToLower(alg), rp.Number).With("PartNumber", strconv.Itoa(rp.Number))
			}
		}
		if i < len(requested)-1 && sp.Size < minPartSize {
			return nil, s3err.New(s3err.EntityTooSmall).
				With("ProposedSize", strconv.FormatInt(sp.Size, 10)).
				With("MinSizeAllowed", strconv.FormatInt(minPartSize, 10)).
				With("PartNumber", strconv.Itoa(rp.Number)).
				With("ETag", rp.ETag)
		}
		out = append(out, sp)
	}
	return out, nil
}

// MultipartETag is S3's ETag of a multipart object: the hex MD5 of the
// concatenated binary part MD5s, then "-" and the part count.
func MultipartETag(parts []PartInfo) (string, error) {
	h := md5.New()
	for _, p := range parts {
		b, err := hex.DecodeString(p.ETag)
		if err != nil || len(b) != md5.Size {
			return "", fmt.Errorf("s3api: part %d has a non-MD5 ETag %q", p.Number, p.ETag)
		}
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)) + "-" + strconv.Itoa(len(parts)), nil
}

// CompositeChecksum is the COMPOSITE checksum of a multipart object for
// alg, from each part's checksum; "" when a part lacks one.
func CompositeChecksum(alg string, parts []PartInfo) (string, error) {
	a, err := checksum.ParseAlgorithm(alg)
	if err != nil {
		return "", err
	}
	values := make([]string, 0, len(parts))
	for _, p := range parts {
		v, ok := p.Checksums[string(a)]
		if !ok {
			return "", nil
		}
		values = append(values, v)
	}
	return checksum.Composite(a, values)
}
