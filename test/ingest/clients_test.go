package ingest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"dewar/gateway/web/apiclient"
	"dewar/test/fixtures"
	"dewar/test/harness"
)

// TestReadBack ingests the known-good release, a kit and the link-escape
// tar, then reads them back the ways DESIGN.md promises: `rclone copy` of
// jobs/<id>/files/ gives the original tree byte for byte (`diff -r`
// against the generator's tree written to disk: files, empty files,
// unicode names, empty directories; symlinks are manifest-only and never
// served, so the link job copies back as its directory alone); an s3fs
// mount of samples holds files whose sha256 is their name; boto3 sees the
// sample metadata under lowercase names with the safe-serving headers;
// writes to samples and jobs are refused; listings page by prefix,
// delimiter and continuation.
func TestReadBack(t *testing.T) {
	harness.Require(t, "rclone", "boto3", "diff", "sha256sum")
	t.Parallel()
	s := newServer(t, false)
	kgFx, kitFx, links := fixture(t, "knowngood/zip"), fixture(t, "kit-1/tar.gz"), fixture(t, "hostile/symlink-escape-tar")
	kgJob := s.wait(s.mustPut(incomingKG, keyOf(kgFx), kgFx.Data, nil))
	kitJob := s.wait(s.mustPut(incomingOther, keyOf(kitFx), kitFx.Data, nil))
	linkJob := s.wait(s.mustPut(incomingOther, keyOf(links), links.Data, nil))
	for _, j := range []apiclient.Job{kgJob, kitJob, linkJob} {
		if j.Status != "done" {
			t.Fatalf("job %s %s: %s", j.ID, j.Status, j.Error)
		}
	}

	step(t, s, "rclone-copy-diff", func(t *testing.T, s *server) {
		kg := fixtures.KnownGood(seed)
		for _, c := range []struct {
			job  apiclient.Job
			tree fixtures.Tree
		}{{kgJob, kg}, {kitJob, fixtures.Kit(kg, seed+1)}} {
			src := filepath.Join(s.dir, "src-"+c.job.ID)
			writeTree(t, src, c.tree)
			dst := filepath.Join(s.dir, "copy-"+c.job.ID)
			s.rclone("copy", "d:"+jobsBucket+"/"+c.job.ID+"/files/", dst, "--create-empty-src-dirs")
			if r := run(nil, nil, "diff", "-r", src, dst); r.err != nil {
				t.Errorf("diff -r of job %s against its source: %s", c.job.ID, r)
			}
		}
		// Links are in the manifest only: the copy is the directory alone.
		dst := filepath.Join(s.dir, "copy-links")
		s.rclone("copy", "d:"+jobsBucket+"/"+linkJob.ID+"/files/", dst, "--create-empty-src-dirs")
		var got []string
		_ = filepath.Walk(dst, func(p string, fi os.FileInfo, err error) error {
			if err == nil && p != dst {
				rel, _ := filepath.Rel(dst, p)
				got = append(got, fmt.Sprintf("%s %v", rel, fi.Mode().Type()))
			}
			return err
		})
		if strings.Join(got, ",") != "dir d---------" {
			t.Errorf("rclone copy of the link job: %q, want only the directory", got)
		}
	})

	samples, _ := s.listAll(samplesBucket, "", "", 1000)
	step(t, s, "s3fs-sha256sum", func(t *testing.T, s *server) {
		harness.Require(t, "s3fs", "fuse", "fusermount3")
		mnt := s.mountS3fs(samplesBucket)
		entries, err := os.ReadDir(mnt)
		if err != nil {
			t.Fatal(err)
		}
		var names, paths []string
		for _, e := range entries {
			names = append(names, e.Name())
			paths = append(paths, filepath.Join(mnt, e.Name()))
		}
		sameSet(t, "ls of the samples mount", names, samples)
		sort.Strings(paths)
		checked := 0
		for len(paths) > 0 {
			n := min(len(paths), 200)
			out := mustRun(t, nil, "sha256sum", paths[:n]...)
			sc := bufio.NewScanner(strings.NewReader(out))
			for sc.Scan() {
				f := strings.Fields(sc.Text())
				if len(f) != 2 || f[0] != filepath.Base(f[1]) {
					t.Errorf("sha256sum: %q", sc.Text())
				}
				checked++
			}
			paths = paths[n:]
		}
		if checked != len(samples) || checked < 200 {
			t.Errorf("sha256sum checked %d files of %d samples", checked, len(samples))
		}
		if err := os.WriteFile(filepath.Join(mnt, "new"), []byte("x"), 0o644); err == nil {
			t.Errorf("wrote into the read-only samples mount")
		}
	})

	step(t, s, "s3fs-diff-jobs", func(t *testing.T, s *server) {
		harness.Require(t, "s3fs", "fuse", "fusermount3")
		mnt := s.mountS3fs(jobsBucket)
		kg := fixtures.KnownGood(seed)
		src := filepath.Join(s.dir, "src-s3fs")
		writeTree(t, src, kg)
		if r := run(nil, nil, "diff", "-r", src, filepath.Join(mnt, kgJob.ID, "files")); r.err != nil {
			t.Errorf("diff -r of the mounted job against its source: %s", r)
		}
		b, err := os.ReadFile(filepath.Join(mnt, kgJob.ID, "manifest.json"))
		var m apiclient.Job
		if err != nil || json.Unmarshal(b, &m) != nil || m.ID != kgJob.ID || len(m.Tree) != len(kg) {
			t.Errorf("manifest.json through the mount: %v, %d entries", err, len(m.Tree))
		}
	})

	step(t, s, "boto3-metadata-denied-writes-listings", func(t *testing.T, s *server) {
		var file apiclient.TreeEntry
		for _, e := range kitJob.Tree {
			if e.Type == "file" && strings.HasSuffix(e.Path, "login.php") {
				file = e
			}
		}
		prefix := samples[len(samples)/2][:1]
		var want []string
		for _, k := range samples {
			if strings.HasPrefix(k, prefix) {
				want = append(want, k)
			}
		}
		spec, _ := json.Marshal(map[string]any{"sample": file.SHA256, "job_file": kitJob.ID + "/files/" + file.Path,
			"prefix": prefix, "want": want})
		var checks map[string]string
		if err := json.Unmarshal([]byte(s.python(s.awsEnv("", ""), "samples.py", s.writeFile("samples.json", spec, 0o644))), &checks); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"head_sample", "get_sample", "head_job_file", "put_samples_denied", "put_jobs_denied",
			"delete_samples_denied", "delete_jobs_denied", "multipart_jobs_denied", "list_v1_paged", "list_v2_paged"} {
			if res := checks[name]; res != "ok" {
				t.Errorf("%s: %q", name, res)
			}
		}
		if len(want) < 5 {
			t.Errorf("prefix %s selects %d samples; the paging check needs more", prefix, len(want))
		}
	})

	step(t, s, "listings", func(t *testing.T, s *server) {
		// jobs/ with delimiter "/": one prefix per job, oldest first.
		var ids []string
		for _, j := range s.allJobs() {
			ids = append(ids, j.ID+"/")
		}
		_, prefixes := s.listAll(jobsBucket, "", "/", 2)
		if strings.Join(prefixes, ",") != strings.Join(ids, ",") || !sort.StringsAreSorted(prefixes) || len(ids) != 3 {
			t.Errorf("jobs/ by '/': %q, want %q", prefixes, ids)
		}
		// A job's keys: a file per tree file, a marker per directory,
		// nothing for links, then manifest.json.
		keys, _ := s.listAll(jobsBucket, kgJob.ID+"/", "", 100)
		var wantKeys []string
		for _, e := range s.manifest(kgJob.ID).Tree {
			switch e.Type {
			case "file":
				wantKeys = append(wantKeys, kgJob.ID+"/files/"+e.Path)
			case "dir":
				wantKeys = append(wantKeys, kgJob.ID+"/files/"+e.Path+"/")
			}
		}
		wantKeys = append(wantKeys, kgJob.ID+"/manifest.json")
		if !sort.StringsAreSorted(keys) {
			t.Errorf("jobs/%s/ keys out of order", kgJob.ID)
		}
		sameSet(t, "keys of the known-good job", keys, wantKeys)
		linkKeys, _ := s.listAll(jobsBucket, linkJob.ID+"/", "", 100)
		if strings.Join(linkKeys, ",") != linkJob.ID+"/files/dir/,"+linkJob.ID+"/manifest.json" {
			t.Errorf("keys of the link job: %q", linkKeys)
		}
		// samples by prefix and delimiter: hex has no '/', so no prefixes.
		got, cps := s.listAll(samplesBucket, samples[0][:1], "/", 5)
		var wantP []string
		for _, k := range samples {
			if k[0] == samples[0][0] {
				wantP = append(wantP, k)
			}
		}
		if strings.Join(got, ",") != strings.Join(wantP, ",") || len(cps) != 0 {
			t.Errorf("samples under %s: %d keys, %d prefixes; want %d keys", samples[0][:1], len(got), len(cps), len(wantP))
		}
	})
}

// rclone runs rclone 1.60 against the server with its own config, without
// AWS_CA_BUNDLE (rclone refuses to start with it set).
func (s *server) rclone(args ...string) string {
	s.t.Helper()
	conf := s.writeFile("rclone.conf", []byte(fmt.Sprintf("[d]\ntype = s3\nprovider = Other\n"+
		"access_key_id = %s\nsecret_access_key = %s\nendpoint = %s\nregion = %s\nno_check_bucket = true\n",
		harness.AccessKey, harness.SecretKey, s.URL, harness.Region)), 0o600)
	full := []string{"-u", "AWS_CA_BUNDLE", "rclone", "--config", conf, "--cache-dir", filepath.Join(s.dir, "rclone-cache"),
		"-q", "--retries", "1", "--low-level-retries", "1"}
	if s.tls {
		full = append(full, "--ca-cert", s.CAFile)
	}
	return mustRun(s.t, nil, "env", append(full, args...)...)
}

// mountS3fs mounts bucket read-only with s3fs and unmounts it when the
// test ends.
func (s *server) mountS3fs(bucket string) string {
	t := s.t
	t.Helper()
	mnt := filepath.Join(s.dir, "mnt-"+bucket)
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	pw := s.writeFile("passwd-s3fs", []byte(harness.AccessKey+":"+harness.SecretKey+"\n"), 0o600)
	cmd := exec.Command("s3fs", bucket, mnt, "-f", "-o", "ro", "-o", "passwd_file="+pw, "-o", "url="+s.URL,
		"-o", "use_path_request_style", "-o", "endpoint="+harness.Region, "-o", "dbglevel=warn")
	cmd.Env = clientEnv()
	logPath := filepath.Join(s.dir, "s3fs.log")
	logf, err := os.Create(logPath)
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
		_ = exec.Command("fusermount3", "-u", "-z", mnt).Run()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("s3fs log:\n%s", harness.LastLines(string(b), 40))
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for !isMounted(t, mnt) {
		select {
		case err := <-done:
			done <- err
			b, _ := os.ReadFile(logPath)
			t.Fatalf("s3fs exited before mounting: %v\n%s", err, b)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("s3fs did not mount %s within 20s", mnt)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return mnt
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
