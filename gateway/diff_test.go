package gateway

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"dewar/cas"
	"dewar/cas/filestore"
	"dewar/index"
	"dewar/index/postgres"
	"dewar/index/postgres/pgtest"
	"dewar/test/fixtures"
)

// ingestTree runs a job through the queue with tree as its result, as a
// worker would after walking an archive of it: the distinct files recorded
// with real hashes. The job is known-good when
// knownGood is set.
func (ts *testService) ingestTree(t *testing.T, name string, knownGood bool, tree fixtures.Tree) index.Job {
	t.Helper()
	ctx := context.Background()
	j, err := ts.Submit(ctx, strings.NewReader("upload of "+name), Submission{Name: name, KnownGood: knownGood, Submitter: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	res := index.JobResult{Status: index.JobDone, Commit: func(context.Context, cas.Ref) error { return nil }}
	// The index only needs the files' rows: the bodies are not stored
	// (the diff never reads them), so Commit vouches for them.
	bodies := map[cas.Ref][]byte{}
	for _, n := range tree {
		if n.Type == "file" {
			bodies[cas.Sum(n.Body)] = n.Body
		}
	}
	for ref, body := range bodies {
		m, s := md5.Sum(body), sha1.Sum(body)
		res.Files = append(res.Files, index.File{Ref: ref, Size: int64(len(body)), MD5: hex.EncodeToString(m[:]), SHA1: hex.EncodeToString(s[:]), MIME: "text/plain"})
	}
	res.Files = append(res.Files, index.File{Ref: j.Upload, Size: j.UploadSize, MD5: j.UploadMD5, SHA1: "-", MIME: "application/zip"})
	for _, n := range tree {
		e := index.TreeEntry{Path: n.Path, Type: index.TreeType(n.Type), Target: n.Target}
		if n.Type == "file" {
			e.Blob, e.Size = cas.Sum(n.Body), int64(len(n.Body))
		}
		res.Tree = append(res.Tree, e)
	}
	claimed, lease, err := ts.idx.Claim(ctx, "test/1/worker-0", time.Minute)
	if err != nil || claimed.ID != j.ID {
		t.Fatalf("claim: %s, %v", claimed.ID, err)
	}
	done, err := ts.idx.Finish(ctx, lease, res)
	if err != nil {
		t.Fatal(err)
	}
	return done
}

// onEachIndex runs fn on a service over SQLite and over PostgreSQL (see
// pgtest for when PostgreSQL is required), since each compiles the
// overlap, lookups and tree listings the diff relies on itself.
func onEachIndex(t *testing.T, fn func(t *testing.T, ts *testService)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, newTestService(t, nil)) })
	t.Run("postgres", func(t *testing.T) {
		ix, err := postgres.Open(context.Background(), pgtest.NewSchema(t, pgtest.NewDatabase(t)), postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ix.Close() })
		st, err := filestore.Open(t.TempDir(), filestore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ts := &testService{store: st, idx: ix.Index}
		if ts.Service, err = New(context.Background(), Options{Store: st, Index: ix, Logger: slog.New(slog.DiscardHandler)}); err != nil {
			t.Fatal(err)
		}
		fn(t, ts)
	})
}

// truth is the diff a kit's paths must get against known-good trees,
// from the models alone: known-good when the bytes are in any known-good
// tree, modified when the path (without the kit's extra root, under the
// known-good root) is a file there, else new.
func truth(kit fixtures.Tree, kitRoot, kgRoot string, kgs ...fixtures.Tree) map[string]string {
	bodies, paths := map[cas.Ref]bool{}, map[string]bool{}
	for _, kg := range kgs {
		for _, n := range kg {
			if n.Type == "file" {
				bodies[cas.Sum(n.Body)] = true
				paths[n.Path] = true
			}
		}
	}
	want := map[string]string{}
	for _, n := range kit {
		if n.Type != "file" {
			continue
		}
		rest, under := strings.CutPrefix(n.Path, kitRoot)
		switch {
		case bodies[cas.Sum(n.Body)]:
			want[n.Path] = DiffKnownGood
		case under && paths[kgRoot+rest]:
			want[n.Path] = DiffModified
		default:
			want[n.Path] = DiffNew
		}
	}
	return want
}

func countsOf(want map[string]string) DiffCounts {
	var c DiffCounts
	for _, d := range want {
		c.add(d)
	}
	return c
}

// diffOf runs Diff and returns each path's diff and base.
func (ts *testService) diffOf(t *testing.T, j index.Job) (JobDiff, map[string]DiffEntry) {
	t.Helper()
	got := map[string]DiffEntry{}
	var last string
	jd, err := ts.Diff(context.Background(), j, func(e DiffEntry) error {
		// The tree's key order: a directory sorts as its path and "/".
		key := e.Path
		if e.Type == string(index.TreeDir) {
			key += "/"
		}
		if key <= last && last != "" {
			t.Errorf("diff out of order: %q after %q", key, last)
		}
		last = key
		got[e.Path] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return jd, got
}

func checkDiff(t *testing.T, got map[string]DiffEntry, want map[string]string) {
	t.Helper()
	bad := 0
	for p, e := range got {
		w, isFile := want[p]
		if !isFile {
			if e.Diff != "" {
				t.Errorf("%s (%s): diff %q, want none on a non-file", p, e.Type, e.Diff)
			}
			continue
		}
		if e.Diff != w {
			if bad++; bad <= 10 {
				t.Errorf("%s: diff %q, want %q", p, e.Diff, w)
			}
		}
		if (e.Diff == DiffModified) != (e.Base != nil) {
			t.Errorf("%s: diff %q with base %+v", p, e.Diff, e.Base)
		}
	}
	for p := range want {
		if _, ok := got[p]; !ok {
			t.Errorf("%s: missing from the diff", p)
		}
	}
	if bad > 10 {
		t.Errorf("... %d paths wrong in all", bad)
	}
}

// TestDiffFixtureKits: kits derived from a known-good release, rooted as
// the release (seed 3), under public_html/ (seed 1) and secure-login/
// (seed 2), get every path's diff right against the release and an
// unrelated release sharing a few files; the release is the best match,
// with the kit's extra root aligned, and the summary names it.
func TestDiffFixtureKits(t *testing.T) { onEachIndex(t, testDiffFixtureKits) }

func testDiffFixtureKits(t *testing.T, ts *testService) {
	base, other := fixtures.KnownGood(1), fixtures.KnownGood(2)
	kgJob := ts.ingestTree(t, "basic-cms-1.0.zip", true, base)
	otherJob := ts.ingestTree(t, "other-cms-2.0.tar.gz", true, other)
	for _, c := range []struct {
		seed uint64
		root string
	}{{3, ""}, {1, "public_html/"}, {2, "secure-login/"}, {4, "public_html/"}} {
		if kitRoot(c.seed) != c.root {
			t.Fatalf("fixtures.Kit roots seed %d elsewhere than %q", c.seed, c.root)
		}
		t.Run(fmt.Sprint("seed-", c.seed), func(t *testing.T) {
			kit := fixtures.Kit(base, c.seed)
			j := ts.ingestTree(t, fmt.Sprintf("kit-%d.zip", c.seed), false, kit)
			want := truth(kit, c.root, "", base, other)
			jd, got := ts.diffOf(t, j)
			checkDiff(t, got, want)
			wc := countsOf(want)
			if wc.Modified == 0 || wc.New == 0 || wc.KnownGood == 0 {
				t.Fatalf("fixture too tame: %+v", wc)
			}
			if jd.Counts != wc {
				t.Errorf("counts %+v, want %+v", jd.Counts, wc)
			}
			if len(jd.Matches) != 2 || jd.Matches[0].ID != kgJob.ID || jd.Matches[1].ID != otherJob.ID {
				t.Fatalf("matches %+v, want %s then %s", jd.Matches, kgJob.ID, otherJob.ID)
			}
			if m := jd.Matches[0]; m.Root != c.root || m.KnownGoodRoot != "" || m.Name != "basic-cms-1.0.zip" || m.Shared < 100 {
				t.Errorf("best match %+v, want root %q against \"\"", m, c.root)
			}
			wantSummary := fmt.Sprintf("basic-cms-1.0 + %d new, %d modified", wc.New, wc.Modified)
			if jd.Summary != wantSummary {
				t.Errorf("summary %q, want %q", jd.Summary, wantSummary)
			}
			for p, e := range got {
				if e.Diff != DiffModified {
					continue
				}
				rest := strings.TrimPrefix(p, c.root)
				if e.Base.Path != rest || e.Base.SHA256 == *e.SHA256 || e.Base.Job == "" {
					t.Errorf("%s: base %+v", p, e.Base)
				}
			}
		})
	}
}

// kitRoot is the root fixtures.Kit puts a kit of seed under.
func kitRoot(seed uint64) string {
	for _, n := range fixtures.Kit(fixtures.Tree{}, seed) {
		if r, _, ok := strings.Cut(n.Path, "basic-cms/"); ok {
			return r
		}
	}
	return ""
}

// reroot moves every path from under oldRoot to under newRoot.
func reroot(tr fixtures.Tree, oldRoot, newRoot string) fixtures.Tree {
	var out fixtures.Tree
	for _, n := range tr {
		rest, ok := strings.CutPrefix(n.Path+"/", oldRoot)
		if !ok {
			continue
		}
		n.Path = strings.TrimSuffix(newRoot+rest, "/")
		out = append(out, n)
	}
	return out
}

// TestDiffRenamedRoot: the release sits under wordpress/ and the kit put
// its files straight under public_html/ (public_html/wp-login.php against
// wordpress/wp-login.php): the roots align on the shared files and
// modified paths are found through them.
func TestDiffRenamedRoot(t *testing.T) { onEachIndex(t, testDiffRenamedRoot) }

func testDiffRenamedRoot(t *testing.T, ts *testService) {
	model := fixtures.KnownGood(7)
	kg := reroot(model, "basic-cms/", "wordpress/")
	kit := reroot(fixtures.Kit(model, 9), "basic-cms/", "public_html/")
	kgJob := ts.ingestTree(t, "wordpress-6.1.9.zip", true, kg)
	j := ts.ingestTree(t, "kit.zip", false, kit)
	want := truth(kit, "public_html/", "wordpress/", kg)
	jd, got := ts.diffOf(t, j)
	checkDiff(t, got, want)
	if len(jd.Matches) != 1 || jd.Matches[0].ID != kgJob.ID || jd.Matches[0].Root != "public_html/" || jd.Matches[0].KnownGoodRoot != "wordpress/" {
		t.Errorf("matches %+v", jd.Matches)
	}
	wc := countsOf(want)
	if wc.Modified == 0 || jd.Summary != fmt.Sprintf("wordpress-6.1.9 + %d new, %d modified", wc.New, wc.Modified) {
		t.Errorf("summary %q, counts %+v", jd.Summary, wc)
	}
}

// TestDiffManyPages: trees of several listing pages (and several
// known-good tree reads) diff every path right, in the manifest too.
func TestDiffManyPages(t *testing.T) {
	ts := newTestService(t, nil)
	var kg, kit fixtures.Tree
	kg = append(kg, fixtures.Node{Path: "app", Type: "dir"})
	kit = append(kit, fixtures.Node{Path: "site", Type: "dir"})
	for i := range 2600 {
		p := fmt.Sprintf("f%05d.php", i)
		body := []byte(fmt.Sprintf("<?php // file %d\n", i))
		kg = append(kg, fixtures.Node{Path: "app/" + p, Type: "file", Body: body})
		switch {
		case i%7 == 3: // modified
			kit = append(kit, fixtures.Node{Path: "site/" + p, Type: "file", Body: append(body, "eval($_POST[x]);"...)})
		case i%11 == 5: // removed, and a new file beside
			kit = append(kit, fixtures.Node{Path: "site/" + p + ".new", Type: "file", Body: []byte(fmt.Sprintf("new %d", i))})
		case i%13 == 0: // a directory where the release has a file
			kit = append(kit, fixtures.Node{Path: "site/" + p, Type: "dir"})
		default:
			kit = append(kit, fixtures.Node{Path: "site/" + p, Type: "file", Body: body})
		}
	}
	ts.ingestTree(t, "app-1.0.zip", true, kg)
	j := ts.ingestTree(t, "kit.zip", false, kit)
	want := truth(kit, "site/", "app/", kg)
	jd, got := ts.diffOf(t, j)
	checkDiff(t, got, want)
	if jd.Counts != countsOf(want) {
		t.Errorf("counts %+v, want %+v", jd.Counts, countsOf(want))
	}

	var buf bytes.Buffer
	if err := ts.WriteManifest(context.Background(), &buf, j); err != nil {
		t.Fatal(err)
	}
	var m struct {
		Tree []struct{ Path, Type, Diff string }
	}
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Tree) != len(got) {
		t.Fatalf("manifest has %d entries, diff %d", len(m.Tree), len(got))
	}
	for _, e := range m.Tree {
		if e.Diff != want[e.Path] {
			t.Errorf("manifest %s: diff %q, want %q", e.Path, e.Diff, want[e.Path])
		}
	}
}

// TestDiffFollowsLaterKnownGood: a kit ingested before its release reads
// all new; once the release is in, manifest.json (and its cached size and
// ETag) and the diff follow.
func TestDiffFollowsLaterKnownGood(t *testing.T) { onEachIndex(t, testDiffFollowsLaterKnownGood) }

func testDiffFollowsLaterKnownGood(t *testing.T, ts *testService) {
	ctx := context.Background()
	base := fixtures.KnownGood(5)
	kit := fixtures.Kit(base, 5)
	j := ts.ingestTree(t, "kit-5.zip", false, kit)

	manifestDiffs := func() (map[string]string, ManifestInfo) {
		t.Helper()
		info, err := ts.ManifestInfo(ctx, j)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := ts.WriteManifest(ctx, &buf, j); err != nil {
			t.Fatal(err)
		}
		sum := md5.Sum(buf.Bytes())
		if info.Size != int64(buf.Len()) || info.ETag != hex.EncodeToString(sum[:]) {
			t.Errorf("ManifestInfo %+v; the manifest has %d bytes, md5 %x", info, buf.Len(), sum)
		}
		var m struct {
			Tree []struct{ Path, Type, Diff string }
		}
		if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, e := range m.Tree {
			if e.Type == "file" {
				out[e.Path] = e.Diff
			}
		}
		return out, info
	}
	before, info1 := manifestDiffs()
	for p, d := range before {
		if d != DiffNew {
			t.Errorf("before the release, %s: %q", p, d)
		}
	}
	jd, _ := ts.diffOf(t, j)
	if len(jd.Matches) != 0 || jd.Summary != fmt.Sprintf("%d new, no known-good match", len(before)) {
		t.Errorf("before the release: %+v", jd)
	}

	ts.ingestTree(t, "basic-cms-5.zip", true, base)
	after, info2 := manifestDiffs()
	if info1 == info2 {
		t.Errorf("ManifestInfo unchanged after the release arrived: %+v", info2)
	}
	want := truth(kit, kitRoot(5), "", base)
	for p, w := range want {
		if after[p] != w {
			t.Errorf("after the release, %s: %q, want %q", p, after[p], w)
		}
	}
}

// TestWriteDiff: the JSON of the diff call holds the matches, every entry
// with its diff (and base when modified), counts and summary.
func TestWriteDiff(t *testing.T) {
	ts := newTestService(t, nil)
	base := fixtures.KnownGood(1)
	kit := fixtures.Kit(base, 3)
	kgJob := ts.ingestTree(t, "basic-cms-1.0.zip", true, base)
	j := ts.ingestTree(t, "kit.zip", false, kit)
	var buf bytes.Buffer
	if err := ts.WriteDiff(context.Background(), &buf, j); err != nil {
		t.Fatal(err)
	}
	var d struct {
		JobID   string           `json:"job_id"`
		Matches []KnownGoodMatch `json:"known_good_jobs"`
		Tree    []struct {
			Path, Type, Diff string
			SHA256           string
			Base             *struct{ Job, Path, SHA256 string }
		}
		Counts  DiffCounts
		Summary string
	}
	if err := json.Unmarshal(buf.Bytes(), &d); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	want := truth(kit, "", "", base)
	wc := countsOf(want)
	if d.JobID != j.ID || len(d.Matches) != 1 || d.Matches[0].ID != kgJob.ID || d.Counts != wc ||
		d.Summary != fmt.Sprintf("basic-cms-1.0 + %d new, %d modified", wc.New, wc.Modified) {
		t.Errorf("diff head/tail: %+v %+v %q", d.Matches, d.Counts, d.Summary)
	}
	files := 0
	for _, e := range d.Tree {
		if e.Type != "file" {
			continue
		}
		files++
		if e.Diff != want[e.Path] {
			t.Errorf("%s: %q, want %q", e.Path, e.Diff, want[e.Path])
		}
		if e.Diff == DiffModified && (e.Base == nil || e.Base.Job != kgJob.ID || e.Base.Path != e.Path || e.Base.SHA256 == e.SHA256) {
			t.Errorf("%s: base %+v", e.Path, e.Base)
		}
	}
	if files != len(want) {
		t.Errorf("%d files in the diff, want %d", files, len(want))
	}
}

func TestAlignPaths(t *testing.T) {
	for _, c := range []struct {
		a, b         string
		rootA, rootB string
		ok           bool
	}{
		{"public_html/wp-login.php", "wordpress/wp-login.php", "public_html/", "wordpress/", true},
		{"public_html/basic-cms/x/y.php", "basic-cms/x/y.php", "public_html/", "", true},
		{"x/y.php", "b/x/y.php", "", "b/", true},
		{"a/b/c", "a/b/c", "", "", true},
		{"c", "c", "", "", true},
		{"a/b/c", "z/c", "a/b/", "z/", true},
		{"a/b.php", "a/c.php", "", "", false},
		{"ab/c", "b/c", "ab/", "b/", true},
		{"☃/snow.css", "snö/☃/snow.css", "", "snö/", true},
	} {
		ra, rb, ok := alignPaths(c.a, c.b)
		if ra != c.rootA || rb != c.rootB || ok != c.ok {
			t.Errorf("alignPaths(%q, %q) = %q, %q, %v; want %q, %q, %v", c.a, c.b, ra, rb, ok, c.rootA, c.rootB, c.ok)
		}
	}
}

func TestTitleAndSummary(t *testing.T) {
	for in, want := range map[string]string{
		"wordpress-6.1.9.zip": "wordpress-6.1.9", "uploads/x/WordPress 6.1.9.TAR.GZ": "WordPress 6.1.9",
		"kit.7z": "kit", "plain": "plain", ".zip": ".zip", "a.b.rar": "a.b",
	} {
		if got := Title(in); got != want {
			t.Errorf("Title(%q) = %q, want %q", in, got, want)
		}
	}
	wp := []KnownGoodMatch{{Name: "WordPress 6.1.9.zip"}}
	for _, c := range []struct {
		m    []KnownGoodMatch
		c    DiffCounts
		want string
	}{
		{wp, DiffCounts{KnownGood: 900, New: 14, Modified: 3}, "WordPress 6.1.9 + 14 new, 3 modified"},
		{wp, DiffCounts{KnownGood: 900, Modified: 3}, "WordPress 6.1.9 + 3 modified"},
		{wp, DiffCounts{KnownGood: 900, New: 1}, "WordPress 6.1.9 + 1 new"},
		{wp, DiffCounts{KnownGood: 900}, "WordPress 6.1.9, unmodified"},
		{nil, DiffCounts{New: 4}, "4 new, no known-good match"},
		{nil, DiffCounts{}, "no files"},
		{nil, DiffCounts{KnownGood: 2, New: 1}, "2 known-good, 1 new"},
	} {
		if got := summary(c.m, c.c); got != c.want {
			t.Errorf("summary(%+v) = %q, want %q", c.c, got, c.want)
		}
	}
}

// countingJobs counts ListTree calls over a fixed tree.
type countingJobs struct {
	index.Jobs
	tree  []index.TreeEntry // in path order
	reads int
}

func (c *countingJobs) ListTree(_ context.Context, _ string, o index.TreeListOptions) ([]index.TreeEntry, bool, error) {
	c.reads++
	var out []index.TreeEntry
	for _, e := range c.tree {
		if e.Path > o.After && strings.HasPrefix(e.Path, o.Prefix) {
			if len(out) == o.Limit {
				return out, true, nil
			}
			out = append(out, e)
		}
	}
	return out, false, nil
}

// TestTreeSeeker: dense targets cost one read per page, sparse ones skip
// ahead, directories never match, and misses are misses.
func TestTreeSeeker(t *testing.T) {
	var tree []index.TreeEntry
	tree = append(tree, index.TreeEntry{Path: "other/a", Type: index.TreeFile})
	for i := range 3000 {
		typ := index.TreeFile
		if i%10 == 9 {
			typ = index.TreeDir
		}
		tree = append(tree, index.TreeEntry{Path: fmt.Sprintf("r/%05d", i), Type: typ, Size: int64(i)})
	}
	for _, c := range []struct {
		name     string
		step     int
		maxReads int
	}{{"dense", 1, 3000/seekPage + 2}, {"sparse", 500, 7}} {
		t.Run(c.name, func(t *testing.T) {
			cj := &countingJobs{tree: tree}
			sk := treeSeeker{jobs: cj, jobID: "j", prefix: "r/"}
			for i := 0; i < 3010; i += c.step {
				e, ok, err := sk.find(context.Background(), fmt.Sprintf("r/%05d", i))
				if err != nil {
					t.Fatal(err)
				}
				wantOK := i < 3000 && i%10 != 9
				if ok != wantOK || ok && e.Size != int64(i) {
					t.Fatalf("find %d: %+v %v, want found=%v", i, e, ok, wantOK)
				}
			}
			if _, ok, _ := sk.find(context.Background(), "r/99999"); ok {
				t.Errorf("found a path past the end")
			}
			if cj.reads > c.maxReads {
				t.Errorf("%d reads, want at most %d", cj.reads, c.maxReads)
			}
		})
	}
	if _, ok, _ := (&treeSeeker{jobs: &countingJobs{tree: tree}, prefix: "r/"}).find(context.Background(), "other/a"); ok {
		t.Errorf("found a path outside the prefix")
	}
}
