package api

import (
	"io"
	"net/http"
	"strconv"

	"dewar/cas"
	"dewar/gateway"
	"dewar/gateway/auth"
)

// getFile handles GET /api/v1/files/{hash}: md5, sha1 or sha256.
func (a *API) getFile(w http.ResponseWriter, r *http.Request) {
	if _, err := allow(r, auth.Read); err != nil {
		a.fail(w, r, err)
		return
	}
	f, err := a.svc.File(r.Context(), r.PathValue("hash"))
	if err != nil {
		a.failSearch(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, f)
}

// fileRef resolves the {hash} of a file call to the file's sha256 (an md5
// or sha1 through the index); false when an answer was written.
func (a *API) fileRef(w http.ResponseWriter, r *http.Request) (cas.Ref, bool) {
	h := r.PathValue("hash")
	if ref, err := cas.Parse(h); err == nil {
		return ref, true
	}
	f, err := a.svc.File(r.Context(), h)
	if err != nil {
		a.failSearch(w, r, err)
		return cas.Ref{}, false
	}
	return f.SHA256, true
}

// fileJobs handles GET /api/v1/files/{hash}/jobs?cursor=&limit=: the
// jobs the file occurs in with its paths there, by job ID.
func (a *API) fileJobs(w http.ResponseWriter, r *http.Request) {
	if _, err := allow(r, auth.Read); err != nil {
		a.fail(w, r, err)
		return
	}
	ref, ok := a.fileRef(w, r)
	if !ok {
		return
	}
	limit, ok := limitParam(w, r, gateway.MaxFileJobsLimit)
	if !ok {
		return
	}
	page, err := a.svc.FileJobsOf(r.Context(), ref, r.URL.Query().Get("cursor"), limit)
	if err != nil {
		a.failSearch(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

// SimilarFile is one answer of GET /api/v1/files/{hash}/similar.
type SimilarFile struct {
	SHA256    cas.Ref             `json:"sha256"`
	Method    string              `json:"method"`
	Score     int                 `json:"score"`
	Closeness float64             `json:"closeness"`
	File      gateway.FileSummary `json:"file"`
}

// maxSimilar caps the limit of the similar call.
const maxSimilar = 1000

// similar handles GET /api/v1/files/{hash}/similar?limit=: similar files,
// closest first, with the method that found each and its score.
func (a *API) similar(w http.ResponseWriter, r *http.Request) {
	if _, err := allow(r, auth.Read); err != nil {
		a.fail(w, r, err)
		return
	}
	ref, ok := a.fileRef(w, r)
	if !ok {
		return
	}
	limit, ok := limitParam(w, r, maxSimilar)
	if !ok {
		return
	}
	if limit == 0 {
		limit = 50
	}
	sim, err := a.svc.Similar(r.Context(), ref, limit)
	if err != nil {
		a.failSearch(w, r, err)
		return
	}
	out := make([]SimilarFile, 0, len(sim))
	for _, s := range sim {
		out = append(out, SimilarFile{SHA256: s.Ref, Method: s.Method, Score: s.Score, Closeness: s.Closeness, File: gateway.SummaryOf(s.File)})
	}
	writeJSON(w, http.StatusOK, out)
}

// limitParam reads the limit query parameter (0 when absent); false when
// it is out of 1..max and an answer was written.
func limitParam(w http.ResponseWriter, r *http.Request, max int) (int, bool) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return 0, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		writeError(w, http.StatusBadRequest, "invalid", "limit must be 1.."+strconv.Itoa(max))
		return 0, false
	}
	return n, true
}

// jobDiff handles GET /api/v1/jobs/{id}/diff: the tree with each path's
// known-good diff, the closest known-good jobs, counts and a summary,
// streamed.
func (a *API) jobDiff(w http.ResponseWriter, r *http.Request) {
	if _, err := allow(r, auth.Read); err != nil {
		a.fail(w, r, err)
		return
	}
	j, err := a.svc.Index().GetJob(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	sw := &startWriter{w: w}
	if err := a.svc.WriteDiff(r.Context(), sw, j); err != nil {
		if !sw.started {
			a.fail(w, r, err)
			return
		}
		a.log.ErrorContext(r.Context(), "writing job diff failed", "job", j.ID, "err", err)
	}
}

// jobRare handles GET /api/v1/jobs/{id}/rare?max_jobs=&limit=: the job's
// files ranked by their tokens found in at most max_jobs done jobs
// (default 1: this job alone), with each file's rarest tokens.
func (a *API) jobRare(w http.ResponseWriter, r *http.Request) {
	if _, err := allow(r, auth.Read); err != nil {
		a.fail(w, r, err)
		return
	}
	limit, ok := limitParam(w, r, gateway.RareFilesLimit)
	if !ok {
		return
	}
	if limit == 0 {
		limit = 50
	}
	maxJobs := int64(1)
	if v := r.URL.Query().Get("max_jobs"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "invalid", "max_jobs must be a whole number, 0 or more")
			return
		}
		maxJobs = n
	}
	rare, err := a.svc.RareFiles(r.Context(), r.PathValue("id"), maxJobs, limit)
	if err != nil {
		a.failSearch(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rare)
}

// startWriter notes whether a streamed answer has begun, so an error
// before the first byte can still be answered properly.
type startWriter struct {
	w       io.Writer
	started bool
}

func (s *startWriter) Write(p []byte) (int, error) {
	s.started = true
	return s.w.Write(p)
}
