package indextest

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"dewar/index"
)

// treeFixture finishes one job whose tree holds every kind of entry, with
// paths chosen to test bytewise order; it returns the job and the tree.
func treeFixture(e *env) (index.Job, []index.TreeEntry) {
	j := e.create()
	_, l := e.claim("w", j.ID)
	a, b := sample("a"), sample("b")
	tree := []index.TreeEntry{
		{Path: "é.php", Type: index.TreeFile, Blob: a.Ref, Size: a.Size},
		{Path: "a", Type: index.TreeDir},
		{Path: "a/b.php", Type: index.TreeFile, Blob: b.Ref, Size: b.Size},
		{Path: "a-b", Type: index.TreeFile, Blob: a.Ref, Size: a.Size},
		{Path: "a/link", Type: index.TreeSymlink, Target: "../../etc/passwd\xff"},
		{Path: "Z", Type: index.TreeOther},
		{Path: "a/_evil", RawPath: "a/\x01\xfe../evil", Type: index.TreeFile, Blob: b.Ref, Size: b.Size},
		{Path: "a/empty", Type: index.TreeFile}, // could not be read: no blob
		{Path: "a.zip.contents/x", Type: index.TreeFile, Blob: a.Ref, Size: a.Size},
	}
	e.finish(l, index.JobResult{Files: []index.File{uploadFile(j), a, b}, Tree: tree})
	return j, tree
}

// treeByKey sorts a tree as ListTree returns it: bytewise by TreeKey, so a
// directory sorts as its path plus "/" (as its S3 key does).
func treeByKey(tree []index.TreeEntry) []index.TreeEntry {
	s := slices.Clone(tree)
	slices.SortFunc(s, func(a, b index.TreeEntry) int {
		switch {
		case a.TreeKey() < b.TreeKey():
			return -1
		case a.TreeKey() > b.TreeKey():
			return 1
		}
		return 0
	})
	return s
}

// runTree checks ListTree, GetTreeEntry and JobsOfFile.
func runTree(t *testing.T, newIndex NewIngestIndex) {
	t.Run("ListTree", func(t *testing.T) {
		e := newEnv(t, newIndex)
		j, tree := treeFixture(e)
		sorted := treeByKey(tree)
		var all []string
		for _, te := range sorted {
			all = append(all, te.TreeKey())
		}
		// The directory "a" sorts as "a/", after "a-b" and "a.zip…".
		if want := []string{"Z", "a-b", "a.zip.contents/x", "a/", "a/_evil", "a/b.php", "a/empty", "a/link", "é.php"}; !slices.Equal(all, want) {
			t.Fatalf("fixture order %q, want %q", all, want)
		}
		es, more, err := e.ix.ListTree(t.Context(), j.ID, index.TreeListOptions{Limit: 100})
		if err != nil || more || !reflect.DeepEqual(es, sorted) {
			t.Errorf("ListTree = %+v, %v, %v\nwant %+v", es, more, err, sorted)
		}
		tests := []struct {
			name string
			o    index.TreeListOptions
			want []string
			more bool
		}{
			{"limit 0", index.TreeListOptions{Limit: 0}, nil, false},
			{"limit 1", index.TreeListOptions{Limit: 1}, all[:1], true},
			{"exact", index.TreeListOptions{Limit: len(all)}, all, false},
			{"prefix dir", index.TreeListOptions{Prefix: "a/", Limit: 100}, all[3:8], false},
			{"prefix a", index.TreeListOptions{Prefix: "a", Limit: 3}, all[1:4], true},
			{"prefix after", index.TreeListOptions{Prefix: "a/", After: "a/b.php", Limit: 100}, all[6:8], false},
			{"after", index.TreeListOptions{After: "a/link", Limit: 100}, all[8:], false},
			{"after before the prefix", index.TreeListOptions{Prefix: "a/", After: "A", Limit: 1}, all[3:4], true},
			{"after the directory", index.TreeListOptions{After: "a/", Limit: 1}, all[4:5], true},
			{"after the last", index.TreeListOptions{After: "é.php", Limit: 100}, nil, false},
			{"missing prefix", index.TreeListOptions{Prefix: "b", Limit: 100}, nil, false},
			{"multibyte prefix", index.TreeListOptions{Prefix: "é", Limit: 100}, all[8:], false},
		}
		for _, tc := range tests {
			es, more, err := e.ix.ListTree(t.Context(), j.ID, tc.o)
			var got []string
			for _, te := range es {
				got = append(got, te.TreeKey())
			}
			if err != nil || !slices.Equal(got, tc.want) || more != tc.more {
				t.Errorf("%s: %q more=%v err=%v, want %q more=%v", tc.name, got, more, err, tc.want, tc.more)
			}
		}
		_, _, err = e.ix.ListTree(t.Context(), index.NewJobID(t0), index.TreeListOptions{Limit: 10})
		wantErr(t, "ListTree of a missing job", err, index.ErrJobNotFound)
		queued := e.create()
		if es, more, err := e.ix.ListTree(t.Context(), queued.ID, index.TreeListOptions{Limit: 10}); err != nil || len(es) != 0 || more {
			t.Errorf("ListTree of an unfinished job = %v, %v, %v", es, more, err)
		}
	})
	t.Run("GetTreeEntry", func(t *testing.T) {
		e := newEnv(t, newIndex)
		j, tree := treeFixture(e)
		for _, want := range tree {
			got, err := e.ix.GetTreeEntry(t.Context(), j.ID, want.Path)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("GetTreeEntry(%q) = %+v, %v\nwant %+v", want.Path, got, err, want)
			}
		}
		for _, p := range []string{"", "a/", "missing", "A"} {
			_, err := e.ix.GetTreeEntry(t.Context(), j.ID, p)
			wantErr(t, fmt.Sprintf("GetTreeEntry(%q)", p), err, index.ErrNotFound)
		}
		_, err := e.ix.GetTreeEntry(t.Context(), index.NewJobID(t0), "a")
		wantErr(t, "GetTreeEntry of a missing job", err, index.ErrJobNotFound)
	})
	t.Run("JobsOfFile", func(t *testing.T) {
		e := newEnv(t, newIndex)
		x := sample("x")
		var want []index.JobFile
		// x in three jobs at two paths each; the third job's upload is x
		// itself (an occurrence with Path "").
		for i := range 3 {
			j := e.create(func(j *index.Job) {
				if i == 2 {
					j.Upload, j.UploadSize = x.Ref, x.Size
				}
			})
			_, l := e.claim("w", j.ID)
			files := []index.File{x}
			if i != 2 {
				files = append(files, uploadFile(j))
			} else {
				want = append(want, index.JobFile{JobID: j.ID})
			}
			e.finish(l, index.JobResult{Files: files, Tree: []index.TreeEntry{fileEntry("b/x", x), fileEntry("a/x", x), {Path: "a", Type: index.TreeDir}}})
			want = append(want, index.JobFile{JobID: j.ID, Path: "a/x"}, index.JobFile{JobID: j.ID, Path: "b/x"})
		}
		e.run(false, "other")
		// A waiting job whose upload is x is not an occurrence yet.
		e.create(func(j *index.Job) { j.Upload, j.UploadSize = x.Ref, x.Size })

		if f := getFile(t, e.ix, x.Ref); f.JobCount != 3 {
			t.Errorf("job count %d, want 3", f.JobCount)
		}
		got, more, err := e.ix.JobsOfFile(t.Context(), x.Ref, index.JobFile{}, 100)
		if err != nil || more || !slices.Equal(got, want) {
			t.Errorf("JobsOfFile = %v, %v, %v\nwant %v", got, more, err, want)
		}
		// Every cursor and page size, including cursors that are not
		// occurrences.
		for _, limit := range []int{1, 2, 3, 7} {
			var paged []index.JobFile
			after := index.JobFile{}
			for range 10 {
				page, more, err := e.ix.JobsOfFile(t.Context(), x.Ref, after, limit)
				if err != nil || len(page) > limit {
					t.Fatalf("limit %d after %v: %v, %v", limit, after, page, err)
				}
				paged = append(paged, page...)
				if !more {
					break
				}
				after = page[len(page)-1]
			}
			if !slices.Equal(paged, want) {
				t.Errorf("limit %d: pages joined = %v\nwant %v", limit, paged, want)
			}
		}
		cursors := []struct {
			after index.JobFile
			want  []index.JobFile
		}{
			{index.JobFile{JobID: want[0].JobID, Path: "a/w"}, want},
			{index.JobFile{JobID: want[0].JobID, Path: "zzz"}, want[2:]},
			{index.JobFile{JobID: want[4].JobID}, want[5:]},
			{index.JobFile{JobID: want[4].JobID, Path: "a/x"}, want[6:]},
			{want[6], nil},
		}
		for _, c := range cursors {
			got, _, err := e.ix.JobsOfFile(t.Context(), x.Ref, c.after, 100)
			if err != nil || !slices.Equal(got, c.want) {
				t.Errorf("after %v: %v, %v; want %v", c.after, got, err, c.want)
			}
		}
		if got, more, err := e.ix.JobsOfFile(t.Context(), x.Ref, index.JobFile{}, 0); err != nil || len(got) != 0 || more {
			t.Errorf("limit 0: %v, %v, %v", got, more, err)
		}
		if got, _, err := e.ix.JobsOfFile(t.Context(), blob("never"), index.JobFile{}, 10); err != nil || len(got) != 0 {
			t.Errorf("unknown file: %v, %v", got, err)
		}
	})
	t.Run("LargeTree", func(t *testing.T) {
		e := newEnv(t, newIndex)
		j := e.create()
		_, l := e.claim("w", j.ID)
		const n, distinct = 20000, 2500
		files := []index.File{uploadFile(j)}
		for i := range distinct {
			files = append(files, sample(fmt.Sprintf("f%d", i)))
		}
		tree := make([]index.TreeEntry, 0, n)
		want := make([]string, 0, n)
		for i := range n {
			p := fmt.Sprintf("site/d%03d/file-%05d.php", i%97, i)
			tree = append(tree, fileEntry(p, files[1+i%distinct]))
			want = append(want, p)
		}
		slices.Reverse(tree) // any input order
		slices.Sort(want)
		start := time.Now()
		done := e.finish(l, index.JobResult{Files: files, Tree: tree})
		t.Logf("Finish of %d files and %d paths took %v", len(files), n, time.Since(start))
		if done.Stats.Files != distinct+1 || done.Stats.NewFiles != distinct+1 {
			t.Errorf("stats %+v", done.Stats)
		}
		if got := treePaths(t, e.ix, j.ID, 1000); !slices.Equal(got, want) {
			t.Errorf("paged %d paths, want %d in order", len(got), len(want))
		}
		f := getFile(t, e.ix, files[7].Ref)
		if f.JobCount != 1 {
			t.Errorf("job count of a file at 8 paths = %d, want 1", f.JobCount)
		}
		wantRefs(t, e.ix, files[7].Ref, 1)
	})
}
