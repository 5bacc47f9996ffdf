package api_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dewar/cas"
	"dewar/cas/filestore"
	"dewar/gateway"
	"dewar/gateway/analyze"
	"dewar/gateway/auth"
	"dewar/gateway/web"
	"dewar/gateway/web/api"
	"dewar/gateway/web/apiclient"
	"dewar/index"
	"dewar/index/sqlindex"
	"dewar/index/sqlite"
	"dewar/test/fixtures"
)

// Credentials of the test users.
const (
	rootKey, rootSecret     = "ROOTKEY", "root-secret-key-of-forty-characters-xx"
	readerKey, readerSecret = "READERKEY", "reader-secret"
	subKey, subSecret       = "SUBMITTERKEY", "submitter-secret"
)

// env is an API server over a real filestore and SQLite index.
type env struct {
	t      *testing.T
	svc    *gateway.Service
	idx    *sqlindex.Index
	url    string
	root   *apiclient.Client
	reader *apiclient.Client
	sub    *apiclient.Client
	// analyzeAll has ingest record every file's analysis as the analyzers
	// make it (for similarity), besides the IOCs it is given.
	analyzeAll bool
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	st, err := filestore.Open(filepath.Join(dir, "store"), filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ix, err := sqlite.Open(filepath.Join(dir, "index.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	log := slog.New(slog.DiscardHandler)
	svc, err := gateway.New(context.Background(), gateway.Options{Store: st, Index: ix, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []index.User{
		{AccessKey: readerKey, SecretKey: readerSecret, Name: "rita", Role: index.RoleReader},
		{AccessKey: subKey, SecretKey: subSecret, Name: "sam", Role: index.RoleSubmitter},
	} {
		if err := ix.CreateUser(context.Background(), u); err != nil {
			t.Fatal(err)
		}
	}
	authn := auth.New(ix, index.User{AccessKey: rootKey, SecretKey: rootSecret})
	srv := httptest.NewServer(web.Handler(web.Options{Auth: authn, API: api.New(svc, log), Logger: log}))
	t.Cleanup(srv.Close)
	return &env{t: t, svc: svc, idx: ix, url: srv.URL,
		root:   apiclient.New(srv.URL, rootKey, rootSecret),
		reader: apiclient.New(srv.URL, readerKey, readerSecret),
		sub:    apiclient.New(srv.URL, subKey, subSecret)}
}

// ingest runs a job through the queue with tree as its result, as a
// worker would after walking its archive; iocs gives some paths'
// indicators (recorded as their analyses). Bodies are not stored: the
// calls under test read only the index.
func (e *env) ingest(name string, knownGood bool, tree fixtures.Tree, iocs map[string][]index.IOC) index.Job {
	e.t.Helper()
	ctx := context.Background()
	j, err := e.svc.Submit(ctx, strings.NewReader("upload of "+name), gateway.Submission{Name: name, KnownGood: knownGood, Submitter: "sam"})
	if err != nil {
		e.t.Fatal(err)
	}
	res := index.JobResult{Status: index.JobDone, Commit: func(context.Context, cas.Ref) error { return nil }}
	res.Files = append(res.Files, index.File{Ref: j.Upload, Size: j.UploadSize, MD5: j.UploadMD5, SHA1: strings.Repeat("0", 40), MIME: "application/zip"})
	seen := map[cas.Ref]bool{j.Upload: true}
	for _, n := range tree {
		te := index.TreeEntry{Path: n.Path, Type: index.TreeType(n.Type), Target: n.Target}
		if n.Type == "file" {
			ref := cas.Sum(n.Body)
			te.Blob, te.Size = ref, int64(len(n.Body))
			if !seen[ref] {
				seen[ref] = true
				m, s := md5.Sum(n.Body), sha1.Sum(n.Body)
				res.Files = append(res.Files, index.File{Ref: ref, Size: te.Size, MD5: hex.EncodeToString(m[:]), SHA1: hex.EncodeToString(s[:]), MIME: mimeOf(n.Path)})
				if e.analyzeAll {
					a, err := analyze.Analyze(ctx, bytes.NewReader(n.Body), "", analyze.Options{})
					if err != nil {
						e.t.Fatal(err)
					}
					a.Ref = ref
					res.Analyses = append(res.Analyses, a)
				} else if ioc, ok := iocs[n.Path]; ok {
					res.Analyses = append(res.Analyses, index.Analysis{Ref: ref, IOCs: ioc, Language: "php",
						Tokens: []string{"mail", "file_get_contents"}, Versions: map[string]int{"ioc": 1}, AnalyzedAt: time.Now().UTC()})
				}
			}
		}
		res.Tree = append(res.Tree, te)
	}
	claimed, lease, err := e.idx.Claim(ctx, "test/1/worker-0", time.Minute)
	if err != nil || claimed.ID != j.ID {
		e.t.Fatalf("claim: %s, %v", claimed.ID, err)
	}
	done, err := e.idx.Finish(ctx, lease, res)
	if err != nil {
		e.t.Fatal(err)
	}
	return done
}

func mimeOf(p string) string {
	switch filepath.Ext(p) {
	case ".php":
		return "text/x-php"
	case ".css":
		return "text/css"
	case ".js":
		return "text/javascript"
	}
	return "application/octet-stream"
}

// call sends a raw request (creds "" for none) and returns the status
// and body.
func (e *env) call(method, path, ak, sk string, body io.Reader) (int, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if ak != "" {
		req.SetBasicAuth(ak, sk)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, b
}

// errorCode returns the error code of an error body.
func errorCode(t *testing.T, b []byte) string {
	t.Helper()
	var e api.Error
	if err := json.Unmarshal(b, &e); err != nil || e.Error.Code == "" {
		t.Fatalf("not an error body: %s", b)
	}
	return e.Error.Code
}

// apiErr asserts err is an *apiclient.Error with that status and code.
func apiErr(t *testing.T, err error, status int, code string) *apiclient.Error {
	t.Helper()
	var e *apiclient.Error
	if !errors.As(err, &e) || e.Status != status || e.Code != code {
		t.Fatalf("error %v, want %d %s", err, status, code)
	}
	return e
}

// kitWorld is the corpus most tests share: a known-good release and a
// kit derived from it under public_html/, with IOCs in the kit's mailer
// and config.
type kitWorld struct {
	*env
	base, kit   fixtures.Tree
	kgJob, kitJ index.Job
	drop        string // the kit's exfiltration address
}

func newKitWorld(t *testing.T) *kitWorld {
	e := newEnv(t)
	w := &kitWorld{env: e, base: fixtures.KnownGood(1)}
	w.kit = fixtures.Kit(w.base, 1)
	w.drop = "drop-1@example.net"
	w.kgJob = e.ingest("basic-cms-1.0.zip", true, w.base, nil)
	w.kitJ = e.ingest("kit-1.zip", false, w.kit, map[string][]index.IOC{
		"public_html/basic-cms/next.php": {{Type: "email", Value: w.drop}, {Type: "telegram-token", Value: "1000000001:AAH" + strings.Repeat("x", 32)}},
		"public_html/basic-cms/config.php": {{Type: "email", Value: w.drop}, {Type: "url", Value: "https://evil-1.example.com/gate.php"},
			{Type: "domain", Value: "evil-1.example.com"}},
	})
	return w
}

// body returns the body of the kit file at p.
func (w *kitWorld) body(p string) []byte {
	for _, n := range w.kit {
		if n.Path == p {
			return n.Body
		}
	}
	w.t.Fatalf("no kit file %s", p)
	return nil
}

func jsonBody(v any) io.Reader {
	b, _ := json.Marshal(v)
	return bytes.NewReader(b)
}
