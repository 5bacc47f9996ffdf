// Package api is Dewar's JSON API under /api/v1: the same powers as the
// S3 side and the web UI, for scripts and the dewar command line.
package api

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"dewar/gateway"
	"dewar/gateway/auth"
	"dewar/gateway/web"
	"dewar/index"
)

// API serves /api/v1.
type API struct {
	svc *gateway.Service
	log *slog.Logger
	mux *http.ServeMux
}

// New returns the API over the core service.
func New(svc *gateway.Service, log *slog.Logger) *API {
	if log == nil {
		log = slog.Default()
	}
	a := &API{svc: svc, log: log, mux: http.NewServeMux()}
	a.mux.HandleFunc("GET /api/v1/jobs", a.listJobs)
	a.mux.HandleFunc("POST /api/v1/jobs", a.submit)
	a.mux.HandleFunc("GET /api/v1/jobs/{id}", a.getJob)
	a.mux.HandleFunc("PATCH /api/v1/jobs/{id}", a.patchJob)
	a.mux.HandleFunc("POST /api/v1/jobs/{id}/release", a.release)
	a.mux.HandleFunc("GET /api/v1/jobs/{id}/diff", a.jobDiff)
	a.mux.HandleFunc("GET /api/v1/jobs/{id}/rare", a.jobRare)
	a.mux.HandleFunc("GET /api/v1/files/{hash}", a.getFile)
	a.mux.HandleFunc("GET /api/v1/files/{hash}/jobs", a.fileJobs)
	a.mux.HandleFunc("GET /api/v1/files/{hash}/similar", a.similar)
	a.mux.HandleFunc("POST /api/v1/lookup", a.lookup)
	a.mux.HandleFunc("GET /api/v1/search", a.search)
	a.mux.HandleFunc("GET /api/v1/search/help", a.searchHelp)
	a.mux.HandleFunc("GET /api/v1/openapi.json", a.openAPI)
	a.mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such API call: "+r.Method+" "+r.URL.Path)
	})
	return a
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// Error is the body of every error answer.
type Error struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var e Error
	e.Error.Code, e.Error.Message = code, msg
	writeJSON(w, status, e)
}

// fail maps a domain error to an API error; unknown ones are logged.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, auth.ErrDenied):
		writeError(w, http.StatusForbidden, "forbidden", err.Error())
	case errors.Is(err, index.ErrJobNotFound), errors.Is(err, index.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, index.ErrJobState), errors.Is(err, index.ErrConflict):
		writeError(w, http.StatusConflict, "conflict", err.Error())
	case errors.Is(err, gateway.ErrInvalid):
		writeError(w, http.StatusBadRequest, "invalid", err.Error())
	default:
		a.log.ErrorContext(r.Context(), "api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "internal error; see the server log")
	}
}

// allow checks the caller's role.
func allow(r *http.Request, action auth.Action) (auth.Principal, error) {
	p, ok := web.Principal(r.Context())
	if !ok || !auth.Allowed(p.Role, action) {
		return p, auth.ErrDenied
	}
	return p, nil
}

// JobList is the answer of GET /api/v1/jobs.
type JobList struct {
	Items []gateway.Manifest `json:"items"`
	Next  string             `json:"next,omitempty"`
}

func (a *API) listJobs(w http.ResponseWriter, r *http.Request) {
	if _, err := allow(r, auth.Read); err != nil {
		a.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "invalid", "limit must be 1..1000")
			return
		}
		limit = n
	}
	status := index.JobStatus(q.Get("status"))
	switch status {
	case "", index.JobQueued, index.JobHeld, index.JobProcessing, index.JobDone, index.JobFailed:
	default:
		writeError(w, http.StatusBadRequest, "invalid", "status must be queued, held, processing, done or failed")
		return
	}
	jobs, more, err := a.svc.Index().ListJobs(r.Context(), index.JobListOptions{
		Status: status, After: q.Get("cursor"), Newest: q.Get("order") == "newest", Limit: limit,
	})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := JobList{Items: make([]gateway.Manifest, 0, len(jobs))}
	for _, j := range jobs {
		out.Items = append(out.Items, gateway.ManifestOf(j))
	}
	if more && len(jobs) > 0 {
		out.Next = jobs[len(jobs)-1].ID
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) getJob(w http.ResponseWriter, r *http.Request) {
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
	if err := a.svc.WriteManifest(r.Context(), w, j); err != nil {
		a.log.ErrorContext(r.Context(), "writing job failed", "job", j.ID, "err", err)
	}
}

// JobPatch is the body of PATCH /api/v1/jobs/{id}.
type JobPatch struct {
	Notes *string `json:"notes"`
}

func (a *API) patchJob(w http.ResponseWriter, r *http.Request) {
	if _, err := allow(r, auth.EditNotes); err != nil {
		a.fail(w, r, err)
		return
	}
	var p JobPatch
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&p); err != nil || p.Notes == nil {
		writeError(w, http.StatusBadRequest, "invalid", `body must be {"notes": "..."}`)
		return
	}
	j, err := a.svc.SetNotes(r.Context(), r.PathValue("id"), *p.Notes)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, gateway.ManifestOf(j))
}

// ReleaseRequest is the optional body of POST /api/v1/jobs/{id}/release.
type ReleaseRequest struct {
	Notes *string `json:"notes"`
}

func (a *API) release(w http.ResponseWriter, r *http.Request) {
	if _, err := allow(r, auth.EditNotes); err != nil {
		a.fail(w, r, err)
		return
	}
	var req ReleaseRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid", "could not read the body")
		return
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			writeError(w, http.StatusBadRequest, "invalid", `body must be empty or {"notes": "..."}`)
			return
		}
	}
	if n := r.URL.Query().Get("notes"); n != "" && req.Notes == nil {
		req.Notes = &n
	}
	j, err := a.svc.Release(r.Context(), r.PathValue("id"), req.Notes)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, gateway.ManifestOf(j))
}

// submit handles POST /api/v1/jobs: the body is the upload; name,
// known_good, notes, hold, collected_at and submitter come as query
// parameters.
func (a *API) submit(w http.ResponseWriter, r *http.Request) {
	p, err := allow(r, auth.Submit)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	sub := gateway.Submission{Name: q.Get("name"), Notes: q.Get("notes"), Submitter: p.Name, ContentType: r.Header.Get("Content-Type")}
	if sub.KnownGood, err = gateway.ParseHold(q.Get("known_good")); err != nil {
		writeError(w, http.StatusBadRequest, "invalid", "known_good must be true or false")
		return
	}
	if sub.Hold, err = gateway.ParseHold(q.Get("hold")); err != nil {
		writeError(w, http.StatusBadRequest, "invalid", "hold must be true or false")
		return
	}
	if sub.CollectedAt, err = gateway.ParseCollectedAt(q.Get("collected_at")); err != nil {
		a.fail(w, r, err)
		return
	}
	if name := q.Get("submitter"); name != "" && name != p.Name {
		if p.Role != index.RoleAdmin {
			writeError(w, http.StatusForbidden, "forbidden", "only admins may submit in another name")
			return
		}
		sub.Submitter = name
	}
	j, err := a.svc.Submit(r.Context(), r.Body, sub)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, gateway.ManifestOf(j))
}
