// Package hashes computes the digests Dewar records for every file besides
// its sha256 (which the content store computes as it stores the bytes):
// sha1 and md5, the hashes other tools and feeds still use.
package hashes

import (
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"hash"
)

// Sink computes sha1 and md5 of what is written to it.
type Sink struct {
	sha1, md5 hash.Hash
	n         int64
}

// New returns an empty Sink.
func New() *Sink { return &Sink{sha1: sha1.New(), md5: md5.New()} }

// Write never fails.
func (s *Sink) Write(p []byte) (int, error) {
	s.sha1.Write(p)
	s.md5.Write(p)
	s.n += int64(len(p))
	return len(p), nil
}

// Result is the digests of a file.
type Result struct {
	SHA1 string // lowercase hex
	MD5  string // lowercase hex
	Size int64
}

// Result returns the digests of everything written so far.
func (s *Sink) Result() Result {
	return Result{SHA1: hex.EncodeToString(s.sha1.Sum(nil)), MD5: hex.EncodeToString(s.md5.Sum(nil)), Size: s.n}
}
