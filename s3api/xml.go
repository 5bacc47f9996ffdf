package s3api

import (
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strconv"

	"dewar/s3api/s3err"
)

// maxXMLBody bounds request documents (DeleteObjects with 1000 keys of
// 1024 bytes is about 1.1 MiB; CompleteMultipartUpload with 10000 parts
// about 1.5 MiB).
const maxXMLBody = 4 << 20

// writeXML sends v as an XML document with the declaration.
func writeXML(w http.ResponseWriter, status int, v any) error {
	out, err := xml.Marshal(v)
	if err != nil {
		return err
	}
	body := append([]byte(xml.Header), out...)
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
	return nil
}

// readXML decodes a request document from the verified body into v.
// An empty body is MissingRequestBodyError when required; garbage is
// MalformedXML.
func readXML(q *request, v any, required bool) error {
	data, err := io.ReadAll(io.LimitReader(q.auth.body, maxXMLBody+1))
	if err != nil {
		return bodyError(err)
	}
	if len(data) > maxXMLBody {
		return s3err.Newf(s3err.MalformedXML, "The XML you provided was too large.")
	}
	if len(data) == 0 {
		if required {
			return s3err.New(s3err.MissingRequestBodyError)
		}
		return errEmptyBody
	}
	if err := xml.Unmarshal(data, v); err != nil {
		return s3err.Wrap(s3err.MalformedXML, err)
	}
	return nil
}

var errEmptyBody = errors.New("s3api: empty body")
