// Package tokens turns a PHP, JavaScript or HTML file (or any other text,
// read as C-like code) into normalised tokens, for two uses:
//
//   - rare-token search: the sorted distinct tokens of a file go to the
//     index, which counts in how many jobs each occurs, so a file's rare
//     tokens, and a job's rare files, rank first (see Rank and Rarity);
//   - similarity of small web files, where ssdeep and TLSH say nothing: a
//     MinHash signature over 3-shingles of the token sequence (see
//     Signature, Similarity and Bands).
//
// # Tokens
//
// Every token is valid UTF-8 without control characters, and its body
// is at most MaxTokenLen bytes:
//
//	code identifiers, keywords  fetch, _POST, mail       2..64 bytes
//	string literal contents     "https://x.example/a     4..64 bytes, whitespace runs as one space, trimmed
//	longer or unprintable ones  "#<16 hex>  #<16 hex>    FNV-1a 64 of the whole (normalised) literal or name
//	words of prose              coded, telegram          comments, HTML text, heredoc bodies: lowercase, 3..32 bytes
//	numbers                     123456789                digit runs of 6..20 digits (ICQ, chat ids); shorter ones dropped
//	HTML start tags             <form  <input
//	HTML attribute names        action  name  type
//	HTML values of interest     action=next.php  name=passwd  type=password  src=cdn.example  href=fonts.example
//
// Case: PHP names are lowercased (PHP functions, classes and keywords are
// case-insensitive) except variables, which are case-sensitive and keep
// it; PHP's $ sigil is stripped ($_POST → _POST). JavaScript and generic
// text keep case, and $ is an ordinary JS identifier character ($http).
// HTML tag and attribute names, and words of prose, are lowercased.
// Comments are kept as words, not dropped: kits sign their authors'
// handles there. The 2-byte identifier minimum drops minified one-letter
// names; the 4-byte string minimum drops "", "a", "\n" and the like.
// Escapes in strings are kept as written ("a\n" stays backslash-n), JS
// template literals are one string, ${...} included, and PHP heredoc
// bodies are prose. Regular expression literals are skipped.
//
// HTML values of interest: form action, the name of input, select,
// textarea and button, input type (lowercased), script src (the host when
// absolute, else the path), and the host of an absolute src of img,
// iframe, frame, embed or source and of link href. <script> bodies are
// read as JavaScript and <style> bodies as generic text; <?php blocks are
// read as PHP wherever they appear in markup, embedded scripts included.
//
// # Language
//
// Detected from the first HeadSize bytes: "<?php" or "<?=" → PHP (read
// as HTML with PHP blocks); else Options.MIME, the file's detected MIME
// type, when it names PHP, HTML or XML, or JavaScript or JSON; else
// markup at the start → HTML (XML and SVG too); else two or more
// JavaScript idioms → JS; else generic text ('#' starts a comment there,
// except in text/css). An HTML file with a PHP block further on is
// reported as PHP. A binary MIME type (images, archives, ...) means no
// tokens. So does a head with a NUL byte (UTF-16 included), or with more
// than a tenth of invalid UTF-8 and control bytes; the tenth rather than
// any invalid byte keeps Latin-1 kits (é in ISO-8859-1) readable.
//
// # Caps
//
// At most Options.MaxBytes (DefaultMaxBytes, 8 MiB) are scanned and at
// most Options.MaxTokens (DefaultMaxTokens, 5000) distinct tokens kept,
// the first ones met; Result.Truncated says a cap was reached. Memory is a
// buffer of at most 64 KiB and the token set, whatever the file's size.
// MinHash signatures are only made for files of at most MinHashMaxSize
// (1 MiB) with at least MinShingles shingles.
package tokens

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// Name is the analysis name recorded with each result.
const Name = "tokens"

// Version changes whenever the output for the same bytes could change, so
// that `dewar reanalyze` knows which results to recompute. It covers the
// tokens, the MinHash hash family and the band keys.
const Version = 1

// Defaults and fixed limits.
const (
	DefaultMaxBytes  = 8 << 20 // bytes scanned per file
	DefaultMaxTokens = 5000    // distinct tokens kept per file
	MaxTokenLen      = 64      // longest token body kept verbatim
	HeadSize         = 4096    // bytes language detection looks at
)

// Lang is the language a file was read as.
type Lang string

// Languages. LangNone is binary or empty input: no tokens.
const (
	LangNone Lang = ""
	LangPHP  Lang = "php"
	LangJS   Lang = "js"
	LangHTML Lang = "html"
	LangText Lang = "text"
)

// Options tune one Sink. The zero value takes the defaults.
type Options struct {
	MIME      string // the file's MIME type if known, e.g. from analyzers/mime; a hint
	MaxBytes  int64  // bytes scanned; <= 0 means DefaultMaxBytes
	MaxTokens int    // distinct tokens kept; <= 0 means DefaultMaxTokens
}

// Result is what a Sink found.
type Result struct {
	Lang      Lang
	Tokens    []string  // distinct, sorted
	MinHash   Signature // nil unless the file is in the MinHash window (see MinHashMaxSize)
	Truncated bool      // MaxBytes or MaxTokens was reached
}

const chunkSize = 64 << 10

// Sink tokenizes what is written to it. It is not safe for concurrent use.
type Sink struct {
	opts    Options
	buf     []byte // pending bytes, cap chunkSize
	written int64  // bytes written, scanned or not
	scanned int64  // bytes accepted for scanning
	started bool   // language detected, lexer set up
	dead    bool   // nothing more to scan: binary, or caps reached
	lang    Lang
	lex     lexer
	set     map[string]struct{}
	mh      *minHasher
	trunc   bool
	done    bool
	res     Result
	step    int // tests: run the lexer over at most this many bytes at a time
}

// New returns an empty Sink.
func New(opts Options) *Sink {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.MaxTokens <= 0 {
		opts.MaxTokens = DefaultMaxTokens
	}
	s := &Sink{opts: opts, set: make(map[string]struct{}), mh: newMinHasher()}
	s.lex.out = s.add
	return s
}

// Write never fails. Bytes beyond MaxBytes, or written after Result, are
// ignored.
func (s *Sink) Write(p []byte) (int, error) {
	n := len(p)
	s.written += int64(n)
	if s.written > MinHashMaxSize {
		s.mh = nil
	}
	if s.done || s.dead {
		return n, nil
	}
	if room := s.opts.MaxBytes - s.scanned; int64(len(p)) > room {
		p = p[:room]
		s.trunc = true
	}
	s.scanned += int64(len(p))
	for len(p) > 0 && !s.dead {
		// The buffer grows to chunkSize only for files that big.
		k := min(len(p), chunkSize-len(s.buf))
		s.buf = append(s.buf, p[:k]...)
		p = p[k:]
		if len(s.buf) == chunkSize {
			s.process(false)
		}
	}
	return n, nil
}

// process runs the lexer over the buffer, keeping the few bytes of
// lookahead it could not decide on yet.
func (s *Sink) process(final bool) {
	b := s.buf
	if !s.started {
		s.started = true
		if !s.start(b) {
			s.dead = true
			s.buf = nil
			return
		}
		if len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
			b = b[3:] // UTF-8 byte order mark
		}
	}
	k := 0
	for {
		end := len(b)
		if s.step > 0 {
			end = min(end, k+s.step)
		}
		k += s.lex.run(b[k:end], final && end == len(b))
		if end == len(b) {
			break
		}
	}
	rest := copy(s.buf, b[k:])
	s.buf = s.buf[:rest]
	if len(s.set) >= s.opts.MaxTokens && s.mh == nil {
		// Nothing more can change the result: stop reading.
		s.trunc = true
		s.dead = true
	}
}

// start detects the language from the head and sets the lexer up; false
// means binary.
func (s *Sink) start(head []byte) bool {
	h := head[:min(len(head), HeadSize)]
	if len(h) == 0 || binaryMIME(s.opts.MIME) || isBinary(h) {
		return false
	}
	s.lang = detect(h, s.opts.MIME)
	switch s.lang {
	case LangPHP, LangHTML:
		s.lex.mode, s.lex.st = modeMarkup, stText
	case LangJS:
		s.lex.mode, s.lex.st, s.lex.regexOK = modeJS, stCode, true
	default:
		s.lex.mode, s.lex.st = modeText, stCode
		s.lex.css = baseMIME(s.opts.MIME) == "text/css"
	}
	return true
}

// add takes one token from the lexer.
func (s *Sink) add(t []byte) {
	if s.mh != nil {
		s.mh.push(hashBytes(t))
	}
	if _, ok := s.set[string(t)]; ok {
		return
	}
	if len(s.set) >= s.opts.MaxTokens {
		s.trunc = true
		return
	}
	s.set[string(t)] = struct{}{}
}

// Result returns the tokens of everything written. The first call ends
// the stream; later calls return the same Result.
func (s *Sink) Result() Result {
	if s.done {
		return s.res
	}
	s.done = true
	if !s.dead {
		s.process(true)
		if !s.dead {
			s.lex.finish()
		}
	}
	lang := s.lang
	if lang != LangNone && s.lex.sawPHP {
		lang = LangPHP
	}
	toks := make([]string, 0, len(s.set))
	for t := range s.set {
		toks = append(toks, t)
	}
	slices.Sort(toks)
	s.res = Result{Lang: lang, Tokens: toks, Truncated: s.trunc}
	if s.mh != nil && lang != LangNone && s.written <= MinHashMaxSize && s.mh.shingles >= MinShingles {
		s.res.MinHash = s.mh.signature()
	}
	s.set, s.buf, s.mh = nil, nil, nil
	return s.res
}

// isBinary reports whether a file's head is not text: a NUL, or more than a
// tenth of invalid UTF-8 and control bytes.
func isBinary(h []byte) bool {
	bad := 0
	for i := 0; i < len(h); {
		c := h[i]
		if c == 0 {
			return true
		}
		if c < utf8.RuneSelf {
			if (c < 0x20 && !isSpace(c) && c != 0x1b) || c == 0x7f {
				bad++
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(h[i:])
		if r == utf8.RuneError && n <= 1 {
			if !utf8.FullRune(h[i:]) {
				break // a rune cut by the end of the head
			}
			bad++
			i++
			continue
		}
		i += n
	}
	return bad*10 > len(h)
}

// binaryMIME reports MIME types whose files hold no tokens worth reading.
func binaryMIME(m string) bool {
	m = baseMIME(m)
	switch {
	case m == "image/svg+xml":
		return false
	case strings.HasPrefix(m, "image/"), strings.HasPrefix(m, "audio/"),
		strings.HasPrefix(m, "video/"), strings.HasPrefix(m, "font/"):
		return true
	}
	switch m {
	case "application/zip", "application/gzip", "application/x-gzip", "application/x-7z-compressed",
		"application/vnd.rar", "application/x-rar-compressed", "application/x-tar", "application/x-bzip2",
		"application/x-xz", "application/zstd", "application/pdf", "application/wasm",
		"application/x-executable", "application/x-elf", "application/x-mach-binary",
		"application/vnd.microsoft.portable-executable", "application/x-sharedlib":
		return true
	}
	return false
}

func baseMIME(m string) string {
	if i := strings.IndexByte(m, ';'); i >= 0 {
		m = m[:i]
	}
	return strings.ToLower(strings.TrimSpace(m))
}

// detect guesses the language of a text head; hint is a MIME type.
func detect(h []byte, hint string) Lang {
	lower := strings.ToLower(string(h))
	if strings.Contains(lower, "<?php") || strings.Contains(lower, "<?=") {
		return LangPHP
	}
	switch baseMIME(hint) {
	case "text/x-php", "application/x-php", "application/x-httpd-php", "text/php":
		return LangPHP
	case "text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml":
		return LangHTML
	case "text/javascript", "application/javascript", "application/x-javascript",
		"application/ecmascript", "text/ecmascript", "application/json":
		return LangJS
	}
	if markupStart(lower) {
		return LangHTML
	}
	hits := 0
	for _, sig := range jsIdioms {
		if strings.Contains(lower, sig) {
			hits++
		}
	}
	if hits >= 2 {
		return LangJS
	}
	return LangText
}

// jsIdioms are lowercase fragments typical of JavaScript and rare in prose.
var jsIdioms = []string{
	"function(", "function ", "=>", "var ", "let ", "const ", "document.", "window.",
	"require(", "module.exports", "$(", "jquery", "use strict", "addeventlistener",
	"console.log", "fetch(", ".then(", "json.stringify", "xmlhttprequest", "===",
}

// markupStart reports whether a lowercased head starts, after blanks and a
// byte order mark, with a tag, a doctype or an XML declaration.
func markupStart(l string) bool {
	l = strings.TrimLeft(strings.TrimPrefix(l, "\ufeff"), " \t\r\n\f")
	if !strings.HasPrefix(l, "<") {
		return false
	}
	for _, p := range []string{"<!doctype", "<!--", "<?xml"} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return len(l) > 1 && isAlpha(l[1])
}
