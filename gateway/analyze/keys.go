package analyze

import (
	"encoding/binary"
	"encoding/hex"
	"hash/fnv"
	"strconv"

	"dewar/analyzers/ssdeep"
	"dewar/analyzers/tokens"
	"dewar/index"
)

// Similarity methods, as index.SimKey.Method and SimilarFile.Method name
// them. TLSH has no keys: its candidates come from the length bucket
// (index.Searcher.TLSHCandidates).
const (
	MethodSSDeep  = "ssdeep"
	MethodTLSH    = "tlsh"
	MethodPDQ     = "pdq"
	MethodPHash   = "phash"
	MethodMinHash = "minhash"
)

// MinPDQQuality is the PDQ quality under which a hash gets no keys: PDQ's
// authors advise distrusting such hashes (flat or tiny images, whose
// hashes collide).
const MinPDQQuality = 50

// Key layouts. Changing any of them changes Version.
//
//   - ssdeep: one key per distinct 7-gram of the hash at its block size
//     (ssdeep.Hash.Grams: chunk 1 at the block size, chunk 2 at twice it),
//     the FNV-1a 64 of "g" NUL block size NUL gram; two hashes ssdeep can
//     score above 0 share one (their block sizes differ at most twice, so
//     a chunk of one and a chunk of the other are at one block size, and a
//     score needs a common 7-character run there). Plus one key for the
//     whole hash, FNV-1a 64 of "x" NUL hash, so identical hashes too short
//     for grams still meet; the empty file's hash "3::" gets none.
//   - pdq: 16 bands of 16 bits, key band<<16 | bits. Hashes within 15 bits
//     always share a band (pigeonhole); beyond, a pair at random
//     distance d still shares one with probability 0.999 at d=20, 0.986
//     at 25 and 0.91 at the match threshold of 31.
//   - phash: 8 bands of 8 bits, key band<<8 | bits: within 7 bits always,
//     then 0.996 at d=8 and 0.956 at the threshold of 10.
//   - minhash: tokens.Bands, reinterpreted as int64.
const (
	pdqBands    = 16
	phashBands  = 8
	emptySSDeep = "3::"
)

// SSDeepKeys returns the keys of an ssdeep hash (nil for "" or a malformed
// one).
func SSDeepKeys(s string) []index.SimKey {
	h, err := ssdeep.Parse(s)
	if err != nil || s == emptySSDeep {
		return nil
	}
	grams := h.Grams()
	keys := make([]index.SimKey, 0, len(grams)+1)
	for _, g := range grams {
		keys = append(keys, index.SimKey{Method: MethodSSDeep, Key: ssdeepGramKey(g)})
	}
	keys = append(keys, index.SimKey{Method: MethodSSDeep, Key: fnvKey("x", s)})
	return keys
}

func ssdeepGramKey(g ssdeep.Gram) int64 {
	return fnvKey("g", strconv.FormatUint(g.BlockSize, 10), g.Text)
}

// fnvKey is FNV-1a 64 of the parts joined by NUL bytes: stable across
// runs and machines, unlike hash/maphash.
func fnvKey(parts ...string) int64 {
	h := fnv.New64a()
	for i, p := range parts {
		if i > 0 {
			h.Write([]byte{0})
		}
		h.Write([]byte(p))
	}
	return int64(h.Sum64())
}

// PDQKeys returns the band keys of a PDQ hash (64 hex digits; nil
// otherwise). Callers skip hashes of quality under MinPDQQuality.
func PDQKeys(s string) []index.SimKey {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 2*pdqBands {
		return nil
	}
	keys := make([]index.SimKey, pdqBands)
	for i := range pdqBands {
		keys[i] = index.SimKey{Method: MethodPDQ, Key: int64(i)<<16 | int64(binary.BigEndian.Uint16(b[2*i:]))}
	}
	return keys
}

// PHashKeys returns the band keys of a pHash (16 hex digits; nil
// otherwise).
func PHashKeys(s string) []index.SimKey {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != phashBands {
		return nil
	}
	keys := make([]index.SimKey, phashBands)
	for i := range phashBands {
		keys[i] = index.SimKey{Method: MethodPHash, Key: int64(i)<<8 | int64(b[i])}
	}
	return keys
}

// MinHashKeys returns the LSH band keys of a MinHash signature (nil for a
// missing or malformed one).
func MinHashKeys(sig []uint32) []index.SimKey {
	bands := tokens.Bands(tokens.Signature(sig))
	if len(bands) == 0 {
		return nil
	}
	keys := make([]index.SimKey, len(bands))
	for i, b := range bands {
		keys[i] = index.SimKey{Method: MethodMinHash, Key: int64(b)}
	}
	return keys
}

// KeysOf returns the keys of one method among a's.
func KeysOf(a index.Analysis, method string) []int64 {
	var out []int64
	for _, k := range a.Keys {
		if k.Method == method {
			out = append(out, k.Key)
		}
	}
	return out
}
