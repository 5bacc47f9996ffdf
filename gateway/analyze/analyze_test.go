package analyze

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"dewar/analyzers/imagehash"
	"dewar/analyzers/ioc"
	"dewar/analyzers/ssdeep"
	"dewar/analyzers/tlsh"
	"dewar/analyzers/tokens"
	"dewar/index"
)

func analyze(t *testing.T, data []byte, mimeHint string) index.Analysis {
	t.Helper()
	a, err := Analyze(context.Background(), bytes.NewReader(data), mimeHint, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

type iocWant struct{ typ, value, chain string }

// TestAnalyzeIOCs: indicators planted in PHP, JavaScript and HTML, plain
// and behind base64, hex, rot13, base64-of-hex and HTML entities, come
// out with their decode chains.
func TestAnalyzeIOCs(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want []iocWant
	}{
		{"php", kitPHP(0), []iocWant{
			{"email", plainEmail, ""},
			{"telegram-token", botToken, ""},
			{"telegram-chat", chatID, ""},
			{"url", base64URL, "base64"},
			{"url", hexURL, "hex"},
			{"url", rot13URL, "rot13"},
			{"domain", nestedDomain, "base64>hex"},
		}},
		{"js", kitJS(), []iocWant{{"url", jsURL, ""}, {"domain", "js.evil.example", ""}}},
		{"html", kitHTML(), []iocWant{{"url", htmlAction, ""}, {"email", "support@html.evil.example", "html"}}},
		{"unrelated", unrelatedText(), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := analyze(t, tt.data, "")
			got := map[iocWant]index.IOC{}
			for _, c := range a.IOCs {
				got[iocWant{c.Type, c.Value, c.Chain}] = c
			}
			for _, w := range tt.want {
				c, ok := got[w]
				if !ok {
					t.Errorf("missing %+v; got %+v", w, a.IOCs)
					continue
				}
				if !strings.Contains(c.Context, w.value) && w.chain == "" {
					t.Errorf("%+v: context %q lacks the value", w, c.Context)
				}
			}
			if tt.want == nil && len(a.IOCs) != 0 {
				t.Errorf("unexpected IOCs %+v", a.IOCs)
			}
		})
	}
}

// TestIOCMapping: the analyzer's indicators map field by field, the
// chain joined outermost first.
func TestIOCMapping(t *testing.T) {
	in := []ioc.Indicator{
		{Type: ioc.IP, Value: "10.0.0.1", Class: ioc.Private, Context: "ip 10.0.0.1 x"},
		{Type: ioc.URL, Value: "http://a.example/", Chain: []string{"base64", "hex", "rot13"}, Context: "c"},
	}
	got := IOCs(in)
	want := []index.IOC{
		{Type: "ip", Value: "10.0.0.1", Class: "private", Context: "ip 10.0.0.1 x"},
		{Type: "url", Value: "http://a.example/", Chain: "base64>hex>rot13", Context: "c"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("IOCs = %+v, want %+v", got, want)
	}
	if IOCs(nil) != nil {
		t.Fatal("no indicators must map to nil")
	}
}

func methods(a index.Analysis) map[string]int {
	m := map[string]int{}
	for _, k := range a.Keys {
		m[k.Method]++
	}
	return m
}

// TestAnalyzeWhatRuns: which analyses and keys each kind of file gets.
func TestAnalyzeWhatRuns(t *testing.T) {
	var zipped bytes.Buffer
	zw := zip.NewWriter(&zipped)
	for _, store := range []bool{false, true} {
		h := &zip.FileHeader{Name: "kit/post.php", Method: zip.Deflate}
		if store {
			h.Name, h.Method = "kit/stored.php", zip.Store
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(kitPHP(0))
	}
	zw.Close()

	type want struct {
		lang        string
		tokens      bool
		minhash     bool
		iocs        bool
		image       bool
		tlsh        bool
		keyMethods  []string // methods with keys
		pdq, phashN int      // key counts
	}
	tests := []struct {
		name, mime string
		data       []byte
		want       want
	}{
		{"php", "", kitPHP(0), want{lang: "php", tokens: true, minhash: true, iocs: true, tlsh: true, keyMethods: []string{"minhash", "ssdeep"}}},
		{"js", "", kitJS(), want{lang: "js", tokens: true, minhash: true, iocs: true, tlsh: true, keyMethods: []string{"minhash", "ssdeep"}}},
		{"html", "text/html", kitHTML(), want{lang: "html", tokens: true, minhash: true, iocs: true, tlsh: true, keyMethods: []string{"minhash", "ssdeep"}}},
		{"png", "", encodePNG(testImage(0)), want{image: true, tlsh: true, keyMethods: []string{"pdq", "phash", "ssdeep"}, pdq: 16, phashN: 8}},
		{"jpeg", "image/jpeg", encodeJPEG(testImage(0), 80), want{image: true, tlsh: true, keyMethods: []string{"pdq", "phash", "ssdeep"}, pdq: 16, phashN: 8}},
		{"binary", "", randomBytes(64<<10, 1), want{tlsh: true, keyMethods: []string{"ssdeep"}}},
		// An image named by a wrong hint is still sniffed from its bytes.
		{"png-wrong-hint", "application/octet-stream", encodePNG(testImage(0)), want{image: true, tlsh: true, keyMethods: []string{"pdq", "phash", "ssdeep"}, pdq: 16, phashN: 8}},
		// Archives: fuzzy hashes only, even when a member is stored raw.
		{"zip", "", zipped.Bytes(), want{tlsh: true, keyMethods: []string{"ssdeep"}}},
		{"tiny", "", []byte("hi"), want{lang: "text", tokens: true, keyMethods: []string{"ssdeep"}}},
		{"empty", "", nil, want{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := analyze(t, tt.data, tt.mime)
			w := tt.want
			if a.Language != w.lang {
				t.Errorf("Language = %q, want %q", a.Language, w.lang)
			}
			if (len(a.Tokens) > 0) != w.tokens || (len(a.MinHash) > 0) != w.minhash {
				t.Errorf("tokens %d, minhash %d; want %v, %v", len(a.Tokens), len(a.MinHash), w.tokens, w.minhash)
			}
			if (len(a.IOCs) > 0) != w.iocs {
				t.Errorf("IOCs %+v, want some: %v", a.IOCs, w.iocs)
			}
			if (a.PDQ != "" && a.PHash != "") != w.image {
				t.Errorf("PDQ %q PHash %q, want image hashes: %v", a.PDQ, a.PHash, w.image)
			}
			if (a.TLSH != "") != w.tlsh {
				t.Errorf("TLSH %q, want one: %v", a.TLSH, w.tlsh)
			}
			if a.SSDeep == "" {
				t.Error("every file gets an ssdeep hash")
			}
			m := methods(a)
			got := slices.Sorted(maps.Keys(m))
			if !slices.Equal(got, w.keyMethods) {
				t.Errorf("key methods %v, want %v", got, w.keyMethods)
			}
			if m["pdq"] != w.pdq || m["phash"] != w.phashN {
				t.Errorf("pdq/phash keys %d/%d, want %d/%d", m["pdq"], m["phash"], w.pdq, w.phashN)
			}
			if w.minhash && m["minhash"] != tokens.NumBands {
				t.Errorf("minhash keys %d, want %d", m["minhash"], tokens.NumBands)
			}
			if !maps.Equal(a.Versions, Versions()) {
				t.Errorf("Versions %v, want %v", a.Versions, Versions())
			}
			if !a.Ref.IsZero() || a.AnalyzedAt.IsZero() {
				t.Errorf("Ref %v (want zero), AnalyzedAt %v (want set)", a.Ref, a.AnalyzedAt)
			}
		})
	}
}

// TestVersions names every analysis a record reflects.
func TestVersions(t *testing.T) {
	v := Versions()
	want := map[string]int{ssdeep.Name: ssdeep.Version, tlsh.Name: tlsh.Version, imagehash.Name: imagehash.Version,
		ioc.Name: ioc.Version, tokens.Name: tokens.Version, Name: Version}
	if !maps.Equal(v, want) {
		t.Fatalf("Versions() = %v, want %v", v, want)
	}
	v[Name] = 99
	if Versions()[Name] != Version {
		t.Fatal("Versions must return a fresh map")
	}
}

// TestLowQualityPDQ: a flat image has a PDQ of low quality: recorded,
// but without keys (its hash would collide with every other flat image).
func TestLowQualityPDQ(t *testing.T) {
	img := testImage(0)
	for i := range img.Pix {
		if i%4 != 3 {
			img.Pix[i] = 128
		}
	}
	a := analyze(t, encodePNG(img), "")
	if a.PHash == "" {
		t.Fatal("a flat image still has a pHash")
	}
	if n := methods(a)["pdq"]; n != 0 {
		t.Fatalf("low-quality PDQ %q got %d keys", a.PDQ, n)
	}
}

// TestAnalyzeNow: AnalyzedAt comes from Options.Now, in UTC.
func TestAnalyzeNow(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.FixedZone("x", 3600))
	a, err := Analyze(context.Background(), strings.NewReader("hello"), "", Options{Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	if !a.AnalyzedAt.Equal(at) || a.AnalyzedAt.Location() != time.UTC {
		t.Fatalf("AnalyzedAt = %v", a.AnalyzedAt)
	}
}

type failingReader struct{ n int }

var errRead = errors.New("read failed")

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errRead
	}
	n := min(len(p), f.n)
	f.n -= n
	return n, nil
}

// TestAnalyzeErrors: a failing reader or a cancelled context is an error;
// nothing else is.
func TestAnalyzeErrors(t *testing.T) {
	_, err := Analyze(context.Background(), &failingReader{n: 200 << 10}, "", Options{})
	if !errors.Is(err, errRead) {
		t.Fatalf("failing reader: %v", err)
	}
	_, err = Analyze(context.Background(), &failingReader{n: 10}, "", Options{})
	if !errors.Is(err, errRead) {
		t.Fatalf("failing reader in the head: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = Analyze(ctx, io.LimitReader(zeros{}, 1<<30), "", Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	// A corrupt image is analysed as what it is: no image hashes.
	bad := encodePNG(testImage(0))[:300]
	a := analyze(t, bad, "")
	if a.PDQ != "" || methods(a)["pdq"] != 0 || a.SSDeep == "" {
		t.Fatalf("truncated PNG: %+v", a)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestIsArchive: the archive types the mime analyzer names.
func TestIsArchive(t *testing.T) {
	for _, m := range []string{"application/zip", "application/gzip", "application/x-tar", "application/x-bzip2",
		"application/x-xz", "application/zstd", "application/x-7z-compressed", "application/vnd.rar"} {
		if !IsArchive(m) {
			t.Errorf("IsArchive(%q) = false", m)
		}
	}
	for _, m := range []string{"", "text/x-php", "text/html", "image/png", "application/octet-stream", "application/pdf"} {
		if IsArchive(m) {
			t.Errorf("IsArchive(%q) = true", m)
		}
	}
}
