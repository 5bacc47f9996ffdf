package archive

import (
	"bufio"
	"compress/bzip2"
	"compress/gzip"
	"io"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// zstdMaxWindow bounds a zstd decoder's window (and so its memory); 128 MiB
// accepts every standard level including --ultra -22.
const zstdMaxWindow = 128 << 20

// decompress opens a decompressor for f over r. close releases it.
func decompress(f Format, r io.Reader) (dr io.Reader, close func(), err error) {
	nop := func() {}
	switch f {
	case Gzip:
		z, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, err
		}
		return z, nop, nil
	case Bzip2:
		return bzip2.NewReader(r), nop, nil
	case Xz:
		z, err := xz.NewReader(r)
		if err != nil {
			return nil, nil, err
		}
		return z, nop, nil
	case Zstd:
		z, err := zstd.NewReader(r,
			zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(zstdMaxWindow),
			zstd.WithDecoderMaxMemory(zstdMaxWindow))
		if err != nil {
			return nil, nil, err
		}
		return z, z.Close, nil
	}
	return nil, nil, ErrNotArchive
}

// walkCompressed walks a gzip, bzip2, xz or zstd stream: a wrapped tar is
// walked as this level's archive; anything else is a one-file archive.
func (w *walker) walkCompressed(r io.Reader, f Format, lv *level) error {
	dr, closeFn, err := decompress(f, bufio.NewReaderSize(r, 64<<10))
	if err != nil {
		return corrupt(f.String(), err)
	}
	defer closeFn()
	m := &meter{w: w, r: dr}
	br := bufio.NewReaderSize(m, 64<<10)
	head, err := br.Peek(SniffLen)
	if err != nil && err != io.EOF {
		return corrupt(f.String(), err)
	}
	lv.metered = true
	if isTarHeader(head) {
		if lv.depth == 0 {
			w.res.Inner = Tar
		}
		if err := w.walkTar(br, lv); err != nil {
			return err
		}
		// Read the stream to its end so its checksum is verified; the
		// bytes count against the limits through the meter. Every entry
		// is already delivered, so damage past the tar's end (a bad
		// checksum, trailing junk) only warns.
		if _, err := io.Copy(io.Discard, br); err != nil {
			if isWalkStop(err) {
				return err
			}
			w.warn(corrupt(f.String()+" after the tar's end", err))
		}
		return nil
	}
	return w.emitFile(lv, Entry{Size: -1}, loneName(lv.name), br)
}

// loneName names the single entry of a compressed non-tar stream: the
// archive's name minus its compression suffix, or "data".
func loneName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	lower := strings.ToLower(name)
	for _, suf := range []struct{ from, to string }{
		{".tgz", ".tar"}, {".tbz2", ".tar"}, {".tbz", ".tar"}, {".txz", ".tar"}, {".tzst", ".tar"},
		{".gz", ""}, {".gzip", ""}, {".bz2", ""}, {".bzip2", ""}, {".xz", ""}, {".zst", ""}, {".zstd", ""}, {".z", ""},
	} {
		if strings.HasSuffix(lower, suf.from) && len(name) > len(suf.from) {
			return name[:len(name)-len(suf.from)] + suf.to
		}
	}
	return "data"
}
