package api_test

import (
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"dewar/gateway/web/api"
)

// routeRE matches the ServeMux patterns of the API's routes.
var routeRE = regexp.MustCompile(`^(GET|POST|PUT|PATCH|DELETE) (/api/v1/\S+)$`)

// paramRE matches a path parameter, to compare paths whatever the names.
var paramRE = regexp.MustCompile(`\{[^}]*\}`)

// registeredRoutes returns every route pattern in the package's source:
// each string literal that is a method and an /api/v1 path.
func registeredRoutes(t *testing.T) map[string]bool {
	t.Helper()
	fset := token.NewFileSet()
	routes := map[string]bool{}
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, e.Name(), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				s, err := strconv.Unquote(lit.Value)
				if err == nil && routeRE.MatchString(s) {
					routes[paramRE.ReplaceAllString(s, "{}")] = true
				}
			}
			return true
		})
	}
	return routes
}

type openAPIDoc struct {
	OpenAPI string                                `json:"openapi"`
	Paths   map[string]map[string]json.RawMessage `json:"paths"`
	Comps   struct {
		Schemas map[string]json.RawMessage `json:"schemas"`
	} `json:"components"`
}

// TestOpenAPI: the served document is the embedded one, OpenAPI 3, and
// describes exactly the registered routes; every documented call reaches
// a handler; every schema it references exists.
func TestOpenAPI(t *testing.T) {
	e := newEnv(t)
	served, err := e.reader.OpenAPI(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if string(served) != strings.TrimSpace(string(api.OpenAPI())) && string(served) != string(api.OpenAPI()) {
		t.Errorf("the served document is not the embedded one")
	}
	var doc openAPIDoc
	if err := json.Unmarshal(api.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for p, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			documented[strings.ToUpper(method)+" "+paramRE.ReplaceAllString(p, "{}")] = true
		}
	}
	routes := registeredRoutes(t)
	if len(routes) < 10 {
		t.Fatalf("found only %d routes in the source: %v", len(routes), routes)
	}
	for r := range routes {
		if !documented[r] {
			t.Errorf("route %s is not in openapi.json", r)
		}
	}
	for d := range documented {
		if !routes[d] {
			t.Errorf("openapi.json documents %s, which is not a route", d)
		}
		// It reaches a handler, not the catch-all.
		method, path, _ := strings.Cut(d, " ")
		path = strings.ReplaceAll(path, "{}", "x")
		st, b := e.call(method, path, rootKey, rootSecret, nil)
		if st == http.StatusNotFound && strings.Contains(string(b), "no such API call") || st == http.StatusMethodNotAllowed {
			t.Errorf("%s: %d %s", d, st, b)
		}
	}
	refs := regexp.MustCompile(`"#/components/schemas/([^"]+)"`).FindAllSubmatch(api.OpenAPI(), -1)
	for _, m := range refs {
		if _, ok := doc.Comps.Schemas[string(m[1])]; !ok {
			t.Errorf("schema %s is referenced but not defined", m[1])
		}
	}
}
