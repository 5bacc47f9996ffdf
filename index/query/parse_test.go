package query

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const (
	h32 = "d41d8cd98f00b204e9800998ecf8427e"
	h40 = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
	h64 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	job = "01JJ5ZQ3W8M9X6T2R4B7C1D0EF"
)

// parseCases are accepted queries and their canonical form.
var parseCases = []struct{ in, want string }{
	// hashes, by field and bare
	{"sha256:" + strings.ToUpper(h64), "sha256:" + h64},
	{"sha256:E3B0C442*", "sha256:e3b0c442*"},
	{"sha256:" + h64 + "*", "sha256:" + h64},
	{"sha256:e3b0c442**", "sha256:e3b0c442*"},
	{"sha1:" + strings.ToUpper(h40), "sha1:" + h40},
	{"sha1:da39*", "sha1:da39*"},
	{"md5:" + h32, "md5:" + h32},
	{"md5:\"" + h32 + "\"", "md5:" + h32},
	{h32, "md5:" + h32},
	{strings.ToUpper(h40), "sha1:" + h40},
	{h64, "sha256:" + h64},
	{h32 + "0", "name:*" + h32 + "0*"},      // 33 hex digits: a name
	{`"` + h32 + `"`, "name:*" + h32 + "*"}, // quoted: a name
	{"similar:" + strings.ToUpper(h64), "similar:" + h64},

	// text fields and wildcards
	{"name:login.php", "name:login.php"},
	{"NAME:login.php", "name:login.php"},
	{"name:login*", "name:login*"},
	{"name:*.php", "name:*.php"},
	{"name:*login*", "name:*login*"},
	{"name:a*b", "name:a*b"},
	{"name:a**b", "name:a*b"},
	{"name:*a*b*", "name:*a*b*"},
	{"name:a*b*c", "name:a*b*c"},
	{"name:*", "name:*"},
	{"name:***", "name:*"},
	{"name:-x", "name:-x"},
	{"name:OR", "name:OR"},
	{"name:a:b", "name:a:b"},
	{"path:*/admin/*", "path:*/admin/*"},
	{`path:C:\x\y`, `path:C:\x\y`},
	{"mime:text/x-php", "mime:text/x-php"},
	{"jobname:*.zip", "jobname:*.zip"},
	{"submitter:alice", "submitter:alice"},
	{`notes:"acme bank"`, `notes:"acme bank"`},
	{"ioc:evil@example.com", "ioc:evil@example.com"},
	{"url:http://evil.example/login?a=1&b=2", "url:http://evil.example/login?a=1&b=2"},
	{"url:*example.com/login*", "url:*example.com/login*"},
	{"domain:example.com", "domain:example.com"},
	{"email:*@example.net", "email:*@example.net"},
	{"ip:203.0.113.*", "ip:203.0.113.*"},
	{"ip:2001:db8::1", "ip:2001:db8::1"},
	{"telegram:123456789:AAE-x_y", "telegram:123456789:AAE-x_y"},
	{"token:*base64_decode*", "token:*base64_decode*"},

	// quoting and escapes
	{`name:"a b"`, `name:"a b"`},
	{`name:"plain"`, "name:plain"},
	{`name:"a\"b"`, `name:"a\"b"`},
	{`name:"a\\b"`, `name:a\b`},
	{`name:"a\\b c"`, `name:"a\\b c"`},
	{`name:"a\*b"`, `name:"a\*b"`},
	{`name:"*a b*"`, `name:"*a b*"`},
	{`name:"a\**"`, `name:"a\**"`},
	{`name:""`, `name:""`},
	{`name:"(x)"`, `name:"(x)"`},
	{`name:"tab	in"`, "name:\"tab\tin\""},
	{`"a b"`, `name:"*a b*"`},
	{`"*.php"`, "name:*.php"},
	{`"*"`, "name:*"},
	{`"or"`, "name:*or*"},
	{`(name:"x")`, "name:x"},

	// unicode
	{"name:пароль.php", "name:пароль.php"},
	{"名前", "name:*名前*"},
	{"name:🎣*", "name:🎣*"},
	{"name:\"a\u00a0b\"", "name:\"a\u00a0b\""}, // NBSP is white space: quoted
	{"a\u00a0b", "name:*a* name:*b*"},
	{"a\u3000b", "name:*a* name:*b*"},
	{"name:a\u200bb", "name:a\u200bb"}, // zero-width space is not white space

	// bare words
	{"login", "name:*login*"},
	{"login*", "name:login*"},
	{"*.php", "name:*.php"},
	{"*", "name:*"},
	{"admin/login", "path:*admin/login*"},
	{"*/admin/*", "path:*/admin/*"},

	// numbers
	{"size:1000", "size:1000"},
	{"size:=1000", "size:1000"},
	{"size:0", "size:0"},
	{"size:>1000", "size:>1000"},
	{"size:>=1000", "size:>=1000"},
	{"size:<5", "size:<5"},
	{"size:<=5", "size:<=5"},
	{"size:100..2000", "size:100..2000"},
	{"size:5..5", "size:5..5"},
	{"size:100..", "size:>=100"},
	{"size:..2000", "size:<=2000"},
	{"size:5k", "size:5120"},
	{"size:>1MiB", "size:>1048576"},
	{"size:<2gb", "size:<2147483648"},
	{"size:1T", "size:1099511627776"},
	{"size:1k..2M", "size:1024..2097152"},
	{`size:">5"`, "size:>5"},
	{"size:007", "size:7"},
	{"size:9223372036854775807", "size:9223372036854775807"},

	// bools and job ids
	{"knowngood:true", "knowngood:true"},
	{"knowngood:FALSE", "knowngood:false"},
	{"job:" + strings.ToLower(job), "job:" + job},

	// dates
	{"after:2026-01-01", "after:2026-01-01"},
	{"after:2026-01-01T00:00:00Z", "after:2026-01-01"},
	{"before:2026-02-01T10:00:00Z", "before:2026-02-01T10:00:00Z"},
	{"before:2026-02-01t10:00:00z", "before:2026-02-01T10:00:00Z"},
	{"after:2026-01-01T10:00:00+02:00", "after:2026-01-01T08:00:00Z"},
	{"after:2026-01-01T01:00:00+02:00", "after:2025-12-31T23:00:00Z"},
	{"after:2026-02-01T10:00:00.500Z", "after:2026-02-01T10:00:00.5Z"},

	// precedence, implicit AND, keywords
	{"mime:text/x-php size:>1000 knowngood:false", "mime:text/x-php size:>1000 knowngood:false"},
	{"a AND b", "name:*a* name:*b*"},
	{"a and b", "name:*a* name:*b*"},
	{"a OR b", "name:*a* OR name:*b*"},
	{"a or b", "name:*a* OR name:*b*"},
	{"a OR b c", "name:*a* OR name:*b* name:*c*"},
	{"a b OR c", "name:*a* name:*b* OR name:*c*"},
	{"a AND b OR c AND d", "name:*a* name:*b* OR name:*c* name:*d*"},
	{"NOT a b", "-name:*a* name:*b*"},
	{"not a OR b", "-name:*a* OR name:*b*"},
	{"-a", "-name:*a*"},
	{"--a", "--name:*a*"},
	{"NOT NOT a", "--name:*a*"},
	{"NOT -a", "--name:*a*"},
	{`-"a b"`, `-name:"*a b*"`},
	{"-knowngood:true", "-knowngood:true"},

	// parentheses
	{"(a OR b) c", "(name:*a* OR name:*b*) name:*c*"},
	{"-(a OR b) c", "-(name:*a* OR name:*b*) name:*c*"},
	{"NOT (a b)", "-(name:*a* name:*b*)"},
	{"-(-a)", "--name:*a*"},
	{"(a OR b) (c OR d)", "(name:*a* OR name:*b*) (name:*c* OR name:*d*)"},
	{"((a))", "name:*a*"},
	{"(a b) c", "(name:*a* name:*b*) name:*c*"},
	{"a (b c)", "name:*a* (name:*b* name:*c*)"},
	{"a OR (b OR c)", "name:*a* OR (name:*b* OR name:*c*)"},
	{"a OR (b c)", "name:*a* OR name:*b* name:*c*"},
	{"(a)(b)", "name:*a* name:*b*"},
	{"(name:x OR name:y)", "name:x OR name:y"},
	{"  ( a\tOR\nb )  ", "name:*a* OR name:*b*"},
	{"(domain:example.com OR email:*@example.net) -knowngood:true",
		"(domain:example.com OR email:*@example.net) -knowngood:true"},
	{"name:login.php AND NOT path:*/vendor/*", "name:login.php -path:*/vendor/*"},
}

func TestParse(t *testing.T) {
	for _, c := range parseCases {
		n, err := Parse(c.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		if got := n.String(); got != c.want {
			t.Errorf("Parse(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

// TestParseAST pins the tree and the values backends read.
func TestParseAST(t *testing.T) {
	a := func(v string) Term { return Term{Field: "name", Op: OpContains, Value: v} }
	cases := []struct {
		in   string
		want Node
	}{
		{"a OR b c", Or{[]Node{a("a"), And{[]Node{a("b"), a("c")}}}}},
		{"(a b) c", And{[]Node{And{[]Node{a("a"), a("b")}}, a("c")}}},
		{"-a -b", And{[]Node{Not{a("a")}, Not{a("b")}}}},
		{"name:a*b*c", Term{Field: "name", Op: OpWildcard, Value: "a*b*c"}},
		{`name:"a\**"`, Term{Field: "name", Op: OpPrefix, Value: "a*"}},
		{`name:"a\\"`, Term{Field: "name", Op: OpEq, Value: `a\`}},
		{`name:"x\\*\**y"`, Term{Field: "name", Op: OpWildcard, Value: `x\\*\**y`}},
		{"name:*", Term{Field: "name", Op: OpAny}},
		{"email:*@x.net", Term{Field: "email", Op: OpSuffix, Value: "@x.net"}},
		{"size:>10", Term{Field: "size", Op: OpGT, Low: 10}},
		{"size:>=10", Term{Field: "size", Op: OpGE, Low: 10}},
		{"size:<10", Term{Field: "size", Op: OpLT, High: 10}},
		{"size:<=10", Term{Field: "size", Op: OpLE, High: 10}},
		{"size:10", Term{Field: "size", Op: OpEq, Low: 10}},
		{"size:1..2", Term{Field: "size", Op: OpBetween, Low: 1, High: 2}},
		{"after:2026-01-02", Term{Field: "after", Op: OpGE, Time: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)}},
		{"before:2026-01-02T03:04:05+01:00", Term{Field: "before", Op: OpLT, Time: time.Date(2026, 1, 2, 2, 4, 5, 0, time.UTC)}},
		{"knowngood:True", Term{Field: "knowngood", Op: OpEq, Value: "true"}},
		{h40, Term{Field: "sha1", Op: OpEq, Value: h40}},
	}
	for _, c := range cases {
		n, err := Parse(c.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		if !Equal(n, c.want) {
			t.Errorf("Parse(%q) = %#v, want %#v", c.in, n, c.want)
		}
	}
	n, _ := Parse("x knowngood:true")
	if ts := Terms(n); len(ts) != 2 || ts[0].Pos != 0 || ts[1].Pos != 2 || !ts[1].Bool() {
		t.Errorf("Terms = %+v: want positions 0 and 2 and a true bool", ts)
	}
}

// errCases are rejected queries: the sentinel, the position and a piece
// of the message.
var errCases = []struct {
	in      string
	err     error
	pos     int
	contain string
}{
	{"", ErrEmpty, 0, "empty query"},
	{" \t\n", ErrEmpty, 0, "empty query"},
	{"size:>abc", ErrBadValue, 6, "size expects a number"},
	{"size:abc", ErrBadValue, 5, `got "abc"`},
	{"size:*", ErrBadValue, 5, "no wildcards"},
	{"size:-5", ErrBadValue, 5, "expects a number"},
	{"size:1.5k", ErrBadValue, 5, "expects a number"},
	{"size:5x", ErrBadValue, 5, "expects a number"},
	{"size:5kk", ErrBadValue, 5, "expects a number"},
	{"size:>", ErrBadValue, 6, "expects a number"},
	{"size:99999999999999999999", ErrBadValue, 5, "expects a number"},
	{"size:9223372036854775808", ErrBadValue, 5, "expects a number"},
	{"size:9999999T", ErrBadValue, 5, "expects a number"},
	{"size:5..1", ErrBadValue, 5, "minimum is greater than the maximum"},
	{"size:..", ErrBadValue, 5, "needs a bound"},
	{"size:1..x", ErrBadValue, 8, `got "x"`},
	{"size:x..1", ErrBadValue, 5, `got "x"`},
	{"size:..x", ErrBadValue, 7, `got "x"`},
	{"size:>5..6", ErrBadValue, 6, "expects a number"},
	{`size:">x"`, ErrBadValue, 7, "expects a number"},
	{"sise:5", ErrUnknownField, 0, "did you mean size:5?"},
	{"a Nmae:x", ErrUnknownField, 2, "did you mean name:x?"},
	{"filename:x.php", ErrUnknownField, 0, "did you mean name:x.php?"},
	{"type:text/html", ErrUnknownField, 0, "did you mean mime:text/html?"},
	{"zzzzzzzz:1", ErrUnknownField, 0, "fields are sha256, sha1"},
	{"http://evil.example/x", ErrUnknownField, 0, "url:http://evil.example/x"},
	{"hash:" + h32, ErrUnknownField, 0, "md5:" + h32},
	{"2001:db8::1", ErrUnknownField, 0, "unknown field"},
	{"sha256:abc", ErrBadValue, 7, "expects 64 hex digits, got 3"},
	{"sha256:" + h64 + "0", ErrBadValue, 7, "got 65"},
	{"sha256:xyz", ErrBadValue, 7, "hex digits"},
	{"sha256:abcg", ErrBadValue, 10, `got "abcg"`},
	{`sha256:"abcg*"`, ErrBadValue, 7, "hex digits"},
	{"sha256:*abc", ErrBadValue, 7, "only at the end"},
	{"sha256:a*b", ErrBadValue, 7, "only at the end"},
	{"sha256:*", ErrBadValue, 7, "only at the end"},
	{"md5:" + h40, ErrBadValue, 4, "expects 32 hex digits, got 40"},
	{"sha1:" + h32, ErrBadValue, 5, "expects 40 hex digits, got 32"},
	{"similar:abc*", ErrBadValue, 8, "no wildcards"},
	{"similar:abc", ErrBadValue, 8, "whole sha256"},
	{"similar:" + h32, ErrBadValue, 8, "whole sha256"},
	{"after:2026-13-01", ErrBadValue, 6, "expects a date"},
	{"after:2026-02-30", ErrBadValue, 6, "expects a date"},
	{"after:2026-01-01T10:00:00", ErrBadValue, 6, "RFC 3339"},
	{"before:yesterday", ErrBadValue, 7, `got "yesterday"`},
	{"after:0001-01-01T00:00:00+01:00", ErrBadValue, 6, "expects a date"},
	{"after:>2026-01-01", ErrBadValue, 6, "expects a date"},
	{"after:2026*", ErrBadValue, 6, "no wildcards"},
	{"knowngood:yes", ErrBadValue, 10, "true or false"},
	{`knowngood:"yes"`, ErrBadValue, 11, "true or false"},
	{"job:123", ErrBadValue, 4, "26-character job ID"},
	{"job:01JJ5ZQ3W8M9X6T2R4B7C1D0EI", ErrBadValue, 4, "26-character job ID"},
	{"job:81JJ5ZQ3W8M9X6T2R4B7C1D0EF", ErrBadValue, 4, "26-character job ID"},
	{"name:", ErrBadValue, 5, "name needs a value right after the colon"},
	{"name: x", ErrBadValue, 5, "needs a value"},
	{"(name:)", ErrBadValue, 6, "needs a value"},
	{":x", ErrSyntax, 0, "missing field name"},
	{"a :x", ErrSyntax, 2, "missing field name"},
	{`name:"abc`, ErrSyntax, 5, "unterminated quote"},
	{`name:"abc\`, ErrSyntax, 5, "unterminated quote"},
	{`"abc`, ErrSyntax, 0, "unterminated quote"},
	{`name:"a\x"`, ErrSyntax, 7, `unknown escape \x`},
	{`name:"a\é"`, ErrSyntax, 7, `unknown escape \é`},
	{`name:"a"b`, ErrSyntax, 8, "after the closing quote"},
	{`name:"a"(b)`, ErrSyntax, 8, "after the closing quote"},
	{`name:a"b`, ErrSyntax, 6, `unexpected "`},
	{"name:a(b", ErrSyntax, 6, "unexpected ("},
	{"foo(", ErrSyntax, 3, "unexpected ("},
	{`foo"bar"`, ErrSyntax, 3, `unexpected "`},
	{`""`, ErrBadValue, 0, "empty quotes"},
	{"(a", ErrSyntax, 0, "never closed"},
	{"a (b (c)", ErrSyntax, 2, "never closed"},
	{"a)", ErrSyntax, 1, "no ( to close"},
	{"(a))", ErrSyntax, 3, "no ( to close"},
	{")", ErrSyntax, 0, "a term is missing"},
	{"()", ErrSyntax, 0, "empty parentheses"},
	{"a ()", ErrSyntax, 2, "empty parentheses"},
	{"a AND", ErrSyntax, 2, "AND needs a term on each side"},
	{"AND a", ErrSyntax, 0, "AND needs a term on each side"},
	{"a AND AND b", ErrSyntax, 2, "AND needs"},
	{"a AND OR b", ErrSyntax, 2, "AND needs"},
	{"a OR", ErrSyntax, 2, "OR needs a term on each side"},
	{"OR a", ErrSyntax, 0, "OR needs"},
	{"a OR OR b", ErrSyntax, 2, "OR needs"},
	{"(a OR) b", ErrSyntax, 3, "OR needs"},
	{"(OR a)", ErrSyntax, 1, "OR needs"},
	{"NOT", ErrSyntax, 0, "NOT must be followed by a term"},
	{"a NOT", ErrSyntax, 2, "NOT must be followed"},
	{"NOT OR a", ErrSyntax, 0, "NOT must be followed"},
	{"-AND a", ErrSyntax, 0, "- must be followed by a term"},
	{"-(a) -OR", ErrSyntax, 5, "- must be followed by a term"},
	{"- a", ErrSyntax, 0, "- must be followed directly by a term"},
	{"a -", ErrSyntax, 2, "- must be followed directly"},
	{"(-)", ErrSyntax, 1, "- must be followed directly"},
	{"name:\xffx", ErrSyntax, 5, "invalid UTF-8"},
	{"name:a\x00", ErrSyntax, 6, "control character U+0000"},
	{"a \x1b[31m", ErrSyntax, 2, "control character U+001B"},
	{"a \u0085b", ErrSyntax, -1, ""}, // NEL is white space (accepted); see below
	{"name:" + strings.Repeat("x", MaxValueLen+1), ErrLimit, 5, "value too long"},
	{`name:"` + strings.Repeat("x", MaxValueLen+1) + `"`, ErrLimit, 5, "value too long"},
	{strings.Repeat("x", MaxValueLen+1), ErrLimit, 0, "value too long"},
	{strings.Repeat("a ", MaxTerms) + "b", ErrLimit, 2 * MaxTerms, "too many terms (max 64)"},
	{strings.Repeat("(", MaxDepth+1) + "a" + strings.Repeat(")", MaxDepth+1), ErrLimit, MaxDepth, "nested too deeply"},
	{strings.Repeat("-", MaxDepth+1) + "a", ErrLimit, MaxDepth, "nested too deeply"},
	{strings.Repeat("NOT ", MaxDepth+1) + "a", ErrLimit, 4 * MaxDepth, "nested too deeply"},
	{strings.Repeat("a", MaxQueryLen+1), ErrLimit, MaxQueryLen, "query too long: 4097 bytes"},
	{strings.Repeat(strings.Repeat("x", 60)+" ", MaxTerms), ErrLimit, 61 * MaxTerms, "once written out"},
}

func TestParseErrors(t *testing.T) {
	for _, c := range errCases {
		if c.pos < 0 {
			continue
		}
		n, err := Parse(c.in)
		if err == nil {
			t.Errorf("Parse(%q) = %s, want an error", c.in, n)
			continue
		}
		var qe *Error
		if !errors.As(err, &qe) {
			t.Errorf("Parse(%q): %T is not *Error", c.in, err)
			continue
		}
		if !errors.Is(err, c.err) || !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%q) = %v, want %v (and ErrInvalid)", c.in, err, c.err)
		}
		if qe.Pos != c.pos {
			t.Errorf("Parse(%q): position %d, want %d (%v)", c.in, qe.Pos, c.pos, err)
		}
		if !strings.Contains(err.Error(), c.contain) {
			t.Errorf("Parse(%q) = %q, want it to contain %q", c.in, err, c.contain)
		}
		if qe.Input != c.in {
			t.Errorf("Parse(%q): Input = %q", c.in, qe.Input)
		}
	}
	if n, err := Parse("a \u0085b"); err != nil || n.String() != "name:*a* name:*b*" {
		t.Errorf("NEL as white space: %v %v", n, err)
	}
}

func TestErrorText(t *testing.T) {
	_, err := Parse("size:>abc")
	if got, want := err.Error(), `query: position 6: size expects a number (as in size:1000, size:>1000, size:100..2000 or size:<5M), got "abc"`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestCaret(t *testing.T) {
	long := strings.Repeat("a ", 60) + "sise:1 " + strings.Repeat("b ", 60)
	cases := []struct{ in, want string }{
		{"size:>abc", "size:>abc\n      ^"},
		{"a\tsise:1", "a sise:1\n  ^"},
		{"名前 sise:1", "名前 sise:1\n   ^"},
		{"(a", "(a\n^"},
		{"a AND", "a AND\n  ^"},
		{"", "\n^"},
		{long, "…" + long[120-36:120+36] + "…\n" + strings.Repeat(" ", 37) + "^"},
	}
	for _, c := range cases {
		_, err := Parse(c.in)
		var qe *Error
		if !errors.As(err, &qe) {
			t.Fatalf("Parse(%q) = %v, want an *Error", c.in, err)
		}
		if got := qe.Caret(); got != c.want {
			t.Errorf("Caret(%q) =\n%s\nwant\n%s", c.in, got, c.want)
		}
	}
	// At the end of a long query the window ends there too.
	e := &Error{Input: strings.Repeat("x", 200), Pos: 200}
	if got := e.Caret(); !strings.HasPrefix(got, "…"+strings.Repeat("x", caretWidth)+"\n") || !strings.HasSuffix(got, strings.Repeat(" ", caretWidth+1)+"^") {
		t.Errorf("Caret at the end of a long query = %q", got)
	}
}
