package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"dewar/test/harness"
)

// TestCrashRestart kills the server with SIGKILL after acknowledged writes
// and in the middle of a multipart upload, restarts it on the same data,
// and checks with the AWS CLI that every acknowledged write is there and
// that the multipart upload can be finished.
func TestCrashRestart(t *testing.T) {
	harness.Require(t, "aws")
	t.Parallel()
	small, big := fixtures(t)
	forEachScheme(t, func(t *testing.T, s *server) {
		const b = "crash"
		s.with(t).aws("s3", "mb", "s3://"+b)
		s.with(t).aws("s3", "cp", small, "s3://"+b+"/small", "--only-show-errors")
		s.with(t).aws("s3", "cp", big, "s3://"+b+"/big", "--only-show-errors")
		part1 := s.writeFile("part1", string(readRange(t, big, 0, 5<<20)), 0o644)
		part2 := s.writeFile("part2", string(readRange(t, big, 5<<20, 3<<20)), 0o644)
		var created struct{ UploadId string }
		mustJSON(t, s.with(t).aws("s3api", "create-multipart-upload", "--bucket", b, "--key", "mpu", "--output", "json"), &created)
		type part struct {
			ETag          string
			ChecksumCRC32 string `json:",omitempty"`
			PartNumber    int
		}
		uploadPart := func(s *server, n int, file string) part {
			var p part
			mustJSON(t, s.aws("s3api", "upload-part", "--bucket", b, "--key", "mpu", "--upload-id", created.UploadId,
				"--part-number", strconv.Itoa(n), "--body", file, "--output", "json"), &p)
			p.PartNumber = n
			return p
		}
		p1 := uploadPart(s.with(t), 1, part1)

		s.Kill()
		s.Restart()

		step(t, s, "acknowledged-writes-survive", func(t *testing.T, s *server) {
			for name, want := range map[string]string{"small": small, "big": big} {
				out := s.path("back-" + name)
				s.aws("s3", "cp", "s3://"+b+"/"+name, out, "--only-show-errors")
				sameFile(t, out, want)
			}
			if out := s.aws("s3", "ls", "s3://"+b); !strings.Contains(out, " big\n") || !strings.Contains(out, " small\n") {
				t.Errorf("listing after restart:\n%s", out)
			}
		})

		step(t, s, "multipart-upload-survives", func(t *testing.T, s *server) {
			if out := s.aws("s3api", "list-multipart-uploads", "--bucket", b, "--output", "json"); !strings.Contains(out, created.UploadId) {
				t.Errorf("upload %s not listed after restart:\n%s", created.UploadId, out)
			}
			p2 := uploadPart(s, 2, part2)
			doc, err := json.Marshal(map[string][]part{"Parts": {p1, p2}})
			if err != nil {
				t.Fatal(err)
			}
			parts := filepath.Join(s.dir, "parts.json")
			if err := os.WriteFile(parts, doc, 0o644); err != nil {
				t.Fatal(err)
			}
			s.aws("s3api", "complete-multipart-upload", "--bucket", b, "--key", "mpu", "--upload-id", created.UploadId,
				"--multipart-upload", "file://"+parts)
			s.mustExist(b, "mpu", bytesSHA256(readRange(t, big, 0, 8<<20)))
		})
	})
}
