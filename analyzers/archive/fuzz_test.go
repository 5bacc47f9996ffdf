package archive_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"strings"
	"testing"
	"unicode/utf8"

	"dewar/analyzers/archive"
	"dewar/analyzers/archive/archivetest"
)

// FuzzWalk feeds arbitrary bytes, seeded with small zip, tar, tar.gz, rar,
// bzip2 and encrypted zip archives, and checks that the walker never
// panics, ends with a known error class, and only ever produces safe,
// unique paths.
func FuzzWalk(f *testing.F) {
	files := []archivetest.File{
		{Name: "d", Dir: true}, {Name: "d/a.php", Body: []byte("<?php echo 1;")},
		{Name: "../x", Body: []byte("x")}, {Name: "l", Symlink: "../../etc/passwd"},
	}
	tarb, _ := archivetest.Tar(files)
	inner := archivetest.Zip(files, archivetest.Deflate)
	for _, seed := range [][]byte{
		archivetest.Zip(files, archivetest.Deflate),
		archivetest.Zip(files, archivetest.Store),
		tarb,
		archivetest.Gzip(tarb),
		archivetest.Gzip([]byte("lone")),
		archivetest.RAR5(files),
		archivetest.Bzip2Bomb(1),
		archivetest.Xz(tarb),
		archivetest.Zstd(tarb),
		archivetest.EncryptedZip(files, archivetest.ZipOptions{Encryption: archivetest.ZipCrypto, Password: "infected"}),
		archivetest.EncryptedZip(files, archivetest.ZipOptions{Encryption: archivetest.AES128, Password: "infected"}),
		archivetest.Zip([]archivetest.File{{Name: "in.zip", Body: inner}}, archivetest.Store),
		archivetest.OverlapZipBomb(3, 1000),
	} {
		f.Add(seed)
	}
	lim := archive.Limits{MaxEntries: 200, MaxTotalBytes: 4 << 20, MaxEntrySize: 2 << 20, MaxDepth: 3}
	f.Fuzz(func(t *testing.T, data []byte) {
		seen := map[string]bool{}
		_, err := archive.Walk(context.Background(), bytes.NewReader(data), int64(len(data)),
			archive.Options{Limits: lim, TempDir: t.TempDir(), MaxSpool: 4 << 20},
			func(e archive.Entry, body io.Reader) error {
				if !fs.ValidPath(e.Path) || e.Path == "." || !utf8.ValidString(e.Path) ||
					strings.ContainsAny(e.Path, "\\\x00\x01\x1f\x7f") || seen[e.Path] {
					t.Fatalf("unsafe or repeated path %q", e.Path)
				}
				seen[e.Path] = true
				if body != nil {
					_, err := io.Copy(io.Discard, body)
					return err
				}
				return nil
			})
		var le *archive.LimitError
		switch {
		case err == nil, errors.As(err, &le), errors.Is(err, archive.ErrNotArchive), errors.Is(err, archive.ErrCorrupt),
			errors.Is(err, archive.ErrPassword), errors.Is(err, archive.ErrOverlap):
		default:
			t.Fatalf("unclassified error %v", err)
		}
	})
}
