package tokens

import (
	"cmp"
	"math"
	"slices"
)

// Weighted is a token with the number of jobs it occurs in and its
// rarity weight.
type Weighted struct {
	Token   string
	DocFreq int64
	Weight  float64
}

// IDF is the inverse document frequency of a token that occurs in df of n
// jobs: ln((n+1)/(df+1)), 0 for a token in every job, larger for rarer
// ones; counts out of range are clamped.
func IDF(df, n int64) float64 {
	n = max(n, 0)
	df = min(max(df, 0), n)
	return math.Log(float64(n+1) / float64(df+1))
}

// Rank orders a file's tokens rarest first, given in how many of n jobs
// each occurs (a token missing from df occurs in none); ties go by token.
func Rank(tokens []string, df map[string]int64, n int64) []Weighted {
	out := make([]Weighted, len(tokens))
	for i, t := range tokens {
		d := df[t]
		out[i] = Weighted{Token: t, DocFreq: d, Weight: IDF(d, n)}
	}
	slices.SortFunc(out, func(a, b Weighted) int {
		if c := cmp.Compare(b.Weight, a.Weight); c != 0 {
			return c
		}
		return cmp.Compare(a.Token, b.Token)
	})
	return out
}

// Rarity scores a file from its ranked tokens, to rank a job's files
// rarest first: the mean weight of its k rarest tokens (of all of them
// when it has fewer; 0 when none). A mean over a fixed k, rather than a
// sum, keeps big files from winning by size alone.
func Rarity(ranked []Weighted, k int) float64 {
	k = min(k, len(ranked))
	if k <= 0 {
		return 0
	}
	sum := 0.0
	for _, w := range ranked[:k] {
		sum += w.Weight
	}
	return sum / float64(k)
}
