package query

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Node is a query: And, Or, Not or Term. Walk it with a type switch.
type Node interface {
	// String is the canonical form: Parse(n.String()) returns a node
	// Equal to n for every n that Parse returned.
	String() string
	node()
}

// And matches what all its children match. Parse returns at least two
// children; a group in parentheses stays a nested And (Normalize flattens).
type And struct{ Children []Node }

// Or matches what any of its children match (at least two from Parse).
type Or struct{ Children []Node }

// Not matches what its child does not.
type Not struct{ Child Node }

// Op is a term's comparison.
type Op uint8

// Operators. The text ones apply to text fields and hash prefixes; the
// comparisons to numbers and dates.
const (
	OpEq       Op = iota + 1 // the whole value equals Value (numbers: Low)
	OpPrefix                 // starts with Value
	OpSuffix                 // ends with Value
	OpContains               // contains Value
	OpWildcard               // matches the glob in Value (see Term)
	OpAny                    // has any value at all (field:*)
	OpGT                     // > Low
	OpGE                     // >= Low, or >= Time
	OpLT                     // < High, or < Time
	OpLE                     // <= High
	OpBetween                // Low <= x <= High
)

var opNames = [...]string{OpEq: "eq", OpPrefix: "prefix", OpSuffix: "suffix", OpContains: "contains",
	OpWildcard: "wildcard", OpAny: "any", OpGT: "gt", OpGE: "ge", OpLT: "lt", OpLE: "le", OpBetween: "between"}

func (o Op) String() string {
	if int(o) < len(opNames) && opNames[o] != "" {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// Term is one field comparison.
//
// Which members carry the value depends on the field's Kind:
//   - text and hash: Value is the literal for OpEq, OpPrefix, OpSuffix and
//     OpContains ("" for OpAny); for OpWildcard it is a glob in which *
//     matches any run of characters and \* and \\ stand for a literal star
//     and backslash. Parts splits any of these into literal runs.
//     Hashes are lowercase hex.
//   - number: Low is the bound of OpEq, OpGT and OpGE; High the bound of
//     OpLT and OpLE; OpBetween uses both, inclusive.
//   - date: Time (UTC) with OpGE (after:) or OpLT (before:).
//   - bool: Value "true" or "false" (see Bool); job id: Value, uppercase;
//     sha256 (similar:): Value, lowercase hex.
type Term struct {
	Field     string // a Keyword name, lowercase
	Op        Op
	Value     string
	Low, High int64
	Time      time.Time
	// Pos is the byte offset of the term in the parsed input, for
	// messages; Equal ignores it.
	Pos int
}

func (And) node()  {}
func (Or) node()   {}
func (Not) node()  {}
func (Term) node() {}

func (n And) String() string {
	return join(n.Children, " ", func(c Node) bool { _, ok := c.(Or); _, ok2 := c.(And); return ok || ok2 })
}
func (n Or) String() string {
	return join(n.Children, " OR ", func(c Node) bool { _, ok := c.(Or); return ok })
}

func join(children []Node, sep string, paren func(Node) bool) string {
	var b strings.Builder
	for i, c := range children {
		if i > 0 {
			b.WriteString(sep)
		}
		if paren(c) {
			b.WriteString("(" + c.String() + ")")
		} else {
			b.WriteString(c.String())
		}
	}
	return b.String()
}

func (n Not) String() string {
	switch n.Child.(type) {
	case Term, Not:
		return "-" + n.Child.String()
	}
	return "-(" + n.Child.String() + ")"
}

// Keyword returns the term's field description.
func (t Term) Keyword() (Keyword, bool) { return Lookup(t.Field) }

// Bool is the value of a bool term.
func (t Term) Bool() bool { return t.Value == "true" }

func (t Term) String() string {
	kw, _ := Lookup(t.Field)
	var v string
	switch kw.Kind {
	case KindNumber:
		switch t.Op {
		case OpGT:
			v = ">" + strconv.FormatInt(t.Low, 10)
		case OpGE:
			v = ">=" + strconv.FormatInt(t.Low, 10)
		case OpLT:
			v = "<" + strconv.FormatInt(t.High, 10)
		case OpLE:
			v = "<=" + strconv.FormatInt(t.High, 10)
		case OpBetween:
			v = strconv.FormatInt(t.Low, 10) + ".." + strconv.FormatInt(t.High, 10)
		default:
			v = strconv.FormatInt(t.Low, 10)
		}
	case KindDate:
		v = formatDate(t.Time)
	case KindBool, KindJobID, KindSHA256:
		v = t.Value
	default:
		v = formatParts(t.Parts())
	}
	return t.Field + ":" + v
}

func formatDate(t time.Time) string {
	t = t.UTC()
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
		return t.Format(time.DateOnly)
	}
	return t.Format(time.RFC3339Nano)
}

// formatParts writes literal runs joined by wildcards, bare when it can
// and quoted when a run holds a space, ( ) " or a literal *.
func formatParts(parts []string) string {
	quote := len(parts) == 1 && parts[0] == ""
	for _, p := range parts {
		if strings.ContainsFunc(p, func(r rune) bool {
			return unicode.IsSpace(r) || r == '(' || r == ')' || r == '"' || r == '*'
		}) {
			quote = true
			break
		}
	}
	if !quote {
		return strings.Join(parts, "*")
	}
	var b strings.Builder
	b.WriteByte('"')
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('*')
		}
		for j := 0; j < len(p); j++ {
			if c := p[j]; c == '"' || c == '\\' || c == '*' {
				b.WriteByte('\\')
			}
			b.WriteByte(p[j])
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Parts returns the literal runs of a text or hash term, in order; a
// wildcard stands between each two: OpEq gives [v], OpPrefix [v ""],
// OpSuffix ["" v], OpContains ["" v ""], OpAny ["" ""], and OpWildcard
// its glob split at the unescaped stars.
func (t Term) Parts() []string {
	switch t.Op {
	case OpPrefix:
		return []string{t.Value, ""}
	case OpSuffix:
		return []string{"", t.Value}
	case OpContains:
		return []string{"", t.Value, ""}
	case OpAny:
		return []string{"", ""}
	case OpWildcard:
		return splitGlob(t.Value)
	}
	return []string{t.Value}
}

func splitGlob(g string) []string {
	var parts []string
	var b strings.Builder
	for i := 0; i < len(g); i++ {
		switch c := g[i]; {
		case c == '\\' && i+1 < len(g):
			i++
			b.WriteByte(g[i])
		case c == '*':
			parts = append(parts, b.String())
			b.Reset()
		default:
			b.WriteByte(c)
		}
	}
	return append(parts, b.String())
}

// glob is the inverse of splitGlob.
func glob(parts []string) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('*')
		}
		for j := 0; j < len(p); j++ {
			if p[j] == '\\' || p[j] == '*' {
				b.WriteByte('\\')
			}
			b.WriteByte(p[j])
		}
	}
	return b.String()
}

// Equal reports whether a and b are the same query, ignoring positions.
func Equal(a, b Node) bool {
	switch a := a.(type) {
	case And:
		b, ok := b.(And)
		return ok && equalAll(a.Children, b.Children)
	case Or:
		b, ok := b.(Or)
		return ok && equalAll(a.Children, b.Children)
	case Not:
		b, ok := b.(Not)
		return ok && Equal(a.Child, b.Child)
	case Term:
		b, ok := b.(Term)
		return ok && a.Field == b.Field && a.Op == b.Op && a.Value == b.Value &&
			a.Low == b.Low && a.High == b.High && a.Time.Equal(b.Time)
	}
	return a == nil && b == nil
}

func equalAll(a, b []Node) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// Normalize flattens nested Ands and Ors, unwraps single children and
// removes double negation. It does not reorder, dedupe or push NOT down,
// so positions and the user's order survive. Normalize is idempotent, and
// its result round-trips through String like Parse's.
func Normalize(n Node) Node {
	switch n := n.(type) {
	case And:
		return flatten(n.Children, func(c Node) ([]Node, bool) { a, ok := c.(And); return a.Children, ok }, func(c []Node) Node { return And{c} })
	case Or:
		return flatten(n.Children, func(c Node) ([]Node, bool) { o, ok := c.(Or); return o.Children, ok }, func(c []Node) Node { return Or{c} })
	case Not:
		c := Normalize(n.Child)
		if inner, ok := c.(Not); ok {
			return inner.Child
		}
		return Not{c}
	}
	return n
}

func flatten(children []Node, same func(Node) ([]Node, bool), mk func([]Node) Node) Node {
	var out []Node
	for _, c := range children {
		c = Normalize(c)
		if cc, ok := same(c); ok {
			out = append(out, cc...)
		} else {
			out = append(out, c)
		}
	}
	if len(out) == 1 {
		return out[0]
	}
	return mk(out)
}

// Walk calls fn for n and then, while fn returns true, for each child,
// depth first in order.
func Walk(n Node, fn func(Node) bool) {
	if !fn(n) {
		return
	}
	switch n := n.(type) {
	case And:
		for _, c := range n.Children {
			Walk(c, fn)
		}
	case Or:
		for _, c := range n.Children {
			Walk(c, fn)
		}
	case Not:
		Walk(n.Child, fn)
	}
}

// Terms returns the query's terms in order.
func Terms(n Node) []Term {
	var ts []Term
	Walk(n, func(n Node) bool {
		if t, ok := n.(Term); ok {
			ts = append(ts, t)
		}
		return true
	})
	return ts
}

// Needs tells a backend which records a search for `of` (TargetFiles or
// TargetJobs) must reach to answer n: `of` itself; TargetPaths when a term
// is about names or paths or about the other kind of record (the tree is
// the link between files and jobs); and the other kind when a term is only
// about it. Fields of both (knowngood, after, before) are answered on
// `of`. So Needs(files search of "mime:x size:>1") is TargetFiles, and of
// "mime:x submitter:alice" is TargetFiles|TargetPaths|TargetJobs.
func Needs(n Node, of Target) Target {
	need := of
	for _, t := range Terms(n) {
		kw, _ := Lookup(t.Field)
		switch tg := kw.Target; {
		case tg&TargetPaths != 0:
			need |= TargetPaths
		case tg&of == 0:
			need |= tg | TargetPaths
		}
	}
	return need
}
