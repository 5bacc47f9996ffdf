package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"dewar/test/harness"
)

// TestAWSCLI drives AWS CLI v1 (botocore flexible checksums: CRC32 headers
// over HTTP, aws-chunked trailers over HTTPS) through uploads, listings,
// ranges, metadata, server-side copies, sync, deletes and bucket removal.
func TestAWSCLI(t *testing.T) {
	harness.Require(t, "aws", "boto3")
	t.Parallel()
	small, big := fixtures(t)
	forEachScheme(t, func(t *testing.T, s *server) {
		const b = "aws-cli"
		step(t, s, "mb", func(t *testing.T, s *server) {
			s.aws("s3", "mb", "s3://"+b)
			if out := s.aws("s3", "ls"); !strings.Contains(out, " "+b+"\n") {
				t.Errorf("aws s3 ls does not list %s:\n%s", b, out)
			}
		})
		s.with(t).seed(b)

		step(t, s, "cp-small-and-multipart", func(t *testing.T, s *server) {
			s.aws("s3", "cp", small, "s3://"+b+"/up/small", "--only-show-errors")
			s.aws("s3", "cp", big, "s3://"+b+"/up/big", "--only-show-errors")
			s.mustExist(b, "up/small", fileSHA256(t, small))
			s.mustExist(b, "up/big", fileSHA256(t, big))
			_, h := s.head(b, "up/big")
			if etag := h.Get("ETag"); !strings.HasSuffix(etag, `-5"`) {
				t.Errorf("40 MiB upload ETag %s, want 5 parts of 8 MiB", etag)
			}
			for _, k := range []string{"small", "big"} {
				out := s.path("down-" + k)
				s.aws("s3", "cp", "s3://"+b+"/up/"+k, out, "--only-show-errors")
				sameFile(t, out, map[string]string{"small": small, "big": big}[k])
			}
		})

		step(t, s, "stdin-empty-content-encoding", func(t *testing.T, s *server) {
			// From stdin: a multipart upload of unknown length.
			f, err := os.Open(big)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r := run(t, s.awsEnv(), io.LimitReader(f, 20<<20), "aws", "--endpoint-url", s.URL, "s3", "cp", "-", "s3://"+b+"/up/stdin", "--only-show-errors")
			if r.code != 0 || r.err != nil {
				t.Fatalf("aws s3 cp - : %s", r)
			}
			if got, want := bytesSHA256(s.getObject(b, "up/stdin")), bytesSHA256(readRange(t, big, 0, 20<<20)); got != want {
				t.Errorf("upload from stdin: sha256 %s, want %s", got, want)
			}
			empty := s.writeFile("empty", "", 0o644)
			s.aws("s3", "cp", empty, "s3://"+b+"/up/empty", "--only-show-errors")
			if st, h := s.head(b, "up/empty"); st != http.StatusOK || h.Get("Content-Length") != "0" || h.Get("ETag") != `"d41d8cd98f00b204e9800998ecf8427e"` {
				t.Errorf("empty upload: HEAD %d Content-Length %q ETag %s", st, h.Get("Content-Length"), h.Get("ETag"))
			}
			// Over HTTPS the body is aws-chunked: that coding must not stick to the object.
			s.aws("s3", "cp", small, "s3://"+b+"/up/encoded", "--content-encoding", "gzip", "--only-show-errors")
			var h struct{ ContentEncoding string }
			mustJSON(t, s.aws("s3api", "head-object", "--bucket", b, "--key", "up/encoded", "--output", "json"), &h)
			if h.ContentEncoding != "gzip" {
				t.Errorf("ContentEncoding %q, want gzip", h.ContentEncoding)
			}
		})

		step(t, s, "list-v2-v1-over-1000", func(t *testing.T, s *server) {
			var v2 struct {
				Contents       []struct{ Key string }
				CommonPrefixes []struct{ Prefix string }
			}
			out := s.aws("s3api", "list-objects-v2", "--bucket", b, "--prefix", listPrefix, "--output", "json")
			mustJSON(t, out, &v2)
			sameSet(t, "list-objects-v2 recursive", objKeys(v2.Contents), tree.keys)

			out = s.aws("s3api", "list-objects-v2", "--bucket", b, "--prefix", listPrefix, "--delimiter", "/", "--output", "json")
			v2.Contents, v2.CommonPrefixes = nil, nil
			mustJSON(t, out, &v2)
			sameSet(t, "list-objects-v2 delimiter", objKeys(v2.Contents), tree.flat)
			sameSet(t, "list-objects-v2 prefixes", cpPrefixes(v2.CommonPrefixes), tree.prefixes)

			out = s.aws("s3api", "list-objects", "--bucket", b, "--prefix", listPrefix, "--output", "json")
			v2.Contents, v2.CommonPrefixes = nil, nil
			mustJSON(t, out, &v2)
			sameSet(t, "list-objects (v1) recursive", objKeys(v2.Contents), tree.keys)

			// More than 1000 common prefixes: pages end on a prefix.
			for _, op := range []string{"list-objects-v2", "list-objects"} {
				v2.Contents, v2.CommonPrefixes = nil, nil
				mustJSON(t, s.aws("s3api", op, "--bucket", b, "--prefix", dirsPrefix, "--delimiter", "/", "--output", "json"), &v2)
				sameSet(t, op+" common prefixes over 1000", cpPrefixes(v2.CommonPrefixes), tree.dirs)
				if len(v2.Contents) != 0 {
					t.Errorf("%s of %s with delimiter: %d objects, want none", op, dirsPrefix, len(v2.Contents))
				}
			}

			sub := tree.prefixes[1]
			out = s.aws("s3api", "list-objects-v2", "--bucket", b, "--prefix", sub, "--start-after", sub+"04", "--output", "json")
			v2.Contents, v2.CommonPrefixes = nil, nil
			mustJSON(t, out, &v2)
			var want []string
			for _, k := range tree.keys {
				if strings.HasPrefix(k, sub) && k > sub+"04" {
					want = append(want, k)
				}
			}
			sameSet(t, "list-objects-v2 start-after", objKeys(v2.Contents), want)

			// aws s3 ls: one directory level, then the whole prefix.
			var names, pres []string
			for _, line := range lines(s.aws("s3", "ls", "s3://"+b+"/"+listPrefix)) {
				if p, ok := strings.CutPrefix(strings.TrimLeft(line, " "), "PRE "); ok {
					pres = append(pres, listPrefix+p)
				} else {
					names = append(names, listPrefix+lsKey(t, line))
				}
			}
			sameSet(t, "aws s3 ls objects", names, tree.flat)
			sameSet(t, "aws s3 ls PRE", pres, tree.prefixes)
			var rec []string
			for _, line := range lines(s.aws("s3", "ls", "--recursive", "s3://"+b+"/"+listPrefix)) {
				rec = append(rec, lsKey(t, line))
			}
			sameSet(t, "aws s3 ls --recursive", rec, tree.keys)
			// Prefixes with odd characters travel in the query string
			// ('+', '%' and '=&'; boto3 lists them all).
			for _, p := range tree.prefixes[1:4] {
				var names []string
				for _, line := range lines(s.aws("s3", "ls", "s3://"+b+"/"+p)) {
					names = append(names, lsKey(t, line))
				}
				sameSet(t, "aws s3 ls "+p, names, subtree(p))
			}
		})

		step(t, s, "ranged-get", func(t *testing.T, s *server) {
			for _, c := range []struct {
				rng         string
				off, length int64
			}{
				{"bytes=1000-2999", 1000, 2000},
				{"bytes=-100", bigSize - 100, 100},
				{"bytes=41943000-", 41943000, bigSize - 41943000},
			} {
				out := s.path("range")
				s.aws("s3api", "get-object", "--bucket", b, "--key", "up/big", "--range", c.rng, out)
				got, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, readRange(t, big, c.off, c.length)) {
					t.Errorf("range %s: got %d bytes that differ from the file", c.rng, len(got))
				}
			}
		})

		step(t, s, "metadata", func(t *testing.T, s *server) {
			s.aws("s3", "cp", small, "s3://"+b+"/meta/small", "--only-show-errors",
				"--metadata", "notes=from aws,Color=Red", "--content-type", "text/x-kit")
			var h struct {
				Metadata    map[string]string
				ContentType string
			}
			mustJSON(t, s.aws("s3api", "head-object", "--bucket", b, "--key", "meta/small", "--output", "json"), &h)
			want := map[string]string{"notes": "from aws", "color": "Red"}
			if !sameMap(h.Metadata, want) || h.ContentType != "text/x-kit" {
				t.Errorf("head-object: Metadata %v ContentType %q, want %v text/x-kit", h.Metadata, h.ContentType, want)
			}
		})

		step(t, s, "server-side-copy-and-move", func(t *testing.T, s *server) {
			s.aws("s3", "cp", "s3://"+b+"/meta/small", "s3://"+b+"/copy/small", "--only-show-errors")
			s.aws("s3", "cp", "s3://"+b+"/up/big", "s3://"+b+"/copy/big", "--only-show-errors")
			s.mustExist(b, "copy/big", fileSHA256(t, big))
			s.aws("s3", "mv", "s3://"+b+"/copy/small", "s3://"+b+"/moved/small", "--only-show-errors")
			s.mustBeAbsent(b, "copy/small")
			s.mustExist(b, "moved/small", fileSHA256(t, small))
			var h struct {
				Metadata    map[string]string
				ContentType string
			}
			mustJSON(t, s.aws("s3api", "head-object", "--bucket", b, "--key", "moved/small", "--output", "json"), &h)
			if want := map[string]string{"notes": "from aws", "color": "Red"}; !sameMap(h.Metadata, want) || h.ContentType != "text/x-kit" {
				t.Errorf("after cp+mv: Metadata %v ContentType %q, want %v text/x-kit", h.Metadata, h.ContentType, want)
			}
		})

		step(t, s, "sync-twice", func(t *testing.T, s *server) {
			root := s.path("tree")
			rel := oddTree(t, root)
			out := s.aws("s3", "sync", root, "s3://"+b+"/sync/", "--no-progress")
			if n := strings.Count(out, "upload: "); n != len(rel) {
				t.Errorf("first sync uploaded %d files, want %d:\n%s", n, len(rel), out)
			}
			got, _ := s.list(b, "sync/", "")
			sameSet(t, "synced keys", got, prefixed("sync/", rel))
			if out := s.aws("s3", "sync", root, "s3://"+b+"/sync/", "--no-progress"); strings.TrimSpace(out) != "" {
				t.Errorf("second sync did something:\n%s", out)
			}
			back := s.path("tree-back")
			s.aws("s3", "sync", "s3://"+b+"/sync/", back, "--no-progress")
			for _, r := range rel {
				sameFile(t, filepath.Join(back, filepath.FromSlash(r)), filepath.Join(root, filepath.FromSlash(r)))
			}
		})

		step(t, s, "rm-recursive", func(t *testing.T, s *server) {
			s.aws("s3", "rm", "s3://"+b+"/sync/", "--recursive", "--only-show-errors")
			if got, _ := s.list(b, "sync/", ""); len(got) != 0 {
				t.Errorf("after rm --recursive: %d keys left: %q", len(got), head(got, 5))
			}
			// More than 1000 keys: two DeleteObjects requests.
			s.aws("s3", "rm", "s3://"+b+"/"+listPrefix, "--recursive", "--only-show-errors")
			if got, _ := s.list(b, listPrefix, ""); len(got) != 0 {
				t.Errorf("after rm --recursive of %d keys: %d left: %q", len(tree.keys), len(got), head(got, 5))
			}
			s.mustExist(b, "manyx", "")
		})

		step(t, s, "rb", func(t *testing.T, s *server) {
			mustFail(t, s.awsEnv(), "BucketNotEmpty", "aws", "--endpoint-url", s.URL, "s3", "rb", "s3://"+b)
			if st, _ := s.head(b, ""); st != http.StatusOK {
				t.Fatalf("bucket gone after a refused rb: HEAD %d", st)
			}
			s.mustExist(b, "up/small", fileSHA256(t, small))
			// rb --force empties a bucket, then removes it.
			const other = "aws-cli-rb"
			s.aws("s3", "mb", "s3://"+other)
			s.aws("s3", "cp", s.path("tree"), "s3://"+other+"/tree", "--recursive", "--only-show-errors")
			mustFail(t, s.awsEnv(), "BucketNotEmpty", "aws", "--endpoint-url", s.URL, "s3", "rb", "s3://"+other)
			s.aws("s3", "rb", "s3://"+other, "--force")
			if st, _ := s.head(other, ""); st != http.StatusNotFound {
				t.Errorf("after rb --force: HEAD bucket %d, want 404", st)
			}
		})
	})
}

func mustJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("parsing client JSON: %v\n%s", err, harness.LastLines(s, 20))
	}
}

func objKeys(c []struct{ Key string }) []string {
	out := make([]string, 0, len(c))
	for _, o := range c {
		out = append(out, o.Key)
	}
	return out
}

func cpPrefixes(c []struct{ Prefix string }) []string {
	out := make([]string, 0, len(c))
	for _, o := range c {
		out = append(out, o.Prefix)
	}
	return out
}

func sameMap(got, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			return false
		}
	}
	return true
}

// lines splits output into non-empty lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// lsLine is "DATE TIME SIZE KEY" as aws s3 ls prints an object; the key
// may hold any characters, spaces included.
var lsLine = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +\d+ (.*)$`)

func lsKey(t *testing.T, line string) string {
	t.Helper()
	m := lsLine.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("unexpected aws s3 ls line %q", line)
	}
	return m[1]
}
