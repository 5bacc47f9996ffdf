package s3api

import (
	"encoding/xml"
	"io"
	"net/http"
	"sync"
)

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// copyBody streams an object to the client. A reader that can write
// itself (the file store's, which hands its *os.File on) goes straight to
// the connection, so net/http can use sendfile; others get a pooled buffer.
func copyBody(w http.ResponseWriter, r io.Reader) (int64, error) {
	if wt, ok := r.(io.WriterTo); ok {
		return wt.WriteTo(w)
	}
	bp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bp)
	return io.CopyBuffer(struct{ io.Writer }{w}, r, *bp)
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
