// Package ssdeep computes the ssdeep (context-triggered piecewise) fuzzy
// hash of a file with github.com/glaslos/ssdeep, byte for byte as the
// ssdeep 2.14 tool prints it (`ssdeep -b FILE`), for files of any size,
// and scores pairs of hashes as the tool does (`ssdeep -a -k`).
//
// The hash streams: the library's hash state is a fixed set of 31 block
// hashes of at most 64 characters each, so memory does not grow with the
// file. Files of more than 192 GiB (the algorithm's limit) get no hash.
package ssdeep

import (
	"hash"
	"sync"

	"github.com/glaslos/ssdeep"
)

// Name is the analysis name recorded with each result.
const Name = "ssdeep"

// Version changes whenever the output for the same bytes could change, so
// that `dewar reanalyze` knows which results to recompute.
const Version = 1

// force lets the library hash inputs under 4 KiB, as the ssdeep tool does.
// ssdeep.Force is a package variable of the library, set once, before any
// hash is taken, and never written again.
var force sync.Once

// Sink computes the ssdeep hash of what is written to it.
type Sink struct {
	h      hash.Hash
	done   bool
	result string
}

// New returns an empty Sink.
func New() *Sink {
	force.Do(func() { ssdeep.Force = true })
	return &Sink{h: ssdeep.New()}
}

// Write never fails. Bytes written after Result are ignored.
func (s *Sink) Write(p []byte) (int, error) {
	if !s.done {
		s.h.Write(p)
	}
	return len(p), nil
}

// Result returns the hash of everything written, e.g.
// "3:N/OXgLpPwSigvVEXLQILAFKvdsn:4X4ISaXLQ2pds" (empty input: "3::"), or
// "" when the input is beyond the algorithm's 192 GiB limit. It ends the
// stream: the library's digest consumes its state, so the first answer is
// kept and returned again.
func (s *Sink) Result() string {
	if !s.done {
		s.done = true
		s.result = string(s.h.Sum(nil))
	}
	return s.result
}
