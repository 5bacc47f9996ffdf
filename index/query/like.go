package query

import "strings"

// LikeEscape escapes s for an SQL LIKE pattern written with ESCAPE '\':
// backslash, % and _ each get a backslash in front.
func LikeEscape(s string) string {
	if !strings.ContainsAny(s, `\%_`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\\' || c == '%' || c == '_' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Like returns the pattern for `col LIKE ? ESCAPE '\'` that matches what a
// text or hash term matches: its Parts, escaped, joined by %. ok is false
// for other kinds of field (numbers, dates, bools, job IDs, similar:),
// which backends compare with = and the like. The pattern is case-sensitive as written;
// for Keyword.Fold fields compare lower(col) with a lowered pattern (or
// use ILIKE), since SQLite's LIKE folds ASCII and PostgreSQL's does not.
func (t Term) Like() (pattern string, ok bool) {
	if kw, ok := t.Keyword(); ok && kw.Kind != KindText && kw.Kind != KindHash {
		return "", false
	}
	switch t.Op {
	case OpEq, OpPrefix, OpSuffix, OpContains, OpWildcard, OpAny:
	default:
		return "", false
	}
	parts := t.Parts()
	for i, p := range parts {
		parts[i] = LikeEscape(p)
	}
	return strings.Join(parts, "%"), true
}

// Match reports whether s matches a text or hash term, folding case
// (strings.ToLower) for Keyword.Fold fields. It is the reference the SQL
// backends' tests can compare with; false where Like has no pattern.
func (t Term) Match(s string) bool {
	if _, ok := t.Like(); !ok {
		return false
	}
	parts := t.Parts()
	if kw, _ := t.Keyword(); kw.Fold || kw.Kind == KindHash {
		s = strings.ToLower(s)
		for i := range parts {
			parts[i] = strings.ToLower(parts[i])
		}
	}
	if len(parts) == 1 {
		return s == parts[0]
	}
	first, last := parts[0], parts[len(parts)-1]
	if len(s) < len(first)+len(last) || !strings.HasPrefix(s, first) || !strings.HasSuffix(s, last) {
		return false
	}
	s = s[len(first) : len(s)-len(last)]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return true
}
