package e2e

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"dewar/test/harness"
)

// TestS3cmd drives s3cmd 2.3 (no User-Agent, lowercase headers, v1
// listings, s3cmd-attrs metadata, 5 MiB multipart chunks, Content-MD5 on
// multi-object delete, ?policy/?cors/?acl in info).
func TestS3cmd(t *testing.T) {
	harness.Require(t, "s3cmd", "boto3")
	t.Parallel()
	small, big := fixtures(t)
	forEachScheme(t, func(t *testing.T, s *server) {
		const b = "s3cmd-bucket"
		step(t, s, "mb-and-info", func(t *testing.T, s *server) {
			s.s3cmd("mb", "s3://"+b)
			if out := s.s3cmd("info", "s3://"+b); !strings.Contains(out, "Location:") {
				t.Errorf("s3cmd info bucket:\n%s", out)
			}
		})
		s.with(t).seed(b)

		up := s.path("up")
		step(t, s, "put-get-multipart-attrs", func(t *testing.T, s *server) {
			copyFile(t, small, filepath.Join(up, "small"))
			copyFile(t, big, filepath.Join(up, "big"))
			// An unusual mode, so its round trip through s3cmd-attrs shows.
			for _, n := range []string{"small", "big"} {
				if err := os.Chmod(filepath.Join(up, n), 0o640); err != nil {
					t.Fatal(err)
				}
			}
			for _, n := range []string{"small", "big"} {
				s.s3cmd("put", filepath.Join(up, n), "s3://"+b+"/up/"+n)
				s.mustExist(b, "up/"+n, fileSHA256(t, filepath.Join(up, n)))
				_, h := s.head(b, "up/"+n)
				attrs := h.Get("X-Amz-Meta-S3cmd-Attrs")
				for _, want := range []string{"md5:" + fileMD5(t, filepath.Join(up, n)), "mode:33184",
					"mtime:" + strconv.FormatInt(fixedMtime.Unix(), 10)} {
					if !strings.Contains(attrs, want) {
						t.Errorf("%s: s3cmd-attrs %q lacks %q", n, attrs, want)
					}
				}
			}
			_, h := s.head(b, "up/big")
			if etag := h.Get("ETag"); !strings.HasSuffix(etag, `-8"`) {
				t.Errorf("40 MiB upload ETag %s, want 8 parts of 5 MiB", etag)
			}
			if out := s.s3cmd("info", "s3://"+b+"/up/big"); !strings.Contains(out, fileMD5(t, big)) {
				t.Errorf("s3cmd info does not show the MD5 from s3cmd-attrs:\n%s", out)
			}
			down := s.path("down")
			for _, n := range []string{"small", "big"} {
				s.s3cmd("get", "s3://"+b+"/up/"+n, filepath.Join(down, n))
				sameFile(t, filepath.Join(down, n), filepath.Join(up, n))
			}
			// sync restores mode and mtime from s3cmd-attrs (whole seconds).
			synced := s.path("synced") + "/"
			s.s3cmd("sync", "s3://"+b+"/up/", synced)
			for _, n := range []string{"small", "big"} {
				sameFile(t, filepath.Join(synced, n), filepath.Join(up, n))
				fi, err := os.Stat(filepath.Join(synced, n))
				if err != nil {
					t.Fatal(err)
				}
				if fi.ModTime().Unix() != fixedMtime.Unix() || fi.Mode().Perm() != 0o640 {
					t.Errorf("synced %s: mtime %v mode %v, want %v and 0640 from s3cmd-attrs", n, fi.ModTime(), fi.Mode(), fixedMtime)
				}
			}
		})

		step(t, s, "get-continue-is-ranged", func(t *testing.T, s *server) {
			part := s.path("partial")
			if err := os.WriteFile(part, readRange(t, big, 0, 3<<20), 0o644); err != nil {
				t.Fatal(err)
			}
			s.s3cmd("get", "--continue", "s3://"+b+"/up/big", part)
			sameFile(t, part, big)
		})

		step(t, s, "sync-twice", func(t *testing.T, s *server) {
			root := s.path("tree")
			rel := oddTree(t, root)
			copyFile(t, big, filepath.Join(root, "big"))
			rel = append(rel, "big")
			first := s.s3cmd("sync", root+"/", "s3://"+b+"/sync/")
			if n := strings.Count(first, "upload: "); n != len(rel) {
				t.Errorf("first sync uploaded %d files, want %d:\n%s", n, len(rel), harness.LastLines(first, 10))
			}
			// Compared by size and MD5 (from s3cmd-attrs for the multipart one).
			if again := s.s3cmd("sync", root+"/", "s3://"+b+"/sync/"); strings.Contains(again, "upload: ") {
				t.Errorf("second sync uploaded again:\n%s", harness.LastLines(again, 10))
			}
			got, _ := s.list(b, "sync/", "")
			sameSet(t, "synced keys", got, prefixed("sync/", rel))
		})

		step(t, s, "list-over-1000", func(t *testing.T, s *server) {
			var files, dirs []string
			for _, l := range lines(s.s3cmd("ls", "s3://"+b+"/"+listPrefix)) {
				u := s3cmdURL(t, l, b)
				if strings.Contains(l, " DIR ") {
					dirs = append(dirs, u)
				} else {
					files = append(files, u)
				}
			}
			sameSet(t, "s3cmd ls files", files, tree.flat)
			sameSet(t, "s3cmd ls DIR", dirs, tree.prefixes)
			dirs = nil
			for _, l := range lines(s.s3cmd("ls", "s3://"+b+"/"+dirsPrefix)) {
				dirs = append(dirs, s3cmdURL(t, l, b))
			}
			sameSet(t, "s3cmd ls over 1000 DIR", dirs, tree.dirs)
			for _, p := range tree.prefixes {
				var got []string
				for _, l := range lines(s.s3cmd("ls", "s3://"+b+"/"+p)) {
					got = append(got, strings.TrimPrefix(s3cmdURL(t, l, b), p))
				}
				sameSet(t, "s3cmd ls "+p, got, subtree(p))
			}
			var rec []string
			for _, l := range lines(s.s3cmd("ls", "--recursive", "s3://"+b+"/"+listPrefix)) {
				rec = append(rec, s3cmdURL(t, l, b))
			}
			sameSet(t, "s3cmd ls --recursive", rec, tree.keys)
		})

		step(t, s, "cp-and-mv", func(t *testing.T, s *server) {
			s.s3cmd("cp", "s3://"+b+"/up/small", "s3://"+b+"/copy/small")
			s.s3cmd("mv", "s3://"+b+"/copy/small", "s3://"+b+"/moved/small")
			s.mustBeAbsent(b, "copy/small")
			s.mustExist(b, "moved/small", fileSHA256(t, small))
			_, h := s.head(b, "moved/small")
			if a := h.Get("X-Amz-Meta-S3cmd-Attrs"); !strings.Contains(a, "md5:"+fileMD5(t, small)) {
				t.Errorf("cp+mv lost s3cmd-attrs: %q", a)
			}
		})

		step(t, s, "signature-v2", func(t *testing.T, s *server) {
			// SigV2 header auth: the canonical resource is the escaped key.
			key := "v2/odd key+%=&;@ \u00fc\u2603.txt"
			s.s3cmd("--signature-v2", "put", small, "s3://"+b+"/"+key)
			s.mustExist(b, key, fileSHA256(t, small))
			if out := s.s3cmd("--signature-v2", "ls", "s3://"+b+"/v2/"); !strings.Contains(out, "s3://"+b+"/"+key+"\n") {
				t.Errorf("s3cmd --signature-v2 ls:\n%s", out)
			}
			got := s.path("v2-get")
			s.s3cmd("--signature-v2", "get", "s3://"+b+"/"+key, got)
			sameFile(t, got, small)
			s.s3cmd("--signature-v2", "del", "s3://"+b+"/"+key)
			s.mustBeAbsent(b, key)
		})

		step(t, s, "signurl", func(t *testing.T, s *server) {
			// s3cmd's own SigV2 presigned URL, fetched with curl.
			k := tree.keys[len(tree.keys)-1]
			u := strings.TrimSpace(s.s3cmd("signurl", "s3://"+b+"/"+k, "+600"))
			if st, body := s.curl(u); st != http.StatusOK || string(body) != k {
				t.Errorf("curl of s3cmd signurl: %d %q", st, body)
			}
		})

		step(t, s, "del", func(t *testing.T, s *server) {
			s.s3cmd("del", "s3://"+b+"/moved/small")
			s.mustBeAbsent(b, "moved/small")
			// More than 1000 keys: multi-object deletes with Content-MD5.
			s.s3cmd("del", "--recursive", "--force", "s3://"+b+"/"+listPrefix)
			if got, _ := s.list(b, listPrefix, ""); len(got) != 0 {
				t.Errorf("after s3cmd del --recursive: %d keys left: %q", len(got), head(got, 5))
			}
			mustFail(t, nil, "BucketNotEmpty", "s3cmd", append(s.s3cmdArgs(), "rb", "s3://"+b)...)
			s.mustExist(b, "up/small", fileSHA256(t, small))
			const other = "s3cmd-rb"
			s.s3cmd("mb", "s3://"+other)
			s.s3cmd("put", "--recursive", s.path("up/small"), "s3://"+other+"/a/")
			s.s3cmd("rb", "--recursive", "--force", "s3://"+other)
			if st, _ := s.head(other, ""); st != http.StatusNotFound {
				t.Errorf("after s3cmd rb --recursive: HEAD bucket %d, want 404", st)
			}
		})
	})
}

// s3cmdArgs are the arguments that point s3cmd at its own config.
func (s *server) s3cmdArgs() []string {
	s.t.Helper()
	host := s.Addr
	if _, _, err := net.SplitHostPort(host); err != nil {
		s.t.Fatal(err)
	}
	cfg := fmt.Sprintf("[default]\naccess_key = %s\nsecret_key = %s\nhost_base = %s\nhost_bucket = %s\n"+
		"bucket_location = %s\nsignature_v2 = False\nmultipart_chunk_size_mb = 5\nprogress_meter = False\n",
		harness.AccessKey, harness.SecretKey, host, host, harness.Region)
	if s.tls {
		cfg += "use_https = True\nsignurl_use_https = True\nca_certs_file = " + s.CAFile + "\ncheck_ssl_certificate = True\ncheck_ssl_hostname = True\n"
	} else {
		cfg += "use_https = False\n"
	}
	return []string{"-c", s.writeFile("s3cfg", cfg, 0o600), "--no-progress"}
}

// s3cmd runs s3cmd with its own config and fails the test on error.
func (s *server) s3cmd(args ...string) string {
	s.t.Helper()
	return mustRun(s.t, nil, "s3cmd", append(s.s3cmdArgs(), args...)...)
}

// s3cmdURL returns the key of an "s3cmd ls" line (whatever precedes the
// s3://bucket/ URL is date, size or DIR).
func s3cmdURL(t *testing.T, line, bucket string) string {
	t.Helper()
	_, key, ok := strings.Cut(line, "s3://"+bucket+"/")
	if !ok {
		t.Fatalf("unexpected s3cmd ls line %q", line)
	}
	return key
}

func fileMD5(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}
