package gateway

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"dewar/cas"
	"dewar/index"
	"dewar/index/query"
	"dewar/index/sqlindex"
	"dewar/test/fixtures"
)

// countingIndex counts the index reads FileJobsOf makes.
type countingIndex struct {
	*sqlindex.Index
	jobsOfFile, getJob atomic.Int64
}

func (c *countingIndex) JobsOfFile(ctx context.Context, ref cas.Ref, after index.JobFile, limit int) ([]index.JobFile, bool, error) {
	c.jobsOfFile.Add(1)
	return c.Index.JobsOfFile(ctx, ref, after, limit)
}

func (c *countingIndex) GetJob(ctx context.Context, id string) (index.Job, error) {
	c.getJob.Add(1)
	return c.Index.GetJob(ctx, id)
}

// TestFileJobsOfCost: a page of the jobs of a file in many jobs costs one
// read of the occurrences and one per job on the page, whatever the
// number of jobs.
func TestFileJobsOfCost(t *testing.T) {
	ts := newTestService(t, nil)
	shared := []byte("<?php // in every job\n")
	for i := range 120 {
		ts.ingestTree(t, fmt.Sprintf("job-%03d.zip", i), false, fixtures.Tree{
			{Path: "x.php", Type: "file", Body: shared},
			{Path: "y.php", Type: "file", Body: shared},
		})
	}
	ci := &countingIndex{Index: ts.idx}
	svc, err := New(context.Background(), Options{Store: ts.store, Index: ci})
	if err != nil {
		t.Fatal(err)
	}
	page, err := svc.FileJobsOf(context.Background(), cas.Sum(shared), "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 5 || page.Next == "" || ci.jobsOfFile.Load() != 1 || ci.getJob.Load() != 5 {
		t.Errorf("first page: %d jobs, next %q; %d occurrence reads, %d job reads", len(page.Items), page.Next, ci.jobsOfFile.Load(), ci.getJob.Load())
	}
	for _, it := range page.Items {
		if strings.Join(it.Paths, ",") != "x.php,y.php" {
			t.Errorf("%s: paths %v", it.Job.ID, it.Paths)
		}
	}
}

// TestLookupErrors: the limits and malformed input of the lookups.
func TestLookupErrors(t *testing.T) {
	ts := newTestService(t, nil)
	ctx := context.Background()
	if _, err := ts.Lookup(ctx, make([]string, MaxLookup+1)); !errors.Is(err, ErrTooMany) || !errors.Is(err, ErrBadRequest) {
		t.Errorf("lookup of %d: %v", MaxLookup+1, err)
	}
	if res, err := ts.Lookup(ctx, make([]string, MaxLookup)); err != nil || len(res) != MaxLookup || res[0].Found {
		t.Errorf("lookup of %d: %d results, %v", MaxLookup, len(res), err)
	}
	for _, h := range []string{"", "abc", strings.Repeat("g", 32), strings.Repeat("a", 33), strings.Repeat("\x10", 40)} {
		if _, err := ts.File(ctx, h); !errors.Is(err, ErrBadRequest) {
			t.Errorf("File(%q): %v", h, err)
		}
	}
	if _, err := ts.File(ctx, strings.Repeat("A", 64)); !errors.Is(err, index.ErrFileNotFound) {
		t.Errorf("File of an unknown sha256: %v", err)
	}
	for _, c := range []string{"!", "AAAA", fileJobsCursor(index.JobFile{JobID: "short", Path: "x"})} {
		if _, err := ts.FileJobsOf(ctx, cas.Sum(nil), c, 10); !errors.Is(err, ErrBadRequest) {
			t.Errorf("cursor %q: %v", c, err)
		}
	}
	var qe *query.Error
	if _, err := ts.Search(ctx, SearchRequest{Query: "size:>x"}); !errors.As(err, &qe) || qe.Pos != 6 {
		t.Errorf("bad query: %v", err)
	}
	if _, err := ts.Search(ctx, SearchRequest{Query: "a", Type: "blobs"}); !errors.Is(err, ErrBadRequest) {
		t.Errorf("bad type: %v", err)
	}
}

// TestFileJobsCursor: cursors round-trip any path.
func TestFileJobsCursor(t *testing.T) {
	for _, o := range []index.JobFile{
		{JobID: "01JJ5ZQ3W8M9X6T2R4B7C1D0EF", Path: ""},
		{JobID: "01JJ5ZQ3W8M9X6T2R4B7C1D0EF", Path: "a/b c/ü?&=.php"},
	} {
		got, err := parseFileJobsCursor(fileJobsCursor(o))
		if err != nil || got != o {
			t.Errorf("%+v: %+v, %v", o, got, err)
		}
	}
}
