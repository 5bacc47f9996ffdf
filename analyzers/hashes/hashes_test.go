package hashes

import (
	"io"
	"strings"
	"testing"
)

func TestKnownDigests(t *testing.T) {
	for _, tc := range []struct{ in, sha1, md5 string }{
		{"", "da39a3ee5e6b4b0d3255bfef95601890afd80709", "d41d8cd98f00b204e9800998ecf8427e"},
		{"abc", "a9993e364706816aba3e25717850c26c9cd0d89d", "900150983cd24fb0d6963f7d28e17f72"},
		{"The quick brown fox jumps over the lazy dog", "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12", "9e107d9d372bb6826bd81d3542a419d6"},
	} {
		s := New()
		// Write in small pieces: the result must not depend on chunking.
		if _, err := io.CopyBuffer(s, strings.NewReader(tc.in), make([]byte, 3)); err != nil {
			t.Fatal(err)
		}
		r := s.Result()
		if r.SHA1 != tc.sha1 || r.MD5 != tc.md5 || r.Size != int64(len(tc.in)) {
			t.Errorf("%q: got %+v", tc.in, r)
		}
	}
}
