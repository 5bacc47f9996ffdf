package tokens

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

var fuzzMIMEs = []string{"", "text/x-php", "text/html", "application/javascript", "text/plain", "image/png"}

// FuzzSink: no panic, caps respected, every token well formed, and the
// result does not depend on where the lexer's buffer ends fall.
func FuzzSink(f *testing.F) {
	for _, s := range []string{phpMailer, jsHarvester, htmlLogin, kitPage[:2000],
		"<?php $m = <<<EOT\nx\nEOT;\n?>", "<script>/a/g</script>", "<a href='//x'>", "\xef\xbb\xbf<?= 1 ?>", "\x00\x01"} {
		f.Add([]byte(s), uint8(0), uint8(20))
	}
	f.Fuzz(func(t *testing.T, in []byte, mime, maxTokens uint8) {
		opts := Options{MIME: fuzzMIMEs[int(mime)%len(fuzzMIMEs)], MaxTokens: 1 + int(maxTokens)}
		want := tokenizeChunked(in, opts, chunkSize)
		if len(want.Tokens) > opts.MaxTokens {
			t.Fatalf("%d tokens, cap %d", len(want.Tokens), opts.MaxTokens)
		}
		if !slices.IsSorted(want.Tokens) || len(slices.Compact(slices.Clone(want.Tokens))) != len(want.Tokens) {
			t.Fatalf("tokens not sorted and distinct: %q", want.Tokens)
		}
		for _, tok := range want.Tokens {
			if tok == "" || len(tok) > MaxTokenLen+8 || !utf8.ValidString(tok) || strings.ContainsFunc(tok, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				t.Fatalf("bad token %q", tok)
			}
		}
		if want.MinHash != nil && len(want.MinHash) != SignatureSize {
			t.Fatalf("signature of %d values", len(want.MinHash))
		}
		if want.Lang == LangNone && (len(want.Tokens) > 0 || want.MinHash != nil) {
			t.Fatalf("tokens for binary input")
		}
		// The token cap makes which tokens are kept order-dependent only
		// through the stream, which chunking must not change.
		got := tokenizeChunked(in, opts, maxLookahead+8+len(in)%50)
		if !slices.Equal(got.Tokens, want.Tokens) || !slices.Equal(got.MinHash, want.MinHash) || got.Lang != want.Lang {
			t.Fatalf("chunking changed the result:\n%q\n%q", got.Tokens, want.Tokens)
		}
	})
}

func init() { strictProgress = true }
