package ssdeep

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ErrMalformed reports a string that is not an ssdeep hash.
var ErrMalformed = errors.New("ssdeep: malformed hash")

const (
	spamsumLength = 64 // longest chunk
	rollingWindow = 7  // common-substring length a match needs
	minBlockSize  = 3
	alphabet      = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)

// Hash is a parsed ssdeep hash "blocksize:chunk1:chunk2". Chunk1 is taken
// at BlockSize and Chunk2 at twice BlockSize.
type Hash struct {
	BlockSize uint64
	Chunk1    string
	Chunk2    string
}

// Parse splits an ssdeep hash. It accepts exactly what Result produces: a
// decimal block size, two chunks of at most 64 base64 characters.
func Parse(s string) (Hash, error) {
	bs, rest, ok := strings.Cut(s, ":")
	if !ok {
		return Hash{}, fmt.Errorf("%w: %q has no ':'", ErrMalformed, s)
	}
	c1, c2, ok := strings.Cut(rest, ":")
	if !ok {
		return Hash{}, fmt.Errorf("%w: %q has one chunk", ErrMalformed, s)
	}
	if bs == "" || bs[0] < '1' || bs[0] > '9' {
		return Hash{}, fmt.Errorf("%w: block size %q", ErrMalformed, bs)
	}
	n, err := strconv.ParseUint(bs, 10, 64)
	if err != nil {
		return Hash{}, fmt.Errorf("%w: block size %q", ErrMalformed, bs)
	}
	for _, c := range []string{c1, c2} {
		if len(c) > spamsumLength {
			return Hash{}, fmt.Errorf("%w: chunk of %d characters", ErrMalformed, len(c))
		}
		for i := 0; i < len(c); i++ {
			if strings.IndexByte(alphabet, c[i]) < 0 {
				return Hash{}, fmt.Errorf("%w: character %q", ErrMalformed, c[i])
			}
		}
	}
	return Hash{BlockSize: n, Chunk1: c1, Chunk2: c2}, nil
}

// String formats h as ssdeep does.
func (h Hash) String() string {
	return strconv.FormatUint(h.BlockSize, 10) + ":" + h.Chunk1 + ":" + h.Chunk2
}

// Compare scores two hashes from 0 (no match) to 100 as ssdeep 2.14's
// fuzzy_compare does (the score `ssdeep -a -k` prints). Hashes whose block
// sizes differ by more than a factor of two score 0.
func Compare(a, b string) (int, error) {
	h1, err := Parse(a)
	if err != nil {
		return 0, err
	}
	h2, err := Parse(b)
	if err != nil {
		return 0, err
	}
	return h1.Compare(h2), nil
}

// Compare scores h against o; see the package-level Compare.
func (h Hash) Compare(o Hash) int {
	b1, b2 := h.BlockSize, o.BlockSize
	if b1 != b2 && (b1 > math.MaxUint64/2 || b1*2 != b2) && (b1%2 == 1 || b1/2 != b2) {
		return 0
	}
	// Runs of more than three equal characters carry little information
	// and would bias the score, so ssdeep cuts them to three first.
	s1b1, s1b2 := eliminateSequences(h.Chunk1), eliminateSequences(h.Chunk2)
	s2b1, s2b2 := eliminateSequences(o.Chunk1), eliminateSequences(o.Chunk2)
	if b1 == b2 && s1b1 == s2b1 && s1b2 == s2b2 {
		return 100
	}
	switch {
	case b1 > math.MaxUint64/2:
		switch {
		case b1 == b2:
			return scoreStrings(s1b1, s2b1, b1)
		case b1%2 == 0 && b1/2 == b2:
			return scoreStrings(s1b1, s2b2, b1)
		}
		return 0
	case b1 == b2:
		return max(scoreStrings(s1b1, s2b1, b1), scoreStrings(s1b2, s2b2, b1*2))
	case b1*2 == b2:
		return scoreStrings(s2b1, s1b2, b2)
	default:
		return scoreStrings(s1b1, s2b2, b1)
	}
}

// eliminateSequences keeps at most three of any run of equal characters.
func eliminateSequences(s string) string {
	if len(s) < 4 {
		return s
	}
	out := make([]byte, 0, len(s))
	run := 0
	for i := 0; i < len(s); i++ {
		if i > 0 && s[i] == s[i-1] {
			run++
		} else {
			run = 0
		}
		if run < 3 {
			out = append(out, s[i])
		}
	}
	return string(out)
}

// scoreStrings is ssdeep's score_strings: no score without a common
// substring of seven characters, then the edit distance scaled to the
// lengths, capped for small block sizes so tiny inputs cannot claim
// strong matches.
func scoreStrings(s1, s2 string, blockSize uint64) int {
	if len(s1) > spamsumLength || len(s2) > spamsumLength || !hasCommonSubstring(s1, s2) {
		return 0
	}
	score := uint64(editDistance(s1, s2))
	score = score * spamsumLength / uint64(len(s1)+len(s2))
	score = 100 * score / spamsumLength
	if score >= 100 {
		return 0
	}
	score = 100 - score
	if blockSize >= (99+rollingWindow)/rollingWindow*minBlockSize {
		return int(score)
	}
	if limit := blockSize / minBlockSize * uint64(min(len(s1), len(s2))); score > limit {
		score = limit
	}
	return int(score)
}

func hasCommonSubstring(s1, s2 string) bool {
	if len(s1) < rollingWindow || len(s2) < rollingWindow {
		return false
	}
	for i := 0; i+rollingWindow <= len(s1); i++ {
		if strings.Contains(s2, s1[i:i+rollingWindow]) {
			return true
		}
	}
	return false
}

// editDistance is the edit distance where insertions and deletions cost
// 1 and a substitution costs 2 (ssdeep's edit_distn).
func editDistance(s1, s2 string) int {
	var row [spamsumLength + 1]int
	for j := range len(s2) + 1 {
		row[j] = j
	}
	for i := 1; i <= len(s1); i++ {
		diag := row[0]
		row[0] = i
		for j := 1; j <= len(s2); j++ {
			cost := 2
			if s1[i-1] == s2[j-1] {
				cost = 0
			}
			next := min(row[j]+1, row[j-1]+1, diag+cost)
			diag = row[j]
			row[j] = next
		}
	}
	return row[len(s2)]
}

// Gram is one key of an n-gram index over ssdeep hashes: seven characters
// of a chunk, at the block size that chunk was taken at.
type Gram struct {
	BlockSize uint64
	Text      string
}

// Grams returns the distinct index keys of h: every seven-character
// substring of Chunk1 at BlockSize and of Chunk2 at 2*BlockSize, after
// the same run-shortening Compare applies. Two hashes that Compare scores
// above 0 always share a Gram, unless they are equal in every chunk (then
// the score is 100 even when the chunks are too short to have Grams), so
// an index of Grams finds every candidate and only those need comparing.
func (h Hash) Grams() []Gram {
	var out []Gram
	seen := map[Gram]bool{}
	add := func(bs uint64, chunk string) {
		chunk = eliminateSequences(chunk)
		for i := 0; i+rollingWindow <= len(chunk); i++ {
			g := Gram{BlockSize: bs, Text: chunk[i : i+rollingWindow]}
			if !seen[g] {
				seen[g] = true
				out = append(out, g)
			}
		}
	}
	add(h.BlockSize, h.Chunk1)
	if h.BlockSize <= math.MaxUint64/2 {
		add(h.BlockSize*2, h.Chunk2)
	}
	return out
}
