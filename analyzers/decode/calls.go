package decode

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
)

// transform is what a decoding function does to its string argument.
type transform struct {
	label string
	apply func(sc *scanner, in []byte) ([]byte, bool)
}

// calls maps PHP and JS decoding functions (lowercased) to what they do.
var calls = map[string]transform{
	"base64_decode":           {Base64, decodeBase64},
	"atob":                    {Base64, decodeBase64},
	"hex2bin":                 {Hex, decodeHex},
	"str_rot13":               {Rot13, func(_ *scanner, in []byte) ([]byte, bool) { return rot13(in), true }},
	"strrev":                  {Reverse, reverse},
	"urldecode":               {URL, func(_ *scanner, in []byte) ([]byte, bool) { out, _, _ := unpercent(in, true); return out, true }},
	"rawurldecode":            {URL, decodePercent},
	"decodeuricomponent":      {URL, decodePercent},
	"decodeuri":               {URL, decodePercent},
	"unescape":                {URL, decodePercent},
	"html_entity_decode":      {Entity, decodeEntities},
	"htmlspecialchars_decode": {Entity, decodeEntities},
	"gzinflate":               {Deflate, (*scanner).unflate},
	"gzuncompress":            {Zlib, (*scanner).unzlib},
	"gzdecode":                {Gzip, (*scanner).gunzip},
}

func decodeBase64(sc *scanner, in []byte) ([]byte, bool) {
	body := make([]byte, 0, len(in))
	url := false
	for _, c := range in {
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '=':
		case !b64Char[c]:
			return nil, false
		default:
			url = url || c == '-' || c == '_'
			body = append(body, c)
		}
	}
	enc := base64.RawStdEncoding
	if url {
		enc = base64.RawURLEncoding
	}
	out, ok := sc.b64(enc, body)
	return bytes.Clone(out), ok
}

func decodeHex(sc *scanner, in []byte) ([]byte, bool) {
	in = bytes.TrimSpace(in)
	if len(in) < 2 || !allHex(in) {
		return nil, false
	}
	in = in[:min(len(in), 2*sc.s.left)&^1]
	out := make([]byte, len(in)/2)
	_, err := hex.Decode(out, in)
	return out, err == nil
}

func decodePercent(_ *scanner, in []byte) ([]byte, bool) {
	out, _, _ := unpercent(in, false)
	return out, true
}

func decodeEntities(_ *scanner, in []byte) ([]byte, bool) {
	out, _, _ := unentity(in)
	return out, true
}

func reverse(_ *scanner, in []byte) ([]byte, bool) {
	out := make([]byte, len(in))
	for i, c := range in {
		out[len(in)-1-i] = c
	}
	return out, true
}

func identChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// identBefore returns the identifier ending just before t[p] (spaces
// skipped) and where it starts.
func identBefore(t []byte, p int) (string, int) {
	i := skipSpaceBack(t, p)
	j := i
	for j > 0 && i-j < 40 && identChar(t[j-1]) {
		j--
	}
	return string(bytes.ToLower(t[j:i])), j
}

// calls decodes string literals passed to decoding functions, applying
// the nest of them from the inside out, as PHP would run
// eval(gzinflate(str_rot13(base64_decode("...")))). Only the deepest
// layer that is text is kept; the literal is then off limits to the
// generic decoders, which would only find the same thing less well.
func (sc *scanner) calls() {
	t := sc.text
	for i := 0; i < len(t) && !sc.s.full(); {
		k := bytes.IndexByte(t[i:], '(')
		if k < 0 {
			return
		}
		p := i + k
		i = p + 1
		r := skipSpace(t, p+1)
		if r >= len(t) || !isQuote(t[r]) {
			continue
		}
		name, at := identBefore(t, p)
		var fns []transform
		if tf, ok := calls[name]; ok {
			fns = append(fns, tf)
		} else if name != "from" || !bytes.HasSuffix(t[:at], []byte("Buffer.")) {
			continue
		}
		arg, end, _, _, ok := sc.chain(r)
		if !ok {
			continue
		}
		close := skipSpace(t, end)
		if fns == nil { // Buffer.from("...", "base64"|"hex")
			if close >= len(t) || t[close] != ',' {
				continue
			}
			q := skipSpace(t, close+1)
			if q >= len(t) || !isQuote(t[q]) {
				continue
			}
			enc, _, ok := sc.literal(q)
			switch {
			case !ok:
				continue
			case string(enc) == "base64":
				fns = append(fns, calls["base64_decode"])
			case string(enc) == "hex":
				fns = append(fns, calls["hex2bin"])
			default:
				continue
			}
		}
		// Outer calls: gzinflate( str_rot13( ... ; "@" is PHP's silencer.
		for pos := at; ; {
			b := skipSpaceBack(t, pos)
			for b > 0 && t[b-1] == '@' {
				b = skipSpaceBack(t, b-1)
			}
			if b == 0 || t[b-1] != '(' {
				break
			}
			outer, start := identBefore(t, b-1)
			tf, ok := calls[outer]
			if !ok {
				break
			}
			fns, pos = append(fns, tf), start
		}
		sc.covered = append(sc.covered, span{r, end})
		i = end
		sc.applyCalls(r, end, arg, fns)
	}
}

func (sc *scanner) applyCalls(start, end int, arg []byte, fns []transform) {
	var (
		best   []byte
		labels []string
		n      int
	)
	cur := arg
	for i, tf := range fns {
		out, ok := tf.apply(sc, cur)
		if !ok || len(out) == 0 {
			break
		}
		cur = out
		if printable(cur) {
			best, n = cur, i+1
		}
	}
	if best == nil {
		return
	}
	for _, tf := range fns[:n] {
		labels = append(labels, tf.label)
	}
	sc.emit(start, end, best, labels...)
}
