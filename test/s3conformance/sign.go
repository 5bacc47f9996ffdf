package s3conformance

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	amzDateFormat     = "20060102T150405Z"
	streamingSigned   = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	streamingTrailer  = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	unsignedPayload   = "UNSIGNED-PAYLOAD"
	emptySHA256       = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	chunkedBodyChunks = 64 << 10
)

// awsEscape escapes a key as S3 canonical URIs do: everything but the
// unreserved characters and '/'.
func awsEscape(key string) string {
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' || c == '/' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// newRequest builds an unsigned path-style request; key may be empty.
func (e *env) newRequest(t *testing.T, method, bucket, key string, query url.Values, body []byte) *http.Request {
	t.Helper()
	u := *e.u
	u.Path = "/" + bucket
	u.RawPath = "/" + bucket
	if key != "" {
		u.Path += "/" + key
		u.RawPath += "/" + awsEscape(key)
	}
	if bucket == "" {
		u.Path, u.RawPath = "/", ""
	}
	u.RawQuery = strings.ReplaceAll(query.Encode(), "+", "%20")
	req, err := http.NewRequestWithContext(ctx(t), method, u.String(), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(body))
	if body == nil {
		req.Body = http.NoBody
	}
	return req
}

// signOpts change what sign uses; zero values mean the target's.
type signOpts struct {
	at                           time.Time
	accessKey, secretKey, region string
}

func (e *env) resolve(o signOpts) signOpts {
	if o.at.IsZero() {
		o.at = time.Now().UTC()
	}
	if o.accessKey == "" {
		o.accessKey = e.tg.AccessKey
	}
	if o.secretKey == "" {
		o.secretKey = e.tg.SecretKey
	}
	if o.region == "" {
		o.region = e.tg.Region
	}
	return o
}

// newSigner returns a fresh signer each time: the SDK's caches derived
// keys by access key and day, not by secret, so a signature made with a
// wrong secret would poison later ones.
func newSigner() *v4.Signer {
	return v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
}

// sign adds SigV4 header authentication with the given payload hash
// (sent as x-amz-content-sha256).
func (e *env) sign(t *testing.T, req *http.Request, payloadHash string, o signOpts) {
	t.Helper()
	o = e.resolve(o)
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)
	creds := aws.Credentials{AccessKeyID: o.accessKey, SecretAccessKey: o.secretKey}
	if err := newSigner().SignHTTP(ctx(t), creds, req, payloadHash, "s3", o.region, o.at); err != nil {
		t.Fatal(err)
	}
}

// signBody signs req over its (in-memory) body's sha256.
func (e *env) signBody(t *testing.T, req *http.Request, body []byte, o signOpts) {
	t.Helper()
	e.sign(t, req, sha256Hex(body), o)
}

// presign turns req into a presigned URL valid for expires seconds from o.at.
func (e *env) presign(t *testing.T, req *http.Request, expires int, o signOpts) string {
	t.Helper()
	o = e.resolve(o)
	q := req.URL.Query()
	q.Set("X-Amz-Expires", strconv.Itoa(expires))
	req.URL.RawQuery = q.Encode()
	creds := aws.Credentials{AccessKeyID: o.accessKey, SecretAccessKey: o.secretKey}
	u, _, err := newSigner().PresignHTTP(ctx(t), creds, req, unsignedPayload, "s3", o.region, o.at)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// signingKey derives the SigV4 signing key.
func signingKey(secret, date, region string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, "s3")
	return hmacSHA256(k, "aws4_request")
}

func hmacSHA256(key []byte, s string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(s))
	return h.Sum(nil)
}

// chunkSigner chains aws-chunked chunk signatures from a seed signature.
type chunkSigner struct {
	key     []byte
	amzDate string
	scope   string
	prev    string
}

func (c *chunkSigner) sign(chunk []byte) string {
	sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + c.amzDate + "\n" + c.scope + "\n" + c.prev + "\n" + emptySHA256 + "\n" + sha256Hex(chunk)
	c.prev = hex.EncodeToString(hmacSHA256(c.key, sts))
	return c.prev
}

// streamingRequest is a STREAMING-AWS4-HMAC-SHA256-PAYLOAD PUT of body.
// tamper may rewrite the encoded body (after signing) to break it.
func (e *env) streamingRequest(t *testing.T, bucket, key string, body []byte, tamper func([]byte) []byte) *http.Request {
	t.Helper()
	o := e.resolve(signOpts{})
	// The encoded length does not depend on the signatures' values, nor
	// (the tampers are shaped so) on what tamper changes in them: sign the
	// length that will be sent, so the seed signature is right and only
	// the framing or the chunk signatures are broken.
	probe := signedChunks(&chunkSigner{}, body)
	if tamper != nil {
		probe = tamper(probe)
	}
	encodedLen := len(probe)
	req := e.newRequest(t, http.MethodPut, bucket, key, nil, nil)
	req.Header.Set("Content-Encoding", "aws-chunked")
	req.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(len(body)))
	req.ContentLength = int64(encodedLen)
	e.sign(t, req, streamingSigned, o)
	auth := req.Header.Get("Authorization")
	_, seed, ok := strings.Cut(auth, "Signature=")
	if !ok {
		t.Fatalf("no signature in %q", auth)
	}
	date := o.at.Format("20060102")
	cs := &chunkSigner{
		key:     signingKey(o.secretKey, date, o.region),
		amzDate: o.at.Format(amzDateFormat),
		scope:   date + "/" + o.region + "/s3/aws4_request",
		prev:    seed,
	}
	enc := signedChunks(cs, body)
	if tamper != nil {
		enc = tamper(enc)
	}
	if len(enc) != encodedLen {
		t.Fatalf("tamper changed the length by the signatures' values (%d, then %d)", encodedLen, len(enc))
	}
	req.Body = io.NopCloser(bytes.NewReader(enc))
	return req
}

// signedChunks encodes body in aws-chunked form with chunk signatures.
func signedChunks(cs *chunkSigner, body []byte) []byte {
	var b bytes.Buffer
	write := func(chunk []byte) {
		fmt.Fprintf(&b, "%x;chunk-signature=%s\r\n", len(chunk), cs.sign(chunk))
		b.Write(chunk)
		b.WriteString("\r\n")
	}
	for off := 0; off < len(body); off += chunkedBodyChunks {
		write(body[off:min(off+chunkedBodyChunks, len(body))])
	}
	write(nil)
	return b.Bytes()
}

// trailerRequest is a STREAMING-UNSIGNED-PAYLOAD-TRAILER PUT of body with
// the trailer "name:value" (as SDKs send over HTTPS). tamper may rewrite
// the encoded body.
func (e *env) trailerRequest(t *testing.T, bucket, key string, body []byte, name, value string, tamper func([]byte) []byte) *http.Request {
	t.Helper()
	return e.trailerRequestTo(t, trailerOpts{bucket: bucket, key: key}, body, name, value, tamper)
}

// trailerOpts say where a trailer request goes and how it is framed.
type trailerOpts struct {
	bucket, key string
	query       url.Values
	// chunkedTE sends no Content-Length but Transfer-Encoding: chunked,
	// as botocore does over HTTPS.
	chunkedTE bool
}

func (e *env) trailerRequestTo(t *testing.T, o trailerOpts, body []byte, name, value string, tamper func([]byte) []byte) *http.Request {
	t.Helper()
	enc := unsignedTrailerChunks(body, name, value)
	if tamper != nil {
		enc = tamper(enc)
	}
	req := e.newRequest(t, http.MethodPut, o.bucket, o.key, o.query, enc)
	req.Header.Set("Content-Encoding", "aws-chunked")
	req.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(len(body)))
	req.Header.Set("X-Amz-Trailer", name)
	req.Header.Set("X-Amz-Sdk-Checksum-Algorithm", strings.ToUpper(strings.TrimPrefix(name, "x-amz-checksum-")))
	if o.chunkedTE {
		req.ContentLength = -1
		req.TransferEncoding = []string{"chunked"}
	}
	e.sign(t, req, streamingTrailer, signOpts{})
	return req
}

// unsignedTrailerChunks encodes body as aws-chunked without signatures,
// followed by one trailer.
func unsignedTrailerChunks(body []byte, name, value string) []byte {
	var b bytes.Buffer
	for off := 0; off < len(body); off += chunkedBodyChunks {
		chunk := body[off:min(off+chunkedBodyChunks, len(body))]
		fmt.Fprintf(&b, "%x\r\n", len(chunk))
		b.Write(chunk)
		b.WriteString("\r\n")
	}
	b.WriteString("0\r\n")
	fmt.Fprintf(&b, "%s:%s\r\n\r\n", name, value)
	return b.Bytes()
}

// dial opens a raw connection to the endpoint (TLS when it is https).
func (e *env) dial(t *testing.T) net.Conn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", e.u.Host, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if e.https() {
		cfg := &tls.Config{}
		if e.tr.TLSClientConfig != nil {
			cfg = e.tr.TLSClientConfig.Clone()
		}
		cfg.ServerName = e.u.Hostname()
		cfg.NextProtos = []string{"http/1.1"} // raw HTTP/1.1, never h2
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx(t)); err != nil {
			conn.Close()
			t.Fatal(err)
		}
		conn = tc
	}
	_ = conn.SetDeadline(time.Now().Add(time.Minute))
	return conn
}

// rawHeaderNames sends req on its own connection and returns the response
// header names exactly as they came over the wire (net/http canonicalises
// them), plus the status line.
func (e *env) rawHeaderNames(t *testing.T, req *http.Request) (status string, names []string) {
	t.Helper()
	conn := e.dial(t)
	defer conn.Close()
	req.Header.Set("Connection", "close")
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(io.LimitReader(conn, 1<<20))
	if err != nil && len(raw) == 0 {
		t.Fatal(err)
	}
	head, _, _ := strings.Cut(string(raw), "\r\n\r\n")
	lines := strings.Split(head, "\r\n")
	for _, l := range lines[1:] {
		if name, _, ok := strings.Cut(l, ":"); ok {
			names = append(names, name)
		}
	}
	return lines[0], names
}
