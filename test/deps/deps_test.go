// Package deps enforces the import direction of DESIGN.md's layout with
// `go list -deps`: cmd → gateway → {s3api, cas, index, analyzers}, and the
// lower layers never reach back up.
package deps

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"dewar/test/harness"
)

type pkg struct {
	ImportPath string
	Imports    []string
}

// rules: a package whose path starts with the key may not import any
// package whose path starts with one of the values.
var rules = map[string][]string{
	"dewar/s3api":     {"dewar/gateway", "dewar/cas", "dewar/index", "dewar/analyzers", "dewar/cmd", "dewar/test"},
	"dewar/cas":       {"dewar/gateway", "dewar/s3api", "dewar/index", "dewar/analyzers", "dewar/cmd", "dewar/test"},
	"dewar/index":     {"dewar/gateway", "dewar/s3api", "dewar/analyzers", "dewar/cmd", "dewar/test", "dewar/cas/"},
	"dewar/analyzers": {"dewar/gateway", "dewar/s3api", "dewar/cas", "dewar/index", "dewar/cmd", "dewar/test"},
	"dewar/gateway":   {"dewar/cmd", "dewar/test"},
}

// exceptions are imports a rule would forbid that the layout allows.
var exceptions = map[string]bool{}

func TestImportDirection(t *testing.T) {
	cmd := exec.Command("go", "list", "-json", "dewar/...")
	cmd.Dir = harness.ModuleRoot()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		for prefix, banned := range rules {
			if !under(p.ImportPath, prefix) {
				continue
			}
			checked++
			for _, imp := range p.Imports {
				for _, b := range banned {
					if !matches(imp, b) || exceptions[prefix+" → "+imp] || testSupport(p.ImportPath, imp) {
						continue
					}
					t.Errorf("%s imports %s: %s must not depend on %s", p.ImportPath, imp, prefix, b)
				}
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d packages checked; is the module layout as expected?", checked)
	}
}

// matches: a ban ending in "/" covers the packages below it only (the
// index may use cas.Ref but no store); others cover the package and below.
func matches(imp, ban string) bool {
	if strings.HasSuffix(ban, "/") {
		return strings.HasPrefix(imp, ban)
	}
	return under(imp, ban)
}

// testSupport lets the conformance-suite and fixture packages (castest,
// indextest, pgtest, archivetest) use the harness's CI requirement switch.
func testSupport(path, imp string) bool {
	return strings.HasSuffix(path, "test") && imp == "dewar/test/harness"
}

// under reports whether path is prefix or inside it.
func under(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}
