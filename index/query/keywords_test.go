package query

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

func TestKeywordsRegistry(t *testing.T) {
	// The fields the issue asks for.
	required := "sha256 sha1 md5 name path mime size knowngood job jobname submitter notes after before ioc url domain email ip telegram token similar"
	for _, name := range strings.Fields(required) {
		if _, ok := Lookup(name); !ok {
			t.Errorf("field %s missing from the registry", name)
		}
	}
	seen := map[string]bool{}
	for _, k := range Keywords() {
		if !regexp.MustCompile(`^[a-z0-9]+$`).MatchString(k.Name) || seen[k.Name] {
			t.Errorf("%q: names are unique, lowercase letters and digits", k.Name)
		}
		seen[k.Name] = true
		if k.Kind < KindText || k.Kind > KindSHA256 || k.Target == 0 {
			t.Errorf("%s: kind %v, target %v", k.Name, k.Kind, k.Target)
		}
		if (k.Kind == KindHash || k.Kind == KindSHA256) != (k.HashLen > 0) {
			t.Errorf("%s: HashLen %d for kind %v", k.Name, k.HashLen, k.Kind)
		}
		if k.Description == "" || strings.ContainsAny(k.Description, "\n") {
			t.Errorf("%s: description must be one line", k.Name)
		}
		// The example parses to itself and uses the field.
		n, err := Parse(k.Example)
		if err != nil {
			t.Errorf("%s: example %q: %v", k.Name, k.Example, err)
			continue
		}
		if n.String() != k.Example {
			t.Errorf("%s: example %q is not canonical (%s)", k.Name, k.Example, n)
		}
		if tm, ok := n.(Term); !ok || tm.Field != k.Name {
			t.Errorf("%s: example %q is not one %s term", k.Name, k.Example, k.Name)
		}
	}
	if k, ok := Lookup("SHA256"); !ok || k.Name != "sha256" {
		t.Errorf("Lookup ignores case: %v %v", k, ok)
	}
	if _, ok := Lookup("nope"); ok {
		t.Error("Lookup(nope) found something")
	}
	ks := Keywords()
	ks[0].Name = "changed"
	if _, ok := Lookup("sha256"); !ok {
		t.Error("Keywords returned the registry itself, not a copy")
	}
}

func TestHelp(t *testing.T) {
	h := Help()
	if !strings.HasPrefix(h, Grammar) {
		t.Error("Help does not start with Grammar")
	}
	for _, k := range keywords {
		line := fmt.Sprintf("  %-10s %-7s %-11s %s\n", k.Name, k.Kind, k.Target, k.Description)
		if !strings.Contains(h, line) || !strings.Contains(h, "e.g. "+k.Example+"\n") {
			t.Errorf("Help lacks %s or its example", k.Name)
		}
	}
	limits := fmt.Sprintf("Limits: %d bytes per query, %d per value, %d terms, depth %d.", MaxQueryLen, MaxValueLen, MaxTerms, MaxDepth)
	if !strings.Contains(Grammar, limits) {
		t.Errorf("Grammar does not state the limits as %q", limits)
	}
}

// TestDocMatchesGrammar keeps the package documentation and the help text
// the same: every line of Grammar appears in doc.go's preformatted block.
func TestDocMatchesGrammar(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var doc []string
	for _, l := range strings.Split(string(src), "\n") {
		if s, ok := strings.CutPrefix(l, "//\t"); ok {
			doc = append(doc, s)
		} else if l == "//" {
			doc = append(doc, "")
		}
	}
	want := strings.Split(strings.TrimSuffix(Grammar, "\n"), "\n")
	got := strings.Join(doc, "\n")
	if !strings.Contains(got, strings.Join(want, "\n")) {
		t.Error("doc.go does not contain Grammar verbatim; copy the constant into the # Grammar section")
	}
}

func TestKindTargetText(t *testing.T) {
	b, err := json.Marshal(Keywords()[7]) // knowngood
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"name":"knowngood","kind":"bool","target":"files,jobs","description":"a file seen in a known-good job; a job submitted as known-good","example":"knowngood:false"}`; string(b) != want {
		t.Errorf("JSON = %s\nwant  %s", b, want)
	}
	cases := map[string]string{
		KindHash.String(): "hash", KindJobID.String(): "job id", Kind(0).String(): "Kind(0)",
		TargetPaths.String(): "paths", (TargetPaths | TargetJobs).String(): "paths,jobs", Target(0).String(): "none",
	}
	for got, want := range cases {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	if !TargetBoth.Has(TargetJobs) || TargetFiles.Has(TargetBoth) {
		t.Error("Target.Has")
	}
}
