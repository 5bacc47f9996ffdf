package analyze

import (
	"encoding/hex"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"dewar/analyzers/ssdeep"
	"dewar/analyzers/tokens"
	"dewar/index"
)

func keySet(keys []index.SimKey) map[index.SimKey]bool {
	m := map[index.SimKey]bool{}
	for _, k := range keys {
		m[k] = true
	}
	return m
}

func shareKey(a, b []index.SimKey) bool {
	m := keySet(a)
	for _, k := range b {
		if m[k] {
			return true
		}
	}
	return false
}

func ssdeepOf(b []byte) string {
	s := ssdeep.New()
	s.Write(b)
	return s.Result()
}

// TestSSDeepKeysFindEveryMatch: every pair of files ssdeep scores above 0
// shares a key, including pairs at block sizes a factor of two apart;
// pairs sharing no key score 0.
func TestSSDeepKeysFindEveryMatch(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var hashes []string
	for i := range 40 {
		// Kit variants of growing size: edits, insertions and appended
		// filler move block sizes across powers of two.
		b := kitPHP(i % 3)
		for range r.IntN(4) {
			b = append(b, kitPHP(r.IntN(5))...)
		}
		if i%2 == 0 {
			p := r.IntN(len(b))
			b = slices.Insert(b, p, []byte("/* inserted block of comment text that shifts the rest */")...)
		}
		b = append(b, randomBytes(r.IntN(4000), uint64(i))...)
		hashes = append(hashes, ssdeepOf(b))
	}
	sizes := map[uint64]bool{}
	matched := 0
	for i, a := range hashes {
		ha, _ := ssdeep.Parse(a)
		sizes[ha.BlockSize] = true
		for _, b := range hashes[i+1:] {
			score, err := ssdeep.Compare(a, b)
			if err != nil {
				t.Fatal(err)
			}
			share := shareKey(SSDeepKeys(a), SSDeepKeys(b))
			if score > 0 && !share {
				t.Errorf("%s and %s score %d but share no key", a, b, score)
			}
			if score > 0 {
				matched++
			}
		}
	}
	if matched < 20 || len(sizes) < 2 {
		t.Fatalf("weak test: %d matching pairs over block sizes %v", matched, sizes)
	}
}

// TestSSDeepExactKey: identical hashes whose chunks are too short for
// grams still share a key; different ones do not; "" and the empty
// file's hash have none.
func TestSSDeepExactKey(t *testing.T) {
	a, b := "3:ab:ab", "3:ac:ac"
	if !shareKey(SSDeepKeys(a), SSDeepKeys(a)) {
		t.Fatal("identical short hashes share no key")
	}
	if shareKey(SSDeepKeys(a), SSDeepKeys(b)) {
		t.Fatal("different short hashes share a key")
	}
	for _, s := range []string{"", "3::", "not a hash"} {
		if k := SSDeepKeys(s); k != nil {
			t.Errorf("SSDeepKeys(%q) = %v", s, k)
		}
	}
	// Stable across runs and machines: a fixed hash has fixed keys.
	k := SSDeepKeys("3:abcdefgh:abcdefgh")
	if len(k) != 5 || k[0].Method != MethodSSDeep { // 2 grams at 3, 2 at 6, the whole
		t.Fatalf("keys %v", k)
	}
	if k[0].Key != fnvKey("g", "3", "abcdefg") {
		t.Fatalf("gram key %d", k[0].Key)
	}
}

func flipBits(b []byte, n int, r *rand.Rand) []byte {
	c := slices.Clone(b)
	for _, i := range r.Perm(len(b) * 8)[:n] {
		c[i/8] ^= 1 << (i % 8)
	}
	return c
}

// TestImageKeys: PDQ hashes within 15 bits and pHashes within 7 bits
// always share a band key (pigeonhole); far ones rarely do; malformed
// hashes have no keys.
func TestImageKeys(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	tests := []struct {
		name   string
		size   int
		keys   func(string) []index.SimKey
		always int
		nKeys  int
	}{
		{"pdq", 32, PDQKeys, 15, 16},
		{"phash", 8, PHashKeys, 7, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			far := 0
			for range 500 {
				h := make([]byte, tt.size)
				for i := range h {
					h[i] = byte(r.Uint32())
				}
				k := tt.keys(hex.EncodeToString(h))
				if len(k) != tt.nKeys {
					t.Fatalf("%d keys, want %d", len(k), tt.nKeys)
				}
				near := flipBits(h, 1+r.IntN(tt.always), r)
				if !shareKey(k, tt.keys(hex.EncodeToString(near))) {
					t.Fatalf("%x and %x are close but share no key", h, near)
				}
				other := make([]byte, tt.size)
				for i := range other {
					other[i] = byte(r.Uint32())
				}
				if shareKey(k, tt.keys(hex.EncodeToString(other))) {
					far++
				}
			}
			if far > 100 {
				t.Fatalf("%d of 500 random pairs share a key: bands too weak", far)
			}
			for _, bad := range []string{"", "zz", hex.EncodeToString(make([]byte, tt.size+1))} {
				if k := tt.keys(bad); k != nil {
					t.Errorf("keys of %q: %v", bad, k)
				}
			}
		})
	}
}

// TestMinHashKeys: the token analyzer's bands, one key each; near-copy
// kits share some, and a missing signature has none.
func TestMinHashKeys(t *testing.T) {
	sig := func(b []byte) []uint32 {
		s := tokens.New(tokens.Options{})
		s.Write(b)
		return s.Result().MinHash
	}
	a, b := sig(kitPHP(0)), sig(kitPHP(1))
	ka := MinHashKeys(a)
	if len(ka) != tokens.NumBands {
		t.Fatalf("%d keys", len(ka))
	}
	for i, k := range ka {
		if k.Method != MethodMinHash || uint64(k.Key) != tokens.Bands(tokens.Signature(a))[i] {
			t.Fatalf("key %d = %+v", i, k)
		}
	}
	if !shareKey(ka, MinHashKeys(b)) {
		t.Fatal("near-copy kits share no MinHash band")
	}
	if MinHashKeys(nil) != nil {
		t.Fatal("no signature, no keys")
	}
}

// TestKeysOf picks one method's keys.
func TestKeysOf(t *testing.T) {
	a := index.Analysis{Keys: []index.SimKey{{Method: "ssdeep", Key: 1}, {Method: "pdq", Key: 2}, {Method: "ssdeep", Key: 3}}}
	if got := KeysOf(a, "ssdeep"); !slices.Equal(got, []int64{1, 3}) {
		t.Fatalf("KeysOf = %v", got)
	}
	if got := KeysOf(a, "phash"); got != nil {
		t.Fatalf("KeysOf phash = %v", got)
	}
}

// TestCompare: each method's exact comparison and threshold on real
// files: near copies match with the method's score, unrelated files do
// not, and missing hashes never match.
func TestCompare(t *testing.T) {
	kit0, kit1 := analyze(t, kitPHP(0), ""), analyze(t, kitPHP(1), "")
	css := analyze(t, unrelatedText(), "")
	png0, png3 := analyze(t, encodePNG(testImage(0)), ""), analyze(t, encodePNG(testImage(3)), "")
	jpg := analyze(t, encodeJPEG(testImage(0), 60), "")
	other := analyze(t, encodePNG(otherImage()), "")
	tests := []struct {
		name      string
		method    string
		a, b      index.Analysis
		match     bool
		scoreLo   int
		scoreHi   int
		closeness float64 // lower bound when matching
	}{
		{"ssdeep near copy", MethodSSDeep, kit0, kit1, true, 50, 99, 0.5},
		{"ssdeep unrelated", MethodSSDeep, kit0, css, false, 0, 0, 0},
		{"tlsh near copy", MethodTLSH, kit0, kit1, true, 0, 30, 0.85},
		{"tlsh unrelated", MethodTLSH, kit0, css, false, 0, 0, 0},
		{"minhash near copy", MethodMinHash, kit0, kit1, true, 80, 100, 0.8},
		{"minhash unrelated", MethodMinHash, kit0, css, false, 0, 0, 0},
		{"pdq re-encoded", MethodPDQ, png0, jpg, true, 0, 10, 0.8},
		{"pdq moved shapes", MethodPDQ, png0, png3, true, 0, 31, 0.5},
		{"pdq unrelated", MethodPDQ, png0, other, false, 0, 0, 0},
		{"phash re-encoded", MethodPHash, png0, jpg, true, 0, 4, 0.8},
		{"phash unrelated", MethodPHash, png0, other, false, 0, 0, 0},
		{"pdq of a text", MethodPDQ, kit0, png0, false, 0, 0, 0},
		{"minhash of an image", MethodMinHash, png0, png0, false, 0, 0, 0},
		{"unknown method", "md5", kit0, kit0, false, 0, 0, 0},
		{"ssdeep identical", MethodSSDeep, kit0, kit0, true, 100, 100, 1},
		{"tlsh identical", MethodTLSH, kit0, kit0, true, 0, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ok := Compare(tt.method, tt.a, tt.b)
			if ok != tt.match {
				t.Fatalf("match = %v (%+v), want %v", ok, m, tt.match)
			}
			if !ok {
				return
			}
			if m.Method != tt.method || m.Score < tt.scoreLo || m.Score > tt.scoreHi || m.Closeness < tt.closeness || m.Closeness > 1 {
				t.Fatalf("match %+v, want score in [%d,%d], closeness >= %v", m, tt.scoreLo, tt.scoreHi, tt.closeness)
			}
		})
	}
}

// TestCloseness: every method's threshold match sits at 0.5 on the common
// scale, identical at 1.
func TestCloseness(t *testing.T) {
	for _, th := range []int{MaxTLSHDistance, MaxPDQDistance, MaxPHashDistance} {
		if c := distanceCloseness(th, th); c != 0.5 {
			t.Errorf("closeness at threshold %d = %v", th, c)
		}
		if c := distanceCloseness(0, th); c != 1 {
			t.Errorf("closeness at 0 = %v", c)
		}
	}
	if l, ok := TLSHLength("T1" + strings.Repeat("0", 2) + "A5" + strings.Repeat("0", 66)); !ok || l != 0x5A {
		t.Errorf("TLSHLength = %#x, %v (the length byte prints nibble-swapped)", l, ok)
	}
	if _, ok := TLSHLength("T1zz"); ok {
		t.Error("TLSHLength of a malformed digest")
	}
	if TLSHRadius != 8 {
		t.Errorf("TLSHRadius = %d", TLSHRadius)
	}
}
