package ioc

import (
	"bytes"
	"sort"
	"strings"
	"unicode/utf8"
)

// extractor finds indicators in one text: a window of the file or one
// decoded string.
type extractor struct {
	sink *Sink
	t    []byte
	// from, to: report only indicators starting in t[from:to].
	from, to int
	chain    []string
	chainKey string
	fixed    int64     // offset given to every find, or -1: the file offset of t[i]
	fang     []fangMap // refanged text: where its bytes came from
}

// text runs every extractor over t.
func (x *extractor) text(t []byte, from, to int, chain []string, fixed int64) {
	x.chain, x.chainKey, x.fixed, x.fang = chain, strings.Join(chain, ">"), fixed, nil
	if r, m, ok := refang(t); ok {
		// Map the reporting range into the refanged text.
		t, x.fang = r, m
		from, to = x.refangedPos(from), x.refangedPos(to)
	}
	x.t, x.from, x.to = t, from, to
	x.urls()
	x.emails()
	x.names()
	x.colons()
	x.chatIDs()
}

// reports says whether a find starting at t[i] belongs to this window.
func (x *extractor) reports(i int) bool { return i >= x.from && i < x.to }

// emit records an indicator found at t[start:end].
func (x *extractor) emit(typ Type, value, class string, start, end int) {
	if !x.reports(start) {
		return
	}
	k := key{typ, value, x.chainKey}
	if _, dup := x.sink.found[k]; dup {
		return
	}
	off := x.fixed
	if off < 0 {
		off = x.sink.base + int64(x.originalPos(start))
	}
	x.sink.add(k, Indicator{Type: typ, Value: value, Class: class, Offset: off, Context: context(x.t, start, end), Chain: x.chain})
}

// context returns t[start:end] with up to ContextBytes around it, cut at
// rune boundaries, the match itself cut at maxContext, control bytes
// blanked.
func context(t []byte, start, end int) string {
	lo, hi := max(0, start-ContextBytes), min(len(t), end+ContextBytes)
	for lo > 0 && lo < start && !utf8.RuneStart(t[lo]) {
		lo++
	}
	for hi < len(t) && hi > end && !utf8.RuneStart(t[hi]) {
		hi--
	}
	var b []byte
	if end-start > maxContext {
		b = append(append(append(b, t[lo:start+maxContext]...), "..."...), t[end:hi]...)
	} else {
		b = t[lo:hi]
	}
	out := make([]byte, 0, len(b))
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && n <= 1:
			out = append(out, '?')
		case r < 0x20 || r == 0x7f:
			out = append(out, ' ')
		default:
			out = append(out, b[:n]...)
		}
		b = b[n:]
	}
	return string(out)
}

// fangMap records that refanged text from pos on comes from the original
// at pos+delta (until the next entry).
type fangMap struct{ pos, delta int }

func (x *extractor) originalPos(i int) int {
	if x.fang == nil {
		return i
	}
	k := sort.Search(len(x.fang), func(k int) bool { return x.fang[k].pos > i }) - 1
	if k < 0 {
		return i
	}
	return i + x.fang[k].delta
}

func (x *extractor) refangedPos(orig int) int {
	// Entries are few; the inverse is a linear walk.
	pos := orig
	for _, m := range x.fang {
		if m.pos+m.delta > orig {
			break
		}
		pos = orig - m.delta
	}
	return pos
}

// defang patterns and what they stand for. Bracketed dots, ats and colons
// only count between letters or digits, so a regex like "[a-z]+[.]com" or
// "(.)" in code stays as it is.
var fangs = []struct {
	old, new   string
	needAlnums bool
}{
	{"[.]", ".", true}, {"(.)", ".", true}, {"{.}", ".", true},
	{"[dot]", ".", true}, {"(dot)", ".", true}, {"[DOT]", ".", true},
	{"[at]", "@", true}, {"(at)", "@", true}, {"[@]", "@", true},
	{"[:]", ":", false}, {"[://]", "://", false},
	{"hxxp", "http", false}, {"hXXp", "http", false}, {"HXXP", "HTTP", false}, {"fxp://", "ftp://", false},
}

// refang returns t with defanged indicators made whole again, and a map
// back to t's offsets; ok is false when t has nothing to refang.
func refang(t []byte) ([]byte, []fangMap, bool) {
	any := false
	for _, f := range fangs {
		if bytes.Contains(t, []byte(f.old)) {
			any = true
			break
		}
	}
	if !any {
		return nil, nil, false
	}
	out := make([]byte, 0, len(t))
	var m []fangMap
	for i := 0; i < len(t); {
		matched := false
		if c := t[i]; c == '[' || c == '(' || c == '{' || c == 'h' || c == 'H' || c == 'f' {
			for _, f := range fangs {
				if !bytes.HasPrefix(t[i:], []byte(f.old)) {
					continue
				}
				if f.needAlnums && !(i > 0 && alnum(t[i-1]) && i+len(f.old) < len(t) && alnum(t[i+len(f.old)])) {
					continue
				}
				out = append(out, f.new...)
				i += len(f.old)
				m = append(m, fangMap{len(out), i - len(out)})
				matched = true
				break
			}
		}
		if !matched {
			out = append(out, t[i])
			i++
		}
	}
	if len(m) == 0 {
		return nil, nil, false
	}
	return out, m, true
}

func alnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
