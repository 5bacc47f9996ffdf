package e2e

import (
	"encoding/json"
	"testing"

	"dewar/test/harness"
)

// TestBoto3 runs testdata/boto3_suite.py (boto3 1.43: flexible checksums,
// aws-chunked trailers over HTTPS, s3transfer's parallel ranged GETs with
// If-Match, paginators) and reports each of its checks as a subtest; then
// it checks with the Go oracle what the script left behind.
func TestBoto3(t *testing.T) {
	harness.Require(t, "boto3")
	t.Parallel()
	small, big := fixtures(t)
	forEachScheme(t, func(t *testing.T, s *server) {
		const b = "boto3-bucket"
		s.seed(b)
		spec, err := json.Marshal(map[string]any{
			"small": small, "big": big, "keys": tree.keys, "flat": tree.flat, "prefixes": tree.prefixes,
			"dirs_prefix": dirsPrefix, "dirs": tree.dirs,
			"prefix": listPrefix, "workdir": s.dir,
		})
		if err != nil {
			t.Fatal(err)
		}
		out := s.python("boto3_suite.py", b, s.writeFile("boto3-spec.json", string(spec), 0o644))
		var results map[string]string
		mustJSON(t, out, &results)
		for _, name := range []string{"put_get_metadata", "multipart_upload_download", "list_over_1000",
			"odd_keys_round_trip", "ranged_get", "copy", "delete_objects", "flexible_checksums", "bad_content_md5_creates_nothing"} {
			t.Run(name, func(t *testing.T) {
				res, ok := results[name]
				if !ok {
					t.Fatalf("boto3_suite.py did not run %s", name)
				}
				if res != "ok" {
					t.Error(res)
				}
			})
		}
		step(t, s, "oracle", func(t *testing.T, s *server) {
			s.mustExist(b, "b3/big", fileSHA256(t, big))
			s.mustExist(b, "b3/big-copy", fileSHA256(t, big))
			s.mustExist(b, "b3/small", fileSHA256(t, small))
			s.mustBeAbsent(b, "b3/bad-md5")
			if got, _ := s.list(b, listPrefix, ""); len(got) != 0 {
				t.Errorf("%d keys left after delete_objects", len(got))
			}
		})
	})
}
