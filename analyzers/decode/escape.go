package decode

import (
	"bytes"
	"unicode/utf8"
)

// maxSpan bounds how far an escape, entity or percent span reaches.
const maxSpan = 64 << 10

func isQuote(c byte) bool { return c == '"' || c == '\'' || c == '`' }

// escapedAt reports whether t[i] is preceded by an odd number of
// backslashes.
func escapedAt(t []byte, i int) bool {
	n := 0
	for k := i - 1; k >= 0 && t[k] == '\\'; k-- {
		n++
	}
	return n%2 == 1
}

// numericEscape reports whether t[i:] (t[i] == '\\') starts a \xHH, \uHHHH,
// \u{H..} or octal \NNN escape.
func numericEscape(t []byte, i int) bool {
	if i+1 >= len(t) {
		return false
	}
	switch c := t[i+1]; {
	case c == 'x':
		return i+3 < len(t) && hexChar[t[i+2]] && hexChar[t[i+3]]
	case c == 'u':
		if i+2 < len(t) && t[i+2] == '{' {
			return i+3 < len(t) && hexChar[t[i+3]]
		}
		return i+5 < len(t) && allHex(t[i+2:i+6])
	case c >= '0' && c <= '3':
		return i+3 < len(t) && t[i+2] >= '0' && t[i+2] <= '7' && t[i+3] >= '0' && t[i+3] <= '7'
	}
	return false
}

// escapes decodes string literals written with \x41, \u0041 or \101
// escapes. The span runs from the literal's opening quote (when one is on
// the same line) to its closing quote, so "ht\x74p://" decodes whole.
func (sc *scanner) escapes() {
	t := sc.text
	for i := 0; i < len(t) && !sc.s.full(); {
		k := bytes.IndexByte(t[i:], '\\')
		if k < 0 {
			return
		}
		p := i + k
		if !numericEscape(t, p) {
			i = p + 2
			continue
		}
		start, q := p, byte(0)
		for j := p - 1; j >= i && j >= p-4096 && t[j] != '\n'; j-- {
			if isQuote(t[j]) && !escapedAt(t, j) {
				start, q = j+1, t[j]
				break
			}
		}
		end := p
		for end < len(t) && end-p < maxSpan {
			c := t[end]
			if c == '\\' {
				end += 2
				continue
			}
			if c == '\n' || (q != 0 && c == q) || (q == 0 && (isQuote(c) || c == ' ' || c == '\t' || c == '\r')) {
				break
			}
			end++
		}
		end = min(end, len(t))
		i = end
		if inside(sc.covered, p) {
			continue
		}
		out, n := unescape(t[start:end], nil)
		if n >= 2 && printable(out) {
			sc.emit(start, end, out, Escape)
		}
	}
}

// unescape decodes backslash escapes as PHP double-quoted and JS strings
// do, appending to dst. n counts numeric escapes that gave printable ASCII:
// the mark of obfuscation rather than of an accented letter.
func unescape(s, dst []byte) (out []byte, n int) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			dst = append(dst, c)
			continue
		}
		i++
		var r rune = -1
		switch e := s[i]; e {
		case 'n':
			dst = append(dst, '\n')
		case 't':
			dst = append(dst, '\t')
		case 'r':
			dst = append(dst, '\r')
		case 'v':
			dst = append(dst, '\v')
		case 'f':
			dst = append(dst, '\f')
		case 'e':
			dst = append(dst, 0x1b)
		case '\\', '"', '\'', '`', '/', '$':
			dst = append(dst, e)
		case 'x':
			if i+2 < len(s) && hexChar[s[i+1]] && hexChar[s[i+2]] {
				r = rune(unhex(s[i+1])<<4 | unhex(s[i+2]))
				i += 2
				// \xHH is a byte, not a code point.
				dst = append(dst, byte(r))
				if r > 0x20 && r < 0x7f {
					n++
				}
				continue
			}
			dst = append(dst, '\\', e)
		case 'u':
			if i+1 < len(s) && s[i+1] == '{' {
				j := i + 2
				v := rune(0)
				for j < len(s) && hexChar[s[j]] && j-i < 9 {
					v = v<<4 | rune(unhex(s[j]))
					j++
				}
				if j < len(s) && s[j] == '}' && j > i+2 {
					r, i = v, j
					break
				}
			} else if i+4 < len(s) && allHex(s[i+1:i+5]) {
				r = rune(unhex(s[i+1]))<<12 | rune(unhex(s[i+2]))<<8 | rune(unhex(s[i+3]))<<4 | rune(unhex(s[i+4]))
				i += 4
				break
			}
			dst = append(dst, '\\', e)
		default:
			if e >= '0' && e <= '7' {
				v, j := rune(0), i
				for j < len(s) && j < i+3 && s[j] >= '0' && s[j] <= '7' {
					v = v<<3 | rune(s[j]-'0')
					j++
				}
				i = j - 1
				dst = append(dst, byte(v))
				if v > 0x20 && v < 0x7f {
					n++
				}
				continue
			}
			dst = append(dst, '\\', e)
		}
		if r >= 0 {
			if r > 0x20 && r < 0x7f {
				n++
			}
			dst = utf8.AppendRune(dst, r)
		}
	}
	return dst, n
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return 0
}

// tokenChar: what a span of entities or percent escapes may hold.
func tokenChar(c byte) bool {
	return c > ' ' && c != '"' && c != '\'' && c != '`' && c != '<' && c != '>' && c != 0x7f
}

// tokenAround returns the maximal run of tokenChar around p, not reaching
// back before floor.
func tokenAround(t []byte, p, floor int) (int, int) {
	start := p
	for start > floor && p-start < maxSpan && tokenChar(t[start-1]) {
		start--
	}
	end := p
	for end < len(t) && end-p < maxSpan && tokenChar(t[end]) {
		end++
	}
	return start, end
}

// structural: characters nobody escapes without a reason in an address.
func structural(c byte) bool { return c == '@' || c == ':' || c == '/' || c == '.' }

// entities decodes tokens written with numeric HTML entities
// ("&#104;&#116;..." or "x&#64;evil.example").
func (sc *scanner) entities() {
	t := sc.text
	for i := 0; i < len(t) && !sc.s.full(); {
		k := bytes.Index(t[i:], []byte("&#"))
		if k < 0 {
			return
		}
		p := i + k
		start, end := tokenAround(t, p, i)
		i = max(end, p+2)
		if inside(sc.covered, p) {
			continue
		}
		out, n, strong := unentity(t[start:end])
		if (n >= 2 || strong) && printable(out) {
			sc.emit(start, end, out, Entity)
		}
	}
}

var namedEntities = map[string]byte{
	"amp": '&', "lt": '<', "gt": '>', "quot": '"', "apos": '\'', "nbsp": ' ',
	"commat": '@', "period": '.', "colon": ':', "sol": '/', "num": '#', "percnt": '%',
}

// unentity decodes numeric and a few named entities. n counts entities
// that gave printable ASCII; strong is set when one gave @ : / or .
func unentity(s []byte) (out []byte, n int, strong bool) {
	out = make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '&' {
			out = append(out, s[i])
			continue
		}
		j := i + 1
		var r rune = -1
		if j < len(s) && s[j] == '#' {
			j++
			v, digits := rune(0), 0
			if j < len(s) && (s[j] == 'x' || s[j] == 'X') {
				for j++; j < len(s) && hexChar[s[j]] && digits < 7; j++ {
					v, digits = v<<4|rune(unhex(s[j])), digits+1
				}
			} else {
				for ; j < len(s) && s[j] >= '0' && s[j] <= '9' && digits < 8; j++ {
					v, digits = v*10+rune(s[j]-'0'), digits+1
				}
			}
			if digits > 0 && v <= utf8.MaxRune {
				r = v
			}
		} else {
			e := j
			for e < len(s) && e-j < 8 && (s[e] >= 'a' && s[e] <= 'z' || s[e] >= 'A' && s[e] <= 'Z') {
				e++
			}
			if c, ok := namedEntities[string(s[j:e])]; ok && e < len(s) && s[e] == ';' {
				r, j = rune(c), e
				if structural(c) {
					strong = true
				}
			}
		}
		if r < 0 {
			out = append(out, '&')
			continue
		}
		if j < len(s) && s[j] == ';' {
			j++
		}
		if r > 0x20 && r < 0x7f {
			n++
			strong = strong || structural(byte(r))
		}
		out = utf8.AppendRune(out, r)
		i = j - 1
	}
	return out, n, strong
}

// percents decodes URL-encoded tokens that hide something: at least two
// escapes of letters, digits or URL punctuation, or an escaped @. Plain
// %20s in a URL are left to the URL itself.
func (sc *scanner) percents() {
	t := sc.text
	for i := 0; i < len(t) && !sc.s.full(); {
		k := bytes.IndexByte(t[i:], '%')
		if k < 0 {
			return
		}
		p := i + k
		if p+2 >= len(t) || !(hexChar[t[p+1]] && hexChar[t[p+2]] || t[p+1] == 'u' && p+5 < len(t) && allHex(t[p+2:p+6])) {
			i = p + 1
			continue
		}
		start, end := tokenAround(t, p, i)
		i = end
		if inside(sc.covered, p) {
			continue
		}
		out, meaningful, at := unpercent(t[start:end], false)
		if (meaningful >= 2 || at) && printable(out) {
			sc.emit(start, end, out, URL)
		}
	}
}

// unpercent decodes %XX and %uXXXX; plus turns '+' into a space as
// urldecode does. meaningful counts escapes of [A-Za-z0-9:/@.?=&].
func unpercent(s []byte, plus bool) (out []byte, meaningful int, at bool) {
	out = make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+' && plus:
			out = append(out, ' ')
		case c == '%' && i+2 < len(s) && hexChar[s[i+1]] && hexChar[s[i+2]]:
			b := unhex(s[i+1])<<4 | unhex(s[i+2])
			out = append(out, b)
			i += 2
			if b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || bytes.IndexByte([]byte(":/@.?=&"), b) >= 0 {
				meaningful++
			}
			at = at || b == '@'
		case c == '%' && i+5 < len(s) && s[i+1] == 'u' && allHex(s[i+2:i+6]):
			r := rune(unhex(s[i+2]))<<12 | rune(unhex(s[i+3]))<<8 | rune(unhex(s[i+4]))<<4 | rune(unhex(s[i+5]))
			out = utf8.AppendRune(out, r)
			i += 5
			if r < 0x7f && r > 0x20 {
				meaningful++
			}
			at = at || r == '@'
		default:
			out = append(out, c)
		}
	}
	return out, meaningful, at
}

// rot13s decodes literals that start with a rot13'd scheme, "uggc://" or
// "uggcf://", the mark of str_rot13 applied to a URL.
func (sc *scanner) rot13s() {
	t := sc.text
	for i := 0; i < len(t) && !sc.s.full(); {
		k := bytes.Index(t[i:], []byte("uggc"))
		if k < 0 {
			return
		}
		p := i + k
		rest := t[p+4:]
		if !(bytes.HasPrefix(rest, []byte("://")) || bytes.HasPrefix(rest, []byte("f://"))) || p > 0 && isAlpha(t[p-1]) {
			i = p + 4
			continue
		}
		_, end := tokenAround(t, p, p)
		i = end
		if inside(sc.covered, p) {
			continue
		}
		sc.emit(p, end, rot13(t[p:end]), Rot13)
	}
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func rot13(s []byte) []byte {
	out := make([]byte, len(s))
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z':
			c = 'a' + (c-'a'+13)%26
		case c >= 'A' && c <= 'Z':
			c = 'A' + (c-'A'+13)%26
		}
		out[i] = c
	}
	return out
}
