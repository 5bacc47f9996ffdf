package query

import (
	"fmt"
	"strings"
)

// Kind is the kind of value a field takes; it decides the operators and
// the checks Parse applies.
type Kind uint8

// Value kinds.
const (
	// KindText: text with * wildcards (OpEq, OpPrefix, OpSuffix,
	// OpContains, OpWildcard, OpAny).
	KindText Kind = iota + 1
	// KindHash: Keyword.HashLen hex digits, lowercased (OpEq), or a
	// shorter prefix ending in * (OpPrefix).
	KindHash
	// KindNumber: a non-negative integer with comparisons and ranges
	// (OpEq, OpGT, OpGE, OpLT, OpLE, OpBetween in Term.Low/High).
	KindNumber
	// KindBool: true or false (OpEq, Term.Value "true" or "false").
	KindBool
	// KindDate: a date or an instant (Term.Time); the field fixes the
	// operator: after is OpGE, before is OpLT.
	KindDate
	// KindJobID: a 26-character job ID, uppercased (OpEq).
	KindJobID
	// KindSHA256: one whole sha256, lowercased (OpEq), no wildcards.
	KindSHA256
)

var kindNames = [...]string{KindText: "text", KindHash: "hash", KindNumber: "number",
	KindBool: "bool", KindDate: "date", KindJobID: "job id", KindSHA256: "sha256"}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// MarshalText makes Kind read well in JSON (the API's help document).
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Target says which records a field describes. A search for files or for
// jobs may use any field; Needs tells a backend which tables that takes.
type Target uint8

// Targets. Paths are the entries of a job's tree: a file's names live
// there, and they are the link between files and jobs.
const (
	TargetFiles Target = 1 << iota
	TargetPaths
	TargetJobs
	// TargetBoth marks fields that files and jobs each have (knowngood,
	// after, before): a search answers them on its own records.
	TargetBoth = TargetFiles | TargetJobs
)

// Has reports whether t includes all of x.
func (t Target) Has(x Target) bool { return t&x == x }

func (t Target) String() string {
	var s []string
	for _, n := range []struct {
		t    Target
		name string
	}{{TargetFiles, "files"}, {TargetPaths, "paths"}, {TargetJobs, "jobs"}} {
		if t&n.t != 0 {
			s = append(s, n.name)
		}
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ",")
}

// MarshalText makes Target read well in JSON.
func (t Target) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// Keyword describes one field of the language. The registry is the single
// source of the help text shown by the CLI, the API and the UI.
type Keyword struct {
	Name   string `json:"name"` // lowercase, as written before the colon
	Kind   Kind   `json:"kind"`
	Target Target `json:"target"`
	// HashLen is the number of hex digits of a KindHash or KindSHA256 field.
	HashLen int `json:"hash_len,omitempty"`
	// Fold: the field's values are compared ignoring case. Parse keeps text
	// values as written (hashes and job IDs are canonicalised); the backend
	// folds both sides, e.g. lower(col) LIKE lower(?).
	Fold        bool   `json:"fold,omitempty"`
	Description string `json:"description"` // one line
	Example     string `json:"example"`     // a query using the field; it parses
}

// exampleJob and exampleSHA256 are syntactically valid values for examples.
const (
	exampleJob    = "01JJ5ZQ3W8M9X6T2R4B7C1D0EF"
	exampleSHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// keywords is the registry, in help order.
var keywords = []Keyword{
	{Name: "sha256", Kind: KindHash, Target: TargetFiles, HashLen: 64,
		Description: "the file's SHA-256; a prefix ends in *", Example: "sha256:e3b0c442*"},
	{Name: "sha1", Kind: KindHash, Target: TargetFiles, HashLen: 40,
		Description: "the file's SHA-1; a prefix ends in *", Example: "sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709"},
	{Name: "md5", Kind: KindHash, Target: TargetFiles, HashLen: 32,
		Description: "the file's MD5; a prefix ends in *", Example: "md5:d41d8cd98f00b204e9800998ecf8427e"},
	{Name: "name", Kind: KindText, Target: TargetPaths, Fold: true,
		Description: "a name the file has in some job (the last element of its path)", Example: "name:login.php"},
	{Name: "path", Kind: KindText, Target: TargetPaths, Fold: true,
		Description: "a path the file has in some job, from the archive root", Example: "path:*/admin/*"},
	{Name: "mime", Kind: KindText, Target: TargetFiles, Fold: true,
		Description: "the MIME type detected from the content", Example: "mime:text/x-php"},
	{Name: "size", Kind: KindNumber, Target: TargetFiles,
		Description: "the file's size in bytes", Example: "size:>1000"},
	{Name: "knowngood", Kind: KindBool, Target: TargetBoth,
		Description: "a file seen in a known-good job; a job submitted as known-good", Example: "knowngood:false"},
	{Name: "job", Kind: KindJobID, Target: TargetJobs,
		Description: "one job, or the files in it", Example: "job:" + exampleJob},
	{Name: "jobname", Kind: KindText, Target: TargetJobs, Fold: true,
		Description: "the job's name: the uploaded key or file name", Example: "jobname:*.zip"},
	{Name: "submitter", Kind: KindText, Target: TargetJobs, Fold: true,
		Description: "the user who submitted the job", Example: "submitter:alice"},
	{Name: "notes", Kind: KindText, Target: TargetJobs, Fold: true,
		Description: "the job's notes", Example: `notes:"*acme bank*"`},
	{Name: "after", Kind: KindDate, Target: TargetBoth,
		Description: "first seen (files) or submitted (jobs) at or after", Example: "after:2026-01-01"},
	{Name: "before", Kind: KindDate, Target: TargetBoth,
		Description: "first seen (files) or submitted (jobs) before", Example: "before:2026-02-01T10:00:00Z"},
	{Name: "ioc", Kind: KindText, Target: TargetFiles,
		Description: "any indicator found in the file: URL, domain, email, IP, Telegram", Example: "ioc:evil@example.com"},
	{Name: "url", Kind: KindText, Target: TargetFiles,
		Description: "a URL found in the file (also behind base64, hex, rot13)", Example: "url:*example.com/login*"},
	{Name: "domain", Kind: KindText, Target: TargetFiles, Fold: true,
		Description: "a domain found in the file", Example: "domain:*.example.com"},
	{Name: "email", Kind: KindText, Target: TargetFiles, Fold: true,
		Description: "an email address found in the file", Example: "email:*@example.net"},
	{Name: "ip", Kind: KindText, Target: TargetFiles, Fold: true,
		Description: "an IPv4 or IPv6 address found in the file", Example: "ip:203.0.113.*"},
	{Name: "telegram", Kind: KindText, Target: TargetFiles,
		Description: "a Telegram bot token or chat id found in the file", Example: "telegram:123456789:*"},
	{Name: "token", Kind: KindText, Target: TargetFiles,
		Description: "a code token, for finding rare code structures", Example: "token:*base64_decode*"},
	{Name: "similar", Kind: KindSHA256, Target: TargetFiles, HashLen: 64,
		Description: "files similar to this one (ssdeep, TLSH, image hash)", Example: "similar:" + exampleSHA256},
}

// Keywords returns the registry in help order (a copy).
func Keywords() []Keyword { return append([]Keyword(nil), keywords...) }

// Lookup finds a field by name, ignoring case.
func Lookup(name string) (Keyword, bool) {
	for _, k := range keywords {
		if strings.EqualFold(k.Name, name) {
			return k, true
		}
	}
	return Keyword{}, false
}

// Grammar is the language's summary, the same text as the package
// documentation; Help appends the field list to it.
const Grammar = `A query is one or more terms. Terms side by side must all match (AND);
OR matches either side; NOT or a leading - excludes. NOT binds tighter
than AND, and AND tighter than OR; parentheses group.

  mime:text/x-php size:>1000 knowngood:false
  (domain:example.com OR email:*@example.net) -knowngood:true
  name:login.php AND NOT path:*/vendor/*

Terms
  field:value    a field from the list below; field names ignore case
  field:"a b"    a quoted value; quote values with spaces, ( ) or ";
                 inside quotes \" is a quote, \\ a backslash, \* a star
  HASH           a bare md5, sha1 or sha256 (32, 40 or 64 hex digits)
  word           any other word searches file names: login means
                 name:*login*; a word with * is taken as written (*.php
                 is name:*.php); a word with / searches paths (a/b is
                 path:*a/b*); "quoted words" never count as hashes
  AND OR NOT     in any case; to search for the word itself, quote it

Values
  text           * matches any run of characters: abc* (starts with),
                 *abc (ends with), *abc* (contains), a*b, and * alone
                 (has a value); without * the whole value must match
  number         1000, >1000, >=1000, <5, <=5, 100..2000 (inclusive),
                 100.. or ..2000; K, M, G, T multiply by 1024 (5M)
  date           YYYY-MM-DD (midnight UTC) or RFC 3339 with a zone
                 (2026-02-01T10:00:00Z); after: includes that instant,
                 before: excludes it
  bool           true or false
  hash           hex digits, any case; sha256:, sha1: and md5: also
                 take a prefix ending in * (sha256:e3b0c442*)
  job id         26 characters, as shown by dewar jobs

Limits: 4096 bytes per query, 1024 per value, 64 terms, depth 32.
`

// Help returns Grammar followed by one entry per field: the one help text
// for dewar search --help, the API and the UI.
func Help() string {
	var b strings.Builder
	b.WriteString(Grammar)
	b.WriteString("\nFields\n")
	for _, k := range keywords {
		fmt.Fprintf(&b, "  %-10s %-7s %-11s %s\n", k.Name, k.Kind, k.Target, k.Description)
		fmt.Fprintf(&b, "  %30s e.g. %s\n", "", k.Example)
	}
	return b.String()
}
