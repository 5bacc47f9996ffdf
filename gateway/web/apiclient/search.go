package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// MaxLookup is the most hashes the server answers in one lookup call;
// Lookup splits longer lists.
const MaxLookup = 10000

// File is a file as search results show it; the file call (File) adds
// IOCs and Analyses.
type File struct {
	SHA256    string    `json:"sha256"`
	SHA1      string    `json:"sha1"`
	MD5       string    `json:"md5"`
	Size      int64     `json:"size"`
	MIME      string    `json:"mime"`
	KnownGood bool      `json:"known_good"`
	FirstSeen time.Time `json:"first_seen"`
	JobCount  int64     `json:"job_count"`
	IOCs      []IOC     `json:"iocs,omitempty"`
	Analyses  *Analyses `json:"analyses,omitempty"`
	// RareTokens are the file's rarest tokens, fewest jobs first.
	RareTokens []RareToken `json:"rare_tokens,omitempty"`
}

// RareToken is a token with the number of done jobs holding it.
type RareToken struct {
	Token string `json:"token"`
	Jobs  int64  `json:"jobs"`
}

// IOC is one indicator found in a file.
type IOC struct {
	Type    string `json:"type"`
	Value   string `json:"value"`
	Chain   string `json:"chain,omitempty"`
	Class   string `json:"class,omitempty"`
	Context string `json:"context,omitempty"`
}

// Analyses is what the analyzers recorded of a file.
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

// File returns the file with that md5, sha1 or sha256 (an *Error with
// Status 404 when never seen).
func (c *Client) File(ctx context.Context, hash string) (File, error) {
	var f File
	return f, c.do(ctx, http.MethodGet, "/api/v1/files/"+url.PathEscape(hash), nil, nil, "", &f)
}

// FileJob is one job a file occurs in, with the file's paths there.
type FileJob struct {
	Job    Job      `json:"job"`
	Paths  []string `json:"paths"`
	Upload bool     `json:"upload,omitempty"`
}

// FileJobsPage is a page of the jobs a file occurs in; a job with many
// paths may continue on the next page.
type FileJobsPage struct {
	Items []FileJob `json:"items"`
	Next  string    `json:"next,omitempty"`
}

// FileJobs returns a page of the jobs a file occurs in, after cursor (""
// to start), up to limit paths (0: the server's default).
func (c *Client) FileJobs(ctx context.Context, hash, cursor string, limit int) (FileJobsPage, error) {
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var p FileJobsPage
	return p, c.do(ctx, http.MethodGet, "/api/v1/files/"+url.PathEscape(hash)+"/jobs", q, nil, "", &p)
}

// SimilarFile is a file similar to another, with the method that found
// it and its score by that method: the ssdeep score or the MinHash
// similarity in percent (higher is closer), or the TLSH, PDQ or pHash
// distance (lower is closer). Closeness puts them on one scale, 0..1.
type SimilarFile struct {
	SHA256    string  `json:"sha256"`
	Method    string  `json:"method"`
	Score     int     `json:"score"`
	Closeness float64 `json:"closeness,omitempty"`
	File      *File   `json:"file,omitempty"`
}

// Similar returns files similar to the file with that hash, closest
// first, up to limit (0: the server's default).
func (c *Client) Similar(ctx context.Context, hash string, limit int) ([]SimilarFile, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out []SimilarFile
	return out, c.do(ctx, http.MethodGet, "/api/v1/files/"+url.PathEscape(hash)+"/similar", q, nil, "", &out)
}

// LookupResult answers one hash of a bulk lookup.
type LookupResult struct {
	Hash      string `json:"hash"`
	Found     bool   `json:"found"`
	SHA256    string `json:"sha256"`
	KnownGood bool   `json:"known_good"`
	JobCount  int64  `json:"job_count"`
}

// Lookup answers any number of hashes (md5, sha1, sha256, mixed), one
// result per hash in order, in calls of MaxLookup.
func (c *Client) Lookup(ctx context.Context, hashes []string) ([]LookupResult, error) {
	out := make([]LookupResult, 0, len(hashes))
	for start := 0; start < len(hashes); start += MaxLookup {
		batch := hashes[start:min(start+MaxLookup, len(hashes))]
		b, err := json.Marshal(map[string][]string{"hashes": batch})
		if err != nil {
			return nil, err
		}
		var res struct {
			Results []LookupResult `json:"results"`
		}
		if err := c.do(ctx, http.MethodPost, "/api/v1/lookup", nil, bytes.NewReader(b), "application/json", &res); err != nil {
			return nil, err
		}
		if len(res.Results) != len(batch) {
			return nil, fmt.Errorf("dewar api: lookup of %d hashes answered %d", len(batch), len(res.Results))
		}
		out = append(out, res.Results...)
	}
	return out, nil
}

// SearchOptions describe one page of a search.
type SearchOptions struct {
	Query  string
	Type   string // "files" (default) or "jobs"
	Cursor string
	Limit  int  // 0: the server's default
	Count  bool // also count all matches
}

// SearchPage is a page of results: Files or Jobs by Type.
type SearchPage struct {
	Type  string
	Files []File
	Jobs  []Job
	Next  string
	Total *int64
}

// Search returns a page of the files or jobs matching a query. A query
// that does not parse is an *Error with Code "bad_query", Position and
// Caret.
func (c *Client) Search(ctx context.Context, o SearchOptions) (SearchPage, error) {
	q := url.Values{"q": {o.Query}}
	if o.Type != "" {
		q.Set("type", o.Type)
	}
	if o.Cursor != "" {
		q.Set("cursor", o.Cursor)
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Count {
		q.Set("count", "true")
	}
	var raw struct {
		Type  string          `json:"type"`
		Items json.RawMessage `json:"items"`
		Next  string          `json:"next"`
		Total *int64          `json:"total"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/v1/search", q, nil, "", &raw); err != nil {
		return SearchPage{}, err
	}
	p := SearchPage{Type: raw.Type, Next: raw.Next, Total: raw.Total}
	var err error
	if raw.Type == "jobs" {
		err = json.Unmarshal(raw.Items, &p.Jobs)
	} else {
		err = json.Unmarshal(raw.Items, &p.Files)
	}
	return p, err
}

// Keyword is one field of the query language.
type Keyword struct {
	Name        string `json:"name"`
	Kind        string `json:"kind"`
	Target      string `json:"target"`
	HashLen     int    `json:"hash_len,omitempty"`
	Fold        bool   `json:"fold,omitempty"`
	Description string `json:"description"`
	Example     string `json:"example"`
}

// SearchHelp is the query language's help.
type SearchHelp struct {
	Grammar  string    `json:"grammar"`
	Keywords []Keyword `json:"keywords"`
	Text     string    `json:"text"`
}

// SearchHelp returns the grammar and fields of the query language.
func (c *Client) SearchHelp(ctx context.Context) (SearchHelp, error) {
	var h SearchHelp
	return h, c.do(ctx, http.MethodGet, "/api/v1/search/help", nil, nil, "", &h)
}

// KnownGoodMatch is a known-good job close to a job.
type KnownGoodMatch struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	Shared        int64  `json:"shared"`
	Root          string `json:"root"`
	KnownGoodRoot string `json:"known_good_root"`
}

// DiffEntry is a tree entry with its diff; Base is the known-good file a
// modified one replaced.
type DiffEntry struct {
	TreeEntry
	Base *DiffBase `json:"base,omitempty"`
}

// DiffBase is the known-good counterpart of a modified file.
type DiffBase struct {
	Job    string `json:"job"`
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// DiffCounts count a job's file paths by diff.
type DiffCounts struct {
	KnownGood int64 `json:"known_good"`
	Modified  int64 `json:"modified"`
	New       int64 `json:"new"`
}

// JobDiff is a job's diff against the known-good corpus.
type JobDiff struct {
	JobID   string           `json:"job_id"`
	Matches []KnownGoodMatch `json:"known_good_jobs"`
	Tree    []DiffEntry      `json:"tree"`
	Counts  DiffCounts       `json:"counts"`
	Summary string           `json:"summary"`
}

// JobDiff returns a job's tree with each path's known-good diff, the
// closest known-good jobs and a summary.
func (c *Client) JobDiff(ctx context.Context, id string) (JobDiff, error) {
	var d JobDiff
	return d, c.do(ctx, http.MethodGet, "/api/v1/jobs/"+url.PathEscape(id)+"/diff", nil, nil, "", &d)
}

// OpenAPI returns the server's OpenAPI document.
func (c *Client) OpenAPI(ctx context.Context) (json.RawMessage, error) {
	var doc json.RawMessage
	return doc, c.do(ctx, http.MethodGet, "/api/v1/openapi.json", nil, nil, "", &doc)
}
