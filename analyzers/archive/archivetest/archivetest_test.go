package archivetest

import (
	"bytes"
	"compress/bzip2"
	"io"
	"testing"
)

// TestDeterministic: the same arguments give the same bytes.
func TestDeterministic(t *testing.T) {
	files := []File{{Name: "d", Dir: true}, {Name: "d/a.txt", Body: []byte("hello")}, {Name: "l", Symlink: "d/a.txt"}}
	for name, gen := range map[string]func() []byte{
		"zip":       func() []byte { return Zip(files, Deflate) },
		"zipcrypto": func() []byte { return EncryptedZip(files, ZipOptions{Encryption: ZipCrypto, Password: "p", Seed: 1}) },
		"aes":       func() []byte { return EncryptedZip(files, ZipOptions{Encryption: AES256, Password: "p", Seed: 1}) },
		"rar":       func() []byte { return RAR5(files) },
		"tar":       func() []byte { b, _ := Tar(files); return b },
		"overlap":   func() []byte { return OverlapZipBomb(4, 1000) },
	} {
		if a, b := gen(), gen(); !bytes.Equal(a, b) || len(a) == 0 {
			t.Errorf("%s: not deterministic or empty", name)
		}
	}
	a := EncryptedZip(files, ZipOptions{Encryption: AES256, Password: "p", Seed: 1})
	b := EncryptedZip(files, ZipOptions{Encryption: AES256, Password: "p", Seed: 2})
	if bytes.Equal(a, b) {
		t.Error("the seed does not change the salt")
	}
}

// TestBzip2Bomb: the embedded stream really holds 32 MiB of zeros per unit.
func TestBzip2Bomb(t *testing.T) {
	n, err := io.Copy(io.Discard, bzip2.NewReader(bytes.NewReader(Bzip2Bomb(2*Bzip2ZerosUnit))))
	if err != nil || n != 2*Bzip2ZerosUnit {
		t.Fatalf("decoded %d bytes, %v", n, err)
	}
}
