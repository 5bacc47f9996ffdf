package index

import (
	"context"
	"fmt"
	"time"

	"dewar/cas"
	"dewar/index/query"
)

// ErrAnalysisNotFound: the file has no recorded analysis.
var ErrAnalysisNotFound = fmt.Errorf("%w: no analysis for that file", ErrNotFound)

// IOC is one indicator found in a file.
type IOC struct {
	// Type is "url", "domain", "email", "ip", "telegram-token" or
	// "telegram-chat".
	Type string `json:"type"`
	// Value is normalised by the analyzer (lowercase host, refanged).
	Value string `json:"value"`
	// Chain is the decoding that revealed it ("" in plain text, else
	// e.g. "base64>hex").
	Chain string `json:"chain,omitempty"`
	// Class flags IP addresses: "private", "loopback", "reserved", ...
	Class string `json:"class,omitempty"`
	// Context is a short snippet around the indicator.
	Context string `json:"context,omitempty"`
}

// SimKey is one locality-sensitive key of a file for a similarity method:
// files sharing a key are candidates, compared exactly afterwards.
type SimKey struct {
	Method string // "ssdeep", "pdq", "phash", "minhash"
	Key    int64
}

// Analysis is everything the analyzers found in one file. SetAnalysis
// replaces a file's whole record (reanalysis overwrites).
type Analysis struct {
	Ref    cas.Ref
	SSDeep string // ssdeep hash, "" when not computed
	TLSH   string // "T1"+hex, "" when the file is too small or too uniform
	PDQ    string // hex, images only
	PHash  string // hex, images only
	// Language the token analyzer recognised ("php", "js", "html", ...).
	Language string
	IOCs     []IOC
	// Tokens are the file's distinct normalised tokens.
	Tokens []string
	// MinHash is the token-shingle signature (small web files only).
	MinHash []uint32
	// Keys are the similarity keys to index (ssdeep grams, image-hash and
	// MinHash bands).
	Keys []SimKey
	// Versions records which version of each analyzer produced this, so
	// reanalysis can find files an analyzer changed for.
	Versions   map[string]int
	AnalyzedAt time.Time
}

// Analyses stores analysis results.
type Analyses interface {
	// SetAnalysis records a's results for a file the index knows
	// (ErrFileNotFound otherwise), replacing earlier ones, in one
	// transaction.
	SetAnalysis(ctx context.Context, a Analysis) error
	// SetAnalyses records several as SetAnalysis does, in one
	// transaction (much cheaper per file); ErrFileNotFound, and nothing
	// recorded, when any file is unknown.
	SetAnalyses(ctx context.Context, as []Analysis) error
	// GetAnalysis returns ErrAnalysisNotFound for a file never analysed.
	GetAnalysis(ctx context.Context, ref cas.Ref) (Analysis, error)
	// Unanalysed returns those of refs with no analysis (files the index
	// does not know included), in the order given, in a few statements:
	// ingestion asks it for every file of a job.
	Unanalysed(ctx context.Context, refs []cas.Ref) ([]cas.Ref, error)
	// StaleFiles pages through files (in ref order, above after) whose
	// recorded version of analyzer is below version or missing.
	StaleFiles(ctx context.Context, analyzer string, version int, after cas.Ref, limit int) ([]cas.Ref, error)
}

// SearchOptions page a search.
type SearchOptions struct {
	// Cursor continues after the last item of the previous page ("" to
	// start); opaque to callers.
	Cursor string
	Limit  int
	// Count asks for the total number of matches (costly on huge results:
	// the first page never waits for it unless asked).
	Count bool
	// Similar answers similar:<sha256> terms: the gateway computes the
	// similar files (similarity is not SQL) and the search restricts to
	// them. nil: similar: terms match nothing.
	Similar func(ctx context.Context, ref cas.Ref) ([]cas.Ref, error)
}

// FileHits is a page of file search results, in sha256 order.
type FileHits struct {
	Files []File
	Next  string // cursor of the next page, "" when done
	Total *int64 // when SearchOptions.Count
}

// JobHits is a page of job search results, newest first.
type JobHits struct {
	Jobs  []Job
	Next  string
	Total *int64
}

// LookupResult answers one hash of a bulk lookup.
type LookupResult struct {
	Hash      string  `json:"hash"`
	Found     bool    `json:"found"`
	SHA256    cas.Ref `json:"sha256,omitempty"`
	KnownGood bool    `json:"known_good"`
	JobCount  int64   `json:"job_count"`
}

// SimCandidate is a file sharing similarity keys with the query.
type SimCandidate struct {
	Ref    cas.Ref
	Shared int // keys in common
}

// JobOverlap is a known-good job sharing files with another job.
type JobOverlap struct {
	Job    Job
	Shared int64 // distinct files in common
}

// TokenFreq is a token with the number of jobs it occurs in.
type TokenFreq struct {
	Token string
	Jobs  int64
}

// Searcher answers the query language and the lookups.
type Searcher interface {
	// SearchFiles returns the files matching q.
	SearchFiles(ctx context.Context, q query.Node, opts SearchOptions) (FileHits, error)
	// SearchJobs returns the jobs matching q.
	SearchJobs(ctx context.Context, q query.Node, opts SearchOptions) (JobHits, error)
	// FileByHash finds a file by its md5, sha1 or sha256 (by length);
	// ErrFileNotFound when never seen.
	FileByHash(ctx context.Context, hash string) (File, error)
	// Lookup answers up to 10,000 mixed hashes in one call, in order.
	Lookup(ctx context.Context, hashes []string) ([]LookupResult, error)
	// SimilarCandidates returns files sharing at least one of keys (of one
	// method), most shared first, up to limit, excluding exclude.
	SimilarCandidates(ctx context.Context, method string, keys []int64, exclude cas.Ref, limit int) ([]SimCandidate, error)
	// TLSHCandidates returns files whose TLSH length byte (lvalue, the
	// third and fourth hex digits after "T1", read with their nibbles
	// swapped as TLSH prints header bytes: analyzers/tlsh's Digest.LValue)
	// is within radius of lvalue, with their TLSH, up to limit: the
	// pre-filter before exact distances.
	TLSHCandidates(ctx context.Context, lvalue, radius int, exclude cas.Ref, limit int) ([]Analysis, error)
	// KnownGoodOverlap returns the done known-good jobs sharing the most
	// distinct files with jobID, most first.
	KnownGoodOverlap(ctx context.Context, jobID string, limit int) ([]JobOverlap, error)
	// Fingerprints returns the similarity hashes (SSDeep, TLSH, PDQ,
	// PHash, MinHash; nothing else) of those of refs that have an
	// analysis, in a few statements: what an exact comparison of many
	// candidates needs.
	Fingerprints(ctx context.Context, refs []cas.Ref) (map[cas.Ref]Analysis, error)
	// TokenFrequencies returns how many jobs each token occurs in.
	TokenFrequencies(ctx context.Context, tokens []string) ([]TokenFreq, error)
	// RareTokens returns a file's tokens, rarest first (fewest jobs, then
	// by token), up to limit: what sets the file apart from stock code.
	RareTokens(ctx context.Context, ref cas.Ref, limit int) ([]TokenFreq, error)
	// RareFiles ranks a job's files by how many of their tokens occur in
	// at most maxJobs jobs (most first, then by ref), up to limit; files
	// with none are left out.
	RareFiles(ctx context.Context, jobID string, maxJobs int64, limit int) ([]RareFile, error)
}

// RareFile is a job's file with its count of rare tokens.
type RareFile struct {
	Ref    cas.Ref
	Path   string // the file's first path in the job's tree
	Rare   int64  // tokens in at most the asked number of jobs
	Tokens int64  // the file's distinct tokens
}

// Search is the index as analysis and search use it.
type Search interface {
	Analyses
	Searcher
}
