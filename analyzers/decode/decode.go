// Package decode peels the string encodings phishing kits hide their
// indicators behind: base64, hex, backslash escapes, HTML entities,
// URL-encoding, rot13, chr()/fromCharCode chains, string concatenation,
// strrev and the gzinflate/gzuncompress/gzdecode compressions PHP kits wrap
// around base64.
//
// Decode is heuristic and bounded: it looks only at plausible candidates
// (long enough, decoding to mostly printable text or to a further layer),
// peels at most MaxDepth layers, returns at most MaxOutput bytes and
// MaxResults strings, and does work linear in the input plus its output.
// It never evaluates code and never contacts anything.
package decode

import (
	"bytes"
	"hash/maphash"
	"strings"
	"unicode/utf8"
)

// Name names this analysis in records of which analyses ran.
const Name = "decode"

// Version changes whenever Decode can return something different for the
// same bytes, so stored results can be recomputed.
const Version = 1

// Chain labels: one per layer peeled, outermost first.
const (
	Base64   = "base64"   // base64, standard or URL alphabet, padded or not
	Hex      = "hex"      // hex digit runs, hex2bin
	Escape   = "escape"   // \x41, \u0041, \u{41}, \101 in string literals
	Entity   = "html"     // &#65; &#x41; &commat; ...
	URL      = "url"      // %41, %u0041, urldecode and friends
	Rot13    = "rot13"    // str_rot13, or a literal starting "uggc://"
	Charcode = "charcode" // chr(104).chr(116), String.fromCharCode(104,116)
	Concat   = "concat"   // "ht"."tp" (PHP), "ht"+"tp" (JS)
	Reverse  = "reverse"  // strrev
	Deflate  = "deflate"  // gzinflate: raw deflate
	Zlib     = "zlib"     // gzuncompress
	Gzip     = "gzip"     // gzdecode
)

// Defaults for the zero Options.
const (
	DefaultMaxDepth   = 4
	DefaultMaxOutput  = 1 << 20
	DefaultMaxResults = 4096
)

// Options bound the work of one Decode call. Zero fields take the defaults.
type Options struct {
	MaxDepth   int // layers peeled from any one string, counting each label of a chain
	MaxOutput  int // total bytes of decoded text returned
	MaxResults int // number of decoded strings returned
}

func (o Options) withDefaults() Options {
	if o.MaxDepth <= 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	if o.MaxOutput <= 0 {
		o.MaxOutput = DefaultMaxOutput
	}
	if o.MaxResults <= 0 {
		o.MaxResults = DefaultMaxResults
	}
	return o
}

// Decoded is one string recovered from the input.
type Decoded struct {
	Text []byte
	// Chain names the layers peeled to reach Text, outermost first, e.g.
	// ["base64", "hex"].
	Chain []string
	// Offset and Len locate the outermost encoded string in the input:
	// for a nested result, the span of the string it was peeled from.
	Offset, Len int
}

// Decode returns the strings hidden in data, every layer of each: a base64
// string holding hex yields both the hex text (["base64"]) and what the hex
// decodes to (["base64","hex"]). Results are unique by (Chain, Text) and
// come outermost layers first. Text longer than the output left is cut.
func Decode(data []byte, opts Options) []Decoded {
	s := &state{opts: opts.withDefaults(), seed: maphash.MakeSeed(), seen: map[seenKey]struct{}{}}
	s.left = s.opts.MaxOutput
	s.scan(data, nil, 0, 0)
	for i := 0; i < len(s.out) && !s.full(); i++ {
		d := s.out[i]
		if len(d.Chain) < s.opts.MaxDepth {
			s.scan(d.Text, d.Chain, d.Offset, d.Len)
		}
	}
	return s.out
}

type seenKey struct {
	chain string
	text  uint64
}

type state struct {
	opts    Options
	out     []Decoded
	left    int
	seed    maphash.Seed
	seen    map[seenKey]struct{}
	scratch []byte
	inflaters
}

func (s *state) full() bool { return s.left <= 0 || len(s.out) >= s.opts.MaxResults }

// scan runs every decoder over text. parent is the chain that produced
// text (nil for the input itself); off and n its span in the input.
func (s *state) scan(text []byte, parent []string, off, n int) {
	sc := &scanner{s: s, text: text, parent: parent, off: off, n: n, work: 4*len(text) + 1<<16}
	sc.calls()
	sc.concats()
	sc.charcodes()
	sc.runs()
	sc.escapes()
	sc.entities()
	sc.percents()
	sc.rot13s()
}

// scanner is one pass of the decoders over one text.
type scanner struct {
	s       *state
	text    []byte
	parent  []string
	off, n  int
	covered []span // spans consumed by function-call decoding, in order
	work    int    // bytes left for heuristic look-arounds, to stay linear
}

type span struct{ start, end int }

// inside reports whether pos lies in one of spans (sorted, disjoint).
func inside(spans []span, pos int) bool {
	lo, hi := 0, len(spans)
	for lo < hi {
		m := (lo + hi) / 2
		switch {
		case pos < spans[m].start:
			hi = m
		case pos >= spans[m].end:
			lo = m + 1
		default:
			return true
		}
	}
	return false
}

// spend takes n bytes from the look-around budget, false once it is gone.
func (sc *scanner) spend(n int) bool {
	sc.work -= n
	return sc.work >= 0
}

// emit records text decoded from sc.text[start:end] through labels.
func (sc *scanner) emit(start, end int, text []byte, labels ...string) {
	s := sc.s
	if s.full() || len(text) == 0 || len(sc.parent)+len(labels) > s.opts.MaxDepth {
		return
	}
	if len(text) > s.left {
		text = text[:s.left]
	}
	chain := make([]string, 0, len(sc.parent)+len(labels))
	chain = append(append(chain, sc.parent...), labels...)
	k := seenKey{strings.Join(chain, ">"), maphash.Bytes(s.seed, text)}
	if _, dup := s.seen[k]; dup {
		return
	}
	s.seen[k] = struct{}{}
	off, n := sc.off, sc.n
	if sc.parent == nil {
		off, n = start, end-start
	}
	s.out = append(s.out, Decoded{Text: bytes.Clone(text), Chain: chain, Offset: off, Len: n})
	s.left -= len(text)
}

// minText is the shortest decoded string worth returning.
const minText = 4

// printable reports whether b is at least 90% text: printable ASCII,
// tab/CR/LF, or valid UTF-8 beyond ASCII.
func printable(b []byte) bool {
	if len(b) < minText {
		return false
	}
	limit := len(b) / 10
	bad := 0
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 && c != '\n' && c != '\r' && c != '\t') || c == 0x7f {
				bad++
			}
			i++
		} else {
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n <= 1 {
				bad++
			}
			i += n
		}
		if bad > limit {
			return false
		}
	}
	return true
}

// buf returns the shared scratch buffer with room for n bytes. Its
// contents are only valid until the next call.
func (s *state) buf(n int) []byte {
	if cap(s.scratch) < n {
		s.scratch = make([]byte, n)
	}
	return s.scratch[:n]
}
