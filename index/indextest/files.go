package indextest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"dewar/index"
)

// RunFiles checks index.Files and what Finish derives for each file:
// first-seen, job counts and the known-good flag.
func RunFiles(t *testing.T, newIndex NewIngestIndex) {
	t.Run("GetFile", func(t *testing.T) {
		e := newEnv(t, newIndex)
		e.clock.Advance(time.Hour)
		j := e.run(false, "x")
		want := sample("x")
		want.FirstSeen, want.JobCount = t0.Add(time.Hour), 1
		got := getFile(t, e.ix, want.Ref)
		if !sameTime(got.FirstSeen, want.FirstSeen) {
			t.Errorf("FirstSeen = %v, want %v", got.FirstSeen, want.FirstSeen)
		}
		got.FirstSeen = want.FirstSeen
		if got != want {
			t.Errorf("GetFile = %+v\nwant %+v", got, want)
		}
		if up := getFile(t, e.ix, j.Upload); up.Size != j.UploadSize || up.JobCount != 1 {
			t.Errorf("the upload is a file too: %+v", up)
		}
		_, err := e.ix.GetFile(t.Context(), blob("never"))
		wantErr(t, "GetFile of an unknown file", err, index.ErrFileNotFound)
		// A waiting job's upload is not a file yet.
		w := e.create()
		_, err = e.ix.GetFile(t.Context(), w.Upload)
		wantErr(t, "GetFile of a waiting upload", err, index.ErrFileNotFound)
	})
	t.Run("FirstSeenKept", func(t *testing.T) {
		e := newEnv(t, newIndex)
		e.run(false, "x")
		e.clock.Advance(24 * time.Hour)
		j := e.create()
		_, l := e.claim("w", j.ID)
		changed := sample("x")
		changed.MIME = "application/x-php"
		e.finish(l, index.JobResult{Files: []index.File{changed}})
		f := getFile(t, e.ix, changed.Ref)
		if !sameTime(f.FirstSeen, t0) || f.MIME != "text/plain" || f.JobCount != 2 {
			t.Errorf("second sighting changed the file: %+v", f)
		}
	})
	t.Run("JobCount", func(t *testing.T) {
		e := newEnv(t, newIndex)
		j := e.create()
		_, l := e.claim("w", j.ID)
		x, y := sample("x"), sample("y")
		e.finish(l, index.JobResult{
			Files: []index.File{x, y, x, uploadFile(j)}, // repeated: counted once
			Tree:  []index.TreeEntry{fileEntry("1", x), fileEntry("2", x), fileEntry("3", y)},
		})
		e.run(false, "x")
		e.run(false, "y", "x")
		for _, c := range []struct {
			f    index.File
			want int64
		}{{x, 3}, {y, 2}, {uploadFile(j), 1}} {
			if got := getFile(t, e.ix, c.f.Ref).JobCount; got != c.want {
				t.Errorf("job count of %s = %d, want %d", c.f.Ref.String()[:8], got, c.want)
			}
		}
		wantRefs(t, e.ix, x.Ref, 1)    // one pin per file, not per job
		wantRefs(t, e.ix, j.Upload, 2) // the job's and the file's
	})
	t.Run("KnownGood", func(t *testing.T) {
		e := newEnv(t, newIndex)
		kg := func(names ...string) []bool {
			var out []bool
			for _, n := range names {
				out = append(out, getFile(t, e.ix, blob(n)).KnownGood)
			}
			return out
		}
		e.run(false, "x", "shared")
		if got := kg("x", "shared"); !slices.Equal(got, []bool{false, false}) {
			t.Errorf("after an ordinary job: %v", got)
		}
		// A known-good job flips the files it has, old and new.
		wp := e.run(true, "shared", "wp")
		if got := kg("x", "shared", "wp"); !slices.Equal(got, []bool{false, true, true}) {
			t.Errorf("after a known-good job: %v", got)
		}
		if !getFile(t, e.ix, wp.Upload).KnownGood {
			t.Error("a known-good job's upload is not known-good")
		}
		// A later ordinary job does not unflip, and its new files are not
		// known-good.
		e.run(false, "wp", "new")
		if got := kg("wp", "new"); !slices.Equal(got, []bool{true, false}) {
			t.Errorf("after a later ordinary job: %v", got)
		}
		// A known-good job that failed vouches for nothing.
		j := e.create(func(j *index.Job) { j.KnownGood = true })
		_, l := e.claim("w", j.ID)
		e.finish(l, index.JobResult{Status: index.JobFailed, Error: "truncated",
			Files: []index.File{uploadFile(j), sample("x"), sample("partial")},
			Tree:  []index.TreeEntry{fileEntry("x", sample("x")), fileEntry("partial", sample("partial"))}})
		if got := kg("x", "partial"); !slices.Equal(got, []bool{false, false}) {
			t.Errorf("after a failed known-good job: %v", got)
		}
		if got := getFile(t, e.ix, blob("partial")).JobCount; got != 1 {
			t.Errorf("a failed job's files are counted: job count %d, want 1", got)
		}
	})
	t.Run("ListFiles", func(t *testing.T) {
		e := newEnv(t, newIndex)
		var names []string
		for i := range 300 {
			names = append(names, fmt.Sprintf("n%d", i))
		}
		for i := 0; i < len(names); i += 100 {
			e.run(false, names[i:i+100]...)
		}
		var all []string // every file: the samples and the three uploads
		for _, n := range names {
			all = append(all, blob(n).String())
		}
		for _, j := range getJobs(e, index.JobDone) {
			all = append(all, j.Upload.String())
		}
		slices.Sort(all)
		byPrefix := func(p string) []string {
			var out []string
			for _, h := range all {
				if strings.HasPrefix(h, p) {
					out = append(out, h)
				}
			}
			return out
		}
		p1 := all[100][:1]
		p2 := all[150][:2]
		tests := []struct {
			name string
			o    index.FileListOptions
			want []string
			more bool
		}{
			{"all", index.FileListOptions{Limit: 1000}, all, false},
			{"limit 0", index.FileListOptions{Limit: 0}, nil, false},
			{"first", index.FileListOptions{Limit: 10}, all[:10], true},
			{"exact", index.FileListOptions{Limit: len(all)}, all, false},
			{"after", index.FileListOptions{After: all[49], Limit: 10}, all[50:60], true},
			{"after to the end", index.FileListOptions{After: all[len(all)-3], Limit: 10}, all[len(all)-2:], false},
			{"after a non-member", index.FileListOptions{After: all[20][:5], Limit: 1}, all[20:21], true},
			{"prefix", index.FileListOptions{Prefix: p1, Limit: 1000}, byPrefix(p1), false},
			{"prefix upper case", index.FileListOptions{Prefix: strings.ToUpper(p2), Limit: 1000}, byPrefix(p2), false},
			{"prefix f", index.FileListOptions{Prefix: "f", Limit: 1000}, byPrefix("f"), false},
			{"prefix and after", index.FileListOptions{Prefix: p1, After: byPrefix(p1)[0], Limit: 1000}, byPrefix(p1)[1:], false},
			{"whole hash", index.FileListOptions{Prefix: all[7], Limit: 10}, all[7:8], false},
			{"not hex", index.FileListOptions{Prefix: "zz", Limit: 10}, nil, false},
		}
		for _, tc := range tests {
			files, more, err := e.ix.ListFiles(t.Context(), tc.o)
			var got []string
			for _, f := range files {
				got = append(got, f.Ref.String())
			}
			if err != nil || !slices.Equal(got, tc.want) || more != tc.more {
				t.Errorf("%s: %d files more=%v err=%v, want %d more=%v", tc.name, len(got), more, err, len(tc.want), tc.more)
			}
		}
		// Pages join into the whole list and carry the files' fields.
		var paged []string
		o := index.FileListOptions{Limit: 7}
		for {
			files, more, err := e.ix.ListFiles(t.Context(), o)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				paged = append(paged, f.Ref.String())
				if f.JobCount != 1 || f.Size == 0 || f.FirstSeen.IsZero() {
					t.Errorf("listed file %+v", f)
				}
			}
			if !more {
				break
			}
			o.After = paged[len(paged)-1]
		}
		if !slices.Equal(paged, all) {
			t.Errorf("pages joined: %d files, want %d", len(paged), len(all))
		}
	})
}
