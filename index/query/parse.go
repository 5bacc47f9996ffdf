package query

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Limits on what Parse accepts. They bound the work of parsing and of the
// SQL a backend builds, and they hold for String's output too.
const (
	MaxQueryLen = 4096 // bytes of the query, and of its canonical form
	MaxValueLen = 1024 // bytes of one value, not counting wildcards
	MaxTerms    = 64   // terms in a query
	MaxDepth    = 32   // nesting of parentheses and NOTs
)

// Parse parses a query. Errors are *Error values that point at the
// offending byte and wrap a sentinel (ErrEmpty, ErrSyntax,
// ErrUnknownField, ErrBadValue or ErrLimit, all of them ErrInvalid).
//
// And and Or nodes hold at least two children; groups stay nested as
// written (see Normalize).
func Parse(in string) (Node, error) {
	if err := check(in); err != nil {
		return nil, err
	}
	p := &parser{lex: lexer{in: in}}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind == tokEOF {
		return nil, &Error{Input: in, Pos: 0, Err: ErrEmpty, Msg: "empty query"}
	}
	n, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF { // only ) stops the loops early
		return nil, p.errf(p.tok.pos, ErrSyntax, "unexpected ): there is no ( to close")
	}
	if s := n.String(); len(s) > MaxQueryLen {
		return nil, p.errf(len(in), ErrLimit, "query too long once written out: %d bytes (max %d)", len(s), MaxQueryLen)
	}
	return n, nil
}

type parser struct {
	lex   lexer
	tok   token // the current token
	terms int
}

func (p *parser) advance() *Error {
	t, err := p.lex.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) errf(pos int, sentinel error, format string, args ...any) *Error {
	return p.lex.errf(pos, sentinel, format, args...)
}

// startsUnary reports whether the current token can begin a term.
func (p *parser) startsUnary() bool {
	k := p.tok.kind
	return k == tokTerm || k == tokNot || k == tokLParen
}

// missing explains why the current token cannot begin a term.
func (p *parser) missing() *Error {
	switch p.tok.kind {
	case tokAnd, tokOr:
		op := "AND"
		if p.tok.kind == tokOr {
			op = "OR"
		}
		return p.errf(p.tok.pos, ErrSyntax, "%s needs a term on each side", op)
	case tokRParen:
		return p.errf(p.tok.pos, ErrSyntax, "unexpected ): a term is missing")
	}
	return p.errf(p.tok.pos, ErrSyntax, "unexpected end of query: a term is missing")
}

// or := and { OR and }
func (p *parser) or(depth int) (Node, *Error) {
	first, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	children := []Node{first}
	for p.tok.kind == tokOr {
		op := p.tok
		if err := p.advance(); err != nil {
			return nil, err
		}
		if !p.startsUnary() {
			return nil, p.errf(op.pos, ErrSyntax, "OR needs a term on each side")
		}
		c, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		children = append(children, c)
	}
	if len(children) == 1 {
		return first, nil
	}
	return Or{children}, nil
}

// and := unary { [AND] unary }
func (p *parser) and(depth int) (Node, *Error) {
	if !p.startsUnary() {
		return nil, p.missing()
	}
	first, err := p.unary(depth)
	if err != nil {
		return nil, err
	}
	children := []Node{first}
	for {
		if p.tok.kind == tokAnd {
			op := p.tok
			if err := p.advance(); err != nil {
				return nil, err
			}
			if !p.startsUnary() {
				return nil, p.errf(op.pos, ErrSyntax, "AND needs a term on each side")
			}
		} else if !p.startsUnary() {
			break
		}
		c, err := p.unary(depth)
		if err != nil {
			return nil, err
		}
		children = append(children, c)
	}
	if len(children) == 1 {
		return first, nil
	}
	return And{children}, nil
}

// unary := (NOT | "-") unary | "(" or ")" | term
func (p *parser) unary(depth int) (Node, *Error) {
	t := p.tok
	switch t.kind {
	case tokNot, tokLParen:
		if depth >= MaxDepth {
			return nil, p.errf(t.pos, ErrLimit, "query nested too deeply (max %d levels of parentheses and NOT)", MaxDepth)
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		if t.kind == tokNot {
			if !p.startsUnary() {
				op := "NOT"
				if p.lex.in[t.pos] == '-' {
					op = "-"
				}
				return nil, p.errf(t.pos, ErrSyntax, "%s must be followed by a term", op)
			}
			c, err := p.unary(depth + 1)
			if err != nil {
				return nil, err
			}
			return Not{c}, nil
		}
		if p.tok.kind == tokRParen {
			return nil, p.errf(t.pos, ErrSyntax, "empty parentheses")
		}
		n, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tokRParen {
			return nil, p.errf(t.pos, ErrSyntax, "unbalanced parentheses: this ( is never closed")
		}
		return n, p.advance()
	}
	p.terms++
	if p.terms > MaxTerms {
		return nil, p.errf(t.pos, ErrLimit, "too many terms (max %d)", MaxTerms)
	}
	n, err := p.term(t)
	if err != nil {
		return nil, err
	}
	return n, p.advance()
}

// term builds a Term from a term token.
func (p *parser) term(t token) (Node, *Error) {
	v := t.val
	size := 0
	for _, s := range v.parts {
		size += len(s)
	}
	if size > MaxValueLen {
		return nil, p.errf(t.valuePos, ErrLimit, "value too long: %d bytes (max %d)", size, MaxValueLen)
	}
	if t.field == "" {
		return p.bareTerm(t)
	}
	kw, ok := Lookup(t.field)
	if !ok {
		return nil, p.unknownField(t)
	}
	if v.parts == nil {
		return nil, p.errf(t.valuePos, ErrBadValue, "%s needs a value right after the colon, as in %s", kw.Name, kw.Example)
	}
	term := Term{Field: kw.Name, Pos: t.pos}
	parts := collapse(v.parts)
	if kw.Kind == KindText {
		return textTerm(term, parts), nil
	}
	if kw.Kind == KindHash {
		return p.hashTerm(term, kw, t, parts)
	}
	if len(parts) > 1 {
		return nil, p.errf(t.valuePos, ErrBadValue, "%s takes no wildcards: %s", kw.Name, kindHint(kw))
	}
	text := parts[0]
	base := t.valuePos // where text starts in the input
	if v.quoted {
		base++
	}
	switch kw.Kind {
	case KindNumber:
		return p.numberTerm(term, kw, text, base)
	case KindBool:
		switch strings.ToLower(text) {
		case "true", "false":
			term.Op, term.Value = OpEq, strings.ToLower(text)
			return term, nil
		}
	case KindDate:
		if tm, ok := parseDate(text); ok {
			term.Op, term.Time = OpGE, tm
			if kw.Name == "before" {
				term.Op = OpLT
			}
			return term, nil
		}
	case KindJobID:
		if up := strings.ToUpper(text); validJobID(up) {
			term.Op, term.Value = OpEq, up
			return term, nil
		}
	case KindSHA256:
		if len(text) == kw.HashLen && isHex(text) {
			term.Op, term.Value = OpEq, strings.ToLower(text)
			return term, nil
		}
	}
	return nil, p.errf(base, ErrBadValue, "%s, got %q", kindHint(kw), clip(text))
}

// kindHint says what a field expects.
func kindHint(kw Keyword) string {
	switch kw.Kind {
	case KindNumber:
		return fmt.Sprintf("%s expects a number (as in %[1]s:1000, %[1]s:>1000, %[1]s:100..2000 or %[1]s:<5M)", kw.Name)
	case KindBool:
		return fmt.Sprintf("%s expects true or false", kw.Name)
	case KindDate:
		return fmt.Sprintf("%s expects a date as YYYY-MM-DD or RFC 3339 (2026-02-01T10:00:00Z)", kw.Name)
	case KindJobID:
		return fmt.Sprintf("%s expects a 26-character job ID, as in %s", kw.Name, kw.Example)
	case KindSHA256:
		return fmt.Sprintf("%s expects a whole sha256 (64 hex digits)", kw.Name)
	case KindHash:
		return fmt.Sprintf("%s expects %d hex digits, or a prefix ending in *", kw.Name, kw.HashLen)
	}
	return kw.Name + " expects text"
}

// collapse merges runs of wildcards: the runs between two stars that are
// empty go, the first and last stay.
func collapse(parts []string) []string {
	if len(parts) <= 2 {
		return parts
	}
	out := []string{parts[0]}
	for _, s := range parts[1 : len(parts)-1] {
		if s != "" {
			out = append(out, s)
		}
	}
	return append(out, parts[len(parts)-1])
}

// textTerm picks the simplest operator for collapsed parts.
func textTerm(t Term, parts []string) Term {
	switch {
	case len(parts) == 1:
		t.Op, t.Value = OpEq, parts[0]
	case len(parts) == 2 && parts[0] == "" && parts[1] == "":
		t.Op = OpAny
	case len(parts) == 2 && parts[1] == "":
		t.Op, t.Value = OpPrefix, parts[0]
	case len(parts) == 2 && parts[0] == "":
		t.Op, t.Value = OpSuffix, parts[1]
	case len(parts) == 3 && parts[0] == "" && parts[2] == "":
		t.Op, t.Value = OpContains, parts[1]
	default:
		t.Op, t.Value = OpWildcard, glob(parts)
	}
	return t
}

// bareTerm reads a word without a field: a hash by its length, else a
// search of file names (or of paths, when the word has a /).
func (p *parser) bareTerm(t token) (Node, *Error) {
	v := t.val
	if !v.quoted && len(v.parts) == 1 && isHex(v.parts[0]) {
		if f := hashField(len(v.parts[0])); f != "" {
			return Term{Field: f, Op: OpEq, Value: strings.ToLower(v.parts[0]), Pos: t.pos}, nil
		}
	}
	parts := collapse(v.parts)
	if len(parts) == 1 {
		if parts[0] == "" {
			return nil, p.errf(t.pos, ErrBadValue, "empty quotes: nothing to search for")
		}
		parts = []string{"", parts[0], ""}
	}
	field := "name"
	for _, s := range parts {
		if strings.Contains(s, "/") {
			field = "path"
		}
	}
	return textTerm(Term{Field: field, Pos: t.pos}, parts), nil
}

func hashField(n int) string {
	switch n {
	case 32:
		return "md5"
	case 40:
		return "sha1"
	case 64:
		return "sha256"
	}
	return ""
}

func isHex(s string) bool {
	return s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F')
	}) < 0
}

func (p *parser) hashTerm(term Term, kw Keyword, t token, parts []string) (Node, *Error) {
	prefix := len(parts) == 2 && parts[0] != "" && parts[1] == ""
	if len(parts) != 1 && !prefix {
		return nil, p.errf(t.valuePos, ErrBadValue, "%s takes a wildcard only at the end, for a prefix (as in %s)", kw.Name, keywordExample(kw))
	}
	h := parts[0]
	if i := strings.IndexFunc(h, func(r rune) bool { return !isHex(string(r)) }); i >= 0 || h == "" {
		pos := t.valuePos
		if !t.val.quoted && i >= 0 {
			pos += i // unquoted: offsets in h are offsets in the input
		}
		return nil, p.errf(pos, ErrBadValue, "%s expects hex digits (0-9, a-f), got %q", kw.Name, clip(h))
	}
	switch {
	case len(h) > kw.HashLen, len(h) < kw.HashLen && !prefix:
		return nil, p.errf(t.valuePos, ErrBadValue, "%s expects %d hex digits, got %d (end with * to search by prefix)", kw.Name, kw.HashLen, len(h))
	case len(h) < kw.HashLen:
		term.Op, term.Value = OpPrefix, strings.ToLower(h)
	default:
		term.Op, term.Value = OpEq, strings.ToLower(h)
	}
	return term, nil
}

func keywordExample(kw Keyword) string {
	if kw.Kind == KindHash {
		return kw.Name + ":e3b0c442*"
	}
	return kw.Example
}

// numberTerm parses 1000, >1000, >=1000, <5, <=5, =5, 100..2000, 100..
// and ..2000.
func (p *parser) numberTerm(term Term, kw Keyword, text string, base int) (Node, *Error) {
	num := func(s string, pos int) (int64, *Error) {
		n, ok := parseSize(s)
		if !ok {
			return 0, p.errf(pos, ErrBadValue, "%s, got %q", kindHint(kw), clip(s))
		}
		return n, nil
	}
	for _, c := range []struct {
		prefix string
		op     Op
	}{{">=", OpGE}, {"<=", OpLE}, {">", OpGT}, {"<", OpLT}, {"=", OpEq}} {
		if rest, ok := strings.CutPrefix(text, c.prefix); ok {
			n, err := num(rest, base+len(c.prefix))
			if err != nil {
				return nil, err
			}
			term.Op, term.Low = c.op, n
			if c.op == OpLT || c.op == OpLE {
				term.Low, term.High = 0, n
			}
			return term, nil
		}
	}
	lo, hi, isRange := strings.Cut(text, "..")
	if !isRange {
		n, err := num(text, base)
		if err != nil {
			return nil, err
		}
		term.Op, term.Low = OpEq, n
		return term, nil
	}
	switch {
	case lo == "" && hi == "":
		return nil, p.errf(base, ErrBadValue, "%s range needs a bound: 100..2000, 100.. or ..2000", kw.Name)
	case lo == "":
		n, err := num(hi, base+2)
		if err != nil {
			return nil, err
		}
		term.Op, term.High = OpLE, n
		return term, nil
	}
	l, err := num(lo, base)
	if err != nil {
		return nil, err
	}
	if hi == "" {
		term.Op, term.Low = OpGE, l
		return term, nil
	}
	h, err := num(hi, base+len(lo)+2)
	if err != nil {
		return nil, err
	}
	if l > h {
		return nil, p.errf(base, ErrBadValue, "%s range %s is empty: the minimum is greater than the maximum", kw.Name, clip(text))
	}
	term.Op, term.Low, term.High = OpBetween, l, h
	return term, nil
}

// parseSize parses decimal digits with an optional binary unit: K, M, G
// or T, alone or followed by B or iB, in any case.
func parseSize(s string) (int64, bool) {
	i := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	if i == 0 || i > 19 {
		return 0, false
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, false
	}
	unit := strings.ToLower(s[i:])
	if unit == "" {
		return n, true
	}
	shift := strings.IndexByte("kmgt", unit[0])
	if shift < 0 || (unit[1:] != "" && unit[1:] != "b" && unit[1:] != "ib") {
		return 0, false
	}
	mult := int64(1) << (10 * (shift + 1))
	if n > math.MaxInt64/mult {
		return 0, false
	}
	return n * mult, true
}

// parseDate parses YYYY-MM-DD (midnight UTC) or RFC 3339, into UTC.
func parseDate(s string) (time.Time, bool) {
	var t time.Time
	var err error
	if len(s) == len(time.DateOnly) {
		t, err = time.Parse(time.DateOnly, s)
	} else {
		t, err = time.Parse(time.RFC3339, strings.ToUpper(s))
	}
	if err != nil {
		return time.Time{}, false
	}
	t = t.UTC()
	if y := t.Year(); y < 1 || y > 9999 {
		return time.Time{}, false // would not print back as RFC 3339
	}
	return t, true
}

// validJobID mirrors index.ValidJobID: 26 Crockford base32 digits, the
// first at most 7 (a 128-bit ULID).
func validJobID(s string) bool {
	if len(s) != 26 || s[0] > '7' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' && c != 'I' && c != 'L' && c != 'O' && c != 'U') {
			return false
		}
	}
	return true
}
