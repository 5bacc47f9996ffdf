package imagehash

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"
)

func analyse(t testing.TB, data []byte, chunkSize int, o Options) (Result, error) {
	t.Helper()
	s := NewWithOptions(o)
	if _, err := io.CopyBuffer(s, onlyReader{bytes.NewReader(data)}, make([]byte, chunkSize)); err != nil {
		t.Fatal(err)
	}
	return s.Result()
}

func mustHash(t testing.TB, data []byte) Result {
	t.Helper()
	r, err := analyse(t, data, 4096, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.PDQ == "" || r.PHash == "" {
		t.Fatalf("no hashes: %+v", r)
	}
	return r
}

func distance(t testing.TB, f func(a, b string) (int, error), a, b string) int {
	t.Helper()
	d, err := f(a, b)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// known are regression vectors computed by this package (not by the
// reference tools, which are not packaged for Debian): a change here is a
// change of hash and must bump Version.
var known = []struct {
	name string
	data func(t testing.TB) []byte
	want Result
}{
	{"scene 300x200 png", func(t testing.TB) []byte { return encodePNG(t, scene(300, 200, 0)) },
		Result{"png", 300, 200, "6d892c79699671894dceafc66e73a18366e98e44b6699f07d55654c924545936", 100, "ae369549b5704b95"}},
	{"scene 1200x800 png (sampled to 512x512)", func(t testing.TB) []byte { return encodePNG(t, scene(1200, 800, 0)) },
		Result{"png", 1200, 800, "6d896c79799671b94d8e2f8e6c73a18364e98ec4b649be87955654c924545936", 100, "ae369549b5704b95"}},
	{"scene 64x64 png (no blur)", func(t testing.TB) []byte { return encodePNG(t, scene(64, 64, 1)) },
		Result{"png", 64, 64, "64b52444aa755e4caa74af0b454bae5953ce54ab5d4b0783738272ab7bba847c", 100, "9d1fae6aa0e0696a"}},
	{"grey 300x200 png", func(t testing.TB) []byte { return encodePNG(t, gray(scene(300, 200, 1))) },
		Result{"png", 300, 200, "75ab8a7452e8164451a60e5b72cb1d4bee3529aa2a13fd83ab07bb2bab3644dc", 100, "991d376af068652e"}},
}

func TestKnownHashes(t *testing.T) {
	for _, tc := range known {
		data := tc.data(t)
		for _, n := range []int{7, 1000, 1 << 20} {
			got, err := analyse(t, data, n, Options{})
			if err != nil || got != tc.want {
				t.Errorf("%s (writes of %d): got %+v, %v; want %+v", tc.name, n, got, err, tc.want)
			}
		}
	}
}

// TestFormats: the same picture in every supported encoding gets close
// hashes; lossless encodings of the same pixels get identical ones.
func TestFormats(t *testing.T) {
	img := scene(300, 200, 0)
	ref := mustHash(t, encodePNG(t, img))
	if ref.Format != "png" || ref.Width != 300 || ref.Height != 200 || ref.PDQQuality < 50 {
		t.Fatalf("png: %+v", ref)
	}
	if n := onesPDQ(t, ref.PDQ); n != 128 {
		t.Errorf("PDQ sets %d bits, want 128 (one per coefficient above the median)", n)
	}
	for _, tc := range []struct {
		name          string
		data          []byte
		format        string
		maxPDQ, maxPH int
	}{
		{"bmp", encodeBMP(t, img), "bmp", 0, 0},
		{"jpeg q95", encodeJPEG(t, img, 95), "jpeg", 12, 4},
		{"jpeg q40", encodeJPEG(t, img, 40), "jpeg", 24, 6},
		{"gif", encodeGIF(t, img), "gif", 24, 6},
		{"paletted png", encodePNG(t, paletted(img)), "png", 32, 6}, // Plan 9 palette, no dithering
	} {
		r := mustHash(t, tc.data)
		dp := distance(t, PDQDistance, ref.PDQ, r.PDQ)
		dh := distance(t, PHashDistance, ref.PHash, r.PHash)
		if r.Format != tc.format || r.Width != 300 || r.Height != 200 || dp > tc.maxPDQ || dh > tc.maxPH {
			t.Errorf("%s: %+v; PDQ distance %d (max %d), pHash distance %d (max %d)", tc.name, r, dp, tc.maxPDQ, dh, tc.maxPH)
		}
	}
}

// TestSimilarity: resized copies match, a different picture does not.
func TestSimilarity(t *testing.T) {
	ref := mustHash(t, encodePNG(t, scene(300, 200, 0)))
	for _, tc := range []struct {
		name    string
		img     image.Image
		similar bool
	}{
		{"larger 600x400", scene(600, 400, 0), true},
		{"over 512: 1200x800", scene(1200, 800, 0), true},
		{"smaller 150x100", scene(150, 100, 0), true},
		{"other picture", scene(300, 200, 1), false},
	} {
		r := mustHash(t, encodePNG(t, tc.img))
		dp := distance(t, PDQDistance, ref.PDQ, r.PDQ)
		dh := distance(t, PHashDistance, ref.PHash, r.PHash)
		if tc.similar && (dp > PDQMatch || dh > 10) || !tc.similar && (dp <= 60 || dh <= 16) {
			t.Errorf("%s: PDQ distance %d, pHash distance %d (similar=%v)", tc.name, dp, dh, tc.similar)
		}
	}
}

// TestGrey: a grey image hashes from its grey values, as the reference
// does for one-channel images, and close to its colour original.
func TestGrey(t *testing.T) {
	img := scene(300, 200, 0)
	g := mustHash(t, encodePNG(t, gray(img)))
	c := mustHash(t, encodePNG(t, img))
	if d := distance(t, PDQDistance, g.PDQ, c.PDQ); d > 40 {
		t.Errorf("grey vs colour PDQ distance %d", d)
	}
}

// TestPDQLayout checks the bit layout against the DCT's symmetries, which
// the reference uses for its dihedral hashes: mirroring the picture
// negates alternate coefficient rows or columns, transposing it
// transposes the block. A mistake in the order of rows, columns or bits
// would put these ~128 bits apart instead of a few.
func TestPDQLayout(t *testing.T) {
	// 320 = 64*5: odd box windows (3) and decimation centres that mirror
	// exactly, so only float summation order differs.
	img := scene(320, 320, 0)
	c, _, ok := pdqCoefficients(img)
	if !ok {
		t.Fatal("no coefficients")
	}
	for _, tc := range []struct {
		name string
		img  image.Image
		f    func(i, j int) (int, int, bool) // source cell and negate
	}{
		{"left-right", mirror(img, true), func(i, j int) (int, int, bool) { return i, j, j&1 == 0 }},
		{"top-bottom", mirror(img, false), func(i, j int) (int, int, bool) { return i, j, i&1 == 0 }},
		{"transpose", transpose(img), func(i, j int) (int, int, bool) { return j, i, false }},
	} {
		var want [16][16]float32
		for i := range 16 {
			for j := range 16 {
				si, sj, neg := tc.f(i, j)
				want[i][j] = c[si][sj]
				if neg {
					want[i][j] = -want[i][j]
				}
			}
		}
		got, _, _ := pdqHash(tc.img)
		if d := distance(t, PDQDistance, got, pdqBits(&want)); d > 6 {
			t.Errorf("%s: %d bits from the transformed hash", tc.name, d)
		}
	}
}

func onesPDQ(t testing.TB, h string) int {
	t.Helper()
	zero := strings.Repeat("0", 64)
	return distance(t, PDQDistance, h, zero)
}

func TestFlatAndTiny(t *testing.T) {
	r := mustHash(t, encodePNG(t, flat(64, 48)))
	if r.PDQQuality != 0 {
		t.Errorf("flat image quality %d, want 0", r.PDQQuality)
	}
	// The same pixels as lossless WebP hash the same.
	if w := mustHash(t, webpLossless()); w.Format != "webp" || w.Width != 64 || w.Height != 48 || w.PDQ != r.PDQ || w.PHash != r.PHash {
		t.Errorf("webp %+v, png %+v", w, r)
	}
	for _, size := range [][2]int{{1, 1}, {4, 4}, {4, 100}, {100, 4}} {
		r, err := analyse(t, encodePNG(t, scene(size[0], size[1], 0)), 4096, Options{})
		if err != nil || r.PDQ != "" || r.PHash != "" || r.Format != "png" || r.Width != size[0] || r.Height != size[1] {
			t.Errorf("%dx%d: %+v, %v; want dimensions and no hashes", size[0], size[1], r, err)
		}
	}
	r, err := analyse(t, encodePNG(t, scene(5, 5, 0)), 4096, Options{})
	if err != nil || r.PDQ == "" || r.PHash == "" {
		t.Errorf("5x5: %+v, %v; want hashes", r, err)
	}
}

// TestNotImages: other files give an empty result, no error, and are not
// kept past their first bytes.
func TestNotImages(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"text", []byte(strings.Repeat("<?php echo 'hello'; ?>\n", 1000))},
		{"BM text", []byte("BMW owners club newsletter, issue 4: spring rally\n")},
		{"short", []byte("GIF")},
		{"RIFF wav", append([]byte("RIFF\x24\x00\x00\x00WAVEfmt "), make([]byte, 100)...)},
		{"zip", append([]byte("PK\x03\x04"), make([]byte, 5000)...)},
	} {
		s := New()
		s.Write(tc.data)
		if s.buf != nil && len(tc.data) >= sniffLen {
			t.Errorf("%s: %d bytes still buffered", tc.name, len(s.buf))
		}
		r, err := s.Result()
		if err != nil || r != (Result{}) {
			t.Errorf("%s: %+v, %v; want nothing", tc.name, r, err)
		}
	}
}

// TestBombs: headers claiming huge images are refused before decoding,
// from the header alone, quickly and without buffering what follows.
func TestBombs(t *testing.T) {
	for _, tc := range []struct {
		name   string
		head   []byte
		format string
		pixels int64
	}{
		{"png 100000x100000", pngHeader(100000, 100000), "png", 1e10},
		{"jpeg 65500x65500", jpegHeader(65500, 65500), "jpeg", 65500 * 65500},
		{"gif 65535x65535", gifHeader(65535, 65535), "gif", 65535 * 65535},
		{"webp 16384x16384", webpHeader(16384, 16384), "webp", 16384 * 16384},
	} {
		junk := make([]byte, 64<<10)
		var before, after runtime.MemStats
		start := time.Now()
		runtime.ReadMemStats(&before)
		s := New()
		s.Write(tc.head)
		for range 160 { // 10 MiB of "compressed data"
			s.Write(junk)
		}
		r, err := s.Result()
		runtime.ReadMemStats(&after)
		var le *LimitError
		if !errors.Is(err, ErrLimit) || !errors.As(err, &le) || le.Limit != "pixels" || le.Value != tc.pixels || le.Max != DefaultMaxPixels {
			t.Errorf("%s: err %v; want a pixel LimitError of %d", tc.name, err, tc.pixels)
		}
		if r.Format != tc.format || r.PDQ != "" {
			t.Errorf("%s: %+v", tc.name, r)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 256<<10 {
			t.Errorf("%s: allocated %d bytes", tc.name, grew)
		}
		t.Logf("%s: refused in %v", tc.name, time.Since(start))
	}
}

// TestBrokenHeader: a header no decoder accepts stops buffering once
// headerWindow bytes are in.
func TestBrokenHeader(t *testing.T) {
	s := New()
	s.Write(pngHeader(1<<31-1, 1<<31-1)) // over what Go's PNG decoder takes
	junk := make([]byte, 64<<10)
	for i := 0; i < 160; i++ {
		s.Write(junk)
		if in := int64(i+1) * int64(len(junk)); in > headerWindow && (s.state != refused || s.buf != nil) {
			t.Fatalf("still buffering %d bytes after %d written", len(s.buf), in)
		}
	}
	r, err := s.Result()
	if !errors.Is(err, ErrCorrupt) || r.Format != "png" {
		t.Errorf("%+v, %v; want ErrCorrupt", r, err)
	}
}

// TestEveryPrefix: whatever the first write holds of a good image, the
// header check waits for more instead of refusing it.
func TestEveryPrefix(t *testing.T) {
	img := scene(40, 30, 0)
	for _, tc := range []struct {
		format string
		data   []byte
	}{
		{"png", encodePNG(t, img)},
		{"jpeg", encodeJPEG(t, img, 90)},
		{"gif", encodeGIF(t, img)},
		{"bmp", encodeBMP(t, img)},
		{"webp", webpLossless()},
	} {
		want := mustHash(t, tc.data)
		for n := 1; n < len(tc.data); n++ {
			s := New()
			s.Write(tc.data[:n])
			if s.state != sniffing && s.state != buffering {
				t.Fatalf("%s: first write of %d of %d bytes: state %d, %v", tc.format, n, len(tc.data), s.state, s.err)
			}
			if n%97 == 0 {
				s.Write(tc.data[n:])
				if got, err := s.Result(); err != nil || got != want {
					t.Fatalf("%s split at %d: %+v, %v; want %+v", tc.format, n, got, err, want)
				}
			}
		}
	}
}

func TestLimits(t *testing.T) {
	data := encodePNG(t, scene(300, 200, 0))
	_, err := analyse(t, data, 1000, Options{MaxBytes: int64(len(data)) - 1})
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != "bytes" || le.Max != int64(len(data))-1 {
		t.Errorf("byte limit: %v", err)
	}
	_, err = analyse(t, data, 1000, Options{MaxPixels: 300*200 - 1})
	if !errors.As(err, &le) || le.Limit != "pixels" || le.Value != 300*200 {
		t.Errorf("pixel limit: %v", err)
	}
	if r, err := analyse(t, data, 1000, Options{MaxBytes: int64(len(data)), MaxPixels: 300 * 200}); err != nil || r.PDQ == "" {
		t.Errorf("at the limits: %+v, %v", r, err)
	}
	if !strings.Contains(le.Error(), "60000 pixels") {
		t.Errorf("message %q", le.Error())
	}
}

// TestTruncated: images cut short are reported as corrupt, with what the
// header told.
func TestTruncated(t *testing.T) {
	img := scene(300, 200, 0)
	for _, tc := range []struct {
		format string
		data   []byte
	}{
		{"png", encodePNG(t, img)},
		{"jpeg", encodeJPEG(t, img, 90)},
		{"gif", encodeGIF(t, img)},
		{"bmp", encodeBMP(t, img)},
	} {
		for _, cut := range []int{20, 40, len(tc.data) / 2, len(tc.data) - 30} {
			r, err := analyse(t, tc.data[:cut], 512, Options{})
			if !errors.Is(err, ErrCorrupt) || r.Format != tc.format || r.PDQ != "" {
				t.Errorf("%s cut to %d of %d bytes: %+v, %v; want ErrCorrupt", tc.format, cut, len(tc.data), r, err)
			}
		}
	}
}

func TestResultIsFinal(t *testing.T) {
	data := encodePNG(t, scene(64, 64, 0))
	s := New()
	s.Write(data)
	r1, err1 := s.Result()
	s.Write([]byte("more"))
	r2, err2 := s.Result()
	if r1 != r2 || err1 != nil || err2 != nil || r1.PDQ == "" || s.buf != nil {
		t.Errorf("%+v, %v then %+v, %v", r1, err1, r2, err2)
	}
}

func TestDistances(t *testing.T) {
	p0 := strings.Repeat("0", 64)
	pf := strings.Repeat("f", 64)
	for _, tc := range []struct {
		f    func(a, b string) (int, error)
		a, b string
		want int
		err  bool
	}{
		{PDQDistance, p0, p0, 0, false},
		{PDQDistance, p0, pf, 256, false},
		{PDQDistance, p0, "8" + p0[1:], 1, false},
		{PHashDistance, "0000000000000000", "ffffffffffffffff", 64, false},
		{PHashDistance, "00000000000000a0", "0000000000000005", 4, false},
		{PDQDistance, p0, "", 0, true},
		{PDQDistance, p0, "g" + p0[1:], 0, true},
		{PHashDistance, p0, p0, 0, true},
	} {
		d, err := tc.f(tc.a, tc.b)
		if tc.err != errors.Is(err, ErrMalformed) || !tc.err && d != tc.want {
			t.Errorf("distance(%q, %q) = %d, %v; want %d (error %v)", tc.a, tc.b, d, err, tc.want, tc.err)
		}
	}
}

func TestMedianSplit(t *testing.T) {
	var c [16][16]float32
	for i := range 16 {
		for j := range 16 {
			c[i][j] = float32((i*16+j)*37%256) - 100
		}
	}
	h := pdqBits(&c)
	// Values 0..255 shuffled: exactly those above the 128th smallest set.
	n := 0
	for k := range 256 {
		word, bit := k>>4, k&15
		var w uint16
		fmt.Sscanf(h[4*(15-word):4*(15-word)+4], "%04x", &w)
		set := w>>bit&1 == 1
		if set != (c[k/16][k%16] > 27) {
			t.Fatalf("bit %d = %v for %v", k, set, c[k/16][k%16])
		}
		if set {
			n++
		}
	}
	if n != 128 {
		t.Errorf("%d bits set", n)
	}
}

func BenchmarkSinkPNG(b *testing.B) {
	benchSink(b, encodePNG(b, scene(1024, 768, 0)), 1024*768)
}

func BenchmarkSinkJPEG(b *testing.B) {
	benchSink(b, encodeJPEG(b, scene(1024, 768, 0), 90), 1024*768)
}

// BenchmarkSinkNotImage is the cost for every other file.
func BenchmarkSinkNotImage(b *testing.B) {
	benchSink(b, bytes.Repeat([]byte("not an image at all "), 1<<16), 0)
}

// benchSink reports MB/s of file and, for images, milliseconds per
// megapixel (decode and both hashes).
func benchSink(b *testing.B, data []byte, pixels int) {
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		s := New()
		for off := 0; off < len(data); off += 1 << 16 {
			s.Write(data[off:min(off+1<<16, len(data))])
		}
		s.Result()
	}
	if pixels > 0 {
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N)/(float64(pixels)/1e6), "ms/MP")
	}
}

// onlyReader hides bytes.Reader's WriteTo, so io.CopyBuffer really
// writes in pieces of the buffer's size.
type onlyReader struct{ io.Reader }
