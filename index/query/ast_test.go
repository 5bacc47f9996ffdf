package query

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// roundTrip checks Parse(n.String()) == n and that the canonical form is
// stable.
func roundTrip(t *testing.T, n Node) {
	t.Helper()
	s := n.String()
	n2, err := Parse(s)
	if err != nil {
		t.Errorf("Parse(String()) of %#v: %q: %v", n, s, err)
		return
	}
	if !Equal(n, n2) {
		t.Errorf("round trip of %q:\n got %#v\nwant %#v", s, n2, n)
	}
	if s2 := n2.String(); s2 != s {
		t.Errorf("canonical form not stable: %q then %q", s, s2)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, c := range parseCases {
		n, err := Parse(c.in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.in, err)
		}
		roundTrip(t, n)
		roundTrip(t, Normalize(n))
	}
}

// TestRoundTripGenerated builds random ASTs of the shapes Parse returns,
// with awkward text values, and checks String parses back to them.
func TestRoundTripGenerated(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "b", "Z", "0", " ", "\t", `"`, `\`, "*", "(", ")", ":", "-", "%", "_", "é", "名", "🎣", "\u00a0", "OR", "AND"}
	text := func() string {
		var b strings.Builder
		for range r.IntN(5) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		return b.String()
	}
	var term func() Term
	term = func() Term {
		switch r.IntN(8) {
		case 0:
			return Term{Field: "size", Op: OpBetween, Low: r.Int64N(100), High: 100 + r.Int64N(1<<40)}
		case 1:
			ops := []Op{OpEq, OpGT, OpGE}
			return Term{Field: "size", Op: ops[r.IntN(3)], Low: r.Int64()}
		case 2:
			return Term{Field: "size", Op: []Op{OpLT, OpLE}[r.IntN(2)], High: r.Int64()}
		case 3:
			tm := time.Unix(r.Int64N(1<<35), r.Int64N(3)*int64(time.Millisecond)*333).UTC()
			if r.IntN(2) == 0 {
				tm = tm.Truncate(24 * time.Hour)
			}
			return Term{Field: "after", Op: OpGE, Time: tm}
		case 4:
			return Term{Field: "knowngood", Op: OpEq, Value: []string{"true", "false"}[r.IntN(2)]}
		case 5:
			return Term{Field: "sha1", Op: OpPrefix, Value: h40[:1+r.IntN(39)]}
		}
		fields := []string{"name", "path", "notes", "url", "telegram"}
		parts := make([]string, 1+r.IntN(4))
		for i := range parts {
			parts[i] = text()
		}
		return textTerm(Term{Field: fields[r.IntN(len(fields))]}, collapse(parts))
	}
	var node func(depth int) Node
	node = func(depth int) Node {
		if depth > 3 || r.IntN(3) == 0 {
			return term()
		}
		switch r.IntN(3) {
		case 0:
			return Not{node(depth + 1)}
		case 1:
			return And{[]Node{node(depth + 1), node(depth + 1)}}
		}
		return Or{[]Node{node(depth + 1), node(depth + 1), node(depth + 1)}}
	}
	for range 2000 {
		n := node(0)
		roundTrip(t, n)
		roundTrip(t, Normalize(n))
	}
}

func TestNormalize(t *testing.T) {
	cases := []struct{ in, want string }{
		{"(a b) (c d)", "name:*a* name:*b* name:*c* name:*d*"},
		{"a OR (b OR (c OR d))", "name:*a* OR name:*b* OR name:*c* OR name:*d*"},
		{"(a OR b) (c OR d)", "(name:*a* OR name:*b*) (name:*c* OR name:*d*)"},
		{"--a", "name:*a*"},
		{"---a", "-name:*a*"},
		{"-(-(a b))", "name:*a* name:*b*"},
		{"-((a b) c)", "-(name:*a* name:*b* name:*c*)"},
		{"a OR (b c)", "name:*a* OR name:*b* name:*c*"},
	}
	for _, c := range cases {
		n, err := Parse(c.in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.in, err)
		}
		got := Normalize(n)
		if got.String() != c.want {
			t.Errorf("Normalize(%q) = %s, want %s", c.in, got, c.want)
		}
		if again := Normalize(got); !Equal(again, got) {
			t.Errorf("Normalize(%q) not idempotent: %s then %s", c.in, got, again)
		}
	}
	// Single children (which Parse never makes) unwrap.
	a := Term{Field: "name", Op: OpEq, Value: "a"}
	if got := Normalize(And{[]Node{Or{[]Node{a}}}}); !Equal(got, a) {
		t.Errorf("Normalize of single children = %#v", got)
	}
}

func TestEqual(t *testing.T) {
	a := Term{Field: "name", Op: OpEq, Value: "a", Pos: 3}
	b := Term{Field: "name", Op: OpEq, Value: "a", Pos: 9}
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		x, y Node
		want bool
	}{
		{a, b, true}, // positions do not count
		{a, Term{Field: "name", Op: OpEq, Value: "b"}, false},
		{a, Term{Field: "path", Op: OpEq, Value: "a"}, false},
		{a, Term{Field: "name", Op: OpPrefix, Value: "a"}, false},
		{Term{Field: "size", Op: OpGT, Low: 1}, Term{Field: "size", Op: OpGT, Low: 2}, false},
		{Term{Field: "size", Op: OpLT, High: 1}, Term{Field: "size", Op: OpLT, High: 2}, false},
		{Term{Field: "after", Op: OpGE, Time: day}, Term{Field: "after", Op: OpGE, Time: day.In(time.FixedZone("x", 3600))}, true},
		{Term{Field: "after", Op: OpGE, Time: day}, Term{Field: "after", Op: OpGE, Time: day.Add(1)}, false},
		{And{[]Node{a, b}}, And{[]Node{b, a}}, true},
		{And{[]Node{a, b}}, Or{[]Node{a, b}}, false},
		{And{[]Node{a, b}}, And{[]Node{a}}, false},
		{Not{a}, Not{b}, true},
		{Not{a}, a, false},
		{nil, nil, true},
		{a, nil, false},
	}
	for i, c := range cases {
		if got := Equal(c.x, c.y); got != c.want {
			t.Errorf("case %d: Equal(%v, %v) = %v", i, c.x, c.y, got)
		}
	}
}

func TestWalkAndTerms(t *testing.T) {
	n, err := Parse("a (b OR -c) d")
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	Walk(n, func(n Node) bool {
		switch n := n.(type) {
		case And:
			kinds = append(kinds, "and")
		case Or:
			kinds = append(kinds, "or")
		case Not:
			kinds = append(kinds, "not")
			return false // prune: c is not visited
		case Term:
			kinds = append(kinds, n.Value)
		}
		return true
	})
	if got, want := strings.Join(kinds, " "), "and a or b not d"; got != want {
		t.Errorf("Walk visited %q, want %q", got, want)
	}
	var vals []string
	for _, tm := range Terms(n) {
		vals = append(vals, tm.Value)
	}
	if got := strings.Join(vals, ","); got != "a,b,c,d" {
		t.Errorf("Terms = %s", got)
	}
}

func TestNeeds(t *testing.T) {
	const (
		F = TargetFiles
		P = TargetPaths
		J = TargetJobs
	)
	cases := []struct {
		q    string
		of   Target
		want Target
	}{
		{"mime:x size:>1", F, F},
		{"knowngood:true after:2026-01-01 before:2026-02-01", F, F},
		{"knowngood:true after:2026-01-01", J, J},
		{h64, F, F},
		{"name:x", F, F | P},
		{"path:x", J, J | P},
		{"mime:x submitter:alice", F, F | P | J},
		{"job:" + job, F, F | P | J},
		{"job:" + job + " notes:x", J, J},
		{"mime:x", J, J | P | F},
		{"-(ioc:x OR jobname:y)", J, J | P | F},
	}
	for _, c := range cases {
		n, err := Parse(c.q)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.q, err)
		}
		if got := Needs(n, c.of); got != c.want {
			t.Errorf("Needs(%q, %s) = %s, want %s", c.q, c.of, got, c.want)
		}
	}
}

func TestOpString(t *testing.T) {
	want := "eq prefix suffix contains wildcard any gt ge lt le between"
	var got []string
	for o := OpEq; o <= OpBetween; o++ {
		got = append(got, o.String())
	}
	if strings.Join(got, " ") != want {
		t.Errorf("ops = %v", got)
	}
	if s := Op(99).String(); s != "Op(99)" {
		t.Errorf("Op(99) = %s", s)
	}
}
