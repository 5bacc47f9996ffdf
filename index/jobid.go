package index

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"time"
)

// crockford is Crockford's base32 alphabet: URL-safe, no I L O U, and in
// ASCII order, so the text sorts like the number.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

var jobIDs struct {
	sync.Mutex
	lastMs  uint64
	lastRnd [10]byte
}

// NewJobID returns a 26-character ULID for t: 48 bits of milliseconds then
// 80 random bits, Crockford base32. IDs sort by time, which is why
// listing the jobs bucket gives oldest first; within one millisecond they
// increase monotonically.
func NewJobID(t time.Time) string {
	ms := uint64(t.UnixMilli())
	jobIDs.Lock()
	var rnd [10]byte
	if ms <= jobIDs.lastMs {
		ms = jobIDs.lastMs
		rnd = jobIDs.lastRnd
		for i := len(rnd) - 1; i >= 0; i-- { // increment the random part
			rnd[i]++
			if rnd[i] != 0 {
				break
			}
		}
	} else {
		_, _ = rand.Read(rnd[:])
	}
	jobIDs.lastMs, jobIDs.lastRnd = ms, rnd
	jobIDs.Unlock()

	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], ms<<16)
	copy(b[6:], rnd[:])
	// 128 bits -> 26 base32 digits, most significant first.
	var out [26]byte
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// ValidJobID reports whether s looks like a job ID (26 Crockford digits).
func ValidJobID(s string) bool {
	if len(s) != 26 || s[0] > '7' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' && c != 'I' && c != 'L' && c != 'O' && c != 'U') {
			return false
		}
	}
	return true
}
