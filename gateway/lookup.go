package gateway

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"dewar/cas"
	"dewar/index"
)

// MaxLookup is the most hashes one bulk lookup answers.
const MaxLookup = 10000

// ErrTooMany: a bulk lookup of more than MaxLookup hashes.
var ErrTooMany = fmt.Errorf("%w: too many hashes", ErrBadRequest)

// FileView is a file as the API's file call shows it: the summary, the
// IOCs, and what the analyzers found (Analyses is nil for a file never
// analysed).
type FileView struct {
	FileSummary
	IOCs     []index.IOC `json:"iocs"`
	Analyses *Analyses   `json:"analyses"`
	// RareTokens are the file's FileRareTokens rarest tokens, with the
	// number of done jobs each occurs in (see RareFiles).
	RareTokens []RareToken `json:"rare_tokens"`
}

// Analyses is the analyzers' record of a file, without the bulky parts
// (tokens are counted, MinHash and similarity keys left out).
type Analyses struct {
	SSDeep     string         `json:"ssdeep,omitempty"`
	TLSH       string         `json:"tlsh,omitempty"`
	PDQ        string         `json:"pdq,omitempty"`
	PHash      string         `json:"phash,omitempty"`
	Language   string         `json:"language,omitempty"`
	Tokens     int            `json:"tokens"`
	Versions   map[string]int `json:"versions,omitempty"`
	AnalyzedAt time.Time      `json:"analyzed_at"`
}

// ValidHash reports whether h is an md5, sha1 or sha256 in hex (32, 40
// or 64 hex digits, any case).
func ValidHash(h string) bool {
	if len(h) != 32 && len(h) != 40 && len(h) != 64 {
		return false
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// File returns the file with that md5, sha1 or sha256 (ErrBadRequest for
// anything else; index.ErrFileNotFound when never seen), with its IOCs
// and analyses.
func (s *Service) File(ctx context.Context, hash string) (FileView, error) {
	srch := s.idx
	if !ValidHash(hash) {
		return FileView{}, fmt.Errorf("%w: %q is not an md5, sha1 or sha256", ErrBadRequest, clipHash(hash))
	}
	f, err := srch.FileByHash(ctx, strings.ToLower(hash))
	if err != nil {
		return FileView{}, err
	}
	v := FileView{FileSummary: SummaryOf(f), IOCs: []index.IOC{}, RareTokens: []RareToken{}}
	a, err := srch.GetAnalysis(ctx, f.Ref)
	switch {
	case errors.Is(err, index.ErrNotFound):
	case err != nil:
		return FileView{}, err
	default:
		if a.IOCs != nil {
			v.IOCs = a.IOCs
		}
		v.Analyses = &Analyses{SSDeep: a.SSDeep, TLSH: a.TLSH, PDQ: a.PDQ, PHash: a.PHash, Language: a.Language,
			Tokens: len(a.Tokens), Versions: a.Versions, AnalyzedAt: a.AnalyzedAt}
		if len(a.Tokens) > 0 {
			if v.RareTokens, err = s.rareTokens(ctx, f.Ref, FileRareTokens); err != nil {
				return FileView{}, err
			}
		}
	}
	return v, nil
}

func clipHash(h string) string {
	if len(h) > 80 {
		return h[:80] + "…"
	}
	return h
}

// Lookup answers up to MaxLookup hashes of any kind (md5, sha1, sha256 by
// length), one result per hash in order; a string that is no hash is not
// found. More hashes fail with ErrTooMany before the index is asked.
func (s *Service) Lookup(ctx context.Context, hashes []string) ([]index.LookupResult, error) {
	if len(hashes) > MaxLookup {
		return nil, fmt.Errorf("%w: %d hashes in one lookup (at most %d; split the list)", ErrTooMany, len(hashes), MaxLookup)
	}
	if len(hashes) == 0 {
		return []index.LookupResult{}, nil
	}
	return s.idx.Lookup(ctx, hashes)
}

// FileJob is one job a file occurs in, with the file's paths there (a
// page may hold only some of them: the next page continues the list).
// Upload is set when the file is the job's upload itself.
type FileJob struct {
	Job    Manifest `json:"job"`
	Paths  []string `json:"paths"`
	Upload bool     `json:"upload,omitempty"`
}

// FileJobs is a page of the jobs a file occurs in.
type FileJobs struct {
	Items []FileJob `json:"items"`
	Next  string    `json:"next,omitempty"`
}

// MaxFileJobsLimit caps a page of FileJobsOf, in occurrences (paths).
const MaxFileJobsLimit = 1000

// FileJobsOf returns a page of the jobs ref occurs in, by job ID then
// path, up to limit occurrences (0 means 100), after cursor ("" to
// start). Each page costs one keyset read of the occurrences and one read
// per job on it, however many jobs the file is in.
func (s *Service) FileJobsOf(ctx context.Context, ref cas.Ref, cursor string, limit int) (FileJobs, error) {
	if limit == 0 {
		limit = 100
	}
	if limit < 1 || limit > MaxFileJobsLimit {
		return FileJobs{}, fmt.Errorf("%w: limit must be 1..%d", ErrBadRequest, MaxFileJobsLimit)
	}
	after, err := parseFileJobsCursor(cursor)
	if err != nil {
		return FileJobs{}, err
	}
	if _, err := s.idx.GetFile(ctx, ref); err != nil {
		return FileJobs{}, err
	}
	occ, more, err := s.idx.JobsOfFile(ctx, ref, after, limit)
	if err != nil {
		return FileJobs{}, err
	}
	out := FileJobs{Items: []FileJob{}}
	for _, o := range occ {
		n := len(out.Items)
		if n == 0 || out.Items[n-1].Job.ID != o.JobID {
			j, err := s.idx.GetJob(ctx, o.JobID)
			if err != nil {
				return FileJobs{}, err
			}
			out.Items = append(out.Items, FileJob{Job: ManifestOf(j), Paths: []string{}})
			n++
		}
		if o.Path == "" {
			out.Items[n-1].Upload = true
		} else {
			out.Items[n-1].Paths = append(out.Items[n-1].Paths, o.Path)
		}
	}
	if more && len(occ) > 0 {
		out.Next = fileJobsCursor(occ[len(occ)-1])
	}
	return out, nil
}

// fileJobsCursor encodes a (job ID, path) position: the 26-character ID
// then the path, base64url so any path travels in a query string.
func fileJobsCursor(o index.JobFile) string {
	return base64.RawURLEncoding.EncodeToString([]byte(o.JobID + o.Path))
}

func parseFileJobsCursor(c string) (index.JobFile, error) {
	if c == "" {
		return index.JobFile{}, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) < 26 || !index.ValidJobID(string(b[:26])) {
		return index.JobFile{}, fmt.Errorf("%w: cursor %q is not one this call returned", ErrBadRequest, clipHash(c))
	}
	return index.JobFile{JobID: string(b[:26]), Path: string(b[26:])}, nil
}
