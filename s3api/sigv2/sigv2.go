// Package sigv2 verifies AWS Signature Version 2 (HMAC-SHA1) on S3
// requests: the "Authorization: AWS AK:sig" header and presigned URLs with
// AWSAccessKeyId, Signature and Expires, which aws CLI v1 `s3 presign` and
// boto3 still produce by default.
//
// Errors wrap the sigv4 sentinels, re-exported here (ErrMissingAuth,
// ErrMalformedAuth, ErrUnknownAccessKey, ErrSignatureMismatch,
// ErrTimeSkewed, ErrExpired, ErrMissingDate, ErrUnsupportedAlgorithm), so
// one table maps both versions to S3 error codes. SigV2 does not sign the payload; Content-MD5
// is checked by the checksum package.
package sigv2

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"dewar/s3api/sigv4"
)

// Credentials is the secret lookup shared with sigv4.
type Credentials = sigv4.Credentials

// The sentinels are sigv4's, re-exported under this package's name: an
// error matches sigv2.ErrX and ErrX alike.
var (
	ErrMissingAuth          = sigv4.ErrMissingAuth
	ErrMalformedAuth        = sigv4.ErrMalformedAuth
	ErrUnknownAccessKey     = sigv4.ErrUnknownAccessKey
	ErrSignatureMismatch    = sigv4.ErrSignatureMismatch
	ErrTimeSkewed           = sigv4.ErrTimeSkewed
	ErrExpired              = sigv4.ErrExpired
	ErrMissingDate          = sigv4.ErrMissingDate
	ErrUnsupportedAlgorithm = sigv4.ErrUnsupportedAlgorithm
)

const defaultMaxSkew = 15 * time.Minute

// Verifier verifies SigV2 requests. It is safe for concurrent use.
type Verifier struct {
	Credentials Credentials
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxSkew bounds the distance of Date/x-amz-date from Now for header
	// authentication; 0 means 15 minutes.
	MaxSkew time.Duration
}

// IsRequest reports whether r claims SigV2: "Authorization: AWS AK:sig",
// or AWSAccessKeyId and Signature query parameters.
func IsRequest(r *http.Request) bool {
	if strings.HasPrefix(r.Header.Get("Authorization"), "AWS ") {
		return true
	}
	if r.URL.RawQuery == "" {
		return false
	}
	q := r.URL.Query()
	return q.Has("AWSAccessKeyId") && q.Has("Signature")
}

// subresources are the query parameters that enter the canonicalized
// resource: the documented S3 list plus what botocore and minio-go add.
var subresources = map[string]bool{
	"accelerate": true, "acl": true, "analytics": true, "cors": true, "delete": true, "encryption": true,
	"inventory": true, "legal-hold": true, "lifecycle": true, "location": true, "logging": true,
	"metrics": true, "notification": true, "object-lock": true, "partNumber": true, "policy": true,
	"replication": true, "requestPayment": true, "restore": true, "retention": true, "select": true,
	"select-type": true, "storageClass": true, "tagging": true, "torrent": true, "uploadId": true,
	"uploads": true, "versionId": true, "versioning": true, "versions": true, "website": true,
	"response-cache-control": true, "response-content-disposition": true, "response-content-encoding": true,
	"response-content-language": true, "response-content-type": true, "response-expires": true,
}

// Verify authenticates r and returns its access key. virtualHostBucket is
// the bucket taken from the Host header for virtual-hosted-style requests,
// "" for path-style; SigV2 signs "/bucket/key" either way.
func (v *Verifier) Verify(r *http.Request, virtualHostBucket string) (accessKey string, err error) {
	if v.Credentials == nil {
		return "", errors.New("sigv2: Verifier.Credentials is not set")
	}
	var q url.Values
	if r.URL.RawQuery != "" {
		q = r.URL.Query()
	}
	authz := r.Header.Get("Authorization")
	presigned := q.Has("AWSAccessKeyId") || q.Has("Signature")
	var in input
	switch {
	case authz != "" && presigned:
		return "", fmt.Errorf("sigv2: both Authorization header and presigned query: %w", ErrMalformedAuth)
	case authz != "":
		in, err = v.headerInput(r, authz)
	case presigned:
		in, err = v.queryInput(r, q)
	default:
		return "", ErrMissingAuth
	}
	if err != nil {
		return "", err
	}

	sig, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(in.signature, " ", "+"))
	if err != nil || len(sig) != sha1.Size {
		return "", fmt.Errorf("sigv2: access key %q: signature is not base64 HMAC-SHA1: %w", in.accessKey, ErrSignatureMismatch)
	}
	secret, err := v.Credentials.SecretKey(r.Context(), in.accessKey)
	if err != nil {
		if errors.Is(err, ErrUnknownAccessKey) {
			return "", fmt.Errorf("sigv2: access key %q: %w", in.accessKey, err)
		}
		return "", fmt.Errorf("sigv2: looking up access key %q: %w", in.accessKey, err)
	}

	amz := canonicalAmzHeaders(r, q, in.presigned)
	sub := canonicalSubresources(r.URL.RawQuery)
	prefix := ""
	if virtualHostBucket != "" {
		prefix = "/" + virtualHostBucket
	}
	resources := resourcePaths(r)
	for _, p := range resources {
		if p = prefix + p; strings.Count(p, "/") == 1 && len(p) > 1 {
			// A bucket-level request: botocore signs "/bucket/" for the
			// path-style "/bucket"; AWS accepts both.
			resources = append(resources, p[len(prefix):]+"/")
		}
	}
	mac := hmac.New(sha1.New, []byte(secret))
	var tried []string
	for _, path := range resources {
		for _, date := range in.dates {
			for _, ct := range in.contentTypes {
				sts := r.Method + "\n" + in.contentMD5 + "\n" + ct + "\n" + date + "\n" + amz + prefix + path + sub
				if slices.Contains(tried, sts) {
					continue
				}
				tried = append(tried, sts)
				mac.Reset()
				mac.Write([]byte(sts))
				if hmac.Equal(mac.Sum(nil), sig) {
					return in.accessKey, nil
				}
			}
		}
	}
	return "", fmt.Errorf("sigv2: access key %q: %w", in.accessKey, ErrSignatureMismatch)
}

// input is what the header or the query contributes to the string to sign.
// Where clients disagree, several candidates are tried.
type input struct {
	presigned    bool
	accessKey    string
	signature    string
	contentMD5   string
	contentTypes []string
	dates        []string
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *Verifier) headerInput(r *http.Request, authz string) (input, error) {
	rest, ok := strings.CutPrefix(authz, "AWS ")
	if !ok {
		scheme, _, _ := strings.Cut(authz, " ")
		return input{}, fmt.Errorf("sigv2: authorization scheme %q: %w", scheme, ErrUnsupportedAlgorithm)
	}
	i := strings.LastIndexByte(rest, ':')
	if i <= 0 || i == len(rest)-1 {
		return input{}, fmt.Errorf("sigv2: authorization is not \"AWS AccessKey:Signature\": %w", ErrMalformedAuth)
	}
	in := input{
		accessKey:    strings.TrimSpace(rest[:i]),
		signature:    strings.TrimSpace(rest[i+1:]),
		contentMD5:   r.Header.Get("Content-Md5"),
		contentTypes: []string{r.Header.Get("Content-Type")},
	}
	date := r.Header.Get("Date")
	amzDate := r.Header.Get("X-Amz-Date")
	stamp := date
	if amzDate != "" {
		// AWS: with x-amz-date the Date line is empty. botocore and minio-go
		// sign whatever Date says, so try that too.
		stamp = amzDate
		in.dates = []string{""}
		if date != "" {
			in.dates = append(in.dates, date)
		}
	} else {
		in.dates = []string{date}
	}
	if stamp == "" {
		return input{}, fmt.Errorf("sigv2: no Date or x-amz-date header: %w", ErrMissingDate)
	}
	t, err := parseDate(stamp)
	if err != nil {
		return input{}, fmt.Errorf("sigv2: request date %q: %w", stamp, ErrMissingDate)
	}
	skew := v.MaxSkew
	if skew <= 0 {
		skew = defaultMaxSkew
	}
	if d := v.now().Sub(t); d > skew || d < -skew {
		return input{}, fmt.Errorf("sigv2: request time %s is %s off the server time: %w", stamp, d.Round(time.Second), ErrTimeSkewed)
	}
	return in, nil
}

func (v *Verifier) queryInput(r *http.Request, q url.Values) (input, error) {
	in := input{presigned: true}
	for _, p := range []struct {
		name string
		dst  *string
	}{{"AWSAccessKeyId", &in.accessKey}, {"Signature", &in.signature}, {"Expires", new(string)}} {
		vs := q[p.name]
		if len(vs) != 1 || vs[0] == "" {
			return input{}, fmt.Errorf("sigv2: presigned URL needs exactly one %s: %w", p.name, ErrMalformedAuth)
		}
		*p.dst = vs[0]
	}
	expires := q.Get("Expires")
	secs, err := strconv.ParseInt(expires, 10, 64)
	if err != nil {
		return input{}, fmt.Errorf("sigv2: Expires %q is not a unix time: %w", expires, ErrMalformedAuth)
	}
	if v.now().Unix() > secs {
		return input{}, fmt.Errorf("sigv2: presigned URL expired at %s: %w", time.Unix(secs, 0).UTC().Format(time.RFC3339), ErrExpired)
	}
	in.dates = []string{expires}
	// botocore moves Content-MD5, Content-Type and x-amz-* headers it
	// signed into the query string.
	in.contentMD5 = r.Header.Get("Content-Md5")
	if vs, ok := q["content-md5"]; ok {
		in.contentMD5 = vs[0]
	}
	ct := r.Header.Get("Content-Type")
	if vs, ok := q["content-type"]; ok {
		ct = vs[0]
	}
	in.contentTypes = []string{ct}
	if ct != "" {
		// A URL signed without a content type, used by a client that adds
		// one anyway (Python's urllib sends application/x-www-form-urlencoded).
		in.contentTypes = append(in.contentTypes, "")
	}
	return in, nil
}

// parseDate accepts the HTTP date formats and the ISO 8601 basic format
// some clients put in x-amz-date.
func parseDate(s string) (time.Time, error) {
	if t, err := http.ParseTime(s); err == nil {
		return t, nil
	}
	for _, layout := range []string{time.RFC1123Z, "20060102T150405Z"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("unrecognised date format")
}

// canonicalAmzHeaders is every x-amz-* header, lowercase, sorted, values
// trimmed and joined with ',', one "name:value\n" each. For presigned URLs
// x-amz-* query parameters count as headers (botocore hoists them there).
func canonicalAmzHeaders(r *http.Request, q url.Values, presigned bool) string {
	vals := make(map[string][]string)
	for k, vs := range r.Header {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-") {
			vals[lk] = append(vals[lk], vs...)
		}
	}
	if presigned {
		for k, vs := range q {
			if strings.HasPrefix(k, "x-amz-") {
				vals[k] = vs
			}
		}
	}
	if len(vals) == 0 {
		return ""
	}
	names := make([]string, 0, len(vals))
	for k := range vals {
		names = append(names, k)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, k := range names {
		b.WriteString(k)
		b.WriteByte(':')
		for i, v := range vals[k] {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strings.TrimSpace(v))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// canonicalSubresources returns "?a&b=v..." for the signed sub-resources
// in the query, decoded, sorted by name (stable), "name" alone when the
// value is empty.
func canonicalSubresources(raw string) string {
	type pair struct{ k, v string }
	var ps []pair
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(part, "=")
		name, err := url.QueryUnescape(k)
		if err != nil || !subresources[name] {
			continue
		}
		val, err := url.QueryUnescape(v)
		if err != nil {
			val = v
		}
		ps = append(ps, pair{name, val})
	}
	if len(ps) == 0 {
		return ""
	}
	slices.SortStableFunc(ps, func(a, b pair) int { return strings.Compare(a.k, b.k) })
	var b strings.Builder
	for i, p := range ps {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		if p.v != "" {
			b.WriteByte('=')
			b.WriteString(p.v)
		}
	}
	return b.String()
}

// resourcePaths returns the request path as sent and, if different, the
// decoded path re-encoded the AWS way: clients sign one or the other
// (botocore the wire form, minio-go its own strict encoding).
func resourcePaths(r *http.Request) []string {
	sent := r.URL.EscapedPath()
	if uri := r.RequestURI; uri != "" && uri != "*" {
		if !strings.HasPrefix(uri, "/") {
			if u, err := url.ParseRequestURI(uri); err == nil {
				uri = u.RequestURI()
			}
		}
		sent, _, _ = strings.Cut(uri, "?")
	}
	if sent == "" {
		sent = "/"
	}
	paths := []string{sent}
	if strict := escapePath(r.URL.Path); strict != sent && strict != "" {
		paths = append(paths, strict)
	}
	return paths
}

// escapePath percent-encodes all but A-Z a-z 0-9 - . _ ~ and '/'.
func escapePath(p string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '-', c == '.', c == '_', c == '~', c == '/':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}
