// Package archivetest writes deterministic archives for tests: plain and
// encrypted zips (ZipCrypto and WinZip AES, which no Go library writes),
// tars, every compression the walker reads, a minimal RAR5 writer, 7z through
// the 7z command, and hostile inputs (bombs, traversal names, truncation).
// The same arguments always give the same bytes: timestamps, modes and salts
// are fixed or derived from a seed. 7z output is content-deterministic only
// as far as the installed 7z is.
package archivetest

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"fmt"
	"io/fs"
	"os/exec"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Epoch is the modification time of every member whose ModTime is zero.
var Epoch = time.Date(2024, 5, 6, 7, 8, 10, 0, time.UTC)

// File is one member of an archive to write. Names are written as given,
// byte for byte, so hostile names can be expressed.
type File struct {
	Name     string
	Body     []byte
	Dir      bool
	Symlink  string // non-empty: a symbolic link to this target
	Hardlink string // non-empty: a hard link to this target (tar only)
	Mode     fs.FileMode
	ModTime  time.Time
}

func (f File) modTime() time.Time {
	if f.ModTime.IsZero() {
		return Epoch
	}
	return f.ModTime
}

func (f File) perm() fs.FileMode {
	if f.Mode != 0 {
		return f.Mode.Perm()
	}
	if f.Dir {
		return 0o755
	}
	if f.Symlink != "" {
		return 0o777
	}
	return 0o644
}

// Method is a zip compression method.
type Method uint16

// Zip methods the writers support.
const (
	Store   Method = 0
	Deflate Method = 8
)

// Zip writes a plain zip. Directories get a trailing '/' if missing.
func Zip(files []File, m Method) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.Name, Method: uint16(m), Modified: f.modTime()}
		switch {
		case f.Dir:
			if len(h.Name) == 0 || h.Name[len(h.Name)-1] != '/' {
				h.Name += "/"
			}
			h.Method = zip.Store
			h.SetMode(fs.ModeDir | f.perm())
		case f.Symlink != "":
			h.SetMode(fs.ModeSymlink | f.perm())
		default:
			h.SetMode(f.perm())
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			panic(err) // only programming errors reach here
		}
		switch {
		case f.Symlink != "":
			w.Write([]byte(f.Symlink))
		case !f.Dir:
			w.Write(f.Body)
		}
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// Tar writes a tar, in the format archive/tar picks for each header (ustar
// when it fits, pax for long or unicode names), falling back to GNU for
// names pax cannot carry (invalid UTF-8). It fails only on a name no tar
// format can hold.
func Tar(files []File) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.Name, ModTime: f.modTime(), Mode: int64(f.perm()), Typeflag: tar.TypeReg, Size: int64(len(f.Body)), Format: tar.FormatUnknown}
		switch {
		case f.Dir:
			h.Typeflag, h.Size = tar.TypeDir, 0
		case f.Symlink != "":
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, f.Symlink, 0
		case f.Hardlink != "":
			h.Typeflag, h.Linkname, h.Size = tar.TypeLink, f.Hardlink, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			h.Format = tar.FormatGNU
			if err := tw.WriteHeader(h); err != nil {
				return nil, fmt.Errorf("archivetest: tar header %q: %w", f.Name, err)
			}
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write(f.Body)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Gzip compresses b into one gzip member with a fixed header.
func Gzip(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	zw.ModTime = Epoch
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// Xz compresses b.
func Xz(b []byte) []byte {
	var buf bytes.Buffer
	zw, err := xz.NewWriter(&buf)
	if err != nil {
		panic(err)
	}
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// Zstd compresses b.
func Zstd(b []byte) []byte {
	zw, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	if err != nil {
		panic(err)
	}
	defer zw.Close()
	return zw.EncodeAll(b, nil)
}

// Bzip2 compresses b with the bzip2 command (Go has no bzip2 writer).
func Bzip2(b []byte) ([]byte, error) {
	cmd := exec.Command("bzip2", "-9", "-c")
	cmd.Stdin = bytes.NewReader(b)
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("archivetest: bzip2: %w", err)
	}
	return out, nil
}
