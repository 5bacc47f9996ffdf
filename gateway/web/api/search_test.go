package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"

	"dewar/cas"
	"dewar/gateway/web/apiclient"
	"dewar/index/query"
)

// TestSearch: file and job searches answer what the corpus holds, pages
// join up with their cursors to exactly the matches, totals count them,
// and bad queries say where they are wrong.
func TestSearch(t *testing.T) {
	w := newKitWorld(t)
	ctx := context.Background()
	refOf := func(p string) string { return cas.Sum(w.body(p)).String() }

	files := func(q string) []string {
		t.Helper()
		p, err := w.reader.Search(ctx, apiclient.SearchOptions{Query: q, Limit: 1000})
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if p.Type != "files" || p.Next != "" {
			t.Errorf("%s: type %q next %q", q, p.Type, p.Next)
		}
		var out []string
		for _, f := range p.Files {
			out = append(out, f.SHA256)
		}
		return out
	}
	for _, c := range []struct {
		q    string
		want []string
	}{
		{"name:login.php", []string{refOf("public_html/basic-cms/login.php")}},
		{"email:*@example.net", sorted(refOf("public_html/basic-cms/next.php"), refOf("public_html/basic-cms/config.php"))},
		{"domain:example.com", []string{refOf("public_html/basic-cms/config.php")}},
		{"ioc:" + w.drop + " name:next.php", []string{refOf("public_html/basic-cms/next.php")}},
		{"path:*/antibot/* OR name:config.php", sorted(refOf("public_html/basic-cms/antibot/blocker.php"), refOf("public_html/basic-cms/config.php"))},
	} {
		if got := files(c.q); strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("%s: %v, want %v", c.q, got, c.want)
		}
	}

	// Every page of knowngood:true joins up to the release's distinct files.
	wantKG := map[string]bool{w.kgJob.Upload.String(): true} // the release's archive is a file of it too
	for _, n := range w.base {
		if n.Type == "file" {
			wantKG[cas.Sum(n.Body).String()] = true
		}
	}
	got := map[string]bool{}
	cursor, last := "", ""
	for pages := 0; ; pages++ {
		p, err := w.reader.Search(ctx, apiclient.SearchOptions{Query: "knowngood:true mime:*", Cursor: cursor, Limit: 37, Count: cursor == ""})
		if err != nil {
			t.Fatal(err)
		}
		if cursor == "" && (p.Total == nil || *p.Total != int64(len(wantKG))) {
			t.Errorf("total %s, want %d", fmtTotal(p.Total), len(wantKG))
		}
		if cursor != "" && p.Total != nil {
			t.Errorf("a total without count=true")
		}
		for _, f := range p.Files {
			if got[f.SHA256] || f.SHA256 <= last {
				t.Fatalf("page %d repeats or goes back: %s after %s", pages, f.SHA256, last)
			}
			got[f.SHA256], last = true, f.SHA256
			if !f.KnownGood {
				t.Errorf("%s: not known-good", f.SHA256)
			}
		}
		if p.Next == "" {
			break
		}
		cursor = p.Next
	}
	if len(got) != len(wantKG) {
		t.Errorf("%d known-good files over all pages, want %d", len(got), len(wantKG))
	}
	for r := range wantKG {
		if !got[r] {
			t.Errorf("missing %s", r)
			break
		}
	}

	// Jobs, newest first.
	p, err := w.reader.Search(ctx, apiclient.SearchOptions{Query: "name:*.php", Type: "jobs", Count: true})
	if err != nil || p.Type != "jobs" || len(p.Jobs) != 2 || p.Jobs[0].ID != w.kitJ.ID || p.Jobs[1].ID != w.kgJob.ID || *p.Total != 2 {
		t.Errorf("job search: %+v, %v", p, err)
	}
	p, err = w.reader.Search(ctx, apiclient.SearchOptions{Query: "knowngood:true", Type: "jobs", Limit: 1})
	if err != nil || len(p.Jobs) != 1 || p.Jobs[0].ID != w.kgJob.ID || p.Jobs[0].Name != "basic-cms-1.0.zip" {
		t.Errorf("known-good jobs: %+v, %v", p, err)
	}
	p, err = w.reader.Search(ctx, apiclient.SearchOptions{Query: "jobname:*.zip", Type: "jobs", Limit: 1})
	if err != nil || len(p.Jobs) != 1 || p.Jobs[0].ID != w.kitJ.ID || p.Next == "" {
		t.Fatalf("first job page: %+v, %v", p, err)
	}
	p, err = w.reader.Search(ctx, apiclient.SearchOptions{Query: "jobname:*.zip", Type: "jobs", Limit: 1, Cursor: p.Next})
	if err != nil || len(p.Jobs) != 1 || p.Jobs[0].ID != w.kgJob.ID || p.Next != "" {
		t.Errorf("second job page: %+v, %v", p, err)
	}

	// A bad query: 400 with the position and a caret.
	_, err = w.reader.Search(ctx, apiclient.SearchOptions{Query: "name:x size:>abc"})
	e := apiErr(t, err, 400, "bad_query")
	if e.Position == nil || *e.Position != 13 || e.Caret != "name:x size:>abc\n             ^" || !strings.Contains(e.Message, "position 13") {
		t.Errorf("bad query error: pos %s caret %q msg %q", fmtTotal(e.Position), e.Caret, e.Message)
	}
	for _, c := range []struct {
		query, code string
		status      int
	}{
		{"q=", "bad_query", 400},
		{"q=(a", "bad_query", 400},
		{"q=nosuch:x", "bad_query", 400},
		{"q=a&type=blobs", "invalid", 400},
		{"q=a&limit=0", "invalid", 400},
		{"q=a&limit=abc", "invalid", 400},
		{"q=a&count=maybe", "invalid", 400},
		{"q=a&cursor=zz", "bad_query", 400},
		{"q=a&type=jobs&cursor=zz", "bad_query", 400},
	} {
		st, b := w.call("GET", "/api/v1/search?"+c.query, readerKey, readerSecret, nil)
		if st != c.status || errorCode(t, b) != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.query, st, b, c.status, c.code)
		}
	}
	st, b := w.call("GET", "/api/v1/search?q="+url.QueryEscape("(a OR"), readerKey, readerSecret, nil)
	var qe struct {
		Error struct {
			Position *int
			Caret    string
		}
	}
	if st != 400 || json.Unmarshal(b, &qe) != nil || qe.Error.Position == nil || *qe.Error.Position != 3 || qe.Error.Caret != "(a OR\n   ^" {
		t.Errorf("raw bad query: %d %s", st, b)
	}
	if st, b := w.call("GET", "/api/v1/search?q=zzqqzz", readerKey, readerSecret, nil); st != 200 || !strings.Contains(string(b), `"items":[]`) {
		t.Errorf("no matches: %d %s", st, b)
	}
}

func fmtTotal[T int | int64](n *T) string {
	if n == nil {
		return "none"
	}
	return fmt.Sprint(*n)
}

func sorted(s ...string) []string {
	sort.Strings(s)
	return s
}

// TestSearchHelp: the help the CLI and UI show, from the registry.
func TestSearchHelp(t *testing.T) {
	e := newEnv(t)
	h, err := e.reader.SearchHelp(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	kws := query.Keywords()
	if h.Text != query.Help() || h.Grammar != query.Grammar || len(h.Keywords) != len(kws) {
		t.Fatalf("help: %d keywords, text %d bytes", len(h.Keywords), len(h.Text))
	}
	for i, k := range h.Keywords {
		if k.Name != kws[i].Name || k.Kind != kws[i].Kind.String() || k.Description != kws[i].Description || k.Example != kws[i].Example {
			t.Errorf("keyword %d: %+v", i, k)
		}
	}
	if _, err := query.Parse(h.Keywords[0].Example); err != nil {
		t.Errorf("example %q: %v", h.Keywords[0].Example, err)
	}
}
