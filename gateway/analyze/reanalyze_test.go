package analyze

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"dewar/cas"
	"dewar/index"
)

// fakeIndex is the index's analysis contract over maps: StaleFiles in ref
// order above after, SetAnalysis only for known files.
type fakeIndex struct {
	mu       sync.Mutex
	files    map[cas.Ref]index.File
	analyses map[cas.Ref]index.Analysis
	sets     int
}

func (f *fakeIndex) GetFile(_ context.Context, ref cas.Ref) (index.File, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	x, ok := f.files[ref]
	if !ok {
		return index.File{}, index.ErrFileNotFound
	}
	return x, nil
}

func (f *fakeIndex) ListFiles(context.Context, index.FileListOptions) ([]index.File, bool, error) {
	return nil, false, errors.New("not used")
}

func (f *fakeIndex) SetAnalysis(_ context.Context, a index.Analysis) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.files[a.Ref]; !ok {
		return index.ErrFileNotFound
	}
	f.analyses[a.Ref] = a
	f.sets++
	return nil
}

func (f *fakeIndex) SetAnalyses(ctx context.Context, as []index.Analysis) error {
	for _, a := range as {
		if _, ok := f.files[a.Ref]; !ok {
			return index.ErrFileNotFound
		}
	}
	for _, a := range as {
		if err := f.SetAnalysis(ctx, a); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeIndex) GetAnalysis(_ context.Context, ref cas.Ref) (index.Analysis, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.analyses[ref]
	if !ok {
		return index.Analysis{}, index.ErrAnalysisNotFound
	}
	return a, nil
}

func (f *fakeIndex) Unanalysed(_ context.Context, refs []cas.Ref) ([]cas.Ref, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []cas.Ref
	for _, r := range refs {
		if _, ok := f.analyses[r]; !ok {
			out = append(out, r)
		}
	}
	return out, nil
}

func (f *fakeIndex) StaleFiles(_ context.Context, analyzer string, version int, after cas.Ref, limit int) ([]cas.Ref, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []cas.Ref
	for ref := range f.files {
		if !after.Less(ref) {
			continue
		}
		if v, ok := f.analyses[ref].Versions[analyzer]; ok && v >= version {
			continue
		}
		out = append(out, ref)
	}
	slices.SortFunc(out, func(a, b cas.Ref) int { return bytes.Compare(a.Bytes(), b.Bytes()) })
	return out[:min(len(out), limit)], nil
}

// memStore is a cas.Fetcher over a map.
type memStore map[cas.Ref][]byte

func (m memStore) Fetch(_ context.Context, ref cas.Ref, off, n int64) (io.ReadCloser, error) {
	b, ok := m[ref]
	if !ok {
		return nil, fmt.Errorf("memStore: %s: %w", ref, cas.ErrNotFound)
	}
	return io.NopCloser(bytes.NewReader(b[off:])), nil
}

func refOf(b []byte) cas.Ref {
	sum := sha256.Sum256(b)
	r, err := cas.Parse(fmt.Sprintf("%x", sum))
	if err != nil {
		panic(err)
	}
	return r
}

// world is n distinct kit-like files, stored and known to the index,
// none analysed.
func world(n int) (*fakeIndex, memStore, []cas.Ref) {
	ix := &fakeIndex{files: map[cas.Ref]index.File{}, analyses: map[cas.Ref]index.Analysis{}}
	st := memStore{}
	var refs []cas.Ref
	for i := range n {
		b := append(kitPHP(i), fmt.Sprintf("// file %d\n", i)...)
		ref := refOf(b)
		st[ref] = b
		ix.files[ref] = index.File{Ref: ref, Size: int64(len(b)), MIME: "text/x-php"}
		refs = append(refs, ref)
	}
	return ix, st, refs
}

// counting wraps Analyze, counting runs per file content.
type counting struct {
	mu   sync.Mutex
	runs map[cas.Ref]int
	// before, when set, runs first and may fail or panic.
	before func(ref cas.Ref, n int) error
	total  atomic.Int64
}

func (c *counting) fn(ctx context.Context, r io.Reader, mimeHint string) (index.Analysis, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return index.Analysis{}, err
	}
	ref := refOf(b)
	n := int(c.total.Add(1))
	if c.before != nil {
		if err := c.before(ref, n); err != nil {
			return index.Analysis{}, err
		}
	}
	c.mu.Lock()
	if c.runs == nil {
		c.runs = map[cas.Ref]int{}
	}
	c.runs[ref]++
	c.mu.Unlock()
	return Analyze(ctx, bytes.NewReader(b), mimeHint, Options{})
}

// TestReanalyzeAll: files never analysed get a full record with every
// current version, each exactly once across workers and page edges; a
// second run finds nothing to do.
func TestReanalyzeAll(t *testing.T) {
	for _, tt := range []struct{ workers, page int }{{1, 256}, {4, 3}, {2, 1}} {
		t.Run(fmt.Sprintf("workers=%d,page=%d", tt.workers, tt.page), func(t *testing.T) {
			ix, st, refs := world(10)
			c := &counting{}
			var progress int
			rep, err := Reanalyze(context.Background(), st, ix, ReanalyzeOptions{
				Workers: tt.workers, Page: tt.page, Analyze: c.fn,
				Progress: func(ReanalyzeReport) { progress++ },
			})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Analyzed != 10 || rep.Missing+rep.Failed+rep.Gone != 0 || progress != 10 {
				t.Fatalf("report %+v, %d progress calls", rep, progress)
			}
			var size int64
			for _, ref := range refs {
				size += ix.files[ref].Size
				if c.runs[ref] != 1 {
					t.Errorf("%s analysed %d times", ref, c.runs[ref])
				}
				a := ix.analyses[ref]
				if a.Ref != ref || !mapsEqual(a.Versions, Versions()) || a.SSDeep == "" || len(a.IOCs) == 0 || a.Language != "php" {
					t.Errorf("record of %s: %+v", ref, a)
				}
			}
			if rep.Bytes != size {
				t.Errorf("Bytes = %d, want %d", rep.Bytes, size)
			}
			rep, err = Reanalyze(context.Background(), st, ix, ReanalyzeOptions{Workers: tt.workers, Analyze: c.fn})
			if err != nil || rep != (ReanalyzeReport{}) || c.total.Load() != 10 {
				t.Fatalf("second run: %+v, %v, %d runs in all", rep, err, c.total.Load())
			}
		})
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestReanalyzeVersionBump: records made by an older version of one
// analyzer are redone (only those), by that analyzer's name or by a run
// over all; records of other analyzers' old versions are left to their
// own pass when one analyzer is named.
func TestReanalyzeVersionBump(t *testing.T) {
	ix, st, refs := world(6)
	for i, ref := range refs {
		v := Versions()
		switch {
		case i < 2:
			v["tokens"]-- // made by the tokens analyzer before a bump
		case i < 3:
			delete(v, "ioc") // ioc never ran on it
		}
		ix.analyses[ref] = index.Analysis{Ref: ref, SSDeep: "old", Versions: v}
	}
	c := &counting{}
	rep, err := Reanalyze(context.Background(), st, ix, ReanalyzeOptions{Analyzer: "tokens", Analyze: c.fn})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Analyzed != 2 || c.runs[refs[0]] != 1 || c.runs[refs[1]] != 1 || c.runs[refs[2]] != 0 {
		t.Fatalf("--analyzer tokens: %+v, runs %v", rep, c.runs)
	}
	for _, ref := range refs[:2] {
		if a := ix.analyses[ref]; a.SSDeep == "old" || !mapsEqual(a.Versions, Versions()) {
			t.Fatalf("bumped record not redone: %+v", a)
		}
	}
	rep, err = Reanalyze(context.Background(), st, ix, ReanalyzeOptions{Analyze: c.fn})
	if err != nil || rep.Analyzed != 1 || c.runs[refs[2]] != 1 {
		t.Fatalf("all analyzers: %+v %v, runs %v", rep, err, c.runs)
	}
	for _, ref := range refs[3:] {
		if ix.analyses[ref].SSDeep != "old" {
			t.Fatalf("current record of %s was redone", ref)
		}
	}
	if _, err := Reanalyze(context.Background(), st, ix, ReanalyzeOptions{Analyzer: "nope"}); !errors.Is(err, ErrUnknownAnalyzer) {
		t.Fatalf("unknown analyzer: %v", err)
	}
}

// TestReanalyzeResumes: a run interrupted part-way keeps what it recorded,
// and the next run does only the rest.
func TestReanalyzeResumes(t *testing.T) {
	ix, st, refs := world(12)
	ctx, cancel := context.WithCancel(context.Background())
	c := &counting{before: func(_ cas.Ref, n int) error {
		if n == 5 {
			cancel() // the operator's ^C while the fifth file is analysed
			return ctx.Err()
		}
		return nil
	}}
	rep1, err := Reanalyze(ctx, st, ix, ReanalyzeOptions{Workers: 1, Page: 4, Analyze: c.fn})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	if rep1.Analyzed != 4 || len(ix.analyses) != 4 {
		t.Fatalf("interrupted run recorded %d (%+v)", len(ix.analyses), rep1)
	}
	c.before = nil
	rep2, err := Reanalyze(context.Background(), st, ix, ReanalyzeOptions{Workers: 2, Page: 4, Analyze: c.fn})
	if err != nil {
		t.Fatal(err)
	}
	if rep2.Analyzed != 8 || len(ix.analyses) != 12 {
		t.Fatalf("resumed run: %+v, %d records", rep2, len(ix.analyses))
	}
	for _, ref := range refs {
		if c.runs[ref] != 1 {
			t.Errorf("%s analysed %d times in all", ref, c.runs[ref])
		}
	}
}

// TestReanalyzeSkipsBadFiles: a missing blob and a file an analyzer
// crashes on are reported and skipped (left stale); the rest is done.
func TestReanalyzeSkipsBadFiles(t *testing.T) {
	ix, st, refs := world(5)
	delete(st, refs[1])
	crash := refs[3]
	c := &counting{before: func(ref cas.Ref, _ int) error {
		if ref == crash {
			panic("decoder tripped")
		}
		return nil
	}}
	var bad []cas.Ref
	var errs []error
	rep, err := Reanalyze(context.Background(), st, ix, ReanalyzeOptions{Workers: 2, Analyze: c.fn,
		OnError: func(ref cas.Ref, err error) { bad = append(bad, ref); errs = append(errs, err) }})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Analyzed != 3 || rep.Missing != 1 || rep.Failed != 1 {
		t.Fatalf("report %+v", rep)
	}
	slices.SortFunc(bad, func(a, b cas.Ref) int { return bytes.Compare(a.Bytes(), b.Bytes()) })
	want := []cas.Ref{refs[1], crash}
	slices.SortFunc(want, func(a, b cas.Ref) int { return bytes.Compare(a.Bytes(), b.Bytes()) })
	if !slices.Equal(bad, want) {
		t.Fatalf("OnError for %v, want %v", bad, want)
	}
	var crashed, missing bool
	for _, e := range errs {
		crashed = crashed || errors.Is(e, ErrCrashed)
		missing = missing || errors.Is(e, cas.ErrNotFound)
	}
	if !crashed || !missing {
		t.Fatalf("errors %v", errs)
	}
	if _, ok := ix.analyses[crash]; ok {
		t.Fatal("a crashed analysis was recorded")
	}
}

// TestReanalyzeFileGone: a file that leaves the index during the run is
// counted, not an error.
func TestReanalyzeFileGone(t *testing.T) {
	ix, st, refs := world(3)
	c := &counting{before: func(ref cas.Ref, _ int) error {
		if ref == refs[0] {
			ix.mu.Lock()
			delete(ix.files, ref)
			ix.mu.Unlock()
		}
		return nil
	}}
	rep, err := Reanalyze(context.Background(), st, ix, ReanalyzeOptions{Analyze: c.fn})
	if err != nil || rep.Gone != 1 || rep.Analyzed != 2 {
		t.Fatalf("%+v %v", rep, err)
	}
}

// TestBlob: a stored blob analysed with its ref set; a missing one is
// cas.ErrNotFound.
func TestBlob(t *testing.T) {
	_, st, refs := world(1)
	a, err := Blob(context.Background(), st, refs[0], "", nil)
	if err != nil || a.Ref != refs[0] || a.Language != "php" {
		t.Fatalf("%+v %v", a, err)
	}
	if _, err := Blob(context.Background(), st, refOf([]byte("x")), "", nil); !errors.Is(err, cas.ErrNotFound) {
		t.Fatalf("missing blob: %v", err)
	}
}
