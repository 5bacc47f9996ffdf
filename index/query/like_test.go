package query

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestLikeEscape(t *testing.T) {
	cases := map[string]string{
		"plain": "plain", `a%b_c\d`: `a\%b\_c\\d`, "": "", "%%": `\%\%`, "名_": `名\_`,
	}
	for in, want := range cases {
		if got := LikeEscape(in); got != want {
			t.Errorf("LikeEscape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLike(t *testing.T) {
	cases := []struct{ q, want string }{
		{"name:a_b", `a\_b`},
		{"name:abc*", "abc%"},
		{"name:*100%", `%100\%`},
		{"name:*x*", "%x%"},
		{"name:a*b*c", "a%b%c"},
		{"name:*", "%"},
		{`name:"x\\*\**y"`, `x\\%*%y`},
		{"sha256:E3B0*", "e3b0%"},
		{h32, h32},
	}
	for _, c := range cases {
		n, err := Parse(c.q)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.q, err)
		}
		got, ok := n.(Term).Like()
		if !ok || got != c.want {
			t.Errorf("Like(%q) = %q, %v, want %q", c.q, got, ok, c.want)
		}
	}
	for _, q := range []string{"size:>1", "after:2026-01-01", "knowngood:true"} {
		n, _ := Parse(q)
		if p, ok := n.(Term).Like(); ok || n.(Term).Match("true") {
			t.Errorf("Like(%q) = %q, true; want no pattern and no match", q, p)
		}
	}
}

func TestMatch(t *testing.T) {
	cases := []struct {
		q, s string
		want bool
	}{
		{"name:login.php", "login.php", true},
		{"name:login.php", "LOGIN.PHP", true}, // name folds case
		{"name:login.php", "xlogin.php", false},
		{"url:http://x/A", "http://x/a", false}, // url does not
		{"name:log*", "login.php", true},
		{"name:log*", "blog", false},
		{"name:*.php", "a.php", true},
		{"name:*.php", "a.phps", false},
		{"name:*gin*", "login", true},
		{"name:a*b*a", "aba", true},
		{"name:a*b*a", "aab", false},
		{"name:ab*ba", "aba", false}, // prefix and suffix may not overlap
		{"name:*", "", true},
		{`name:"a\*"`, "a*", true},
		{`name:"a\*"`, "ab", false},
		{"sha256:E3B0*", h64, true},
		{"email:*@EXAMPLE.net", "x@example.NET", true},
	}
	for _, c := range cases {
		n, err := Parse(c.q)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.q, err)
		}
		if got := n.(Term).Match(c.s); got != c.want {
			t.Errorf("Match(%q, %q) = %v", c.q, c.s, got)
		}
	}
}

// likeMatch is SQL LIKE with ESCAPE '\', by byte: the reference Like's
// patterns are checked against.
func likeMatch(p, s string) bool {
	type tok struct {
		any bool
		c   byte
	}
	var toks []tok
	for i := 0; i < len(p); i++ {
		switch {
		case p[i] == '\\' && i+1 < len(p):
			i++
			toks = append(toks, tok{c: p[i]})
		case p[i] == '%':
			toks = append(toks, tok{any: true})
		case p[i] == '_':
			panic("Like never emits an unescaped _")
		default:
			toks = append(toks, tok{c: p[i]})
		}
	}
	// ok[j]: toks[:i] matches s[:j].
	ok := make([]bool, len(s)+1)
	ok[0] = true
	for _, tk := range toks {
		next := make([]bool, len(s)+1)
		for j := 0; j <= len(s); j++ {
			switch {
			case tk.any:
				next[j] = ok[j] || (j > 0 && next[j-1])
			case j > 0:
				next[j] = ok[j-1] && s[j-1] == tk.c
			}
		}
		ok = next
	}
	return ok[len(s)]
}

// TestLikeAgreesWithMatch: the LIKE pattern matches exactly what Match
// does, on random globs and strings over a small alphabet.
func TestLikeAgreesWithMatch(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const alpha = `ab%_\*`
	str := func(n int) string {
		var b strings.Builder
		for range r.IntN(n) {
			b.WriteByte(alpha[r.IntN(len(alpha))])
		}
		return b.String()
	}
	for range 20000 {
		parts := strings.Split(str(7), "*")
		tm := textTerm(Term{Field: "url"}, collapse(parts))
		p, _ := tm.Like()
		s := str(6)
		if got, want := likeMatch(p, s), tm.Match(s); got != want {
			t.Fatalf("%s: LIKE %q on %q = %v, Match = %v", tm, p, s, got, want)
		}
	}
}
