package sqlindex

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"dewar/index"
	"dewar/index/listing"
)

// ListIncoming pages through the jobs of an incoming bucket that are not
// done, keyed by SourceKey, with the delimiter semantics of ListObjects
// (index/listing); of several jobs with one key, the newest stands for it.
// Each batch is one query over the partial index jobs_incoming: the
// newest not-done job of each key within the range, in key order.
func (ix *Index) ListIncoming(ctx context.Context, bucket string, opts index.ListOptions) (index.IncomingPage, error) {
	src := func(ctx context.Context, prefix, after string, limit int) ([]index.Job, error) {
		newest, args := rangeQuery(`SELECT max(id) FROM jobs WHERE source_bucket = ? AND status <> 'done'`,
			`source_key`, `GROUP BY source_key ORDER BY source_key LIMIT ?`, []any{bucket}, prefix, after, limit)
		var jobs []index.Job
		err := ix.scanAll(ctx, ix.reader, func(rows *sql.Rows) error {
			j, err := scanJob(rows)
			jobs = append(jobs, j)
			return err
		}, `SELECT `+jobCols+` FROM jobs WHERE id IN (`+newest+`) ORDER BY source_key`, args...)
		return jobs, err
	}
	p, err := listing.List(ctx, src, func(j index.Job) string { return j.SourceKey },
		opts.Prefix, opts.Delimiter, opts.After, opts.Limit)
	if err != nil {
		return index.IncomingPage{}, fmt.Errorf("sqlindex: list incoming %q: %w", bucket, err)
	}
	return index.IncomingPage{Jobs: p.Items, CommonPrefixes: p.CommonPrefixes, Truncated: p.Truncated, Next: p.Next}, nil
}

// GetIncoming returns the newest not-done job of bucket with key;
// index.ErrJobNotFound when there is none.
func (ix *Index) GetIncoming(ctx context.Context, bucket, key string) (index.Job, error) {
	j, err := scanJob(ix.queryRow(ctx, ix.reader, `SELECT `+jobCols+` FROM jobs
		WHERE source_bucket = ? AND source_key = ? AND status <> 'done' ORDER BY id DESC LIMIT 1`, bucket, key))
	if errors.Is(err, sql.ErrNoRows) {
		return index.Job{}, fmt.Errorf("sqlindex: incoming %q/%q: %w", bucket, key, index.ErrJobNotFound)
	}
	if err != nil {
		return index.Job{}, fmt.Errorf("sqlindex: get incoming %q/%q: %w", bucket, key, err)
	}
	return j, nil
}
