package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"dewar/gateway"
	"dewar/gateway/auth"
	"dewar/index/query"
)

// QueryError is the body of a 400 for a query that does not parse: the
// usual code and message, plus where the problem is (a byte offset into
// the query) and the query with a caret under that place.
type QueryError struct {
	Error struct {
		Code     string `json:"code"`
		Message  string `json:"message"`
		Position int    `json:"position"`
		Caret    string `json:"caret"`
	} `json:"error"`
}

// failSearch maps the errors of search and lookups (bad queries, bad
// arguments, timeouts), then everything else as fail does.
func (a *API) failSearch(w http.ResponseWriter, r *http.Request, err error) {
	var qe *query.Error
	switch {
	case errors.As(err, &qe):
		var e QueryError
		e.Error.Code, e.Error.Message, e.Error.Position, e.Error.Caret = "bad_query", qe.Error(), qe.Pos, qe.Caret()
		writeJSON(w, http.StatusBadRequest, e)
	case errors.Is(err, query.ErrInvalid):
		writeError(w, http.StatusBadRequest, "bad_query", err.Error())
	case errors.Is(err, gateway.ErrTooMany):
		writeError(w, http.StatusBadRequest, "too_many", err.Error())
	case errors.Is(err, gateway.ErrBadRequest):
		writeError(w, http.StatusBadRequest, "invalid", err.Error())
	case errors.Is(err, context.DeadlineExceeded) && r.Context().Err() == nil:
		writeError(w, http.StatusServiceUnavailable, "timeout", "the search took too long; narrow the query")
	default:
		a.fail(w, r, err)
	}
}

// SearchPage is the answer of GET /api/v1/search: files (as in the file
// call, without IOCs and analyses) or jobs (as in the jobs call), the
// cursor of the next page, and the total when count=true.
type SearchPage struct {
	Type  string `json:"type"`
	Items any    `json:"items"`
	Next  string `json:"next,omitempty"`
	Total *int64 `json:"total,omitempty"`
}

// search handles GET /api/v1/search?q=&type=files|jobs&cursor=&limit=&count=.
func (a *API) search(w http.ResponseWriter, r *http.Request) {
	if _, err := allow(r, auth.Read); err != nil {
		a.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	req := gateway.SearchRequest{Query: q.Get("q"), Type: q.Get("type"), Cursor: q.Get("cursor")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > gateway.MaxSearchLimit {
			writeError(w, http.StatusBadRequest, "invalid", "limit must be 1.."+strconv.Itoa(gateway.MaxSearchLimit))
			return
		}
		req.Limit = n
	}
	switch v := q.Get("count"); v {
	case "", "false", "0":
	case "true", "1":
		req.Count = true
	default:
		writeError(w, http.StatusBadRequest, "invalid", "count must be true or false")
		return
	}
	res, err := a.svc.Search(r.Context(), req)
	if err != nil {
		a.failSearch(w, r, err)
		return
	}
	out := SearchPage{Type: res.Type, Next: res.Next, Total: res.Total, Items: res.Files}
	if res.Type == gateway.SearchJobs {
		out.Items = res.Jobs
	}
	writeJSON(w, http.StatusOK, out)
}

// SearchHelp is the answer of GET /api/v1/search/help: the grammar, the
// fields, and the whole help text as dewar search --help prints it.
type SearchHelp struct {
	Grammar  string          `json:"grammar"`
	Keywords []query.Keyword `json:"keywords"`
	Text     string          `json:"text"`
}

func (a *API) searchHelp(w http.ResponseWriter, r *http.Request) {
	if _, err := allow(r, auth.Read); err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, SearchHelp{Grammar: query.Grammar, Keywords: query.Keywords(), Text: query.Help()})
}
