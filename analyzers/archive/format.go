package archive

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
)

// Format is a container or compression format recognised from content.
type Format int

// Formats Detect can report. None means "not an archive".
const (
	None Format = iota
	Zip
	Tar
	Gzip
	Bzip2
	Xz
	Zstd
	SevenZip
	Rar
)

func (f Format) String() string {
	switch f {
	case Zip:
		return "zip"
	case Tar:
		return "tar"
	case Gzip:
		return "gzip"
	case Bzip2:
		return "bzip2"
	case Xz:
		return "xz"
	case Zstd:
		return "zstd"
	case SevenZip:
		return "7z"
	case Rar:
		return "rar"
	}
	return "none"
}

// compressed reports whether f is a single-stream compression format.
func (f Format) compressed() bool {
	return f == Gzip || f == Bzip2 || f == Xz || f == Zstd
}

// SniffLen is how many leading bytes Detect needs to recognise every format
// (a tar header is 512 bytes).
const SniffLen = 512

var (
	magicZip      = []byte("PK\x03\x04")
	magicZipEmpty = []byte("PK\x05\x06")
	magicZipSpan  = []byte("PK\x07\x08PK\x03\x04")
	magicGzip     = []byte{0x1f, 0x8b, 0x08}
	magicXz       = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
	magicZstd     = []byte{0x28, 0xb5, 0x2f, 0xfd}
	magic7z       = []byte{'7', 'z', 0xbc, 0xaf, 0x27, 0x1c}
	magicRar4     = []byte("Rar!\x1a\x07\x00")
	magicRar5     = []byte("Rar!\x1a\x07\x01\x00")
)

// Detect names the format of content starting with head (pass at least
// SniffLen bytes when available), or None. It looks at magic bytes and, for
// tar, validates the header checksum, so an old v7 tar is recognised and a
// text file is not. A zip with leading junk (a self-extractor stub) is not
// recognised from its head; Walk finds it from the end of the file.
func Detect(head []byte) Format {
	switch {
	case bytes.HasPrefix(head, magicZip), bytes.HasPrefix(head, magicZipSpan):
		return Zip
	case bytes.HasPrefix(head, magicZipEmpty) && len(head) >= 22:
		return Zip
	case bytes.HasPrefix(head, magicGzip):
		return Gzip
	case isBzip2(head):
		return Bzip2
	case bytes.HasPrefix(head, magicXz):
		return Xz
	case bytes.HasPrefix(head, magicZstd):
		return Zstd
	case bytes.HasPrefix(head, magic7z):
		return SevenZip
	case bytes.HasPrefix(head, magicRar4), bytes.HasPrefix(head, magicRar5):
		return Rar
	case isTarHeader(head):
		return Tar
	}
	return None
}

// isBzip2 checks "BZh1".."BZh9" followed by a block or end-of-stream magic.
func isBzip2(b []byte) bool {
	if len(b) < 10 || b[0] != 'B' || b[1] != 'Z' || b[2] != 'h' || b[3] < '1' || b[3] > '9' {
		return false
	}
	m := b[4:10]
	return bytes.Equal(m, []byte{0x31, 0x41, 0x59, 0x26, 0x53, 0x59}) ||
		bytes.Equal(m, []byte{0x17, 0x72, 0x45, 0x38, 0x50, 0x90})
}

// isTarHeader reports whether b starts with a 512-byte tar header whose
// checksum is right (unsigned or the historic signed sum), whatever the
// magic (ustar, GNU or none for v7).
func isTarHeader(b []byte) bool {
	if len(b) < 512 {
		return false
	}
	h := b[:512]
	if h[0] == 0 {
		return false // no name: a zero block, or not a tar
	}
	want, ok := parseOctal(h[148:156])
	if !ok {
		return false
	}
	var us, ss int64
	for i, c := range h {
		if i >= 148 && i < 156 {
			c = ' '
		}
		us += int64(c)
		ss += int64(int8(c))
	}
	if want != us && want != ss {
		return false
	}
	switch h[156] {
	case 0, '0', '1', '2', '3', '4', '5', '6', '7', 'g', 'x', 'L', 'K', 'S', 'D', 'M', 'N', 'V', 'X':
		return true
	}
	return false
}

// parseOctal parses a tar numeric field: optional leading spaces, octal
// digits, terminated by NUL or space.
func parseOctal(f []byte) (int64, bool) {
	f = bytes.TrimLeft(f, " ")
	var v int64
	n := 0
	for _, c := range f {
		if c == 0 || c == ' ' {
			break
		}
		if c < '0' || c > '7' {
			return 0, false
		}
		v = v*8 + int64(c-'0')
		n++
	}
	return v, n > 0
}

// detectAt detects the format of a random-access input: from its head, else
// a zip found from its end-of-central-directory record (zips with a
// self-extractor stub or other leading junk).
func detectAt(r io.ReaderAt, size int64) Format {
	head := make([]byte, min(size, SniffLen))
	n, _ := r.ReadAt(head, 0)
	if f := Detect(head[:n]); f != None {
		return f
	}
	if _, ok := findEOCD(r, size); ok {
		if _, err := zip.NewReader(r, size); err == nil || errors.Is(err, zip.ErrInsecurePath) {
			return Zip
		}
	}
	return None
}

// eocd is the part of a zip end-of-central-directory record the walker needs.
type eocd struct {
	records uint64
}

// findEOCD finds the zip end-of-central-directory record in the last 64 KiB
// of r and reads its entry count (zip64 aware).
func findEOCD(r io.ReaderAt, size int64) (eocd, bool) {
	const maxTail = 22 + 65535
	n := min(size, maxTail)
	if n < 22 {
		return eocd{}, false
	}
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, size-n); err != nil && err != io.EOF {
		return eocd{}, false
	}
	i := bytes.LastIndex(buf, magicZipEmpty)
	for i >= 0 && len(buf)-i < 22 {
		i = bytes.LastIndex(buf[:i], magicZipEmpty)
	}
	if i < 0 {
		return eocd{}, false
	}
	e := eocd{records: uint64(binary.LittleEndian.Uint16(buf[i+10:]))}
	// zip64 locator sits right before the record.
	if e.records == 0xffff && i >= 20 && bytes.Equal(buf[i-20:i-16], []byte("PK\x06\x07")) {
		off := int64(binary.LittleEndian.Uint64(buf[i-20+8:]))
		rec := make([]byte, 56)
		if off >= 0 && off < size {
			if _, err := r.ReadAt(rec, off); err == nil && bytes.Equal(rec[:4], []byte("PK\x06\x06")) {
				e.records = binary.LittleEndian.Uint64(rec[32:])
			}
		}
	}
	return e, true
}
