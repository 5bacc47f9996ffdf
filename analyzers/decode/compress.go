package decode

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"io"
)

// The decompressors are kept in the state and Reset for each stream: a
// fresh flate reader costs ~40 KiB, and a kit has a compressed candidate
// every few KiB.
type inflaters struct {
	src bytes.Reader
	fl  io.ReadCloser
	zl  io.ReadCloser
	gz  *gzip.Reader
}

func (sc *scanner) unflate(b []byte) ([]byte, bool) {
	z := &sc.s.inflaters
	z.src.Reset(b)
	if z.fl == nil {
		z.fl = flate.NewReader(&z.src)
	} else if err := z.fl.(flate.Resetter).Reset(&z.src, nil); err != nil {
		return nil, false
	}
	return readCapped(z.fl, sc.s.left)
}

func (sc *scanner) unzlib(b []byte) ([]byte, bool) {
	z := &sc.s.inflaters
	z.src.Reset(b)
	var err error
	if z.zl == nil {
		z.zl, err = zlib.NewReader(&z.src)
	} else {
		err = z.zl.(zlib.Resetter).Reset(&z.src, nil)
	}
	if err != nil {
		z.zl = nil // a failed NewReader returns nothing to reuse
		return nil, false
	}
	return readCapped(z.zl, sc.s.left)
}

func (sc *scanner) gunzip(b []byte) ([]byte, bool) {
	z := &sc.s.inflaters
	z.src.Reset(b)
	if z.gz == nil {
		z.gz = new(gzip.Reader)
	}
	if err := z.gz.Reset(&z.src); err != nil {
		return nil, false
	}
	z.gz.Multistream(false)
	return readCapped(z.gz, sc.s.left)
}

// readCapped reads r to its end or to limit bytes. A stream that breaks
// before either is not trusted: random bytes inflate to a little garbage
// before an error.
func readCapped(r io.Reader, limit int) ([]byte, bool) {
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r, int64(limit)))
	if err != nil {
		return nil, false
	}
	return buf.Bytes(), n > 0
}
