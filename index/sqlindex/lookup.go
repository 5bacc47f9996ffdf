package sqlindex

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"dewar/cas"
	"dewar/index"
)

// MaxLookup is the most hashes Lookup answers in one call.
const MaxLookup = 10000

// lookupBatch is how many values one IN list carries.
const lookupBatch = 500

// scanIn runs stmt over vals lookupBatch at a time: stmt(n) is a query
// whose first n parameters are an IN list, followed by extra; scan sees
// every row of every batch.
func scanIn[T any](ctx context.Context, ix *Index, q querier, vals []T, stmt func(n int) string, extra []any, scan func(*sql.Rows) error) error {
	for start := 0; start < len(vals); start += lookupBatch {
		batch := vals[start:min(start+lookupBatch, len(vals))]
		args := make([]any, 0, len(batch)+len(extra))
		for _, v := range batch {
			args = append(args, v)
		}
		if err := ix.scanAll(ctx, q, scan, stmt(len(batch)), append(args, extra...)...); err != nil {
			return err
		}
	}
	return nil
}

// minHashOf decodes a stored MinHash (little-endian uint32s).
func minHashOf(b []byte) []uint32 {
	var out []uint32
	for i := 0; i+4 <= len(b); i += 4 {
		out = append(out, binary.LittleEndian.Uint32(b[i:]))
	}
	return out
}

// hashColumn returns the files column a hash of h's length is compared
// with (ref, sha1 or md5) and h lowercased; ok is false unless h is 32,
// 40 or 64 hex digits.
func hashColumn(h string) (col, norm string, ok bool) {
	switch len(h) {
	case 32:
		col = "md5"
	case 40:
		col = "sha1"
	case 64:
		col = "ref"
	default:
		return "", "", false
	}
	norm = strings.ToLower(h)
	for i := 0; i < len(norm); i++ {
		if c := norm[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return "", "", false
		}
	}
	return col, norm, true
}

// FileByHash finds a file by its md5, sha1 or sha256 (by length, any
// case); index.ErrFileNotFound when never seen. Another string is refused
// (ErrInvalid). Of several files sharing an md5 or sha1 (a collision), the
// least sha256 wins.
func (ix *Index) FileByHash(ctx context.Context, hash string) (index.File, error) {
	col, h, ok := hashColumn(hash)
	if !ok {
		return index.File{}, fmt.Errorf("%w: %q is not an md5, sha1 or sha256", ErrInvalid, hash)
	}
	f, err := scanFile(ix.queryRow(ctx, ix.reader, `SELECT `+fileCols+` FROM files WHERE `+col+` = ? ORDER BY ref LIMIT 1`, h))
	if errors.Is(err, sql.ErrNoRows) {
		return index.File{}, fmt.Errorf("sqlindex: file %s: %w", h, index.ErrFileNotFound)
	}
	if err != nil {
		return index.File{}, fmt.Errorf("sqlindex: file %s: %w", h, err)
	}
	return f, nil
}

// Lookup answers up to MaxLookup hashes (ErrInvalid beyond), one result
// per hash in order: md5, sha1 and sha256 by length, any case, mixed. A
// string that is none of them is not found. Hashes are looked up by kind
// in batches (one index probe each), so a call is a few dozen statements.
func (ix *Index) Lookup(ctx context.Context, hashes []string) ([]index.LookupResult, error) {
	if len(hashes) > MaxLookup {
		return nil, fmt.Errorf("%w: lookup of %d hashes (max %d)", ErrInvalid, len(hashes), MaxLookup)
	}
	type found struct {
		ref       cas.Ref
		knownGood bool
		jobs      int64
	}
	byCol := map[string][]string{} // column -> distinct normalised hashes
	seen := map[string]bool{}
	for _, h := range hashes {
		if col, n, ok := hashColumn(h); ok && !seen[n] {
			seen[n] = true
			byCol[col] = append(byCol[col], n)
		}
	}
	hits := map[string]found{} // normalised hash -> file
	err := ix.readTx(ctx, func(tx *sql.Tx) error {
		for _, col := range []string{"md5", "sha1", "ref"} {
			list := byCol[col]
			slices.Sort(list)
			err := scanIn(ctx, ix, tx, list, func(n int) string { return lookupSQL(col, n) }, nil, func(rows *sql.Rows) error {
				var key string
				var f found
				if err := rows.Scan(&key, &f.ref, &f.knownGood, &f.jobs); err != nil {
					return err
				}
				if old, ok := hits[key]; !ok || f.ref.Less(old.ref) {
					hits[key] = f
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlindex: lookup: %w", err)
	}
	out := make([]index.LookupResult, len(hashes))
	for i, h := range hashes {
		out[i].Hash = h
		if _, n, ok := hashColumn(h); ok {
			if f, ok := hits[n]; ok {
				out[i].Found, out[i].SHA256, out[i].KnownGood, out[i].JobCount = true, f.ref, f.knownGood, f.jobs
			}
		}
	}
	return out, nil
}

// lookupSQL finds files by n hashes compared with col (md5, sha1, ref).
func lookupSQL(col string, n int) string {
	return `SELECT ` + col + `, ref, known_good, job_count FROM files WHERE ` + col + ` IN (` + inList(n) + `)`
}

// maxSimKeys is the most keys SimilarCandidates takes.
const maxSimKeys = 10000

// SimilarCandidates returns the files sharing at least one of keys (of one
// method) with the query, most shared first (then by ref), up to limit,
// without exclude: one grouped scan of the sim_keys primary key. More than
// maxSimKeys distinct keys is ErrInvalid.
func (ix *Index) SimilarCandidates(ctx context.Context, method string, keys []int64, exclude cas.Ref, limit int) ([]index.SimCandidate, error) {
	keys = slices.Compact(slices.Sorted(slices.Values(keys)))
	if len(keys) > maxSimKeys {
		return nil, fmt.Errorf("%w: %d similarity keys (max %d)", ErrInvalid, len(keys), maxSimKeys)
	}
	if limit <= 0 || len(keys) == 0 {
		return nil, nil
	}
	args := make([]any, 0, len(keys)+3)
	args = append(args, method)
	for _, k := range keys {
		args = append(args, k)
	}
	args = append(args, refText(exclude), limit)
	var out []index.SimCandidate
	err := ix.scanAll(ctx, ix.reader, func(rows *sql.Rows) error {
		var c index.SimCandidate
		err := rows.Scan(&c.Ref, &c.Shared)
		out = append(out, c)
		return err
	}, similarSQL(len(keys)), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlindex: similar candidates (%s): %w", method, err)
	}
	return out, nil
}

// similarSQL is SimilarCandidates' statement for n keys; parameters: the
// method, the keys, the ref to exclude, the limit.
func similarSQL(n int) string {
	return `SELECT a.ref, s.shared FROM (
			SELECT file_id, count(*) AS shared FROM sim_keys WHERE method = ? AND key IN (` + inList(n) + `) GROUP BY file_id) s
		JOIN analyses a ON a.id = s.file_id WHERE a.ref <> ? ORDER BY s.shared DESC, a.ref LIMIT ?`
}

// TLSHCandidates returns files whose TLSH length bucket is within radius
// of lvalue (on the circle of 256, as TLSH measures it), nearest buckets
// first and by ref within one, up to limit, without exclude. Only Ref and
// TLSH are set. lvalue is the length bucket as analyzers/tlsh's
// Digest.LValue gives it. Each bucket is one range of the analyses_tlsh
// index, read only as far as the limit needs.
func (ix *Index) TLSHCandidates(ctx context.Context, lvalue, radius int, exclude cas.Ref, limit int) ([]index.Analysis, error) {
	if lvalue < 0 || lvalue > 255 || radius < 0 {
		return nil, fmt.Errorf("%w: TLSH length bucket %d, radius %d", ErrInvalid, lvalue, radius)
	}
	radius = min(radius, 128)
	var out []index.Analysis
	err := ix.readTx(ctx, func(tx *sql.Tx) error {
		done := map[int]bool{}
		for d := 0; d <= radius && len(out) < limit; d++ {
			for _, l := range []int{(lvalue - d + 256) % 256, (lvalue + d) % 256} {
				if done[l] || len(out) >= limit {
					continue
				}
				done[l] = true
				err := ix.scanAll(ctx, tx, func(rows *sql.Rows) error {
					var a index.Analysis
					err := rows.Scan(&a.Ref, &a.TLSH)
					out = append(out, a)
					return err
				}, tlshSQL, l, refText(exclude), limit-len(out))
				if err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlindex: TLSH candidates: %w", err)
	}
	return out, nil
}

// tlshSQL reads one TLSH length bucket; parameters: the bucket, the ref
// to exclude, the limit.
const tlshSQL = `SELECT ref, tlsh FROM analyses WHERE tlsh_lvalue = ? AND ref <> ? ORDER BY ref LIMIT ?`

// KnownGoodOverlap returns the known-good jobs that ended done sharing the
// most distinct files (tree files, not uploads) with jobID, most first
// (then by ID), up to limit, without jobID itself; index.ErrJobNotFound
// for an unknown job. Each distinct file of the job is one probe of the
// tree_kg partial index, which holds only the known-good jobs' files, so
// files common in other jobs cost nothing extra.
func (ix *Index) KnownGoodOverlap(ctx context.Context, jobID string, limit int) ([]index.JobOverlap, error) {
	if err := ix.jobExists(ctx, ix.reader, jobID); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	var out []index.JobOverlap
	err := ix.scanAll(ctx, ix.reader, func(rows *sql.Rows) error {
		var o index.JobOverlap
		j, err := scanJob(extraCols{rows, []any{&o.Shared}})
		o.Job = j
		out = append(out, o)
		return err
	}, knownGoodOverlapSQL, jobID, jobID, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlindex: known-good overlap of %s: %w", jobID, err)
	}
	return out, nil
}

// knownGoodOverlapSQL is KnownGoodOverlap's statement; parameters: the
// job ID twice, the limit.
const knownGoodOverlapSQL = `SELECT ` + jobCols + `, s.shared FROM (
		SELECT k.job_id, count(DISTINCT k.blob) AS shared FROM tree k
		WHERE k.known_good = TRUE AND k.job_id <> ?
			AND k.blob IN (SELECT t.blob FROM tree t WHERE t.job_id = ? AND t.blob IS NOT NULL)
		GROUP BY k.job_id ORDER BY shared DESC, k.job_id LIMIT ?) s
	JOIN jobs ON jobs.id = s.job_id ORDER BY s.shared DESC, jobs.id`

// TokenFrequencies returns, for each token in order, the number of done
// jobs it occurred in (0 for a token never seen).
func (ix *Index) TokenFrequencies(ctx context.Context, tokens []string) ([]index.TokenFreq, error) {
	var distinct []string
	for _, t := range slices.Compact(slices.Sorted(slices.Values(tokens))) {
		if validText(t) { // stored tokens are; others are never found
			distinct = append(distinct, t)
		}
	}
	jobs := make(map[string]int64, len(distinct))
	err := ix.readTx(ctx, func(tx *sql.Tx) error {
		for start := 0; start < len(distinct); start += dictBatch {
			batch := distinct[start:min(start+dictBatch, len(distinct))]
			err := ix.scanAll(ctx, tx, func(rows *sql.Rows) error {
				var t string
				var n int64
				err := rows.Scan(&t, &n)
				jobs[t] = n
				return err
			}, `SELECT token, jobs FROM tokens WHERE token IN (`+inList(len(batch))+`)`, stringArgs(batch)...)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlindex: token frequencies: %w", err)
	}
	out := make([]index.TokenFreq, len(tokens))
	for i, t := range tokens {
		out[i] = index.TokenFreq{Token: t, Jobs: jobs[t]}
	}
	return out, nil
}

// maxRare bounds RareTokens' and RareFiles' limits.
const maxRare = 1000

// RareTokens returns ref's tokens by ascending job frequency (then token),
// up to limit (at most maxRare): one probe of the file's token rows.
func (ix *Index) RareTokens(ctx context.Context, ref cas.Ref, limit int) ([]index.TokenFreq, error) {
	limit = min(limit, maxRare)
	out := []index.TokenFreq{}
	if limit <= 0 {
		return out, nil
	}
	err := ix.scanAll(ctx, ix.reader, func(rows *sql.Rows) error {
		var f index.TokenFreq
		err := rows.Scan(&f.Token, &f.Jobs)
		out = append(out, f)
		return err
	}, `SELECT k.token, k.jobs FROM analyses a JOIN file_tokens ft ON ft.file_id = a.id JOIN tokens k ON k.id = ft.token_id
		WHERE a.ref = ? ORDER BY k.jobs, k.token LIMIT ?`, ref, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlindex: rare tokens of %s: %w", ref, err)
	}
	return out, nil
}

// RareFiles ranks jobID's files by their tokens in at most maxJobs jobs.
// It reads the token rows of every analysed file of the job once, so it
// costs about a millisecond per thousand token rows: seconds for a kit of
// thousands of files.
func (ix *Index) RareFiles(ctx context.Context, jobID string, maxJobs int64, limit int) ([]index.RareFile, error) {
	limit = min(limit, maxRare)
	out := []index.RareFile{}
	if limit <= 0 {
		return out, nil
	}
	err := ix.readTx(ctx, func(tx *sql.Tx) error {
		err := ix.scanAll(ctx, tx, func(rows *sql.Rows) error {
			var f index.RareFile
			err := rows.Scan(&f.Ref, &f.Rare, &f.Tokens)
			out = append(out, f)
			return err
		}, `SELECT a.ref, sum(CASE WHEN k.jobs <= ? THEN 1 ELSE 0 END) AS rare, count(*) AS n
			FROM analyses a JOIN file_tokens ft ON ft.file_id = a.id JOIN tokens k ON k.id = ft.token_id
			WHERE a.ref IN (SELECT t.blob FROM tree t WHERE t.job_id = ? AND t.blob IS NOT NULL)
			GROUP BY a.ref HAVING sum(CASE WHEN k.jobs <= ? THEN 1 ELSE 0 END) > 0
			ORDER BY rare DESC, a.ref LIMIT ?`, maxJobs, jobID, maxJobs, limit)
		if err != nil {
			return err
		}
		for i := range out {
			err := ix.queryRow(ctx, tx, `SELECT min(path) FROM tree WHERE job_id = ? AND blob = ?`, jobID, out[i].Ref).Scan(&out[i].Path)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlindex: rare files of job %s: %w", jobID, err)
	}
	return out, nil
}

// Fingerprints returns the similarity hashes of refs' analyses, probing
// the analyses table's ref key lookupBatch refs at a time.
func (ix *Index) Fingerprints(ctx context.Context, refs []cas.Ref) (map[cas.Ref]index.Analysis, error) {
	out := make(map[cas.Ref]index.Analysis, len(refs))
	err := ix.readTx(ctx, func(tx *sql.Tx) error {
		return scanIn(ctx, ix, tx, refs, func(n int) string {
			return `SELECT ref, ssdeep, tlsh, pdq, phash, minhash FROM analyses WHERE ref IN (` + inList(n) + `)`
		}, nil, func(rows *sql.Rows) error {
			var a index.Analysis
			var minhash []byte
			if err := rows.Scan(&a.Ref, &a.SSDeep, &a.TLSH, &a.PDQ, &a.PHash, &minhash); err != nil {
				return err
			}
			a.MinHash = minHashOf(minhash)
			out[a.Ref] = a
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("sqlindex: fingerprints: %w", err)
	}
	return out, nil
}
