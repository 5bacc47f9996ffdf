package decode

import (
	"strings"
	"testing"
)

// adversarial inputs: each 1 MiB of one pattern a decoder reacts to.
var adversarial = map[string]string{
	"concat":       `"a"."a".`,
	"concat-open":  `"a".'`,
	"unterminated": `base64_decode("`,
	"escapes":      `\x41`,
	"lone-escape":  `"\x41 `,
	"percent":      `%41`,
	"entities":     `&#65;`,
	"b64-run":      `A`,
	"b64-lines":    strings.Repeat("QUFB", 16) + "\n",
	"rot13":        `uggc://`,
	"charcode":     `fromCharCode(1,`,
	"chr":          `chr(65).`,
	"quotes":       `'"`,
	"parens":       `atob('`,
	"hex":          `41`,
	"stray quote":  `x'`,
}

func BenchmarkDecodeAdversarial(b *testing.B) {
	for name, pat := range adversarial {
		in := []byte(strings.Repeat(pat, (1<<20)/len(pat)))
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				Decode(in, Options{})
			}
		})
	}
}
