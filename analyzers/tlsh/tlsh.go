// Package tlsh computes the TLSH (Trend Micro locality sensitive hash) of
// a file with github.com/glaslos/tlsh, in the 128-bucket, 1-byte-checksum
// form, written as "T1" and 70 uppercase hex digits. Past the "T1" the
// digest is exactly what Debian's `tlsh -f FILE` (tlsh-tools 3.4.4) prints
// for the same bytes, and Diff is its `tlsh -c A -d B` distance.
//
// The hash streams: the library's state is 256 bucket counters and a
// five-byte window, so memory does not grow with the file.
package tlsh

import (
	"encoding/hex"
	"strings"

	"github.com/glaslos/tlsh"
)

// Name is the analysis name recorded with each result.
const Name = "tlsh"

// Version changes whenever the output for the same bytes could change, so
// that `dewar reanalyze` knows which results to recompute.
const Version = 1

// MinSize is the shortest input that gets a hash (TLSH 4's minimum).
// tlsh-tools 3.4.4 only hashes 256 bytes and more; between 50 and 255
// bytes Dewar has a hash the Debian tool would refuse.
const MinSize = 50

// Prefix marks the digest format: TLSH version 1, as TLSH 4 prints it.
const Prefix = "T1"

// Sink computes the TLSH of what is written to it.
type Sink struct {
	t      *tlsh.TLSH
	n      int64
	done   bool
	result string
}

// New returns an empty Sink.
func New() *Sink { return &Sink{t: tlsh.New()} }

// Write never fails. Bytes written after Result are ignored.
func (s *Sink) Write(p []byte) (int, error) {
	if !s.done {
		s.t.Write(p)
		s.n += int64(len(p))
	}
	return len(p), nil
}

// Result returns "T1" and 70 uppercase hex digits, or "" when there is no
// hash: under MinSize bytes, or when the bytes lack variety (too few
// distinct byte triplets for the quartiles, e.g. a run of zeros). It ends
// the stream: the library's Sum replaces its state, so the first answer
// is kept and returned again.
func (s *Sink) Result() string {
	if s.done {
		return s.result
	}
	s.done = true
	if s.n < MinSize {
		return ""
	}
	sum := s.t.Sum(nil)
	if len(sum) != 3+codeSize {
		return "" // the library's "no hash": a zero-filled short slice
	}
	s.result = Prefix + strings.ToUpper(hex.EncodeToString(sum))
	return s.result
}
