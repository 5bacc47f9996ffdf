package query

import (
	"strings"
)

// aliases are names people try for a field.
var aliases = map[string]string{
	"file": "name", "filename": "name", "fname": "name", "dir": "path", "folder": "path",
	"type": "mime", "mimetype": "mime", "filetype": "mime", "content-type": "mime",
	"bytes": "size", "len": "size", "length": "size",
	"known": "knowngood", "good": "knowngood", "known-good": "knowngood", "known_good": "knowngood", "kg": "knowngood",
	"id": "job", "jobid": "job", "job_id": "job", "upload": "jobname", "archive": "jobname", "kit": "jobname",
	"user": "submitter", "by": "submitter", "from": "submitter", "author": "submitter",
	"note": "notes", "comment": "notes", "comments": "notes",
	"since": "after", "from_date": "after", "until": "before", "to": "before",
	"indicator": "ioc", "iocs": "ioc", "uri": "url", "link": "url", "host": "domain", "hostname": "domain",
	"fqdn": "domain", "mail": "email", "e-mail": "email", "ipv4": "ip", "ipv6": "ip", "addr": "ip",
	"tg": "telegram", "bot": "telegram", "chat": "telegram", "like": "similar", "ssdeep": "similar", "tlsh": "similar",
	"hash": "sha256", "sha-256": "sha256", "sha_256": "sha256", "sha-1": "sha1", "md-5": "md5",
}

// unknownField explains an unknown field, suggesting the likely one.
func (p *parser) unknownField(t token) *Error {
	f := strings.ToLower(t.field)
	raw := clip(t.val.raw)
	switch f {
	case "http", "https", "hxxp", "hxxps", "ftp":
		if strings.HasPrefix(t.val.raw, "//") {
			return p.errf(t.pos, ErrUnknownField, "unknown field %q: to search for a URL write url:%s", t.field, clip(t.field+":"+t.val.raw))
		}
	case "hash":
		if h := hashField(len(t.val.raw)); h != "" && isHex(t.val.raw) {
			return p.errf(t.pos, ErrUnknownField, "unknown field \"hash\": write the hash alone, or %s:%s", h, raw)
		}
	}
	if best := closest(f); best != "" {
		return p.errf(t.pos, ErrUnknownField, "unknown field %q; did you mean %s:%s?", clip(t.field), best, raw)
	}
	names := make([]string, len(keywords))
	for i, k := range keywords {
		names[i] = k.Name
	}
	return p.errf(t.pos, ErrUnknownField, "unknown field %q; fields are %s", clip(t.field), strings.Join(names, ", "))
}

// closest returns the alias or the field within edit distance 2 (1 for
// short names) of f, or "".
func closest(f string) string {
	if a, ok := aliases[f]; ok {
		return a
	}
	if len(f) > 24 {
		return ""
	}
	best, bestD := "", 3
	if len(f) <= 3 {
		bestD = 2
	}
	for _, k := range keywords {
		if d := distance(f, k.Name); d < bestD {
			best, bestD = k.Name, d
		}
	}
	return best
}

// distance is the Levenshtein distance between two short strings, by byte.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
