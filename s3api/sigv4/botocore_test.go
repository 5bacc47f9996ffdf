package sigv4

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// fixture is one request recorded from botocore (signature_version s3v4)
// by ../sigv2/testdata/gen_botocore.py.
type fixture struct {
	Name    string      `json:"name"`
	Now     int64       `json:"now"`
	Method  string      `json:"method"`
	URL     string      `json:"url"`
	Headers [][2]string `json:"headers"`
	Body    []byte      `json:"body"` // base64 in the JSON
}

// raw renders the request as botocore would send it, Host included.
func (f fixture) raw(t *testing.T) []byte {
	u, err := url.Parse(f.URL)
	if err != nil {
		t.Fatal(err)
	}
	target := strings.TrimPrefix(f.URL, u.Scheme+"://"+u.Host)
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", f.Method, target, u.Host)
	hasLength := false
	for _, h := range f.Headers {
		hasLength = hasLength || strings.EqualFold(h[0], "Content-Length")
		fmt.Fprintf(&b, "%s: %s\r\n", h[0], h[1])
	}
	if !hasLength && len(f.Body) > 0 {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(f.Body))
	}
	b.WriteString("Connection: close\r\n\r\n")
	b.Write(f.Body)
	return b.Bytes()
}

// TestBotocoreFixtures replays requests signed by real botocore 1.43
// (S3SigV4Auth and S3SigV4QueryAuth) byte for byte.
func TestBotocoreFixtures(t *testing.T) {
	raw, err := os.ReadFile("testdata/botocore_v4.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct{ Cases []fixture }
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Cases) < 10 {
		t.Fatalf("only %d fixtures", len(file.Cases))
	}
	for _, f := range file.Cases {
		t.Run(f.Name, func(t *testing.T) {
			srv := newServer(t, newVerifier(time.Unix(f.Now, 0)), false)
			o := srv.sendRaw(t, f.raw(t))
			if o.err != nil {
				t.Fatalf("verify: %v", o.err)
			}
			if !bytes.Equal(o.body, f.Body) || o.res.AccessKey != testAK {
				t.Errorf("body %q, access key %q", o.body, o.res.AccessKey)
			}
			bad := f
			bad.URL = strings.Replace(f.URL, "X-Amz-Signature=", "X-Amz-Signature=0", 1)
			bad.Headers = nil
			for _, h := range f.Headers {
				if h[0] == "Authorization" {
					h[1] = strings.Replace(h[1], "Signature=", "Signature=0", 1)[:len(h[1])]
				}
				bad.Headers = append(bad.Headers, h)
			}
			if o := srv.sendRaw(t, bad.raw(t)); !errors.Is(o.err, ErrSignatureMismatch) {
				t.Fatalf("tampered: %v", o.err)
			}
		})
	}
}
