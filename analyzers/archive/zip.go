package archive

import (
	"archive/zip"
	"bytes"
	"compress/bzip2"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Zip compression methods beyond store and deflate that the walker decodes.
const (
	zipStore   = 0
	zipDeflate = 8
	zipBzip2   = 12
	zipZstd    = 93
	zipXz      = 95
	zipAES     = 99
)

// maxLinkTarget bounds a link target stored as entry content.
const maxLinkTarget = 4096

// walkZip walks a zip through its central directory, in directory order.
// Without a readable central directory (a truncated download), it falls back
// to scanning local headers from the start and ends with ErrCorrupt.
func (w *walker) walkZip(src io.ReaderAt, size int64, lv *level) error {
	if e, ok := findEOCD(src, size); ok {
		if err := w.entriesFit(e.records); err != nil {
			return err
		}
	}
	zr, err := zip.NewReader(src, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		head := make([]byte, 4)
		if _, rerr := src.ReadAt(head, 0); rerr == nil && bytes.Equal(head, magicZip) {
			return w.scanZip(src, size, lv, err)
		}
		return corrupt("zip", err)
	}
	if err := w.entriesFit(uint64(len(zr.File))); err != nil {
		return err
	}
	zr.RegisterDecompressor(zipBzip2, func(r io.Reader) io.ReadCloser { return io.NopCloser(bzip2.NewReader(r)) })
	zr.RegisterDecompressor(zipZstd, zstdReadCloser)
	zr.RegisterDecompressor(zipXz, xzReadCloser)
	if err := checkOverlap(zr, size); err != nil {
		return err
	}
	for _, f := range zr.File {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		if err := w.zipEntry(lv, f); err != nil {
			return err
		}
	}
	return nil
}

// entriesFit fails early when an archive declares more entries than the
// walk may still deliver, before its directory is parsed into memory.
func (w *walker) entriesFit(n uint64) error {
	m := w.lim.MaxEntries
	if m > 0 && n > uint64(m-w.res.Entries) {
		return &LimitError{Limit: LimitEntries, Value: int64(min(n, 1<<62)) + int64(w.res.Entries), Max: int64(m)}
	}
	return nil
}

// checkOverlap rejects zips whose entries' compressed data overlap (the
// overlapping-entry bomb) or point past the end of the file.
func checkOverlap(zr *zip.Reader, size int64) error {
	type span struct{ off, end int64 }
	spans := make([]span, 0, len(zr.File))
	for _, f := range zr.File {
		if f.CompressedSize64 == 0 {
			continue
		}
		off, err := f.DataOffset()
		if err != nil {
			return corrupt(f.Name, err)
		}
		end := off + int64(f.CompressedSize64)
		if f.CompressedSize64 > uint64(size) || end > size || off < 0 {
			return corrupt(f.Name, io.ErrUnexpectedEOF)
		}
		spans = append(spans, span{off, end})
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].off < spans[j].off })
	for i := 1; i < len(spans); i++ {
		if spans[i].off < spans[i-1].end {
			return fmt.Errorf("archive: zip data at %d overlaps %d..%d: %w", spans[i].off, spans[i-1].off, spans[i-1].end, ErrOverlap)
		}
	}
	return nil
}

func (w *walker) zipEntry(lv *level, f *zip.File) error {
	e := Entry{ModTime: f.Modified, Size: int64(min(f.UncompressedSize64, 1<<62))}
	mode := f.Mode()
	switch {
	case mode.IsDir():
		e.Type = Dir
		return w.emitMeta(lv, e, f.Name)
	case mode&(fs.ModeDevice|fs.ModeCharDevice|fs.ModeNamedPipe|fs.ModeSocket|fs.ModeIrregular) != 0:
		e.Type = Other
		return w.emitMeta(lv, e, f.Name)
	}
	var body io.ReadCloser
	if f.Flags&1 != 0 {
		e.Encrypted = true
		r, err := w.openEncrypted(lv, f)
		switch {
		case errors.Is(err, ErrPassword), errors.Is(err, ErrUnsupported):
			return w.emitLocked(lv, e, f.Name, err)
		case err != nil:
			return err
		}
		body = r
	} else {
		r, err := f.Open()
		switch {
		case errors.Is(err, zip.ErrAlgorithm):
			e.Type = Other
			if err := w.emitMeta(lv, e, f.Name); err != nil {
				return err
			}
			w.warn(fmt.Errorf("archive: %s: method %d: %w", f.Name, f.Method, ErrUnsupported))
			return nil
		case err != nil:
			return corrupt(f.Name, err)
		}
		body = r
	}
	defer body.Close()
	if mode&fs.ModeSymlink != 0 {
		t, err := w.readSmall(body, f.Name, maxLinkTarget)
		if err != nil {
			return err
		}
		e.Type, e.Target = Symlink, t
		return w.emitMeta(lv, e, f.Name)
	}
	return w.emitFile(lv, e, f.Name, body)
}

func zstdReadCloser(r io.Reader) io.ReadCloser {
	z, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxWindow(zstdMaxWindow), zstd.WithDecoderMaxMemory(zstdMaxWindow))
	if err != nil {
		return io.NopCloser(errReader{err})
	}
	return z.IOReadCloser()
}

func xzReadCloser(r io.Reader) io.ReadCloser {
	z, err := xz.NewReader(r)
	if err != nil {
		return io.NopCloser(errReader{err})
	}
	return io.NopCloser(z)
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// methodReader decodes a zip method over raw compressed bytes.
func methodReader(method uint16, r io.Reader) (io.ReadCloser, error) {
	switch method {
	case zipStore:
		return io.NopCloser(r), nil
	case zipDeflate:
		return flate.NewReader(r), nil
	case zipBzip2:
		return io.NopCloser(bzip2.NewReader(r)), nil
	case zipZstd:
		return zstdReadCloser(r), nil
	case zipXz:
		return xzReadCloser(r), nil
	}
	return nil, fmt.Errorf("archive: zip method %d: %w", method, ErrUnsupported)
}
