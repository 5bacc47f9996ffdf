package gateway

import (
	"context"
	"fmt"

	"dewar/cas"
)

// Rarity: every done job counts once in the job frequency of each token
// of its files (analyzers/tokens; counted after the job's result, see
// index.Queue.CountJobTokens). A token few jobs share is what sets a file
// apart from stock code, so a file shows its rarest tokens first and a job
// ranks its files by how many rare tokens they hold: a kit's own code
// comes before the library it ships.

// RareToken is a token with the number of done jobs it occurs in.
type RareToken struct {
	Token string `json:"token"`
	Jobs  int64  `json:"jobs"`
}

// FileRareTokens is how many of a file's rarest tokens its page shows.
const FileRareTokens = 20

// RareFilesLimit is the most files RareFiles returns.
const RareFilesLimit = 1000

// RareFile is one file of a job's rarity ranking.
type RareFile struct {
	Path       string      `json:"path"`
	SHA256     cas.Ref     `json:"sha256"`
	RareTokens int64       `json:"rare_tokens"` // tokens in at most MaxJobs jobs
	Tokens     int64       `json:"tokens"`
	Rarest     []RareToken `json:"rarest"` // its rarest few
}

// RareFiles is a job's files ranked by rare tokens.
type RareFiles struct {
	Job     string     `json:"job"`
	MaxJobs int64      `json:"max_jobs"`
	Items   []RareFile `json:"items"`
}

// rarestPerFile is how many tokens each RareFile shows.
const rarestPerFile = 5

// rareTokens returns ref's rarest tokens, up to limit.
func (s *Service) rareTokens(ctx context.Context, ref cas.Ref, limit int) ([]RareToken, error) {
	fs, err := s.idx.RareTokens(ctx, ref, limit)
	if err != nil {
		return nil, err
	}
	out := make([]RareToken, len(fs))
	for i, f := range fs {
		out[i] = RareToken{Token: f.Token, Jobs: f.Jobs}
	}
	return out, nil
}

// RareFiles ranks jobID's files by their tokens found in at most maxJobs
// done jobs (1: in this job alone; this job counts once it is done),
// most first, up to limit (1..RareFilesLimit, else ErrBadRequest);
// index.ErrJobNotFound for an unknown job.
func (s *Service) RareFiles(ctx context.Context, jobID string, maxJobs int64, limit int) (RareFiles, error) {
	if limit < 1 || limit > RareFilesLimit {
		return RareFiles{}, fmt.Errorf("%w: limit must be 1..%d", ErrBadRequest, RareFilesLimit)
	}
	if maxJobs < 0 {
		return RareFiles{}, fmt.Errorf("%w: max_jobs must be 0 or more", ErrBadRequest)
	}
	if _, err := s.idx.GetJob(ctx, jobID); err != nil {
		return RareFiles{}, err
	}
	fs, err := s.idx.RareFiles(ctx, jobID, maxJobs, limit)
	if err != nil {
		return RareFiles{}, err
	}
	out := RareFiles{Job: jobID, MaxJobs: maxJobs, Items: make([]RareFile, 0, len(fs))}
	for _, f := range fs {
		rarest, err := s.rareTokens(ctx, f.Ref, rarestPerFile)
		if err != nil {
			return RareFiles{}, err
		}
		out.Items = append(out.Items, RareFile{Path: f.Path, SHA256: f.Ref, RareTokens: f.Rare, Tokens: f.Tokens, Rarest: rarest})
	}
	return out, nil
}
