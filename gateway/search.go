package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"

	"dewar/cas"
	"dewar/index"
	"dewar/index/query"
)

// Errors of search and lookups. Query errors are *query.Error values
// (wrapping query.ErrInvalid) with the position of the problem.
var (
	// ErrBadRequest: an argument of a search or lookup is malformed (a
	// hash, a cursor, a type, a limit).
	ErrBadRequest = errors.New("gateway: bad request")
)

// Search result types.
const (
	SearchFiles = "files"
	SearchJobs  = "jobs"
)

// MaxSearchLimit caps a page of search results.
const MaxSearchLimit = 1000

// similarLimit is how many similar files a similar: term stands for.
const similarLimit = 1000

// SearchRequest is one page of a search.
type SearchRequest struct {
	Query  string
	Type   string // SearchFiles (default) or SearchJobs
	Cursor string // "" for the first page
	Limit  int    // 1..MaxSearchLimit; 0 means 50
	Count  bool   // also count all matches (costly on huge results)
}

// FileSummary is a file as search results and job listings show it.
type FileSummary struct {
	SHA256    cas.Ref   `json:"sha256"`
	SHA1      string    `json:"sha1"`
	MD5       string    `json:"md5"`
	Size      int64     `json:"size"`
	MIME      string    `json:"mime"`
	KnownGood bool      `json:"known_good"`
	FirstSeen time.Time `json:"first_seen"`
	JobCount  int64     `json:"job_count"`
}

// SummaryOf returns the summary of f.
func SummaryOf(f index.File) FileSummary {
	return FileSummary{SHA256: f.Ref, SHA1: f.SHA1, MD5: f.MD5, Size: f.Size, MIME: f.MIME,
		KnownGood: f.KnownGood, FirstSeen: f.FirstSeen, JobCount: f.JobCount}
}

// SearchResult is one page: Files or Jobs (by the request's type), the
// cursor of the next page ("" at the end) and, when asked, the total.
type SearchResult struct {
	Type  string
	Files []FileSummary
	Jobs  []Manifest
	Next  string
	Total *int64
}

// Search parses r.Query (a *query.Error says where it is wrong) and
// returns a page of the matching files (in sha256 order) or jobs (newest
// first). similar: terms are answered by Similar.
func (s *Service) Search(ctx context.Context, r SearchRequest) (SearchResult, error) {
	srch := s.idx
	if r.Type == "" {
		r.Type = SearchFiles
	}
	if r.Type != SearchFiles && r.Type != SearchJobs {
		return SearchResult{}, fmt.Errorf("%w: type must be files or jobs, not %q", ErrBadRequest, r.Type)
	}
	if r.Limit == 0 {
		r.Limit = 50
	}
	if r.Limit < 1 || r.Limit > MaxSearchLimit {
		return SearchResult{}, fmt.Errorf("%w: limit must be 1..%d", ErrBadRequest, MaxSearchLimit)
	}
	q, err := query.Parse(r.Query)
	if err != nil {
		return SearchResult{}, err
	}
	opts := index.SearchOptions{Cursor: r.Cursor, Limit: r.Limit, Count: r.Count, Similar: s.similarRefs}
	out := SearchResult{Type: r.Type}
	if r.Type == SearchJobs {
		hits, err := srch.SearchJobs(ctx, q, opts)
		if err != nil {
			return SearchResult{}, err
		}
		out.Jobs = make([]Manifest, 0, len(hits.Jobs))
		for _, j := range hits.Jobs {
			out.Jobs = append(out.Jobs, ManifestOf(j))
		}
		out.Next, out.Total = hits.Next, hits.Total
		return out, nil
	}
	hits, err := srch.SearchFiles(ctx, q, opts)
	if err != nil {
		return SearchResult{}, err
	}
	out.Files = make([]FileSummary, 0, len(hits.Files))
	for _, f := range hits.Files {
		out.Files = append(out.Files, SummaryOf(f))
	}
	out.Next, out.Total = hits.Next, hits.Total
	return out, nil
}

// similarRefs answers similar: terms with the files Similar finds (the
// closest similarLimit of them).
func (s *Service) similarRefs(ctx context.Context, ref cas.Ref) ([]cas.Ref, error) {
	sim, err := s.Similar(ctx, ref, similarLimit)
	if errors.Is(err, index.ErrNotFound) {
		return nil, nil // similar to a file never seen: nothing
	}
	if err != nil {
		return nil, err
	}
	refs := make([]cas.Ref, len(sim))
	for i, f := range sim {
		refs[i] = f.Ref
	}
	return refs, nil
}
