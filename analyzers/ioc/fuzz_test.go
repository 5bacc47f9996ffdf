package ioc

import (
	"bytes"
	"encoding/base64"
	"testing"
	"unicode/utf8"
)

// FuzzExtract checks that extraction never panics, keeps its bounds, and
// does not depend on how the bytes are written.
func FuzzExtract(f *testing.F) {
	for _, s := range []string{
		mailer,
		`<?php eval(base64_decode("` + b64(mailer) + `")); ?>`,
		`eval(gzinflate(base64_decode('` + base64.StdEncoding.EncodeToString(deflate(mailer)) + `')));`,
		`hxxps://evil[.]example[.]com/gate[.]php x[@]evil[.]example[.]com hxxp[:]//198.51.100.7/`,
		`{"u":"https:\/\/evil.example.com\/x","chat_id":"@chan_name1"} $chat_id = "987654321";`,
		`run.sh payload.zip version 1.2.3.4 v4.9.8 "10.0.0.1" [2001:db8::1]:80 ::ffff:1.2.3.4 DB::e`,
		`chr(104).chr(116)."tp://" . 'evil.example.com' + String.fromCharCode(47) "\x68\x74" &#64; %40`,
		"пример.рф https://пример.рф/ x@пример.рф evil.com\x00evil.net\xff",
		string(kitCorpus(4096)[2000:]),
	} {
		f.Add([]byte(s), uint16(7))
	}
	f.Fuzz(func(t *testing.T, data []byte, chunk uint16) {
		o := Options{MaxIndicators: 64}
		r := Extract(data, o)
		if len(r.Indicators) > o.MaxIndicators {
			t.Fatalf("%d indicators", len(r.Indicators))
		}
		for _, in := range r.Indicators {
			if in.Offset < 0 || in.Offset >= int64(max(len(data), 1)) {
				t.Fatalf("%v at %d of %d", keyOf(in), in.Offset, len(data))
			}
			if in.Value == "" || len(in.Value) > maxValue+32 || len(in.Context) > maxContext+2*ContextBytes+8 || len(in.Chain) > 4 {
				t.Fatalf("unbounded %v: context %d", keyOf(in), len(in.Context))
			}
			if !utf8.ValidString(in.Context) {
				t.Fatalf("context not UTF-8: %q", in.Context)
			}
			if (in.Class != "") != (in.Type == IP) {
				t.Fatalf("class %q on %v", in.Class, keyOf(in))
			}
		}
		s := New(o)
		step := int(chunk%512) + 1
		for p := bytes.Clone(data); len(p) > 0; {
			k := min(step, len(p))
			s.Write(p[:k])
			p = p[k:]
		}
		if got := s.Result(); dump(got) != dump(r) {
			t.Fatalf("chunked writes differ:\n%s\nvs\n%s", dump(got), dump(r))
		}
	})
}
