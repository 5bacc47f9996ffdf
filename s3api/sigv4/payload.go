package sigv4

import (
	"bytes"
	"errors"
	"fmt"
	"hash"
	"io"
)

// plainReader passes a non-chunked body through, turning transport
// failures into ErrIncompleteBody and, when h is set, comparing the sha256
// of the body with want at EOF.
type plainReader struct {
	src  io.Reader
	h    hash.Hash
	want []byte
	err  error
}

func (p *plainReader) Read(b []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	n, err := p.src.Read(b)
	if n > 0 && p.h != nil {
		p.h.Write(b[:n])
	}
	switch {
	case err == nil:
		return n, nil
	case err == io.EOF:
		if p.h != nil {
			var sum [32]byte
			if !bytes.Equal(p.h.Sum(sum[:0]), p.want) {
				err = fmt.Errorf("sigv4: body sha256 %x, signed %x: %w", sum, p.want, ErrContentSHA256Mismatch)
			}
		}
	default:
		err = incomplete(err)
	}
	p.err = err
	return n, err
}

// incomplete wraps a transport error from the request body as
// ErrIncompleteBody, keeping the cause (e.g. *http.MaxBytesError) reachable.
func incomplete(err error) error {
	if errors.Is(err, ErrIncompleteBody) {
		return err
	}
	return fmt.Errorf("sigv4: reading body: %w: %w", ErrIncompleteBody, err)
}
