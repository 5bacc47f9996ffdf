package indextest

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"dewar/cas"
	"dewar/index"
	"dewar/index/query"
)

// SearchIndex is an index with the job, analysis and search capabilities.
type SearchIndex interface {
	IngestIndex
	index.Search
}

// NewSearchIndex returns an empty index for one subtest whose clock is now.
type NewSearchIndex func(t *testing.T, now func() time.Time) SearchIndex

// RunSearch runs the suites of analysis and search: RunAnalyses,
// RunQueries and RunLookups.
func RunSearch(t *testing.T, newIndex NewSearchIndex) {
	t.Run("Analyses", func(t *testing.T) { RunAnalyses(t, newIndex) })
	t.Run("Queries", func(t *testing.T) { RunQueries(t, newIndex) })
	t.Run("Lookups", func(t *testing.T) { RunLookups(t, newIndex) })
}

// searchEnv is env with the search capabilities.
type searchEnv struct {
	*env
	ix SearchIndex
}

func newSearchEnv(t *testing.T, newIndex NewSearchIndex) *searchEnv {
	var ix SearchIndex
	e := newEnv(t, func(t *testing.T, now func() time.Time) IngestIndex {
		ix = newIndex(t, now)
		return ix
	})
	return &searchEnv{env: e, ix: ix}
}

// labelled is a file of a test corpus with the analysis its job records.
type labelled struct {
	label string
	file  index.File
	an    index.Analysis
}

// mkFile returns the File of a blob named label, hashes derived from it.
func mkFile(label, mime string, size int64) index.File {
	s1, m5 := sha1.Sum([]byte("search:"+label)), md5.Sum([]byte("search:"+label))
	return index.File{
		Ref: blob("search:" + label), Size: size, MIME: mime,
		SHA1: hex.EncodeToString(s1[:]), MD5: hex.EncodeToString(m5[:]),
	}
}

// corpus is the fixed data set the query table runs against, built through
// the public API: jobs created, claimed and finished with their trees and
// analyses.
type corpus struct {
	files    map[string]index.File // by label; uploads are U1, U2, ...
	jobs     map[string]index.Job  // by label, J1..J5
	byRef    map[cas.Ref]string
	byJob    map[string]string
	finished map[string]time.Time // when each job finished (its files' first sighting)
}

// jobSpec is one job of the corpus.
type jobSpec struct {
	label, name, submitter, notes string
	knownGood, held               bool
	upload                        string // the upload's MIME type
	tree                          []treeSpec
}

type treeSpec struct {
	path  string
	label string // "" for a directory
}

// buildCorpus records the corpus, one job an hour from t0:
//
//	J1 wordpress-6.4.zip  known-good  wp-bot  A index.php, B wp-login.php, C wp-includes/js/jquery.js, D readme.html
//	J2 Acme-Bank-kit.zip              Alice   E login.php, C js/jquery.js, F index.php, G admin/Config.PHP
//	J3 other.tar.gz                   bob     H Login.PHP, I img/logo.png, J vendor/lib.js, L admin/100%_off[1].php, dir odd\dir
//	J5 jquery-3.7.zip     known-good  wp-bot  C jquery.js, K LICENSE.txt
//	J4 pending.zip        held        carol   (nothing yet)
//
// Their uploads are the files U1, U2, U3 and U5.
func buildCorpus(e *searchEnv) *corpus {
	e.t.Helper()
	files := []labelled{
		{"A", mkFile("A", "text/x-php", 400), index.Analysis{Language: "php", Tokens: []string{"wp_head", "require_once"}}},
		{"B", mkFile("B", "text/x-php", 1500), index.Analysis{Language: "php", Tokens: []string{"wp_signon", "require_once"},
			IOCs: []index.IOC{{Type: "url", Value: "https://wordpress.org/"}, {Type: "domain", Value: "wordpress.org"}}}},
		{"C", mkFile("C", "application/javascript", 90000), index.Analysis{Language: "js", Tokens: []string{"jquery"}}},
		{"D", mkFile("D", "text/html", 800), index.Analysis{Language: "html",
			IOCs: []index.IOC{{Type: "url", Value: "https://wordpress.org/support/"}}}},
		{"E", mkFile("E", "text/x-php", 2500), index.Analysis{Language: "php", Tokens: []string{"base64_decode", "eval", "mail"},
			IOCs: []index.IOC{
				{Type: "email", Value: "Evil@Example.com", Context: "$to = 'Evil@Example.com';"},
				{Type: "url", Value: "https://evil.example.com/Collect.php"},
				{Type: "domain", Value: "evil.example.com"},
				{Type: "telegram-token", Value: "123456789:AAHdqTcv"},
				{Type: "telegram-chat", Value: "-1001234567890"},
			}}},
		{"F", mkFile("F", "text/x-php", 420), index.Analysis{Language: "php", Tokens: []string{"wp_head", "eval"},
			IOCs: []index.IOC{{Type: "domain", Value: "example.com"}}}},
		{"G", mkFile("G", "text/x-php", 300), index.Analysis{Language: "php", Tokens: []string{"base64_decode", "gzinflate"},
			IOCs: []index.IOC{
				{Type: "email", Value: "ops@example.net", Chain: "base64"},
				{Type: "ip", Value: "203.0.113.7", Class: "documentation"},
				{Type: "url", Value: "http://203.0.113.7/gate.php"},
			}}},
		{"H", mkFile("H", "text/x-php", 1200), index.Analysis{Language: "php", Tokens: []string{"mail"},
			IOCs: []index.IOC{{Type: "domain", Value: "mail.example.com"}, {Type: "email", Value: "x@EXAMPLE.NET"}}}},
		{"I", mkFile("I", "image/png", 50000), index.Analysis{Keys: []index.SimKey{{Method: "pdq", Key: 42}}}},
		{"J", mkFile("J", "application/javascript", 7000), index.Analysis{Language: "js", Tokens: []string{"document_write"},
			IOCs: []index.IOC{{Type: "url", Value: "http://cdn.example.org/lib.js"}, {Type: "domain", Value: "cdn.example.org"}}}},
		{"K", mkFile("K", "text/plain", 1100), index.Analysis{}},
		{"L", mkFile("L", "text/x-php", 50), index.Analysis{Language: "php"}},
	}
	specs := []jobSpec{
		{label: "J1", name: "wordpress-6.4.zip", submitter: "wp-bot", notes: "WordPress release", knownGood: true, upload: "application/zip",
			tree: []treeSpec{{"index.php", "A"}, {"wp-login.php", "B"}, {"wp-includes", ""}, {"wp-includes/js", ""},
				{"wp-includes/js/jquery.js", "C"}, {"readme.html", "D"}}},
		{label: "J2", name: "Acme-Bank-kit.zip", submitter: "Alice", notes: "Phish targeting ACME Bank customers", upload: "application/zip",
			tree: []treeSpec{{"login.php", "E"}, {"js", ""}, {"js/jquery.js", "C"}, {"index.php", "F"}, {"admin", ""}, {"admin/Config.PHP", "G"}}},
		{label: "J3", name: "other.tar.gz", submitter: "bob", upload: "application/gzip",
			tree: []treeSpec{{"Login.PHP", "H"}, {"img", ""}, {"img/logo.png", "I"}, {"vendor", ""}, {"vendor/lib.js", "J"},
				{"admin", ""}, {"admin/100%_off[1].php", "L"}, {`odd\dir`, ""}}},
		{label: "J5", name: "jquery-3.7.zip", submitter: "wp-bot", knownGood: true, upload: "application/zip",
			tree: []treeSpec{{"jquery.js", "C"}, {"LICENSE.txt", "K"}}},
		{label: "J4", name: "pending.zip", submitter: "carol", notes: "waiting for review", held: true},
	}
	c := &corpus{files: map[string]index.File{}, jobs: map[string]index.Job{}, byRef: map[cas.Ref]string{},
		byJob: map[string]string{}, finished: map[string]time.Time{}}
	byLabel := map[string]labelled{}
	for _, f := range files {
		f.an.Ref = f.file.Ref
		byLabel[f.label] = f
	}
	for i, s := range specs {
		if i > 0 {
			e.clock.Advance(time.Hour)
		}
		j := e.create(func(j *index.Job) {
			j.Name, j.Submitter, j.Notes, j.KnownGood = s.name, s.submitter, s.notes, s.knownGood
			if s.held {
				j.Status = index.JobHeld
			}
		})
		c.jobs[s.label], c.byJob[j.ID] = j, s.label
		if s.held {
			continue
		}
		_, l := e.claim("worker", j.ID)
		up := mkFile("U"+s.label[1:], s.upload, j.UploadSize)
		up.Ref = j.Upload
		r := index.JobResult{Files: []index.File{up}}
		c.files["U"+s.label[1:]] = up
		for _, te := range s.tree {
			if te.label == "" {
				r.Tree = append(r.Tree, index.TreeEntry{Path: te.path, Type: index.TreeDir})
				continue
			}
			f := byLabel[te.label]
			r.Files = append(r.Files, f.file)
			r.Tree = append(r.Tree, fileEntry(te.path, f.file))
			r.Analyses = append(r.Analyses, f.an)
			c.files[f.label] = f.file
		}
		c.jobs[s.label] = e.finish(l, r)
		c.finished[s.label] = e.clock.Now()
	}
	for label, f := range c.files {
		c.byRef[f.Ref] = label
	}
	return c
}

// refs returns the refs of labelled files.
func (c *corpus) refs(labels ...string) []cas.Ref {
	out := make([]cas.Ref, len(labels))
	for i, l := range labels {
		f, ok := c.files[l]
		if !ok {
			panic("indextest: no corpus file " + l)
		}
		out[i] = f.Ref
	}
	return out
}

// fileLabels names files by label, in the order given.
func (c *corpus) fileLabels(files []index.File) []string {
	out := make([]string, len(files))
	for i, f := range files {
		if out[i] = c.byRef[f.Ref]; out[i] == "" {
			out[i] = f.Ref.String()[:8]
		}
	}
	return out
}

func (c *corpus) jobLabels(jobs []index.Job) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		if out[i] = c.byJob[j.ID]; out[i] == "" {
			out[i] = j.ID
		}
	}
	return out
}

// wantFiles orders labelled files as a file search returns them: by ref.
func (c *corpus) wantFiles(labels []string) []string {
	out := slices.Clone(labels)
	slices.SortFunc(out, func(a, b string) int { return refCompare(c.files[a].Ref, c.files[b].Ref) })
	return out
}

// wantJobs orders labelled jobs as a job search returns them: newest first.
func (c *corpus) wantJobs(labels []string) []string {
	out := slices.Clone(labels)
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(c.jobs[b].ID, c.jobs[a].ID) })
	return out
}

func refCompare(a, b cas.Ref) int {
	switch {
	case a.Less(b):
		return -1
	case b.Less(a):
		return 1
	}
	return 0
}

// all lists every file and every job.
var (
	allFiles = []string{"A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "U1", "U2", "U3", "U5"}
	allJobs  = []string{"J1", "J2", "J3", "J4", "J5"}
)

// except returns all without the given labels.
func except(all []string, without ...string) []string {
	var out []string
	for _, l := range all {
		if !slices.Contains(without, l) {
			out = append(out, l)
		}
	}
	return out
}

// queryCase is one row of the query table: a query and the files and jobs
// it must find. {X} in the query is replaced by file X's sha256, {md5:X}
// and {sha1:X} by its other hashes, {J2} by job J2's ID, {t+30m} by t0
// plus that duration in RFC 3339.
type queryCase struct {
	q     string
	files []string
	jobs  []string
}

// queryCases is the query table, run identically on every implementation.
var queryCases = []queryCase{
	// Hashes.
	{"sha256:{E}", []string{"E"}, []string{"J2"}},
	{"sha256:{E:10}*", []string{"E"}, []string{"J2"}},
	{"{md5:G}", []string{"G"}, []string{"J2"}},
	{"{sha1:H}", []string{"H"}, []string{"J3"}},
	{"md5:{md5:A:6}*", []string{"A"}, []string{"J1"}},
	{"sha256:{U2}", []string{"U2"}, []string{"J2"}},
	{"knowngood:true sha256:{C}", []string{"C"}, []string{"J1", "J5"}},
	// Names and paths: folded, wildcards, LIKE and GLOB characters literal.
	{"name:login.php", []string{"E", "H"}, []string{"J2", "J3"}},
	{"name:LOGIN.PHP", []string{"E", "H"}, []string{"J2", "J3"}},
	{"name:wp-*", []string{"B"}, []string{"J1"}},
	{"name:*.php", []string{"A", "B", "E", "F", "G", "H", "L"}, []string{"J1", "J2", "J3"}},
	{"name:index.php OR name:jquery.js", []string{"A", "C", "F"}, []string{"J1", "J2", "J5"}},
	{"name:wp-includes", nil, []string{"J1"}},
	{"name:100%_off*", []string{"L"}, []string{"J3"}},
	{"name:*%*", []string{"L"}, []string{"J3"}},
	{"name:100_*", nil, nil},
	{"name:*%_o*", []string{"L"}, []string{"J3"}},
	{"name:*0_*", nil, nil},
	{"name:*f[1*", []string{"L"}, []string{"J3"}},
	{"name:*[1].php", []string{"L"}, []string{"J3"}},
	{"name:*_off?1*", nil, nil},
	{`name:"*\\*"`, nil, []string{"J3"}},
	{`path:"ODD\\DIR"`, nil, []string{"J3"}},
	{"name:*", []string{"A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L"}, []string{"J1", "J2", "J3", "J5"}},
	{"login", []string{"B", "E", "H"}, []string{"J1", "J2", "J3"}},
	{"path:*/js/*", []string{"C"}, []string{"J1"}},
	{"path:js/*", []string{"C"}, []string{"J2"}},
	{"path:ADMIN/config.php", []string{"G"}, []string{"J2"}},
	{"path:admin/*", []string{"G", "L"}, []string{"J2", "J3"}},
	{`path:"admin/100%_off[1].php"`, []string{"L"}, []string{"J3"}},
	{"admin/", []string{"G", "L"}, []string{"J2", "J3"}},
	// File columns.
	{"mime:TEXT/X-PHP size:>1000", []string{"B", "E", "H"}, []string{"J1", "J2", "J3"}},
	{"mime:*php", []string{"A", "B", "E", "F", "G", "H", "L"}, []string{"J1", "J2", "J3"}},
	{"mime:image/png", []string{"I"}, []string{"J3"}},
	{"size:300..420", []string{"A", "F", "G"}, []string{"J1", "J2"}},
	{"size:<100", []string{"L"}, []string{"J3"}},
	{"size:>=90000", []string{"C"}, []string{"J1", "J2", "J5"}},
	{"size:=1100", []string{"K"}, []string{"J5"}},
	{"knowngood:true", []string{"A", "B", "C", "D", "K", "U1", "U5"}, []string{"J1", "J5"}},
	{"knowngood:false mime:text/x-php", []string{"E", "F", "G", "H", "L"}, []string{"J2", "J3"}},
	{"after:{t+30m}", []string{"U2", "E", "F", "G", "U3", "H", "I", "J", "L", "U5", "K"}, []string{"J2", "J3", "J4", "J5"}},
	{"before:{t+30m}", []string{"U1", "A", "B", "C", "D"}, []string{"J1"}},
	// Indicators.
	{"ioc:Evil@Example.com", []string{"E"}, []string{"J2"}},
	{"ioc:evil@example.com", nil, nil},
	{"ioc:*example.org*", []string{"J"}, []string{"J3"}},
	{"ioc:*", []string{"B", "D", "E", "F", "G", "H", "J"}, []string{"J1", "J2", "J3"}},
	{"email:evil@example.com", []string{"E"}, []string{"J2"}},
	{"email:*@example.net", []string{"G", "H"}, []string{"J2", "J3"}},
	{"email:*@EXAMPLE.net", []string{"G", "H"}, []string{"J2", "J3"}},
	{"email:*", []string{"E", "G", "H"}, []string{"J2", "J3"}},
	{"email:ops*", []string{"G"}, []string{"J2"}},
	{"domain:example.com", []string{"E", "F", "H"}, []string{"J2", "J3"}},
	{"domain:EXAMPLE.COM", []string{"E", "F", "H"}, []string{"J2", "J3"}},
	{"domain:*.example.com", []string{"E", "H"}, []string{"J2", "J3"}},
	{"domain:*example*", []string{"E", "F", "H", "J"}, []string{"J2", "J3"}},
	{"url:*Collect.php", []string{"E"}, []string{"J2"}},
	{"url:*collect.php", nil, nil},
	{"url:https://*.example.com/*", []string{"E"}, []string{"J2"}},
	{"url:https://wordpress.org/*", []string{"B", "D"}, []string{"J1"}},
	{"url:HTTPS://wordpress.org/*", nil, nil},
	{"ip:203.0.113.*", []string{"G"}, []string{"J2"}},
	{"telegram:123456789:*", []string{"E"}, []string{"J2"}},
	{"telegram:-100*", []string{"E"}, []string{"J2"}},
	{"telegram:*", []string{"E"}, []string{"J2"}},
	{"(domain:example.com OR email:*@example.net) -knowngood:true", []string{"E", "F", "G", "H"}, []string{"J2", "J3"}},
	// Tokens.
	{"token:base64_decode", []string{"E", "G"}, []string{"J2"}},
	{"token:*inflate", []string{"G"}, []string{"J2"}},
	{"token:wp_*", []string{"A", "B", "F"}, []string{"J1", "J2"}},
	{"token:*64*", []string{"E", "G"}, []string{"J2"}},
	{"token:BASE64_DECODE", nil, nil},
	// Jobs.
	{"job:{J2}", []string{"U2", "C", "E", "F", "G"}, []string{"J2"}},
	{"job:{J4}", nil, []string{"J4"}},
	{"submitter:alice", []string{"U2", "C", "E", "F", "G"}, []string{"J2"}},
	{"submitter:Ali*", []string{"U2", "C", "E", "F", "G"}, []string{"J2"}},
	{"submitter:carol", nil, []string{"J4"}},
	{`notes:"*acme bank*"`, []string{"U2", "C", "E", "F", "G"}, []string{"J2"}},
	{"notes:*", []string{"U1", "A", "B", "C", "D", "U2", "E", "F", "G"}, []string{"J1", "J2", "J4"}},
	{"jobname:*.zip", []string{"U1", "A", "B", "C", "D", "U2", "E", "F", "G", "U5", "K"}, []string{"J1", "J2", "J4", "J5"}},
	{"jobname:*BANK*", []string{"U2", "C", "E", "F", "G"}, []string{"J2"}},
	{"jobname:other*", []string{"U3", "H", "I", "J", "L"}, []string{"J3"}},
	// NOT: files (jobs) with no such thing, including those with nothing.
	{"mime:text/x-php -ioc:*", []string{"A", "L"}, nil},
	{"mime:text/x-php -token:eval", []string{"A", "B", "G", "H", "L"}, []string{"J1", "J3"}},
	{"-name:*.php", []string{"C", "D", "I", "J", "K", "U1", "U2", "U3", "U5"}, []string{"J4", "J5"}},
	{"NOT (name:*.php OR knowngood:true)", []string{"I", "J", "U2", "U3"}, []string{"J4"}},
	{"-submitter:alice", except(allFiles, "U2", "C", "E", "F", "G"), except(allJobs, "J2")},
	{"-notes:*", except(allFiles, "U1", "A", "B", "C", "D", "U2", "E", "F", "G"), []string{"J3", "J5"}},
	{"NOT NOT email:*", []string{"E", "G", "H"}, []string{"J2", "J3"}},
	{"-(-email:* OR -knowngood:false)", []string{"E", "G", "H"}, []string{"J2", "J3"}},
	// similar: answered by SearchOptions.Similar (similarStub).
	{"similar:{E}", []string{"F", "G"}, []string{"J2"}},
	{"-similar:{E} mime:text/x-php", []string{"A", "B", "E", "H", "L"}, []string{"J1", "J3"}},
	{"similar:{A}", nil, nil},
}

// expand fills in a query case's placeholders.
func (c *corpus) expand(q string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(q, '{')
		if i < 0 {
			b.WriteString(q)
			return b.String()
		}
		j := strings.IndexByte(q[i:], '}') + i
		b.WriteString(q[:i])
		b.WriteString(c.placeholder(q[i+1 : j]))
		q = q[j+1:]
	}
}

func (c *corpus) placeholder(p string) string {
	if d, ok := strings.CutPrefix(p, "t+"); ok {
		dur, err := time.ParseDuration(d)
		if err != nil {
			panic(err)
		}
		return t0.Add(dur).Format(time.RFC3339)
	}
	if j, ok := c.jobs[p]; ok {
		return j.ID
	}
	kind, rest, _ := strings.Cut(p, ":")
	label, n := rest, 0
	if kind != "md5" && kind != "sha1" {
		kind, label = "sha256", p
	}
	if l, num, ok := strings.Cut(label, ":"); ok {
		label = l
		fmt.Sscan(num, &n)
	}
	f, ok := c.files[label]
	if !ok {
		panic("indextest: bad placeholder " + p)
	}
	h := map[string]string{"sha256": f.Ref.String(), "md5": f.MD5, "sha1": f.SHA1}[kind]
	if n > 0 {
		h = h[:n]
	}
	return h
}

// similarStub answers similar:<E> with F and G (and a file the index does
// not know), and anything else with nothing.
func (c *corpus) similarStub(_ context.Context, ref cas.Ref) ([]cas.Ref, error) {
	if ref == c.files["E"].Ref {
		return []cas.Ref{c.files["F"].Ref, blob("not a file"), c.files["G"].Ref}, nil
	}
	return nil, nil
}

// searchFiles runs a file search page by page of n and returns every file.
func searchFiles(t *testing.T, ix SearchIndex, q query.Node, n int, similar func(context.Context, cas.Ref) ([]cas.Ref, error)) []index.File {
	t.Helper()
	var all []index.File
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatalf("SearchFiles(%s): more than 100 pages", q)
		}
		hits, err := ix.SearchFiles(t.Context(), q, index.SearchOptions{Cursor: cursor, Limit: n, Similar: similar})
		if err != nil {
			t.Fatalf("SearchFiles(%s, cursor %q): %v", q, cursor, err)
		}
		if len(hits.Files) > n || hits.Total != nil {
			t.Fatalf("SearchFiles(%s, limit %d): %d files, total %v", q, n, len(hits.Files), hits.Total)
		}
		all = append(all, hits.Files...)
		if hits.Next == "" {
			return all
		}
		if len(hits.Files) == 0 || hits.Next != hits.Files[len(hits.Files)-1].Ref.String() {
			t.Fatalf("SearchFiles(%s): next %q after %d files", q, hits.Next, len(hits.Files))
		}
		cursor = hits.Next
	}
}

// searchJobs is searchFiles for jobs.
func searchJobs(t *testing.T, ix SearchIndex, q query.Node, n int, similar func(context.Context, cas.Ref) ([]cas.Ref, error)) []index.Job {
	t.Helper()
	var all []index.Job
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatalf("SearchJobs(%s): more than 100 pages", q)
		}
		hits, err := ix.SearchJobs(t.Context(), q, index.SearchOptions{Cursor: cursor, Limit: n, Similar: similar})
		if err != nil {
			t.Fatalf("SearchJobs(%s, cursor %q): %v", q, cursor, err)
		}
		if len(hits.Jobs) > n || hits.Total != nil {
			t.Fatalf("SearchJobs(%s, limit %d): %d jobs, total %v", q, n, len(hits.Jobs), hits.Total)
		}
		all = append(all, hits.Jobs...)
		if hits.Next == "" {
			return all
		}
		if len(hits.Jobs) == 0 || hits.Next != hits.Jobs[len(hits.Jobs)-1].ID {
			t.Fatalf("SearchJobs(%s): next %q after %d jobs", q, hits.Next, len(hits.Jobs))
		}
		cursor = hits.Next
	}
}

func mustParse(t *testing.T, q string) query.Node {
	t.Helper()
	n, err := query.Parse(q)
	if err != nil {
		t.Fatalf("Parse(%q): %v", q, err)
	}
	return n
}

// RunQueries checks SearchFiles and SearchJobs against a fixed corpus: a
// table of queries with the files and jobs each must find, paged by 1, 2,
// 3 and 100, with counts; then the records returned, cursors, options and
// errors.
func RunQueries(t *testing.T, newIndex NewSearchIndex) {
	e := newSearchEnv(t, newIndex)
	c := buildCorpus(e)
	t.Run("Table", func(t *testing.T) {
		for _, tc := range queryCases {
			t.Run(tc.q, func(t *testing.T) {
				q := mustParse(t, c.expand(tc.q))
				wantF, wantJ := c.wantFiles(tc.files), c.wantJobs(tc.jobs)
				for _, n := range []int{1, 2, 3, 100} {
					if got := c.fileLabels(searchFiles(t, e.ix, q, n, c.similarStub)); !slices.Equal(got, wantF) {
						t.Errorf("files (pages of %d) = %v, want %v", n, got, wantF)
					}
					if got := c.jobLabels(searchJobs(t, e.ix, q, n, c.similarStub)); !slices.Equal(got, wantJ) {
						t.Errorf("jobs (pages of %d) = %v, want %v", n, got, wantJ)
					}
				}
				fh, err := e.ix.SearchFiles(t.Context(), q, index.SearchOptions{Limit: 2, Count: true, Similar: c.similarStub})
				if err != nil || fh.Total == nil || *fh.Total != int64(len(wantF)) {
					t.Errorf("file count = %v, %v; want %d", total(fh.Total), err, len(wantF))
				}
				jh, err := e.ix.SearchJobs(t.Context(), q, index.SearchOptions{Count: true, Similar: c.similarStub})
				if err != nil || jh.Total == nil || *jh.Total != int64(len(wantJ)) || len(jh.Jobs) != 0 {
					t.Errorf("job count (limit 0) = %v, %d jobs, %v; want %d and no jobs", total(jh.Total), len(jh.Jobs), err, len(wantJ))
				}
			})
		}
	})
	t.Run("Records", func(t *testing.T) {
		hits, err := e.ix.SearchFiles(t.Context(), mustParse(t, c.expand("sha256:{C}")), index.SearchOptions{Limit: 10})
		if err != nil || len(hits.Files) != 1 {
			t.Fatalf("SearchFiles = %+v, %v", hits, err)
		}
		if got, want := hits.Files[0], getFile(t, e.ix, c.files["C"].Ref); got != want || !got.KnownGood || got.JobCount != 3 {
			t.Errorf("file hit %+v, want %+v (known-good, in 3 jobs)", got, want)
		}
		jh, err := e.ix.SearchJobs(t.Context(), mustParse(t, "submitter:alice"), index.SearchOptions{Limit: 10})
		if err != nil || len(jh.Jobs) != 1 {
			t.Fatalf("SearchJobs = %+v, %v", jh, err)
		}
		if got, want := jh.Jobs[0], getJob(t, e.ix, c.jobs["J2"].ID); !reflect.DeepEqual(got, want) {
			t.Errorf("job hit %+v\nwant %+v", got, want)
		}
	})
	t.Run("SimilarWithoutCallback", func(t *testing.T) {
		q := mustParse(t, c.expand("similar:{E} OR name:index.php"))
		if got := c.fileLabels(searchFiles(t, e.ix, q, 10, nil)); !slices.Equal(got, c.wantFiles([]string{"A", "F"})) {
			t.Errorf("similar: without a callback matched %v, want only the index.php files", got)
		}
		boom := errors.New("similarity service down")
		_, err := e.ix.SearchFiles(t.Context(), q, index.SearchOptions{Limit: 10,
			Similar: func(context.Context, cas.Ref) ([]cas.Ref, error) { return nil, boom }})
		wantErr(t, "SearchFiles with a failing Similar", err, boom)
	})
	t.Run("Cursors", func(t *testing.T) {
		q := mustParse(t, "knowngood:true")
		for _, bad := range []string{"xyz", strings.Repeat("g", 64), "01"} {
			if _, err := e.ix.SearchFiles(t.Context(), q, index.SearchOptions{Cursor: bad, Limit: 5}); !errors.Is(err, query.ErrInvalid) {
				t.Errorf("SearchFiles with cursor %q: err = %v, want query.ErrInvalid", bad, err)
			}
			if _, err := e.ix.SearchJobs(t.Context(), q, index.SearchOptions{Cursor: bad, Limit: 5}); !errors.Is(err, query.ErrInvalid) {
				t.Errorf("SearchJobs with cursor %q: err = %v, want query.ErrInvalid", bad, err)
			}
		}
		// A cursor past a deleted or unknown position still pages on.
		all := c.wantFiles([]string{"A", "B", "C", "D", "K", "U1", "U5"})
		mid := c.files[all[2]].Ref.String()
		hits, err := e.ix.SearchFiles(t.Context(), q, index.SearchOptions{Cursor: mid, Limit: 100})
		if got := c.fileLabels(hits.Files); err != nil || !slices.Equal(got, all[3:]) || hits.Next != "" {
			t.Errorf("after %s: %v (next %q), %v; want %v", all[2], got, hits.Next, err, all[3:])
		}
		jh, err := e.ix.SearchJobs(t.Context(), mustParse(t, "jobname:*"), index.SearchOptions{Cursor: c.jobs["J3"].ID, Limit: 100})
		if got := c.jobLabels(jh.Jobs); err != nil || !slices.Equal(got, []string{"J2", "J1"}) {
			t.Errorf("jobs after J3: %v, %v; want [J2 J1]", got, err)
		}
	})
	t.Run("Rejects", func(t *testing.T) {
		for _, q := range []query.Node{
			nil,
			query.Term{Field: "nosuchfield", Op: query.OpEq, Value: "x"},
			query.Term{Field: "size", Op: query.OpPrefix, Value: "1"},
			query.Term{Field: "job", Op: query.OpEq, Value: "not-a-job"},
			query.Term{Field: "md5", Op: query.OpPrefix, Value: "ABC"},
			query.Term{Field: "sha1", Op: query.OpEq, Value: "\xff"},
			query.And{Children: []query.Node{query.Term{Field: "knowngood", Op: query.OpEq, Value: "maybe"}}},
		} {
			if _, err := e.ix.SearchFiles(t.Context(), q, index.SearchOptions{Limit: 5}); !errors.Is(err, query.ErrInvalid) {
				t.Errorf("SearchFiles(%#v): err = %v, want query.ErrInvalid", q, err)
			}
			if _, err := e.ix.SearchJobs(t.Context(), q, index.SearchOptions{Limit: 5}); !errors.Is(err, query.ErrInvalid) {
				t.Errorf("SearchJobs(%#v): err = %v, want query.ErrInvalid", q, err)
			}
		}
	})
	t.Run("OddValues", func(t *testing.T) {
		// Values no stored text can hold match nothing, alike everywhere.
		for _, v := range []string{"a\x00b", "\xff\xfe", "é*"} {
			q := query.Term{Field: "name", Op: query.OpEq, Value: v}
			if got := searchFiles(t, e.ix, q, 10, nil); len(got) != 0 {
				t.Errorf("name:%q matched %v", v, c.fileLabels(got))
			}
			if got := searchFiles(t, e.ix, query.Not{Child: q}, 100, nil); len(got) != len(allFiles) {
				t.Errorf("-name:%q matched %d files, want all %d", v, len(got), len(allFiles))
			}
		}
	})
	t.Run("Cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := e.ix.SearchFiles(ctx, mustParse(t, "name:*"), index.SearchOptions{Limit: 5}); err == nil {
			t.Error("SearchFiles with a cancelled context succeeded")
		}
	})
}

// total prints an optional count.
func total(n *int64) string {
	if n == nil {
		return "none"
	}
	return fmt.Sprint(*n)
}
