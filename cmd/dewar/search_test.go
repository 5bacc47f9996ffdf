package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"dewar/cas"
	"dewar/gateway/web/apiclient"
	"dewar/index/query"
	"dewar/test/fixtures"
	"dewar/test/harness"
)

// zipOf renders a fixture tree as a zip.
func zipOf(t *testing.T, tree fixtures.Tree) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range tree {
		switch n.Type {
		case "dir":
			if _, err := zw.Create(n.Path + "/"); err != nil {
				t.Fatal(err)
			}
		case "file":
			w, err := zw.Create(n.Path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(n.Body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// cli runs the dewar binary against srv as the root user, with stdin.
type cli struct {
	t   *testing.T
	bin string
	env []string
}

func (c cli) run(stdin string, args ...string) (stdout, stderr string, err error) {
	cmd := exec.Command(c.bin, args...)
	cmd.Env = append(os.Environ(), c.env...)
	cmd.Stdin = strings.NewReader(stdin)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err = cmd.Run()
	return so.String(), se.String(), err
}

func (c cli) ok(args ...string) string {
	c.t.Helper()
	out, errOut, err := c.run("", args...)
	if err != nil {
		c.t.Fatalf("dewar %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// TestSearchAndLookupCLI: dewar search and dewar lookup against a real
// server holding a known-good release and a kit derived from it, both
// submitted with dewar submit and ingested for real.
func TestSearchAndLookupCLI(t *testing.T) {
	srv := harness.Start(t, harness.Options{})
	c := cli{t: t, bin: harness.Binary(t), env: []string{"DEWAR_URL=" + srv.UIURL,
		"DEWAR_ACCESS_KEY=" + harness.AccessKey, "DEWAR_SECRET_KEY=" + harness.SecretKey}}
	dir := t.TempDir()
	base := fixtures.KnownGood(3)
	kit := fixtures.Kit(base, 3)
	for name, tree := range map[string]fixtures.Tree{"basic-cms-3.zip": base, "kit-3.zip": kit} {
		if err := os.WriteFile(filepath.Join(dir, name), zipOf(t, tree), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := c.ok("submit", "--known-good", "--wait", filepath.Join(dir, "basic-cms-3.zip"))
	if !strings.Contains(out, "\tdone\t") {
		t.Fatalf("known-good submission: %s", out)
	}
	if out = c.ok("submit", "--wait", filepath.Join(dir, "kit-3.zip")); !strings.Contains(out, "\tdone\t") {
		t.Fatalf("kit submission: %s", out)
	}
	bodyOf := func(p string) []byte {
		for _, n := range kit {
			if n.Path == p {
				return n.Body
			}
		}
		t.Fatalf("no %s in the kit", p)
		return nil
	}
	login := cas.Sum(bodyOf("basic-cms/login.php")).String()
	next := cas.Sum(bodyOf("basic-cms/next.php")).String()
	config := cas.Sum(bodyOf("basic-cms/config.php")).String()
	license := cas.Sum(bodyOf("basic-cms/license.txt")).String()

	t.Run("table", func(t *testing.T) {
		out := c.ok("search", "name:login.php")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "SHA256") || !strings.HasPrefix(lines[1], login) || !strings.Contains(lines[1], "false") {
			t.Errorf("search name:login.php:\n%s", out)
		}
	})
	t.Run("json and flags after the query", func(t *testing.T) {
		out := c.ok("search", "email:*@example.net", "--json")
		got := map[string]bool{}
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			var f struct {
				SHA256    string `json:"sha256"`
				KnownGood bool   `json:"known_good"`
			}
			if err := json.Unmarshal([]byte(l), &f); err != nil {
				t.Fatalf("not JSON lines: %v\n%s", err, out)
			}
			got[f.SHA256] = true
		}
		if len(got) != 2 || !got[next] || !got[config] {
			t.Errorf("email:*@example.net found %v, want next.php %s and config.php %s", got, next, config)
		}
	})
	t.Run("jobs", func(t *testing.T) {
		out := c.ok("search", "--type", "jobs", "--json", "knowngood:true")
		var j struct {
			Name      string `json:"name"`
			KnownGood bool   `json:"known_good"`
			Status    string `json:"status"`
		}
		if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &j); err != nil || j.Name != "basic-cms-3.zip" || !j.KnownGood || j.Status != "done" {
			t.Errorf("known-good jobs: %v\n%s", err, out)
		}
		out = c.ok("search", "--type=jobs", "name:*.php")
		if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 || !strings.Contains(lines[1], "kit-3.zip") || !strings.Contains(lines[2], "basic-cms-3.zip") {
			t.Errorf("jobs table, newest first:\n%s", out)
		}
	})
	t.Run("negated term", func(t *testing.T) {
		out := c.ok("search", "--json", "--all", "name:*.php", "-knowngood:true")
		n := 0
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			n++
			if strings.Contains(l, `"known_good":true`) {
				t.Errorf("a known-good file: %s", l)
			}
		}
		if n < 4 || !strings.Contains(out, login) || !strings.Contains(out, next) {
			t.Errorf("%d kit php files:\n%s", n, out)
		}
	})
	t.Run("limit, all and count", func(t *testing.T) {
		out, errOut, err := c.run("", "search", "--limit", "5", "--count", "knowngood:true")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		total := 0
		fmt.Sscanf(errOut, "%d matches", &total)
		if err != nil || len(lines) != 6 || !strings.Contains(errOut, "--all") || total < 100 {
			t.Fatalf("--limit 5: %v\n%s%s", err, out, errOut)
		}
		out = c.ok("search", "--all", "knowngood:true")
		if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != total+1 || !strings.Contains(out, license) {
			t.Errorf("--all: %d lines for %d matches", len(lines), total)
		}
	})
	t.Run("bad query", func(t *testing.T) {
		_, errOut, err := c.run("", "search", "name:x", "size:>abc")
		if err == nil || !strings.Contains(errOut, "position 13") || !strings.Contains(errOut, "  name:x size:>abc\n               ^") {
			t.Errorf("bad query: %v\n%s", err, errOut)
		}
	})
	t.Run("help", func(t *testing.T) {
		out := c.ok("search", "--help")
		if !strings.Contains(out, query.Help()) || !strings.Contains(out, "--type files|jobs") {
			t.Errorf("search --help:\n%s", out)
		}
	})
	t.Run("lookup", func(t *testing.T) {
		m := md5.Sum(bodyOf("basic-cms/license.txt"))
		unknown := cas.Sum([]byte("never")).String()
		out := c.ok("lookup", login, hex.EncodeToString(m[:]), unknown)
		var rows [][]string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			rows = append(rows, strings.Fields(l))
		}
		want := [][]string{
			{"HASH", "FOUND", "KNOWN-GOOD", "JOBS", "SHA256"},
			{login, "yes", "false", "1", login},
			{hex.EncodeToString(m[:]), "yes", "true", "2", license},
			{unknown, "no", "-", "0", "-"},
		}
		if fmt.Sprint(rows) != fmt.Sprint(want) {
			t.Errorf("lookup table:\n%s", out)
		}
		stdin := "# a list\n" + login + " " + unknown + "\n\n" + strings.ToUpper(next) + "\n"
		out, errOut, err := c.run(stdin, "lookup", "--json", "-", license)
		if err != nil {
			t.Fatalf("lookup -: %v %s", err, errOut)
		}
		var res []struct {
			Hash      string `json:"hash"`
			Found     bool   `json:"found"`
			KnownGood bool   `json:"known_good"`
			JobCount  int64  `json:"job_count"`
		}
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			var r struct {
				Hash      string `json:"hash"`
				Found     bool   `json:"found"`
				KnownGood bool   `json:"known_good"`
				JobCount  int64  `json:"job_count"`
			}
			if err := json.Unmarshal([]byte(l), &r); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			res = append(res, r)
		}
		if len(res) != 4 || res[0].Hash != login || !res[0].Found || res[1].Found || res[2].Hash != strings.ToUpper(next) || !res[2].Found ||
			res[3].Hash != license || !res[3].KnownGood || res[3].JobCount != 2 {
			t.Errorf("lookup --json - %s: %+v", license, res)
		}
	})
	t.Run("diff of the ingested kit", func(t *testing.T) {
		api := apiclient.New(srv.UIURL, harness.AccessKey, harness.SecretKey)
		page, err := api.Search(context.Background(), apiclient.SearchOptions{Query: "jobname:kit-3.zip", Type: "jobs"})
		if err != nil || len(page.Jobs) != 1 {
			t.Fatalf("kit job: %+v, %v", page, err)
		}
		d, err := api.JobDiff(context.Background(), page.Jobs[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		kgBodies, kgPaths := map[string]bool{}, map[string]bool{}
		for _, n := range base {
			if n.Type == "file" {
				kgBodies[cas.Sum(n.Body).String()], kgPaths[n.Path] = true, true
			}
		}
		var want apiclient.DiffCounts
		for _, n := range kit {
			if n.Type != "file" {
				continue
			}
			w := "new"
			switch {
			case kgBodies[cas.Sum(n.Body).String()]:
				w = "known-good"
				want.KnownGood++
			case kgPaths[n.Path]:
				w = "modified"
				want.Modified++
			default:
				want.New++
			}
			found := false
			for _, e := range d.Tree {
				if e.Path == n.Path {
					found = true
					if e.Diff != w {
						t.Errorf("%s: %q, want %q", n.Path, e.Diff, w)
					}
				}
			}
			if !found {
				t.Errorf("%s: not in the diff", n.Path)
			}
		}
		if d.Counts != want || len(d.Matches) != 1 || d.Matches[0].Name != "basic-cms-3.zip" ||
			d.Summary != fmt.Sprintf("basic-cms-3 + %d new, %d modified", want.New, want.Modified) {
			t.Errorf("diff: %+v %+v %q", d.Matches, d.Counts, d.Summary)
		}
	})
	t.Run("credentials", func(t *testing.T) {
		bad := cli{t: t, bin: c.bin, env: []string{"DEWAR_URL=" + srv.UIURL, "DEWAR_ACCESS_KEY=" + harness.AccessKey, "DEWAR_SECRET_KEY=wrong"}}
		if _, errOut, err := bad.run("", "lookup", login); err == nil || !strings.Contains(errOut, "401") {
			t.Errorf("wrong secret: %v %s", err, errOut)
		}
		if _, errOut, err := bad.run("", "search", "login"); err == nil || !strings.Contains(errOut, "401") {
			t.Errorf("wrong secret: %v %s", err, errOut)
		}
	})
}

// TestSplitArgs: flags anywhere, values of non-bool flags, negated query
// terms and -- left positional.
func TestSplitArgs(t *testing.T) {
	for _, c := range []struct {
		in         string
		flags, pos string
		help       bool
	}{
		{"a --json b", "--json", "a b", false},
		{"--limit 5 a -knowngood:true", "--limit 5", "a -knowngood:true", false},
		{"--type=jobs x --all", "--type=jobs --all", "x", false},
		{"x -- --json -y", "", "x --json -y", false},
		{"x --help", "", "x", true},
		{"- x -h", "", "- x", true},
		{"-json=true x", "-json=true", "x", false},
	} {
		var cf clientFlags
		fs := flagSetForTest(&cf)
		flags, pos, help := splitArgs(fs, strings.Fields(c.in))
		if strings.Join(flags, " ") != c.flags || strings.Join(pos, " ") != c.pos || help != c.help {
			t.Errorf("%q: flags %q pos %q help %v", c.in, flags, pos, help)
		}
	}
}

func flagSetForTest(cf *clientFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	cf.register(fs)
	fs.String("type", "files", "")
	fs.Bool("json", false, "")
	fs.Int("limit", 50, "")
	fs.Bool("all", false, "")
	return fs
}
