package filestore

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"dewar/cas"
)

// zstReader reads a range of a compressed blob. It decodes one frame at a
// time into a buffer it keeps, so sequential reads decode each frame once
// and a read starting mid-blob decodes only from the frame holding its
// first byte. Read, ReadAt, Seek and WriteTo are safe for concurrent use
// (they take turns).
type zstReader struct {
	ref   cas.Ref
	f     *os.File
	h     header
	start int64 // first byte of the range, in original bytes
	n     int64 // length of the range

	mu  sync.Mutex
	pos int64  // Read's position within the range
	cur int64  // index of the frame held in buf, -1 for none
	buf []byte // the decoded frame cur
	// bp and zp are the pooled buffers for the decoded and the compressed
	// frame; nil after Close.
	bp, zp *[]byte
	// decoded counts frames decoded, for tests.
	decoded int
}

func newZstReader(ref cas.Ref, f *os.File, h header, start, n int64) *zstReader {
	return &zstReader{
		ref: ref, f: f, h: h, start: start, n: n, cur: -1,
		bp: frameBufs.Get().(*[]byte),
		zp: storedBufs.Get().(*[]byte),
	}
}

// errSeek is returned for a seek before the start of the range.
var errSeek = errors.New("filestore: seek before the start of the range")

func (r *zstReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, err := r.readAt(p, r.pos)
	r.pos += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// ReadAt reads at off within the range, as io.SectionReader does.
func (r *zstReader) ReadAt(p []byte, off int64) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.readAt(p, off)
}

func (r *zstReader) readAt(p []byte, off int64) (int, error) {
	if r.bp == nil {
		return 0, os.ErrClosed
	}
	if off < 0 {
		return 0, errSeek
	}
	if off >= r.n {
		return 0, io.EOF
	}
	want := len(p)
	if int64(want) > r.n-off {
		p = p[:r.n-off]
	}
	done := 0
	for done < len(p) {
		b, err := r.frameAt(r.start + off + int64(done))
		if err != nil {
			return done, err
		}
		done += copy(p[done:], b)
	}
	if done < want {
		return done, io.EOF
	}
	return done, nil
}

// frameAt returns the decoded bytes from original offset abs to the end of
// the frame holding it, decoding that frame unless it is the one held.
func (r *zstReader) frameAt(abs int64) ([]byte, error) {
	i := abs / r.h.frameSize
	if i != r.cur {
		r.cur = -1
		b, err := r.h.readFrame(r.f, i, *r.bp, *r.zp)
		if err != nil {
			return nil, fmt.Errorf("filestore: fetch %s: %w", r.ref, err)
		}
		r.buf, r.cur = b, i
		r.decoded++
	}
	return r.buf[abs-i*r.h.frameSize:], nil
}

// Seek moves Read's position within the range, as io.SectionReader does.
func (r *zstReader) Seek(offset int64, whence int) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch whence {
	case io.SeekCurrent:
		offset += r.pos
	case io.SeekEnd:
		offset += r.n
	case io.SeekStart:
	default:
		return 0, fmt.Errorf("filestore: seek: bad whence %d", whence)
	}
	if offset < 0 {
		return 0, errSeek
	}
	r.pos = offset
	return offset, nil
}

// Size returns the length of the range.
func (r *zstReader) Size() int64 { return r.n }

// WriteTo writes the rest of the range to w, a decoded frame (or the part
// of one in the range) per Write, without copying it first.
func (r *zstReader) WriteTo(w io.Writer) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bp == nil {
		return 0, os.ErrClosed
	}
	var total int64
	for r.pos < r.n {
		b, err := r.frameAt(r.start + r.pos)
		if err != nil {
			return total, err
		}
		if rest := r.n - r.pos; int64(len(b)) > rest {
			b = b[:rest]
		}
		m, err := w.Write(b)
		r.pos += int64(m)
		total += int64(m)
		if err != nil {
			return total, err
		}
		if m < len(b) {
			return total, io.ErrShortWrite
		}
	}
	return total, nil
}

// Close closes the file and returns the buffers to their pools.
func (r *zstReader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bp == nil {
		return nil
	}
	frameBufs.Put(r.bp)
	storedBufs.Put(r.zp)
	r.bp, r.zp, r.buf = nil, nil, nil
	return r.f.Close()
}
