package s3store

import (
	"errors"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Config
	}{
		{"bucket only", "s3://blobs", Config{Bucket: "blobs"}},
		{"bucket slash", "s3://blobs/", Config{Bucket: "blobs"}},
		{"prefix", "s3://blobs/dewar/prod", Config{Bucket: "blobs", Prefix: "dewar/prod"}},
		{"prefix trailing slash", "s3://blobs/dewar/prod/", Config{Bucket: "blobs", Prefix: "dewar/prod"}},
		{"prefix escaped", "s3://blobs/my%20store", Config{Bucket: "blobs", Prefix: "my store"}},
		{"dots and hyphens", "s3://my-bucket.example/x", Config{Bucket: "my-bucket.example", Prefix: "x"}},
		{"endpoint means path style", "s3://blobs/p?endpoint=http://127.0.0.1:9000",
			Config{Bucket: "blobs", Prefix: "p", Endpoint: "http://127.0.0.1:9000", PathStyle: true}},
		{"endpoint trailing slash", "s3://blobs?endpoint=https://minio.example:9000/",
			Config{Bucket: "blobs", Endpoint: "https://minio.example:9000", PathStyle: true}},
		{"endpoint escaped", "s3://blobs?endpoint=http%3A%2F%2F127.0.0.1%3A9000",
			Config{Bucket: "blobs", Endpoint: "http://127.0.0.1:9000", PathStyle: true}},
		{"virtual hosted endpoint", "s3://blobs?endpoint=https://s3.example&path_style=false",
			Config{Bucket: "blobs", Endpoint: "https://s3.example"}},
		{"path style on AWS", "s3://blobs?path_style=true", Config{Bucket: "blobs", PathStyle: true}},
		{"region", "s3://blobs?region=eu-central-1", Config{Bucket: "blobs", Region: "eu-central-1"}},
		{"credentials", "s3://blobs?access_key=AK&secret_key=S%2Bx%2F", Config{Bucket: "blobs", AccessKey: "AK", SecretKey: "S+x/"}},
		{"session token", "s3://blobs?access_key=AK&secret_key=SK&session_token=TOK",
			Config{Bucket: "blobs", AccessKey: "AK", SecretKey: "SK", SessionToken: "TOK"}},
		{"everything", "s3://b-1/a/b?endpoint=http://127.0.0.1:1&region=r&path_style=1&access_key=a&secret_key=s",
			Config{Bucket: "b-1", Prefix: "a/b", Endpoint: "http://127.0.0.1:1", Region: "r", PathStyle: true, AccessKey: "a", SecretKey: "s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseURL(tt.in)
			if err != nil {
				t.Fatalf("ParseURL(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseURL(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			// String round-trips (with secrets redacted).
			back, err := ParseURL(got.String())
			if err != nil {
				t.Fatalf("ParseURL(String() = %q): %v", got.String(), err)
			}
			if got.SecretKey != "" {
				back.SecretKey = got.SecretKey
			}
			if got.SessionToken != "" {
				back.SessionToken = got.SessionToken
			}
			if back != got {
				t.Errorf("String() = %q parses to %+v, want %+v", got.String(), back, got)
			}
		})
	}
}

func TestParseURLBad(t *testing.T) {
	tests := []struct {
		name, in string
	}{
		{"empty", ""},
		{"file scheme", "file:///var/dewar"},
		{"http scheme", "http://blobs/prefix"},
		{"opaque", "s3:blobs"},
		{"no bucket", "s3:///prefix"},
		{"nothing", "s3://"},
		{"short bucket", "s3://ab"},
		{"long bucket", "s3://" + strings.Repeat("a", 64)},
		{"upper-case bucket", "s3://Blobs"},
		{"underscore bucket", "s3://my_blobs"},
		{"bucket ends with hyphen", "s3://blobs-"},
		{"bucket with dot dot", "s3://a..b"},
		{"bucket like IP", "s3://192.168.1.1"},
		{"port on bucket", "s3://blobs:9000/p"},
		{"user info", "s3://AK:SK@blobs/p"},
		{"fragment", "s3://blobs/p#x"},
		{"empty segment", "s3://blobs/a//b"},
		{"dot segment", "s3://blobs/a/./b"},
		{"dot dot segment", "s3://blobs/../b"},
		{"unknown parameter", "s3://blobs?endpiont=http://127.0.0.1:9000"},
		{"repeated parameter", "s3://blobs?region=a&region=b"},
		{"empty region", "s3://blobs?region="},
		{"endpoint not http", "s3://blobs?endpoint=ftp://127.0.0.1"},
		{"endpoint without scheme", "s3://blobs?endpoint=127.0.0.1:9000"},
		{"endpoint with path", "s3://blobs?endpoint=http://127.0.0.1:9000/s3"},
		{"endpoint with query", "s3://blobs?endpoint=http://127.0.0.1:9000/%3Fa%3Db"},
		{"endpoint with credentials", "s3://blobs?endpoint=http://a:b@127.0.0.1:9000"},
		{"path_style not bool", "s3://blobs?path_style=yes"},
		{"path_style empty", "s3://blobs?path_style="},
		{"access key alone", "s3://blobs?access_key=AK"},
		{"secret key alone", "s3://blobs?secret_key=SK"},
		{"token alone", "s3://blobs?session_token=T"},
		{"bad query", "s3://blobs?a=%zz"},
		{"bad escape", "s3://blobs/%zz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseURL(tt.in)
			if !errors.Is(err, ErrBadURL) {
				t.Fatalf("ParseURL(%q) = %+v, %v; want ErrBadURL", tt.in, got, err)
			}
		})
	}
}

// TestParseURLErrorHidesSecret: a bad URL's error does not echo the
// secret it carried (errors end up in logs).
func TestParseURLErrorHidesSecret(t *testing.T) {
	for _, in := range []string{
		"s3://blobs/%zz?access_key=AK&secret_key=TOPSECRET",
		"s3://blobs?access_key=AK&secret_key=TOPSECRET&bogus=1",
	} {
		_, err := ParseURL(in)
		if err == nil || strings.Contains(err.Error(), "TOPSECRET") {
			t.Errorf("ParseURL(%q) error = %v; want an error without the secret", in, err)
		}
	}
}

func TestConfigStringRedacts(t *testing.T) {
	c, err := ParseURL("s3://blobs/p?endpoint=http://127.0.0.1:9000&access_key=AK&secret_key=TOPSECRET&session_token=TOKEN")
	if err != nil {
		t.Fatal(err)
	}
	s := c.String()
	for _, secret := range []string{"TOPSECRET", "TOKEN"} {
		if strings.Contains(s, secret) {
			t.Errorf("String() = %q shows %s", s, secret)
		}
	}
	if !strings.Contains(s, "access_key=AK") || !strings.HasPrefix(s, "s3://blobs/p?") {
		t.Errorf("String() = %q, want the bucket, prefix and access key", s)
	}
}
