package api_test

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"dewar/cas"
	"dewar/gateway"
	"dewar/index"
	"dewar/test/fixtures"
)

// TestAuth: every call needs credentials; wrong ones are refused; a
// reader may read, search and look up but not submit.
func TestAuth(t *testing.T) {
	w := newKitWorld(t)
	ref := cas.Sum(w.body("public_html/basic-cms/login.php")).String()
	calls := []struct {
		method, path string
		body         string
	}{
		{"GET", "/api/v1/files/" + ref, ""},
		{"GET", "/api/v1/files/" + ref + "/jobs", ""},
		{"GET", "/api/v1/files/" + ref + "/similar", ""},
		{"POST", "/api/v1/lookup", `{"hashes":["` + ref + `"]}`},
		{"GET", "/api/v1/search?q=login", ""},
		{"GET", "/api/v1/search/help", ""},
		{"GET", "/api/v1/jobs/" + w.kitJ.ID + "/diff", ""},
		{"GET", "/api/v1/openapi.json", ""},
	}
	for _, c := range calls {
		body := func() *strings.Reader { return strings.NewReader(c.body) }
		if st, b := w.call(c.method, c.path, "", "", body()); st != http.StatusUnauthorized || errorCode(t, b) != "unauthorized" {
			t.Errorf("%s %s without credentials: %d %s", c.method, c.path, st, b)
		}
		if st, _ := w.call(c.method, c.path, readerKey, "wrong", body()); st != http.StatusUnauthorized {
			t.Errorf("%s %s with a wrong secret: %d", c.method, c.path, st)
		}
		if st, b := w.call(c.method, c.path, readerKey, readerSecret, body()); st != http.StatusOK {
			t.Errorf("%s %s as reader: %d %s", c.method, c.path, st, b)
		}
	}
	st, b := w.call("POST", "/api/v1/jobs?name=x.zip", readerKey, readerSecret, strings.NewReader("data"))
	if st != http.StatusForbidden || errorCode(t, b) != "forbidden" {
		t.Errorf("reader submit: %d %s", st, b)
	}
	if st, b := w.call("POST", "/api/v1/jobs?name=x.zip", subKey, subSecret, strings.NewReader("data")); st != http.StatusCreated {
		t.Errorf("submitter submit: %d %s", st, b)
	}
}

// TestFile: a file by each of its hashes in either case, with IOCs and
// analyses; one never analysed has none; unknown and malformed hashes.
func TestFile(t *testing.T) {
	w := newKitWorld(t)
	ctx := context.Background()
	body := w.body("public_html/basic-cms/next.php")
	ref := cas.Sum(body)
	m, s := md5.Sum(body), sha1.Sum(body)
	for _, h := range []string{ref.String(), strings.ToUpper(ref.String()), hex.EncodeToString(m[:]), hex.EncodeToString(s[:])} {
		f, err := w.reader.File(ctx, h)
		if err != nil {
			t.Fatalf("%s: %v", h, err)
		}
		if f.SHA256 != ref.String() || f.MD5 != hex.EncodeToString(m[:]) || f.SHA1 != hex.EncodeToString(s[:]) ||
			f.Size != int64(len(body)) || f.MIME != "text/x-php" || f.KnownGood || f.JobCount != 1 || f.FirstSeen.IsZero() {
			t.Errorf("%s: %+v", h, f)
		}
		if len(f.IOCs) != 2 || f.IOCs[0].Value != w.drop && f.IOCs[1].Value != w.drop {
			t.Errorf("%s: iocs %+v", h, f.IOCs)
		}
		if f.Analyses == nil || f.Analyses.Language != "php" || f.Analyses.Tokens != 2 || f.Analyses.Versions["ioc"] != 1 {
			t.Errorf("%s: analyses %+v", h, f.Analyses)
		}
	}
	plain := cas.Sum(w.body("public_html/basic-cms/license.txt")).String()
	st, b := w.call("GET", "/api/v1/files/"+plain, readerKey, readerSecret, nil)
	if st != http.StatusOK || !strings.Contains(string(b), `"iocs":[]`) || !strings.Contains(string(b), `"analyses":null`) ||
		!strings.Contains(string(b), `"known_good":true`) || !strings.Contains(string(b), `"job_count":2`) {
		t.Errorf("file without analysis: %d %s", st, b)
	}
	for _, c := range []struct {
		hash, code string
		status     int
	}{
		{cas.Sum([]byte("never")).String(), "not_found", 404},
		{strings.Repeat("ab", 16), "not_found", 404},
		{"xyz", "invalid", 400},
		{strings.Repeat("g", 64), "invalid", 400},
		{strings.Repeat("a", 63), "invalid", 400},
	} {
		_, err := w.reader.File(ctx, c.hash)
		apiErr(t, err, c.status, c.code)
	}
}

// TestFileJobs: the jobs a file occurs in, with every path, paged at
// every size: the pages join up to exactly the occurrences, a job whose
// paths span pages continues on the next, the upload shows as such, and
// bad cursors, limits and hashes are refused.
func TestFileJobs(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	shared := []byte("<?php // shared\n")
	var jobs []index.Job
	want := map[string][]string{} // job ID -> paths
	for i := range 5 {
		tree := fixtures.Tree{{Path: "a", Type: "dir"}}
		for k := range i + 1 {
			p := fmt.Sprintf("a/copy-%d.php", k)
			tree = append(tree, fixtures.Node{Path: p, Type: "file", Body: shared})
		}
		tree = append(tree, fixtures.Node{Path: "a/own.php", Type: "file", Body: []byte(fmt.Sprint("own ", i))})
		j := e.ingest(fmt.Sprintf("job-%d.zip", i), i == 0, tree, nil)
		jobs = append(jobs, j)
		for k := range i + 1 {
			want[j.ID] = append(want[j.ID], fmt.Sprintf("a/copy-%d.php", k))
		}
	}
	ref := cas.Sum(shared)
	for _, limit := range []int{1, 2, 3, 7, 100} {
		got := map[string][]string{}
		var order []string
		cursor, pages := "", 0
		for {
			p, err := e.reader.FileJobs(ctx, ref.String(), cursor, limit)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			n := 0
			for _, it := range p.Items {
				if it.Job.ID == "" || it.Job.Name == "" || it.Upload {
					t.Errorf("item %+v", it)
				}
				if len(order) == 0 || order[len(order)-1] != it.Job.ID {
					order = append(order, it.Job.ID)
				}
				got[it.Job.ID] = append(got[it.Job.ID], it.Paths...)
				n += len(it.Paths)
			}
			if n > limit || n == 0 {
				t.Errorf("limit %d: a page of %d paths", limit, n)
			}
			if p.Next == "" {
				break
			}
			cursor = p.Next
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("limit %d: %v, want %v", limit, got, want)
		}
		for i := 1; i < len(order); i++ {
			if order[i] <= order[i-1] {
				t.Errorf("limit %d: jobs out of order: %v", limit, order)
			}
		}
		if wantPages := (15 + limit - 1) / limit; pages != wantPages && !(limit >= 15 && pages == 1) {
			t.Errorf("limit %d: %d pages, want %d", limit, pages, wantPages)
		}
	}
	// The upload of a job is a file of it too.
	up, err := e.reader.FileJobs(ctx, jobs[2].Upload.String(), "", 0)
	if err != nil || len(up.Items) != 1 || !up.Items[0].Upload || len(up.Items[0].Paths) != 0 || up.Items[0].Job.ID != jobs[2].ID {
		t.Errorf("jobs of an upload: %+v, %v", up, err)
	}
	// By md5 too.
	m := md5.Sum(shared)
	if p, err := e.reader.FileJobs(ctx, hex.EncodeToString(m[:]), "", 100); err != nil || len(p.Items) != 5 {
		t.Errorf("jobs by md5: %+v, %v", p, err)
	}
	for _, c := range []struct {
		path, code string
		status     int
	}{
		{"/api/v1/files/" + ref.String() + "/jobs?cursor=!!!", "invalid", 400},
		{"/api/v1/files/" + ref.String() + "/jobs?cursor=bm90LWEtam9i", "invalid", 400},
		{"/api/v1/files/" + ref.String() + "/jobs?limit=0", "invalid", 400},
		{"/api/v1/files/" + ref.String() + "/jobs?limit=1001", "invalid", 400},
		{"/api/v1/files/nothex/jobs", "invalid", 400},
		{"/api/v1/files/" + cas.Sum([]byte("never")).String() + "/jobs", "not_found", 404},
	} {
		st, b := e.call("GET", c.path, readerKey, readerSecret, nil)
		if st != c.status || errorCode(t, b) != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.path, st, b, c.status, c.code)
		}
	}
}

// TestJobDiffAPI: the diff call and the job call carry each path's diff;
// an unknown job is a 404.
func TestJobDiffAPI(t *testing.T) {
	w := newKitWorld(t)
	ctx := context.Background()
	d, err := w.reader.JobDiff(ctx, w.kitJ.ID)
	if err != nil {
		t.Fatal(err)
	}
	kgBodies, kgPaths := map[string]bool{}, map[string]bool{}
	for _, n := range w.base {
		if n.Type == "file" {
			kgBodies[cas.Sum(n.Body).String()] = true
			kgPaths[n.Path] = true
		}
	}
	want := map[string]string{}
	var counts [3]int64
	for _, n := range w.kit {
		if n.Type != "file" {
			continue
		}
		switch {
		case kgBodies[cas.Sum(n.Body).String()]:
			want[n.Path] = gateway.DiffKnownGood
			counts[0]++
		case kgPaths[strings.TrimPrefix(n.Path, "public_html/")]:
			want[n.Path] = gateway.DiffModified
			counts[1]++
		default:
			want[n.Path] = gateway.DiffNew
			counts[2]++
		}
	}
	if d.JobID != w.kitJ.ID || len(d.Matches) != 1 || d.Matches[0].ID != w.kgJob.ID || d.Matches[0].Root != "public_html/" ||
		d.Counts.KnownGood != counts[0] || d.Counts.Modified != counts[1] || d.Counts.New != counts[2] ||
		d.Summary != fmt.Sprintf("basic-cms-1.0 + %d new, %d modified", counts[2], counts[1]) {
		t.Errorf("diff: %+v %+v %q", d.Matches, d.Counts, d.Summary)
	}
	for _, e := range d.Tree {
		if e.Type == "file" && e.Diff != want[e.Path] {
			t.Errorf("diff %s: %q, want %q", e.Path, e.Diff, want[e.Path])
		}
		if e.Diff == gateway.DiffModified && (e.Base == nil || e.Base.Job != w.kgJob.ID) {
			t.Errorf("diff %s: base %+v", e.Path, e.Base)
		}
	}
	j, err := w.reader.Job(ctx, w.kitJ.ID)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range j.Tree {
		if e.Type == "file" {
			n++
			if e.Diff != want[e.Path] {
				t.Errorf("job %s: %q, want %q", e.Path, e.Diff, want[e.Path])
			}
		}
	}
	if n != len(want) {
		t.Errorf("job tree has %d files, want %d", n, len(want))
	}
	_, err = w.reader.JobDiff(ctx, "01JJ5ZQ3W8M9X6T2R4B7C1D0EF")
	apiErr(t, err, 404, "not_found")
}
