package s3api

import (
	"io"
	"net/http"

	"dewar/s3api/checksum"
	"dewar/s3api/s3err"
)

// uploadBody prepares an upload's payload for the backend: it enforces the
// size limit, checks Content-MD5 and flexible checksums (headers or
// trailers) while streaming, and maps every read error to its S3 error, so
// a backend can return read errors unchanged.
func (s *Server) uploadBody(q *request, compute ...string) (Body, error) {
	want, err := checksum.WantFromHeader(q.r.Header)
	if err != nil {
		return Body{}, protocolError(err)
	}
	want.Trailer = q.auth.trailer
	for _, c := range compute {
		if c == "" {
			continue
		}
		alg, err := checksum.ParseAlgorithm(c)
		if err != nil {
			return Body{}, protocolError(err)
		}
		want.Compute = append(want.Compute, alg)
	}
	size := q.auth.size
	// An unstated length is fine when the framing ends the body: chunked
	// transfer coding on HTTP/1.1, END_STREAM on HTTP/2 (which has no
	// Transfer-Encoding, and where the Go SDK sends no Content-Length for
	// streams of unknown length).
	if size < 0 && len(q.r.TransferEncoding) == 0 && q.r.ProtoMajor < 2 {
		return Body{}, s3err.New(s3err.MissingContentLength)
	}
	if size > s.bodies.maxObject {
		return Body{}, s3err.New(s3err.EntityTooLarge)
	}
	src := q.auth.body
	if size < 0 {
		src = http.MaxBytesReader(nil, io.NopCloser(src), s.bodies.maxObject)
	}
	cr := checksum.NewReader(src, want)
	q.closers = append(q.closers, func() { cr.Close() })
	return Body{
		Reader:        &mappedReader{r: cr},
		Size:          size,
		ContentSHA256: q.auth.contentSHA256,
		Sums: func() BodySums {
			sums := BodySums{MD5: cr.MD5(), Checksums: map[string]string{}}
			for alg, v := range cr.Sums() {
				sums.Checksums[string(alg)] = v
			}
			return sums
		},
	}, nil
}

// mappedReader turns read errors into S3 errors.
type mappedReader struct{ r io.Reader }

func (m *mappedReader) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	if err != nil && err != io.EOF {
		err = bodyError(err)
	}
	return n, err
}
