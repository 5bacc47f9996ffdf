package indextest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"dewar/cas"
	"dewar/index"
	"dewar/index/query"
)

// runWith creates a job, claims it and finishes it done with files (the
// upload added), a tree of one path per file ("<i>.txt") and analyses.
func (e *searchEnv) runWith(knownGood bool, status index.JobStatus, files []index.File, analyses ...index.Analysis) index.Job {
	e.t.Helper()
	j := e.create(func(j *index.Job) { j.KnownGood = knownGood })
	_, l := e.claim("worker", j.ID)
	r := index.JobResult{Status: status, Files: append([]index.File{uploadFile(j)}, files...), Analyses: analyses}
	for _, f := range files {
		r.Tree = append(r.Tree, fileEntry(f.Ref.String()[:12]+".txt", f))
	}
	return e.finish(l, r)
}

// fullAnalysis is an analysis with every field set, some of them messy:
// repeated IOCs and tokens, unsorted keys, an empty token.
func fullAnalysis(ref cas.Ref) index.Analysis {
	return index.Analysis{
		Ref: ref, SSDeep: "3:abc:def", TLSH: "T1" + "0A21" + "00" + "11223344556677889900aabbccddeeff11223344556677889900aabbccddeeff",
		PDQ: "f0e1", PHash: "d2c3", Language: "php",
		IOCs: []index.IOC{
			{Type: "url", Value: "https://x.example/a", Context: "visit https://x.example/a now"},
			{Type: "email", Value: "a@x.example", Chain: "base64>rot13", Context: "first"},
			{Type: "email", Value: "a@x.example", Chain: "base64>rot13", Context: "repeated: dropped"},
			{Type: "email", Value: "a@x.example", Context: "plain"},
			{Type: "ip", Value: "10.0.0.1", Class: "private"},
		},
		Tokens:     []string{"zeta", "alpha", "", "alpha", "mid"},
		MinHash:    []uint32{7, 0, 1<<32 - 1},
		Keys:       []index.SimKey{{Method: "ssdeep", Key: 5}, {Method: "minhash", Key: -3}, {Method: "ssdeep", Key: 2}, {Method: "ssdeep", Key: 5}},
		Versions:   map[string]int{"ioc": 2, "tokens": 1},
		AnalyzedAt: t0.Add(time.Minute),
	}
}

// normalised is what GetAnalysis returns for a: sorted, repeats dropped.
func normalised(a index.Analysis) index.Analysis {
	a.IOCs = []index.IOC{
		{Type: "email", Value: "a@x.example", Context: "plain"},
		{Type: "email", Value: "a@x.example", Chain: "base64>rot13", Context: "first"},
		{Type: "ip", Value: "10.0.0.1", Class: "private"},
		{Type: "url", Value: "https://x.example/a", Context: "visit https://x.example/a now"},
	}
	a.Tokens = []string{"alpha", "mid", "zeta"}
	a.Keys = []index.SimKey{{Method: "minhash", Key: -3}, {Method: "ssdeep", Key: 2}, {Method: "ssdeep", Key: 5}}
	return a
}

func getAnalysis(t *testing.T, ix SearchIndex, ref cas.Ref) index.Analysis {
	t.Helper()
	a, err := ix.GetAnalysis(t.Context(), ref)
	if err != nil {
		t.Fatalf("GetAnalysis(%s): %v", ref.String()[:8], err)
	}
	return a
}

// wantAnalysis compares analyses, AnalyzedAt to the millisecond.
func wantAnalysis(t *testing.T, what string, got, want index.Analysis) {
	t.Helper()
	if !sameTime(got.AnalyzedAt, want.AnalyzedAt) {
		t.Errorf("%s: AnalyzedAt = %v, want %v", what, got.AnalyzedAt, want.AnalyzedAt)
	}
	got.AnalyzedAt = want.AnalyzedAt
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %+v\nwant %+v", what, got, want)
	}
}

// fileRefs runs a file search and returns the refs found.
func fileRefs(t *testing.T, ix SearchIndex, q string) []cas.Ref {
	t.Helper()
	var refs []cas.Ref
	for _, f := range searchFiles(t, ix, mustParse(t, q), 100, nil) {
		refs = append(refs, f.Ref)
	}
	return refs
}

// RunAnalyses checks index.Analyses and what Finish records of them:
// round trips, replacement, stale files, token job counts.
func RunAnalyses(t *testing.T, newIndex NewSearchIndex) {
	t.Run("SetGet", func(t *testing.T) {
		e := newSearchEnv(t, newIndex)
		x := sample("x")
		e.runWith(false, index.JobDone, []index.File{x})
		in := fullAnalysis(x.Ref)
		if err := e.ix.SetAnalysis(t.Context(), in); err != nil {
			t.Fatal(err)
		}
		wantAnalysis(t, "GetAnalysis", getAnalysis(t, e.ix, x.Ref), normalised(in))
		// Searchable at once: the plain and the decoded email, folded.
		for _, q := range []string{"email:A@X.EXAMPLE", "ioc:10.0.0.1", "token:alpha", "url:https://x.example/*"} {
			if got := fileRefs(t, e.ix, q); !sameRefs(got, x.Ref) {
				t.Errorf("%s found %v, want the file", q, got)
			}
		}
	})
	t.Run("SetMinimal", func(t *testing.T) {
		e := newSearchEnv(t, newIndex)
		x := sample("x")
		e.runWith(false, index.JobDone, []index.File{x})
		if err := e.ix.SetAnalysis(t.Context(), index.Analysis{Ref: x.Ref}); err != nil {
			t.Fatal(err)
		}
		got := getAnalysis(t, e.ix, x.Ref)
		if !sameTime(got.AnalyzedAt, t0) {
			t.Errorf("AnalyzedAt = %v, want the index's now %v", got.AnalyzedAt, t0)
		}
		got.AnalyzedAt = time.Time{}
		if !reflect.DeepEqual(got, index.Analysis{Ref: x.Ref}) {
			t.Errorf("empty analysis read back as %+v", got)
		}
	})
	t.Run("SetAnalyses", func(t *testing.T) {
		e := newSearchEnv(t, newIndex)
		x, y := sample("x"), sample("y")
		e.runWith(false, index.JobDone, []index.File{x, y})
		unknown := sample("never stored").Ref
		err := e.ix.SetAnalyses(t.Context(), []index.Analysis{fullAnalysis(x.Ref), {Ref: unknown}})
		if !errors.Is(err, index.ErrFileNotFound) {
			t.Fatalf("SetAnalyses with an unknown file: %v, want ErrFileNotFound", err)
		}
		if _, err := e.ix.GetAnalysis(t.Context(), x.Ref); !errors.Is(err, index.ErrAnalysisNotFound) {
			t.Errorf("after a refused batch, x's analysis: %v, want none", err)
		}
		in := []index.Analysis{{Ref: y.Ref, SSDeep: "3:a:b"}, fullAnalysis(x.Ref), {Ref: y.Ref, SSDeep: "3:second:ignored"}}
		if err := e.ix.SetAnalyses(t.Context(), in); err != nil {
			t.Fatal(err)
		}
		wantAnalysis(t, "x", getAnalysis(t, e.ix, x.Ref), normalised(in[1]))
		if got := getAnalysis(t, e.ix, y.Ref); got.SSDeep != "3:a:b" {
			t.Errorf("y's ssdeep %q, want the first of the batch's two", got.SSDeep)
		}
	})
	t.Run("Fingerprints", func(t *testing.T) {
		e := newSearchEnv(t, newIndex)
		x, y := sample("x"), sample("y")
		e.runWith(false, index.JobDone, []index.File{x, y})
		full := fullAnalysis(x.Ref)
		if err := e.ix.SetAnalyses(t.Context(), []index.Analysis{full, {Ref: y.Ref}}); err != nil {
			t.Fatal(err)
		}
		got, err := e.ix.Fingerprints(t.Context(), []cas.Ref{x.Ref, y.Ref, sample("never").Ref})
		if err != nil {
			t.Fatal(err)
		}
		want := map[cas.Ref]index.Analysis{
			x.Ref: {Ref: x.Ref, SSDeep: full.SSDeep, TLSH: full.TLSH, PDQ: full.PDQ, PHash: full.PHash, MinHash: full.MinHash},
			y.Ref: {Ref: y.Ref},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Fingerprints = %+v\nwant %+v", got, want)
		}
	})
	t.Run("Unanalysed", func(t *testing.T) {
		e := newSearchEnv(t, newIndex)
		x, y := sample("x"), sample("y")
		unknown := sample("never stored").Ref
		e.runWith(false, index.JobDone, []index.File{x, y})
		if err := e.ix.SetAnalysis(t.Context(), index.Analysis{Ref: y.Ref}); err != nil {
			t.Fatal(err)
		}
		got, err := e.ix.Unanalysed(t.Context(), []cas.Ref{unknown, y.Ref, x.Ref})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, []cas.Ref{unknown, x.Ref}) {
			t.Errorf("Unanalysed = %v, want [unknown x] in the order asked", got)
		}
		// More refs than one statement carries.
		many := make([]cas.Ref, 0, 1201)
		for i := range 1200 {
			many = append(many, sample(fmt.Sprint("absent ", i)).Ref)
		}
		many = append(many, y.Ref)
		got, err = e.ix.Unanalysed(t.Context(), many)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1200 || slices.Contains(got, y.Ref) {
			t.Errorf("Unanalysed of 1,201 refs returned %d (analysed y among them: %v)", len(got), slices.Contains(got, y.Ref))
		}
	})
	t.Run("SetReplaces", func(t *testing.T) {
		e := newSearchEnv(t, newIndex)
		x := sample("x")
		e.runWith(false, index.JobDone, []index.File{x})
		if err := e.ix.SetAnalysis(t.Context(), fullAnalysis(x.Ref)); err != nil {
			t.Fatal(err)
		}
		// Its TLSH's length digits "21" are the bucket 0x12 (nibbles swapped).
		if c, err := e.ix.TLSHCandidates(t.Context(), 0x12, 0, cas.Ref{}, 10); err != nil || len(c) != 1 || c[0].Ref != x.Ref {
			t.Errorf("TLSHCandidates before the replacement = %v, %v", c, err)
		}
		second := index.Analysis{Ref: x.Ref, SSDeep: "6:new", Language: "js",
			IOCs:     []index.IOC{{Type: "domain", Value: "new.example"}},
			Tokens:   []string{"beta"},
			Keys:     []index.SimKey{{Method: "ssdeep", Key: 9}},
			Versions: map[string]int{"ioc": 3},
		}
		if err := e.ix.SetAnalysis(t.Context(), second); err != nil {
			t.Fatal(err)
		}
		second.AnalyzedAt = t0
		wantAnalysis(t, "after the second SetAnalysis", getAnalysis(t, e.ix, x.Ref), second)
		for q, want := range map[string]int{"email:*": 0, "token:alpha": 0, "ioc:*": 1, "domain:new.example": 1, "token:beta": 1} {
			if got := fileRefs(t, e.ix, q); len(got) != want {
				t.Errorf("%s found %d files, want %d", q, len(got), want)
			}
		}
		if c, err := e.ix.SimilarCandidates(t.Context(), "ssdeep", []int64{2, 5}, cas.Ref{}, 10); err != nil || len(c) != 0 {
			t.Errorf("replaced keys still found: %v, %v", c, err)
		}
		if c, err := e.ix.SimilarCandidates(t.Context(), "ssdeep", []int64{9}, cas.Ref{}, 10); err != nil || len(c) != 1 {
			t.Errorf("new key not found: %v, %v", c, err)
		}
		if c, err := e.ix.TLSHCandidates(t.Context(), 0x12, 0, cas.Ref{}, 10); err != nil || len(c) != 0 {
			t.Errorf("TLSHCandidates after the replacement = %v, %v; want none", c, err)
		}
	})
	t.Run("SetRejects", func(t *testing.T) {
		e := newSearchEnv(t, newIndex)
		err := e.ix.SetAnalysis(t.Context(), index.Analysis{Ref: blob("never seen")})
		wantErr(t, "SetAnalysis of an unknown file", err, index.ErrFileNotFound)
		if err := e.ix.SetAnalysis(t.Context(), index.Analysis{}); err == nil {
			t.Error("SetAnalysis with a zero ref succeeded")
		}
		x := sample("x")
		e.runWith(false, index.JobDone, []index.File{x})
		bad := index.Analysis{Ref: x.Ref, IOCs: []index.IOC{{Type: "url"}}}
		if err := e.ix.SetAnalysis(t.Context(), bad); err == nil {
			t.Error("SetAnalysis with an empty IOC succeeded")
		}
		_, err = e.ix.GetAnalysis(t.Context(), x.Ref)
		wantErr(t, "GetAnalysis after refused sets", err, index.ErrAnalysisNotFound)
	})
	t.Run("GetMissing", func(t *testing.T) {
		e := newSearchEnv(t, newIndex)
		x := sample("x")
		e.runWith(false, index.JobDone, []index.File{x})
		for _, ref := range []cas.Ref{x.Ref, blob("never seen")} {
			_, err := e.ix.GetAnalysis(t.Context(), ref)
			wantErr(t, "GetAnalysis", err, index.ErrAnalysisNotFound)
			wantErr(t, "GetAnalysis", err, index.ErrNotFound)
		}
	})
	t.Run("OddText", func(t *testing.T) {
		// Invalid UTF-8 and NUL are stored as U+FFFD, alike everywhere.
		e := newSearchEnv(t, newIndex)
		x := sample("x")
		e.runWith(false, index.JobDone, []index.File{x})
		in := index.Analysis{Ref: x.Ref, Language: "p\x00hp",
			IOCs:   []index.IOC{{Type: "url", Value: "http://a.example/\xff", Context: "ctx\x00"}},
			Tokens: []string{"t\xfe"}}
		if err := e.ix.SetAnalysis(t.Context(), in); err != nil {
			t.Fatal(err)
		}
		got := getAnalysis(t, e.ix, x.Ref)
		if got.Language != "p\uFFFDhp" || len(got.IOCs) != 1 || got.IOCs[0].Value != "http://a.example/\uFFFD" ||
			got.IOCs[0].Context != "ctx\uFFFD" || !slices.Equal(got.Tokens, []string{"t\uFFFD"}) {
			t.Errorf("stored %+v", got)
		}
	})
	t.Run("StaleFiles", func(t *testing.T) {
		e := newSearchEnv(t, newIndex)
		var files []index.File
		for _, n := range []string{"a", "b", "c", "d", "e"} {
			files = append(files, sample(n))
		}
		j := e.runWith(false, index.JobDone, files,
			index.Analysis{Ref: files[0].Ref, Versions: map[string]int{"ioc": 1}},
			index.Analysis{Ref: files[1].Ref, Versions: map[string]int{"ioc": 2, "tokens": 1}},
			index.Analysis{Ref: files[2].Ref, Versions: map[string]int{"tokens": 1}},
			index.Analysis{Ref: files[3].Ref, Versions: map[string]int{"ioc": 3}},
		) // files[4] and the upload: never analysed
		all := append([]cas.Ref{j.Upload}, refsOf(files)...)
		tests := []struct {
			analyzer string
			version  int
			want     []cas.Ref
		}{
			{"ioc", 1, []cas.Ref{files[2].Ref, files[4].Ref, j.Upload}},
			{"ioc", 2, []cas.Ref{files[0].Ref, files[2].Ref, files[4].Ref, j.Upload}},
			{"ioc", 4, all},
			{"tokens", 1, []cas.Ref{files[0].Ref, files[3].Ref, files[4].Ref, j.Upload}},
			{"never", 0, all},
		}
		for _, tc := range tests {
			want := slices.Clone(tc.want)
			slices.SortFunc(want, refCompare)
			for _, n := range []int{1, 2, 100} {
				var got []cas.Ref
				after := cas.Ref{}
				for range 10 {
					page, err := e.ix.StaleFiles(t.Context(), tc.analyzer, tc.version, after, n)
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, page...)
					if len(page) < n {
						break
					}
					after = page[len(page)-1]
				}
				if !slices.Equal(got, want) {
					t.Errorf("StaleFiles(%s, %d) by %d = %v, want %v", tc.analyzer, tc.version, n, got, want)
				}
			}
		}
		if got, err := e.ix.StaleFiles(t.Context(), "ioc", 9, cas.Ref{}, 0); err != nil || len(got) != 0 {
			t.Errorf("StaleFiles with limit 0 = %v, %v", got, err)
		}
		// Reanalysis brings a file up to date.
		if err := e.ix.SetAnalysis(t.Context(), index.Analysis{Ref: files[4].Ref, Versions: map[string]int{"ioc": 1}}); err != nil {
			t.Fatal(err)
		}
		got, err := e.ix.StaleFiles(t.Context(), "ioc", 1, cas.Ref{}, 10)
		want := []cas.Ref{files[2].Ref, j.Upload}
		slices.SortFunc(want, refCompare)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("after reanalysis: %v, %v; want %v", got, err, want)
		}
	})
	t.Run("FinishRecords", func(t *testing.T) {
		e := newSearchEnv(t, newIndex)
		x, y := sample("x"), sample("y")
		first := fullAnalysis(x.Ref)
		e.runWith(false, index.JobDone, []index.File{x}, first)
		wantAnalysis(t, "recorded by Finish", getAnalysis(t, e.ix, x.Ref), normalised(first))
		// A later job keeps x's analysis and records y's.
		other := index.Analysis{Ref: x.Ref, Language: "other", Tokens: []string{"other"}}
		ya := index.Analysis{Ref: y.Ref, Language: "js", IOCs: []index.IOC{{Type: "domain", Value: "y.example"}}}
		e.runWith(false, index.JobFailed, []index.File{x, y}, other, ya, index.Analysis{Ref: y.Ref, Language: "ignored: the first wins"})
		wantAnalysis(t, "kept", getAnalysis(t, e.ix, x.Ref), normalised(first))
		ya.AnalyzedAt = t0
		wantAnalysis(t, "recorded by a failed job's Finish", getAnalysis(t, e.ix, y.Ref), ya)
		if got := fileRefs(t, e.ix, "token:other"); len(got) != 0 {
			t.Errorf("the ignored analysis is searchable: %v", got)
		}
	})
	t.Run("FinishRejects", func(t *testing.T) {
		e := newSearchEnv(t, newIndex)
		x := sample("x")
		j := e.create()
		_, l := e.claim("w", j.ID)
		_, err := e.ix.Finish(t.Context(), l, index.JobResult{Status: index.JobDone, Commit: e.s.commitRef,
			Files:    []index.File{uploadFile(j), x},
			Analyses: []index.Analysis{{Ref: x.Ref}, {Ref: blob("not in the job")}}})
		if err == nil {
			t.Fatal("Finish with the analysis of a foreign file succeeded")
		}
		if got := getJob(t, e.ix, j.ID); got.Status != index.JobProcessing {
			t.Errorf("refused Finish left the job %s", got.Status)
		}
		_, err = e.ix.GetFile(t.Context(), x.Ref)
		wantErr(t, "GetFile after a refused Finish", err, index.ErrFileNotFound)
	})
	t.Run("TokenJobCounts", func(t *testing.T) {
		e := newSearchEnv(t, newIndex)
		x, y, z := sample("x"), sample("y"), sample("z")
		freqs := func(want map[string]int64) {
			t.Helper()
			toks := []string{"a", "b", "c", "d", "never", "a"}
			got, err := e.ix.TokenFrequencies(t.Context(), toks)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(toks) {
				t.Fatalf("TokenFrequencies returned %d, want %d", len(got), len(toks))
			}
			for i, f := range got {
				if f.Token != toks[i] || f.Jobs != want[toks[i]] {
					t.Errorf("TokenFrequencies[%d] = %+v, want %s in %d jobs", i, f, toks[i], want[toks[i]])
				}
			}
		}
		count := func(want int) {
			t.Helper()
			n, err := e.ix.CountJobTokens(t.Context(), 10)
			if err != nil || n != want {
				t.Fatalf("CountJobTokens = %d, %v; want %d jobs counted", n, err, want)
			}
		}
		// b is in both files of the job: the job counts once for it, when
		// CountJobTokens takes it from the queue, and only then.
		e.runWith(false, index.JobDone, []index.File{x, y},
			index.Analysis{Ref: x.Ref, Tokens: []string{"a", "b"}}, index.Analysis{Ref: y.Ref, Tokens: []string{"b", "c"}})
		freqs(map[string]int64{})
		count(1)
		freqs(map[string]int64{"a": 1, "b": 1, "c": 1})
		count(0)
		freqs(map[string]int64{"a": 1, "b": 1, "c": 1})
		// A failed job does not count; its new file's tokens are recorded.
		e.runWith(false, index.JobFailed, []index.File{x, z}, index.Analysis{Ref: z.Ref, Tokens: []string{"d"}})
		count(0)
		freqs(map[string]int64{"a": 1, "b": 1, "c": 1})
		// A done job counts for the tokens of every file, analysed before,
		// in its Finish, or after it but before the count.
		e.runWith(true, index.JobDone, []index.File{y, z})
		w := sample("w")
		e.runWith(false, index.JobDone, []index.File{w})
		if err := e.ix.SetAnalysis(t.Context(), index.Analysis{Ref: w.Ref, Tokens: []string{"a"}}); err != nil {
			t.Fatal(err)
		}
		count(2)
		freqs(map[string]int64{"a": 2, "b": 2, "c": 2, "d": 1})
		// Reanalysis does not change the counts.
		if err := e.ix.SetAnalysis(t.Context(), index.Analysis{Ref: x.Ref, Tokens: []string{"d"}}); err != nil {
			t.Fatal(err)
		}
		freqs(map[string]int64{"a": 2, "b": 2, "c": 2, "d": 1})
		if got, err := e.ix.TokenFrequencies(t.Context(), nil); err != nil || len(got) != 0 {
			t.Errorf("TokenFrequencies(nil) = %v, %v", got, err)
		}
	})
	t.Run("TokenCountChunks", func(t *testing.T) {
		// More distinct tokens than one counting transaction takes: every
		// one counts once per job.
		e := newSearchEnv(t, newIndex)
		x := sample("x")
		toks := make([]string, 12001)
		for i := range toks {
			toks[i] = fmt.Sprintf("t%05d", i)
		}
		e.runWith(false, index.JobDone, []index.File{x}, index.Analysis{Ref: x.Ref, Tokens: toks})
		e.runWith(false, index.JobDone, []index.File{x})
		if n, err := e.ix.CountJobTokens(t.Context(), 10); err != nil || n != 2 {
			t.Fatalf("CountJobTokens = %d, %v; want 2", n, err)
		}
		got, err := e.ix.TokenFrequencies(t.Context(), []string{toks[0], toks[4999], toks[5000], toks[12000]})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range got {
			if f.Jobs != 2 {
				t.Errorf("token %s in %d jobs, want 2", f.Token, f.Jobs)
			}
		}
	})
	t.Run("RareTokensAndFiles", func(t *testing.T) {
		e := newSearchEnv(t, newIndex)
		x, y, z := sample("x"), sample("y"), sample("z")
		e.runWith(false, index.JobDone, []index.File{x, y},
			index.Analysis{Ref: x.Ref, Tokens: []string{"a", "b"}}, index.Analysis{Ref: y.Ref, Tokens: []string{"b", "c"}})
		j2 := e.runWith(false, index.JobDone, []index.File{y, z}, index.Analysis{Ref: z.Ref, Tokens: []string{"e", "d"}})
		if n, err := e.ix.CountJobTokens(t.Context(), 10); err != nil || n != 2 {
			t.Fatalf("CountJobTokens = %d, %v", n, err)
		}
		for _, c := range []struct {
			ref   cas.Ref
			limit int
			want  []index.TokenFreq
		}{
			{x.Ref, 10, []index.TokenFreq{{Token: "a", Jobs: 1}, {Token: "b", Jobs: 2}}},
			{y.Ref, 1, nil}, // set below
			{z.Ref, 10, []index.TokenFreq{{Token: "d", Jobs: 1}, {Token: "e", Jobs: 1}}},
			{sample("never").Ref, 10, []index.TokenFreq{}},
			{x.Ref, 0, []index.TokenFreq{}},
		} {
			got, err := e.ix.RareTokens(t.Context(), c.ref, c.limit)
			if err != nil {
				t.Fatal(err)
			}
			if c.ref == y.Ref { // b and c are both in 2 jobs: the first by token is b
				c.want = []index.TokenFreq{{Token: "b", Jobs: 2}}
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("RareTokens(%s, %d) = %v, want %v", c.ref.String()[:8], c.limit, got, c.want)
			}
		}
		got, err := e.ix.RareFiles(t.Context(), j2.ID, 1, 10)
		if err != nil {
			t.Fatal(err)
		}
		want := []index.RareFile{{Ref: z.Ref, Path: z.Ref.String()[:12] + ".txt", Rare: 2, Tokens: 2}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("RareFiles(job 2, 1) = %+v, want %+v", got, want)
		}
		got, err = e.ix.RareFiles(t.Context(), j2.ID, 2, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Ref != y.Ref && got[0].Ref != z.Ref || got[0].Rare != 2 || got[1].Rare != 2 {
			t.Errorf("RareFiles(job 2, 2) = %+v, want y and z with 2 each", got)
		}
		if got, err := e.ix.RareFiles(t.Context(), "no such job", 5, 10); err != nil || len(got) != 0 {
			t.Errorf("RareFiles of an unknown job = %v, %v", got, err)
		}
	})
	t.Run("FinishConcurrent", func(t *testing.T) {
		// Jobs finishing at once with overlapping new files, indicators and
		// tokens: each file gets one analysis, each done job counts once
		// per token, whatever the interleaving (row locks, retries).
		e := newSearchEnv(t, newIndex)
		const jobs, perJob = 8, 6
		var leases []index.Lease
		var results []index.JobResult
		for j := range jobs {
			job := e.create()
			_, l := e.claim(fmt.Sprint("w", j), job.ID)
			r := index.JobResult{Status: index.JobDone, Commit: e.s.commitRef, Files: []index.File{uploadFile(job)}}
			for i := range perJob {
				f := sample(fmt.Sprint("shared", (j+i)%(jobs+2)))
				r.Files = append(r.Files, f)
				r.Tree = append(r.Tree, fileEntry(fmt.Sprint(i, ".php"), f))
				r.Analyses = append(r.Analyses, index.Analysis{Ref: f.Ref,
					Tokens: []string{"common", fmt.Sprint("tok", (j+i)%5), fmt.Sprint("tok", (j+i+1)%5)},
					IOCs:   []index.IOC{{Type: "domain", Value: fmt.Sprintf("d%d.example", (j+i)%3)}}})
			}
			leases, results = append(leases, l), append(results, r)
		}
		var wg sync.WaitGroup
		errs := make(chan error, jobs)
		for j := range jobs {
			wg.Go(func() {
				if _, err := e.ix.Finish(context.Background(), leases[j], results[j]); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		// Three counters at once take every job exactly once.
		var counted sync.Map
		for c := range 3 {
			wg.Go(func() {
				for {
					n, err := e.ix.CountJobTokens(context.Background(), 2)
					if err != nil {
						t.Error(err)
						return
					}
					if n == 0 {
						return
					}
					old, _ := counted.LoadOrStore(c, 0)
					counted.Store(c, old.(int)+n)
				}
			})
		}
		wg.Wait()
		total := 0
		counted.Range(func(_, v any) bool { total += v.(int); return true })
		if total != jobs {
			t.Errorf("concurrent CountJobTokens counted %d jobs, want %d", total, jobs)
		}
		// What each token's count must be: the jobs holding a file that has
		// it, by the analysis of the file's first job to finish... which
		// for these analyses (a file's tokens depend only on its name's
		// number) is the same whichever job recorded it.
		want := map[string]int64{}
		for _, r := range results {
			toks := map[string]bool{}
			for _, a := range r.Analyses {
				for _, tk := range a.Tokens {
					toks[tk] = true
				}
			}
			for tk := range toks {
				want[tk]++
			}
		}
		var toks []string
		for tk := range want {
			toks = append(toks, tk)
		}
		got, err := e.ix.TokenFrequencies(t.Context(), toks)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range got {
			if f.Jobs != want[f.Token] {
				t.Errorf("token %q in %d jobs, want %d", f.Token, f.Jobs, want[f.Token])
			}
		}
		for i := range jobs + 2 {
			ref := sample(fmt.Sprint("shared", i)).Ref
			a := getAnalysis(t, e.ix, ref)
			if len(a.Tokens) != 3 || len(a.IOCs) != 1 {
				t.Errorf("analysis of shared%d: %+v", i, a)
			}
		}
		if got := fileRefs(t, e.ix, "domain:d1.example"); len(got) == 0 {
			t.Error("indicators recorded concurrently are not searchable")
		}
	})
	t.Run("SearchAfterFinish", func(t *testing.T) {
		e := newSearchEnv(t, newIndex)
		x := sample("x")
		j := e.runWith(false, index.JobDone, []index.File{x},
			index.Analysis{Ref: x.Ref, IOCs: []index.IOC{{Type: "email", Value: "boss@corp.example"}}})
		hits, err := e.ix.SearchJobs(t.Context(), mustParse(t, "email:*@corp.example"), index.SearchOptions{Limit: 5})
		if err != nil || len(hits.Jobs) != 1 || hits.Jobs[0].ID != j.ID {
			t.Errorf("SearchJobs = %+v, %v; want job %s", hits, err, j.ID)
		}
		n, _ := query.Parse("email:*@corp.example")
		if got := searchFiles(t, e.ix, n, 1, nil); len(got) != 1 || got[0].Ref != x.Ref {
			t.Errorf("SearchFiles = %v", got)
		}
	})
}

func refsOf(files []index.File) []cas.Ref {
	out := make([]cas.Ref, len(files))
	for i, f := range files {
		out[i] = f.Ref
	}
	return out
}
