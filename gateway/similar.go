package gateway

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"dewar/cas"
	"dewar/gateway/analyze"
	"dewar/index"
)

// SimilarFile is a file similar to the one asked about, with the method
// that found it and that method's score.
type SimilarFile struct {
	Ref cas.Ref
	// Method is "ssdeep", "tlsh", "pdq", "phash" or "minhash": the closest
	// of the methods that matched (see Closeness).
	Method string
	// Score is the method's own measure, so it reads as the tools print
	// it: for ssdeep the ssdeep score and for minhash the estimated
	// Jaccard similarity of the token shingles in percent (both 0..100,
	// higher is closer); for tlsh, pdq and phash the distance (0 is
	// identical; lower is closer).
	Score int
	// Closeness puts all methods on one scale, 0..1 (1 identical), the
	// order of the answer: ssdeep score/100, MinHash similarity, and
	// 1-distance/(2*threshold) for the distances, so a match right at its
	// method's threshold is 0.5.
	Closeness float64
	File      index.File
}

// Candidate limits per method: the index hands over the files sharing
// the most keys first (or, for TLSH, the nearest length buckets first), and
// only those are compared exactly.
const (
	minCandidates  = 100
	maxCandidates  = 2000
	tlshCandidates = 20000
)

// Similar returns up to limit files similar to ref, closest first
// (Closeness, then sha256), each once with its closest method:
//
//   - ssdeep: files sharing a 7-gram of the hash (or the whole hash),
//     scored by ssdeep, kept when the score is at least 1;
//   - tlsh: files in the length buckets within analyze.TLSHRadius, kept
//     within distance 100;
//   - pdq: images sharing a 16-bit band, kept within 31 of 256 bits
//     (hashes of quality under 50 take no part);
//   - phash: images sharing an 8-bit band, kept within 10 of 64 bits;
//   - minhash: small web files sharing a MinHash LSH band, kept at an
//     estimated similarity of 0.5 or more.
//
// The thresholds are gateway/analyze's. The index only narrows the
// candidates (SimilarCandidates, TLSHCandidates); each is compared exactly
// from its stored hashes. Per method at most max(100, 2*limit) candidates
// (2000 at most; TLSH 20000) are compared, so on a huge store a weak
// match behind many stronger candidates can be missed.
//
// A file never seen is index.ErrFileNotFound; a file not analysed (yet)
// has no similar files.
func (s *Service) Similar(ctx context.Context, ref cas.Ref, limit int) ([]SimilarFile, error) {
	if limit <= 0 {
		return nil, nil
	}
	q, err := s.idx.GetAnalysis(ctx, ref)
	if errors.Is(err, index.ErrNotFound) {
		if _, err := s.idx.GetFile(ctx, ref); err != nil {
			return nil, fmt.Errorf("gateway: similar to %s: %w", ref, err)
		}
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("gateway: similar to %s: %w", ref, err)
	}
	n := min(max(minCandidates, 2*limit), maxCandidates)
	best := map[cas.Ref]analyze.Match{}
	consider := func(c cas.Ref, m analyze.Match) {
		if old, ok := best[c]; !ok || m.Closeness > old.Closeness ||
			m.Closeness == old.Closeness && methodRank(m.Method) < methodRank(old.Method) {
			best[c] = m
		}
	}

	// Candidates of every keyed method first, then their hashes in one
	// read, then the exact comparisons.
	cands := map[string][]index.SimCandidate{}
	var refs []cas.Ref
	seen := map[cas.Ref]bool{}
	for _, method := range analyze.Methods {
		keys := analyze.KeysOf(q, method)
		if len(keys) == 0 {
			continue
		}
		cs, err := s.idx.SimilarCandidates(ctx, method, keys, ref, n)
		if err != nil {
			return nil, fmt.Errorf("gateway: similar to %s (%s): %w", ref, method, err)
		}
		cands[method] = cs
		for _, c := range cs {
			if !seen[c.Ref] {
				seen[c.Ref] = true
				refs = append(refs, c.Ref)
			}
		}
	}
	loaded, err := s.idx.Fingerprints(ctx, refs)
	if err != nil {
		return nil, fmt.Errorf("gateway: similar to %s: %w", ref, err)
	}
	for _, method := range analyze.Methods {
		for _, c := range cands[method] {
			a, ok := loaded[c.Ref]
			if !ok {
				continue // re-analysed or gone meanwhile
			}
			if m, ok := analyze.Compare(method, q, a); ok {
				consider(c.Ref, m)
			}
		}
	}
	if lv, ok := analyze.TLSHLength(q.TLSH); ok {
		cands, err := s.idx.TLSHCandidates(ctx, lv, analyze.TLSHRadius, ref, tlshCandidates)
		if err != nil {
			return nil, fmt.Errorf("gateway: similar to %s (tlsh): %w", ref, err)
		}
		for _, c := range cands {
			if m, ok := analyze.Compare(analyze.MethodTLSH, q, c); ok {
				consider(c.Ref, m)
			}
		}
	}

	out := make([]SimilarFile, 0, len(best))
	for r, m := range best {
		out = append(out, SimilarFile{Ref: r, Method: m.Method, Score: m.Score, Closeness: m.Closeness})
	}
	slices.SortFunc(out, func(a, b SimilarFile) int {
		return cmp.Or(cmp.Compare(b.Closeness, a.Closeness), methodRank(a.Method)-methodRank(b.Method), refCompare(a.Ref, b.Ref))
	})
	kept := out[:0]
	for _, sf := range out {
		if len(kept) == limit {
			break
		}
		f, err := s.idx.GetFile(ctx, sf.Ref)
		if errors.Is(err, index.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("gateway: similar to %s: %w", ref, err)
		}
		sf.File = f
		kept = append(kept, sf)
	}
	return kept, nil
}

func refCompare(a, b cas.Ref) int {
	switch {
	case a.Less(b):
		return -1
	case b.Less(a):
		return 1
	}
	return 0
}

// methodRank orders methods for ties (analyze.Methods' order).
func methodRank(m string) int {
	if i := slices.Index(analyze.Methods, m); i >= 0 {
		return i
	}
	return len(analyze.Methods)
}
