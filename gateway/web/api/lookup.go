package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"dewar/gateway"
	"dewar/gateway/auth"
	"dewar/index"
)

// maxLookupBody caps the body of a bulk lookup: MaxLookup sha256s with
// JSON punctuation take under 700 KB.
const maxLookupBody = 4 << 20

// LookupRequest is the body of POST /api/v1/lookup.
type LookupRequest struct {
	Hashes []string `json:"hashes"`
}

// LookupResponse answers it: one result per hash, in order.
type LookupResponse struct {
	Results []index.LookupResult `json:"results"`
}

var errLookupBody = errors.New(`body must be {"hashes": ["<md5, sha1 or sha256>", ...]}`)

func (a *API) lookup(w http.ResponseWriter, r *http.Request) {
	if _, err := allow(r, auth.Read); err != nil {
		a.fail(w, r, err)
		return
	}
	hashes, err := decodeHashes(http.MaxBytesReader(w, r.Body, maxLookupBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large",
			fmt.Sprintf("lookup body over %d bytes; send at most %d hashes per call", maxLookupBody, gateway.MaxLookup))
		return
	case err != nil:
		a.failSearch(w, r, err)
		return
	}
	res, err := a.svc.Lookup(r.Context(), hashes)
	if err != nil {
		a.failSearch(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, LookupResponse{Results: res})
}

// decodeHashes reads {"hashes": [...]} as a stream and stops at the
// first hash over gateway.MaxLookup, so an oversized list is refused
// without being held.
func decodeHashes(r io.Reader) ([]string, error) {
	dec := json.NewDecoder(r)
	bad := func(err error) error {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return err
		}
		return fmt.Errorf("%w: %w", gateway.ErrBadRequest, errLookupBody)
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, bad(err)
	}
	var hashes []string
	found := false
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil, bad(err)
		}
		if key != "hashes" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, bad(err)
			}
			continue
		}
		found = true
		if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
			return nil, bad(err)
		}
		for dec.More() {
			if len(hashes) == gateway.MaxLookup {
				return nil, fmt.Errorf("%w: more than %d hashes in one lookup; split the list", gateway.ErrTooMany, gateway.MaxLookup)
			}
			var h string
			if err := dec.Decode(&h); err != nil {
				return nil, bad(err)
			}
			hashes = append(hashes, h)
		}
		if _, err := dec.Token(); err != nil {
			return nil, bad(err)
		}
	}
	if _, err := dec.Token(); err != nil || !found {
		return nil, bad(err)
	}
	if hashes == nil {
		hashes = []string{}
	}
	return hashes, nil
}
