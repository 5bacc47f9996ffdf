package sqlindex

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"dewar/cas"
	"dewar/index"
)

// Compile-time checks that Index provides analysis and search.
var (
	_ index.Search   = (*Index)(nil)
	_ index.Analyses = (*Index)(nil)
	_ index.Searcher = (*Index)(nil)
)

// analysis is an index.Analysis checked and normalised for storage: text
// made valid UTF-8 without NUL (PostgreSQL text refuses both), IOCs unique
// by (type, value, chain) and sorted, tokens unique and sorted, keys unique
// and sorted.
type analysis struct {
	index.Analysis
	lvalue  sql.NullInt64 // TLSH length bucket, NULL without a TLSH
	minhash []byte        // MinHash as little-endian uint32s
	id      int64         // analyses.id, once written
}

// prepareAnalysis checks and normalises a (ErrInvalid for a zero ref, an
// IOC without type or value, a version without analyzer name).
func (ix *Index) prepareAnalysis(a index.Analysis) (analysis, error) {
	if a.Ref.IsZero() {
		return analysis{}, fmt.Errorf("%w: analysis with a zero ref", ErrInvalid)
	}
	a.SSDeep, a.TLSH, a.PDQ, a.PHash, a.Language = clean(a.SSDeep), clean(a.TLSH), clean(a.PDQ), clean(a.PHash), clean(a.Language)
	a.AnalyzedAt = ix.stamp(a.AnalyzedAt)

	type iocKey struct{ typ, value, chain string }
	seen := map[iocKey]bool{}
	iocs := make([]index.IOC, 0, len(a.IOCs))
	for _, c := range a.IOCs {
		c = index.IOC{Type: clean(c.Type), Value: clean(c.Value), Chain: clean(c.Chain), Class: clean(c.Class), Context: clean(c.Context)}
		if c.Type == "" || c.Value == "" {
			return analysis{}, fmt.Errorf("%w: IOC %q of type %q in the analysis of %s", ErrInvalid, c.Value, c.Type, a.Ref)
		}
		k := iocKey{c.Type, c.Value, c.Chain}
		if !seen[k] {
			seen[k] = true
			iocs = append(iocs, c)
		}
	}
	slices.SortFunc(iocs, func(x, y index.IOC) int {
		return cmp.Or(strings.Compare(x.Type, y.Type), strings.Compare(x.Value, y.Value), strings.Compare(x.Chain, y.Chain))
	})
	a.IOCs = nilIfEmpty(iocs)

	toks := make([]string, 0, len(a.Tokens))
	for _, t := range a.Tokens {
		if t = clean(t); t != "" {
			toks = append(toks, t)
		}
	}
	slices.Sort(toks)
	a.Tokens = nilIfEmpty(slices.Compact(toks))

	keys := slices.Clone(a.Keys)
	for i := range keys {
		keys[i].Method = clean(keys[i].Method)
	}
	slices.SortFunc(keys, func(x, y index.SimKey) int {
		return cmp.Or(strings.Compare(x.Method, y.Method), cmp.Compare(x.Key, y.Key))
	})
	a.Keys = nilIfEmpty(slices.Compact(keys))

	versions := make(map[string]int, len(a.Versions))
	for name, v := range a.Versions {
		if name = clean(name); name == "" {
			return analysis{}, fmt.Errorf("%w: analyzer version without a name in the analysis of %s", ErrInvalid, a.Ref)
		}
		versions[name] = v
	}
	a.Versions = versions
	if len(versions) == 0 {
		a.Versions = nil
	}
	a.MinHash = nilIfEmpty(slices.Clone(a.MinHash))

	p := analysis{Analysis: a, minhash: make([]byte, 4*len(a.MinHash))}
	for i, v := range a.MinHash {
		binary.LittleEndian.PutUint32(p.minhash[4*i:], v)
	}
	if l, ok := tlshLValue(a.TLSH); ok {
		p.lvalue = sql.NullInt64{Int64: int64(l), Valid: true}
	}
	return p, nil
}

// prepareResultAnalyses prepares the analyses a Finish records: each must
// be of one of files (ErrInvalid otherwise); of several for one ref the
// first wins. The result is in ascending ref order, the lock order.
func (ix *Index) prepareResultAnalyses(as []index.Analysis, files []index.File) ([]analysis, error) {
	if len(as) == 0 {
		return nil, nil
	}
	known := make(map[cas.Ref]bool, len(files))
	for _, f := range files {
		known[f.Ref] = true
	}
	seen := map[cas.Ref]bool{}
	out := make([]analysis, 0, len(as))
	for _, a := range as {
		if !known[a.Ref] {
			return nil, fmt.Errorf("%w: analysis of %s, which is not among the job's files", ErrInvalid, a.Ref)
		}
		if seen[a.Ref] {
			continue
		}
		seen[a.Ref] = true
		p, err := ix.prepareAnalysis(a)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(x, y analysis) int { return refCompare(x.Ref, y.Ref) })
	return out, nil
}

// tlshLValue returns the length bucket of a TLSH digest ("T1" and 70 hex
// digits, or the 70 digits alone): the byte of the third and fourth
// digits, whose nibbles TLSH prints swapped (analyzers/tlsh's
// Digest.LValue).
func tlshLValue(s string) (byte, bool) {
	if len(s) == 72 && (s[:2] == "T1" || s[:2] == "t1") {
		s = s[2:]
	}
	if len(s) != 70 {
		return 0, false
	}
	b, err := hex.DecodeString(s[2:4])
	if err != nil {
		return 0, false
	}
	return b[0]<<4 | b[0]>>4, true
}

// clean makes s storable as text in both databases: valid UTF-8 (invalid
// bytes become U+FFFD) without NUL (also U+FFFD).
func clean(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

func nilIfEmpty[S ~[]E, E any](s S) S {
	if len(s) == 0 {
		return nil
	}
	return s
}

// SetAnalysis records a's results for a file the index knows, replacing
// earlier ones (its IOCs, tokens, similarity keys and analyzer versions),
// in one write; index.ErrFileNotFound for an unknown file. IOCs repeated
// with the same type, value and chain are stored once (the first); empty
// tokens are dropped. Token job frequencies are not changed: they count
// the jobs that finished with the file (see Finish).
func (ix *Index) SetAnalysis(ctx context.Context, a index.Analysis) error {
	return ix.SetAnalyses(ctx, []index.Analysis{a})
}

// SetAnalyses records several analyses as SetAnalysis does, in one
// transaction: a batch shares its page writes and its commit, where one
// transaction per file rewrote the same index pages again and again. Of
// several for one ref the first wins; index.ErrFileNotFound (nothing
// recorded) when any file is unknown.
func (ix *Index) SetAnalyses(ctx context.Context, as []index.Analysis) error {
	ps := make([]analysis, 0, len(as))
	seen := make(map[cas.Ref]bool, len(as))
	for _, a := range as {
		p, err := ix.prepareAnalysis(a)
		if err != nil {
			return err
		}
		if !seen[p.Ref] {
			seen[p.Ref] = true
			ps = append(ps, p)
		}
	}
	if len(ps) == 0 {
		return nil
	}
	slices.SortFunc(ps, func(x, y analysis) int { return refCompare(x.Ref, y.Ref) })
	return ix.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		refs := make([]cas.Ref, len(ps))
		for i := range ps {
			refs[i] = ps[i].Ref
		}
		known := make(map[cas.Ref]bool, len(refs))
		err := scanIn(ctx, ix, tx, refs, func(n int) string {
			return `SELECT ref FROM files WHERE ref IN (` + inList(n) + `)` + ix.d.ForShare
		}, nil, func(rows *sql.Rows) error {
			var r cas.Ref
			err := rows.Scan(&r)
			known[r] = true
			return err
		})
		if err != nil {
			return fmt.Errorf("sqlindex: set analyses: %w", err)
		}
		for _, r := range refs {
			if !known[r] {
				return fmt.Errorf("sqlindex: set analysis of %s: %w", r, index.ErrFileNotFound)
			}
		}
		return ix.writeAnalyses(ctx, tx, ps, true)
	})
}

const analysisCols = `ref, ssdeep, tlsh, tlsh_lvalue, pdq, phash, language, minhash, analyzed_at`

// analysisBatch is how many analyses rows one INSERT carries (9 parameters
// each).
const analysisBatch = 400

// writeAnalyses stores as (ascending refs) in tx. With replace, each
// analysis replaces the file's earlier one; without, files that have one
// already are left alone. Lock order: the analyses rows (ascending), the
// indicator and token dictionaries (ascending text, inserting what is
// new), then the per-file rows.
func (ix *Index) writeAnalyses(ctx context.Context, tx *sql.Tx, as []analysis, replace bool) error {
	if len(as) == 0 {
		return nil
	}
	var fresh []analysis
	for start := 0; start < len(as); start += analysisBatch {
		batch := as[start:min(start+analysisBatch, len(as))]
		args := make([]any, 0, 9*len(batch))
		for i := range batch {
			a := &batch[i]
			args = append(args, a.Ref, a.SSDeep, a.TLSH, a.lvalue, a.PDQ, a.PHash, a.Language, a.minhash, tm(&a.AnalyzedAt))
		}
		conflict := `ON CONFLICT (ref) DO NOTHING`
		if replace {
			conflict = `ON CONFLICT (ref) DO UPDATE SET ssdeep = excluded.ssdeep, tlsh = excluded.tlsh,
				tlsh_lvalue = excluded.tlsh_lvalue, pdq = excluded.pdq, phash = excluded.phash,
				language = excluded.language, minhash = excluded.minhash, analyzed_at = excluded.analyzed_at`
		}
		inserted := map[cas.Ref]int64{}
		err := ix.scanAll(ctx, tx, func(rows *sql.Rows) error {
			var r cas.Ref
			var id int64
			err := rows.Scan(&id, &r)
			inserted[r] = id
			return err
		}, `INSERT INTO analyses (`+analysisCols+`) VALUES `+valueRows(len(batch), 9)+` `+conflict+` RETURNING id, ref`, args...)
		if ix.d.constraint(err) == ForeignKeyViolation {
			return fmt.Errorf("sqlindex: record analyses: %w", index.ErrFileNotFound)
		}
		if err != nil {
			return fmt.Errorf("sqlindex: record analyses: %w", err)
		}
		for _, a := range batch {
			if id, ok := inserted[a.Ref]; ok {
				a.id = id
				fresh = append(fresh, a)
			}
		}
	}
	if replace {
		for _, a := range fresh {
			for _, table := range []string{`file_iocs`, `file_tokens`, `sim_keys`} {
				if _, err := ix.exec(ctx, tx, `DELETE FROM `+table+` WHERE file_id = ?`, a.id); err != nil {
					return fmt.Errorf("sqlindex: replace analysis of %s: %w", a.Ref, err)
				}
			}
			if _, err := ix.exec(ctx, tx, `DELETE FROM analysis_versions WHERE ref = ?`, a.Ref); err != nil {
				return fmt.Errorf("sqlindex: replace analysis of %s: %w", a.Ref, err)
			}
		}
	}
	// The per-file rows go in chunks of about rowChunk rows, so the
	// interned ids and statement arguments held at once stay bounded
	// however many files and tokens one job brings.
	for len(fresh) > 0 {
		n, rows := 0, 0
		for n < len(fresh) && (n == 0 || rows+analysisRows(fresh[n]) <= rowChunk) {
			rows += analysisRows(fresh[n])
			n++
		}
		if err := ix.writeAnalysisRows(ctx, tx, fresh[:n]); err != nil {
			return err
		}
		fresh = fresh[n:]
	}
	return nil
}

// rowChunk is about how many per-file rows (indicators, tokens, keys) one
// writeAnalysisRows call handles.
const rowChunk = 20000

func analysisRows(a analysis) int { return len(a.IOCs) + len(a.Tokens) + len(a.Keys) + len(a.Versions) }

// writeAnalysisRows records the indicators, tokens, keys and versions of
// analyses whose analyses rows (ids) are written.
func (ix *Index) writeAnalysisRows(ctx context.Context, tx *sql.Tx, fresh []analysis) error {
	iocIDs, err := ix.internIOCs(ctx, tx, fresh)
	if err != nil {
		return err
	}
	tokenIDs, err := ix.internTokens(ctx, tx, fresh)
	if err != nil {
		return err
	}

	var iocRows, tokenRows, keyRows, versionRows [][]any
	for _, a := range fresh {
		for _, c := range a.IOCs {
			iocRows = append(iocRows, []any{a.id, iocIDs[iocValue{c.Value, c.Type}], c.Chain, c.Class, c.Context})
		}
		for _, t := range a.Tokens {
			tokenRows = append(tokenRows, []any{a.id, tokenIDs[t]})
		}
		for _, k := range a.Keys {
			keyRows = append(keyRows, []any{k.Method, k.Key, a.id})
		}
		for _, name := range sortedKeys(a.Versions) {
			versionRows = append(versionRows, []any{a.Ref, name, a.Versions[name]})
		}
	}
	for _, ins := range []struct {
		head string
		rows [][]any
	}{
		{`INSERT INTO file_iocs (file_id, ioc_id, chain, class, context) VALUES `, iocRows},
		{`INSERT INTO file_tokens (file_id, token_id) VALUES `, tokenRows},
		{`INSERT INTO sim_keys (method, key, file_id) VALUES `, keyRows},
		{`INSERT INTO analysis_versions (ref, analyzer, version) VALUES `, versionRows},
	} {
		if err := ix.insertRows(ctx, tx, ins.head, ins.rows); err != nil {
			return fmt.Errorf("sqlindex: record analyses: %w", err)
		}
	}
	return nil
}

// maxParams bounds the parameters of one statement, well under SQLite's
// (32766) and PostgreSQL's (65535) limits.
const maxParams = 4000

// insertRows inserts rows (all of one width) with head ("INSERT INTO t
// (a, b) VALUES "), as many per statement as maxParams allows.
func (ix *Index) insertRows(ctx context.Context, tx *sql.Tx, head string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	width := len(rows[0])
	per := maxParams / width
	for start := 0; start < len(rows); start += per {
		batch := rows[start:min(start+per, len(rows))]
		args := make([]any, 0, width*len(batch))
		for _, r := range batch {
			args = append(args, r...)
		}
		if _, err := ix.exec(ctx, tx, head+valueRows(len(batch), width), args...); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// iocValue identifies a row of the indicator dictionary.
type iocValue struct{ value, typ string }

// dictBatch is how many entries one dictionary lookup or insert handles.
const dictBatch = 500

// internIOCs returns the dictionary ids of every IOC of as, inserting the
// new ones (in ascending value order, so concurrent writers lock alike).
func (ix *Index) internIOCs(ctx context.Context, tx *sql.Tx, as []analysis) (map[iocValue]int64, error) {
	var vals []iocValue
	for _, a := range as {
		for _, c := range a.IOCs {
			vals = append(vals, iocValue{c.Value, c.Type})
		}
	}
	slices.SortFunc(vals, func(x, y iocValue) int {
		return cmp.Or(strings.Compare(x.value, y.value), strings.Compare(x.typ, y.typ))
	})
	vals = slices.Compact(vals)
	ids := make(map[iocValue]int64, len(vals))
	lookup := func(batch []iocValue) error {
		var values []any
		for i, v := range batch {
			if i == 0 || v.value != batch[i-1].value {
				values = append(values, v.value)
			}
		}
		return ix.scanAll(ctx, tx, func(rows *sql.Rows) error {
			var id int64
			var v iocValue
			err := rows.Scan(&id, &v.value, &v.typ)
			ids[v] = id
			return err
		}, `SELECT id, value, type FROM ioc_values WHERE value IN (`+inList(len(values))+`)`, values...)
	}
	for start := 0; start < len(vals); start += dictBatch {
		batch := vals[start:min(start+dictBatch, len(vals))]
		if err := lookup(batch); err != nil {
			return nil, fmt.Errorf("sqlindex: look up indicators: %w", err)
		}
		var missing []iocValue
		var args []any
		for _, v := range batch {
			if _, ok := ids[v]; !ok {
				k := fold(v.value)
				missing = append(missing, v)
				args = append(args, v.typ, v.value, k, reverse(k))
			}
		}
		if len(missing) == 0 {
			continue
		}
		err := ix.scanAll(ctx, tx, func(rows *sql.Rows) error {
			var id int64
			var v iocValue
			err := rows.Scan(&id, &v.value, &v.typ)
			ids[v] = id
			return err
		}, `INSERT INTO ioc_values (type, value, key, rkey) VALUES `+valueRows(len(missing), 4)+`
			ON CONFLICT (value, type) DO NOTHING RETURNING id, value, type`, args...)
		if err != nil {
			return nil, fmt.Errorf("sqlindex: add indicators: %w", err)
		}
		if err := lookup(missing); err != nil { // inserted concurrently meanwhile
			return nil, fmt.Errorf("sqlindex: look up indicators: %w", err)
		}
		for _, v := range missing {
			if _, ok := ids[v]; !ok {
				return nil, fmt.Errorf("sqlindex: indicator %q of type %q neither found nor added", v.value, v.typ)
			}
		}
	}
	return ids, nil
}

// internTokens returns the dictionary ids of every token of as, inserting
// the new ones (in ascending order, so concurrent writers lock alike).
func (ix *Index) internTokens(ctx context.Context, tx *sql.Tx, as []analysis) (map[string]int64, error) {
	var toks []string
	for _, a := range as {
		toks = append(toks, a.Tokens...)
	}
	slices.Sort(toks)
	toks = slices.Compact(toks)
	ids := make(map[string]int64, len(toks))
	scan := func(rows *sql.Rows) error {
		var id int64
		var t string
		err := rows.Scan(&id, &t)
		ids[t] = id
		return err
	}
	for start := 0; start < len(toks); start += dictBatch {
		batch := toks[start:min(start+dictBatch, len(toks))]
		if err := ix.scanAll(ctx, tx, scan, `SELECT id, token FROM tokens WHERE token IN (`+inList(len(batch))+`)`, stringArgs(batch)...); err != nil {
			return nil, fmt.Errorf("sqlindex: look up tokens: %w", err)
		}
		var missing []string
		for _, t := range batch {
			if _, ok := ids[t]; !ok {
				missing = append(missing, t)
			}
		}
		if len(missing) == 0 {
			continue
		}
		if err := ix.scanAll(ctx, tx, scan, `INSERT INTO tokens (token, jobs) VALUES `+strings.TrimSuffix(strings.Repeat("(?, 0), ", len(missing)), ", ")+`
			ON CONFLICT (token) DO NOTHING RETURNING id, token`, stringArgs(missing)...); err != nil {
			return nil, fmt.Errorf("sqlindex: add tokens: %w", err)
		}
		if err := ix.scanAll(ctx, tx, scan, `SELECT id, token FROM tokens WHERE token IN (`+inList(len(missing))+`)`, stringArgs(missing)...); err != nil {
			return nil, fmt.Errorf("sqlindex: look up tokens: %w", err)
		}
		for _, t := range missing {
			if _, ok := ids[t]; !ok {
				return nil, fmt.Errorf("sqlindex: token %q neither found nor added", t)
			}
		}
	}
	return ids, nil
}

func stringArgs(s []string) []any {
	args := make([]any, len(s))
	for i, v := range s {
		args[i] = v
	}
	return args
}

// CountJobTokens counts the tokens of up to max done jobs that Finish
// queued (oldest job id first) in their job frequencies, exactly once per
// job and token however many workers call this and whenever a process
// dies. A job's distinct token ids are read first (by primary key, from
// the reader), then counted in ascending chunks of countChunk, each chunk
// one transaction that also advances the job's done_upto (and the last
// one dequeues the job): a kit with 600,000 distinct tokens holds the
// writer for a chunk at a time, not for a second, and every chunk skips
// what another counter already counted. It returns how many jobs it
// finished; 0 when none was waiting. A job's files analysed after its
// Finish but before its count are counted too.
func (ix *Index) CountJobTokens(ctx context.Context, max int) (int, error) {
	n := 0
	for n < max {
		var jobID string
		var from int64
		err := ix.queryRow(ctx, ix.reader, `SELECT job_id, done_upto FROM token_counts_pending ORDER BY job_id LIMIT 1`).Scan(&jobID, &from)
		if errors.Is(err, sql.ErrNoRows) {
			break
		}
		if err != nil {
			return n, fmt.Errorf("sqlindex: count job tokens: %w", err)
		}
		ids, err := ix.jobTokenIDs(ctx, jobID, from)
		if err != nil {
			return n, err
		}
		for start := 0; ; start += countChunk {
			chunk := ids[min(start, len(ids)):min(start+countChunk, len(ids))]
			last := start+countChunk >= len(ids)
			var queued bool
			if err := ix.w.do(ctx, func(ctx context.Context, tx *sql.Tx) (err error) {
				queued, err = ix.countTokenChunk(ctx, tx, jobID, chunk, last)
				return err
			}); err != nil {
				return n, fmt.Errorf("sqlindex: count tokens of job %s: %w", jobID, err)
			}
			if !queued {
				break // another counter finished the job
			}
			if last {
				n++
				break
			}
		}
	}
	return n, nil
}

// countChunk is how many tokens one CountJobTokens transaction counts.
const countChunk = 5000

// jobFiles selects the analysis ids of a job's files (its tree's and its
// upload's); parameters: the job id, twice.
const jobFiles = `SELECT a.id FROM analyses a WHERE a.ref IN (
	SELECT t.blob FROM tree t WHERE t.job_id = ? AND t.blob IS NOT NULL
	UNION SELECT j.upload FROM jobs j WHERE j.id = ?)`

// jobTokenIDs returns the distinct token ids above from of the job's
// files, ascending: the file ids first, then their token rows by primary
// key, so each statement is an index probe whatever the planner's
// statistics (one statement over the whole join let PostgreSQL, with stale
// statistics, scan all of file_tokens).
func (ix *Index) jobTokenIDs(ctx context.Context, jobID string, from int64) ([]int64, error) {
	distinct := map[int64]bool{}
	err := ix.readTx(ctx, func(tx *sql.Tx) error {
		var files []int64
		err := ix.scanAll(ctx, tx, func(rows *sql.Rows) error {
			var id int64
			err := rows.Scan(&id)
			files = append(files, id)
			return err
		}, jobFiles, jobID, jobID)
		if err != nil {
			return err
		}
		return scanIn(ctx, ix, tx, files, func(n int) string {
			return `SELECT DISTINCT ft.token_id FROM file_tokens ft WHERE ft.file_id IN (` + inList(n) + `) AND ft.token_id > ?`
		}, []any{from}, func(rows *sql.Rows) error {
			var id int64
			err := rows.Scan(&id)
			distinct[id] = true
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("sqlindex: tokens of job %s: %w", jobID, err)
	}
	ids := make([]int64, 0, len(distinct))
	for id := range distinct {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, nil
}

// countTokenChunk adds one to the job frequency of the tokens of ids (of
// jobID, ascending) above the job's recorded progress, then records the
// progress, or dequeues the job when last. The job's queue row is locked
// first, so concurrent counters of one job take turns and each skips what
// the other counted; tokens are locked in id order, so jobs sharing
// tokens queue instead of deadlocking. A job no longer queued (another
// counter finished it) is left alone.
func (ix *Index) countTokenChunk(ctx context.Context, tx *sql.Tx, jobID string, ids []int64, last bool) (queued bool, err error) {
	var done int64
	err = ix.queryRow(ctx, tx, `SELECT done_upto FROM token_counts_pending WHERE job_id = ?`+ix.d.ForUpdate, jobID).Scan(&done)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	i, _ := slices.BinarySearch(ids, done+1)
	ids = ids[i:]
	if len(ids) > 0 {
		args := make([]any, len(ids))
		for i, id := range ids {
			args[i] = id
		}
		for start := 0; start < len(args); start += lookupBatch {
			batch := args[start:min(start+lookupBatch, len(args))]
			if ix.d.ForNoKeyUpdate != "" {
				var n int64
				err := ix.queryRow(ctx, tx, `SELECT count(*) FROM (SELECT k.id FROM tokens k WHERE k.id IN (`+inList(len(batch))+`)
					ORDER BY k.id`+ix.d.ForNoKeyUpdate+`) locked`, batch...).Scan(&n)
				if err != nil {
					return false, err
				}
			}
			if _, err := ix.exec(ctx, tx, `UPDATE tokens SET jobs = jobs + 1 WHERE id IN (`+inList(len(batch))+`)`, batch...); err != nil {
				return false, err
			}
		}
		done = ids[len(ids)-1]
	}
	if last {
		_, err = ix.exec(ctx, tx, `DELETE FROM token_counts_pending WHERE job_id = ?`, jobID)
	} else {
		_, err = ix.exec(ctx, tx, `UPDATE token_counts_pending SET done_upto = ? WHERE job_id = ?`, done, jobID)
	}
	return true, err
}

// readTx runs fn in a read-only transaction of the reader pool, so the
// statements of one answer see one snapshot.
func (ix *Index) readTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := ix.reader.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("sqlindex: begin read: %w", err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// GetAnalysis returns a file's analysis as stored: IOCs in (type, value,
// chain) order, tokens and keys sorted, empty lists nil.
// index.ErrAnalysisNotFound for a file never analysed.
func (ix *Index) GetAnalysis(ctx context.Context, ref cas.Ref) (index.Analysis, error) {
	a := index.Analysis{Ref: ref}
	err := ix.readTx(ctx, func(tx *sql.Tx) error {
		var minhash []byte
		var id int64
		err := ix.queryRow(ctx, tx, `SELECT id, ssdeep, tlsh, pdq, phash, language, minhash, analyzed_at FROM analyses WHERE ref = ?`, ref).
			Scan(&id, &a.SSDeep, &a.TLSH, &a.PDQ, &a.PHash, &a.Language, &minhash, tm(&a.AnalyzedAt))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlindex: analysis of %s: %w", ref, index.ErrAnalysisNotFound)
		}
		if err != nil {
			return err
		}
		a.MinHash = minHashOf(minhash)
		err = ix.scanAll(ctx, tx, func(rows *sql.Rows) error {
			var c index.IOC
			err := rows.Scan(&c.Type, &c.Value, &c.Chain, &c.Class, &c.Context)
			a.IOCs = append(a.IOCs, c)
			return err
		}, `SELECT v.type, v.value, fi.chain, fi.class, fi.context FROM file_iocs fi JOIN ioc_values v ON v.id = fi.ioc_id
			WHERE fi.file_id = ? ORDER BY v.type, v.value, fi.chain`, id)
		if err != nil {
			return err
		}
		err = ix.scanAll(ctx, tx, func(rows *sql.Rows) error {
			var t string
			err := rows.Scan(&t)
			a.Tokens = append(a.Tokens, t)
			return err
		}, `SELECT k.token FROM file_tokens ft JOIN tokens k ON k.id = ft.token_id WHERE ft.file_id = ? ORDER BY k.token`, id)
		if err != nil {
			return err
		}
		err = ix.scanAll(ctx, tx, func(rows *sql.Rows) error {
			var k index.SimKey
			err := rows.Scan(&k.Method, &k.Key)
			a.Keys = append(a.Keys, k)
			return err
		}, `SELECT method, key FROM sim_keys WHERE file_id = ? ORDER BY method, key`, id)
		if err != nil {
			return err
		}
		return ix.scanAll(ctx, tx, func(rows *sql.Rows) error {
			var name string
			var v int
			err := rows.Scan(&name, &v)
			if a.Versions == nil {
				a.Versions = map[string]int{}
			}
			a.Versions[name] = v
			return err
		}, `SELECT analyzer, version FROM analysis_versions WHERE ref = ?`, ref)
	})
	if errors.Is(err, index.ErrNotFound) {
		return index.Analysis{}, err
	}
	if err != nil {
		return index.Analysis{}, fmt.Errorf("sqlindex: get analysis of %s: %w", ref, err)
	}
	return a, nil
}

// Unanalysed returns those of refs that have no analyses row, in order,
// probing the primary key lookupBatch refs at a time.
func (ix *Index) Unanalysed(ctx context.Context, refs []cas.Ref) ([]cas.Ref, error) {
	have := make(map[cas.Ref]bool, len(refs))
	err := ix.readTx(ctx, func(tx *sql.Tx) error {
		return scanIn(ctx, ix, tx, refs, func(n int) string {
			return `SELECT ref FROM analyses WHERE ref IN (` + inList(n) + `)`
		}, nil, func(rows *sql.Rows) error {
			var r cas.Ref
			err := rows.Scan(&r)
			have[r] = true
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("sqlindex: unanalysed files: %w", err)
	}
	var out []cas.Ref
	for _, r := range refs {
		if !have[r] {
			out = append(out, r)
		}
	}
	return out, nil
}

// StaleFiles pages through the files (above after, in ref order) whose
// recorded version of analyzer is below version, or that have none (never
// analysed, or not by that analyzer). It walks the files table in ref
// order and probes each file's version row, so a whole pass over the
// store costs one read of each, however many are stale.
func (ix *Index) StaleFiles(ctx context.Context, analyzer string, version int, after cas.Ref, limit int) ([]cas.Ref, error) {
	if limit <= 0 {
		return nil, nil
	}
	var refs []cas.Ref
	err := ix.scanAll(ctx, ix.reader, func(rows *sql.Rows) error {
		var r cas.Ref
		err := rows.Scan(&r)
		refs = append(refs, r)
		return err
	}, staleSQL, refText(after), analyzer, version, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlindex: stale files of %q: %w", analyzer, err)
	}
	return refs, nil
}

// staleSQL is StaleFiles' statement; parameters: after, the analyzer,
// the version, the limit.
const staleSQL = `SELECT f.ref FROM files f WHERE f.ref > ? AND NOT EXISTS (
	SELECT 1 FROM analysis_versions v WHERE v.ref = f.ref AND v.analyzer = ? AND v.version >= ?)
	ORDER BY f.ref LIMIT ?`

// refText is a ref as text for comparisons: "" (below every ref) for the
// zero Ref, whose SQL value is NULL.
func refText(r cas.Ref) string {
	if r.IsZero() {
		return ""
	}
	return r.String()
}
