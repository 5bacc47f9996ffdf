package sigv4

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// authInfo is what the Authorization header or the presigned query says.
type authInfo struct {
	presigned        bool
	accessKey        string
	date             string // yyyymmdd from the credential scope
	region           string
	signedHeaders    []string
	signedHeadersRaw string
	signature        []byte    // decoded; nil when not 64 hex digits
	amzDate          string    // request time as it enters the string to sign
	time             time.Time // request time
	expires          time.Duration
	payloadHash      string // last line of the canonical request
}

func (a *authInfo) scope() string {
	return a.date + "/" + a.region + "/" + service + "/" + terminator
}

// parseAuth reads the SigV4 parameters from the header or the query.
func parseAuth(r *http.Request) (*authInfo, error) {
	authz := r.Header.Get("Authorization")
	var q url.Values
	if r.URL.RawQuery != "" {
		q = r.URL.Query()
	}
	_, presigned := q["X-Amz-Algorithm"]
	switch {
	case authz != "" && presigned:
		return nil, fmt.Errorf("sigv4: both Authorization header and X-Amz-Algorithm query: %w", ErrMalformedAuth)
	case authz != "":
		return parseHeaderAuth(r, authz)
	case presigned:
		return parseQueryAuth(r, q)
	}
	return nil, ErrMissingAuth
}

func parseHeaderAuth(r *http.Request, authz string) (*authInfo, error) {
	alg, rest, _ := strings.Cut(authz, " ")
	if alg != algorithm {
		return nil, fmt.Errorf("sigv4: authorization scheme %q: %w", alg, ErrUnsupportedAlgorithm)
	}
	var cred, signed, sig string
	var haveCred, haveSigned, haveSig bool
	for field := range strings.SplitSeq(rest, ",") {
		field = strings.TrimSpace(field)
		if field == "" {
			continue
		}
		k, v, ok := strings.Cut(field, "=")
		var dup bool
		switch {
		case !ok:
			return nil, fmt.Errorf("sigv4: authorization field %q has no '=': %w", field, ErrMalformedAuth)
		case k == "Credential":
			dup, cred, haveCred = haveCred, v, true
		case k == "SignedHeaders":
			dup, signed, haveSigned = haveSigned, v, true
		case k == "Signature":
			dup, sig, haveSig = haveSig, v, true
		default:
			return nil, fmt.Errorf("sigv4: unknown authorization field %q: %w", k, ErrMalformedAuth)
		}
		if dup {
			return nil, fmt.Errorf("sigv4: authorization field %q repeated: %w", k, ErrMalformedAuth)
		}
	}
	if !haveCred || !haveSigned || !haveSig {
		return nil, fmt.Errorf("sigv4: authorization needs Credential, SignedHeaders and Signature: %w", ErrMalformedAuth)
	}
	a := &authInfo{}
	if err := a.setCredential(cred); err != nil {
		return nil, err
	}
	if err := a.setSignedHeaders(signed); err != nil {
		return nil, err
	}
	a.setSignature(sig)

	if v := r.Header.Get("X-Amz-Date"); v != "" {
		t, err := time.Parse(amzDateFormat, v)
		if err != nil {
			return nil, fmt.Errorf("sigv4: x-amz-date %q: %w", v, ErrMissingDate)
		}
		a.time, a.amzDate = t, v
	} else if v := r.Header.Get("Date"); v != "" {
		t, err := http.ParseTime(v)
		if err != nil {
			return nil, fmt.Errorf("sigv4: Date %q: %w", v, ErrMissingDate)
		}
		a.time, a.amzDate = t.UTC(), t.UTC().Format(amzDateFormat)
	} else {
		return nil, fmt.Errorf("sigv4: no x-amz-date or Date header: %w", ErrMissingDate)
	}
	if err := a.checkScopeDate(); err != nil {
		return nil, err
	}

	vs := r.Header.Values("X-Amz-Content-Sha256")
	if len(vs) == 0 {
		return nil, ErrMissingContentSHA256
	}
	if len(vs) > 1 {
		return nil, fmt.Errorf("sigv4: x-amz-content-sha256 repeated: %w", ErrBadContentSHA256)
	}
	a.payloadHash = vs[0]
	return a, nil
}

func parseQueryAuth(r *http.Request, q url.Values) (*authInfo, error) {
	get := func(name string) (string, error) {
		vs := q[name]
		switch {
		case len(vs) == 0:
			return "", fmt.Errorf("sigv4: presigned URL lacks %s: %w", name, ErrMalformedAuth)
		case len(vs) > 1:
			return "", fmt.Errorf("sigv4: presigned URL repeats %s: %w", name, ErrMalformedAuth)
		}
		return vs[0], nil
	}
	alg, err := get("X-Amz-Algorithm")
	if err != nil {
		return nil, err
	}
	if alg != algorithm {
		return nil, fmt.Errorf("sigv4: X-Amz-Algorithm %q: %w", alg, ErrUnsupportedAlgorithm)
	}
	a := &authInfo{presigned: true}
	var vals [5]string
	for i, name := range []string{"X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"} {
		if vals[i], err = get(name); err != nil {
			return nil, err
		}
	}
	cred, date, expires, signed, sig := vals[0], vals[1], vals[2], vals[3], vals[4]
	if err := a.setCredential(cred); err != nil {
		return nil, err
	}
	if err := a.setSignedHeaders(signed); err != nil {
		return nil, err
	}
	a.setSignature(sig)
	t, err := time.Parse(amzDateFormat, date)
	if err != nil {
		return nil, fmt.Errorf("sigv4: X-Amz-Date %q: %w", date, ErrMalformedAuth)
	}
	a.time, a.amzDate = t, date
	if err := a.checkScopeDate(); err != nil {
		return nil, err
	}
	secs, err := strconv.ParseInt(expires, 10, 64)
	if err != nil || secs < 1 || secs > maxExpires {
		return nil, fmt.Errorf("sigv4: X-Amz-Expires %q must be 1..%d seconds: %w", expires, maxExpires, ErrMalformedAuth)
	}
	a.expires = time.Duration(secs) * time.Second

	switch vs := q["X-Amz-Content-Sha256"]; {
	case len(vs) > 1:
		return nil, fmt.Errorf("sigv4: presigned URL repeats X-Amz-Content-Sha256: %w", ErrMalformedAuth)
	case len(vs) == 1:
		a.payloadHash = vs[0]
	case slices.Contains(a.signedHeaders, "x-amz-content-sha256"):
		// A client that signed the header used its value as the payload hash.
		a.payloadHash = r.Header.Get("X-Amz-Content-Sha256")
	default:
		a.payloadHash = unsignedPayload
	}
	return a, nil
}

// setCredential parses "AK/yyyymmdd/region/s3/aws4_request". The access key
// is everything before the last four fields.
func (a *authInfo) setCredential(cred string) error {
	parts := strings.Split(cred, "/")
	n := len(parts)
	if n < 5 {
		return fmt.Errorf("sigv4: credential %q is not AK/date/region/s3/aws4_request: %w", cred, ErrMalformedAuth)
	}
	a.accessKey = strings.Join(parts[:n-4], "/")
	a.date, a.region = parts[n-4], parts[n-3]
	switch {
	case a.accessKey == "":
		return fmt.Errorf("sigv4: credential has an empty access key: %w", ErrMalformedAuth)
	case parts[n-2] != service:
		return fmt.Errorf("sigv4: credential names service %q, expecting %q: %w", parts[n-2], service, ErrMalformedAuth)
	case parts[n-1] != terminator:
		return fmt.Errorf("sigv4: credential terminator %q, expecting %q: %w", parts[n-1], terminator, ErrMalformedAuth)
	case a.region == "":
		return fmt.Errorf("sigv4: credential has an empty region: %w", ErrMalformedAuth)
	}
	if _, err := time.Parse(shortDateFormat, a.date); err != nil || len(a.date) != 8 {
		return fmt.Errorf("sigv4: credential date %q: %w", a.date, ErrMalformedAuth)
	}
	return nil
}

// setSignedHeaders keeps the client's order (it signed that string) but
// insists on lowercase, unique names that include host.
func (a *authInfo) setSignedHeaders(s string) error {
	a.signedHeadersRaw = s
	host := false
	seen := make(map[string]bool)
	for name := range strings.SplitSeq(s, ";") {
		if name == "" || name != strings.ToLower(name) || strings.ContainsAny(name, " \t:") {
			return fmt.Errorf("sigv4: signed header name %q: %w", name, ErrMalformedAuth)
		}
		if seen[name] {
			return fmt.Errorf("sigv4: signed header %q repeated: %w", name, ErrMalformedAuth)
		}
		seen[name] = true
		host = host || name == "host"
		a.signedHeaders = append(a.signedHeaders, name)
	}
	if !host {
		return fmt.Errorf("sigv4: host is not among the signed headers: %w", ErrMalformedAuth)
	}
	return nil
}

// setSignature decodes the hex signature; a badly formed one simply
// fails to match later.
func (a *authInfo) setSignature(s string) {
	if len(s) != 64 {
		return
	}
	if b, err := hex.DecodeString(s); err == nil {
		a.signature = b
	}
}

func (a *authInfo) checkScopeDate() error {
	if day := a.time.UTC().Format(shortDateFormat); day != a.date {
		return fmt.Errorf("sigv4: credential date %s is not the request date %s: %w", a.date, day, ErrMalformedAuth)
	}
	return nil
}
