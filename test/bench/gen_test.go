package main

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"dewar/analyzers/ssdeep"
	"dewar/analyzers/tlsh"
	"dewar/gateway/analyze"
	"dewar/index"
)

// TestKitZipDeterministic checks that the kit is the same bytes for a
// seed, is a valid zip with the files it reports, and that another seed
// gives other bytes.
func TestKitZipDeterministic(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, seed uint64) ([]byte, archiveInfo) {
		info, err := writeKitZip(filepath.Join(dir, name), seed, 60)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(info.Path)
		if err != nil {
			t.Fatal(err)
		}
		return b, info
	}
	a, info := write("a.zip", 1)
	b, _ := write("b.zip", 1)
	c, _ := write("c.zip", 2)
	if !bytes.Equal(a, b) {
		t.Fatal("same seed, different bytes")
	}
	if bytes.Equal(a, c) {
		t.Fatal("different seeds, same bytes")
	}
	if info.ZipBytes != int64(len(a)) || info.Files != 60 || info.TextFiles+info.Images+info.Other != 60 {
		t.Fatalf("info %+v for a %d-byte zip", info, len(a))
	}
	zr, err := zip.NewReader(bytes.NewReader(a), int64(len(a)))
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, f := range zr.File {
		total += int64(f.UncompressedSize64)
	}
	if len(zr.File) != 60 || total != info.Bytes {
		t.Fatalf("zip has %d files, %d bytes; info says %d, %d", len(zr.File), total, info.Files, info.Bytes)
	}
}

// TestBigZipUniqueFiles checks that the large archive reaches its size
// and that no two of its files are equal (deduplication must not
// shorten the ingest).
func TestBigZipUniqueFiles(t *testing.T) {
	info, err := writeBigZip(filepath.Join(t.TempDir(), "big.zip"), 12<<20, 7)
	if err != nil {
		t.Fatal(err)
	}
	if info.ZipBytes < 12<<20 || info.TextFiles == 0 || info.Other == 0 {
		t.Fatalf("info %+v", info)
	}
	zr, err := zip.OpenReader(info.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	seen := map[uint32]string{}
	for _, f := range zr.File {
		if other, ok := seen[f.CRC32]; ok {
			t.Fatalf("%s and %s have the same CRC", f.Name, other)
		}
		seen[f.CRC32] = f.Name
	}
}

// TestTLSHLength checks the synthesised length bucket against the real
// analyzer's for sizes across the three ranges of TLSH's formula.
func TestTLSHLength(t *testing.T) {
	g := newKitGen(9)
	for _, n := range []int{300, 656, 657, 2000, 3199, 3200, 20000, 300000} {
		body := g.php(n)[:n]
		s := tlsh.New()
		s.Write(body)
		d, err := tlsh.Parse(s.Result())
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if got := tlshLength(n); got != d.LValue {
			t.Errorf("%d bytes: tlshLength %d, analyzer %d", n, got, d.LValue)
		}
	}
}

// TestCorpusDeterministic checks that a job's record and result are a
// pure function of its number (the queries rely on it).
func TestCorpusDeterministic(t *testing.T) {
	c := corpusFor(true)
	j1, r1 := c.jobOf(123, true)
	j2, r2 := c.jobOf(123, true)
	r1.Commit, r2.Commit = nil, nil
	if !reflect.DeepEqual(j1, j2) || !reflect.DeepEqual(r1, r2) {
		t.Fatal("job 123 differs between two calls")
	}
	if len(r1.Files) != c.JobSize+3 || len(r1.Tree) != c.JobSize+2 || len(r1.Analyses) != len(r1.Files) {
		t.Fatalf("%d files, %d paths, %d analyses", len(r1.Files), len(r1.Tree), len(r1.Analyses))
	}
	for _, a := range r1.Analyses {
		if _, err := ssdeep.Parse(a.SSDeep); err != nil {
			t.Errorf("ssdeep %q: %v", a.SSDeep, err)
		}
		if _, err := tlsh.Parse(a.TLSH); err != nil {
			t.Errorf("tlsh %q: %v", a.TLSH, err)
		}
	}
}

// TestCorpusFamilies checks that near-duplicates are similar by the
// gateway's own comparisons and unrelated files are not, and that the
// keys the index gets make them candidates of each other.
func TestCorpusFamilies(t *testing.T) {
	c := corpusFor(true)
	var fam []index.Analysis
	want := -1
	for n := 0; len(fam) < 2 && n < c.Files(); n += simEvery {
		id := fileID{'f', n}
		f := c.family(id)
		if f < 0 || (want >= 0 && f != want) {
			continue
		}
		want = f
		fam = append(fam, c.analysisOf(id, id.file(), true))
	}
	if len(fam) < 2 {
		t.Fatal("no family with two members")
	}
	for _, m := range []string{analyze.MethodSSDeep, analyze.MethodTLSH, analyze.MethodMinHash} {
		if _, ok := analyze.Compare(m, fam[0], fam[1]); !ok {
			t.Errorf("family members not similar by %s", m)
		}
		if !shareKey(analyze.KeysOf(fam[0], m), analyze.KeysOf(fam[1], m)) && m != analyze.MethodTLSH {
			t.Errorf("family members share no %s key", m)
		}
	}
	other := fileID{'f', 8}
	oa := c.analysisOf(other, other.file(), true)
	for _, m := range analyze.Methods {
		if _, ok := analyze.Compare(m, fam[0], oa); ok {
			t.Errorf("unrelated file similar by %s", m)
		}
	}
}

func shareKey(a, b []int64) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

// TestReadJobLog checks the parsing of the server's job lines.
func TestReadJobLog(t *testing.T) {
	log := `time=2026-11-27T06:42:26.178Z level=INFO msg="job submitted" job=AAA name=kit-1.zip
time=2026-11-27T06:42:46.085Z level=INFO msg="ingest: job finished" job=AAA name=kit-1.zip attempt=1 status=done error="" files=2501 new_files=2501 bytes=1 new_bytes=1 analysed=2102 took=19.907s
time=2026-11-27T06:42:53.629Z level=INFO msg="ingest: job finished" job=BBB name=kit-2.zip attempt=1 status=done error="" files=2501 new_files=0 bytes=1 new_bytes=0 analysed=0 took=7.533s
time=2026-11-27T06:42:53.883Z level=INFO msg="ingest: analysed the files over the analysis budget" job=AAA files=180 of=399
`
	p := filepath.Join(t.TempDir(), "dewar.log")
	if err := os.WriteFile(p, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		job  string
		want jobLine
	}{
		{"AAA", jobLine{took: 19.907, analysed: 2102, finished: true, later: time.Date(2026, 11, 27, 6, 42, 53, 883000000, time.UTC)}},
		{"BBB", jobLine{took: 7.533, finished: true}},
		{"CCC", jobLine{}},
	}
	for _, tt := range tests {
		if got := readJobLog(p, tt.job); got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.job, got, tt.want)
		}
	}
	if got := waitAnalysed(context.Background(), p, "BBB", 0, time.Second); !got.IsZero() {
		t.Errorf("waitAnalysed for a job with nothing left: %v", got)
	}
}

func TestPgBackendOf(t *testing.T) {
	tests := []struct{ cmdline, want string }{
		{"postgres: 15/main: postgres dewar_bench_1 127.0.0.1(42094) idle\x00\x00", "dewar_bench_1"},
		{"postgres: postgres dewar_bench_1 [local] SELECT", "dewar_bench_1"},
		{"postgres: 15/main: checkpointer ", ""},
		{"postgres: 15/main: logical replication launcher", ""},
		{"/usr/lib/postgresql/15/bin/postgres\x00-D\x00/var/lib/postgresql", ""},
	}
	for _, tt := range tests {
		if got := pgBackendOf(tt.cmdline); got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.cmdline, got, tt.want)
		}
	}
}

func TestRowTargets(t *testing.T) {
	tests := []struct {
		name string
		r    row
		met  bool
	}{
		{"time within 1.5x", maxRatioRow("x", 1.4, "s", "ref", 1, 1.5), true},
		{"time over 1.5x", maxRatioRow("x", 1.6, "s", "ref", 1, 1.5), false},
		{"time without reference", maxRatioRow("x", 1, "s", "ref", 0, 1.5), false},
		{"throughput at 70%", ratioRow("x", 70, "MB/s", "ref", 100, 0.70), true},
		{"throughput under 70%", ratioRow("x", 69, "MB/s", "ref", 100, 0.70), false},
	}
	for _, tt := range tests {
		if tt.r.Met == nil || *tt.r.Met != tt.met {
			t.Errorf("%s: met %v, want %v", tt.name, tt.r.Met, tt.met)
		}
	}
}

func TestParsePhases(t *testing.T) {
	tests := []struct {
		in      string
		want    map[string]bool
		wantErr bool
	}{
		{"s3,ingest,storage,search", map[string]bool{"s3": true, "ingest": true, "storage": true, "search": true}, false},
		{" search ", map[string]bool{"search": true}, false},
		{"s3,bogus", nil, true},
		{",", nil, true},
	}
	for _, tt := range tests {
		got, err := parsePhases(tt.in)
		if (err != nil) != tt.wantErr || (!tt.wantErr && !reflect.DeepEqual(got, tt.want)) {
			t.Errorf("%q: got %v, %v", tt.in, got, err)
		}
	}
}
