package e2e

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"dewar/test/harness"
)

// TestBadInput sends what clients get wrong, through the clients where that
// is natural and through hand-signed requests where it is not, and checks
// after each that the right S3 error came back, that nothing partial is
// visible, and that the server still serves.
func TestBadInput(t *testing.T) {
	harness.Require(t, "aws", "curl")
	t.Parallel()
	small, big := fixtures(t)
	forEachScheme(t, func(t *testing.T, s *server) {
		const b = "bad-input"
		s.with(t).mustCreateBucket(b)
		body := []byte("phishing kit bytes")

		step(t, s, "wrong-secret", func(t *testing.T, s *server) {
			env := append(s.awsEnv(), "AWS_PROFILE=wrongsecret")
			mustFail(t, env, "SignatureDoesNotMatch", "aws", "--endpoint-url", s.URL, "s3", "ls", "s3://"+b)
			mustFail(t, env, "SignatureDoesNotMatch", "aws", "--endpoint-url", s.URL, "s3", "cp", small, "s3://"+b+"/wrong-secret", "--only-show-errors")
			s.mustBeAbsent(b, "wrong-secret")
			s.wantError(rawRequest{method: http.MethodPut, bucket: b, key: "wrong-secret-raw", body: bytes.NewReader(body),
				accessKey: harness.AccessKey, secret: "not-the-secret"}, http.StatusForbidden, "SignatureDoesNotMatch")
			s.mustBeAbsent(b, "wrong-secret-raw")
			s.mustServe()
		})

		step(t, s, "unknown-access-key", func(t *testing.T, s *server) {
			env := append(s.awsEnv(), "AWS_PROFILE=unknownkey")
			mustFail(t, env, "InvalidAccessKeyId", "aws", "--endpoint-url", s.URL, "s3", "ls", "s3://"+b)
			mustFail(t, env, "InvalidAccessKeyId", "aws", "--endpoint-url", s.URL, "s3", "cp", small, "s3://"+b+"/unknown-key", "--only-show-errors")
			s.mustBeAbsent(b, "unknown-key")
			s.wantError(rawRequest{method: http.MethodPut, bucket: b, key: "unknown-key-raw", body: bytes.NewReader(body),
				accessKey: "NOSUCHACCESSKEY1", secret: harness.SecretKey}, http.StatusForbidden, "InvalidAccessKeyId")
			s.mustBeAbsent(b, "unknown-key-raw")
			s.mustServe()
		})

		step(t, s, "skewed-clock", func(t *testing.T, s *server) {
			for _, skew := range []time.Duration{-20 * time.Minute, 20 * time.Minute} {
				s.wantError(rawRequest{method: http.MethodPut, bucket: b, key: "skewed", body: bytes.NewReader(body),
					at: time.Now().Add(skew)}, http.StatusForbidden, "RequestTimeTooSkewed")
				s.wantError(rawRequest{method: http.MethodGet, bucket: b, at: time.Now().Add(skew)},
					http.StatusForbidden, "RequestTimeTooSkewed")
			}
			s.mustBeAbsent(b, "skewed")
			s.mustServe()
		})

		step(t, s, "bad-digests", func(t *testing.T, s *server) {
			other := md5.Sum([]byte("other bytes"))
			for _, c := range []struct {
				name   string
				header http.Header
				claim  string // x-amz-content-sha256
				status int
				code   string
			}{
				{"wrong Content-MD5", http.Header{"Content-Md5": {base64.StdEncoding.EncodeToString(other[:])}}, "", http.StatusBadRequest, "BadDigest"},
				{"Content-MD5 not base64", http.Header{"Content-Md5": {"not base64!"}}, "", http.StatusBadRequest, "InvalidDigest"},
				{"wrong x-amz-checksum-crc32", http.Header{"X-Amz-Checksum-Crc32": {"AAAAAA=="}}, "", http.StatusBadRequest, "BadDigest"},
				{"wrong x-amz-content-sha256", nil, bytesSHA256([]byte("other bytes")), http.StatusBadRequest, "XAmzContentSHA256Mismatch"},
			} {
				t.Run(c.name, func(t *testing.T) {
					s := s.with(t)
					s.wantError(rawRequest{method: http.MethodPut, bucket: b, key: "bad-digest", header: c.header,
						body: bytes.NewReader(body), payloadHash: c.claim}, c.status, c.code)
					s.mustBeAbsent(b, "bad-digest")
				})
			}
			s.mustServe()
		})

		step(t, s, "invalid-bucket-name", func(t *testing.T, s *server) {
			mustFail(t, s.awsEnv(), "InvalidBucketName", "aws", "--endpoint-url", s.URL, "s3", "mb", "s3://A_B")
			invalid := []string{"A_B", "ab", "-dash-first", "192.168.1.1", "double..dot"}
			for _, name := range invalid[1:] {
				s.wantError(rawRequest{method: http.MethodPut, bucket: name}, http.StatusBadRequest, "InvalidBucketName")
			}
			st, _, list := s.do(rawRequest{method: http.MethodGet})
			var res struct {
				Buckets []struct{ Name string } `xml:"Buckets>Bucket"`
			}
			if err := xml.Unmarshal(list, &res); st != http.StatusOK || err != nil {
				t.Fatalf("ListBuckets: %d %v", st, err)
			}
			for _, bk := range res.Buckets {
				if slices.Contains(invalid, bk.Name) {
					t.Errorf("invalid bucket %q was created", bk.Name)
				}
			}
			s.mustServe()
		})

		step(t, s, "key-too-long", func(t *testing.T, s *server) {
			long := strings.Repeat("k", 1025)
			mustFail(t, s.awsEnv(), "KeyTooLongError", "aws", "--endpoint-url", s.URL, "s3", "cp", small, "s3://"+b+"/"+long, "--only-show-errors")
			s.wantError(rawRequest{method: http.MethodPut, bucket: b, key: long, body: bytes.NewReader(body)}, http.StatusBadRequest, "KeyTooLongError")
			// 1024 bytes is the limit, not over it (ü is two bytes).
			limit := strings.Repeat("\u00fc", 512)
			s.aws("s3", "cp", small, "s3://"+b+"/"+limit, "--only-show-errors")
			keys, _ := s.list(b, "k", "")
			if len(keys) != 0 {
				t.Errorf("a too-long key is listed: %d keys", len(keys))
			}
			s.mustExist(b, limit, fileSHA256(t, small))
			s.mustServe()
		})

		step(t, s, "no-such-bucket", func(t *testing.T, s *server) {
			// A single PUT (Expect: 100-continue) and a multipart upload: both
			// refused before the body is sent.
			for _, f := range []string{small, big} {
				start := time.Now()
				mustFail(t, s.awsEnv(), "NoSuchBucket", "aws", "--endpoint-url", s.URL, "s3", "cp", f, "s3://no-such-bucket/x", "--only-show-errors")
				if d := time.Since(start); d > 20*time.Second {
					t.Errorf("refusing an upload to a missing bucket took %v", d)
				}
			}
			s.wantError(rawRequest{method: http.MethodGet, bucket: "no-such-bucket", key: "x"}, http.StatusNotFound, "NoSuchBucket")
			s.mustServe()
		})

		step(t, s, "anonymous", func(t *testing.T, s *server) {
			st, got := s.curl(s.URL + "/" + b + "/")
			if st != http.StatusForbidden || errorCode(got) != "AccessDenied" {
				t.Errorf("anonymous list: %d %s", st, got)
			}
			st, got = s.curl(s.URL+"/"+b+"/anonymous", "-T", small)
			if st != http.StatusForbidden || errorCode(got) != "AccessDenied" {
				t.Errorf("anonymous PUT: %d %s", st, got)
			}
			s.mustBeAbsent(b, "anonymous")
			s.mustServe()
		})

		step(t, s, "curl-killed-mid-upload", func(t *testing.T, s *server) {
			u := s.presign(http.MethodPut, b, "killed/by curl", 10*time.Minute)
			args := []string{"-q", "-sS", "-o", os.DevNull, "--limit-rate", "4M", "-T", big}
			if s.tls {
				args = append(args, "--cacert", s.CAFile)
			}
			cmd := exec.Command("curl", append(args, u)...)
			cmd.Env = clientEnv()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(1500 * time.Millisecond)
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			s.waitAbsent(b, "killed/by curl")
			s.mustServe()
			// The same presigned URL still works for a whole upload.
			if st, got := s.curl(u, "-T", small); st != http.StatusOK {
				t.Fatalf("PUT after the killed upload: %d %s", st, got)
			}
			s.mustExist(b, "killed/by curl", fileSHA256(t, small))
		})

		step(t, s, "go-client-aborts-mid-upload", func(t *testing.T, s *server) {
			f, err := os.Open(big)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			// 5 MiB of a promised 40 MiB, then the body fails: net/http
			// closes the connection mid-request.
			errAbort := errors.New("client gives up")
			req := s.newRaw(rawRequest{method: http.MethodPut, bucket: b, key: "killed/by go", unsigned: true, size: bigSize,
				body: io.MultiReader(io.LimitReader(f, 5<<20), errReader{errAbort})})
			resp, err := s.HTTPClient().Do(req)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("aborted upload answered %d", resp.StatusCode)
			}
			s.waitAbsent(b, "killed/by go")
			s.mustServe()
		})
	})
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// wantError sends rq and fails unless it gets status with code.
func (s *server) wantError(rq rawRequest, status int, code string) {
	s.t.Helper()
	st, _, got := s.do(rq)
	if st != status || (rq.method != http.MethodHead && errorCode(got) != code) {
		s.t.Errorf("%s %s/%.40s: %d %s, want %d %s", rq.method, rq.bucket, rq.key, st, got, status, code)
	}
}

// waitAbsent checks that an interrupted upload left nothing behind, now
// and a moment later (the server may notice the broken connection after
// the client did; it must never commit what it got).
func (s *server) waitAbsent(bucket, key string) {
	s.t.Helper()
	s.mustBeAbsent(bucket, key)
	time.Sleep(time.Second)
	s.mustBeAbsent(bucket, key)
}
