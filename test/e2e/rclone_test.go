package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dewar/test/harness"
)

// fixedMtime is the modification time given to uploaded files, so its
// round trip through metadata is visible (nanoseconds included).
var fixedMtime = time.Date(2021, 3, 4, 5, 6, 7, 123456789, time.UTC)

// TestRclone drives rclone 1.60 (aws-sdk-go v1: v1 listings, unsigned
// payloads with Content-MD5, X-Amz-Meta-Mtime, multipart with Md5chksum,
// moveto as COPY-directive CopyObject + DELETE, one DELETE per object).
func TestRclone(t *testing.T) {
	harness.Require(t, "rclone", "boto3")
	t.Parallel()
	small, big := fixtures(t)
	forEachScheme(t, func(t *testing.T, s *server) {
		const b = "rclone-bucket"
		step(t, s, "mkdir", func(t *testing.T, s *server) {
			s.rclone("mkdir", "d:"+b)
			if st, _ := s.head(b, ""); st != http.StatusOK {
				t.Fatalf("rclone mkdir: HEAD bucket %d", st)
			}
		})
		s.with(t).seed(b)

		up := s.path("up")
		step(t, s, "copy-small-and-multipart", func(t *testing.T, s *server) {
			copyFile(t, small, filepath.Join(up, "small"))
			copyFile(t, big, filepath.Join(up, "big"))
			s.rclone("copy", up, "d:"+b+"/up", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M")
			s.mustExist(b, "up/small", fileSHA256(t, small))
			s.mustExist(b, "up/big", fileSHA256(t, big))
			_, h := s.head(b, "up/big")
			if etag := h.Get("ETag"); !strings.HasSuffix(etag, `-8"`) {
				t.Errorf("40 MiB upload ETag %s, want 8 parts of 5 MiB", etag)
			}
			if h.Get("X-Amz-Meta-Md5chksum") == "" || h.Get("X-Amz-Meta-Mtime") == "" {
				t.Errorf("multipart upload lost rclone's metadata: %v", userMeta(h))
			}
			// check compares sizes and MD5s (Md5chksum for the multipart one).
			s.rclone("check", up, "d:"+b+"/up")
			down := s.path("down")
			s.rclone("copy", "d:"+b+"/up", down)
			for _, n := range []string{"small", "big"} {
				sameFile(t, filepath.Join(down, n), filepath.Join(up, n))
				if fi, err := os.Stat(filepath.Join(down, n)); err != nil || !fi.ModTime().Equal(fixedMtime) {
					t.Errorf("downloaded %s mtime %v (%v), want %v", n, fi.ModTime(), err, fixedMtime)
				}
			}
		})

		step(t, s, "sync-twice", func(t *testing.T, s *server) {
			root := s.path("tree")
			rel := oddTree(t, root)
			copyFile(t, big, filepath.Join(root, "big"))
			rel = append(rel, "big")
			// By size and mtime, then by MD5 (Md5chksum for the multipart one).
			for _, flags := range [][]string{nil, {"--checksum"}} {
				args := append([]string{"sync", root, "d:" + b + "/sync", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M"}, flags...)
				first := s.rcloneInfo(args...)
				if flags == nil {
					if n := strings.Count(first, ": Copied (new)"); n != len(rel) {
						t.Errorf("first sync copied %d files, want %d:\n%s", n, len(rel), harness.LastLines(first, 10))
					}
				}
				if again := s.rcloneInfo(args...); strings.Contains(again, "Copied") {
					t.Errorf("second sync %v copied again:\n%s", flags, harness.LastLines(again, 10))
				}
			}
			got, _ := s.list(b, "sync/", "")
			sameSet(t, "synced keys", got, prefixed("sync/", rel))
		})

		step(t, s, "lsjson-modtime", func(t *testing.T, s *server) {
			var entries []struct {
				Path    string
				Size    int64
				ModTime time.Time
			}
			mustJSON(t, s.rclone("lsjson", "d:"+b+"/up"), &entries)
			if len(entries) != 2 {
				t.Fatalf("lsjson: %d entries, want 2: %+v", len(entries), entries)
			}
			for _, e := range entries {
				if !e.ModTime.Equal(fixedMtime) {
					t.Errorf("lsjson %s ModTime %v, want %v", e.Path, e.ModTime, fixedMtime)
				}
			}
		})

		step(t, s, "list-over-1000", func(t *testing.T, s *server) {
			rec := lines(s.rclone("lsf", "-R", "--files-only", "d:"+b+"/"+strings.TrimSuffix(listPrefix, "/")))
			sameSet(t, "rclone lsf -R", prefixed(listPrefix, rec), tree.keys)
			var files, dirs []string
			for _, l := range lines(s.rclone("lsf", "d:"+b+"/"+strings.TrimSuffix(listPrefix, "/"))) {
				if strings.HasSuffix(l, "/") {
					dirs = append(dirs, listPrefix+l)
				} else {
					files = append(files, listPrefix+l)
				}
			}
			sameSet(t, "rclone lsf files", files, tree.flat)
			sameSet(t, "rclone lsf dirs", dirs, tree.prefixes)
			dirs = prefixed(dirsPrefix, lines(s.rclone("lsf", "--dirs-only", "d:"+b+"/"+strings.TrimSuffix(dirsPrefix, "/"))))
			sameSet(t, "rclone lsf over 1000 dirs", dirs, tree.dirs)
			// ListObjectsV2 with encoding-type=url (rclone's AWS default).
			// (Not v1 with url encoding: rclone 1.60 then decodes the last key
			// of each page twice and drops it when it holds a '%'.)
			rec = lines(s.rclone("lsf", "-R", "--files-only", "--s3-list-version", "2", "--s3-list-url-encode", "true",
				"d:"+b+"/"+strings.TrimSuffix(listPrefix, "/")))
			sameSet(t, "rclone lsf -R with v2 url-encoded listings", prefixed(listPrefix, rec), tree.keys)
			for _, p := range tree.prefixes {
				got := lines(s.rclone("lsf", "d:"+b+"/"+strings.TrimSuffix(p, "/")))
				sameSet(t, "rclone lsf "+p, got, subtree(p))
			}
		})

		step(t, s, "ranged-cat", func(t *testing.T, s *server) {
			got := s.rclone("cat", "d:"+b+"/up/big", "--offset", "1000", "--count", "2000")
			if want := readRange(t, big, 1000, 2000); got != string(want) {
				t.Errorf("rclone cat --offset 1000 --count 2000: %d bytes that differ", len(got))
			}
		})

		step(t, s, "moveto-keeps-metadata", func(t *testing.T, s *server) {
			_, before := s.head(b, "up/small")
			s.rclone("moveto", "d:"+b+"/up/small", "d:"+b+"/moved/small")
			s.mustBeAbsent(b, "up/small")
			s.mustExist(b, "moved/small", fileSHA256(t, small))
			_, after := s.head(b, "moved/small")
			if got, want := after.Get("X-Amz-Meta-Mtime"), before.Get("X-Amz-Meta-Mtime"); got == "" || got != want {
				t.Errorf("moveto: X-Amz-Meta-Mtime %q, want %q", got, want)
			}
			var e []struct{ ModTime time.Time }
			mustJSON(t, s.rclone("lsjson", "d:"+b+"/moved/small"), &e)
			if len(e) != 1 || !e[0].ModTime.Equal(fixedMtime) {
				t.Errorf("after moveto: lsjson %+v, want ModTime %v", e, fixedMtime)
			}
		})

		step(t, s, "delete-and-purge", func(t *testing.T, s *server) {
			s.rclone("delete", "d:"+b+"/"+strings.TrimSuffix(listPrefix, "/"))
			if got, _ := s.list(b, listPrefix, ""); len(got) != 0 {
				t.Errorf("after rclone delete: %d keys left: %q", len(got), head(got, 5))
			}
			s.rclone("purge", "d:"+b+"/up")
			if got, _ := s.list(b, "up/", ""); len(got) != 0 {
				t.Errorf("after rclone purge: %d keys left: %q", len(got), head(got, 5))
			}
			s.mustExist(b, "moved/small", fileSHA256(t, small))
			const other = "rclone-purge"
			s.rclone("copy", up, "d:"+other+"/x", "--exclude", "big")
			s.rclone("purge", "d:"+other)
			if st, _ := s.head(other, ""); st != http.StatusNotFound {
				t.Errorf("after rclone purge of the bucket: HEAD %d, want 404", st)
			}
		})
	})
}

// rcloneConfig writes an rclone config with remote "d:" for the server.
func (s *server) rcloneConfig() string {
	s.t.Helper()
	return s.writeFile("rclone.conf", fmt.Sprintf("[d]\ntype = s3\nprovider = Other\n"+
		"access_key_id = %s\nsecret_access_key = %s\nendpoint = %s\nregion = %s\n",
		harness.AccessKey, harness.SecretKey, s.URL, harness.Region), 0o600)
}

// rclone runs rclone with its own config and cache, without AWS_CA_BUNDLE
// (rclone 1.60 refuses to start with it set) and with --ca-cert for HTTPS.
func (s *server) rclone(args ...string) string {
	s.t.Helper()
	return mustRun(s.t, nil, "env", append(s.rcloneArgs("-q"), args...)...)
}

// rcloneInfo runs rclone logging at INFO level and returns its log.
func (s *server) rcloneInfo(args ...string) string {
	s.t.Helper()
	r := run(s.t, nil, nil, "env", append(s.rcloneArgs("-v"), args...)...)
	if r.code != 0 || r.err != nil {
		s.t.Fatalf("rclone %s: %s", strings.Join(args, " "), r)
	}
	return r.stderr
}

func (s *server) rcloneArgs(verbosity string) []string {
	s.t.Helper()
	full := []string{"-u", "AWS_CA_BUNDLE", "rclone", "--config", s.rcloneConfig(),
		"--cache-dir", s.path("rclone-cache"), verbosity, "--retries", "1", "--low-level-retries", "1"}
	if s.tls {
		full = append(full, "--ca-cert", s.CAFile)
	}
	return full
}

// copyFile copies src to dst (creating dst's directory) with mtime fixedMtime.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(dst, fixedMtime, fixedMtime); err != nil {
		t.Fatal(err)
	}
}
