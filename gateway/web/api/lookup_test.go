package api_test

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"dewar/cas"
)

// TestLookup: any mix of hash kinds and junk, answered one per hash in
// order; the edges of the size limit; malformed bodies.
func TestLookup(t *testing.T) {
	w := newKitWorld(t)
	ctx := context.Background()
	kg := w.body("public_html/basic-cms/license.txt") // in the release and the kit
	mod := w.body("public_html/basic-cms/login.php")  // the kit's own
	m, s := md5.Sum(mod), sha1.Sum(kg)
	hashes := []string{
		cas.Sum(kg).String(),
		hex.EncodeToString(m[:]),
		strings.ToUpper(hex.EncodeToString(s[:])),
		cas.Sum([]byte("never seen")).String(),
		"not a hash",
		"",
		cas.Sum(kg).String(),
	}
	res, err := w.reader.Lookup(ctx, hashes)
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		found, kg bool
		sha256    string
		jobs      int64
	}
	wants := []want{
		{true, true, cas.Sum(kg).String(), 2},
		{true, false, cas.Sum(mod).String(), 1},
		{true, true, cas.Sum(kg).String(), 2},
		{}, {}, {},
		{true, true, cas.Sum(kg).String(), 2},
	}
	if len(res) != len(hashes) {
		t.Fatalf("%d results for %d hashes", len(res), len(hashes))
	}
	for i, r := range res {
		wt := wants[i]
		if r.Hash != hashes[i] || r.Found != wt.found || r.KnownGood != wt.kg || r.SHA256 != wt.sha256 || r.JobCount != wt.jobs {
			t.Errorf("result %d: %+v, want %+v", i, r, wt)
		}
	}

	many := func(n int) string {
		hs := make([]string, n)
		for i := range hs {
			hs[i] = fmt.Sprintf("%064x", i)
		}
		b, _ := json.Marshal(map[string][]string{"hashes": hs})
		return string(b)
	}
	st, b := w.call("POST", "/api/v1/lookup", readerKey, readerSecret, strings.NewReader(many(10000)))
	var full struct{ Results []struct{ Found bool } }
	if st != http.StatusOK || json.Unmarshal(b, &full) != nil || len(full.Results) != 10000 {
		t.Errorf("10,000 hashes: %d, %d results", st, len(full.Results))
	}
	for _, c := range []struct {
		name, body, code string
		status           int
	}{
		{"10,001 hashes", many(10001), "too_many", 400},
		{"not JSON", "hashes=abc", "invalid", 400},
		{"no hashes", `{"sha256":["x"]}`, "invalid", 400},
		{"not strings", `{"hashes":[1,2]}`, "invalid", 400},
		{"not a list", `{"hashes":"abc"}`, "invalid", 400},
		{"cut short", `{"hashes":["abc"`, "invalid", 400},
		{"too large", `{"hashes":["` + strings.Repeat("a", 5<<20) + `"]}`, "too_large", 413},
	} {
		st, b := w.call("POST", "/api/v1/lookup", readerKey, readerSecret, strings.NewReader(c.body))
		if st != c.status || errorCode(t, b) != c.code {
			t.Errorf("%s: %d %.200s, want %d %s", c.name, st, b, c.status, c.code)
		}
		if c.code == "too_many" && !strings.Contains(string(b), "10000") {
			t.Errorf("%s: the message does not name the limit: %s", c.name, b)
		}
	}
	if st, b := w.call("POST", "/api/v1/lookup", readerKey, readerSecret, strings.NewReader(`{"hashes":[],"other":{"x":1}}`)); st != 200 || strings.TrimSpace(string(b)) != `{"results":[]}` {
		t.Errorf("empty lookup: %d %s", st, b)
	}
	// The client splits long lists.
	long := make([]string, 10005)
	for i := range long {
		long[i] = fmt.Sprintf("%032x", i)
	}
	long[10003] = cas.Sum(kg).String()
	res, err = w.reader.Lookup(ctx, long)
	if err != nil || len(res) != len(long) || !res[10003].Found || res[10002].Found || res[10004].Hash != long[10004] {
		t.Errorf("client lookup of %d: %d results, %v", len(long), len(res), err)
	}
}
