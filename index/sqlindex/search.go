package sqlindex

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"dewar/cas"
	"dewar/index"
	"dewar/index/query"
)

// MaxSearchLimit caps SearchOptions.Limit.
const MaxSearchLimit = 1000

// SearchFiles returns a page of the files matching q, in sha256 order;
// see doc_search.go for what each field matches. The cursor is the last
// ref of the previous page (lowercase hex); a limit <= 0 gives no files
// (with opts.Count, just the total), and one above MaxSearchLimit is
// lowered to it. The total, when asked, is a separate count over the same
// condition, so a page without it never waits for it. The search (count
// included) is cancelled after Options.SearchTimeout.
func (ix *Index) SearchFiles(ctx context.Context, q query.Node, opts index.SearchOptions) (index.FileHits, error) {
	ctx, cancel := context.WithTimeout(ctx, ix.searchTimeout)
	defer cancel()
	var after string
	if opts.Cursor != "" {
		r, err := cas.Parse(opts.Cursor)
		if err != nil {
			return index.FileHits{}, invalidQuery("file search cursor %q", opts.Cursor)
		}
		after = r.String()
	}
	c := &compiler{ix: ix, ctx: ctx, similar: opts.Similar}
	cnd, err := c.node(q, query.TargetFiles)
	if err != nil {
		return index.FileHits{}, err
	}
	limit := min(opts.Limit, MaxSearchLimit)
	var hits index.FileHits
	err = ix.readTx(ctx, func(tx *sql.Tx) error {
		if limit > 0 {
			text, args := ix.pageQuery(cnd, query.TargetFiles, after, limit+1)
			rows, err := tx.QueryContext(ctx, text, args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				f, err := scanFile(rows)
				if err != nil {
					return err
				}
				hits.Files = append(hits.Files, f)
			}
			if err := rows.Err(); err != nil {
				return err
			}
			if len(hits.Files) > limit {
				hits.Files = hits.Files[:limit]
				hits.Next = hits.Files[limit-1].Ref.String()
			}
		}
		if opts.Count {
			n, err := ix.count(ctx, tx, `SELECT count(*) FROM files f WHERE `, cnd)
			if err != nil {
				return err
			}
			hits.Total = &n
		}
		return nil
	})
	if err != nil {
		return index.FileHits{}, searchErr(ctx, "files", q, err)
	}
	return hits, nil
}

// SearchJobs returns a page of the jobs matching q, newest first, in any
// status; see doc_search.go. The cursor is the last job ID of the previous
// page; limits and the total are as for SearchFiles.
func (ix *Index) SearchJobs(ctx context.Context, q query.Node, opts index.SearchOptions) (index.JobHits, error) {
	ctx, cancel := context.WithTimeout(ctx, ix.searchTimeout)
	defer cancel()
	if opts.Cursor != "" && !index.ValidJobID(opts.Cursor) {
		return index.JobHits{}, invalidQuery("job search cursor %q", opts.Cursor)
	}
	c := &compiler{ix: ix, ctx: ctx, similar: opts.Similar}
	cnd, err := c.node(q, query.TargetJobs)
	if err != nil {
		return index.JobHits{}, err
	}
	limit := min(opts.Limit, MaxSearchLimit)
	var hits index.JobHits
	err = ix.readTx(ctx, func(tx *sql.Tx) error {
		if limit > 0 {
			text, args := ix.pageQuery(cnd, query.TargetJobs, opts.Cursor, limit+1)
			rows, err := tx.QueryContext(ctx, text, args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				j, err := scanJob(rows)
				if err != nil {
					return err
				}
				hits.Jobs = append(hits.Jobs, j)
			}
			if err := rows.Err(); err != nil {
				return err
			}
			if len(hits.Jobs) > limit {
				hits.Jobs = hits.Jobs[:limit]
				hits.Next = hits.Jobs[limit-1].ID
			}
		}
		if opts.Count {
			n, err := ix.count(ctx, tx, `SELECT count(*) FROM jobs j WHERE `, cnd)
			if err != nil {
				return err
			}
			hits.Total = &n
		}
		return nil
	})
	if err != nil {
		return index.JobHits{}, searchErr(ctx, "jobs", q, err)
	}
	return hits, nil
}

// count runs head followed by cnd and returns the single count.
func (ix *Index) count(ctx context.Context, tx *sql.Tx, head string, cnd cond) (int64, error) {
	r := renderer{}
	r.b.WriteString(head)
	r.cond(cnd, false)
	var n int64
	err := tx.QueryRowContext(ctx, ix.d.rebind(r.b.String()), r.args...).Scan(&n)
	return n, err
}

// searchErr wraps a failed search, naming the context's error when it
// ended (a timeout, a cancelled request), since a driver may report only
// that it was interrupted.
func searchErr(ctx context.Context, what string, q query.Node, err error) error {
	if errors.Is(err, index.ErrNotFound) || errors.Is(err, query.ErrInvalid) {
		return err
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("sqlindex: search %s for %s: %w (%v)", what, q, cerr, err)
	}
	return fmt.Errorf("sqlindex: search %s for %s: %w", what, q, err)
}

// pageQuery returns the statement of a page of a search for of (files
// or jobs): the rows matching cnd after cursor ("" for the first page), in
// page order, up to limit.
func (ix *Index) pageQuery(cnd cond, of query.Target, cursor string, limit int) (string, []any) {
	cols, table, key, op, order := fileCols, `files f`, `f.ref`, `>`, ``
	if of == query.TargetJobs {
		cols, table, key, op, order = jobCols, `jobs j`, `j.id`, `<`, ` DESC`
	}
	r := renderer{}
	r.b.WriteString(`SELECT ` + cols + ` FROM ` + table + ` WHERE `)
	if cursor != "" {
		r.pageOp, r.pageArg = op, cursor
		r.b.WriteString(key + ` ` + op + ` ? AND `)
		r.args = append(r.args, cursor)
	}
	r.cond(cnd, false)
	r.b.WriteString(` ORDER BY ` + key + order + ` LIMIT ?`)
	r.args = append(r.args, limit)
	return ix.d.rebind(r.b.String()), r.args
}

// explainSearch returns the plan of the page query of a search (the
// dialect's EXPLAIN output, one line per row), for tests that check that
// searches use their indexes.
func (ix *Index) explainSearch(ctx context.Context, q query.Node, of query.Target, opts index.SearchOptions) ([]string, error) {
	c := &compiler{ix: ix, ctx: ctx, similar: opts.Similar}
	cnd, err := c.node(q, of)
	if err != nil {
		return nil, err
	}
	text, args := ix.pageQuery(cnd, of, opts.Cursor, 10)
	return ix.explain(ctx, text, args...)
}

// explain returns the dialect's plan of a statement, its last column of
// each row (SQLite's detail, PostgreSQL's line).
func (ix *Index) explain(ctx context.Context, text string, args ...any) ([]string, error) {
	rows, err := ix.reader.QueryContext(ctx, ix.d.Explain+text, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var lines []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		lines = append(lines, fmt.Sprint(vals[len(vals)-1]))
	}
	return lines, rows.Err()
}
