package filestore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"dewar/cas"
)

// Fetch opens the blob and returns a reader of length bytes from offset
// (to the end when length < 0), cut at the blob's end; an offset at or past
// the end gives an empty reader. A missing blob gives cas.ErrNotFound.
//
// For a raw blob the reader is backed by the open file: besides Read and
// Close it offers ReadAt and Seek (within the range) and a WriteTo that
// hands the file to the destination, so copying to a socket can use
// sendfile. For a compressed blob it offers the same methods, decoding
// only the frames the range touches; damage found while reading gives an
// error wrapping cas.ErrCorrupt (see compress.go).
func (s *Store) Fetch(ctx context.Context, ref cas.Ref, offset, length int64) (io.ReadCloser, error) {
	if err := ctxErr(ctx, "fetch"); err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, fmt.Errorf("filestore: fetch %s: negative offset %d", ref, offset)
	}
	f, compressed, err := s.open(ref)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("filestore: fetch %s: %w", ref, cas.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("filestore: fetch %s: %w", ref, err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("filestore: fetch %s: %w", ref, err)
	}
	size := info.Size()
	var h header
	if compressed {
		h, err = readHeader(f, size)
		if err == nil {
			err = h.checkIndex(f)
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("filestore: fetch %s: %w", ref, err)
		}
		size = h.size
	}
	if offset >= size {
		f.Close()
		return io.NopCloser(strings.NewReader("")), nil
	}
	if length < 0 || length > size-offset {
		length = size - offset
	}
	if compressed {
		return newZstReader(ref, f, h, offset, length), nil
	}
	return &blobReader{f: f, off: offset, SectionReader: io.NewSectionReader(f, offset, length)}, nil
}

// open opens ref's blob: raw when that form exists, else compressed. The
// raw form is tried again last, for a writer that linked it and cleared
// the compressed one between the first two tries.
func (s *Store) open(ref cas.Ref) (f *os.File, compressed bool, err error) {
	for i, p := range []string{s.blobPath(ref), s.zstPath(ref), s.blobPath(ref)} {
		f, err = os.Open(p)
		if !errors.Is(err, fs.ErrNotExist) {
			return f, i == 1, err
		}
	}
	return nil, false, err
}

// blobReader is a range of an open blob file.
type blobReader struct {
	*io.SectionReader
	f   *os.File
	off int64 // start of the section in f
}

func (r *blobReader) Close() error { return r.f.Close() }

// WriteTo copies the rest of the range to w through an io.LimitedReader
// over the *os.File, the shape net.TCPConn.ReadFrom turns into sendfile.
func (r *blobReader) WriteTo(w io.Writer) (int64, error) {
	pos, err := r.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	if _, err := r.f.Seek(r.off+pos, io.SeekStart); err != nil {
		return 0, err
	}
	n, err := io.Copy(w, &io.LimitedReader{R: r.f, N: r.Size() - pos})
	if _, serr := r.Seek(pos+n, io.SeekStart); err == nil {
		err = serr
	}
	return n, err
}

// Stat reports the blob's size from the file's metadata, and for a
// compressed blob from its 24-byte header: Size is the original length,
// StoredSize the file's. A missing blob gives cas.ErrNotFound.
func (s *Store) Stat(ctx context.Context, ref cas.Ref) (cas.BlobInfo, error) {
	if err := ctxErr(ctx, "stat"); err != nil {
		return cas.BlobInfo{}, err
	}
	info, err := os.Stat(s.blobPath(ref))
	if err == nil {
		return blobInfo(ref, info), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return cas.BlobInfo{}, fmt.Errorf("filestore: stat %s: %w", ref, err)
	}
	f, err := os.Open(s.zstPath(ref))
	if errors.Is(err, fs.ErrNotExist) {
		// Perhaps a writer linked the raw form and cleared this one since.
		if info, err := os.Stat(s.blobPath(ref)); err == nil {
			return blobInfo(ref, info), nil
		}
		return cas.BlobInfo{}, fmt.Errorf("filestore: stat %s: %w", ref, cas.ErrNotFound)
	}
	if err != nil {
		return cas.BlobInfo{}, fmt.Errorf("filestore: stat %s: %w", ref, err)
	}
	defer f.Close()
	bi, err := fileInfo(ref, f, true)
	if err != nil {
		return cas.BlobInfo{}, fmt.Errorf("filestore: stat %s: %w", ref, err)
	}
	return bi, nil
}

// fileInfo describes the open blob file f.
func fileInfo(ref cas.Ref, f *os.File, compressed bool) (cas.BlobInfo, error) {
	info, err := f.Stat()
	if err != nil {
		return cas.BlobInfo{}, err
	}
	bi := blobInfo(ref, info)
	if compressed {
		h, err := readHeader(f, info.Size())
		if err != nil {
			return cas.BlobInfo{}, err
		}
		bi.Size = h.size
	}
	return bi, nil
}

func blobInfo(ref cas.Ref, info fs.FileInfo) cas.BlobInfo {
	return cas.BlobInfo{SizedRef: cas.SizedRef{Ref: ref, Size: info.Size()}, StoredSize: info.Size(), ModTime: info.ModTime()}
}
