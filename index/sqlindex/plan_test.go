package sqlindex_test

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dewar/cas"
	"dewar/index"
	"dewar/index/query"
	"dewar/index/sqlindex"
	"dewar/index/sqlite"
)

func noCommit(context.Context, cas.Ref) error { return nil }

func file(name string) index.File {
	s1, m5 := sha1.Sum([]byte(name)), md5.Sum([]byte(name))
	return index.File{Ref: cas.Sum([]byte(name)), Size: int64(len(name)), MIME: "text/x-php",
		SHA1: hex.EncodeToString(s1[:]), MD5: hex.EncodeToString(m5[:])}
}

// planCorpus opens an SQLite index holding jobs of perJob files each,
// one in kgEvery known-good, neighbours sharing half their files; with
// analyses, each file has IOCs, tokens, keys and a TLSH.
func planCorpus(t testing.TB, jobs, perJob, kgEvery int, analyses bool) (*sqlindex.Index, []index.Job) {
	t.Helper()
	ix, err := sqlite.Open(filepath.Join(t.TempDir(), "index.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	ctx := context.Background()
	var out []index.Job
	for j := range jobs {
		up := cas.Sum([]byte(fmt.Sprint("upload", j)))
		job := index.Job{ID: index.NewJobID(time.Now()), Name: fmt.Sprintf("kit%d.zip", j), Upload: up, Submitter: "alice", KnownGood: j%kgEvery == 0}
		if _, err := ix.CreateJob(ctx, index.NewJob{Job: job, Commit: func(context.Context) error { return nil }}); err != nil {
			t.Fatal(err)
		}
		_, l, err := ix.Claim(ctx, "w", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		r := index.JobResult{Status: index.JobDone, Commit: noCommit, Files: []index.File{{Ref: up, Size: 1, MIME: "application/zip"}}}
		for i := range perJob {
			// Files are shared between neighbouring jobs.
			n := fmt.Sprint("file", (j*perJob/2+i)%(jobs*perJob))
			f := file(n)
			r.Files = append(r.Files, f)
			r.Tree = append(r.Tree, index.TreeEntry{Path: fmt.Sprintf("dir%d/%s.php", i%7, n), Type: index.TreeFile, Blob: f.Ref, Size: f.Size})
			if !analyses {
				continue
			}
			r.Analyses = append(r.Analyses, index.Analysis{Ref: f.Ref, TLSH: fmt.Sprintf("T1%02X%02X00%064X", i%256, i%256, i),
				IOCs: []index.IOC{
					{Type: "email", Value: fmt.Sprintf("user%d@host%d.example", i, j%13)},
					{Type: "domain", Value: fmt.Sprintf("www.host%d.example", i%50)},
					{Type: "url", Value: fmt.Sprintf("https://host%d.example/p%d", j%13, i)},
				},
				Tokens:   []string{fmt.Sprint("tok", i%300), fmt.Sprint("tok", (i*7)%1000), "common"},
				Keys:     []index.SimKey{{Method: "ssdeep", Key: int64(i % 97)}, {Method: "ssdeep", Key: int64(i % 89)}},
				Versions: map[string]int{"ioc": 1},
			})
		}
		jj, err := ix.Finish(ctx, l, r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, jj)
	}
	return ix, out
}

// wantPlan is a statement and the indexes its plan must use.
type wantPlan struct {
	name string
	plan func(t *testing.T) []string
	uses []string // substrings of the plan, e.g. "USING INDEX files_md5"
}

// TestPlansUseIndexes checks on SQLite that the hot searches and lookups
// are index searches: each plan line names an index, and nothing scans a
// table (SCAN), but the subquery of KnownGoodOverlap's grouping.
func TestPlansUseIndexes(t *testing.T) {
	ix, jobs := planCorpus(t, 20, 50, 10, true)
	f := file("file7")
	search := func(q string, of query.Target, cursor string) func(t *testing.T) []string {
		return func(t *testing.T) []string {
			n, err := query.Parse(q)
			if err != nil {
				t.Fatal(err)
			}
			plan, err := sqlindex.ExplainSearch(t.Context(), ix, n, of, index.SearchOptions{Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			return plan
		}
	}
	stmt := func(text string, args ...any) func(t *testing.T) []string {
		return func(t *testing.T) []string {
			plan, err := sqlindex.Explain(t.Context(), ix, text, args...)
			if err != nil {
				t.Fatal(err)
			}
			return plan
		}
	}
	files, jobsOf := query.TargetFiles, query.TargetJobs
	cursor := cas.Sum([]byte("cursor")).String()
	tests := []wantPlan{
		{"sha1", search("sha1:"+f.SHA1, files, ""), []string{"USING INDEX files_sha1 (sha1=?)"}},
		{"md5", search("md5:"+f.MD5, files, ""), []string{"USING INDEX files_md5 (md5=?)"}},
		{"sha256", search("sha256:"+f.Ref.String(), files, ""), []string{"SEARCH f USING PRIMARY KEY (ref=?)"}},
		{"sha256 prefix", search("sha256:"+f.Ref.String()[:8]+"*", files, ""), []string{"SEARCH f USING PRIMARY KEY (ref>? AND ref<?)"}},
		{"sha256 jobs", search("sha256:"+f.Ref.String(), jobsOf, ""),
			[]string{"tree_blob (blob=?)", "jobs_upload (upload=?)"}},
		{"ioc eq", search("ioc:user3@host2.example", files, ""),
			[]string{"ioc_values_key (key=?)", "file_iocs_ioc (ioc_id=?)", "SEARCH f USING PRIMARY KEY (ref=?)"}},
		{"ioc eq, next page", search("ioc:user3@host2.example", files, cursor),
			[]string{"ioc_values_key (key=?)", "file_iocs_ioc (ioc_id=?)", "SEARCH a USING INTEGER PRIMARY KEY (rowid=?)",
				"SEARCH f USING PRIMARY KEY (ref=?)"}},
		{"email suffix", search("email:*@host2.example", files, ""),
			[]string{"ioc_values_rkey (rkey>? AND rkey<?)", "file_iocs_ioc (ioc_id=?)"}},
		{"domain and subdomains", search("domain:host3.example", files, ""),
			[]string{"ioc_values_key (key=? AND type=?)", "ioc_values_rkey (rkey>? AND rkey<?)"}},
		{"not ioc", search("name:file7.php -ioc:user3@host2.example", files, ""),
			[]string{"tree_name (name=?", "CORRELATED", "sqlite_autoindex_analyses_1 (ref=?)", "file_iocs_ioc (ioc_id=?)"}},
		{"token eq", search("token:tok5", files, ""),
			[]string{"sqlite_autoindex_tokens_1 (token=?)", "file_tokens_token (token_id=?)", "SEARCH a USING INTEGER PRIMARY KEY (rowid=?)"}},
		{"token prefix", search("token:tok5*", files, ""), []string{"sqlite_autoindex_tokens_1 (token>? AND token<?)"}},
		{"name eq", search("name:file7.php", files, ""), []string{"tree_name (name=?", "SEARCH f USING PRIMARY KEY (ref=?)"}},
		{"name eq jobs", search("name:file7.php", jobsOf, ""), []string{"tree_name (name=?)", "SEARCH j USING INDEX sqlite_autoindex_jobs_1 (id=?)"}},
		{"job", search("job:"+jobs[3].ID, files, ""), []string{"SEARCH t USING PRIMARY KEY (job_id=?)"}},
		{"lookup", stmt(sqlindex.LookupSQL("md5", 2), "a", "b"), []string{"files_md5 (md5=?)"}},
		{"similar", stmt(sqlindex.SimilarSQL(3), "ssdeep", 1, 2, 3, "", 10), []string{"sim_keys USING PRIMARY KEY (method=? AND key=?)", "SEARCH a USING INTEGER PRIMARY KEY (rowid=?)"}},
		{"tlsh", stmt(sqlindex.TLSHSQL, 3, "", 10), []string{"analyses_tlsh (tlsh_lvalue=?)"}},
		{"known-good overlap", stmt(sqlindex.KnownGoodOverlapSQL, jobs[3].ID, jobs[3].ID, 10),
			[]string{"tree_kg (blob=?)", "SEARCH t USING PRIMARY KEY (job_id=?)"}},
		{"token counts: the job's files", stmt(sqlindex.JobFilesSQL, jobs[3].ID, jobs[3].ID), []string{"sqlite_autoindex_analyses_1 (ref=?)"}},
		{"stale files", stmt(sqlindex.StaleSQL, "", "ioc", 1, 10),
			[]string{"SEARCH f USING PRIMARY KEY (ref>?)", "SEARCH v USING PRIMARY KEY (ref=? AND analyzer=?)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plan := tc.plan(t)
			text := strings.Join(plan, "\n")
			for _, u := range tc.uses {
				if !strings.Contains(text, u) {
					t.Errorf("plan does not use %q:\n%s", u, text)
				}
			}
			for _, line := range plan {
				if strings.HasPrefix(line, "SCAN ") && line != "SCAN s" {
					t.Errorf("plan scans a table (%s):\n%s", line, text)
				}
			}
		})
	}
}
