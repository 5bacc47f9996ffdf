package s3api

import (
	"io"
	"net/http"

	"dewar/s3api/checksum"
	"dewar/s3api/s3err"
	"dewar/s3api/s3xml"
)

// maxDeleteKeys is S3's limit per DeleteObjects request.
const maxDeleteKeys = 1000

// deleteObjects handles POST ?delete. Content-MD5 is checked when sent but
// not required: botocore sends only x-amz-checksum-crc32.
func (s *Server) deleteObjects(q *request) error {
	want, err := checksum.WantFromHeader(q.r.Header)
	if err != nil {
		return protocolError(err)
	}
	want.Trailer = q.auth.trailer
	q.auth.body = &mappedReader{r: checksum.NewReader(q.auth.body, want)}
	var doc s3xml.Delete
	if err := readXML(q, &doc, true); err != nil {
		return err
	}
	// Drain to EOF so the checksum reader has compared its digests.
	if _, err := io.Copy(io.Discard, q.auth.body); err != nil {
		return err
	}
	if len(doc.Objects) > maxDeleteKeys {
		return s3err.Newf(s3err.MalformedXML, "The request must contain no more than 1000 keys.")
	}
	if err := s.cfg.Backend.HeadBucket(q.r.Context(), q.bucket); err != nil {
		return err
	}
	res := s3xml.DeleteResult{Xmlns: s3xml.Namespace}
	for _, o := range doc.Objects {
		err := checkKey(o.Key)
		if err == nil && o.VersionID != "" && o.VersionID != "null" {
			err = s3err.Newf(s3err.NoSuchKey, "The specified version does not exist.")
		}
		if err == nil {
			err = s.cfg.Backend.DeleteObject(q.r.Context(), q.bucket, o.Key)
		}
		if err != nil {
			e, known := s3err.From(err)
			if !known {
				s.log.ErrorContext(q.r.Context(), "delete failed", "request_id", infoOf(q.r.Context()).ID, "key", o.Key, "err", err)
			}
			res.Errors = append(res.Errors, s3xml.DeleteError{Key: o.Key, Code: string(e.Code), Message: e.Message})
			continue
		}
		if !doc.Quiet {
			res.Deleted = append(res.Deleted, s3xml.DeletedObject{Key: o.Key})
		}
	}
	return writeXML(q.w, http.StatusOK, res)
}
