package tokens

import (
	"bytes"
)

// markup lexes one step of HTML (or XML), and of PHP files outside their
// <?php ... ?> blocks. It is no validating parser: it finds start tags,
// attributes and text the way a browser would on sane input, and on
// broken input it stays bounded and moves on.
func (l *lexer) markup(b []byte, i int, final bool) int {
	c := b[i]
	if c == '<' {
		// PHP runs wherever its tag appears: text, attribute values, comments.
		if n := l.interrupt(b, i, final); n != 0 {
			return n
		}
	}
	switch l.st {
	case stText:
		j := i
		for ; j < len(b) && b[j] != '<' && b[j] != '&'; j++ {
			l.prose(b[j])
		}
		if j > i || j == len(b) {
			return j
		}
		if c == '&' {
			l.word()
			l.st = stEntity
			return i + 1
		}
		if more(b, i, 4, final) {
			return -1
		}
		l.word()
		rest := b[i:]
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			l.st = stMarkupComment
			return i + 4
		case len(rest) > 1 && rest[1] == '/':
			l.st = stEndTag
			return i + 2
		case len(rest) > 1 && (rest[1] == '!' || rest[1] == '?'):
			l.st = stDecl
			return i + 2
		case len(rest) > 1 && isAlpha(rest[1]):
			l.tag.reset()
			l.st = stTagName
			return i + 1
		}
		return i + 1
	case stEntity:
		j := i
		for j < len(b) && (isAlnum(b[j]) || b[j] == '#') {
			j++
		}
		if j == len(b) {
			return j
		}
		l.st = stText
		if b[j] == ';' {
			return j + 1
		}
		return j
	case stMarkupComment:
		j := i
		for ; j < len(b); j++ {
			c := b[j]
			if c == '<' && j > i {
				return j
			}
			if c == '-' {
				if more(b, j, 3, final) {
					if j > i {
						return j
					}
					return -1
				}
				if bytes.HasPrefix(b[j:], []byte("-->")) {
					l.word()
					l.st = stText
					return j + 3
				}
			}
			l.prose(c)
		}
		return j
	case stEndTag, stDecl:
		j := i
		for ; j < len(b); j++ {
			if b[j] == '>' {
				l.st = stText
				return j + 1
			}
			if b[j] == '<' && j > i {
				return j
			}
		}
		return j
	case stTagName:
		j := i
		for ; j < len(b) && (isAlnum(b[j]) || b[j] == '-' || b[j] == ':' || b[j] == '.'); j++ {
			l.tag.add(lowerByte(b[j]))
		}
		if j == len(b) {
			return j
		}
		l.tagName()
		l.st = stAttrs
		return j
	case stAttrs:
		switch {
		case c == '>':
			return l.endStartTag(i + 1)
		case isSpace(c) || c == '/' || c == '"' || c == '\'' || c == '=' || c == '<':
			return i + 1
		}
		l.attr.reset()
		l.st = stAttrName
		return i
	case stAttrName:
		j := i
		for ; j < len(b) && !attrEnd(b[j]); j++ {
			l.attr.add(lowerByte(b[j]))
		}
		if j == len(b) {
			return j
		}
		l.attrName()
		l.st = stAfterAttrName
		return j
	case stAfterAttrName:
		switch {
		case isSpace(c):
			return i + 1
		case c == '=':
			l.st = stBeforeValue
			return i + 1
		}
		l.st = stAttrs
		return i
	case stBeforeValue:
		switch {
		case isSpace(c):
			return i + 1
		case c == '>':
			return l.endStartTag(i + 1)
		}
		l.val.reset()
		l.st = stValue
		if c == '"' || c == '\'' {
			l.valQuote = c
			return i + 1
		}
		l.valQuote = 0
		return i
	case stValue:
		j := i
		for ; j < len(b); j++ {
			c := b[j]
			if c == '<' && j > i {
				return j
			}
			if l.valQuote != 0 && c == l.valQuote {
				l.value()
				l.st = stAttrs
				return j + 1
			}
			if l.valQuote == 0 && (isSpace(c) || c == '>') {
				l.value()
				l.st = stAttrs
				return j
			}
			l.val.add(c)
		}
		return j
	}
	// A code state in markup mode cannot happen; recover rather than spin.
	l.st = stText
	return i + 1
}

func attrEnd(c byte) bool {
	return isSpace(c) || c == '=' || c == '>' || c == '/' || c == '<' || c == '"' || c == '\''
}

// endStartTag leaves a start tag: <script> and <style> bodies are code.
func (l *lexer) endStartTag(next int) int {
	switch string(l.tag.b) {
	case "script":
		l.mode, l.st, l.embedded, l.endTag, l.regexOK = modeJS, stCode, true, "script", true
	case "style":
		l.mode, l.st, l.embedded, l.endTag = modeText, stCode, true, "style"
	default:
		l.st = stText
	}
	return next
}

func (l *lexer) tagName() {
	if t := &l.tag; t.n > 0 && t.n <= t.max {
		l.emit("<", t.b)
	}
}

func (l *lexer) attrName() {
	if t := &l.attr; t.n > 0 && t.n <= t.max && printable(t.b) {
		l.emit("", t.b)
	}
}

// value emits the token of an attribute value of interest.
func (l *lexer) value() {
	v := bytes.TrimSpace(l.val.b)
	cut := l.val.n > l.val.max
	tag := string(l.tag.b) // compared only: no allocation
	switch string(l.attr.b) {
	case "action":
		if tag == "form" {
			l.keyValue("action=", v, cut)
		}
	case "name":
		switch tag {
		case "input", "select", "textarea", "button":
			l.keyValue("name=", v, cut)
		}
	case "type":
		if tag == "input" {
			l.keyValue("type=", bytes.ToLower(v), cut)
		}
	case "src":
		switch tag {
		case "script":
			if h, ok := host(v, cut); ok {
				l.keyValue("src=", h, false)
			} else if !isAbsolute(v) {
				l.keyValue("src=", v, cut)
			}
		case "img", "iframe", "frame", "embed", "source":
			if h, ok := host(v, cut); ok {
				l.keyValue("src=", h, false)
			}
		}
	case "href":
		if tag == "link" {
			if h, ok := host(v, cut); ok {
				l.keyValue("href=", h, false)
			}
		}
	}
}

// keyValue emits prefix+v, or prefix+"#"+hash when v is long, cut or
// unprintable.
func (l *lexer) keyValue(prefix string, v []byte, cut bool) {
	switch {
	case len(v) == 0 && !cut:
	case cut:
		l.emitHash(prefix, l.val.sum())
	case len(v) > MaxTokenLen || !printable(v):
		l.emitHash(prefix, fnvBytes(fnvOffset, v))
	default:
		l.emit(prefix, v)
	}
}

func isAbsolute(v []byte) bool {
	return hasFold(v, "http:") || hasFold(v, "https:") || bytes.HasPrefix(v, []byte("//")) || hasFold(v, "data:")
}

// host returns the lowercase host of an absolute http(s) or
// scheme-relative URL, without user info or port.
func host(v []byte, cut bool) ([]byte, bool) {
	switch {
	case hasFold(v, "https://"):
		v = v[8:]
	case hasFold(v, "http://"):
		v = v[7:]
	case bytes.HasPrefix(v, []byte("//")):
		v = v[2:]
	default:
		return nil, false
	}
	end := bytes.IndexAny(v, "/?#\\")
	if end < 0 {
		if cut {
			return nil, false // the host may go on past what was kept
		}
		end = len(v)
	}
	h := v[:end]
	if at := bytes.LastIndexByte(h, '@'); at >= 0 {
		h = h[at+1:]
	}
	if c := bytes.LastIndexByte(h, ':'); c >= 0 && !bytes.Contains(h[c:], []byte("]")) {
		h = h[:c]
	}
	if len(h) == 0 {
		return nil, false
	}
	return bytes.ToLower(h), true
}
