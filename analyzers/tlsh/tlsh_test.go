package tlsh

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"dewar/test/harness"
)

func digestOf(t testing.TB, data []byte, chunk int) string {
	t.Helper()
	s := New()
	if _, err := io.CopyBuffer(s, onlyReader{bytes.NewReader(data)}, make([]byte, chunk)); err != nil {
		t.Fatal(err)
	}
	return s.Result()
}

// known are digests printed by `tlsh -f` (tlsh-tools 3.4.4, Debian) for
// inputs(), with the "T1" prefix added, so the tests check output even
// where the tool is not installed. "" is no hash.
var known = map[string]string{
	"text0":           "",
	"text49":          "",
	"bin49":           "",
	"zeros10k":        "",
	"runs":            "",
	"alphabet2":       "",
	"alphabet3":       "T102410D20C0A2A21B2EB1F0B08B08CEC4B082230CCAA20C836C3FC008301C38331F00EE",
	"alphabet8":       "T1DA41333AC2F689432C2B52D1BB1FD2B4E043B618F5DE509000AC06AC92DBDE6D5975C6",
	"text256":         "T193D02B5A304AF128438B4D8CD04F0B4E77369C4F502D050494AB43A93C90E9ADF26CC2",
	"text4096":        "T16C8159C9332C71B506DA8F90A04A066ABB3EB51F5403061C6669F3FD1E54E9BBB23C47",
	"bin4096":         "T1A6817CA8E286D8762A3DC65083C426438D99DFFE8051E7ECB3C463EF041201335AFE44",
	"text100k-mut500": "T150A37C96331C707606CACF84A04A062F7B7AB51FA453060CA6B5E3FD1D55E9BBB23846",
	"text1m":          "T184255BDA331C707506CA8F84A04A072F7B7AB51FA453064C92A5E3FD2D55E9BBB23C46",
	"bin3m":           "T190E533CC439C3AD46B9600AD4D8DA5CA2FD80C619ECE1C655F82BF02E61CAFDD51EE94",
}

func TestKnownDigests(t *testing.T) {
	seen := 0
	for _, in := range inputs() {
		want, ok := known[in.name]
		if !ok {
			continue
		}
		seen++
		// The result must not depend on how the bytes are chunked.
		for _, chunk := range []int{1, 3, 4093, 1 << 16} {
			if chunk == 1 && len(in.data) > 64<<10 {
				continue // byte-at-a-time writes of big inputs only cost time
			}
			if got := digestOf(t, in.data, chunk); got != want {
				t.Errorf("%s (writes of %d): got %q, want %q", in.name, chunk, got, want)
			}
		}
	}
	if seen != len(known) {
		t.Fatalf("matched %d of %d known inputs", seen, len(known))
	}
}

// TestSizes: no hash under 50 bytes; from 50 bytes on, varied input has
// one (tlsh-tools 3.4 would want 256).
func TestSizes(t *testing.T) {
	for _, n := range []int{0, 1, 4, 5, 6, 49, 50, 51, 255} {
		got := digestOf(t, binary(uint64(n), n), 7)
		if n < MinSize && got != "" {
			t.Errorf("%d bytes: got %q, want none", n, got)
		}
		if n >= MinSize {
			if _, err := Parse(got); err != nil {
				t.Errorf("%d bytes: got %q: %v", n, got, err)
			}
		}
	}
}

// TestMatchesTool hashes every input with `tlsh -f` and compares byte for
// byte wherever the tool gives a digest; where it cannot hash (too little
// variety) there must be no digest either.
func TestMatchesTool(t *testing.T) {
	harness.Require(t, "tlsh")
	dir := t.TempDir()
	compared := 0
	for _, in := range inputs() {
		path := filepath.Join(dir, in.name)
		if err := os.WriteFile(path, in.data, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("tlsh", "-f", path).CombinedOutput()
		if err != nil {
			t.Fatalf("tlsh -f %s: %v\n%s", in.name, err, out)
		}
		got := digestOf(t, in.data, 4093)
		line := strings.TrimSpace(string(out))
		switch {
		case strings.HasSuffix(line, "file too small"):
			if len(in.data) >= 256 {
				t.Errorf("%s: tool says too small at %d bytes", in.name, len(in.data))
			}
		case strings.HasSuffix(line, "cannot hash"):
			if got != "" {
				t.Errorf("%s: got %q, tool cannot hash", in.name, got)
			}
		default:
			tool, _, _ := strings.Cut(line, "\t")
			if got != Prefix+tool {
				t.Errorf("%s (%d bytes): got %q, tool %q", in.name, len(in.data), got, tool)
			}
			compared++
		}
	}
	if compared < 15 {
		t.Fatalf("only %d digests compared", compared)
	}
}

// TestDiffMatchesTool compares Diff and DiffIgnoringLength with `tlsh -c
// A -l LIST` (and -xlen) over every pair of input digests.
func TestDiffMatchesTool(t *testing.T) {
	harness.Require(t, "tlsh")
	var digests []string
	for _, in := range inputs() {
		if d := digestOf(t, in.data, 1<<16); d != "" && len(in.data) >= 256 {
			digests = append(digests, d)
		}
	}
	var list strings.Builder
	for _, d := range digests {
		list.WriteString(strings.TrimPrefix(d, Prefix) + "\n")
	}
	listFile := filepath.Join(t.TempDir(), "list")
	if err := os.WriteFile(listFile, []byte(list.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	pairs, far := 0, 0
	for _, xlen := range []bool{false, true} {
		for _, a := range digests {
			args := []string{"-c", strings.TrimPrefix(a, Prefix), "-l", listFile}
			if xlen {
				args = append(args, "-xlen")
			}
			out, err := exec.Command("tlsh", args...).Output()
			if err != nil {
				t.Fatalf("tlsh %v: %v", args, err)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if len(lines) != len(digests) {
				t.Fatalf("tlsh %v printed %d lines for %d digests", args, len(lines), len(digests))
			}
			for i, line := range lines {
				f := strings.Split(line, "\t")
				want, err := strconv.Atoi(strings.TrimSpace(f[len(f)-1]))
				if err != nil {
					t.Fatalf("tlsh output line %q", line)
				}
				got, err := Diff(a, digests[i])
				if xlen {
					got, err = DiffIgnoringLength(a, digests[i])
				}
				if err != nil || got != want {
					t.Errorf("diff(%s, %s, xlen=%v) = %d, %v; tool %d", a, digests[i], xlen, got, err, want)
				}
				pairs++
				if want > 100 {
					far++
				}
			}
		}
	}
	if pairs < 200 || far == 0 {
		t.Fatalf("compared %d pairs (%d far apart)", pairs, far)
	}
}

// knownDiffs are distances printed by `tlsh -c A -d B` (with -xlen for
// the length-blind ones).
var knownDiffs = []struct {
	a, b        string
	diff, xdiff int
}{
	{known["text4096"], known["text4096"], 0, 0},
	{"T118A37B96331C707606CACF84A04A072F7B7AB51FA453060CA6B5E3FD1D55E9BBB23846",
		"T1C1A37B96331C707606CACF84A04A072F7B7AB51FA453060CA6B5E3FD1D55E9BBB23846", 1, 1},
	{"T118A37B96331C707606CACF84A04A072F7B7AB51FA453060CA6B5E3FD1D55E9BBB23846",
		known["text4096"], 466, 58},
}

func TestKnownDiffs(t *testing.T) {
	for _, tc := range knownDiffs {
		for _, ab := range [][2]string{{tc.a, tc.b}, {tc.b, tc.a}} {
			d, err := Diff(ab[0], ab[1])
			x, xerr := DiffIgnoringLength(ab[0], ab[1])
			if err != nil || xerr != nil || d != tc.diff || x != tc.xdiff {
				t.Errorf("Diff(%s, %s) = %d, %v / %d, %v; want %d / %d", ab[0], ab[1], d, err, x, xerr, tc.diff, tc.xdiff)
			}
		}
	}
}

func TestParse(t *testing.T) {
	d, err := Parse(known["text4096"])
	if err != nil {
		t.Fatal(err)
	}
	// 6C 81 59: checksum 0xC6, L 0x18, q1 5, q2 9.
	if d.Checksum != 0xc6 || d.LValue != 0x18 || d.Q1Ratio != 5 || d.Q2Ratio != 9 || d.Body[0] != 0xc9 || d.String() != known["text4096"] {
		t.Errorf("Parse = %+v (%s)", d, d)
	}
	lower := strings.ToLower(strings.TrimPrefix(known["text4096"], Prefix))
	if d2, err := Parse(lower); err != nil || d2 != d {
		t.Errorf("Parse(tool form %q) = %+v, %v", lower, d2, err)
	}
	for _, bad := range []string{"", "T1", "T1" + strings.Repeat("0", 69), strings.Repeat("0", 71),
		"T1" + strings.Repeat("G", 70), "T2" + strings.Repeat("0", 70), "TNULL"} {
		if _, err := Parse(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("Parse(%q) err = %v; want ErrMalformed", bad, err)
		}
		if _, err := Diff(bad, known["text4096"]); !errors.Is(err, ErrMalformed) {
			t.Errorf("Diff(%q) err = %v; want ErrMalformed", bad, err)
		}
	}
}

// TestLengthPrefilter checks the pre-filter HeaderDistance documents: a
// length-bucket gap of k > 1 alone puts a pair 12k apart.
func TestLengthPrefilter(t *testing.T) {
	var ds []string
	for _, in := range inputs() {
		if d := digestOf(t, in.data, 1<<16); d != "" {
			ds = append(ds, d)
		}
	}
	gaps := 0
	for _, a := range ds {
		for _, b := range ds {
			da, _ := Parse(a)
			db, _ := Parse(b)
			d, err := Diff(a, b)
			if err != nil || d != da.HeaderDistance(db, true)+da.BodyDistance(db) {
				t.Fatalf("Diff(%s, %s) = %d, %v; parts disagree", a, b, d, err)
			}
			if k := modDiff(da.LValue, db.LValue, 256); k > 1 {
				gaps++
				if d < 12*k {
					t.Errorf("Diff(%s, %s) = %d under 12*%d", a, b, d, k)
				}
			}
		}
	}
	if gaps < 100 {
		t.Fatalf("only %d pairs with length gaps", gaps)
	}
}

func TestResultIsFinal(t *testing.T) {
	data := text(5, 5000)
	s := New()
	s.Write(data)
	first := s.Result()
	s.Write([]byte("more"))
	if second := s.Result(); second != first || first != digestOf(t, data, 512) || first == "" {
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
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<10 {
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

func BenchmarkDiff(b *testing.B) {
	x, y := known["text4096"], known["text1m"]
	for b.Loop() {
		Diff(x, y)
	}
}

// onlyReader hides bytes.Reader's WriteTo, so io.CopyBuffer really
// writes in pieces of the buffer's size.
type onlyReader struct{ io.Reader }
