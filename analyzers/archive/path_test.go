package archive

import (
	"archive/tar"
	"bytes"
	"strings"
	"testing"
)

func TestSafeSegments(t *testing.T) {
	for _, c := range []struct {
		raw     string
		want    string
		changed bool
	}{
		{"a/b.php", "a/b.php", false},
		{"./a/b.php", "a/b.php", false},
		{"dir/", "dir", false},
		{"../../etc/passwd", "etc/passwd", true},
		{"a/b/../../../c", "c", true},
		{"/abs/x", "abs/x", true},
		{"//server/share/x", "server/share/x", true},
		{`C:\Windows\x.ini`, "Windows/x.ini", true},
		{"c:rel.txt", "rel.txt", true},
		{`a\b`, "a/b", true},
		{"a//b", "a/b", true},
		{"a/./b", "a/b", true},
		{"ctl\x00\x07\x7f\u0085.txt", "ctl____.txt", true},
		{"bad\xff.txt", "bad\uFFFD.txt", true},
		{"", "", false},
		{".", "", true},
		{"..", "", true},
		{"日本語/☃.php", "日本語/☃.php", false},
	} {
		segs, changed := safeSegments(c.raw)
		if got := strings.Join(segs, "/"); got != c.want || changed != c.changed {
			t.Errorf("safeSegments(%q) = %q, %v; want %q, %v", c.raw, got, changed, c.want, c.changed)
		}
	}
}

func TestNamesClaim(t *testing.T) {
	n := newNames()
	for _, c := range []struct {
		path string
		dir  bool
		want string
		dup  bool
	}{
		{"a/b", false, "a/b", false},
		{"a/b", false, "a/b~1", false},
		{"a", true, "a", false},    // implied before, first delivery
		{"a", true, "a", true},     // delivered twice: skipped
		{"a", false, "a~1", false}, // a file cannot take a directory's name
		{"f", false, "f", false},
		{"f/g", false, "f~1/g", false}, // a directory cannot go under a file
		{"f/h", false, "f~1/h", false}, // consistently
	} {
		got, dup := n.claim(strings.Split(c.path, "/"), c.dir)
		if got != c.want || dup != c.dup {
			t.Errorf("claim(%q, dir=%v) = %q, %v; want %q, %v", c.path, c.dir, got, dup, c.want, c.dup)
		}
	}
}

func TestDetect(t *testing.T) {
	var ustar bytes.Buffer
	tw := tar.NewWriter(&ustar)
	tw.WriteHeader(&tar.Header{Name: "a.txt", Mode: 0o644, Size: 1, Format: tar.FormatUSTAR})
	tw.Write([]byte("x"))
	tw.Close()
	v7 := append([]byte{}, ustar.Bytes()[:512]...)
	clear(v7[257:265]) // no magic, no version: an old v7 header
	var sum int64
	for i, c := range v7 {
		if i >= 148 && i < 156 {
			c = ' '
		}
		sum += int64(c)
	}
	copy(v7[148:156], []byte(strings.Repeat("0", 6-len(octal(sum)))+octal(sum)+"\x00 "))
	badSum := append([]byte{}, v7...)
	badSum[0] = 'b'
	for _, c := range []struct {
		name string
		head []byte
		want Format
	}{
		{"zip", []byte("PK\x03\x04rest"), Zip},
		{"empty zip", append([]byte("PK\x05\x06"), make([]byte, 18)...), Zip},
		{"gzip", []byte{0x1f, 0x8b, 0x08, 0}, Gzip},
		{"bzip2", []byte("BZh91AY&SY...."), Bzip2},
		{"bzip2 bad level", []byte("BZh01AY&SY...."), None},
		{"xz", []byte{0xfd, '7', 'z', 'X', 'Z', 0, 0}, Xz},
		{"zstd", []byte{0x28, 0xb5, 0x2f, 0xfd, 0}, Zstd},
		{"7z", []byte{'7', 'z', 0xbc, 0xaf, 0x27, 0x1c, 0}, SevenZip},
		{"rar4", []byte("Rar!\x1a\x07\x00"), Rar},
		{"rar5", []byte("Rar!\x1a\x07\x01\x00"), Rar},
		{"ustar", ustar.Bytes(), Tar},
		{"v7 tar", v7, Tar},
		{"v7 tar bad checksum", badSum, None},
		{"zero block", make([]byte, 1024), None},
		{"text", []byte(strings.Repeat("<?php echo 1; ?>\n", 40)), None},
		{"empty", nil, None},
	} {
		if got := Detect(c.head); got != c.want {
			t.Errorf("%s: Detect = %v, want %v", c.name, got, c.want)
		}
	}
}

func octal(v int64) string {
	s := ""
	for ; v > 0; v /= 8 {
		s = string(rune('0'+v%8)) + s
	}
	return s
}

func TestLoneName(t *testing.T) {
	for in, want := range map[string]string{
		"report.txt.gz": "report.txt", "x.TGZ": "x.tar", "a/b/c.bz2": "c", "dump.zst": "dump",
		"noext": "data", "": "data", ".gz": "data", "x.xz": "x",
	} {
		if got := loneName(in); got != want {
			t.Errorf("loneName(%q) = %q, want %q", in, got, want)
		}
	}
}
