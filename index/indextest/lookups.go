package indextest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"dewar/cas"
	"dewar/index"
)

// tlshOf returns a TLSH digest ("T1" and 70 hex digits) whose length
// bucket is lvalue, printed with its nibbles swapped as TLSH does.
func tlshOf(lvalue byte, tag int) string {
	return fmt.Sprintf("T1%02X%02X00%064X", tag&0xff, lvalue<<4|lvalue>>4, tag)
}

// RunLookups checks the Searcher's lookups: FileByHash, bulk Lookup,
// SimilarCandidates, TLSHCandidates and KnownGoodOverlap.
func RunLookups(t *testing.T, newIndex NewSearchIndex) {
	t.Run("FileByHash", func(t *testing.T) {
		e := newSearchEnv(t, newIndex)
		x := sample("x")
		e.runWith(true, index.JobDone, []index.File{x})
		want := getFile(t, e.ix, x.Ref)
		for _, h := range []string{x.Ref.String(), x.SHA1, x.MD5, strings.ToUpper(x.Ref.String()), strings.ToUpper(x.MD5)} {
			if got, err := e.ix.FileByHash(t.Context(), h); err != nil || got != want {
				t.Errorf("FileByHash(%s) = %+v, %v; want %+v", h, got, err, want)
			}
		}
		for _, h := range []string{blob("never").String(), strings.Repeat("0", 40), strings.Repeat("a", 32)} {
			_, err := e.ix.FileByHash(t.Context(), h)
			wantErr(t, "FileByHash of an unknown hash", err, index.ErrFileNotFound)
		}
		for _, h := range []string{"", "xyz", strings.Repeat("g", 64), strings.Repeat("0", 63), x.MD5 + " "} {
			if _, err := e.ix.FileByHash(t.Context(), h); err == nil || errors.Is(err, index.ErrNotFound) {
				t.Errorf("FileByHash(%q): err = %v, want a refusal", h, err)
			}
		}
	})
	t.Run("Lookup", func(t *testing.T) {
		e := newSearchEnv(t, newIndex)
		var kg, other []index.File
		for i := range 5 {
			kg = append(kg, sample(fmt.Sprintf("kg%d", i)))
		}
		for i := range 10 {
			other = append(other, sample(fmt.Sprintf("other%d", i)))
		}
		e.runWith(true, index.JobDone, kg)
		e.runWith(false, index.JobDone, other)
		e.runWith(false, index.JobDone, other[:1])
		known := map[cas.Ref]index.File{}
		for _, f := range append(slices.Clone(kg), other...) {
			known[f.Ref] = getFile(t, e.ix, f.Ref)
		}
		all := append(slices.Clone(kg), other...)
		// 10,000 hashes: every kind, found or not, any case, invalid ones,
		// repeats.
		hashes := make([]string, 0, 10000)
		want := make([]index.LookupResult, 0, 10000)
		for i := range 10000 {
			f := all[i%len(all)]
			var h string
			var w index.LookupResult
			switch i % 8 {
			case 0:
				h = f.Ref.String()
			case 1:
				h = strings.ToUpper(f.MD5)
			case 2:
				h = f.SHA1
			case 3:
				h = blob(fmt.Sprint("unknown", i)).String()
			case 4:
				h = fmt.Sprintf("%032x", i)
			case 5:
				h = []string{"", "xyz", strings.Repeat("g", 64), f.Ref.String()[:63], " " + f.MD5, "sha256:" + f.Ref.String()}[i/8%6]
			case 6:
				h = strings.ToUpper(f.Ref.String())
			case 7:
				h = fmt.Sprintf("%040x", i)
			}
			if i%8 <= 2 || i%8 == 6 {
				k := known[f.Ref]
				w = index.LookupResult{Found: true, SHA256: f.Ref, KnownGood: k.KnownGood, JobCount: k.JobCount}
			}
			w.Hash = h
			hashes = append(hashes, h)
			want = append(want, w)
		}
		got, err := e.ix.Lookup(t.Context(), hashes)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("Lookup returned %d results, want %d", len(got), len(want))
		}
		bad := 0
		for i := range want {
			if got[i] != want[i] && bad < 10 {
				bad++
				t.Errorf("result %d = %+v, want %+v", i, got[i], want[i])
			}
		}
		// all[0] is known-good; all[5] (80 % 15) is in two jobs.
		if !got[0].KnownGood || got[0].JobCount != 1 || !got[80].Found || got[80].KnownGood || got[80].JobCount != 2 {
			t.Errorf("known-good and job counts: %+v, %+v", got[0], got[80])
		}
		if res, err := e.ix.Lookup(t.Context(), nil); err != nil || len(res) != 0 {
			t.Errorf("Lookup(nil) = %v, %v", res, err)
		}
		if _, err := e.ix.Lookup(t.Context(), make([]string, 10001)); err == nil {
			t.Error("Lookup of 10,001 hashes succeeded")
		}
	})
	t.Run("SimilarCandidates", func(t *testing.T) {
		e := newSearchEnv(t, newIndex)
		p, q, r, s := sample("p"), sample("q"), sample("r"), sample("s")
		keys := func(ref cas.Ref, method string, ks ...int64) index.Analysis {
			a := index.Analysis{Ref: ref}
			for _, k := range ks {
				a.Keys = append(a.Keys, index.SimKey{Method: method, Key: k})
			}
			return a
		}
		e.runWith(false, index.JobDone, []index.File{p, q, r, s},
			keys(p.Ref, "ssdeep", 1, 2, 3, 4), keys(q.Ref, "ssdeep", 1, 2), keys(r.Ref, "ssdeep", 3, 9, -5),
			keys(s.Ref, "pdq", 1, 2, 3, 4))
		two := []cas.Ref{q.Ref, r.Ref}
		slices.SortFunc(two, refCompare)
		tests := []struct {
			name    string
			method  string
			keys    []int64
			exclude cas.Ref
			limit   int
			want    []index.SimCandidate
		}{
			{"ordered", "ssdeep", []int64{1, 2, 3, -5, 77}, p.Ref, 10, []index.SimCandidate{{Ref: two[0], Shared: 2}, {Ref: two[1], Shared: 2}}},
			{"with itself", "ssdeep", []int64{1, 2, 3, 4}, cas.Ref{}, 10, []index.SimCandidate{{Ref: p.Ref, Shared: 4}, {Ref: q.Ref, Shared: 2}, {Ref: r.Ref, Shared: 1}}},
			{"repeated keys", "ssdeep", []int64{3, 3, 3, 9}, cas.Ref{}, 10, []index.SimCandidate{{Ref: r.Ref, Shared: 2}, {Ref: p.Ref, Shared: 1}}},
			{"limit", "ssdeep", []int64{1, 2, 3, 4}, cas.Ref{}, 2, []index.SimCandidate{{Ref: p.Ref, Shared: 4}, {Ref: q.Ref, Shared: 2}}},
			{"other method", "pdq", []int64{1, 2, 3, 4}, cas.Ref{}, 10, []index.SimCandidate{{Ref: s.Ref, Shared: 4}}},
			{"unknown method", "phash", []int64{1}, cas.Ref{}, 10, nil},
			{"no keys", "ssdeep", nil, cas.Ref{}, 10, nil},
			{"limit 0", "ssdeep", []int64{1}, cas.Ref{}, 0, nil},
		}
		for _, tc := range tests {
			got, err := e.ix.SimilarCandidates(t.Context(), tc.method, tc.keys, tc.exclude, tc.limit)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("%s: SimilarCandidates = %v, %v; want %v", tc.name, got, err, tc.want)
			}
		}
	})
	t.Run("TLSHCandidates", func(t *testing.T) {
		e := newSearchEnv(t, newIndex)
		var files []index.File
		var analyses []index.Analysis
		refAt := map[string]cas.Ref{}
		for i, l := range []int{0, 255, 1, 2, 3, 254, 128, 0} {
			f := sample(fmt.Sprint("tlsh", i))
			files = append(files, f)
			analyses = append(analyses, index.Analysis{Ref: f.Ref, TLSH: tlshOf(byte(l), i)})
			refAt[fmt.Sprint(l, "/", i)] = f.Ref
		}
		plain := sample("no tlsh")
		files = append(files, plain)
		analyses = append(analyses, index.Analysis{Ref: plain.Ref, SSDeep: "3:a:b"})
		e.runWith(false, index.JobDone, files, analyses...)
		zero := []cas.Ref{refAt["0/0"], refAt["0/7"]}
		slices.SortFunc(zero, refCompare)
		tests := []struct {
			name          string
			lvalue, radus int
			exclude       cas.Ref
			limit         int
			want          []cas.Ref
		}{
			{"radius 0", 0, 0, cas.Ref{}, 10, zero},
			{"wraps, nearest first", 0, 1, cas.Ref{}, 10, append(slices.Clone(zero), refAt["255/1"], refAt["1/2"])},
			{"radius 2", 0, 2, cas.Ref{}, 10, append(slices.Clone(zero), refAt["255/1"], refAt["1/2"], refAt["254/5"], refAt["2/3"])},
			{"exclude", 0, 1, zero[0], 10, []cas.Ref{zero[1], refAt["255/1"], refAt["1/2"]}},
			{"limit", 0, 3, cas.Ref{}, 3, append(slices.Clone(zero), refAt["255/1"])},
			{"far side", 128, 0, cas.Ref{}, 10, []cas.Ref{refAt["128/6"]}},
			{"huge radius", 3, 1000, cas.Ref{}, 100, nil}, // everything; checked below
		}
		for _, tc := range tests {
			got, err := e.ix.TLSHCandidates(t.Context(), tc.lvalue, tc.radus, tc.exclude, tc.limit)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			var refs []cas.Ref
			for _, a := range got {
				refs = append(refs, a.Ref)
				if a.TLSH == "" {
					t.Errorf("%s: candidate %s without its TLSH", tc.name, a.Ref.String()[:8])
				}
			}
			if tc.want == nil {
				if len(refs) != 8 || refs[0] != refAt["3/4"] {
					t.Errorf("%s: %d candidates starting %v, want all 8 from the bucket itself", tc.name, len(refs), refs)
				}
				continue
			}
			if !slices.Equal(refs, tc.want) {
				t.Errorf("%s: TLSHCandidates = %v, want %v", tc.name, refs, tc.want)
			}
		}
		for _, bad := range [][2]int{{-1, 1}, {256, 1}, {3, -1}} {
			if _, err := e.ix.TLSHCandidates(t.Context(), bad[0], bad[1], cas.Ref{}, 10); err == nil {
				t.Errorf("TLSHCandidates(%d, %d) succeeded", bad[0], bad[1])
			}
		}
	})
	t.Run("KnownGoodOverlap", func(t *testing.T) {
		e := newSearchEnv(t, newIndex)
		a, b, c, d, x := sample("a"), sample("b"), sample("c"), sample("d"), sample("x")
		kg1 := e.runWith(true, index.JobDone, []index.File{a, b, c, d})
		// kg2 has b at two paths: it shares b once.
		j := e.create(func(j *index.Job) { j.KnownGood = true })
		_, l := e.claim("w", j.ID)
		kg2 := e.finish(l, index.JobResult{Files: []index.File{uploadFile(j), a, b},
			Tree: []index.TreeEntry{fileEntry("a", a), fileEntry("b", b), fileEntry("again/b", b), {Path: "again", Type: index.TreeDir}}})
		e.runWith(true, index.JobFailed, []index.File{a, b, c, d}) // failed: not known-good
		e.runWith(false, index.JobDone, []index.File{a, b, c, d})  // not known-good
		target := e.runWith(false, index.JobDone, []index.File{a, b, c, x})
		tests := []struct {
			job   string
			limit int
			want  []string
			n     []int64
		}{
			{target.ID, 10, []string{kg1.ID, kg2.ID}, []int64{3, 2}},
			{target.ID, 1, []string{kg1.ID}, []int64{3}},
			{kg1.ID, 10, []string{kg2.ID}, []int64{2}}, // not itself
			{target.ID, 0, nil, nil},
		}
		for _, tc := range tests {
			got, err := e.ix.KnownGoodOverlap(t.Context(), tc.job, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			var n []int64
			for _, o := range got {
				ids, n = append(ids, o.Job.ID), append(n, o.Shared)
			}
			if !slices.Equal(ids, tc.want) || !slices.Equal(n, tc.n) {
				t.Errorf("KnownGoodOverlap(%s, %d) = %v %v, want %v %v", tc.job, tc.limit, ids, n, tc.want, tc.n)
			}
			if len(got) > 0 && got[0].Job.ID == kg1.ID && (got[0].Job.Name != kg1.Name || !got[0].Job.KnownGood || got[0].Job.Status != index.JobDone) {
				t.Errorf("overlap job %+v, want %+v", got[0].Job, kg1)
			}
		}
		_, err := e.ix.KnownGoodOverlap(t.Context(), index.NewJobID(t0), 10)
		wantErr(t, "KnownGoodOverlap of an unknown job", err, index.ErrJobNotFound)
	})
}
