package query

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sentinel errors, matched with errors.Is. Every error Parse returns is an
// *Error wrapping one of the specific ones, and all of them wrap ErrInvalid,
// so an API can answer 400 for errors.Is(err, ErrInvalid).
var (
	ErrInvalid      = errors.New("query: invalid query")
	ErrEmpty        = fmt.Errorf("%w: empty", ErrInvalid)
	ErrSyntax       = fmt.Errorf("%w: syntax", ErrInvalid)
	ErrUnknownField = fmt.Errorf("%w: unknown field", ErrInvalid)
	ErrBadValue     = fmt.Errorf("%w: bad value", ErrInvalid)
	ErrLimit        = fmt.Errorf("%w: over a limit", ErrInvalid)
)

// Error is a rejected query: what is wrong and where. Pos is a byte offset
// into Input, 0 <= Pos <= len(Input) (len(Input) means "at the end").
type Error struct {
	Input string
	Pos   int
	Msg   string // one line, for people; never matched by code
	Err   error  // one of the sentinels above
}

func (e *Error) Error() string { return fmt.Sprintf("query: position %d: %s", e.Pos, e.Msg) }

// Unwrap returns the sentinel.
func (e *Error) Unwrap() error { return e.Err }

// caretWidth is how many characters of a long query Caret shows.
const caretWidth = 72

// Caret renders the query on one line and a caret under the offending
// character, for terminals and <pre> blocks:
//
//	size:>abc
//	      ^
//
// Spaces and control characters show as spaces; a long query shows a
// window around the position, cut with "…". Columns count runes, so wide
// (East Asian) characters shift the caret.
func (e *Error) Caret() string {
	var runes []rune
	idx := -1
	for i, r := range e.Input {
		if idx < 0 && i >= e.Pos {
			idx = len(runes)
		}
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError {
			r = ' '
		}
		runes = append(runes, r)
	}
	if idx < 0 {
		idx = len(runes)
	}
	start, end := 0, len(runes)
	if end > caretWidth {
		start = max(0, idx-caretWidth/2)
		end = min(len(runes), start+caretWidth)
		start = max(0, end-caretWidth)
	}
	var b strings.Builder
	col := idx - start
	if start > 0 {
		b.WriteString("…")
		col++
	}
	b.WriteString(string(runes[start:end]))
	if end < len(runes) {
		b.WriteString("…")
	}
	b.WriteByte('\n')
	b.WriteString(strings.Repeat(" ", col))
	b.WriteByte('^')
	return b.String()
}

// clip shortens s for a message.
func clip(s string) string {
	const n = 40
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}
