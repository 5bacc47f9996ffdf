package analyze

import (
	"math"

	"dewar/analyzers/imagehash"
	"dewar/analyzers/ssdeep"
	"dewar/analyzers/tlsh"
	"dewar/analyzers/tokens"
	"dewar/index"
)

// Thresholds: a pair of files is similar by a method when its exact
// comparison passes that method's threshold.
const (
	// MinSSDeepScore: any score ssdeep gives (1..100) means a common
	// 7-character run of the piecewise hash at a common block size, which
	// ssdeep itself reports as a match.
	MinSSDeepScore = 1
	// MaxTLSHDistance: TLSH's authors call 30 or less a near-certain
	// match and find few unrelated files under 100.
	MaxTLSHDistance = 100
	// MaxPDQDistance: PDQ's reference threshold (of 256 bits).
	MaxPDQDistance = imagehash.PDQMatch
	// MaxPHashDistance: the usual pHash threshold (of 64 bits).
	MaxPHashDistance = 10
	// MinMinHashSimilarity: estimated Jaccard similarity of the token
	// 3-shingles; the LSH bands find pairs of 0.5 with probability 0.87
	// and of 0.6 with 0.99 (tokens.Bands).
	MinMinHashSimilarity = 0.5
)

// TLSHRadius is how far apart (in TLSH length buckets) two files within
// MaxTLSHDistance can be: a bucket difference of k > 1 alone costs 12k
// (tlsh.Digest.HeaderDistance).
const TLSHRadius = max(1, MaxTLSHDistance/12)

// TLSHLength returns the length bucket of a TLSH digest (the LValue
// index.Searcher.TLSHCandidates takes), false for "" or a malformed one.
func TLSHLength(s string) (int, bool) {
	d, err := tlsh.Parse(s)
	if err != nil {
		return 0, false
	}
	return int(d.LValue), true
}

// Match is the exact comparison of two files by one method.
type Match struct {
	Method string
	// Score is the method's own measure: the ssdeep score (1..100, higher
	// is closer), the MinHash similarity in percent (50..100, higher is
	// closer), or the TLSH (0.., lower is closer), PDQ (0..256) or pHash
	// (0..64) distance.
	Score int
	// Closeness puts every method on one scale for ordering, 1 for
	// identical: score/100 for ssdeep and MinHash; 1-d/(2*threshold) for
	// the distances, so a match at the threshold is 0.5 like a MinHash of
	// 0.5. A weak ssdeep score (under 50) ranks below every other
	// method's match.
	Closeness float64
}

// Compare compares q with c by method, from their stored analyses, and
// reports whether they are similar by that method's threshold. Missing
// or malformed hashes never match.
func Compare(method string, q, c index.Analysis) (Match, bool) {
	m := Match{Method: method}
	switch method {
	case MethodSSDeep:
		if q.SSDeep == "" || c.SSDeep == "" {
			return m, false
		}
		s, err := ssdeep.Compare(q.SSDeep, c.SSDeep)
		if err != nil || s < MinSSDeepScore {
			return m, false
		}
		m.Score, m.Closeness = s, float64(s)/100
	case MethodTLSH:
		if q.TLSH == "" || c.TLSH == "" {
			return m, false
		}
		d, err := tlsh.Diff(q.TLSH, c.TLSH)
		if err != nil || d > MaxTLSHDistance {
			return m, false
		}
		m.Score, m.Closeness = d, distanceCloseness(d, MaxTLSHDistance)
	case MethodPDQ:
		d, err := imagehash.PDQDistance(q.PDQ, c.PDQ)
		if err != nil || d > MaxPDQDistance {
			return m, false
		}
		m.Score, m.Closeness = d, distanceCloseness(d, MaxPDQDistance)
	case MethodPHash:
		d, err := imagehash.PHashDistance(q.PHash, c.PHash)
		if err != nil || d > MaxPHashDistance {
			return m, false
		}
		m.Score, m.Closeness = d, distanceCloseness(d, MaxPHashDistance)
	case MethodMinHash:
		if len(q.MinHash) == 0 || len(c.MinHash) == 0 {
			return m, false
		}
		s := tokens.Similarity(tokens.Signature(q.MinHash), tokens.Signature(c.MinHash))
		if s < MinMinHashSimilarity {
			return m, false
		}
		m.Score, m.Closeness = int(math.Round(s*100)), s
	default:
		return m, false
	}
	return m, true
}

func distanceCloseness(d, threshold int) float64 {
	return 1 - float64(d)/float64(2*threshold)
}

// Methods are the similarity methods in the order ties are broken (the
// more specific evidence first).
var Methods = []string{MethodSSDeep, MethodTLSH, MethodMinHash, MethodPDQ, MethodPHash}
