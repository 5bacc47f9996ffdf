package query

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse: Parse never panics; a rejection is an *Error wrapping
// ErrInvalid whose position lies within the input; an accepted query
// respects the limits and round-trips through String, as does its
// Normalize. Seeded from the table tests.
func FuzzParse(f *testing.F) {
	for _, c := range parseCases {
		f.Add(c.in)
	}
	for _, c := range errCases {
		if len(c.in) < 200 {
			f.Add(c.in)
		}
	}
	f.Fuzz(func(t *testing.T, in string) {
		n, err := Parse(in)
		if err != nil {
			var qe *Error
			if !errors.As(err, &qe) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse(%q): %v is not an *Error wrapping ErrInvalid", in, err)
			}
			if qe.Pos < 0 || qe.Pos > len(in) || qe.Msg == "" || qe.Input != in {
				t.Fatalf("Parse(%q): bad error %+v", in, qe)
			}
			if !strings.HasSuffix(qe.Caret(), "^") {
				t.Fatalf("Caret(%q) = %q", in, qe.Caret())
			}
			return
		}
		s := n.String()
		if len(s) > MaxQueryLen {
			t.Fatalf("Parse(%q): canonical form of %d bytes", in, len(s))
		}
		terms := Terms(n)
		if len(terms) == 0 || len(terms) > MaxTerms {
			t.Fatalf("Parse(%q): %d terms", in, len(terms))
		}
		for _, tm := range terms {
			if tm.Pos < 0 || tm.Pos >= len(in) {
				t.Fatalf("Parse(%q): term %s at %d", in, tm, tm.Pos)
			}
			if _, ok := tm.Keyword(); !ok {
				t.Fatalf("Parse(%q): unknown field in %s", in, tm)
			}
		}
		roundTrip(t, n)
		roundTrip(t, Normalize(n))
	})
}

// TestBoundedWork feeds worst cases of the maximum length: each must be
// answered with little allocation (the parser stops at the first limit).
func TestBoundedWork(t *testing.T) {
	fill := func(unit string) string {
		return strings.Repeat(unit, MaxQueryLen/len(unit))
	}
	inputs := []string{
		fill("("), fill("-"), fill("a "), fill("a OR "), fill(`"`), fill(`\`),
		"name:" + fill("*")[5:], `name:"` + fill(`\*`)[6:] + `"`,
		fill("x"), fill("sise:1 "), fill("名"), fill("size:1..1T "),
		"(" + fill("a ")[2:] + ")",
	}
	for _, in := range inputs {
		allocs := testing.AllocsPerRun(3, func() { _, _ = Parse(in) })
		if allocs > 2000 {
			t.Errorf("Parse(%.20q…) made %.0f allocations", in, allocs)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	const q = "mime:text/x-php size:>1000 knowngood:false"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(q); err != nil {
			b.Fatal(err)
		}
	}
}
