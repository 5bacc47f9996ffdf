package tokens

import (
	"bytes"
	"encoding/hex"
	"unicode/utf8"
)

// The lexer is a resumable state machine over a byte stream: run takes a
// buffer and returns how far it got; it stops early only when deciding
// needs a few bytes of lookahead (at most maxLookahead) that the buffer
// does not have yet, and the caller hands those bytes back with the next
// buffer. Everything it is in the middle of lives in the struct, and token
// text is bounded (accumulators keep a prefix and hash the rest), so long
// strings and comments cost no memory.

type mode uint8

const (
	modeMarkup mode = iota // HTML, and PHP files outside <?php ... ?>
	modePHP
	modeJS
	modeText // generic C-like text, and <style> bodies
)

type state uint8

const (
	// code modes
	stCode state = iota
	stIdent
	stNumber
	stString
	stLineComment
	stBlockComment
	stRegex
	stRegexFlags
	stHeredocHead
	stHeredocLine
	stHeredocBody
	// markup
	stText
	stEntity
	stTagName
	stEndTag
	stDecl
	stMarkupComment
	stAttrs
	stAttrName
	stAfterAttrName
	stBeforeValue
	stValue
)

const (
	maxWordLen   = 32  // longest word of prose kept
	maxValueLen  = 256 // HTML attribute value prefix kept (room for a URL's host)
	maxTagLen    = 32  // longest tag or attribute name kept
	maxLookahead = MaxTokenLen + 8
)

// acc accumulates one token: the first max bytes, the full length, and,
// once the text outgrows max, an FNV-1a hash of all of it.
type acc struct {
	b   []byte
	n   int
	h   uint64
	max int
}

func newAcc(max int) acc { return acc{b: make([]byte, 0, max), max: max} }

func (a *acc) reset() { a.b, a.n = a.b[:0], 0 }

func (a *acc) add(c byte) {
	if a.n < a.max {
		a.b = append(a.b, c)
	} else {
		if a.n == a.max {
			a.h = fnvBytes(fnvOffset, a.b)
		}
		a.h = (a.h ^ uint64(c)) * fnvPrime
	}
	a.n++
}

// sum is the FNV-1a hash of everything added.
func (a *acc) sum() uint64 {
	if a.n <= a.max {
		return fnvBytes(fnvOffset, a.b)
	}
	return a.h
}

// phpReturn is where ?> leaves PHP for.
type phpReturn struct {
	mode     mode
	st       state
	embedded bool
	quote    byte
	regexOK  bool
}

type lexer struct {
	mode     mode
	st       state
	embedded bool   // a <script> or <style> body inside markup
	endTag   string // "script" or "style" when embedded
	sawPHP   bool
	css      bool // a stylesheet: '#' starts selectors and colours, not comments
	ret      phpReturn

	tok   acc // identifier, string, number or word being read
	isVar bool
	lower bool // lowercase the identifier being read
	digit bool // the number being read is all digits
	quote byte
	esc   bool
	space bool // a whitespace run is pending inside a string
	// JS: whether a '/' here starts a regular expression (after an
	// operator or keyword) rather than dividing (after a value).
	regexOK bool
	inClass bool // inside [...] of a regular expression

	hdoc  acc // heredoc terminator
	phase int // heredoc head: 0 before the name, 1 in it, 2 after it

	tag, attr, val acc
	valQuote       byte

	scratch []byte
	out     func([]byte)
}

func (l *lexer) init() {
	if l.tok.max == 0 {
		l.tok, l.hdoc = newAcc(MaxTokenLen), newAcc(MaxTokenLen)
		l.tag, l.attr, l.val = newAcc(maxTagLen), newAcc(maxTagLen), newAcc(maxValueLen)
	}
}

// run lexes b and returns how many bytes it consumed; unless final, the
// rest (at most maxLookahead bytes) must be passed again with more input.
func (l *lexer) run(b []byte, final bool) int {
	l.init()
	i := 0
	for i < len(b) {
		m, st := l.mode, l.st
		var n int
		if l.mode == modeMarkup {
			n = l.markup(b, i, final)
		} else {
			n = l.code(b, i, final)
		}
		if n < 0 {
			return i
		}
		if n == i && l.mode == m && l.st == st {
			// A step must consume or change state; never spin on
			// hostile input should one not.
			if strictProgress {
				panic("tokens: lexer made no progress")
			}
			n++
		}
		i = n
	}
	return i
}

// strictProgress makes a lexer step that neither consumes nor changes
// state panic instead of being skipped: tests set it.
var strictProgress = false

// finish emits whatever token the input ended in.
func (l *lexer) finish() {
	l.init()
	l.flush()
	if l.mode == modeMarkup && l.st == stValue {
		l.value()
	}
}

// flush emits the token being read, if any, before a mode switch or at
// the end; string and comment states stay, to continue afterwards.
func (l *lexer) flush() {
	switch l.st {
	case stIdent:
		l.ident()
		l.st = stCode
	case stNumber:
		l.number()
		l.st = stCode
	case stString:
		l.str()
	case stLineComment, stBlockComment, stHeredocBody, stText, stMarkupComment:
		l.word()
	case stRegexFlags:
		l.st = stCode
	case stTagName:
		l.tagName()
		l.st = stAttrs
	case stAttrName:
		l.attrName()
		l.st = stAfterAttrName
	}
	l.tok.reset()
}

// more reports whether b lacks k bytes from i while more input may come:
// the caller must then stop and retry with more.
func more(b []byte, i, k int, final bool) bool { return i+k > len(b) && !final }

// interrupt handles the two things that cut through every state of an
// embedded body or of markup: "<?php" (into PHP) and the body's end tag.
// It returns the next index, 0 for nothing, or -1 for more input.
func (l *lexer) interrupt(b []byte, i int, final bool) int {
	if more(b, i, 9, final) {
		return -1
	}
	rest := b[i:]
	if n := phpOpen(rest); n > 0 {
		l.flush()
		l.ret = phpReturn{mode: l.mode, st: l.st, embedded: l.embedded, quote: l.quote, regexOK: l.regexOK}
		l.mode, l.st, l.embedded, l.sawPHP = modePHP, stCode, false, true
		return i + n
	}
	if l.embedded && len(rest) >= 2+len(l.endTag) && rest[1] == '/' && hasFold(rest[2:], l.endTag) {
		l.flush()
		l.mode, l.st, l.embedded = modeMarkup, stEndTag, false
		return i + 2 + len(l.endTag)
	}
	return 0
}

// phpOpen returns the length of a PHP open tag at the start of b, or 0.
func phpOpen(b []byte) int {
	switch {
	case len(b) < 2 || b[0] != '<' || b[1] != '?':
		return 0
	case hasFold(b[2:], "php"):
		return 5
	case len(b) > 2 && b[2] == '=':
		return 3
	case len(b) > 2 && isSpace(b[2]):
		return 2 // short open tag
	}
	return 0
}

// hasFold reports whether b starts with the lowercase ASCII s, ignoring case.
func hasFold(b []byte, s string) bool {
	if len(b) < len(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if lowerByte(b[i]) != s[i] {
			return false
		}
	}
	return true
}

// code lexes one step of PHP, JS or generic text.
func (l *lexer) code(b []byte, i int, final bool) int {
	c := b[i]
	if c == '<' && l.embedded {
		if n := l.interrupt(b, i, final); n != 0 {
			return n
		}
	}
	if c == '?' && l.mode == modePHP && (l.st == stCode || l.st == stIdent || l.st == stNumber || l.st == stLineComment) {
		if more(b, i, 2, final) {
			return -1
		}
		if i+1 < len(b) && b[i+1] == '>' {
			l.flush()
			r := l.ret
			l.mode, l.st, l.embedded, l.quote, l.regexOK, l.esc = r.mode, r.st, r.embedded, r.quote, r.regexOK, false
			return i + 2
		}
	}
	switch l.st {
	case stCode:
		return l.codeStart(b, i, final)
	case stIdent:
		j := i
		for ; j < len(b) && l.identByte(b[j]); j++ {
			c := b[j]
			if l.lower {
				c = lowerByte(c)
			}
			l.tok.add(c)
		}
		if j == len(b) {
			return j
		}
		l.ident()
		l.st = stCode
		return j
	case stNumber:
		j := i
		for ; j < len(b) && (isAlnum(b[j]) || b[j] == '.'); j++ {
			if !isDigit(b[j]) {
				l.digit = false
			}
			l.tok.add(b[j])
		}
		if j == len(b) {
			return j
		}
		l.number()
		l.st = stCode
		l.regexOK = false
		return j
	case stString:
		return l.string(b, i)
	case stLineComment:
		j := i
		for ; j < len(b); j++ {
			c := b[j]
			if c == '\n' {
				l.word()
				l.st = stCode
				return j + 1
			}
			// Let the checks at the top see "?>" and "</script"; at j == i
			// they have declined this byte.
			if ((c == '?' && l.mode == modePHP) || (c == '<' && l.embedded)) && j > i {
				return j
			}
			l.prose(c)
		}
		return j
	case stBlockComment:
		j := i
		for ; j < len(b); j++ {
			c := b[j]
			if c == '*' {
				if more(b, j, 2, final) {
					if j > i {
						return j
					}
					return -1
				}
				if j+1 < len(b) && b[j+1] == '/' {
					l.word()
					l.st = stCode
					return j + 2
				}
			}
			if c == '<' && l.embedded && j > i {
				return j
			}
			l.prose(c)
		}
		return j
	case stRegex:
		j := i
		for ; j < len(b); j++ {
			c := b[j]
			switch {
			case c == '<' && l.embedded && j > i:
				return j
			case l.esc:
				l.esc = false
			case c == '\\':
				l.esc = true
			case c == '\n':
				l.st = stCode
				return j + 1
			case c == '[':
				l.inClass = true
			case c == ']':
				l.inClass = false
			case c == '/' && !l.inClass:
				l.st = stRegexFlags
				return j + 1
			}
		}
		return j
	case stRegexFlags:
		j := i
		for j < len(b) && isAlpha(b[j]) {
			j++
		}
		if j < len(b) {
			l.st = stCode
			l.regexOK = false
		}
		return j
	case stHeredocHead:
		return l.heredocHead(b, i)
	case stHeredocLine:
		j := i
		for j < len(b) && (b[j] == ' ' || b[j] == '\t') {
			j++
		}
		if j > i {
			l.word()
			return j
		}
		k := len(l.hdoc.b)
		if more(b, j, k+1, final) {
			return -1
		}
		if bytes.HasPrefix(b[j:], l.hdoc.b) && (j+k == len(b) || !isIdentByte(b[j+k])) {
			l.word()
			l.st = stCode
			l.regexOK = false
			return j + k
		}
		l.st = stHeredocBody
		return j
	case stHeredocBody:
		j := i
		for ; j < len(b); j++ {
			if b[j] == '\n' {
				l.word()
				l.st = stHeredocLine
				return j + 1
			}
			l.prose(b[j])
		}
		return j
	}
	// A markup state in a code mode cannot happen; recover rather than spin.
	l.st = stCode
	return i + 1
}

// codeStart lexes one step in between tokens.
func (l *lexer) codeStart(b []byte, i int, final bool) int {
	c := b[i]
	switch {
	case isSpace(c):
		j := i + 1
		for j < len(b) && isSpace(b[j]) {
			j++
		}
		return j
	case c == '$' && l.mode == modePHP:
		if more(b, i, 2, final) {
			return -1
		}
		if i+1 < len(b) && isIdentStart(b[i+1]) {
			l.startIdent(true)
		}
		return i + 1
	case isIdentStart(c) || (c == '$' && l.mode == modeJS):
		l.startIdent(false)
		return i
	case isDigit(c):
		l.tok.reset()
		l.digit = true
		l.st = stNumber
		return i
	case c == '"' || c == '\'' || (c == '`' && l.mode != modeText):
		l.tok.reset()
		l.quote, l.esc, l.space = c, false, false
		l.st = stString
		return i + 1
	case c == '/':
		if more(b, i, 2, final) {
			return -1
		}
		if i+1 < len(b) && (b[i+1] == '/' || b[i+1] == '*') {
			l.tok.reset()
			l.st = stLineComment
			if b[i+1] == '*' {
				l.st = stBlockComment
			}
			return i + 2
		}
		if l.mode == modeJS && l.regexOK {
			l.st, l.esc, l.inClass = stRegex, false, false
			return i + 1
		}
		l.regexOK = true
		return i + 1
	case c == '#' && (l.mode == modePHP || (l.mode == modeText && !l.embedded && !l.css)):
		l.tok.reset()
		l.st = stLineComment
		return i + 1
	case c == '<' && l.mode == modePHP:
		if more(b, i, 3, final) {
			return -1
		}
		if bytes.HasPrefix(b[i:], []byte("<<<")) {
			l.hdoc.reset()
			l.phase = 0
			l.st = stHeredocHead
			return i + 3
		}
	}
	l.regexOK = c != ')' && c != ']'
	return i + 1
}

func (l *lexer) startIdent(isVar bool) {
	l.tok.reset()
	l.isVar = isVar
	l.lower = l.mode == modePHP && !isVar
	l.st = stIdent
}

// identByte reports whether c continues an identifier in the current mode.
func (l *lexer) identByte(c byte) bool {
	return isIdentByte(c) || (c == '$' && l.mode == modeJS)
}

// string lexes string contents, collapsing whitespace runs.
func (l *lexer) string(b []byte, i int) int {
	j := i
	for ; j < len(b); j++ {
		c := b[j]
		if c == '<' && l.embedded && j > i {
			return j
		}
		if l.esc {
			l.esc = false
			l.strByte(c)
			continue
		}
		switch {
		case c == l.quote:
			l.str()
			l.st = stCode
			l.regexOK = false
			return j + 1
		case c == '\\':
			l.esc = true
		case c == '\n' && l.mode != modePHP && l.quote != '`':
			l.str() // unterminated: JS and C strings end at the line
			l.st = stCode
			return j + 1
		}
		l.strByte(c)
	}
	return j
}

func (l *lexer) strByte(c byte) {
	if isSpace(c) {
		l.space = l.tok.n > 0
		return
	}
	if l.space {
		l.tok.add(' ')
		l.space = false
	}
	l.tok.add(c)
}

// heredocHead reads "<<<" [spaces] ["|'] NAME ["|'] to the end of the line.
func (l *lexer) heredocHead(b []byte, i int) int {
	j := i
	for ; j < len(b); j++ {
		c := b[j]
		switch l.phase {
		case 0:
			switch {
			case c == ' ' || c == '\t' || c == '"' || c == '\'':
				continue
			case isIdentStart(c):
				l.phase = 1
				l.hdoc.add(c)
				continue
			}
			l.st = stCode // not a heredoc after all
			return j
		case 1:
			if isIdentByte(c) {
				l.hdoc.add(c)
				continue
			}
			l.phase = 2
			fallthrough
		case 2:
			if c == '\n' {
				if l.hdoc.n > l.hdoc.max {
					l.st = stCode // an absurd terminator: give up on it
					return j + 1
				}
				l.tok.reset()
				l.st = stHeredocLine
				return j + 1
			}
		}
	}
	return j
}

// prose feeds one byte of comment, text or heredoc to the word being read.
func (l *lexer) prose(c byte) {
	if isIdentByte(c) {
		l.tok.add(lowerByte(c))
		return
	}
	if l.tok.n > 0 {
		l.word()
	}
}

// emit hands a token to the sink.
func (l *lexer) emit(prefix string, body []byte) {
	l.scratch = append(append(l.scratch[:0], prefix...), body...)
	l.out(l.scratch)
}

// emitHash emits prefix + "#" + the hex of h.
func (l *lexer) emitHash(prefix string, h uint64) {
	var x [8]byte
	for k := range x {
		x[k] = byte(h >> (56 - 8*k))
	}
	l.scratch = append(append(l.scratch[:0], prefix...), '#')
	l.scratch = hex.AppendEncode(l.scratch, x[:])
	l.out(l.scratch)
}

func (l *lexer) ident() {
	t := &l.tok
	defer t.reset()
	switch {
	case t.n < 2:
	case t.n > t.max:
		l.emitHash("", t.sum())
	case utf8.Valid(t.b):
		l.emit("", t.b)
	}
	if l.mode == modeJS {
		l.regexOK = t.n <= t.max && regexKeywords[string(t.b)]
	}
}

// regexKeywords are the JS keywords after which '/' starts a regular
// expression.
var regexKeywords = map[string]bool{
	"return": true, "typeof": true, "case": true, "in": true, "of": true, "instanceof": true,
	"new": true, "delete": true, "void": true, "throw": true, "else": true, "do": true, "yield": true, "await": true,
}

func (l *lexer) number() {
	t := &l.tok
	if l.digit && t.n >= 6 && t.n <= 20 {
		l.emit("", t.b)
	}
	t.reset()
}

func (l *lexer) str() {
	t := &l.tok
	defer t.reset()
	l.space = false
	switch {
	case t.n < 4:
	case t.n > t.max:
		l.emitHash(`"`, t.sum())
	case !printable(t.b):
		l.emitHash(`"`, t.sum())
	default:
		l.emit(`"`, t.b)
	}
}

// word emits the word of prose being read: 3..32 bytes, all-digit ones
// only from 6 digits, lowercase.
func (l *lexer) word() {
	t := &l.tok
	defer t.reset()
	if t.n < 3 || t.n > maxWordLen || !utf8.Valid(t.b) {
		return
	}
	digits := true
	ascii := true
	for _, c := range t.b {
		digits = digits && isDigit(c)
		ascii = ascii && c < utf8.RuneSelf
	}
	if digits && t.n < 6 {
		return
	}
	if !ascii {
		l.emit("", bytes.ToLower(t.b))
		return
	}
	l.emit("", t.b)
}

// printable reports valid UTF-8 without control characters.
func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return utf8.Valid(b)
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}
func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isAlnum(c byte) bool { return isAlpha(c) || isDigit(c) || c == '_' }

// isIdentStart: letters, '_' and any non-ASCII byte (Unicode identifiers;
// invalid UTF-8 is dropped when the token is emitted).
func isIdentStart(c byte) bool { return isAlpha(c) || c == '_' || c >= utf8.RuneSelf }
func isIdentByte(c byte) bool  { return isIdentStart(c) || isDigit(c) }

func lowerByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvBytes(h uint64, b []byte) uint64 {
	for _, c := range b {
		h = (h ^ uint64(c)) * fnvPrime
	}
	return h
}
