package decode

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

// FuzzDecode checks that Decode never panics and keeps its bounds.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`eval(base64_decode("` + b64(mailer) + `"));`,
		`eval(gzinflate(str_rot13(base64_decode('` + base64.StdEncoding.EncodeToString(rot13(deflate(mailer))) + `'))));`,
		`$u = chr(104).chr(116)."tp" . "://" . 'x';`,
		`String.fromCharCode.apply(null, [104,116,116,112])`,
		`"\x68\x74\u0074\u{70}\150://a" + '\'b\'' + "\`,
		`&#104;&#x74;&commat;&#; %41%3a%u0041% %`,
		`uggcf://rivy.rknzcyr ` + hexs("https://evil.example"),
		"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk",
		strings.Repeat("QUFB", 40) + "\r\n" + strings.Repeat("QUFB", 40),
		`Buffer.from("aHR0cHM6Ly9ldmlsLmV4YW1wbGU=", "base64")`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		o := Options{MaxDepth: 3, MaxOutput: 4096, MaxResults: 50}
		in := bytes.Clone(data)
		got := Decode(data, o)
		if !bytes.Equal(in, data) {
			t.Fatal("input modified")
		}
		total := 0
		for _, d := range got {
			total += len(d.Text)
			if len(d.Chain) == 0 || len(d.Chain) > o.MaxDepth {
				t.Fatalf("chain %v", d.Chain)
			}
			if d.Offset < 0 || d.Len <= 0 || d.Offset+d.Len > len(data) {
				t.Fatalf("span %d+%d outside %d", d.Offset, d.Len, len(data))
			}
		}
		if total > o.MaxOutput || len(got) > o.MaxResults {
			t.Fatalf("%d results, %d bytes", len(got), total)
		}
	})
}
