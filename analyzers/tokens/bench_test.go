package tokens

import (
	"fmt"
	"strings"
	"testing"
)

// mixedFile is about size bytes of PHP, HTML and JS kit code, with names
// varied so the token set keeps growing, as in a real bundle.
func mixedFile(size int) []byte {
	var b strings.Builder
	for i := 0; b.Len() < size; i++ {
		for _, part := range []string{phpMailer, htmlLogin, jsHarvester, kitPage} {
			b.WriteString(strings.ReplaceAll(part, "example", fmt.Sprintf("example%d", i%3000)))
		}
	}
	return []byte(b.String()[:size])
}

func BenchmarkSink(b *testing.B) {
	for _, tc := range []struct {
		name string
		size int
	}{
		{"mixed-5MiB", 5 << 20},     // past the MinHash window: tokens only
		{"mixed-512KiB", 512 << 10}, // inside it: tokens and MinHash
	} {
		in := mixedFile(tc.size)
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				s := New(Options{MaxTokens: 1 << 30})
				for off := 0; off < len(in); off += 32 << 10 {
					s.Write(in[off:min(len(in), off+32<<10)])
				}
				if r := s.Result(); len(r.Tokens) == 0 {
					b.Fatal("no tokens")
				}
			}
		})
	}
}
