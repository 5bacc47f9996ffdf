package ioc

import (
	"net/netip"
	"strings"
)

// IP rules. An IPv4 address is a run of exactly four dot-separated decimal
// octets (0-255, no leading zeros: "010" is octal to some parsers and a
// version to most writers), standing alone:
//
//   - not glued to letters, digits, '-' or '_' (v1.2.3.4, 1.2.3.4a and
//     10.0.0.1-10.0.0.9 are not addresses), and not part of a longer
//     dotted run (1.3.6.1.4.1 is an OID);
//   - not after a product token and slash (Chrome/41.0.228.0, a path
//     segment jquery/1.2.3.4/);
//   - not next to other decimal numbers, one space or comma away, unless
//     they are addresses too (SVG path data "2.12 3.51.98.32 2.03.5");
//   - when all four octets are 24 or less (section numbers 7.6.3.1,
//     24.6.1.9), only quoted on its own or followed by :port or /prefix
//     ('10.0.0.1', 8.8.8.8:53, 10.0.0.0/8);
//   - not after a version word ("version 1.2.3.4", "$version = '1.2.3.4'",
//     "@version 1.2.3.4", "ver. 5.0.0.1", "build 10.0.19041.1", "v 1.2.3.4"),
//     looked for over at most a few spaces, quotes, '=', ':' or "=>".
//
// An IPv6 address is a run of hex digits, colons and dots that netip
// parses, with at least three groups (an embedded IPv4 counts two) or
// exactly "::1", and not glued to identifier characters: so "DB::e",
// "a::before", times (12:30:45) and MACs (00:1a:2b:3c:4d:5e) are not.
//
// Addresses in private, loopback, link-local, multicast, documentation and
// reserved ranges are kept, with the range in Class.

var versionWords = set("version", "ver", "v", "build", "release", "rev", "revision", "firmware", "fw", "update", "vers")

// ipv4 checks the all-digit dotted run t[s:e].
func (x *extractor) ipv4(s, e int) {
	t := x.t
	if s > 0 && t[s-1] == '_' || e < len(t) && t[e] == '_' {
		return
	}
	if e-s > 1 && t[e-1] == '.' && t[e-2] != '.' {
		e-- // end of a sentence
	}
	if t[s] == '.' || t[e-1] == '.' || e-s < 7 || e-s > 15 {
		return
	}
	a, err := netip.ParseAddr(string(t[s:e]))
	if err != nil || !a.Is4() {
		return
	}
	if s > 1 && t[s-1] == '/' && isAlpha(t[s-2]) {
		return
	}
	if versionBefore(t, s) || numberSoup(t, s, e) {
		return
	}
	if b := a.As4(); b[0] <= 24 && b[1] <= 24 && b[2] <= 24 && b[3] <= 24 && !addressContext(t, s, e) {
		return
	}
	x.emit(IP, a.String(), ipClass(a), s, e)
}

// addressContext reports whether t[s:e] is quoted on its own, or followed
// by a port or a prefix length: what makes "10.0.0.1" an address rather
// than section 10.0.0.1 of a document.
func addressContext(t []byte, s, e int) bool {
	if s > 0 && e < len(t) && isQuote(t[s-1]) && t[e] == t[s-1] {
		return true
	}
	return e+1 < len(t) && (t[e] == ':' || t[e] == '/') && digit(t[e+1])
}

// numberSoup reports whether a decimal number sits next to t[s:e], one
// space or comma away: SVG path data ("2.12 3.51.98.32 2.03.5") and
// number lists, where digits and dots run together.
func numberSoup(t []byte, s, e int) bool {
	p := s
	for k := 0; k < 2 && p > 0 && (t[p-1] == ' ' || t[p-1] == ','); k++ {
		p--
	}
	if p < s && p > 0 && digit(t[p-1]) && !quadBefore(t, p) {
		return true
	}
	n := e
	for k := 0; k < 2 && n < len(t) && (t[n] == ' ' || t[n] == ','); k++ {
		n++
	}
	if n > e && n < len(t) && (digit(t[n]) || t[n] == '.' || t[n] == '-') && !quadAt(t, n) {
		return true
	}
	return false
}

// quadAt and quadBefore report whether a dotted quad starts at t[i] or
// ends at t[i]: a list of addresses is not soup.
func quadAt(t []byte, i int) bool {
	j := i
	for j < len(t) && j-i < 16 && (digit(t[j]) || t[j] == '.') {
		j++
	}
	_, err := netip.ParseAddr(string(t[i:j]))
	return err == nil
}

func quadBefore(t []byte, i int) bool {
	j := i
	for j > 0 && i-j < 16 && (digit(t[j-1]) || t[j-1] == '.') {
		j--
	}
	_, err := netip.ParseAddr(string(t[j:i]))
	return err == nil
}

// versionBefore reports whether a version word precedes t[s], over
// separators.
func versionBefore(t []byte, s int) bool {
	j := s
	for n := 0; j > 0 && n < 8; n++ {
		c := t[j-1]
		if c != ' ' && c != '\t' && c != ':' && c != '=' && c != '>' && c != '"' && c != '\'' && c != '.' && c != '#' && c != '(' {
			break
		}
		j--
	}
	w := j
	for w > 0 && j-w < 10 && isAlpha(t[w-1]) {
		w--
	}
	if w == j || (w > 0 && isAlpha(t[w-1])) {
		return false
	}
	return versionWords[strings.ToLower(string(t[w:j]))]
}

// colons scans around each ':' for Telegram bot tokens and IPv6
// addresses. Each run of IPv6 characters is tried once, so a file of
// colons costs no more than a file of letters.
func (x *extractor) colons() {
	t := x.t
	next := 0 // t[:next] was consumed by an earlier find or run
	for i := 0; i < len(t); i++ {
		if t[i] != ':' {
			continue
		}
		if end := x.botToken(i); end > 0 {
			next = end
			continue
		}
		if i < next {
			continue
		}
		next = x.ipv6(i, next)
	}
}

func ipv6Char(c byte) bool { return hexDigit(c) || c == ':' || c == '.' }

func hexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func identChar(c byte) bool { return alnum(c) || c == '_' }

// ipv6 tries the run of IPv6 characters around the ':' at t[p], not
// reaching back before floor, and returns the run's end.
func (x *extractor) ipv6(p, floor int) int {
	t := x.t
	s, e := p, p
	for s > floor && ipv6Char(t[s-1]) {
		s--
	}
	for e < len(t) && ipv6Char(t[e]) {
		e++
	}
	end := e
	for e > p && t[e-1] == '.' {
		e--
	}
	if e-s > 45 || s > 0 && (identChar(t[s-1]) || t[s-1] == '.') || e < len(t) && identChar(t[e]) {
		return end
	}
	run := string(t[s:e])
	if strings.Count(run, ":") < 2 {
		return end
	}
	groups := 0
	for _, g := range strings.Split(run, ":") {
		switch {
		case strings.Contains(g, "."):
			groups += 2
		case g != "":
			groups++
		}
	}
	if groups < 3 && run != "::1" {
		return end
	}
	a, err := netip.ParseAddr(run)
	if err != nil || !a.Is6() {
		return end
	}
	a = a.Unmap()
	x.emit(IP, a.String(), ipClass(a), s, e)
	return end
}

var (
	documentation = []netip.Prefix{
		netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("198.51.100.0/24"),
		netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8::/32"),
	}
	reserved = []netip.Prefix{
		netip.MustParsePrefix("0.0.0.0/8"), netip.MustParsePrefix("100.64.0.0/10"),
		netip.MustParsePrefix("192.0.0.0/24"), netip.MustParsePrefix("198.18.0.0/15"),
		netip.MustParsePrefix("240.0.0.0/4"), netip.MustParsePrefix("100::/64"),
	}
)

// ipClass names the range a.
func ipClass(a netip.Addr) string {
	in := func(ps []netip.Prefix) bool {
		for _, p := range ps {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	switch {
	case a.IsUnspecified():
		return Unspecified
	case a.IsLoopback():
		return Loopback
	case a.IsPrivate():
		return Private
	case a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast():
		return LinkLocal
	case a.IsMulticast():
		return Multicast
	case in(documentation):
		return Documentation
	case in(reserved):
		return Reserved
	}
	return Public
}
