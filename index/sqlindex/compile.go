package sqlindex

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"dewar/cas"
	"dewar/index"
	"dewar/index/listing"
	"dewar/index/query"
)

// A search compiles its AST into a cond: a boolean expression over the
// outer row (files f, or jobs j) that never evaluates to NULL, so that NOT
// is plain negation. doc_search.go describes what each field compiles to.
type cond interface{ isCond() }

type (
	// constCond is TRUE or FALSE.
	constCond bool
	// sqlCond is a predicate on the outer row's own columns.
	sqlCond struct {
		sql  string
		args []any
	}
	// inCond is "outer is among the rows of a set"; see set.
	inCond struct {
		outer string
		s     set
		// paged: outer is the paging key, so the page's cursor bound can
		// be repeated inside the subquery (it then skips earlier pages).
		paged bool
	}
	andCond []cond
	orCond  []cond
	notCond struct{ c cond }
)

func (constCond) isCond() {}
func (sqlCond) isCond()   {}
func (inCond) isCond()    {}
func (andCond) isCond()   {}
func (orCond) isCond()    {}
func (notCond) isCond()   {}

// renderer writes a cond as SQL with "?" placeholders and collects the
// arguments in the same order.
type renderer struct {
	b    strings.Builder
	args []any
	// pageOp and pageArg bound the paging key (f.ref > cursor, j.id <
	// cursor) inside paged subqueries; pageOp "" for none.
	pageOp  string
	pageArg string
}

func (r *renderer) cond(c cond, neg bool) {
	switch c := c.(type) {
	case constCond:
		if bool(c) != neg {
			r.b.WriteString("1 = 1")
		} else {
			r.b.WriteString("1 = 0")
		}
	case sqlCond:
		if neg {
			r.b.WriteString("NOT ")
		}
		r.b.WriteString("(" + c.sql + ")")
		r.args = append(r.args, c.args...)
	case inCond:
		r.in(c, neg)
	case andCond:
		r.list(c, neg, " AND ", " OR ", true)
	case orCond:
		r.list(c, neg, " OR ", " AND ", false)
	case notCond:
		r.cond(c.c, !neg)
	default:
		panic(fmt.Sprintf("sqlindex: unknown condition %T", c))
	}
}

// set is the rows a term stands for (file refs, or job IDs), in the two
// forms a search can use:
//
//   - a subquery, SELECT col FROM from WHERE where, for outer IN (...):
//     the database reads it from its indexes first and drives the search
//     from it, which suits a selective term (an equality, a literal
//     prefix or an indexed suffix);
//   - a probe, the rows of pfrom WHERE pwhere with pcol = outer, for
//     EXISTS (...): checked per outer row in page order, so a broad term
//     (a pattern without a leading literal, "has any") gives its first
//     page without reading all its matches.
//
// Negated, a selective set is NOT EXISTS over the subquery's rows with col
// = outer (one index probe per outer row), a broad one over the probe's.
// Both forms select no NULLs, so the negations are exact.
type set struct {
	col, from, where    string
	args                []any
	pcol, pfrom, pwhere string // "": the same as col, from, where
	pargs               []any
	selective           bool
}

// probe returns the probe form.
func (s set) probe() (col, from, where string, args []any) {
	if s.pfrom == "" {
		return s.col, s.from, s.where, s.args
	}
	return s.pcol, s.pfrom, s.pwhere, s.pargs
}

// in writes an inCond (see set).
func (r *renderer) in(c inCond, neg bool) {
	s := c.s
	col, from, where, args := s.col, s.from, s.where, s.args
	if !s.selective {
		col, from, where, args = s.probe()
	}
	conds := []string{}
	if where != "" {
		conds = append(conds, where)
	}
	r.args = append(r.args, args...)
	if neg || !s.selective {
		if neg {
			r.b.WriteString("NOT ")
		}
		conds = append(conds, col+" = "+c.outer)
		r.b.WriteString("EXISTS (SELECT 1 FROM " + from + " WHERE " + strings.Join(conds, " AND ") + ")")
		return
	}
	if c.paged && r.pageOp != "" {
		conds = append(conds, col+" "+r.pageOp+" ?")
		r.args = append(r.args, r.pageArg)
	}
	r.b.WriteString(c.outer + " IN (SELECT " + col + " FROM " + from)
	if len(conds) > 0 {
		r.b.WriteString(" WHERE " + strings.Join(conds, " AND "))
	}
	r.b.WriteString(")")
}

// list writes children joined by op, or by dual when negated (De Morgan),
// so that negations reach the terms. empty is the value of no children.
func (r *renderer) list(children []cond, neg bool, op, dual string, empty bool) {
	if len(children) == 0 {
		r.cond(constCond(empty), neg)
		return
	}
	if neg {
		op = dual
	}
	r.b.WriteString("(")
	for i, c := range children {
		if i > 0 {
			r.b.WriteString(op)
		}
		r.cond(c, neg)
	}
	r.b.WriteString(")")
}

// conds accumulates ANDed SQL conditions and their arguments.
type conds struct {
	parts []string
	args  []any
}

func (w *conds) add(sql string, args ...any) {
	w.parts = append(w.parts, sql)
	w.args = append(w.args, args...)
}

func (w *conds) sql() string {
	if len(w.parts) == 0 {
		return "1 = 1"
	}
	return strings.Join(w.parts, " AND ")
}

// maxSimilar caps the files a similar: term stands for.
const maxSimilar = 1000

// compiler turns a query into conds for one search.
type compiler struct {
	ix      *Index
	ctx     context.Context
	similar func(ctx context.Context, ref cas.Ref) ([]cas.Ref, error)
	cache   map[string][]cas.Ref // similar: answers, by sha256
}

func (c *compiler) node(n query.Node, of query.Target) (cond, error) {
	switch n := n.(type) {
	case query.And:
		out := make(andCond, 0, len(n.Children))
		for _, ch := range n.Children {
			cc, err := c.node(ch, of)
			if err != nil {
				return nil, err
			}
			out = append(out, cc)
		}
		return out, nil
	case query.Or:
		out := make(orCond, 0, len(n.Children))
		for _, ch := range n.Children {
			cc, err := c.node(ch, of)
			if err != nil {
				return nil, err
			}
			out = append(out, cc)
		}
		return out, nil
	case query.Not:
		cc, err := c.node(n.Child, of)
		if err != nil {
			return nil, err
		}
		return notCond{cc}, nil
	case query.Term:
		kw, ok := n.Keyword()
		if !ok {
			return nil, invalidQuery("unknown field %q", n.Field)
		}
		if err := checkOp(n, kw); err != nil {
			return nil, err
		}
		if kw.Kind == query.KindText && !validText(n.Value) {
			return constCond(false), nil // no stored text holds it
		}
		if of == query.TargetJobs {
			return c.jobTerm(n, kw)
		}
		return c.fileTerm(n, kw)
	case nil:
		return nil, invalidQuery("empty query")
	}
	return nil, invalidQuery("unknown node %T", n)
}

// invalidQuery is an error for a query the index cannot run: it wraps
// both ErrInvalid and query.ErrInvalid (an API answers 400 for either).
func invalidQuery(format string, args ...any) error {
	return fmt.Errorf("%w: %s: %w", ErrInvalid, fmt.Sprintf(format, args...), query.ErrInvalid)
}

// checkOp refuses a term whose operator does not fit its field's kind
// (only a hand-built AST has one).
func checkOp(t query.Term, kw query.Keyword) error {
	ok := false
	switch kw.Kind {
	case query.KindText:
		ok = t.Op >= query.OpEq && t.Op <= query.OpAny
	case query.KindHash:
		ok = (t.Op == query.OpEq || t.Op == query.OpPrefix) && t.Value != "" &&
			strings.Trim(t.Value, "0123456789abcdef") == ""
	case query.KindNumber:
		ok = t.Op == query.OpEq || t.Op >= query.OpGT && t.Op <= query.OpBetween
	case query.KindDate:
		ok = t.Op == query.OpGE || t.Op == query.OpLT
	case query.KindBool:
		ok = t.Op == query.OpEq && (t.Value == "true" || t.Value == "false")
	case query.KindJobID:
		ok = t.Op == query.OpEq && index.ValidJobID(t.Value)
	case query.KindSHA256:
		_, err := cas.Parse(t.Value)
		ok = t.Op == query.OpEq && err == nil
	}
	if !ok {
		return invalidQuery("%s: operator %v with value %q", t.Field, t.Op, t.Value)
	}
	return nil
}

// validText reports whether a text value can be stored at all: text the
// index stores is valid UTF-8 without NUL (see clean), so a value that is
// not matches nothing, alike in both databases.
func validText(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }

// fileTerm compiles a term of a file search (outer row f).
func (c *compiler) fileTerm(t query.Term, kw query.Keyword) (cond, error) {
	switch t.Field {
	case "name", "path":
		w, selective := c.treeText(t, kw)
		w.add("t.blob IS NOT NULL")
		return inCond{outer: "f.ref", paged: true,
			s: set{col: "t.blob", from: "tree t", where: w.sql(), args: w.args, selective: selective}}, nil
	case "job":
		return orCond{
			inCond{outer: "f.ref", paged: true, s: set{col: "t.blob", from: "tree t",
				where: "t.job_id = ? AND t.blob IS NOT NULL", args: []any{t.Value}, selective: true}},
			inCond{outer: "f.ref", paged: true, s: set{col: "j2.upload", from: "jobs j2",
				where: "j2.id = ? AND j2.finished_at IS NOT NULL", args: []any{t.Value}, selective: true}},
		}, nil
	case "jobname", "submitter", "notes":
		w, _ := c.jobColumn(t, kw, "j2")
		pred := w.sql()
		selective, err := c.fewJobs(pred, w.args)
		if err != nil {
			return nil, err
		}
		return orCond{
			inCond{outer: "f.ref", paged: true, s: set{
				col: "t.blob", from: "tree t", args: w.args, selective: selective,
				where: "t.job_id IN (SELECT j2.id FROM jobs j2 WHERE " + pred + ") AND t.blob IS NOT NULL",
				pcol:  "t.blob", pfrom: "tree t JOIN jobs j2 ON j2.id = t.job_id", pwhere: pred, pargs: w.args}},
			inCond{outer: "f.ref", paged: true, s: set{col: "j2.upload", from: "jobs j2", args: w.args,
				where: pred + " AND j2.finished_at IS NOT NULL", selective: selective}},
		}, nil
	case "similar":
		refs, err := c.similarRefs(t.Value)
		if err != nil || len(refs) == 0 {
			return constCond(false), err
		}
		return sqlCond{sql: "f.ref IN (" + inList(len(refs)) + ")", args: refs}, nil
	}
	if s, ok := c.fileSet(t, kw); ok {
		return inCond{outer: "f.ref", s: s, paged: true}, nil
	}
	w, _ := c.fileColumn(t, kw, "f")
	return sqlCond{sql: w.sql(), args: w.args}, nil
}

// fewJobs reports whether the jobs matching pred are few enough for a file
// search to be driven from their files: at most a tenth of all jobs, or
// at most minDriving. Jobs have no index on these columns, so the two
// counts read the jobs table, which is small next to files and trees; the
// answer decides between reading all those jobs' trees first and probing
// each file in page order (see set).
func (c *compiler) fewJobs(pred string, args []any) (bool, error) {
	const minDriving = 20
	var match, total int64
	err := c.ix.reader.QueryRowContext(c.ctx, c.ix.d.rebind(`SELECT
		(SELECT count(*) FROM (SELECT 1 FROM jobs j2 WHERE `+pred+`) m),
		(SELECT count(*) FROM jobs)`), args...).Scan(&match, &total)
	if err != nil {
		return false, fmt.Errorf("sqlindex: search: count jobs: %w", err)
	}
	return match <= minDriving || match*10 <= total, nil
}

// jobTerm compiles a term of a job search (outer row j).
func (c *compiler) jobTerm(t query.Term, kw query.Keyword) (cond, error) {
	switch t.Field {
	case "job", "jobname", "submitter", "notes", "knowngood", "after", "before":
		w, _ := c.jobColumn(t, kw, "j")
		return sqlCond{sql: w.sql(), args: w.args}, nil
	case "name", "path":
		w, selective := c.treeText(t, kw)
		return inCond{outer: "j.id", paged: true,
			s: set{col: "t.job_id", from: "tree t", where: w.sql(), args: w.args, selective: selective}}, nil
	}
	// A file term: the jobs with such a file in their tree, or as their
	// upload.
	var fs set
	if t.Field == "similar" {
		refs, err := c.similarRefs(t.Value)
		if err != nil || len(refs) == 0 {
			return constCond(false), err
		}
		fs = set{col: "f2.ref", from: "files f2", where: "f2.ref IN (" + inList(len(refs)) + ")", args: refs, selective: true}
	} else if s, ok := c.fileSet(t, kw); ok {
		fs = s
	} else {
		w, selective := c.fileColumn(t, kw, "f2")
		fs = set{col: "f2.ref", from: "files f2", where: w.sql(), args: w.args, selective: selective}
	}
	pcol, pfrom, pwhere, pargs := fs.probe()
	return orCond{
		inCond{outer: "j.id", paged: true, s: set{
			col: "t.job_id", from: "tree t", args: fs.args, selective: fs.selective,
			where: "t.blob IN (SELECT " + fs.col + " FROM " + fs.from + " WHERE " + fs.where + ")",
			pcol:  "t.job_id", pfrom: "tree t, " + pfrom, pwhere: pcol + " = t.blob AND " + pwhere, pargs: pargs}},
		inCond{outer: "j.upload", s: fs},
	}, nil
}

// fileSet compiles the file terms answered by a table of their own (IOCs
// and tokens, through their dictionaries) into the set of the matching
// files' refs; ok is false for other fields. They are selective but for
// "has any" (ioc:*): a pattern reads the dictionary, which holds each
// distinct value once, far fewer rows than the files that have them, and
// its matches then drive the search.
func (c *compiler) fileSet(t query.Term, kw query.Keyword) (s set, ok bool) {
	switch t.Field {
	case "ioc", "url", "domain", "email", "ip", "telegram":
		var w conds
		switch t.Field {
		case "ioc":
		case "telegram":
			w.add("v.type IN (?, ?)", "telegram-token", "telegram-chat")
		default:
			w.add("v.type = ?", t.Field)
		}
		if t.Field == "domain" && t.Op == query.OpEq {
			// A domain stands for its subdomains too.
			k := fold(t.Value)
			sub := reverse("." + k)
			end, _ := listing.PrefixEnd(sub)
			w.add("(v.key = ? OR v.rkey >= ? AND v.rkey < ?)", k, sub, end)
		} else {
			c.text(&w, t, kw.Fold, textCol{exact: "v.value", folded: "v.key", rev: "v.rkey"})
		}
		values := "SELECT v.id FROM ioc_values v WHERE " + w.sql()
		return set{col: "a.ref", from: "analyses a", args: w.args, selective: t.Op != query.OpAny && c.fewRows("file_iocs", "ioc_id", values, w.args),
			where: "a.id IN (SELECT fi.file_id FROM file_iocs fi WHERE fi.ioc_id IN (" + values + "))",
			// The probe takes the matching values' ids once, then seeks
			// each file's rows by (file_id, ioc_id).
			pcol: "a.ref", pfrom: "analyses a JOIN file_iocs fi ON fi.file_id = a.id",
			pwhere: "fi.ioc_id IN (" + values + ")", pargs: w.args}, true
	case "token":
		var w conds
		c.text(&w, t, kw.Fold, textCol{exact: "k.token"})
		values := "SELECT k.id FROM tokens k WHERE " + w.sql()
		return set{col: "a.ref", from: "analyses a", args: w.args, selective: t.Op != query.OpAny && c.fewRows("file_tokens", "token_id", values, w.args),
			where: "a.id IN (SELECT ft.file_id FROM file_tokens ft WHERE ft.token_id IN (" + values + "))",
			pcol:  "a.ref", pfrom: "analyses a JOIN file_tokens ft ON ft.file_id = a.id",
			pwhere: "ft.token_id IN (" + values + ")", pargs: w.args}, true
	}
	return set{}, false
}

// fewRows reports whether the rows of table (file_iocs, file_tokens)
// whose column is among the dictionary ids that values selects are few
// enough to drive a file search (see Options.DriveLimit). Driving costs
// about k row reads for k matches (measured: 3.5 µs each on a 1M-file
// SQLite index); probing files in page order until a 50-file page is full
// costs about files*50/k probes (2 µs each), so past sqrt(30*files)
// probing wins. The count stops one row past the limit and reads a
// covering index; an error (a timeout) leaves the term driving, the plan
// that was always used.
func (c *compiler) fewRows(table, column, values string, args []any) bool {
	limit := c.ix.driveLimit
	if limit <= 0 {
		var files sql.NullInt64
		// analyses.id grows with every analysed file: the newest is a
		// cheap bound on their number.
		if err := c.ix.reader.QueryRowContext(c.ctx, `SELECT max(id) FROM analyses`).Scan(&files); err != nil {
			return true
		}
		limit = max(minDriveLimit, int(math.Sqrt(30*float64(files.Int64))))
	}
	var n int
	err := c.ix.reader.QueryRowContext(c.ctx, c.ix.d.rebind(`SELECT count(*) FROM (SELECT 1 FROM `+table+` WHERE `+column+` IN (`+values+`) LIMIT ?) m`),
		append(append([]any{}, args...), limit+1)...).Scan(&n)
	return err != nil || n <= limit
}

// minDriveLimit is the least automatic drive limit.
const minDriveLimit = 2000

// fileColumn compiles a term on the files table's own columns, for the
// files row aliased a.
// selective is true for the hashes, the only indexed ones.
func (c *compiler) fileColumn(t query.Term, kw query.Keyword, a string) (w *conds, selective bool) {
	w = &conds{}
	switch t.Field {
	case "sha256":
		c.match(w, a+".ref", t.Parts(), "", false)
		selective = true
	case "sha1", "md5":
		c.match(w, a+"."+t.Field, t.Parts(), "", false)
		selective = true
	case "mime":
		c.text(w, t, kw.Fold, textCol{exact: a + ".mime"})
	case "size":
		number(w, a+".size", t)
	case "knowngood":
		w.add(a+".known_good = ?", t.Bool())
	case "after", "before":
		date(w, a+".first_seen", t)
	default:
		panic("sqlindex: no file column for " + t.Field) // every field is handled above
	}
	return w, selective
}

// jobColumn compiles a term on the jobs table's own columns, for the jobs
// row aliased a. selective: an ID, or a text term anchored by a literal
// (the jobs a file search reaches through such a term are taken to be
// few; see set).
func (c *compiler) jobColumn(t query.Term, kw query.Keyword, a string) (w *conds, selective bool) {
	w = &conds{}
	switch t.Field {
	case "job":
		w.add(a+".id = ?", t.Value)
		selective = true
	case "jobname":
		selective = c.text(w, t, kw.Fold, textCol{exact: a + ".name"})
	case "submitter", "notes":
		selective = c.text(w, t, kw.Fold, textCol{exact: a + "." + t.Field})
	case "knowngood":
		w.add(a+".known_good = ?", t.Bool())
	case "after", "before":
		date(w, a+".submitted_at", t)
	default:
		panic("sqlindex: no job column for " + t.Field)
	}
	return w, selective
}

// treeText compiles name: (the folded, indexed name column) and path: (the
// path, folded by the dialect, not indexed) over tree rows t. selective:
// a name term anchored by a literal.
func (c *compiler) treeText(t query.Term, kw query.Keyword) (w *conds, selective bool) {
	w = &conds{}
	if t.Field == "name" {
		return w, c.text(w, t, kw.Fold, textCol{folded: "t.name"})
	}
	c.text(w, t, kw.Fold, textCol{exact: "t.path"})
	return w, false
}

func number(w *conds, col string, t query.Term) {
	switch t.Op {
	case query.OpEq:
		w.add(col+" = ?", t.Low)
	case query.OpGT:
		w.add(col+" > ?", t.Low)
	case query.OpGE:
		w.add(col+" >= ?", t.Low)
	case query.OpLT:
		w.add(col+" < ?", t.High)
	case query.OpLE:
		w.add(col+" <= ?", t.High)
	case query.OpBetween:
		w.add(col+" BETWEEN ? AND ?", t.Low, t.High)
	}
}

func date(w *conds, col string, t query.Term) {
	at := t.Time
	if t.Op == query.OpGE {
		w.add(col+" >= ?", tm(&at))
	} else {
		w.add(col+" < ?", tm(&at))
	}
}

// textCol says how a text field is stored.
type textCol struct {
	exact  string // the value as written ("" when only a folded copy is stored)
	folded string // a column holding fold(value), indexed ("" when none)
	rev    string // a column holding reverse(folded), indexed ("" when none)
}

// text adds the conditions of a text term on col. A field that folds case
// compares folded values: the folded column if there is one, else the
// dialect's lower() of the value. A field that does not is compared as
// written, after narrowing on the folded column's index when there is one
// (what matches as written matches folded).
//
// It reports whether the term is anchored: an equality, a literal prefix,
// or a literal suffix of a column with a reversed copy, the terms an index
// narrows (and that are taken to be selective; see set).
func (c *compiler) text(w *conds, t query.Term, foldCase bool, col textCol) (anchored bool) {
	parts := t.Parts()
	switch {
	case foldCase && col.folded != "":
		return c.match(w, col.folded, foldAll(parts), col.rev, false)
	case foldCase:
		return c.match(w, c.ix.d.lower(col.exact), foldAll(parts), "", false)
	}
	if col.folded != "" {
		anchored = c.match(w, col.folded, foldAll(parts), col.rev, true)
	}
	return c.match(w, col.exact, parts, "", false) || anchored
}

// match adds the conditions for expr to match the literal runs parts (a
// wildcard between each two; see query.Term.Parts): equality, a key range
// for a literal prefix, a range of the reversed column rev for a literal
// suffix, and a pattern (GLOB or LIKE) for the rest. rangesOnly adds only
// the conditions an index can serve, for narrowing. It reports whether it
// added an equality or a range (see text).
func (c *compiler) match(w *conds, expr string, parts []string, rev string, rangesOnly bool) (anchored bool) {
	first, last := parts[0], parts[len(parts)-1]
	switch {
	case len(parts) == 1:
		w.add(expr+" = ?", first)
		return true
	case len(parts) == 2 && first == "" && last == "":
		if !rangesOnly {
			w.add(expr + " <> ''")
		}
		return false
	case len(parts) == 2 && last == "":
		keyRange(w, expr, first)
		return true
	case len(parts) == 2 && first == "" && rev != "":
		keyRange(w, rev, reverse(last))
		return true
	}
	switch {
	case first != "":
		keyRange(w, expr, first)
		anchored = true
	case last != "" && rev != "":
		keyRange(w, rev, reverse(last))
		anchored = true
	}
	if rangesOnly {
		return anchored
	}
	if c.ix.d.Glob {
		w.add(expr+" GLOB ?", globPattern(parts))
	} else {
		w.add(expr+` LIKE ? ESCAPE '\'`, likePattern(parts))
	}
	return anchored
}

// keyRange adds expr >= prefix AND expr < PrefixEnd(prefix).
func keyRange(w *conds, expr, prefix string) {
	if prefix == "" {
		return
	}
	w.add(expr+" >= ?", prefix)
	if end, ok := listing.PrefixEnd(prefix); ok {
		w.add(expr+" < ?", end)
	}
}

// globPattern joins parts with * for GLOB, each literal's *, ? and [ in
// brackets.
func globPattern(parts []string) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('*')
		}
		for j := 0; j < len(p); j++ {
			switch p[j] {
			case '*', '?', '[':
				b.WriteString("[" + p[j:j+1] + "]")
			default:
				b.WriteByte(p[j])
			}
		}
	}
	return b.String()
}

// likePattern joins parts with % for LIKE ... ESCAPE '\'.
func likePattern(parts []string) string {
	esc := make([]string, len(parts))
	for i, p := range parts {
		esc[i] = query.LikeEscape(p)
	}
	return strings.Join(esc, "%")
}

// fold lowercases ASCII letters and nothing else: the one case folding of
// the index, the same as SQLite's lower() and PostgreSQL's lower() under
// the "C" collation, so stored folded copies and the dialects' lower()
// agree. (É and é stay different.)
func fold(s string) string {
	i := strings.IndexFunc(s, func(r rune) bool { return 'A' <= r && r <= 'Z' })
	if i < 0 {
		return s
	}
	b := []byte(s)
	for j := i; j < len(b); j++ {
		if 'A' <= b[j] && b[j] <= 'Z' {
			b[j] += 'a' - 'A'
		}
	}
	return string(b)
}

func foldAll(parts []string) []string {
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = fold(p)
	}
	return out
}

// reverse reverses s by characters (valid UTF-8 stays valid), so that a
// suffix of s is a prefix of reverse(s).
func reverse(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}

// similarRefs asks the SearchOptions.Similar callback, once per sha256 in
// a query, and returns at most maxSimilar refs as arguments.
func (c *compiler) similarRefs(sha string) ([]any, error) {
	if c.similar == nil {
		return nil, nil
	}
	refs, ok := c.cache[sha]
	if !ok {
		ref, err := cas.Parse(sha)
		if err != nil {
			return nil, invalidQuery("similar:%s", sha)
		}
		if refs, err = c.similar(c.ctx, ref); err != nil {
			return nil, fmt.Errorf("sqlindex: similar:%s: %w", sha, err)
		}
		if c.cache == nil {
			c.cache = map[string][]cas.Ref{}
		}
		c.cache[sha] = refs
	}
	var args []any
	seen := map[cas.Ref]bool{}
	for _, r := range refs {
		if len(args) == maxSimilar {
			break
		}
		if !r.IsZero() && !seen[r] {
			seen[r] = true
			args = append(args, r)
		}
	}
	return args, nil
}
