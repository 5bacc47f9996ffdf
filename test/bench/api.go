package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

var errAPI = errors.New("bench: API call failed")

// apiClient calls dewar's JSON API with HTTP Basic (the root keys), the
// way scripts do: one keep-alive connection per worker, bodies read to the
// end.
type apiClient struct {
	base string
	hc   *http.Client
}

func newAPI(base string) *apiClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return &apiClient{base: base, hc: &http.Client{Transport: tr, Timeout: 5 * time.Minute}}
}

// do sends one request and decodes a 2xx JSON answer into out (nil:
// the body is read and dropped). It returns the status and the body size.
func (a *apiClient) do(ctx context.Context, method, path string, body any, out any) (int, int64, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return 0, 0, err
	}
	req.SetBasicAuth(accessKey, secretKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return resp.StatusCode, 0, fmt.Errorf("%w: %s %s: %s: %s", errAPI, method, path, resp.Status, bytes.TrimSpace(msg))
	}
	if out == nil {
		n, err := io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, n, err
	}
	cr := &countReader{r: resp.Body}
	if err := json.NewDecoder(cr).Decode(out); err != nil {
		return resp.StatusCode, cr.n, fmt.Errorf("%w: %s %s: %v", errAPI, method, path, err)
	}
	_, _ = io.Copy(io.Discard, cr)
	return resp.StatusCode, cr.n, nil
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// jobView is the part of GET /api/v1/jobs/{id} the bench reads.
type jobView struct {
	ID         string     `json:"id"`
	Status     string     `json:"status"`
	Error      string     `json:"error"`
	FinishedAt *time.Time `json:"finished_at"`
	Stats      struct {
		Files    int64 `json:"files"`
		NewFiles int64 `json:"new_files"`
		Bytes    int64 `json:"bytes"`
		NewBytes int64 `json:"new_bytes"`
	} `json:"stats"`
}

var errJobFailed = errors.New("bench: job failed")

// waitJob polls the job every interval until it is done or failed and
// returns it with the moment the poll saw it finished.
func (a *apiClient) waitJob(ctx context.Context, id string, interval, timeout time.Duration) (jobView, time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		var j jobView
		if _, _, err := a.do(ctx, http.MethodGet, "/api/v1/jobs/"+id, nil, &j); err != nil {
			return j, time.Time{}, err
		}
		switch j.Status {
		case "done":
			return j, time.Now(), nil
		case "failed":
			return j, time.Now(), fmt.Errorf("%w: %s: %s", errJobFailed, id, j.Error)
		}
		if time.Now().After(deadline) {
			return j, time.Time{}, fmt.Errorf("bench: job %s still %s after %v", id, j.Status, timeout)
		}
		select {
		case <-ctx.Done():
			return j, time.Time{}, ctx.Err()
		case <-time.After(interval):
		}
	}
}
