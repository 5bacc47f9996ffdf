package query

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokLParen
	tokRParen
	tokAnd
	tokOr
	tokNot
	tokTerm
)

// token is one lexeme. Terms carry their field (as written, "" for a bare
// word) and their value.
type token struct {
	kind     tokKind
	pos      int
	field    string
	valuePos int // the value's first byte (its opening quote, if quoted)
	val      value
}

// value is a term's value: literal runs with a wildcard between each two.
// parts is nil when nothing follows the colon.
type value struct {
	parts  []string
	quoted bool
	raw    string // the source text, for messages
}

// lexer turns the input into tokens; it has already checked length, UTF-8
// and control characters.
type lexer struct {
	in  string
	pos int
}

func isSep(r rune) bool { return unicode.IsSpace(r) }

// runeAt decodes the rune at i (RuneError and 0 width at the end).
func (l *lexer) runeAt(i int) (rune, int) {
	if i >= len(l.in) {
		return utf8.RuneError, 0
	}
	return utf8.DecodeRuneInString(l.in[i:])
}

func (l *lexer) errf(pos int, sentinel error, format string, args ...any) *Error {
	return &Error{Input: l.in, Pos: pos, Msg: fmt.Sprintf(format, args...), Err: sentinel}
}

// next returns the next token.
func (l *lexer) next() (token, *Error) {
	for l.pos < len(l.in) {
		r, n := l.runeAt(l.pos)
		if !isSep(r) {
			break
		}
		l.pos += n
	}
	start := l.pos
	if start >= len(l.in) {
		return token{kind: tokEOF, pos: start}, nil
	}
	switch l.in[start] {
	case '(':
		l.pos++
		return token{kind: tokLParen, pos: start}, nil
	case ')':
		l.pos++
		return token{kind: tokRParen, pos: start}, nil
	case '-':
		r, _ := l.runeAt(start + 1)
		if start+1 >= len(l.in) || isSep(r) || r == ')' {
			return token{}, l.errf(start, ErrSyntax, "- must be followed directly by a term, as in -knowngood:true")
		}
		l.pos++
		return token{kind: tokNot, pos: start}, nil
	case '"':
		v, err := l.quoted(start)
		if err != nil {
			return token{}, err
		}
		return token{kind: tokTerm, pos: start, valuePos: start, val: v}, nil
	}
	// A word: a keyword, a bare word, or field:value.
	i := start
	for i < len(l.in) {
		r, n := l.runeAt(i)
		if isSep(r) || r == '(' || r == ')' || r == '"' || r == ':' {
			break
		}
		i += n
	}
	if i < len(l.in) && l.in[i] == ':' {
		if i == start {
			return token{}, l.errf(start, ErrSyntax, "missing field name before ':'")
		}
		field := l.in[start:i]
		vpos := i + 1
		var v value
		var err *Error
		if vpos < len(l.in) && l.in[vpos] == '"' {
			v, err = l.quoted(vpos)
		} else {
			v, err = l.bare(vpos)
		}
		if err != nil {
			return token{}, err
		}
		return token{kind: tokTerm, pos: start, field: field, valuePos: vpos, val: v}, nil
	}
	if i < len(l.in) && (l.in[i] == '(' || l.in[i] == '"') {
		return token{}, l.stray(i)
	}
	l.pos = i
	word := l.in[start:i]
	switch {
	case strings.EqualFold(word, "AND"):
		return token{kind: tokAnd, pos: start}, nil
	case strings.EqualFold(word, "OR"):
		return token{kind: tokOr, pos: start}, nil
	case strings.EqualFold(word, "NOT"):
		return token{kind: tokNot, pos: start}, nil
	}
	return token{kind: tokTerm, pos: start, valuePos: start, val: l.split(word, false)}, nil
}

func (l *lexer) stray(i int) *Error {
	if l.in[i] == '(' {
		return l.errf(i, ErrSyntax, "unexpected ( inside a word: put a space before it, or quote the value")
	}
	return l.errf(i, ErrSyntax, `unexpected " inside a word: quote the whole value and write inner quotes as \"`)
}

// bare reads an unquoted value from start: up to a separator or ')'.
func (l *lexer) bare(start int) (value, *Error) {
	i := start
	for i < len(l.in) {
		r, n := l.runeAt(i)
		if isSep(r) || r == ')' {
			break
		}
		if r == '(' || r == '"' {
			return value{}, l.stray(i)
		}
		i += n
	}
	l.pos = i
	if i == start {
		return value{}, nil
	}
	return l.split(l.in[start:i], false), nil
}

func (l *lexer) split(raw string, quoted bool) value {
	return value{parts: strings.Split(raw, "*"), quoted: quoted, raw: raw}
}

// quoted reads a quoted value whose opening quote is at start.
func (l *lexer) quoted(start int) (value, *Error) {
	var parts []string
	var b strings.Builder
	for i := start + 1; i < len(l.in); {
		switch c := l.in[i]; c {
		case '"':
			end := i + 1
			if r, _ := l.runeAt(end); end < len(l.in) && !isSep(r) && r != ')' {
				return value{}, l.errf(end, ErrSyntax, "expected a space or ) after the closing quote")
			}
			l.pos = end
			return value{parts: append(parts, b.String()), quoted: true, raw: l.in[start:end]}, nil
		case '\\':
			e, n := l.runeAt(i + 1)
			if e != '"' && e != '\\' && e != '*' {
				if n == 0 {
					return value{}, l.errf(start, ErrSyntax, "unterminated quote: this \" is never closed")
				}
				return value{}, l.errf(i, ErrSyntax, `unknown escape \%c: inside quotes only \", \\ and \* are escapes`, e)
			}
			b.WriteByte(byte(e))
			i += 2
		case '*':
			parts = append(parts, b.String())
			b.Reset()
			i++
		default:
			b.WriteByte(c)
			i++
		}
	}
	return value{}, l.errf(start, ErrSyntax, "unterminated quote: this \" is never closed")
}

// check rejects what the lexer never wants to see: an over-long query,
// invalid UTF-8 and control characters other than white space.
func check(in string) *Error {
	if len(in) > MaxQueryLen {
		return &Error{Input: in, Pos: MaxQueryLen, Err: ErrLimit,
			Msg: fmt.Sprintf("query too long: %d bytes (max %d)", len(in), MaxQueryLen)}
	}
	for i, r := range in {
		switch {
		case r == utf8.RuneError:
			if _, n := utf8.DecodeRuneInString(in[i:]); n == 1 {
				return &Error{Input: in, Pos: i, Err: ErrSyntax, Msg: "invalid UTF-8"}
			}
		case unicode.IsControl(r) && !isSep(r):
			return &Error{Input: in, Pos: i, Err: ErrSyntax, Msg: fmt.Sprintf("control character %U", r)}
		}
	}
	return nil
}
