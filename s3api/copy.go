package s3api

import (
	"encoding/xml"
	"io"
	"net/http"
	"sync"
)

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// copyBody streams an object to the client with a pooled buffer. When the
// reader is backed by a file (io.WriterTo not in the way), net/http's
// ReadFrom can use sendfile.
func copyBody(w http.ResponseWriter, r io.Reader) (int64, error) {
	if rf, ok := w.(io.ReaderFrom); ok {
		if _, isFileLike := r.(interface{ Fd() uintptr }); isFileLike {
			return rf.ReadFrom(r)
		}
	}
	bp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bp)
	return io.CopyBuffer(struct{ io.Writer }{w}, struct{ io.Reader }{r}, *bp)
}

// writeXMLContinued finishes a response whose status and XML declaration
// were already sent.
func writeXMLContinued(w http.ResponseWriter, v any) error {
	out, err := xml.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(out)
	return err
}
