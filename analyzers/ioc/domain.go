package ioc

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// Bare domain names (not inside a URL or an email address) are the
// noisiest indicator: code is full of a.b.c property chains and file names
// that look like names. A bare name is kept only when all of these hold:
//
//  1. Syntax: two or more labels of letters, digits and inner hyphens,
//     1-63 bytes each, 253 in all; the last label (TLD) all letters or
//     xn-- punycode. This rejects versions (3.6.0), CSS numbers (1.5em)
//     and most code.
//  2. The TLD is a real public suffix: in the ICANN section of the Public
//     Suffix List, or the name ends in a private-section suffix
//     (github.io), or it is .onion. This rejects index.php, jquery.min.js,
//     style.css, config.json, logo.png, setup.exe, e.target.value.
//     Special-use TLDs (.example, .test, .invalid, .localhost, .local,
//     .internal) count only in URLs and addresses: bare, "re.test" and
//     "config.example" are code and file names.
//  3. Code shape. Dropped: right before '(' (a call), '=' (an
//     assignment), '[' (an index), '@' (an address's local part), '_',
//     '$' or '-'; right after '$', '_', '\', '%', '&' or '#' (variables,
//     escapes, entities, selectors), or after "//" or '@' (the URL and
//     email finders own those, and keep a name there whatever its TLD);
//     when the first label is a code receiver (this, self, window,
//     event, ...); when the first label is one character, unless the TLD
//     is .com/.net/.org or the name is t.me or wa.me (minified e.ui.ie,
//     t.is); when a label is camelCase (wrapMap.th) unless the TLD is
//     .com/.net/.org (PayPal.com); when a neighbouring byte is not text
//     (invalid UTF-8: names in random binary data are chance).
//  4. File names. Dropped when a label between the first and the last is
//     a file word (jquery.min.js's "min", "tar", "bak", "php", ...), or
//     the run started with a dot and the first label is one (".tar.br").
//     File-extension TLDs (fileTLDs: .zip, .sh, .py, .pl, .md, .mov, .ai,
//     .in, ...) also end file names (run.sh, payload.zip, README.md): a
//     bare name in one needs three or more labels, and rule 5's context.
//  5. TLD tiers. The legacy gTLDs .com .net .org .edu .gov .mil .int .biz
//     .info, ccTLDs, and the new gTLDs most used for abuse that are not
//     English code words (.xyz .icu .club .buzz ...) are taken anywhere.
//     Every other TLD (.name .style .top .app .target .jobs .read ...,
//     the ~1200 new gTLDs that double as property names), the ccTLDs that
//     do (.id .is .to .in .it .me .us ...) and the file-extension TLDs are
//     taken only when the name starts with "www." or starts a quoted path
//     or host:port ('evil.top/gate.php', "evil.top:8080"). So el.style,
//     window.top, this.name, user.id, event.target and the quoted config
//     keys 'author.email' and 'fs.read' are not names.
//
// Rules 3-5 cost real indicators: "evil.top" or "evil.it" on its own in a
// comment or a string is missed. Kits send data to URLs and addresses,
// where every TLD counts; the bare-name rules trade that recall for a
// result list an analyst can read, and for not indexing every JavaScript
// file's property chains.

// fileTLDs are TLDs that are also common file extensions.
var fileTLDs = set("zip", "mov", "sh", "py", "pl", "pm", "rs", "md", "ai", "in", "am", "ac", "mk",
	"ml", "so", "cc", "mm", "cab", "pub", "pro", "java", "coffee", "bz", "ar", "pid", "run", "inc", "map", "js")

// openTLDs are taken in bare names anywhere: legacy gTLDs and the new
// gTLDs most seen in abuse that are not code words. ccTLDs are open
// unless in codeCC or fileTLDs.
var openTLDs = set("com", "net", "org", "edu", "gov", "mil", "int", "biz", "info",
	"xyz", "icu", "club", "shop", "buzz", "cyou", "vip", "website", "sbs", "cfd", "bond", "quest", "monster",
	"lol", "mom", "beauty", "hair", "skin", "autos", "boats", "homes", "yachts", "makeup", "tokyo", "onion")

// plainTLDs are where camelCase and one-letter first labels are still
// names: PayPal.com, m.facebook.com.
var plainTLDs = set("com", "net", "org")

// codeCC are ccTLDs that are also everyday identifiers.
var codeCC = set("id", "is", "to", "in", "at", "as", "by", "do", "no", "me", "us", "so", "it", "ms", "ps", "ws")

// codeReceivers are first labels that are code, never host names.
var codeReceivers = set("this", "self", "that", "window", "document", "console", "event", "evt", "err",
	"error", "module", "exports", "props", "state", "options", "opts", "params", "args", "obj", "result",
	"res", "req", "response", "request", "config", "settings", "el", "elem", "element", "item", "node",
	"target", "data", "math", "json", "object", "array", "string", "number", "location", "navigator",
	"prototype", "parent", "value", "method", "build", "package", "profile", "process", "user")

// shortHosts are two-label names with a one-letter first label worth
// keeping: Telegram's and WhatsApp's link hosts.
var shortHosts = set("t.me", "wa.me")

// fileWords are labels that mark a file name, not a host.
var fileWords = set("min", "tar", "bak", "orig", "tmp", "php", "js", "css", "html", "htm",
	"json", "sql", "xml", "txt", "bundle", "chunk", "gz", "zip", "slim", "umd", "esm", "dist", "src")

// specialTLDs are special-use names (RFC 6761 and friends), not in the
// Public Suffix List but meant as names in URLs and addresses.
var specialTLDs = set("example", "test", "invalid", "localhost", "local", "internal")

func isQuote(c byte) bool { return c == '"' || c == '\'' || c == '`' }

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// asciiName lowercases a host and converts an internationalised one to
// punycode.
func asciiName(host string) (string, bool) {
	for i := 0; i < len(host); i++ {
		if host[i] >= 0x80 {
			a, err := idna.Lookup.ToASCII(host)
			return a, err == nil
		}
	}
	return strings.ToLower(host), true
}

// validName checks rule 1 on a lowercase name.
func validName(name string) bool {
	if len(name) > 253 || len(name) < 3 {
		return false
	}
	labels := 0
	for rest := name; ; {
		l := rest
		k := strings.IndexByte(rest, '.')
		if k >= 0 {
			l, rest = rest[:k], rest[k+1:]
		}
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
		labels++
		if k < 0 {
			if strings.HasPrefix(l, "xn--") {
				return labels >= 2
			}
			for i := 0; i < len(l); i++ {
				if l[i] < 'a' || l[i] > 'z' {
					return false
				}
			}
			return labels >= 2 && len(l) >= 2
		}
	}
}

// knownSuffix checks rule 2: the name has a label before a real public
// suffix; special allows special-use TLDs.
func knownSuffix(name string, special bool) bool {
	ps, icann := publicsuffix.PublicSuffix(name)
	switch {
	case icann:
		return len(name) > len(ps) // a name that is itself a suffix (co.uk) has no owner
	case strings.Contains(ps, "."):
		return true // private section: github.io, s3.amazonaws.com are hosts
	case ps == "onion":
		return true
	}
	return special && specialTLDs[ps]
}

// names scans runs of host characters for bare domains and IPv4
// addresses.
func (x *extractor) names() {
	t := x.t
	for i := 0; i < len(t); {
		if !hostChar(t[i]) {
			i++
			continue
		}
		s, dots, digitsOnly := i, 0, true
		for i < len(t) && hostChar(t[i]) {
			switch c := t[i]; {
			case c == '.':
				dots++
			case c < '0' || c > '9':
				digitsOnly = false
			}
			i++
		}
		if dots == 0 || !x.reports(s) && !x.reports(i-1) {
			continue
		}
		if digitsOnly {
			x.ipv4(s, i)
		} else {
			x.bareDomain(s, i)
		}
	}
}

// bareDomain applies rules 1-5 to the run t[s:e].
func (x *extractor) bareDomain(s, e int) {
	t := x.t
	dotted := t[s] == '.'
	for s < e && (t[s] == '.' || t[s] == '-') {
		s++
	}
	if e > s && t[e-1] == '-' {
		return // tr.cg-${id}
	}
	for e > s && t[e-1] == '.' {
		e--
	}
	if e-s < 4 || e-s > 253 {
		return
	}
	if s > 0 {
		switch t[s-1] {
		case '@', '$', '_', '\\', '%', '&', '#':
			return
		case '/':
			if s > 1 && t[s-2] == '/' {
				return
			}
		}
	}
	if e < len(t) {
		switch t[e] {
		case '(', '=', '[', '@', '_', '$':
			return
		}
	}
	if !textAround(t, s, e) {
		return
	}
	// Cheap test first: the TLD is letters, or punycode.
	dot := bytes.LastIndexByte(t[s:e], '.')
	if dot < 0 {
		return
	}
	tld := t[s+dot+1 : e]
	if len(tld) < 2 || !bytes.HasPrefix(tld, []byte("xn--")) && !allAlpha(tld) {
		return
	}
	raw := t[s:e]
	name := strings.ToLower(string(raw))
	quoted := s > 0 && isQuote(t[s-1]) && e+1 < len(t) && (t[e] == '/' || t[e] == ':' && digit(t[e+1]))
	if !validName(name) || !knownSuffix(name, false) || !bareOK(name, raw, quoted, dotted) {
		return
	}
	x.emit(Domain, name, "", s, e)
}

// textAround reports whether t[s:e] sits between text: valid UTF-8 (or
// NUL, as strings in executables do) on both sides. Names in random binary
// data are chance.
func textAround(t []byte, s, e int) bool {
	if s > 0 && t[s-1] >= utf8.RuneSelf {
		if r, _ := utf8.DecodeLastRune(t[:s]); r == utf8.RuneError {
			return false
		}
	}
	if e < len(t) && t[e] >= utf8.RuneSelf {
		if r, _ := utf8.DecodeRune(t[e:]); r == utf8.RuneError {
			return false
		}
	}
	return true
}

func allAlpha(b []byte) bool {
	for _, c := range b {
		if !isAlpha(c) {
			return false
		}
	}
	return true
}

// camel reports a lowercase letter followed by an uppercase one.
func camel(b []byte) bool {
	for i := 1; i < len(b); i++ {
		if b[i] >= 'A' && b[i] <= 'Z' && b[i-1] >= 'a' && b[i-1] <= 'z' {
			return true
		}
	}
	return false
}

// bareOK checks rules 3-5 on a valid lowercase name; raw is the name as
// written, quoted says it starts a quoted path or host:port, dotted that
// its run started with a dot.
func bareOK(name string, raw []byte, quoted, dotted bool) bool {
	labels := strings.Split(name, ".")
	tld := labels[len(labels)-1]
	if codeReceivers[labels[0]] || dotted && fileWords[labels[0]] {
		return false
	}
	if !plainTLDs[tld] && (len(labels[0]) == 1 && !shortHosts[name] || camel(raw)) {
		return false
	}
	for _, l := range labels[1 : len(labels)-1] {
		if fileWords[l] {
			return false
		}
	}
	if fileTLDs[tld] && len(labels) < 3 {
		return false
	}
	if labels[0] == "www" || quoted || shortHosts[name] {
		return true
	}
	if fileTLDs[tld] {
		return false
	}
	if ps, _ := publicsuffix.PublicSuffix(name); strings.Contains(ps, ".") {
		return true // co.uk, com.pl, github.io: no word TLD alone
	}
	if len(tld) == 2 {
		return !codeCC[tld]
	}
	return openTLDs[tld] || strings.HasPrefix(tld, "xn--")
}
