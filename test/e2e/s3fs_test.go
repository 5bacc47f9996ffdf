package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"dewar/test/harness"
)

// TestS3fs mounts a bucket with s3fs 1.90 (v1 listings, a storm of HEAD
// probes, whole-object PUTs with mode/uid/mtime metadata, "dir/" markers,
// rename as REPLACE-directive CopyObject + DELETE) and uses it as a file
// system, checking every step against the server.
func TestS3fs(t *testing.T) {
	harness.Require(t, "s3fs", "fuse", "fusermount3", "boto3")
	t.Parallel()
	_, big := fixtures(t)
	forEachScheme(t, func(t *testing.T, s *server) {
		const b = "s3fs-bucket"
		s.seed(b)
		mnt := s.mountS3fs(b)

		step(t, s, "list-over-1000", func(t *testing.T, s *server) {
			entries, err := os.ReadDir(filepath.Join(mnt, "many"))
			if err != nil {
				t.Fatal(err)
			}
			var files, dirs []string
			for _, e := range entries {
				if e.IsDir() {
					dirs = append(dirs, listPrefix+e.Name()+"/")
				} else {
					files = append(files, listPrefix+e.Name())
				}
			}
			sameSet(t, "readdir many/ files", files, tree.flat)
			sameSet(t, "readdir many/ dirs", dirs, tree.prefixes)
			var subdirs []string
			for _, n := range readDirNames(t, filepath.Join(mnt, "dirs")) {
				subdirs = append(subdirs, dirsPrefix+n+"/")
			}
			sameSet(t, "readdir over 1000 directories", subdirs, tree.dirs)
			var all []string
			err = filepath.WalkDir(filepath.Join(mnt, "many"), func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					rel, _ := filepath.Rel(mnt, p)
					all = append(all, filepath.ToSlash(rel))
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			sameSet(t, "walk many/", all, tree.keys)
			k := tree.keys[len(tree.keys)-1]
			if got, err := os.ReadFile(filepath.Join(mnt, k)); err != nil || string(got) != k {
				t.Errorf("cat %q: %q, %v", k, got, err)
			}
		})

		dir := filepath.Join(mnt, "newdir")
		step(t, s, "mkdir-marker", func(t *testing.T, s *server) {
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			st, h := s.head(b, "newdir/")
			if st != http.StatusOK || h.Get("Content-Type") != "application/x-directory" || h.Get("Content-Length") != "0" {
				t.Errorf("mkdir: HEAD newdir/ %d Content-Type %q Content-Length %q, want a zero-byte application/x-directory marker",
					st, h.Get("Content-Type"), h.Get("Content-Length"))
			}
			if mode := metaMode(t, h); mode&0o777 != 0o755 {
				t.Errorf("mkdir: x-amz-meta-mode %o, want 0755", mode)
			}
		})

		content := []byte("a phishing kit's index.php\n")
		file := filepath.Join(dir, "index.php")
		step(t, s, "write-cat-ls-stat", func(t *testing.T, s *server) {
			if err := os.WriteFile(file, content, 0o640); err != nil {
				t.Fatal(err)
			}
			if got := s.getObject(b, "newdir/index.php"); !bytes.Equal(got, content) {
				t.Errorf("server holds %q, want %q", got, content)
			}
			_, h := s.head(b, "newdir/index.php")
			if mode := metaMode(t, h); mode&0o777 != 0o640 {
				t.Errorf("x-amz-meta-mode %o, want 0640", mode)
			}
			if uid := h.Get("X-Amz-Meta-Uid"); uid != strconv.Itoa(os.Getuid()) {
				t.Errorf("x-amz-meta-uid %q, want %d", uid, os.Getuid())
			}
			if got, err := os.ReadFile(file); err != nil || !bytes.Equal(got, content) {
				t.Errorf("cat through the mount: %q, %v", got, err)
			}
			fi, err := os.Stat(file)
			if err != nil || fi.Mode().Perm() != 0o640 || fi.Size() != int64(len(content)) {
				t.Errorf("stat: %v, %v; want mode 0640, size %d", fi, err, len(content))
			}
			if names := readDirNames(t, dir); strings.Join(names, ",") != "index.php" {
				t.Errorf("ls newdir: %q", names)
			}
			// chmod rewrites the metadata: a REPLACE copy onto the object itself.
			if err := os.Chmod(file, 0o600); err != nil {
				t.Fatal(err)
			}
			_, h = s.head(b, "newdir/index.php")
			if mode := metaMode(t, h); mode&0o777 != 0o600 {
				t.Errorf("after chmod: x-amz-meta-mode %o, want 0600", mode)
			}
			if got := s.getObject(b, "newdir/index.php"); !bytes.Equal(got, content) {
				t.Errorf("after chmod the server holds %q", got)
			}
		})

		step(t, s, "mv", func(t *testing.T, s *server) {
			moved := filepath.Join(dir, "moved.php")
			if err := os.Rename(file, moved); err != nil {
				t.Fatal(err)
			}
			s.mustBeAbsent(b, "newdir/index.php")
			if got := s.getObject(b, "newdir/moved.php"); !bytes.Equal(got, content) {
				t.Errorf("after mv the server holds %q", got)
			}
			_, h := s.head(b, "newdir/moved.php")
			if mode := metaMode(t, h); mode&0o777 != 0o600 {
				t.Errorf("after mv: x-amz-meta-mode %o, want 0600", mode)
			}
			if names := readDirNames(t, dir); strings.Join(names, ",") != "moved.php" {
				t.Errorf("ls after mv: %q", names)
			}
		})

		step(t, s, "40MiB", func(t *testing.T, s *server) {
			dst := filepath.Join(dir, "big")
			if out, err := exec.Command("cp", big, dst).CombinedOutput(); err != nil {
				t.Fatalf("cp into the mount: %v\n%s", err, out)
			}
			s.mustExist(b, "newdir/big", fileSHA256(t, big))
			sameFile(t, dst, big)
			// Renaming a big file is a multipart copy (UploadPartCopy) that
			// carries the metadata in CreateMultipartUpload.
			if err := os.Chmod(dst, 0o600); err != nil {
				t.Fatal(err)
			}
			renamed := filepath.Join(dir, "big.renamed")
			if err := os.Rename(dst, renamed); err != nil {
				t.Fatal(err)
			}
			s.mustBeAbsent(b, "newdir/big")
			s.mustExist(b, "newdir/big.renamed", fileSHA256(t, big))
			_, h := s.head(b, "newdir/big.renamed")
			if mode := metaMode(t, h); mode&0o777 != 0o600 {
				t.Errorf("after renaming the 40 MiB file: x-amz-meta-mode %o, want 0600", mode)
			}
			if err := os.Rename(renamed, dst); err != nil {
				t.Fatal(err)
			}
			sameFile(t, dst, big)
		})

		step(t, s, "overwrite-inside-40MiB", func(t *testing.T, s *server) {
			// s3fs re-uploads a modified big file as a multipart upload whose
			// unchanged parts are UploadPartCopy ranges of the old object.
			dst := filepath.Join(dir, "big")
			f, err := os.OpenFile(dst, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			patch := bytes.Repeat([]byte("X"), 100)
			if _, err := f.WriteAt(patch, 10<<20); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(big)
			if err != nil {
				t.Fatal(err)
			}
			copy(want[10<<20:], patch)
			if got := s.getObject(b, "newdir/big"); bytesSHA256(got) != bytesSHA256(want) {
				t.Errorf("after overwriting 100 bytes at 10 MiB the server holds other bytes (%d)", len(got))
			}
		})

		step(t, s, "append-truncate-empty-symlink-utime", func(t *testing.T, s *server) {
			p := filepath.Join(dir, "log.txt")
			if err := os.WriteFile(p, []byte("one\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteString("two\n"); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			if got := string(s.getObject(b, "newdir/log.txt")); got != "one\ntwo\n" {
				t.Errorf("after append the server holds %q", got)
			}
			// ftruncate on an open file (s3fs 1.90's truncate(2) of a closed
			// file uploads zeros instead of the kept bytes: a client bug).
			if f, err = os.OpenFile(p, os.O_RDWR, 0); err != nil {
				t.Fatal(err)
			}
			if err := f.Truncate(2); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			if got := string(s.getObject(b, "newdir/log.txt")); got != "on" {
				t.Errorf("after truncate the server holds %q", got)
			}
			if err := os.WriteFile(filepath.Join(dir, "empty"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if st, h := s.head(b, "newdir/empty"); st != http.StatusOK || h.Get("Content-Length") != "0" {
				t.Errorf("empty file: HEAD %d Content-Length %q", st, h.Get("Content-Length"))
			}
			if err := os.Symlink("log.txt", filepath.Join(dir, "link")); err != nil {
				t.Fatal(err)
			}
			if target, err := os.Readlink(filepath.Join(dir, "link")); err != nil || target != "log.txt" {
				t.Errorf("readlink: %q, %v", target, err)
			}
			if got, err := os.ReadFile(filepath.Join(dir, "link")); err != nil || string(got) != "on" {
				t.Errorf("read through the symlink: %q, %v", got, err)
			}
			if err := os.Chtimes(p, fixedMtime, fixedMtime); err != nil {
				t.Fatal(err)
			}
			_, h := s.head(b, "newdir/log.txt")
			// "seconds" or "seconds.nanoseconds".
			if got, _, _ := strings.Cut(h.Get("X-Amz-Meta-Mtime"), "."); got != strconv.FormatInt(fixedMtime.Unix(), 10) {
				t.Errorf("after utime: x-amz-meta-mtime %q, want %d", h.Get("X-Amz-Meta-Mtime"), fixedMtime.Unix())
			}
			if fi, err := os.Stat(p); err != nil || fi.ModTime().Unix() != fixedMtime.Unix() {
				t.Errorf("stat after utime: %v, %v", fi, err)
			}
			for _, n := range []string{"log.txt", "empty", "link"} {
				if err := os.Remove(filepath.Join(dir, n)); err != nil {
					t.Fatal(err)
				}
				s.mustBeAbsent(b, "newdir/"+n)
			}
		})

		step(t, s, "rename-directory", func(t *testing.T, s *server) {
			src := filepath.Join(mnt, "tree")
			if err := os.MkdirAll(filepath.Join(src, "sub dir"), 0o755); err != nil {
				t.Fatal(err)
			}
			for _, n := range []string{"a.php", "sub dir/b \u00fc.php"} {
				if err := os.WriteFile(filepath.Join(src, n), []byte(n), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Rename(src, filepath.Join(mnt, "tree2")); err != nil {
				t.Fatal(err)
			}
			got, _ := s.list(b, "tree", "")
			sameSet(t, "keys after renaming a directory", got,
				[]string{"tree2/", "tree2/a.php", "tree2/sub dir/", "tree2/sub dir/b \u00fc.php"})
			if got := string(s.getObject(b, "tree2/sub dir/b \u00fc.php")); got != "sub dir/b \u00fc.php" {
				t.Errorf("renamed file holds %q", got)
			}
			if err := os.RemoveAll(filepath.Join(mnt, "tree2")); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.list(b, "tree", ""); len(got) != 0 {
				t.Errorf("after rm -r: %q left", got)
			}
		})

		step(t, s, "missing-paths-are-fast", func(t *testing.T, s *server) {
			start := time.Now()
			for i := range 20 {
				_, err := os.Stat(filepath.Join(mnt, fmt.Sprintf("nothing-%d", i), "here"))
				if !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("stat of a missing path: %v", err)
				}
			}
			// Generous bounds: they catch a listing per probe, not a slow machine.
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("20 stats of missing paths took %v", d)
			}
			start = time.Now()
			for i := range 200 {
				if st, _ := s.head(b, fmt.Sprintf("missing/%d_$folder$", i)); st != http.StatusNotFound {
					t.Fatalf("HEAD of a missing key: %d", st)
				}
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("200 HEAD 404s took %v", d)
			}
		})

		step(t, s, "rm-rmdir", func(t *testing.T, s *server) {
			for _, n := range []string{"moved.php", "big"} {
				if err := os.Remove(filepath.Join(dir, n)); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Remove(dir); err != nil {
				t.Fatal(err)
			}
			s.mustBeAbsent(b, "newdir/")
			if got, _ := s.list(b, "newdir", ""); len(got) != 0 {
				t.Errorf("after rm and rmdir: %q left", got)
			}
			if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("stat of the removed directory: %v", err)
			}
		})

		step(t, s, "unmount", func(t *testing.T, s *server) {
			s.unmountS3fs(mnt)
			if isMounted(t, mnt) {
				t.Errorf("%s still mounted", mnt)
			}
		})
	})
}

// mountS3fs mounts bucket with s3fs running in the foreground as the
// test's own child, and unmounts it when the test ends, even on failure.
func (s *server) mountS3fs(bucket string) string {
	t := s.t
	t.Helper()
	mnt := s.path("mnt")
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	pw := s.writeFile("passwd-s3fs", harness.AccessKey+":"+harness.SecretKey+"\n", 0o600)
	args := []string{bucket, mnt, "-f", "-o", "passwd_file=" + pw, "-o", "url=" + s.URL,
		"-o", "use_path_request_style", "-o", "endpoint=" + harness.Region, "-o", "dbglevel=warn"}
	cmd := exec.Command("s3fs", args...)
	env := []string{}
	if s.tls {
		// s3fs verifies the certificate against CURL_CA_BUNDLE. (s3fs 1.90
		// sets it only on retried handles, so its first request fails with
		// CURLE_SSL_CACERT and the retry succeeds: keep retries above 1.)
		env = append(env, "CURL_CA_BUNDLE="+s.CAFile)
	}
	cmd.Env = clientEnv(env...)
	logf, err := os.Create(s.path("s3fs.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait(); logf.Close() }()
	t.Cleanup(func() {
		if isMounted(t, mnt) {
			_ = exec.Command("fusermount3", "-u", "-z", mnt).Run()
		}
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(s.path("s3fs.log"))
			t.Logf("s3fs log:\n%s", harness.LastLines(string(b), 50))
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for !isMounted(t, mnt) {
		select {
		case err := <-done:
			done <- err
			b, _ := os.ReadFile(s.path("s3fs.log"))
			t.Fatalf("s3fs exited before mounting: %v\n%s", err, b)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("s3fs did not mount %s within 20s", mnt)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := os.ReadDir(mnt); err != nil {
		t.Fatalf("s3fs mounted %s but it does not answer: %v", mnt, err)
	}
	s.s3fsDone = done
	return mnt
}

// unmountS3fs unmounts cleanly and waits for s3fs to exit with status 0.
func (s *server) unmountS3fs(mnt string) {
	t := s.t
	t.Helper()
	if out, err := exec.Command("fusermount3", "-u", mnt).CombinedOutput(); err != nil {
		t.Fatalf("fusermount3 -u: %v\n%s", err, out)
	}
	select {
	case err := <-s.s3fsDone:
		s.s3fsDone <- err // for the cleanup
		if err != nil {
			t.Errorf("s3fs exited with %v after unmount", err)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("s3fs still running 10s after unmount")
	}
}

// isMounted reports whether mnt is a mount point (per /proc/self/mounts).
func isMounted(t *testing.T, mnt string) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[1] == mnt {
			return true
		}
	}
	return false
}

// metaMode parses s3fs's x-amz-meta-mode (decimal st_mode).
func metaMode(t *testing.T, h http.Header) uint32 {
	t.Helper()
	v := h.Get("X-Amz-Meta-Mode")
	m, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		t.Errorf("x-amz-meta-mode %q: %v", v, err)
	}
	return uint32(m)
}

func readDirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
