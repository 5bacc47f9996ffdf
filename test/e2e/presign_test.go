package e2e

import (
	"bytes"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"dewar/test/harness"
)

// presignKey has characters that SigV2 and SigV4 canonicalise differently.
const presignKey = "up/small kit+1%=&;@ \u00fc\u2603.zip"

// TestPresign fetches presigned URLs with curl: AWS CLI v1 `s3 presign`
// (SigV2), boto3 (SigV2 by default, SigV4 with s3v4), a SigV4 presigned
// PUT with curl -T, Range on a presigned GET, and the refusals: a tampered
// signature and an expired URL are 403 and change nothing.
func TestPresign(t *testing.T) {
	harness.Require(t, "aws", "boto3", "curl")
	t.Parallel()
	small, big := fixtures(t)
	forEachScheme(t, func(t *testing.T, s *server) {
		const b = "presign-bucket"
		s.with(t).aws("s3", "mb", "s3://"+b)
		s.with(t).aws("s3", "cp", small, "s3://"+b+"/"+presignKey, "--only-show-errors")
		s.with(t).aws("s3", "cp", big, "s3://"+b+"/up/big", "--only-show-errors")
		smallBytes, err := os.ReadFile(small)
		if err != nil {
			t.Fatal(err)
		}

		step(t, s, "aws-presign-v2", func(t *testing.T, s *server) {
			u := strings.TrimSpace(s.aws("s3", "presign", "s3://"+b+"/"+presignKey, "--expires-in", "600"))
			if q := mustParseURL(t, u).Query(); q.Get("AWSAccessKeyId") == "" || q.Get("Signature") == "" {
				t.Errorf("aws s3 presign made no SigV2 URL: %s", u)
			}
			if st, body := s.curl(u); st != http.StatusOK || !bytes.Equal(body, smallBytes) {
				t.Errorf("curl presigned GET: %d, %d bytes (want 200 and the file)", st, len(body))
			}
			big := strings.TrimSpace(s.aws("s3", "presign", "s3://"+b+"/up/big"))
			st, body := s.curl(big, "-H", "Range: bytes=8388600-8388799")
			if want := readRange(t, fixtureBig(t), 8388600, 200); st != http.StatusPartialContent || !bytes.Equal(body, want) {
				t.Errorf("curl presigned GET with Range: %d, %d bytes (want 206 and 200 bytes)", st, len(body))
			}
		})

		step(t, s, "boto3-presign-v2-v4-and-put", func(t *testing.T, s *server) {
			var urls map[string]string
			mustJSON(t, s.python("presign.py", b, presignKey, "put/by curl", "600"), &urls)
			if q := mustParseURL(t, urls["v2_get"]).Query(); q.Get("Signature") == "" {
				t.Errorf("boto3 default presign is not SigV2: %s", urls["v2_get"])
			}
			if q := mustParseURL(t, urls["v4_get"]).Query(); q.Get("X-Amz-Signature") == "" {
				t.Errorf("boto3 s3v4 presign is not SigV4: %s", urls["v4_get"])
			}
			for _, name := range []string{"v2_get", "v4_get"} {
				if st, body := s.curl(urls[name]); st != http.StatusOK || !bytes.Equal(body, smallBytes) {
					t.Errorf("curl %s: %d, %d bytes (want 200 and the file)", name, st, len(body))
				}
				if st, body := s.curl(urls[name], "-H", "Range: bytes=10-19"); st != http.StatusPartialContent || !bytes.Equal(body, smallBytes[10:20]) {
					t.Errorf("curl %s with Range: %d, %q", name, st, body)
				}
			}
			// A 40 MiB presigned PUT (curl sends Expect: 100-continue).
			if st, body := s.curl(urls["v4_put"], "-T", big); st != http.StatusOK {
				t.Errorf("curl -T to a SigV4 presigned PUT: %d %s", st, body)
			}
			s.mustExist(b, "put/by curl", fileSHA256(t, big))
			if st, body := s.curl(urls["v2_put"], "-T", small); st != http.StatusOK {
				t.Errorf("curl -T to a SigV2 presigned PUT: %d %s", st, body)
			}
			s.mustExist(b, "put/by curl.v2", fileSHA256(t, small))
		})

		step(t, s, "tampered-signature", func(t *testing.T, s *server) {
			var urls map[string]string
			mustJSON(t, s.python("presign.py", b, presignKey, "put/tampered", "600"), &urls)
			urls["aws_v2_get"] = strings.TrimSpace(s.aws("s3", "presign", "s3://"+b+"/"+presignKey))
			for name, u := range urls {
				args := []string{}
				if strings.HasSuffix(name, "_put") {
					args = []string{"-T", small}
				}
				st, body := s.curl(tamper(t, u), args...)
				if st != http.StatusForbidden || !bytes.Contains(body, []byte("<Code>SignatureDoesNotMatch</Code>")) {
					t.Errorf("tampered %s: %d %s, want 403 SignatureDoesNotMatch", name, st, body)
				}
			}
			s.mustBeAbsent(b, "put/tampered")
			s.mustBeAbsent(b, "put/tampered.v2")
			s.mustServe()
		})

		step(t, s, "expired", func(t *testing.T, s *server) {
			var urls map[string]string
			mustJSON(t, s.python("presign.py", b, presignKey, "put/expired", "1"), &urls)
			urls["aws_v2_get"] = strings.TrimSpace(s.aws("s3", "presign", "s3://"+b+"/"+presignKey, "--expires-in", "1"))
			time.Sleep(2100 * time.Millisecond)
			for name, u := range urls {
				args := []string{}
				if strings.HasSuffix(name, "_put") {
					args = []string{"-T", small}
				}
				st, body := s.curl(u, args...)
				if st != http.StatusForbidden || !bytes.Contains(body, []byte("<Code>AccessDenied</Code>")) {
					t.Errorf("expired %s: %d %s, want 403 AccessDenied", name, st, body)
				}
			}
			s.mustBeAbsent(b, "put/expired")
			s.mustBeAbsent(b, "put/expired.v2")
			s.mustServe()
		})
	})
}

// curl fetches u (trusting the server's certificate, ignoring ~/.curlrc)
// and returns the status and body.
func (s *server) curl(u string, args ...string) (int, []byte) {
	s.t.Helper()
	out, err := os.CreateTemp(s.dir, "curl-")
	if err != nil {
		s.t.Fatal(err)
	}
	out.Close()
	full := []string{"-q", "-sS", "-o", out.Name(), "-w", "%{http_code}"}
	if s.tls {
		full = append(full, "--cacert", s.CAFile)
	}
	full = append(append(full, args...), u)
	code := mustRun(s.t, nil, "curl", full...)
	st, err := strconv.Atoi(strings.TrimSpace(code))
	if err != nil {
		s.t.Fatalf("curl status %q: %v", code, err)
	}
	body, err := os.ReadFile(out.Name())
	if err != nil {
		s.t.Fatal(err)
	}
	os.Remove(out.Name())
	return st, body
}

func mustParseURL(t *testing.T, u string) *url.URL {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatalf("bad presigned URL %q: %v", u, err)
	}
	return p
}

// tamper changes one character of the URL's signature.
func tamper(t *testing.T, u string) string {
	t.Helper()
	for _, p := range []string{"X-Amz-Signature=", "Signature="} {
		if i := strings.Index(u, p); i >= 0 {
			j := i + len(p)
			c := byte('a')
			if u[j] == 'a' {
				c = 'b'
			}
			return u[:j] + string(c) + u[j+1:]
		}
	}
	t.Fatalf("no signature in %s", u)
	return ""
}

func fixtureBig(t *testing.T) string {
	_, big := fixtures(t)
	return big
}
