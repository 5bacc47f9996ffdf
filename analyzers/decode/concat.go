package decode

import (
	"bytes"
	"unicode/utf8"
)

// maxLiteral bounds one string literal read forward.
const maxLiteral = 4 << 20

// literal reads the quoted string starting at t[i] (a quote) and returns
// its unescaped content and the index after the closing quote. All quote
// kinds get the full escape set: over-decoding a PHP single-quoted '\x41'
// cannot hide an indicator, under-decoding a JS one could.
func (sc *scanner) literal(i int) ([]byte, int, bool) {
	t := sc.text
	if sc.work <= 0 {
		return nil, 0, false
	}
	q := t[i]
	j := i + 1
	for j < len(t) && j-i < maxLiteral {
		c := t[j]
		if c == '\\' {
			j += 2
			continue
		}
		if c == q {
			if !sc.spend(j - i) {
				return nil, 0, false
			}
			out, _ := unescape(t[i+1:j], make([]byte, 0, j-i))
			return out, j + 1, true
		}
		if c == '\n' && q != '`' && j-i > 4096 {
			break // a stray quote, not a literal
		}
		j++
	}
	sc.spend(j - i)
	return nil, 0, false
}

func skipSpace(t []byte, i int) int {
	for i < len(t) && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r') {
		i++
	}
	return i
}

func skipSpaceBack(t []byte, i int) int {
	for i > 0 && (t[i-1] == ' ' || t[i-1] == '\t' || t[i-1] == '\n' || t[i-1] == '\r') {
		i--
	}
	return i
}

// item reads one operand of a concatenation at t[i]: a string literal,
// chr(N), or String.fromCharCode(N, ...). code is set for the latter two.
func (sc *scanner) item(i int, dst []byte) (out []byte, end int, code, ok bool) {
	t := sc.text
	if i >= len(t) {
		return dst, 0, false, false
	}
	if isQuote(t[i]) {
		s, end, ok := sc.literal(i)
		return append(dst, s...), end, false, ok
	}
	if hasPrefixFold(t[i:], "chr(") {
		v, end, ok := number(t, skipSpace(t, i+4))
		if !ok {
			return dst, 0, false, false
		}
		end = skipSpace(t, end)
		if end >= len(t) || t[end] != ')' {
			return dst, 0, false, false
		}
		return append(dst, byte(v)), end + 1, true, true
	}
	p := i
	if bytes.HasPrefix(t[p:], []byte("String.")) {
		p += len("String.")
	}
	if bytes.HasPrefix(t[p:], []byte("fromCharCode(")) {
		return charCodes(t, p+len("fromCharCode("), dst)
	}
	return dst, 0, false, false
}

// charCodes reads "N, N, ...)" as UTF-16 code units.
func charCodes(t []byte, i int, dst []byte) ([]byte, int, bool, bool) {
	n := 0
	for {
		i = skipSpace(t, i)
		if i < len(t) && t[i] == ')' && n > 0 {
			return dst, i + 1, true, true
		}
		v, end, ok := number(t, i)
		if !ok {
			return dst, 0, false, false
		}
		dst = utf8.AppendRune(dst, rune(v&0xffff))
		n++
		i = skipSpace(t, end)
		if i < len(t) && t[i] == ',' {
			i++
		}
	}
}

// number reads a decimal, 0x hex or 0-prefixed octal integer.
func number(t []byte, i int) (int, int, bool) {
	base, j := 10, i
	if j+1 < len(t) && t[j] == '0' && (t[j+1] == 'x' || t[j+1] == 'X') {
		base, j = 16, j+2
	} else if j+1 < len(t) && t[j] == '0' && t[j+1] >= '0' && t[j+1] <= '7' {
		base, j = 8, j+1
	}
	v, start := 0, j
	for j < len(t) && j-start < 8 {
		c := t[j]
		var d int
		switch {
		case c >= '0' && c <= '9':
			d = int(c - '0')
		case base == 16 && hexChar[c]:
			d = int(unhex(c))
		default:
			d = base
		}
		if d >= base {
			break
		}
		v = v*base + d
		j++
	}
	return v, j, j > start
}

func hasPrefixFold(t []byte, p string) bool {
	return len(t) >= len(p) && bytes.EqualFold(t[:len(p)], []byte(p))
}

// chain reads item (op item)* from t[i], op being '.' (PHP) or '+' (JS).
func (sc *scanner) chain(i int) (out []byte, end, items int, code, ok bool) {
	out, end, code, ok = sc.item(i, nil)
	if !ok {
		return nil, 0, 0, false, false
	}
	items = 1
	for {
		j := skipSpace(sc.text, end)
		if j >= len(sc.text) || (sc.text[j] != '.' && sc.text[j] != '+') {
			return out, end, items, code, true
		}
		next, e, c, ok := sc.item(skipSpace(sc.text, j+1), out)
		if !ok {
			return out, end, items, code, true
		}
		out, end, items, code = next, e, items+1, code || c
	}
}

// concats joins chains of literals and chr() calls. A chain is found at
// its first operator whose left side ends a literal or a call and whose
// right side starts one.
func (sc *scanner) concats() {
	t := sc.text
	for i := 0; i < len(t) && !sc.s.full(); i++ {
		c := t[i]
		if c != '.' && c != '+' {
			continue
		}
		l := skipSpaceBack(t, i)
		r := skipSpace(t, i+1)
		if l == 0 || r >= len(t) || !(isQuote(t[r]) || t[r] == 'c' || t[r] == 'C' || t[r] == 'S' || t[r] == 'f') {
			continue
		}
		if inside(sc.covered, i) {
			continue
		}
		start, ok := sc.itemStart(l, i)
		if !ok {
			continue
		}
		out, end, items, code, ok := sc.chain(start)
		if !ok || end <= i {
			continue
		}
		i = end - 1
		if items < 2 || !printable(out) {
			continue
		}
		label := Concat
		if code {
			label = Charcode
		}
		sc.emit(start, end, out, label)
	}
}

// itemStart finds where the operand ending at t[:l] begins: the opening
// quote of a literal on the same line, or the start of chr( / fromCharCode(.
// floor is the operator, so the look-back stays local.
func (sc *scanner) itemStart(l, floor int) (int, bool) {
	t := sc.text
	last := t[l-1]
	if isQuote(last) {
		for j := l - 2; j >= 0 && l-j < 4096; j-- {
			if !sc.spend(1) {
				return 0, false
			}
			if t[j] == '\n' && last != '`' {
				return 0, false
			}
			if t[j] == last && !escapedAt(t, j) {
				return j, true
			}
		}
		return 0, false
	}
	if last != ')' {
		return 0, false
	}
	j := l - 2
	for j >= 0 && l-j < 1024 && t[j] != '(' {
		j--
	}
	if j < 0 || t[j] != '(' || !sc.spend(l-j) {
		return 0, false
	}
	switch {
	case j >= 3 && bytes.EqualFold(t[j-3:j], []byte("chr")):
		return j - 3, true
	case j >= 12 && bytes.Equal(t[j-12:j], []byte("fromCharCode")):
		if j >= 19 && bytes.Equal(t[j-19:j-12], []byte("String.")) {
			return j - 19, true
		}
		return j - 12, true
	}
	return 0, false
}

// charcodes decodes String.fromCharCode(...) calls standing alone, and
// fromCharCode.apply(null, [...]).
func (sc *scanner) charcodes() {
	t := sc.text
	pat := []byte("fromCharCode")
	for i := 0; i < len(t) && !sc.s.full(); {
		k := bytes.Index(t[i:], pat)
		if k < 0 {
			return
		}
		p := i + k
		i = p + len(pat)
		if inside(sc.covered, p) {
			continue
		}
		args := i
		switch {
		case bytes.HasPrefix(t[i:], []byte("(")):
			args++
		case bytes.HasPrefix(t[i:], []byte(".apply(")):
			b := bytes.IndexByte(t[i:min(len(t), i+64)], '[')
			if b < 0 {
				continue
			}
			args = i + b + 1
		default:
			continue
		}
		out, end, ok := sc.codeList(args)
		if !ok {
			continue
		}
		i = end
		if len(out) >= 3 && printable(out) {
			sc.emit(p, end, out, Charcode)
		}
	}
}

// codeList reads "N, N, ..." up to ')' or ']'.
func (sc *scanner) codeList(i int) ([]byte, int, bool) {
	t := sc.text
	var out []byte
	for n := 0; ; n++ {
		i = skipSpace(t, i)
		if i < len(t) && (t[i] == ')' || t[i] == ']') && n > 0 {
			return out, i + 1, true
		}
		v, end, ok := number(t, i)
		if !ok {
			return nil, 0, false
		}
		out = utf8.AppendRune(out, rune(v&0xffff))
		i = skipSpace(t, end)
		if i < len(t) && t[i] == ',' {
			i++
		}
	}
}
