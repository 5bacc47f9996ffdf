package filestore

import (
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
)

// textReader streams n bytes of deterministic text shaped like a phishing
// kit's sources: PHP, JS, HTML and CSS with varied identifiers, numbers,
// addresses and the odd base64 payload, so it compresses about as well as
// real kit code does. Same seed, same bytes.
func textReader(seed uint64, n int64) io.Reader {
	return io.LimitReader(&textGen{r: rand.New(rand.NewPCG(seed, 0x7e47))}, n)
}

// textBytes is textReader for blobs small enough to hold.
func textBytes(seed uint64, n int) []byte {
	b, _ := io.ReadAll(textReader(seed, int64(n)))
	return b
}

type textGen struct {
	r       *rand.Rand
	scratch []byte
	pending []byte // the rest of the last snippet
}

func (g *textGen) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(g.pending) == 0 {
			g.scratch = g.snippet(g.scratch[:0])
			g.pending = g.scratch
		}
		m := copy(p[n:], g.pending)
		g.pending = g.pending[m:]
		n += m
	}
	return n, nil
}

var genWords = strings.Fields(`account login password verify secure update billing card
	session token user email address bank confirm submit form input value
	redirect header location cookie panel admin config mailer send result
	telegram chat bot api key ajax request response data json array string
	index page frame style script class container wrapper button label field
	error message success loading validate check country phone zip city state
	apple paypal office outlook microsoft netflix amazon wells chase`)

func (g *textGen) word() string { return genWords[g.r.IntN(len(genWords))] }

// ident appends an identifier like "billing_card" or "token_session42".
func (g *textGen) ident(b []byte) []byte {
	b = append(append(append(b, g.word()...), '_'), g.word()...)
	if g.r.IntN(4) == 0 {
		b = strconv.AppendInt(b, int64(g.r.IntN(100)), 10)
	}
	return b
}

// cat appends parts to b; a part that is a func appends itself.
func cat(b []byte, parts ...any) []byte {
	for _, p := range parts {
		switch p := p.(type) {
		case string:
			b = append(b, p...)
		case int:
			b = strconv.AppendInt(b, int64(p), 10)
		case func([]byte) []byte:
			b = p(b)
		}
	}
	return b
}

// snippet appends one PHP function, JS block, HTML fragment, CSS rule set
// or base64 line to b. (Appends, not fmt: tests generate many MiB.)
func (g *textGen) snippet(b []byte) []byte {
	r, w, id := g.r, g.word, g.ident
	hex := func(n uint64) func([]byte) []byte {
		return func(b []byte) []byte { return strconv.AppendUint(b, n, 16) }
	}
	switch k := r.IntN(100); {
	case k < 35:
		b = cat(b, "function ", id, "($", w(), ", $", w(), " = null) {\n")
		for range 2 + r.IntN(8) {
			switch r.IntN(4) {
			case 0:
				b = cat(b, "\t$", w(), " = $_POST['", id, "'] ?? '';\n")
			case 1:
				b = cat(b, "\tif (empty($", w(), ")) { header('Location: ", w(), ".php?id=", r.IntN(1e6), "'); exit; }\n")
			case 2:
				b = cat(b, "\t$message .= \"", strings.ToUpper(w()), ": \" . $", w(), " . \"\\n\";\n")
			default:
				b = cat(b, "\tmail('", w(), r.IntN(1000), "@", w(), "-", w(), ".com', $subject, $message);\n")
			}
		}
		b = cat(b, "\treturn $", w(), ";\n}\n\n")
	case k < 60:
		b = cat(b, "$('#", id, "').on('", []string{"click", "submit", "change", "keyup"}[r.IntN(4)], "', function (e) {\n")
		for range 1 + r.IntN(6) {
			b = cat(b, "\tvar ", w(), " = $('.", w(), "-", w(), "').val().trim();\n")
		}
		b = cat(b, "\t$.post('", w(), ".php', {", w(), ": ", w(), "}, function (r) { window.location = '", w(), ".html?t=", hex(uint64(r.Uint32())), "'; });\n});\n")
	case k < 85:
		b = cat(b, "<div class=\"", w(), " ", w(), "\" id=\"", id, "\">\n")
		for range 1 + r.IntN(5) {
			label := w()
			b = cat(b, "  <label for=\"", w(), "\">", strings.ToUpper(label[:1]), label[1:], " ", w(), "</label><input type=\"",
				[]string{"text", "password", "email", "tel"}[r.IntN(4)], "\" name=\"", id, "\" placeholder=\"", w(), "\" maxlength=\"", 8+r.IntN(56), "\">\n")
		}
		b = cat(b, "</div>\n")
	case k < 95:
		for range 1 + r.IntN(4) {
			b = cat(b, ".", w(), "-", w(), " { margin: ", r.IntN(40), "px ", r.IntN(40), "px; color: #", hex(uint64(r.IntN(1<<24))), "; font-size: ", r.IntN(3), ".", r.IntN(10), "em; }\n")
		}
	default:
		// An obfuscated payload: base64 of random bytes, as kits embed.
		const enc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
		b = append(b, "eval(base64_decode('"...)
		for range 60 + r.IntN(300) {
			b = append(b, enc[r.IntN(64)])
		}
		b = append(b, "'));\n"...)
	}
	return b
}
