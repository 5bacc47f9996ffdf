package ssdeep

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"dewar/test/harness"
)

func hashOf(t testing.TB, data []byte, chunk int) string {
	t.Helper()
	s := New()
	if _, err := io.CopyBuffer(s, onlyReader{bytes.NewReader(data)}, make([]byte, chunk)); err != nil {
		t.Fatal(err)
	}
	return s.Result()
}

// known are hashes printed by `ssdeep -b` (2.14.1, Debian) for inputs(),
// so the tests check output even where the tool is not installed.
var known = map[string]string{
	"text0":           "3::",
	"text1":           "3:E:E",
	"text49":          "3:CzP6FUpf/:Cziepf/",
	"text50":          "3:5g8fANpOivzf:tfuLf",
	"text4095":        "96:tHkq8hZmB25HobfyXma/RYyuIPxZ5ZxGgbaw5293:gM+Cy999Y",
	"text4096":        "96:AlEqVMuCQ1/E8xN311PurW2e0IxTCFJigMaAp/sL2MWFnW5/1Lq:5/QZ/o2TzgMq2Mpq",
	"bin4096":         "96:sGnZUBdnRXq9oYPGNDr2xgzt/i1fPEpwl:FCR7YeNDrkgBi1Upwl",
	"text100k-mut500": "768:3bsVqLCBiGazQGTnA8KdBjMb0AmZ12gyq+Dp/FVJX7K0Nmb8CJ0NVLV4GQTA/zkz:VC",
	"zeros10k":        "3::",
	"runs":            "24:YFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFa:YO",
	"bin3m":           "49152:HnP5VmLsbJQLBhwS8X+QGMDyVt5AkWWwi0ha28/sbG8uqck5MAeeZXavQg55JYPa:Hnv6sbUGFGZVEWwiMG8udA7QRl17/",
	"text1m":          "1536:FBTIUzLZ/8Y77fiCa/KMcoY2DcPJ8fdEO7nMNc:FBMa/V77qlKcYlx2EO7nMNc",
}

func TestKnownHashes(t *testing.T) {
	seen := 0
	for _, in := range inputs() {
		want, ok := known[in.name]
		if !ok {
			continue
		}
		seen++
		// The result must not depend on how the bytes are chunked.
		for _, chunk := range []int{1, 7, 4093, 1 << 16} {
			if chunk == 1 && len(in.data) > 64<<10 {
				continue // byte-at-a-time writes of big inputs only cost time
			}
			if got := hashOf(t, in.data, chunk); got != want {
				t.Errorf("%s (writes of %d): got %q, want %q", in.name, chunk, got, want)
			}
		}
	}
	if seen != len(known) {
		t.Fatalf("matched %d of %d known inputs", seen, len(known))
	}
}

// TestMatchesTool hashes every input with the ssdeep tool and compares
// byte for byte.
func TestMatchesTool(t *testing.T) {
	harness.Require(t, "ssdeep")
	dir := t.TempDir()
	ins := inputs()
	var names []string
	for _, in := range ins {
		if err := os.WriteFile(filepath.Join(dir, in.name), in.data, 0o600); err != nil {
			t.Fatal(err)
		}
		names = append(names, in.name)
	}
	want := toolHashes(t, dir, names)
	for _, in := range ins {
		w, ok := want[in.name]
		if !ok {
			t.Errorf("%s: the tool printed no hash", in.name)
			continue
		}
		if got := hashOf(t, in.data, 4093); got != w {
			t.Errorf("%s (%d bytes): got %q, tool %q", in.name, len(in.data), got, w)
		}
	}
}

// toolHashes runs `ssdeep -b` in dir and returns name → hash.
func toolHashes(t *testing.T, dir string, names []string) map[string]string {
	t.Helper()
	cmd := exec.Command("ssdeep", append([]string{"-b"}, names...)...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ssdeep -b: %v", err)
	}
	hashes := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "ssdeep,") {
			continue
		}
		h, name, ok := strings.Cut(line, ",")
		if !ok {
			t.Fatalf("ssdeep output line %q", line)
		}
		hashes[strings.Trim(name, `"`)] = h
	}
	return hashes
}

// crafted are hashes that reach the corners of fuzzy_compare: runs to
// shorten, block sizes equal, double and half, the small-block-size cap,
// chunks too short for a common substring, and empty chunks.
var crafted = []string{
	"3:AAAAAAAbcdefghij:xyz",
	"3:AAAbcdefghij:xyz",
	"3:bcdefghijXYZ:xyzxyzxyz",
	"6:abcdefghijk:Abcdefghijkl",
	"12:Abcdefghijkm:ZZZ",
	"12:Abcdefghijkm:ZZ",
	"24:ZZZZZZZZZZZZ:Abcdefghijkm",
	"3::",
	"6::",
	"3:abcdef:abcdef",
	"3:abcdefg:abcdefg",
	"48:abcdefghijklmnopqrstuvwxyz0123456789+/ABCDEFGHIJKLMNOPQRSTUVWX:abcdefghijklmnopqrstuvwxyz01",
	"48:abcdefghijklmnopqrstuvwxyz0123456789+/ABCDEFGHIJKLMNOPQRSTUVWc:abcdefghijklmnopqrstuvwxyz02",
	"96:abcdefghijklmnopqrstuvwxyz02:Q",
	"1536:OWwZjA71Qwsg+Do6z11WDgMtH3r3yNQvQq7oNoiVW:mJr5rqDxrw",
	"1536:OWwZjA71Qwsg+Do6z11WDgMtH3r3yNQvQq7oNoiVX:mJr5rqDxrw",
	"768:xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx:OWwZjA71Qwsg+Do6z11WDgMtH3r3yNQvQq7oNoiVW",
	"3:abcdefghijk:x",
	"3:abcdefghijkLMNOP:x",
}

// knownScores are scores printed by `ssdeep -a -k` for pairs of crafted.
var knownScores = []struct {
	a, b  string
	score int
}{
	{crafted[0], crafted[1], 100},
	{crafted[3], crafted[4], 48},
	{crafted[7], crafted[7], 100},
	{crafted[7], crafted[8], 0},
	{crafted[11], crafted[12], 99},
	{crafted[14], crafted[15], 100},
	{crafted[14], crafted[16], 100},
	{crafted[15], crafted[16], 99},
	{crafted[17], crafted[18], 11}, // capped: block size 3, 11 characters
}

func TestKnownScores(t *testing.T) {
	for _, tc := range knownScores {
		for _, ab := range [][2]string{{tc.a, tc.b}, {tc.b, tc.a}} {
			got, err := Compare(ab[0], ab[1])
			if err != nil || got != tc.score {
				t.Errorf("Compare(%q, %q) = %d, %v; want %d", ab[0], ab[1], got, err, tc.score)
			}
		}
	}
}

var matchLine = regexp.MustCompile(`^sigs:(\d+) matches sigs:(\d+) \((\d+)\)$`)

// TestCompareMatchesTool scores every pair of input and crafted hashes
// with `ssdeep -a -k` and with Compare.
func TestCompareMatchesTool(t *testing.T) {
	harness.Require(t, "ssdeep")
	hashes := append([]string(nil), crafted...)
	for _, in := range inputs() {
		hashes = append(hashes, hashOf(t, in.data, 1<<16))
	}
	var sigs strings.Builder
	sigs.WriteString("ssdeep,1.1--blocksize:hash:hash,filename\n")
	for i, h := range hashes {
		fmt.Fprintf(&sigs, "%s,\"%d\"\n", h, i)
	}
	path := filepath.Join(t.TempDir(), "sigs")
	if err := os.WriteFile(path, []byte(sigs.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ssdeep", "-a", "-k", "sigs", "sigs")
	cmd.Dir = filepath.Dir(path)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ssdeep -a -k: %v", err)
	}
	pairs, nonzero := 0, 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		m := matchLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("ssdeep output line %q", line)
		}
		i, _ := strconv.Atoi(m[1])
		j, _ := strconv.Atoi(m[2])
		want, _ := strconv.Atoi(m[3])
		got, err := Compare(hashes[i], hashes[j])
		if err != nil || got != want {
			t.Errorf("Compare(%q, %q) = %d, %v; tool %d", hashes[i], hashes[j], got, err, want)
		}
		pairs++
		if want > 0 && i != j {
			nonzero++
		}
	}
	if pairs != len(hashes)*len(hashes) || nonzero < 10 {
		t.Fatalf("tool compared %d pairs (%d non-zero) of %d hashes", pairs, nonzero, len(hashes))
	}
}

// TestGramsFindCandidates: every pair Compare scores above 0 either
// shares a Gram or is identical, so an index of Grams misses nothing.
func TestGramsFindCandidates(t *testing.T) {
	hashes := append([]string(nil), crafted...)
	for _, in := range inputs() {
		hashes = append(hashes, hashOf(t, in.data, 1<<16))
	}
	parsed := make([]Hash, len(hashes))
	for i, s := range hashes {
		h, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		parsed[i] = h
	}
	checked := 0
	for i, a := range parsed {
		ga := map[Gram]bool{}
		for _, g := range a.Grams() {
			ga[g] = true
		}
		for j, b := range parsed {
			if i == j || a.Compare(b) == 0 {
				continue
			}
			shared := false
			for _, g := range b.Grams() {
				shared = shared || ga[g]
			}
			if !shared && a.BlockSize == b.BlockSize && eliminateSequences(a.Chunk1) == eliminateSequences(b.Chunk1) &&
				eliminateSequences(a.Chunk2) == eliminateSequences(b.Chunk2) {
				shared = true // identical: found by equality, not by Grams
			}
			if !shared {
				t.Errorf("%q and %q score %d but share no Gram", hashes[i], hashes[j], a.Compare(b))
			}
			checked++
		}
	}
	if checked < 10 {
		t.Fatalf("only %d matching pairs checked", checked)
	}
}

func TestGrams(t *testing.T) {
	h, err := Parse("3:AAAAAbcdefgh:abcdefgh")
	if err != nil {
		t.Fatal(err)
	}
	want := []Gram{{3, "AAAbcde"}, {3, "AAbcdef"}, {3, "Abcdefg"}, {3, "bcdefgh"}, {6, "abcdefg"}, {6, "bcdefgh"}}
	got := h.Grams()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Grams = %v, want %v", got, want)
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Hash
		err  bool
	}{
		{in: "3::", want: Hash{3, "", ""}},
		{in: "96:ab+/:x", want: Hash{96, "ab+/", "x"}},
		{in: "", err: true},
		{in: "3", err: true},
		{in: "3:abc", err: true},
		{in: "0:a:b", err: true},
		{in: "x:a:b", err: true},
		{in: "-3:a:b", err: true},
		{in: "3:a:b:c", err: true},
		{in: "3:a b:c", err: true},
		{in: "3:a:b,\"file\"", err: true},
		{in: "99999999999999999999999:a:b", err: true},
		{in: "3:" + strings.Repeat("a", 65) + ":b", err: true},
	} {
		got, err := Parse(tc.in)
		if tc.err {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("Parse(%q) = %v, %v; want ErrMalformed", tc.in, got, err)
			}
			if _, err := Compare(tc.in, "3::"); !errors.Is(err, ErrMalformed) {
				t.Errorf("Compare(%q) err = %v; want ErrMalformed", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want || got.String() != tc.in {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestResultIsFinal(t *testing.T) {
	data := text(5, 5000)
	s := New()
	s.Write(data)
	first := s.Result()
	s.Write([]byte("more"))
	if second := s.Result(); second != first || first != hashOf(t, data, 512) {
		t.Errorf("Result changed: %q then %q", first, second)
	}
}

// TestStreamingMemory: hashing 48 MiB allocates about nothing, so memory
// does not grow with the file.
func TestStreamingMemory(t *testing.T) {
	buf := binary(42, 1<<20)
	s := New()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 16 {
		s.Write(buf)
	}
	r := s.Result()
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 256<<10 {
		t.Errorf("hashing 16 MiB allocated %d bytes", grew)
	}
	if _, err := Parse(r); err != nil {
		t.Errorf("result %q: %v", r, err)
	}
}

func BenchmarkSink(b *testing.B) {
	buf := binary(1, 1<<20)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		s := New()
		s.Write(buf)
		s.Result()
	}
}

func BenchmarkCompare(b *testing.B) {
	x, y := crafted[11], crafted[12]
	for b.Loop() {
		Compare(x, y)
	}
}

// onlyReader hides bytes.Reader's WriteTo, so io.CopyBuffer really
// writes in pieces of the buffer's size.
type onlyReader struct{ io.Reader }
