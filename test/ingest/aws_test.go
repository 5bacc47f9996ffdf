package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"dewar/analyzers/archive/archivetest"
	"dewar/test/fixtures"
	"dewar/test/harness"
)

// bigSize is above the multipart threshold of the AWS CLI and boto3 (8 MiB).
const bigSize = 9 << 20

var (
	cliOnce          sync.Once
	cliKit, cliBig   fixtures.Fixture
	cliKitTree, bigT fixtures.Tree
)

// zipOf renders a tree model as a zip with the given method.
func zipOf(tree fixtures.Tree, method archivetest.Method) []byte {
	fs := make([]archivetest.File, 0, len(tree))
	for _, n := range tree {
		fs = append(fs, archivetest.File{Name: n.Path, Body: n.Body, Dir: n.Type == "dir", Symlink: n.Target})
	}
	return archivetest.Zip(fs, method)
}

// cliFixtures returns a kit as a small zip, and the same kit with a 9 MiB
// incompressible image as a stored zip, which every client uploads in
// parts.
func cliFixtures() (small, big fixtures.Fixture) {
	cliOnce.Do(func() {
		cliKitTree = fixtures.Kit(fixtures.KnownGood(seed), seed+7)
		ok := fixtures.Outcome{Kind: fixtures.OK}
		cliKit = fixtures.Fixture{Name: "cli/kit", Upload: "kit.zip", Data: zipOf(cliKitTree, archivetest.Deflate),
			Entries: wantsOf(cliKitTree, ""), Exact: true, Outcome: ok}
		pad := make([]byte, bigSize)
		r := rand.NewChaCha8([32]byte{'b', 'i', 'g'})
		_, _ = r.Read(pad)
		root := strings.TrimSuffix(cliKitTree[0].Path, "/") // the tree's first directory
		bigT = append(append(fixtures.Tree{}, cliKitTree...), fixtures.Node{Path: root + "/huge-banner.png", Type: "file", Body: pad})
		cliBig = fixtures.Fixture{Name: "cli/big", Upload: "big.zip", Data: zipOf(bigT, archivetest.Store),
			Entries: wantsOf(bigT, ""), Exact: true, Outcome: ok}
	})
	return cliKit, cliBig
}

// TestAWSCLI submits with the AWS CLI (`aws s3 cp`, single and multipart,
// into both incoming buckets, with x-amz-meta-notes, -collected-at,
// -submitter and -hold) and boto3 (the x-dewar-job-id answer header, which
// the CLI hides; refused metadata), over HTTP and over HTTPS (where
// botocore sends aws-chunked bodies with CRC32 trailers), then checks the
// jobs: trees, metadata, held jobs listed and readable in the incoming
// bucket until released through the API or `dewar release`, failed jobs
// listed.
func TestAWSCLI(t *testing.T) {
	harness.Require(t, "aws", "boto3")
	t.Parallel()
	small, big := cliFixtures()
	for _, sc := range []struct {
		name string
		tls  bool
	}{{"http", false}, {"https", true}} {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, sc.tls)
			smallPath := s.writeFile("up/kit.zip", small.Data, 0o644)
			bigPath := s.writeFile("up/big.zip", big.Data, 0o644)

			step(t, s, "cp-single-and-multipart", func(t *testing.T, s *server) {
				s.aws("s3", "cp", "--only-show-errors", smallPath, "s3://"+incomingOther+"/cli/kit.zip",
					"--metadata", "notes=seen on a paste site,collected-at=2026-03-04T05:06:07Z,submitter=alice")
				s.aws("s3", "cp", "--only-show-errors", bigPath, "s3://"+incomingKG+"/cli/big.zip", "--metadata", "notes=vendor release")
				byName := s.jobsByName()
				kit, bigJob := byName["cli/kit.zip"], byName["cli/big.zip"]
				if kit.ID == "" || bigJob.ID == "" {
					t.Fatalf("no jobs for the uploads: %v", mapKeys(byName))
				}
				kit, bigJob = s.wait(kit.ID), s.wait(bigJob.ID)
				checkOutcome(t, small, kit)
				checkTree(t, small, s.manifest(kit.ID).Tree)
				checkOutcome(t, big, bigJob)
				checkTree(t, big, s.manifest(bigJob.ID).Tree)
				want := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
				if kit.KnownGood || kit.Notes != "seen on a paste site" || kit.Submitter != "alice" || kit.CollectedAt == nil || !kit.CollectedAt.Equal(want) {
					t.Errorf("kit job: known-good %v, notes %q, submitter %q, collected %v", kit.KnownGood, kit.Notes, kit.Submitter, kit.CollectedAt)
				}
				if !bigJob.KnownGood || bigJob.Notes != "vendor release" || bigJob.Submitter != "root" || bigJob.CollectedAt != nil ||
					bigJob.ArchiveSize != int64(len(big.Data)) || bigJob.ArchiveSHA256 != sum(big.Data) {
					t.Errorf("multipart job: %+v", bigJob)
				}
				// Done jobs leave the incoming buckets.
				if keys, _ := s.listAll(incomingKG, "cli/", "", 1000); len(keys) != 0 {
					t.Errorf("incoming-knowngood still lists %q", keys)
				}
				// The release's files are known-good now, the kit's own are not.
				s.wantFileMeta(samplesBucket, sum(bigT[len(bigT)-1].Body), map[string]string{"known-good": "true", "size": fmt.Sprint(bigSize)})
				for _, e := range kit.Tree {
					if e.Type == "file" {
						s.wantFileMeta(jobsBucket, kit.ID+"/files/"+e.Path, map[string]string{"known-good": "true"})
						break
					}
				}
			})

			step(t, s, "boto3-job-ids-and-metadata", func(t *testing.T, s *server) {
				const ak, sk = "BOBSUBMITTERKEY01", "bob-secret-key-for-tests"
				mustRun(t, nil, harness.Binary(t), "user", "add", "bob", "--role", "submitter",
					"--access-key", ak, "--secret-key", sk, "--data-dir", s.DataDir)
				spec, _ := json.Marshal(map[string]any{"bucket": incomingOther, "small": smallPath, "big": bigPath,
					"user": []string{ak, sk}, "user_name": "bob"})
				var out struct {
					Jobs   map[string]string
					Checks map[string]string
				}
				if err := json.Unmarshal([]byte(s.python(s.awsEnv("", ""), "incoming.py", s.writeFile("incoming.json", spec, 0o644))), &out); err != nil {
					t.Fatal(err)
				}
				for _, name := range []string{"put_job_id", "multipart_job_id", "user_own_name", "admin_names_submitter",
					"bad_collected_at", "bad_hold", "bad_collected_at_multipart", "user_as_someone_else", "user_as_someone_else_multipart"} {
					if res := out.Checks[name]; res != "ok" {
						t.Errorf("%s: %q", name, res)
					}
				}
				for name, want := range map[string]struct {
					fx               fixtures.Fixture
					submitter, notes string
					collected        bool
				}{
					"put":       {small, "root", "put by boto3", true},
					"multipart": {big, "root", "multipart by boto3", false},
					"user":      {small, "bob", "", false},
					"for_alice": {small, "alice", "", false},
				} {
					id := out.Jobs[name]
					if id == "" {
						t.Errorf("%s: no job id", name)
						continue
					}
					j := s.wait(id)
					checkOutcome(t, want.fx, j)
					checkTree(t, want.fx, s.manifest(id).Tree)
					if j.Submitter != want.submitter || j.Notes != want.notes || (j.CollectedAt != nil) != want.collected {
						t.Errorf("%s: submitter %q, notes %q, collected %v", name, j.Submitter, j.Notes, j.CollectedAt)
					}
				}
				byName := s.jobsByName()
				for _, refused := range []string{"boto3/bad-date.zip", "boto3/bad-hold.zip", "boto3/bad-date-mp.zip", "boto3/impostor.zip", "boto3/impostor-mp.zip"} {
					if j, ok := byName[refused]; ok {
						t.Errorf("a refused upload made job %s (%s)", j.ID, refused)
					}
				}
			})

			step(t, s, "hold-and-release", func(t *testing.T, s *server) {
				for _, n := range []string{"one", "two"} {
					s.aws("s3", "cp", "--only-show-errors", smallPath, "s3://"+incomingOther+"/held/"+n+".zip", "--metadata", "hold=true,notes=waiting for review")
				}
				byName := s.jobsByName()
				one, two := byName["held/one.zip"], byName["held/two.zip"]
				if one.Status != "held" || two.Status != "held" {
					t.Fatalf("held uploads: %q %q", one.Status, two.Status)
				}
				ls := s.aws("s3", "ls", "s3://"+incomingOther+"/held/")
				if !strings.Contains(ls, "one.zip") || !strings.Contains(ls, "two.zip") || !strings.Contains(ls, fmt.Sprint(len(small.Data))) {
					t.Errorf("aws s3 ls of the held uploads:\n%s", ls)
				}
				got := filepath.Join(s.dir, "held-one.zip")
				s.aws("s3", "cp", "--only-show-errors", "s3://"+incomingOther+"/held/one.zip", got)
				if b, err := os.ReadFile(got); err != nil || sum(b) != sum(small.Data) {
					t.Errorf("GET of a held upload: %v, sha256 %s", err, sum(b))
				}
				time.Sleep(time.Second)
				if j, _ := s.api().Job(context.Background(), one.ID); j.Status != "held" {
					t.Fatalf("held job went %s without a release", j.Status)
				}
				notes := "reviewed: ok"
				if j, err := s.api().Release(context.Background(), one.ID, &notes); err != nil || j.Status != "queued" {
					t.Fatalf("API release: %v, %v", j.Status, err)
				}
				env := []string{"DEWAR_URL=" + s.apiURL(), "DEWAR_ACCESS_KEY=" + harness.AccessKey, "DEWAR_SECRET_KEY=" + harness.SecretKey}
				if s.tls {
					env = append(env, "SSL_CERT_FILE="+s.CAFile)
				}
				out := mustRun(t, env, harness.Binary(t), "release", two.ID, "--notes", "released from the command line")
				if !strings.Contains(out, two.ID) {
					t.Errorf("dewar release said %q", out)
				}
				one, two = s.wait(one.ID), s.wait(two.ID)
				if one.Status != "done" || one.Notes != notes || two.Status != "done" || two.Notes != "released from the command line" {
					t.Errorf("released jobs: %s %q, %s %q", one.Status, one.Notes, two.Status, two.Notes)
				}
				checkTree(t, small, s.manifest(one.ID).Tree)
				if keys, _ := s.listAll(incomingOther, "held/", "", 1000); len(keys) != 0 {
					t.Errorf("released jobs still listed: %q", keys)
				}
				if _, err := s.api().Release(context.Background(), one.ID, nil); err == nil {
					t.Errorf("releasing a done job succeeded")
				}
			})

			step(t, s, "copy-into-incoming", func(t *testing.T, s *server) {
				// From an ordinary bucket: CopyObject for the kit, and
				// UploadPartCopy parts for the 9 MiB zip.
				s.aws("s3", "mb", "s3://staging")
				s.aws("s3", "cp", "--only-show-errors", "--recursive", filepath.Dir(smallPath), "s3://staging/up/")
				s.aws("s3", "cp", "--only-show-errors", "--recursive", "s3://staging/up/", "s3://"+incomingOther+"/copied/",
					"--metadata-directive", "REPLACE", "--metadata", "notes=copied in")
				byName := s.jobsByName()
				for name, f := range map[string]fixtures.Fixture{"copied/kit.zip": small, "copied/big.zip": big} {
					j, ok := byName[name]
					if !ok {
						t.Errorf("no job for %s: %v", name, mapKeys(byName))
						continue
					}
					j = s.wait(j.ID)
					checkOutcome(t, f, j)
					checkTree(t, f, s.manifest(j.ID).Tree)
					if j.Notes != "copied in" || j.ArchiveSHA256 != sum(f.Data) {
						t.Errorf("%s: notes %q, archive %s", name, j.Notes, j.ArchiveSHA256)
					}
				}
				// The ordinary bucket keeps its objects; they are no samples.
				if keys, _ := s.listAll("staging", "up/", "", 1000); len(keys) != 2 {
					t.Errorf("staging holds %q", keys)
				}
			})

			step(t, s, "failed-stays-listed", func(t *testing.T, s *server) {
				empty := s.writeFile("up/empty.zip", nil, 0o644)
				s.aws("s3", "cp", "--only-show-errors", empty, "s3://"+incomingOther+"/failed/empty.zip")
				j := s.wait(s.jobsByName()["failed/empty.zip"].ID)
				if j.Status != "failed" {
					t.Fatalf("empty upload: %s", j.Status)
				}
				if ls := s.aws("s3", "ls", "s3://"+incomingOther+"/failed/"); !strings.Contains(ls, "empty.zip") {
					t.Errorf("failed job not listed:\n%s", ls)
				}
				s.wantFileMeta(incomingOther, "failed/empty.zip", map[string]string{"status": "failed", "job-id": j.ID, "error": j.Error})
			})
		})
	}
}
