package analyze

import (
	"bytes"
	"context"
	"testing"
)

// BenchmarkAnalyze measures the cost of the one pass per MiB (b.SetBytes:
// MB/s is the throughput, ns/op over the size the cost per byte), for the
// kinds of file a kit holds.
func BenchmarkAnalyze(b *testing.B) {
	text := func(n int) []byte {
		var buf bytes.Buffer
		for i := 0; buf.Len() < n; i++ {
			buf.Write(kitPHP(i))
			buf.Write(kitJS())
			buf.Write(kitHTML())
		}
		return buf.Bytes()[:n]
	}
	png := encodePNG(testImage(0))
	cases := []struct {
		name, mime string
		data       []byte
	}{
		{"php-6KiB", "text/x-php", kitPHP(0)},
		{"web-text-1MiB", "text/x-php", text(1 << 20)},
		{"web-text-16MiB", "text/x-php", text(16 << 20)},
		{"binary-1MiB", "application/octet-stream", randomBytes(1<<20, 5)},
		{"png-256px", "image/png", png},
		{"zip-16MiB", "application/zip", randomBytes(16<<20, 6)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Analyze(context.Background(), bytes.NewReader(c.data), c.mime, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
