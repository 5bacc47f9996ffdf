package mime

import (
	"bytes"
	"testing"
)

func TestDetectFromContent(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"php", []byte("<?php\n$to = 'x@example.com';\nmail($to, 'hi', $body);\n?>\n"), "text/x-php"},
		{"html", []byte("<!DOCTYPE html><html><head><title>Sign in</title></head><body></body></html>"), "text/html"},
		{"zip", []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00"), "application/zip"},
		{"png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "image/png"},
		{"empty", nil, "text/plain"},
		{"binary", []byte{0, 1, 2, 3, 0xff, 0xfe, 0, 0}, "application/octet-stream"},
	} {
		s := New()
		// Feed in pieces, and more than the head, to check the cut.
		s.Write(tc.in[:len(tc.in)/2])
		s.Write(tc.in[len(tc.in)/2:])
		s.Write(bytes.Repeat([]byte{' '}, 5000))
		if got := s.Result(); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}
