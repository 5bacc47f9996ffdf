package ioc

import (
	"bytes"
	"net/netip"
	"regexp"
	"strings"

	"mvdan.cc/xurls/v2"
)

// urlRe is xurls' strict URL pattern for the schemes kits send data over.
// It is only ever run on a short window starting at a scheme, so its cost
// does not grow with the file.
// Anchored, so a window that does not start with a URL fails at once
// instead of being searched to its end.
var urlRe = func() *regexp.Regexp {
	re, err := xurls.StrictMatchingScheme(`https?://|ftps?://|sftp://|wss?://`)
	if err != nil {
		panic(err)
	}
	re = regexp.MustCompile(`^(?:` + re.String() + `)`)
	re.Longest()
	return re
}()

var schemes = []string{"https", "http", "ftps", "ftp", "sftp", "wss", "ws"}

// maxWindow bounds the text a URL is looked for in.
const maxWindow = 4096

// maxNested bounds the URLs looked for inside one URL's path and query
// (redirectors: https://r.example/?u=https://evil.example/), which keeps
// the pattern's work within a small multiple of the text.
const maxNested = 4

// urls finds scheme://... URLs, also when written as JSON escapes them
// (https:\/\/host\/path) or defanged (hxxp, [:], [.], already refanged),
// and up to maxNested URLs nested in each one's path or query.
func (x *extractor) urls() {
	t := x.t
	for _, sep := range []string{"//", `\/\/`} {
		json := sep != "//"
		outer, nested := 0, 0 // end of the last URL, URLs found inside it
		for i := 0; i < len(t); {
			k := bytes.Index(t[i:], []byte(sep))
			if k < 0 {
				break
			}
			p := i + k
			i = p + len(sep)
			if p == 0 || t[p-1] != ':' {
				continue
			}
			limit := len(t)
			if p < outer {
				if nested++; nested > maxNested {
					i = outer
					continue
				}
				limit = outer
			}
			host, end := x.urlAt(p-1, json, limit)
			switch {
			case end == 0:
			case json:
				i = end
			case p >= outer:
				outer, nested = end, 0
				i = max(i, host)
			default:
				i = max(i, host)
			}
		}
	}
}

// urlAt tries a URL whose scheme ends at t[e] (the ':') and ends by
// limit. It returns where its host ends and where it ends, or zeros.
func (x *extractor) urlAt(e int, json bool, limit int) (hostEnd, end int) {
	t := x.t
	s := e
	for s > 0 && e-s < 5 && isAlpha(t[s-1]) {
		s--
	}
	scheme := strings.ToLower(string(t[s:e]))
	known := false
	for _, k := range schemes {
		if strings.HasSuffix(scheme, k) {
			s, scheme, known = e-len(k), k, true
			break
		}
	}
	if !known {
		return 0, 0
	}
	// The host first: it is cheap to check, and the pattern is not.
	a := e + 3
	if json {
		a = e + 5
	}
	j := a
	for j < limit && j-a < 512 && !urlStop(t[j]) && t[j] != '/' && t[j] != '?' && t[j] != '#' && t[j] != '\\' {
		j++
	}
	if _, _, ok := splitHost(t[a:j]); !ok {
		return 0, 0
	}
	end = j
	for end < limit && end-s < maxWindow {
		c := t[end]
		if c == '\\' && json && end+1 < len(t) && t[end+1] == '/' {
			end += 2
			continue
		}
		if urlStop(c) || c == '\\' {
			break
		}
		end++
	}
	w := t[s:end]
	if json {
		w = bytes.ReplaceAll(w, []byte(`\/`), []byte("/"))
	}
	var u []byte
	switch {
	case limit < len(t) && !json:
		// Nested in a URL already matched: it ends where that one does,
		// by the same character rules.
		u = w
	default:
		loc := urlRe.FindIndex(w)
		if loc == nil {
			return 0, 0
		}
		u = w[:loc[1]]
	}
	auth, hostport, ok := splitHost(u[len(scheme)+3:])
	if !ok {
		return 0, 0
	}
	typ, value, class := hostIndicator(hostOf(hostport))
	if typ == "" {
		return 0, 0
	}
	// Normalise: lowercase scheme and host, keep the rest as written.
	userinfo := auth[:len(auth)-len(hostport)]
	norm := scheme + "://" + string(userinfo) + strings.ToLower(string(hostport)) + string(u[len(scheme)+3+len(auth):])
	if len(norm) > maxValue {
		norm = norm[:maxValue]
	}
	stop := s + len(u)
	if json {
		stop = end
	}
	x.emit(URL, norm, "", s, stop)
	x.emit(typ, value, class, s, stop)
	return j, stop
}

// urlStop: bytes that end a URL in text.
func urlStop(c byte) bool {
	return c <= ' ' || c == '"' || c == '\'' || c == '`' || c == '<' || c == '>' || c == 0x7f
}

// splitHost cuts the authority off what follows "scheme://" and the
// host[:port] off the authority; ok reports a plausible host.
func splitHost(rest []byte) (auth, hostport []byte, ok bool) {
	auth = rest
	if k := bytes.IndexAny(rest, "/?#"); k >= 0 {
		auth = rest[:k]
	}
	hostport = auth
	if k := bytes.LastIndexByte(auth, '@'); k >= 0 {
		hostport = auth[k+1:]
	}
	h := hostOf(hostport)
	if h == "" {
		return nil, nil, false
	}
	typ, _, _ := hostIndicator(h)
	return auth, hostport, typ != ""
}

// hostOf strips the port and IPv6 brackets from host[:port], lowercases
// it and drops a final dot.
func hostOf(hostport []byte) string {
	host := hostport
	if len(host) > 0 && host[0] == '[' {
		k := bytes.IndexByte(host, ']')
		if k < 0 {
			return ""
		}
		host = host[1:k]
	} else if k := bytes.LastIndexByte(host, ':'); k >= 0 && allDigits(string(host[k+1:])) {
		host = host[:k]
	}
	return strings.TrimSuffix(strings.ToLower(string(host)), ".")
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return len(s) > 0
}

// hostIndicator classifies a URL or email host: an IP, or a domain with a
// recognised suffix (special-use names such as .example and .onion too:
// in a URL or address they are meant as names). Empty typ: not a host.
func hostIndicator(host string) (typ Type, value, class string) {
	if a, err := netip.ParseAddr(host); err == nil && a.Zone() == "" {
		if a.Is4() && strings.Count(host, ".") != 3 {
			return "", "", ""
		}
		a = a.Unmap()
		return IP, a.String(), ipClass(a)
	}
	name, ok := asciiName(host)
	if !ok || !validName(name) || !knownSuffix(name, true) {
		return "", "", ""
	}
	return Domain, name, ""
}

// localChar: what the pragmatic local part of an address may hold.
func localChar(c byte) bool {
	return alnum(c) || c == '.' || c == '_' || c == '+' || c == '-'
}

func hostChar(c byte) bool { return alnum(c) || c == '.' || c == '-' }

// emails finds local@domain with a recognised domain suffix. The part
// before '@' in a URL's authority (user:pass@host) is not an address.
func (x *extractor) emails() {
	t := x.t
	for i := 0; i < len(t); {
		k := bytes.IndexByte(t[i:], '@')
		if k < 0 {
			return
		}
		p := i + k
		i = p + 1
		s := p
		for s > 0 && p-s < 64 && localChar(t[s-1]) {
			s--
		}
		for s < p && t[s] == '.' {
			s++
		}
		e := p + 1
		for e < len(t) && e-p <= 253 && hostChar(t[e]) {
			e++
		}
		for e > p+1 && (t[e-1] == '.' || t[e-1] == '-') {
			e--
		}
		local := t[s:p]
		if len(local) == 0 || local[len(local)-1] == '.' || bytes.Contains(local, []byte("..")) || x.userinfo(s) {
			continue
		}
		domain := strings.ToLower(string(t[p+1 : e]))
		if !validName(domain) || !knownSuffix(domain, true) {
			continue
		}
		i = e
		x.emit(Email, string(local)+"@"+domain, "", s, e)
		x.emit(Domain, domain, "", p+1, e)
	}
}

// userinfo reports whether the address-like text at t[s] is the userinfo
// of a URL: "://" before it on the same token with no '/' in between.
func (x *extractor) userinfo(s int) bool {
	t := x.t
	for j := s - 1; j >= 0 && s-j < 512; j-- {
		c := t[j]
		if c <= ' ' || c == '"' || c == '\'' || c == '<' || c == '>' {
			return false
		}
		if c == '/' {
			return j >= 2 && t[j-1] == '/' && t[j-2] == ':'
		}
	}
	return false
}
