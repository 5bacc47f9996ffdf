package decode

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
)

// minRun is the shortest base64 or hex run tried: 12 decoded bytes of
// base64, 8 of hex, about the shortest URL or address worth hiding.
const minRun = 16

// mimeLine is the shortest line length after which a base64 run may go on
// on the next line (MIME bodies wrap at 76, PEM at 64).
const mimeLine = 60

var (
	b64Char [256]bool // union of the standard and URL alphabets
	hexChar [256]bool
)

func init() {
	for c := 0; c < 256; c++ {
		b := byte(c)
		alnum := b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9'
		b64Char[c] = alnum || b == '+' || b == '/' || b == '-' || b == '_'
		hexChar[c] = b >= '0' && b <= '9' || b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F'
	}
}

// runs finds maximal runs of base64 characters (which include hex digits)
// and decodes the plausible ones.
func (sc *scanner) runs() {
	t := sc.text
	for i := 0; i < len(t) && !sc.s.full(); {
		if !b64Char[t[i]] {
			i++
			continue
		}
		start, j, lineStart, multi := i, i, i, false
		for j < len(t) {
			c := t[j]
			if b64Char[c] {
				j++
				continue
			}
			// A MIME or PEM body wraps: go on across a line break when
			// the line so far was long, a multiple of 4, and more follows.
			if c == '\r' || c == '\n' {
				k := j + 1
				if c == '\r' && k < len(t) && t[k] == '\n' {
					k++
				}
				if l := j - lineStart; l >= mimeLine && l%4 == 0 && k < len(t) && b64Char[t[k]] {
					j, lineStart, multi = k, k, true
					continue
				}
			}
			break
		}
		end := j
		for end < len(t) && end-j < 2 && t[end] == '=' {
			end++
		}
		i = end
		if j-start < minRun || inside(sc.covered, start) {
			continue
		}
		body := t[start:j]
		if multi {
			body = stripBreaks(body)
		}
		sc.run(start, end, body)
	}
}

func stripBreaks(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c != '\r' && c != '\n' {
			out = append(out, c)
		}
	}
	return out
}

// run tries one run: hex first, then base64 in the alphabet its
// characters allow, then, when it looks like a path of segments, each
// long segment on its own.
func (sc *scanner) run(start, end int, body []byte) {
	if sc.dataURISkipped(start) {
		return
	}
	if h := body; len(h) >= minRun {
		if len(h) > 2 && h[0] == '0' && (h[1] == 'x' || h[1] == 'X') {
			h = h[2:]
		}
		if allHex(h) {
			if out, ok := sc.hexText(h); ok {
				sc.emit(start, end, out, Hex)
			}
			return
		}
	}
	if !mixedCase(body) {
		return
	}
	if sc.base64Run(start, end, body) {
		return
	}
	// A URL path or file path: "/r/aHR0cHM6Ly9ldmlsLmV4YW1wbGUv/x".
	if bytes.IndexByte(body, '/') < 0 {
		return
	}
	for off := 0; off < len(body); {
		k := bytes.IndexByte(body[off:], '/')
		if k < 0 {
			k = len(body) - off
		}
		if seg := body[off : off+k]; len(seg) >= minRun && mixedCase(seg) {
			sc.base64Run(start+off, start+off+k, seg)
		}
		off += k + 1
	}
}

func allHex(b []byte) bool {
	for _, c := range b {
		if !hexChar[c] {
			return false
		}
	}
	return true
}

// mixedCase: real base64 of anything longer than minRun almost always has
// both cases; identifiers and words often do not.
func mixedCase(b []byte) bool {
	var up, low bool
	for _, c := range b {
		up = up || c >= 'A' && c <= 'Z'
		low = low || c >= 'a' && c <= 'z'
		if up && low {
			return true
		}
	}
	return false
}

func (sc *scanner) hexText(h []byte) ([]byte, bool) {
	if len(h)%2 == 1 {
		h = h[:len(h)-1]
	}
	if n := 2 * sc.s.left; len(h) > n {
		h = h[:n&^1]
	}
	out := sc.s.buf(len(h) / 2)
	if _, err := hex.Decode(out, h); err != nil {
		return nil, false
	}
	return out, printable(out)
}

// base64Run decodes body and emits it when it is text or compressed text.
func (sc *scanner) base64Run(start, end int, body []byte) bool {
	std := bytes.ContainsAny(body, "+/")
	url := bytes.ContainsAny(body, "-_")
	if std && url {
		return false
	}
	enc := base64.RawStdEncoding
	if url {
		enc = base64.RawURLEncoding
	}
	out, ok := sc.b64(enc, body)
	if !ok {
		return false
	}
	if printable(out) {
		sc.emit(start, end, out, Base64)
		return true
	}
	if text, label, ok := sc.inflate(out); ok {
		sc.emit(start, end, text, Base64, label)
		return true
	}
	return false
}

// b64 decodes at most what the output budget can take, into scratch.
func (sc *scanner) b64(enc *base64.Encoding, body []byte) ([]byte, bool) {
	body = bytes.TrimRight(body, "=")
	if max := (sc.s.left + 2) / 3 * 4; len(body) > max {
		body = body[:max]
	}
	if len(body)%4 == 1 {
		body = body[:len(body)-1]
	}
	out := sc.s.buf(enc.DecodedLen(len(body)))
	n, err := enc.Decode(out, body)
	if err != nil || n == 0 {
		return nil, false
	}
	return out[:n], true
}

// inflate tries the compressions PHP wraps around payloads: zlib and gzip
// by their headers, else raw deflate. It keeps its result only when it is
// text.
func (sc *scanner) inflate(b []byte) ([]byte, string, bool) {
	if len(b) < 8 {
		return nil, "", false
	}
	var (
		out   []byte
		ok    bool
		label string
	)
	switch {
	case b[0] == 0x1f && b[1] == 0x8b:
		out, ok = sc.gunzip(b)
		label = Gzip
	case b[0]&0x0f == 8 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0:
		out, ok = sc.unzlib(b)
		label = Zlib
	default:
		out, ok = sc.unflate(b)
		label = Deflate
	}
	if !ok || !printable(out) {
		return nil, "", false
	}
	return out, label, true
}

// dataURISkipped reports whether the run at start is the body of a data:
// URI of a raster image, font, audio or video: binary by design, and large.
// SVG and HTML data URIs are decoded: phishing smuggles pages in them.
func (sc *scanner) dataURISkipped(start int) bool {
	t := sc.text
	if start < len(";base64,") || !bytes.EqualFold(t[start-len(";base64,"):start], []byte(";base64,")) {
		return false
	}
	lo := max(0, start-128)
	k := bytes.LastIndex(bytes.ToLower(t[lo:start]), []byte("data:"))
	if k < 0 {
		return false
	}
	mt := bytes.ToLower(t[lo+k+len("data:") : start])
	switch {
	case bytes.HasPrefix(mt, []byte("image/svg")):
		return false
	case bytes.HasPrefix(mt, []byte("image/")), bytes.HasPrefix(mt, []byte("font/")),
		bytes.HasPrefix(mt, []byte("audio/")), bytes.HasPrefix(mt, []byte("video/")),
		bytes.Contains(mt, []byte("font")):
		return true
	}
	return false
}
