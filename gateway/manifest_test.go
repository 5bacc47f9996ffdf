package gateway

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"dewar/cas"
	"dewar/index"
)

// finished submits body and records tree as its result through the queue,
// as a worker would; files are stored first.
func (ts *testService) finished(t *testing.T, body []byte, files [][]byte, tree []index.TreeEntry) index.Job {
	t.Helper()
	ctx := context.Background()
	j, err := ts.Submit(ctx, bytes.NewReader(body), Submission{Name: "kit.zip", KnownGood: true, Submitter: "alice", Notes: "n"})
	if err != nil {
		t.Fatal(err)
	}
	res := index.JobResult{Status: index.JobDone, Warnings: []string{"a warning"},
		Commit: func(ctx context.Context, ref cas.Ref) error { _, err := ts.store.Stat(ctx, ref); return err }}
	res.Files = append(res.Files, index.File{Ref: j.Upload, Size: j.UploadSize, MD5: j.UploadMD5, SHA1: "x", MIME: "application/zip"})
	for _, b := range files {
		ref, _, err := ts.store.Put(ctx, bytes.NewReader(b), cas.StageOptions{})
		if err != nil {
			t.Fatal(err)
		}
		res.Files = append(res.Files, index.File{Ref: ref.Ref, Size: ref.Size, MD5: "m", SHA1: "s", MIME: "text/plain"})
	}
	claimed, lease, err := ts.idx.Claim(ctx, "test/1/worker-0", time.Minute)
	if err != nil || claimed.ID != j.ID {
		t.Fatalf("claim: %s, %v", claimed.ID, err)
	}
	res.Tree = tree
	done, err := ts.idx.Finish(ctx, lease, res)
	if err != nil {
		t.Fatal(err)
	}
	return done
}

// manifestJSON is manifest.json as a client decodes it.
type manifestJSON struct {
	ID            string          `json:"id"`
	Name          string          `json:"name"`
	KnownGood     bool            `json:"known_good"`
	Status        string          `json:"status"`
	Error         string          `json:"error"`
	Warnings      []string        `json:"warnings"`
	SubmittedAt   time.Time       `json:"submitted_at"`
	CollectedAt   *time.Time      `json:"collected_at"`
	Submitter     string          `json:"submitter"`
	Notes         string          `json:"notes"`
	ArchiveSHA256 string          `json:"archive_sha256"`
	Stats         index.JobStats  `json:"stats"`
	Tree          []manifestEntry `json:"tree"`
}

type manifestEntry struct {
	Path          string  `json:"path"`
	Type          string  `json:"type"`
	SHA256        *string `json:"sha256"`
	Size          *int64  `json:"size"`
	Target        string  `json:"target"`
	RawPath       string  `json:"raw_path"`
	RawPathBase64 string  `json:"raw_path_base64"`
}

// TestWriteManifest: a tree of more than two pages streams out complete
// and in key order, with the fields DESIGN.md names, sha256 and size on
// files only, link targets, and unsafe original names kept (base64 when
// not UTF-8).
func TestWriteManifest(t *testing.T) {
	ts := newTestService(t, nil)
	a, b := []byte("<?php echo 1;"), []byte("body { color: red }")
	refA, refB := cas.Sum(a), cas.Sum(b)
	tree := []index.TreeEntry{
		{Path: "kit", Type: index.TreeDir},
		{Path: "kit/link", Type: index.TreeSymlink, Target: "../../etc/passwd"},
		{Path: "kit/hard", Type: index.TreeOther, Target: "/etc/shadow"},
		{Path: "etc/passwd", RawPath: "../../etc/passwd", Type: index.TreeFile, Blob: refA, Size: int64(len(a))},
		{Path: "bad\uFFFD.txt", RawPath: "bad\xff\xfe.txt", Type: index.TreeFile, Blob: refB, Size: int64(len(b))},
	}
	const n = 2*treePage + 345
	for i := range n {
		ref, body := refA, a
		if i%2 == 1 {
			ref, body = refB, b
		}
		tree = append(tree, index.TreeEntry{Path: fmt.Sprintf("kit/f%05d.php", i), Type: index.TreeFile, Blob: ref, Size: int64(len(body))})
	}
	j := ts.finished(t, []byte("the upload"), [][]byte{a, b}, tree)

	var buf bytes.Buffer
	if err := ts.WriteManifest(context.Background(), &buf, j); err != nil {
		t.Fatal(err)
	}
	var m manifestJSON
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("manifest is not JSON: %v\n%s", err, buf.String()[:200])
	}
	if m.ID != j.ID || m.Name != "kit.zip" || !m.KnownGood || m.Status != "done" || m.Error != "" || m.Submitter != "alice" ||
		m.Notes != "n" || m.CollectedAt != nil || m.ArchiveSHA256 != j.Upload.String() || !m.SubmittedAt.Equal(j.SubmittedAt) ||
		len(m.Warnings) != 1 || m.Stats != j.Stats || m.Stats.Files != 3 {
		t.Errorf("manifest head: %+v (job %+v)", m, j)
	}
	if len(m.Tree) != len(tree) {
		t.Fatalf("tree has %d entries, want %d", len(m.Tree), len(tree))
	}
	for i := 1; i < len(m.Tree); i++ {
		if key(m.Tree[i-1]) >= key(m.Tree[i]) {
			t.Fatalf("tree out of order at %d: %q then %q", i, m.Tree[i-1].Path, m.Tree[i].Path)
		}
	}
	byPath := map[string]manifestEntry{}
	for _, e := range m.Tree {
		byPath[e.Path] = e
		if (e.Type == "file") != (e.SHA256 != nil && e.Size != nil) {
			t.Errorf("%s (%s): sha256 %v size %v; want both on files only", e.Path, e.Type, e.SHA256, e.Size)
		}
	}
	for _, c := range []struct {
		path string
		want manifestEntry
	}{
		{"kit/link", manifestEntry{Type: "symlink", Target: "../../etc/passwd"}},
		{"kit/hard", manifestEntry{Type: "other", Target: "/etc/shadow"}},
		{"etc/passwd", manifestEntry{Type: "file", RawPath: "../../etc/passwd"}},
		{"bad\uFFFD.txt", manifestEntry{Type: "file", RawPathBase64: base64.StdEncoding.EncodeToString([]byte("bad\xff\xfe.txt"))}},
		{"kit", manifestEntry{Type: "dir"}},
	} {
		e := byPath[c.path]
		if e.Type != c.want.Type || e.Target != c.want.Target || e.RawPath != c.want.RawPath || e.RawPathBase64 != c.want.RawPathBase64 {
			t.Errorf("%s: %+v, want %+v", c.path, e, c.want)
		}
	}
	if e := byPath["kit/f00001.php"]; e.SHA256 == nil || *e.SHA256 != refB.String() || *e.Size != int64(len(b)) {
		t.Errorf("kit/f00001.php: %+v", e)
	}
}

// key is an entry's key order: directories sort as their path plus "/".
func key(e manifestEntry) string {
	if e.Type == "dir" {
		return e.Path + "/"
	}
	return e.Path
}

// TestManifestInfo: the size and ETag are those of the bytes WriteManifest
// writes, and follow every change of the job, even two within one
// timestamp tick.
func TestManifestInfo(t *testing.T) {
	fixed := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	ts := newTestService(t, func() time.Time { return fixed })
	ctx := context.Background()
	j, err := ts.Submit(ctx, strings.NewReader("upload"), Submission{Name: "a.zip", Hold: true})
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, j index.Job) {
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
			t.Errorf("%s: ManifestInfo size %d etag %s; the manifest has %d bytes, md5 %x", what, info.Size, info.ETag, buf.Len(), sum)
		}
	}
	check("held", j)
	for _, notes := range []string{"short", "a much longer note than before", ""} {
		j, err = ts.SetNotes(ctx, j.ID, notes)
		if err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprintf("notes %q", notes), j)
	}
	notes := "released"
	if j, err = ts.Release(ctx, j.ID, &notes); err != nil {
		t.Fatal(err)
	}
	check("released", j)
}

// TestFileMetadata: the S3 user metadata of a sample, lowercase names.
func TestFileMetadata(t *testing.T) {
	ref := cas.Sum([]byte("x"))
	first := time.Date(2026, 2, 3, 4, 5, 6, 789e6, time.UTC)
	md := FileMetadata(index.File{Ref: ref, Size: 1, SHA1: "s1", MD5: "m5", MIME: "text/plain", FirstSeen: first, KnownGood: true, JobCount: 3})
	want := map[string]string{"sha256": ref.String(), "sha1": "s1", "md5": "m5", "size": "1", "mime-type": "text/plain",
		"known-good": "true", "first-seen": "2026-02-03T04:05:06Z", "job-count": "3"}
	if len(md) != len(want) {
		t.Errorf("metadata %v, want %v", md, want)
	}
	for k, v := range want {
		if md[k] != v {
			t.Errorf("%s = %q, want %q", k, md[k], v)
		}
	}
	if FileMetadata(index.File{})["known-good"] != "false" {
		t.Errorf("known-good of an unknown file is not false")
	}
}
