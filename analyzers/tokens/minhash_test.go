package tokens

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func sig(t *testing.T, in string) Signature {
	t.Helper()
	r := tokenize(t, in, Options{})
	if r.MinHash == nil {
		t.Fatalf("no signature for %.40q", in)
	}
	return r.MinHash
}

func sharedBand(a, b Signature) bool {
	ka, kb := Bands(a), Bands(b)
	for i := range ka {
		if ka[i] == kb[i] {
			return true
		}
	}
	return false
}

func TestSimilarity(t *testing.T) {
	base := sig(t, kitPage)
	for _, tc := range []struct {
		name     string
		other    string
		min, max float64
		band     bool // must share a band key
	}{
		{"identical", kitPage, 1, 1, true},
		{"changed drop address", strings.Replace(kitPage, "boss@example.org", "newowner@example.net", 1), 0.8, 1, true},
		{"changed gate host", strings.ReplaceAll(kitPage, "gate.example.com", "evil-gate.example.ru"), 0.8, 1, true},
		{"a few lines added", strings.Replace(kitPage, "<script>\n",
			"<script>\nvar ua = navigator.userAgent;\nvar lang = navigator.language;\nconsole.log('loaded ' + ua);\n", 1), 0.8, 1, true},
		{"php mailer", phpMailer, 0, 0.2, false},
		{"js harvester", jsHarvester, 0, 0.2, false},
		{"other login page", htmlLogin, 0, 0.2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Similarity(base, sig(t, tc.other))
			if s < tc.min || s > tc.max {
				t.Errorf("similarity %.3f, want [%.2f, %.2f]", s, tc.min, tc.max)
			}
			if tc.band && !sharedBand(base, sig(t, tc.other)) {
				t.Errorf("no shared band key")
			}
			t.Logf("similarity %.3f", s)
		})
	}
}

// TestSimilarityEstimates: over many pairs with a known Jaccard similarity
// of their shingle sets, the estimate is unbiased and close.
func TestSimilarityEstimates(t *testing.T) {
	// Pairs of token sequences whose 3-shingle sets are known: n distinct
	// words each, the second one starting with the first shared words of
	// the first, so they share shared-2 of their n-2 shingles each.
	for _, j := range []float64{0.2, 0.5, 0.8} {
		const n, pairs = 400, 40
		sum := 0.0
		shared := int(math.Round(2 * j * n / (1 + j)))
		exact := float64(shared-2) / float64(2*(n-2)-(shared-2)) // |A∩B| / |A∪B|
		for p := range pairs {
			a, b := words(p, 0, n), words(p, 0, shared)+words(p, 1, n-shared)
			sa, sb := sig(t, a), sig(t, b)
			sum += Similarity(sa, sb)
		}
		if mean := sum / pairs; math.Abs(mean-exact) > 0.03 {
			t.Errorf("jaccard %.3f: mean estimate %.3f", exact, mean)
		}
	}
}

// words returns n distinct generic-text identifiers of a family.
func words(pair, family, n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("w")
		b.WriteString(itoa(pair))
		b.WriteString("x")
		b.WriteString(itoa(family))
		b.WriteString("x")
		b.WriteString(itoa(i))
		b.WriteString(" ")
	}
	return b.String()
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

func TestMinHashWindow(t *testing.T) {
	small := "<?php mail($to, $subject);" // a handful of tokens
	if r := tokenize(t, small, Options{}); r.MinHash != nil {
		t.Errorf("%d-token file got a signature", len(r.Tokens))
	}
	big := strings.Repeat(kitPage, MinHashMaxSize/len(kitPage)+1)
	if r := tokenize(t, big, Options{}); r.MinHash != nil || len(r.Tokens) == 0 {
		t.Errorf("file over %d bytes: signature %v, %d tokens", MinHashMaxSize, r.MinHash != nil, len(r.Tokens))
	}
	justFits := big[:MinHashMaxSize]
	if r := tokenize(t, justFits, Options{}); r.MinHash == nil {
		t.Errorf("file of %d bytes got no signature", len(justFits))
	}
}

// TestSignatureStable pins the hash family: a change here changes every
// stored signature and band key, and must come with a new Version.
func TestSignatureStable(t *testing.T) {
	s := sig(t, kitPage)
	keys := Bands(s)
	const wantSig0, wantKey0, wantKey31 = 0xc2ac4c, 0x4261d2db35fd22a1, 0xd00b3cbb567d35d6
	if s[0] != wantSig0 || keys[0] != wantKey0 || keys[31] != wantKey31 {
		t.Errorf("sig[0] %#x, band 0 %#x, band 31 %#x: the MinHash family changed; bump Version and update", s[0], keys[0], keys[31])
	}
}

func TestBandsAndMarshal(t *testing.T) {
	s := sig(t, kitPage)
	keys := Bands(s)
	if len(keys) != NumBands {
		t.Fatalf("%d band keys", len(keys))
	}
	seen := map[uint64]bool{}
	for _, k := range keys {
		seen[k] = true
	}
	if len(seen) != NumBands {
		t.Errorf("band keys collide: %d distinct", len(seen))
	}
	if Bands(s[:10]) != nil || Bands(nil) != nil {
		t.Error("bands of a malformed signature")
	}
	if Similarity(s, nil) != 0 || Similarity(s[:10], s[:10]) != 0 {
		t.Error("similarity of a malformed signature")
	}

	b, err := s.MarshalBinary()
	if err != nil || len(b) != 4*SignatureSize {
		t.Fatalf("marshal: %d bytes, %v", len(b), err)
	}
	back, err := ParseSignature(b)
	if err != nil || Similarity(s, back) != 1 {
		t.Errorf("round trip: %v, similarity %v", err, Similarity(s, back))
	}
	for _, bad := range [][]byte{nil, b[:10], append(b, 0)} {
		if _, err := ParseSignature(bad); !errors.Is(err, ErrSignature) {
			t.Errorf("parse %d bytes: %v", len(bad), err)
		}
	}
	if _, err := Signature(nil).MarshalBinary(); !errors.Is(err, ErrSignature) {
		t.Errorf("marshal nil: %v", err)
	}
}
