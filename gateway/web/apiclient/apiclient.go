// Package apiclient is the Go client of Dewar's JSON API (/api/v1), used
// by the dewar command line and by tests. It depends on nothing of Dewar's:
// its types mirror the JSON.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client talks to one Dewar server.
type Client struct {
	base       string
	accessKey  string
	secretKey  string
	HTTPClient *http.Client
}

// New returns a client for the API at base (e.g. http://127.0.0.1:9001).
func New(base, accessKey, secretKey string) *Client {
	return &Client{base: strings.TrimRight(base, "/"), accessKey: accessKey, secretKey: secretKey, HTTPClient: http.DefaultClient}
}

// Stats mirror the job stats.
type Stats struct {
	Files    int64 `json:"files"`
	NewFiles int64 `json:"new_files"`
	Bytes    int64 `json:"bytes"`
	NewBytes int64 `json:"new_bytes"`
}

// TreeEntry is one path of a job's tree.
type TreeEntry struct {
	Path          string `json:"path"`
	Type          string `json:"type"`
	SHA256        string `json:"sha256,omitempty"`
	Size          *int64 `json:"size,omitempty"`
	Target        string `json:"target,omitempty"`
	RawPath       string `json:"raw_path,omitempty"`
	RawPathBase64 string `json:"raw_path_base64,omitempty"`
	Diff          string `json:"diff,omitempty"`
}

// Job is a job as the API (and manifest.json) shows it.
type Job struct {
	ID            string      `json:"id"`
	Name          string      `json:"name"`
	KnownGood     bool        `json:"known_good"`
	Status        string      `json:"status"`
	Error         string      `json:"error"`
	Warnings      []string    `json:"warnings,omitempty"`
	SubmittedAt   time.Time   `json:"submitted_at"`
	CollectedAt   *time.Time  `json:"collected_at"`
	FinishedAt    *time.Time  `json:"finished_at,omitempty"`
	Submitter     string      `json:"submitter"`
	Notes         string      `json:"notes"`
	ArchiveSHA256 string      `json:"archive_sha256"`
	ArchiveSize   int64       `json:"archive_size"`
	Attempts      int         `json:"attempts"`
	Stats         Stats       `json:"stats"`
	Tree          []TreeEntry `json:"tree,omitempty"`
}

// Done reports whether the job reached a final status.
func (j Job) Done() bool { return j.Status == "done" || j.Status == "failed" }

// Error is an error answer of the API. A query that does not parse
// (Code "bad_query") also says where: Position is a byte offset into the
// query and Caret the query with a caret under that place.
type Error struct {
	Status   int
	Code     string `json:"code"`
	Message  string `json:"message"`
	Position *int   `json:"position,omitempty"`
	Caret    string `json:"caret,omitempty"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("dewar api: %d %s: %s", e.Status, e.Code, e.Message)
}

func (c *Client) do(ctx context.Context, method, path string, query url.Values, body io.Reader, contentType string, out any) error {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	req.SetBasicAuth(c.accessKey, c.secretKey)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var e struct{ Error Error }
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if json.Unmarshal(data, &e) != nil || e.Error.Code == "" {
			e.Error = Error{Code: http.StatusText(resp.StatusCode), Message: strings.TrimSpace(string(data))}
		}
		e.Error.Status = resp.StatusCode
		return &e.Error
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// JobsOptions filter ListJobs.
type JobsOptions struct {
	Status string
	Cursor string
	Limit  int
	Newest bool
}

// JobPage is a page of jobs.
type JobPage struct {
	Items []Job  `json:"items"`
	Next  string `json:"next,omitempty"`
}

// ListJobs returns a page of jobs.
func (c *Client) ListJobs(ctx context.Context, o JobsOptions) (JobPage, error) {
	q := url.Values{}
	if o.Status != "" {
		q.Set("status", o.Status)
	}
	if o.Cursor != "" {
		q.Set("cursor", o.Cursor)
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Newest {
		q.Set("order", "newest")
	}
	var p JobPage
	return p, c.do(ctx, http.MethodGet, "/api/v1/jobs", q, nil, "", &p)
}

// Job returns one job with its tree.
func (c *Client) Job(ctx context.Context, id string) (Job, error) {
	var j Job
	return j, c.do(ctx, http.MethodGet, "/api/v1/jobs/"+url.PathEscape(id), nil, nil, "", &j)
}

// SubmitOptions describe a submission.
type SubmitOptions struct {
	Name        string
	KnownGood   bool
	Notes       string
	Hold        bool
	CollectedAt time.Time
	Submitter   string
}

// Submit uploads r as a new job.
func (c *Client) Submit(ctx context.Context, r io.Reader, o SubmitOptions) (Job, error) {
	q := url.Values{"name": {o.Name}}
	if o.KnownGood {
		q.Set("known_good", "true")
	}
	if o.Hold {
		q.Set("hold", "true")
	}
	if o.Notes != "" {
		q.Set("notes", o.Notes)
	}
	if !o.CollectedAt.IsZero() {
		q.Set("collected_at", o.CollectedAt.UTC().Format(time.RFC3339))
	}
	if o.Submitter != "" {
		q.Set("submitter", o.Submitter)
	}
	var j Job
	return j, c.do(ctx, http.MethodPost, "/api/v1/jobs", q, r, "application/octet-stream", &j)
}

// Release queues a held job, optionally replacing its notes.
func (c *Client) Release(ctx context.Context, id string, notes *string) (Job, error) {
	var body io.Reader
	if notes != nil {
		b, _ := json.Marshal(map[string]string{"notes": *notes})
		body = bytes.NewReader(b)
	}
	var j Job
	return j, c.do(ctx, http.MethodPost, "/api/v1/jobs/"+url.PathEscape(id)+"/release", nil, body, "application/json", &j)
}

// SetNotes replaces a job's notes.
func (c *Client) SetNotes(ctx context.Context, id, notes string) (Job, error) {
	b, _ := json.Marshal(map[string]string{"notes": notes})
	var j Job
	return j, c.do(ctx, http.MethodPatch, "/api/v1/jobs/"+url.PathEscape(id), nil, bytes.NewReader(b), "application/json", &j)
}

// WaitJob polls until the job is done or failed, or ctx ends.
func (c *Client) WaitJob(ctx context.Context, id string, every time.Duration) (Job, error) {
	for {
		j, err := c.Job(ctx, id)
		if err != nil || j.Done() {
			return j, err
		}
		select {
		case <-ctx.Done():
			return j, ctx.Err()
		case <-time.After(every):
		}
	}
}
