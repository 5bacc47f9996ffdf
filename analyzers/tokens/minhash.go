package tokens

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// MinHash over 3-shingles of a file's token sequence (every token, in
// order, repeats included, not only the distinct ones), for small web
// files: files of at most MinHashMaxSize bytes whose token sequence has at
// least MinShingles shingles. Larger files are left to ssdeep and TLSH;
// smaller ones have too little to compare.
//
// Each shingle is hashed to 64 bits (FNV-1a of each token, combined with
// the SplitMix64 finaliser), and signature value i is the minimum over
// the shingles of the top 32 bits of a_i*x + b_i mod 2^64, with odd a_i
// and b_i drawn once from SplitMix64 seeded with a constant: the same
// bytes give the same signature on every run and machine. Changing any
// of this changes Version.
const (
	SignatureSize  = 128     // values in a Signature
	Shingle        = 3       // tokens per shingle
	MinShingles    = 16      // fewer shingles: no signature
	MinHashMaxSize = 1 << 20 // larger files: no signature
	NumBands       = 32      // LSH bands: Bands returns this many keys
	BandRows       = SignatureSize / NumBands
)

// ErrSignature is returned for bytes that are not a marshalled Signature.
var ErrSignature = errors.New("tokens: malformed MinHash signature")

// Signature is a MinHash signature of SignatureSize values.
type Signature []uint32

// Similarity estimates the Jaccard similarity of the shingle sets behind
// two signatures: the fraction of positions where they agree, in [0, 1].
// A missing or malformed signature is similar to nothing (0).
func Similarity(a, b Signature) float64 {
	if len(a) != SignatureSize || len(b) != SignatureSize {
		return 0
	}
	same := 0
	for i := range a {
		if a[i] == b[i] {
			same++
		}
	}
	return float64(same) / SignatureSize
}

// Bands returns the LSH band keys of a signature, NumBands keys of
// BandRows rows each, for an index of near-duplicates: two files share a
// key (the same key at the same position; keys of different bands never
// coincide by design) with probability 1-(1-s^4)^32 for Jaccard
// similarity s: 0.05 at s=0.2, 0.56 at 0.4, 0.99 at 0.6, 1-5e-8 at 0.8.
// Candidates found by a shared key are then scored with Similarity.
// A missing or malformed signature has no keys (nil).
func Bands(sig Signature) []uint64 {
	if len(sig) != SignatureSize {
		return nil
	}
	keys := make([]uint64, NumBands)
	for band := range keys {
		k := mix64(bandSeed + uint64(band))
		for _, v := range sig[band*BandRows : (band+1)*BandRows] {
			k = mix64(k ^ uint64(v))
		}
		keys[band] = k
	}
	return keys
}

// MarshalBinary encodes a signature as SignatureSize little-endian uint32s.
func (s Signature) MarshalBinary() ([]byte, error) {
	if len(s) != SignatureSize {
		return nil, fmt.Errorf("%w: %d values", ErrSignature, len(s))
	}
	b := make([]byte, 0, 4*SignatureSize)
	for _, v := range s {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return b, nil
}

// ParseSignature decodes what MarshalBinary encoded.
func ParseSignature(b []byte) (Signature, error) {
	if len(b) != 4*SignatureSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrSignature, len(b))
	}
	s := make(Signature, SignatureSize)
	for i := range s {
		s[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return s, nil
}

const (
	familySeed = 0x646577617220746b // "dewar tk"
	bandSeed   = 0x64657761722062e4
)

// family holds the a_i (odd) and b_i of the hash family.
var family = func() (f [SignatureSize][2]uint64) {
	x := uint64(familySeed)
	for i := range f {
		x += 0x9e3779b97f4a7c15
		f[i][0] = mix64(x) | 1
		x += 0x9e3779b97f4a7c15
		f[i][1] = mix64(x)
	}
	return f
}()

// mix64 is the SplitMix64 finaliser.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func hashBytes(b []byte) uint64 { return fnvBytes(fnvOffset, b) }

// minHasher keeps the running minima over the shingles of the token
// hashes pushed to it.
type minHasher struct {
	mins     [SignatureSize]uint32
	prev     [Shingle - 1]uint64
	tokens   int
	shingles int
}

func newMinHasher() *minHasher {
	m := &minHasher{}
	for i := range m.mins {
		m.mins[i] = math.MaxUint32
	}
	return m
}

func (m *minHasher) push(h uint64) {
	m.tokens++
	if m.tokens >= Shingle {
		x := mix64(mix64(mix64(m.prev[0])^m.prev[1]) ^ h)
		for i := range m.mins {
			if v := uint32((family[i][0]*x + family[i][1]) >> 32); v < m.mins[i] {
				m.mins[i] = v
			}
		}
		m.shingles++
	}
	m.prev[0], m.prev[1] = m.prev[1], h
}

func (m *minHasher) signature() Signature {
	return Signature(append([]uint32(nil), m.mins[:]...))
}
