// Package mime detects a file's MIME type from its content with
// github.com/gabriel-vasile/mimetype, never from its name (phishing kits
// lie about names).
package mime

import (
	"github.com/gabriel-vasile/mimetype"
)

// headSize is how much of a file detection looks at (mimetype's default
// read limit).
const headSize = 3072

// Sink keeps the first bytes written to it.
type Sink struct {
	head []byte
}

// New returns an empty Sink.
func New() *Sink { return &Sink{head: make([]byte, 0, headSize)} }

// Write keeps what detection needs and ignores the rest; it never fails.
func (s *Sink) Write(p []byte) (int, error) {
	if room := headSize - len(s.head); room > 0 {
		s.head = append(s.head, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// Result returns the detected MIME type, e.g. "text/x-php" or
// "application/zip" (parameters such as charset dropped).
func (s *Sink) Result() string {
	m := mimetype.Detect(s.head)
	return baseType(m.String())
}

// Detect returns the MIME type of a file's first bytes.
func Detect(head []byte) string {
	return baseType(mimetype.Detect(head).String())
}

func baseType(t string) string {
	for i := 0; i < len(t); i++ {
		if t[i] == ';' {
			return t[:i]
		}
	}
	return t
}
