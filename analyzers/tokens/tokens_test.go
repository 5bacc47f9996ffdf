package tokens

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// tokenize runs a Sink over in.
func tokenize(t testing.TB, in string, opts Options) Result {
	t.Helper()
	s := New(opts)
	if _, err := io.Copy(s, strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	return s.Result()
}

// tokenizeChunked runs a Sink whose lexer sees at most chunk bytes at a
// time, so that every construct gets cut at many places, and writes to it
// in small pieces.
func tokenizeChunked(in []byte, opts Options, chunk int) Result {
	s := New(opts)
	s.step = chunk
	for len(in) > 0 {
		n := min(len(in), 1+len(in)%13)
		s.Write(in[:n])
		in = in[n:]
	}
	return s.Result()
}

func TestKitSnippets(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		lang    Lang
		want    []string
		notWant []string
	}{
		{
			name: "php mailer", in: phpMailer, lang: LangPHP,
			want: []string{
				// variables keep case, sigil stripped; names lowercased
				"to", "_POST", "_SERVER", "chat_id", "mail", "header", "file_get_contents", "gethostbyaddr", "session_start",
				// string contents
				`"rezult.box@example.com`, `"REMOTE_ADDR`, `"HTTP_USER_AGENT`, `"Email :`, `"Location: https://outlook.office.com/`,
				`"From: Office365 <noreply@example.net>`, `"New Login | $ip`, `"-100987654321`, `"config.php`,
				// comment words, lowercased; long numbers
				"xxspamkingxx", "rezult", "office365", "icq", "748392011", "telegram", "backup",
				// the long Telegram URL, hashed
				`"#` + hexHash("https://api.telegram.org/bot123456:AAE-example/sendMessage?chat_id="),
			},
			notWant: []string{"$to", "$ip", "Mail", "_post", `"\n`, "by", "php"},
		},
		{
			name: "js harvester", in: jsHarvester, lang: LangJS,
			want: []string{
				"fetch", "ENDPOINT", "FormData", "JSON", "stringify", "addEventListener", "preventDefault", "getElementById",
				"function", "const", "var", "return", "harvest",
				`"https://collect.example.org/gate.php`, `"https://login.example.com/?error=1`, `"use strict`, `"POST`,
				`"login`, `"passwd`, `"loginForm`, `"submit`,
				"grabber", "share",
			},
			// the regular expression is skipped, quotes in it and all
			notWant: []string{"endpoint", "e", "i", `"+@[^@`, "fetch(", "v2"},
		},
		{
			name: "html login form", in: htmlLogin, lang: LangPHP, // a <?php block makes it PHP
			want: []string{
				"<html", "<form", "<input", "<button", "<script", "<link", "<img",
				"action", "name", "type", "placeholder",
				"action=post.php", "name=loginfmt", "name=passwd", "name=token", "name=signin",
				"type=email", "type=password", "type=hidden",
				"src=code.jquery.example", "src=js/main.js", "src=logincdn.example.com", "href=aadcdn.example.net",
				"sign", "account", "next", "create", // text, lowercased
				"h4x0r", "h4x0r_shop", "kit", // HTML comment words
				"echo", "token", // the PHP block in the value
				"theme", "background", // <style> body
			},
			notWant: []string{"<a href", "name=f1", "nbsp", "copy", "2024", "<HTML", "type=PASSWORD", "PASSWORD", "in"},
		},
		{
			name: "plain html", in: "<html><body><form action='/x/login.php'><input name=user></form></body></html>", lang: LangHTML,
			want: []string{"<html", "<body", "<form", "<input", "action=/x/login.php", "name=user"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tokenize(t, tc.in, Options{})
			if r.Lang != tc.lang {
				t.Errorf("lang %q, want %q", r.Lang, tc.lang)
			}
			have := map[string]bool{}
			for _, tok := range r.Tokens {
				have[tok] = true
			}
			for _, w := range tc.want {
				if !have[w] {
					t.Errorf("missing %q", w)
				}
			}
			for _, w := range tc.notWant {
				if have[w] {
					t.Errorf("unexpected %q", w)
				}
			}
			if t.Failed() {
				t.Logf("tokens: %q", r.Tokens)
			}
		})
	}
}

func hexHash(s string) string { return fmt.Sprintf("%016x", fnvBytes(fnvOffset, []byte(s))) }

// TestNormalisation pins the rules on small inputs, whole token sets.
func TestNormalisation(t *testing.T) {
	long := strings.Repeat("A", 65)
	for _, tc := range []struct {
		name, in, mime string
		want           []string
	}{
		{"php names lowercased, variables kept", `<?php $UserName = StrToLower($X); ECHO $UserName;`, "",
			[]string{"UserName", "echo", "strtolower"}},
		{"js keeps case and $", `const UserName = $http.get("/api/login"); $(x);`, "text/javascript",
			[]string{`"/api/login`, "$http", "UserName", "const", "get"}},
		{"text keeps case", `Hello World 'abc' "abcd"`, "",
			[]string{`"abcd`, "Hello", "World"}},
		{"string whitespace collapsed and trimmed", "var s = \"  Sign \t\r in   now  \";", "text/javascript",
			[]string{`"Sign in now`, "var"}},
		{"string length bounds", `x = "abc" + "abcd" + "` + long + `";`, "",
			[]string{`"#` + hexHash(long), `"abcd`}},
		{"unprintable string hashed", "y = \"ab\x01cd\";", "",
			[]string{`"#` + hexHash("ab\x01cd")}},
		{"long identifier hashed", "var " + long + " = 1;", "text/javascript",
			[]string{"#" + hexHash(long), "var"}},
		{"numbers: only long digit runs", `n = 12345 + 123456 + 0x1234567 + 12345678901234567890123 + 1.5e10;`, "",
			[]string{"123456"}},
		{"comment words lowercased, short ones dropped", "// Coded BY Xx_Hack3r_xX a b\n/* ICQ 4455667 */ go();", "",
			[]string{"4455667", "coded", "go", "icq", "xx_hack3r_xx"}},
		{"hash comments in php and text", "<?php # Author: Zed\n$a1 = 1;", "",
			[]string{"a1", "author", "zed"}},
		{"no hash comments in css", "#Header { color: #FFF; } /* By Zed */", "text/css",
			[]string{"FFF", "Header", "color", "zed"}},
		{"php heredoc body is prose", "<?php $m = <<<EOT\nLogin RESULT from {$ip}\n  EOT;\nmail($m);", "",
			[]string{"from", "login", "mail", "result"}},
		{"php nowdoc", "<?php $m = <<<'X'\nSecret Words\nX;\necho $m;", "",
			[]string{"echo", "secret", "words"}},
		{"php ?> inside a string does not end php", `<?php $s = "a ?> b"; ?><p>done</p>`, "",
			[]string{`"a ?> b`, "<p", "done"}},
		{"php ?> ends a line comment", "<?php // note ?><b>bold</b>", "",
			[]string{"<b", "bold", "note"}},
		{"php in an attribute value keeps the value", `<form action="/go/<?php echo $next; ?>.php"></form>`, "",
			[]string{"<form", "action", "action=/go/.php", "echo", "next"}},
		{"php in a script string", `<script>var u = "<?php echo $url ?>";</script>`, "",
			[]string{"<script", "echo", "url", "var"}},
		{"</script> ends a script even inside a string", `<script>var s = "abcd</script><p>after</p>`, "",
			[]string{`"abcd`, "<p", "<script", "after", "var"}},
		{"js regex versus division", "a = b / c / d; r = /ab'cd\"/g; return /x[/]y/.test(s);", "text/javascript",
			[]string{"return", "test"}},
		{"js template literal", "let t = `Hello ${name}!`;", "text/javascript",
			[]string{`"Hello ${name}!`, "let"}},
		{"js string ends at the line", "var s = 'unterminated\nfoo();", "text/javascript",
			[]string{`"unterminated`, "foo", "var"}},
		{"entities skipped", "<p>&nbsp;Hello&amp;&#169;World</p>", "text/html",
			[]string{"<p", "hello", "world"}},
		{"xml declaration and doctype skipped", `<?xml version="1.0"?><!DOCTYPE html><svg onload="alert(1)"></svg>`, "",
			[]string{"<svg", "onload"}},
		{"src hosts lose user, port and case", `<script src="HTTPS://user:pw@CDN.Example.COM:8443/a.js"></script><img src="//img.example/x.png"><img src="local.png">`, "",
			[]string{"<img", "<script", "src", "src=cdn.example.com", "src=img.example"}},
		{"unicode identifiers and words", "<p>Вход в Систему</p>", "text/html",
			[]string{"<p", "вход", "систему"}},
		{"byte order mark", "\ufeff<?php echo 'héllo';", "",
			[]string{`"héllo`, "echo"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tokenize(t, tc.in, Options{MIME: tc.mime})
			if !slices.Equal(r.Tokens, tc.want) {
				t.Errorf("got  %q\nwant %q", r.Tokens, tc.want)
			}
		})
	}
}

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		in, mime string
		want     Lang
	}{
		{"<?php echo 1;", "", LangPHP},
		{"<html><?= $x ?></html>", "text/html", LangPHP},
		{"<div>only markup</div>", "", LangHTML},
		{"  \n<!DOCTYPE html><title>x</title>", "", LangHTML},
		{"<?xml version=\"1.0\"?><svg/>", "", LangHTML},
		{"just some words", "text/html", LangHTML},
		{"echo hi", "text/x-php", LangPHP},
		{"var a = 1; function f() { return a }", "", LangJS},
		{"x", "application/javascript", LangJS},
		{"The function of a constant is to be constant.", "", LangText},
		{"[section]\nkey = value\n", "text/plain", LangText},
		{"", "", LangNone},
		{"text with an image hint", "image/png", LangNone},
		{"<svg onload=x></svg>", "image/svg+xml", LangHTML},
	} {
		r := tokenize(t, tc.in, Options{MIME: tc.mime})
		if r.Lang != tc.want {
			t.Errorf("%q (%s): lang %q, want %q", tc.in, tc.mime, r.Lang, tc.want)
		}
	}
}

func TestBinary(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 100<<10)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	noNUL := bytes.ReplaceAll(random, []byte{0}, []byte{1})
	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), []byte("<?php eval($_POST['x']); ?>")...)
	utf16 := []byte("<\x00?\x00p\x00h\x00p\x00")
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"random", random},
		{"random without NUL", noNUL},
		{"png with php after the header", png},
		{"utf-16", utf16},
	} {
		r := tokenizeChunked(tc.in, Options{}, chunkSize)
		if r.Lang != LangNone || len(r.Tokens) != 0 || r.MinHash != nil {
			t.Errorf("%s: lang %q, %d tokens, minhash %v", tc.name, r.Lang, len(r.Tokens), r.MinHash != nil)
		}
	}
	// Latin-1 text has a few invalid bytes and is still text.
	latin1 := []byte("<?php\n// r\xe9sultat envoy\xe9 \xe0 la bo\xeete\n$sujet = \"R\xe9sultat\";\nmail($to, $sujet, $msg);\n")
	r := tokenizeChunked(latin1, Options{}, chunkSize)
	if r.Lang != LangPHP || !slices.Contains(r.Tokens, "mail") || !slices.Contains(r.Tokens, "sujet") {
		t.Errorf("latin-1: lang %q tokens %q", r.Lang, r.Tokens)
	}
	for _, tok := range r.Tokens {
		if !utf8.ValidString(tok) {
			t.Errorf("latin-1: invalid token %q", tok)
		}
	}
}

// TestChunking: the lexer stops for lookahead at buffer ends and resumes;
// the result must not depend on where the buffer ends fall.
func TestChunking(t *testing.T) {
	all := []string{phpMailer, jsHarvester, htmlLogin, kitPage,
		"<?php $m = <<<EOT\nLogin RESULT\nEOT;\n // c ?><script>/* x */ var a = /re/g; '</script>'</script><!-- z -->"}
	for _, in := range all {
		want := tokenize(t, in, Options{})
		for _, chunk := range []int{maxLookahead + 8, 97, 128, 1000} {
			got := tokenizeChunked([]byte(in), Options{}, chunk)
			if !slices.Equal(got.Tokens, want.Tokens) || got.Lang != want.Lang || !slices.Equal(got.MinHash, want.MinHash) {
				t.Errorf("chunk %d of %.30q: got %q\nwant %q", chunk, in, got.Tokens, want.Tokens)
			}
		}
	}
}

func TestCaps(t *testing.T) {
	var b strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&b, "var ident%d = 'str%d';\n", i, i)
	}
	in := b.String()
	r := tokenize(t, in, Options{MaxTokens: 100})
	if len(r.Tokens) != 100 || !r.Truncated {
		t.Errorf("MaxTokens 100: %d tokens, truncated %v", len(r.Tokens), r.Truncated)
	}
	// The first tokens met are the ones kept.
	if !slices.Contains(r.Tokens, "ident0") || slices.Contains(r.Tokens, "ident1999") {
		t.Errorf("MaxTokens kept the wrong tokens: %q", r.Tokens[:10])
	}
	r = tokenize(t, in, Options{MaxBytes: 1000})
	if !r.Truncated || slices.Contains(r.Tokens, "ident100") || !slices.Contains(r.Tokens, "ident10") {
		t.Errorf("MaxBytes 1000: truncated %v, %d tokens", r.Truncated, len(r.Tokens))
	}
	r = tokenize(t, in, Options{})
	if r.Truncated || len(r.Tokens) != 2*2000+1 {
		t.Errorf("defaults: truncated %v, %d tokens", r.Truncated, len(r.Tokens))
	}
}

// TestMinifiedLine: one huge line of minified JS, larger than every cap,
// stays within the caps, time and memory: with ever new names it stops
// at the token cap, with recurring ones it reads up to the byte cap.
func TestMinifiedLine(t *testing.T) {
	const size = 24 << 20
	for _, tc := range []struct {
		name    string
		modulo  int
		tokens  func(int) bool
		scanned int64
	}{
		{"new names", size, func(n int) bool { return n == DefaultMaxTokens }, -1},
		{"recurring names", 977, func(n int) bool { return n > 1000 && n < DefaultMaxTokens }, DefaultMaxBytes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(Options{MIME: "application/javascript"})
			var ms0, ms1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms0)
			start := time.Now()
			chunk := make([]byte, 0, 256)
			for i := 0; s.written < size; i++ {
				k := uint64(i % tc.modulo)
				chunk = append(chunk[:0], "!function(e,t){var n"...)
				chunk = strconv.AppendUint(chunk, k, 16)
				chunk = append(chunk, "=t.a"...)
				chunk = strconv.AppendUint(chunk, k%97, 16)
				chunk = append(chunk, "(\"k"...)
				chunk = strconv.AppendUint(chunk, k, 16)
				chunk = append(chunk, "\");return e[n]||/[a-z]+\\//g.test(n)}(window,{});"...)
				s.Write(chunk)
			}
			r := s.Result()
			elapsed := time.Since(start)
			runtime.ReadMemStats(&ms1)
			if !tc.tokens(len(r.Tokens)) || !r.Truncated || r.MinHash != nil || r.Lang != LangJS {
				t.Errorf("%d tokens, truncated %v, minhash %v, lang %q", len(r.Tokens), r.Truncated, r.MinHash != nil, r.Lang)
			}
			if s.scanned > DefaultMaxBytes || tc.scanned >= 0 && s.scanned != tc.scanned {
				t.Errorf("scanned %d bytes, cap %d", s.scanned, DefaultMaxBytes)
			}
			if limit := 10 * time.Second; elapsed > limit && !raceEnabled || elapsed > 10*limit {
				t.Errorf("took %v", elapsed)
			}
			// Memory is the buffer and the token set, not the input.
			if grown := ms1.TotalAlloc - ms0.TotalAlloc; grown > 8<<20 {
				t.Errorf("allocated %d bytes for %d bytes of input", grown, size)
			}
			t.Logf("%d tokens, %d bytes scanned in %v", len(r.Tokens), s.scanned, elapsed)
		})
	}
}

func TestResultIdempotent(t *testing.T) {
	s := New(Options{})
	io.WriteString(s, phpMailer)
	a := s.Result()
	io.WriteString(s, "<?php more_tokens();")
	b := s.Result()
	if !slices.Equal(a.Tokens, b.Tokens) || !slices.Equal(a.MinHash, b.MinHash) || len(a.Tokens) == 0 {
		t.Errorf("second Result differs or empty: %d vs %d tokens", len(a.Tokens), len(b.Tokens))
	}
}
