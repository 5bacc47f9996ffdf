package s3store

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Config is a parsed store URL.
type Config struct {
	Bucket string
	// Prefix is the key prefix of the store without slashes at its ends;
	// "" is the bucket's root.
	Prefix string
	// Endpoint is the upstream's base URL (http or https); "" means AWS S3
	// (or AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL when set, as the SDK does).
	Endpoint string
	// Region is the SigV4 signing region; "" leaves it to the SDK's
	// configuration (AWS_REGION, profiles), else us-east-1.
	Region string
	// PathStyle addresses the bucket in the path (http://host/bucket/key)
	// rather than the host name (http://bucket.host/key).
	PathStyle bool
	// Static credentials; when AccessKey is "" the SDK's default chain
	// applies (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
	// profiles, instance roles).
	AccessKey, SecretKey, SessionToken string
}

// String returns the store URL with secrets redacted, for logs.
func (c Config) String() string {
	u := url.URL{Scheme: "s3", Host: c.Bucket}
	if c.Prefix != "" {
		u.Path = "/" + c.Prefix
	}
	q := url.Values{}
	if c.Endpoint != "" {
		q.Set("endpoint", c.Endpoint)
	}
	if c.Region != "" {
		q.Set("region", c.Region)
	}
	if c.PathStyle != (c.Endpoint != "") {
		q.Set("path_style", strconv.FormatBool(c.PathStyle))
	}
	if c.AccessKey != "" {
		q.Set("access_key", c.AccessKey)
		q.Set("secret_key", "REDACTED")
	}
	if c.SessionToken != "" {
		q.Set("session_token", "REDACTED")
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// ParseURL reads a store URL:
//
//	s3://bucket[/prefix][?param=value&…]
//
// with the parameters
//
//	endpoint       base URL of an S3 service other than AWS (http or https,
//	               no path), e.g. http://127.0.0.1:9000
//	region         signing region
//	path_style     true or false; default true with an endpoint (MinIO,
//	               Ceph and Dewar want it), false for AWS
//	access_key     static credentials, with secret_key (both or neither)
//	secret_key
//	session_token  optional, with access_key
//
// The prefix is taken percent-decoded, without slashes at its ends; empty,
// "." and ".." segments are refused. Unknown or repeated parameters, user
// info ("s3://key:secret@bucket"), a port on the bucket and bucket names S3
// would refuse are errors wrapping ErrBadURL.
func ParseURL(raw string) (Config, error) {
	bad := func(format string, args ...any) (Config, error) {
		return Config{}, fmt.Errorf("%w: %s", ErrBadURL, fmt.Sprintf(format, args...))
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the URL, secrets included; keep only the cause.
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err
		}
		return bad("%v", err)
	}
	if u.Scheme != "s3" {
		return bad("scheme %q, want s3://bucket/prefix", u.Scheme)
	}
	if u.Opaque != "" {
		return bad("want s3://bucket/prefix, not s3:%s", u.Opaque)
	}
	if u.User != nil {
		return bad("credentials go in access_key and secret_key, not before the bucket")
	}
	if u.Fragment != "" || strings.HasSuffix(raw, "#") {
		return bad("unexpected fragment")
	}
	if u.Port() != "" || strings.HasSuffix(u.Host, ":") {
		return bad("the host part is the bucket name and takes no port; the upstream goes in endpoint=")
	}
	c := Config{Bucket: u.Host}
	if err := checkBucket(c.Bucket); err != nil {
		return bad("%v", err)
	}
	if c.Prefix, err = cleanPrefix(u.Path); err != nil {
		return bad("%v", err)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return bad("query: %v", err)
	}
	pathStyle := ""
	for name, vals := range q {
		if len(vals) != 1 {
			return bad("parameter %q given %d times", name, len(vals))
		}
		v := vals[0]
		switch name {
		case "endpoint":
			c.Endpoint = v
		case "region":
			c.Region = v
		case "path_style":
			pathStyle = v
		case "access_key":
			c.AccessKey = v
		case "secret_key":
			c.SecretKey = v
		case "session_token":
			c.SessionToken = v
		default:
			return bad("unknown parameter %q (want endpoint, region, path_style, access_key, secret_key, session_token)", name)
		}
	}
	if c.Endpoint != "" {
		if err := checkEndpoint(c.Endpoint); err != nil {
			return bad("endpoint: %v", err)
		}
		c.Endpoint = strings.TrimSuffix(c.Endpoint, "/")
	}
	if _, ok := q["region"]; ok && c.Region == "" {
		return bad("empty region")
	}
	c.PathStyle = c.Endpoint != ""
	if q.Has("path_style") {
		if c.PathStyle, err = strconv.ParseBool(pathStyle); err != nil {
			return bad("path_style %q is not true or false", pathStyle)
		}
	}
	switch {
	case (c.AccessKey == "") != (c.SecretKey == ""):
		return bad("access_key and secret_key go together")
	case c.SessionToken != "" && c.AccessKey == "":
		return bad("session_token needs access_key and secret_key")
	}
	return c, nil
}

// checkBucket applies S3's bucket naming rules: 3 to 63 characters of
// lowercase letters, digits, dots and hyphens, starting and ending with a
// letter or digit, no "..", not an IP address.
func checkBucket(b string) error {
	if b == "" {
		return fmt.Errorf("no bucket (want s3://bucket/prefix)")
	}
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("bucket %q: names have 3 to 63 characters", b)
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return fmt.Errorf("bucket %q: only lowercase letters, digits, '.' and '-' are allowed", b)
		}
	}
	if !isAlnum(b[0]) || !isAlnum(b[len(b)-1]) || strings.Contains(b, "..") {
		return fmt.Errorf("bucket %q: must start and end with a letter or digit, without \"..\"", b)
	}
	if looksLikeIPv4(b) {
		return fmt.Errorf("bucket %q: must not look like an IP address", b)
	}
	return nil
}

func isAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

func looksLikeIPv4(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		if _, err := strconv.ParseUint(p, 10, 8); err != nil {
			return false
		}
	}
	return true
}

// cleanPrefix turns a URL path into a key prefix: "/a/b/" → "a/b".
func cleanPrefix(p string) (string, error) {
	p = strings.TrimPrefix(p, "/")
	p = strings.TrimSuffix(p, "/")
	if p == "" {
		return "", nil
	}
	for _, seg := range strings.Split(p, "/") {
		switch seg {
		case "", ".", "..":
			return "", fmt.Errorf("prefix %q has an empty, \".\" or \"..\" segment", p)
		}
	}
	if strings.ContainsRune(p, 0) {
		return "", fmt.Errorf("prefix contains NUL")
	}
	return p, nil
}

// checkEndpoint accepts an http(s) base URL with a host and no path,
// query or credentials.
func checkEndpoint(e string) error {
	u, err := url.Parse(e)
	if err != nil {
		return err
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q is not an http or https URL", e)
	case u.Host == "":
		return fmt.Errorf("%q has no host", e)
	case u.User != nil:
		return fmt.Errorf("credentials go in access_key and secret_key")
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "":
		return fmt.Errorf("%q: want scheme://host[:port] only", e)
	}
	return nil
}
