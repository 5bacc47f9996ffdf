// Package query is Dewar's one query language, used by dewar search, the
// JSON API (GET /api/v1/search?q=) and the web UI: a lexer, a parser into a
// small AST (And, Or, Not, Term), a keyword registry that generates the
// help text, and helpers for the SQL backends, which compile the AST
// themselves. It imports nothing of Dewar's.
//
// # Grammar
//
// This text is also the constant Grammar; Help adds the field list.
//
//	A query is one or more terms. Terms side by side must all match (AND);
//	OR matches either side; NOT or a leading - excludes. NOT binds tighter
//	than AND, and AND tighter than OR; parentheses group.
//
//	  mime:text/x-php size:>1000 knowngood:false
//	  (domain:example.com OR email:*@example.net) -knowngood:true
//	  name:login.php AND NOT path:*/vendor/*
//
//	Terms
//	  field:value    a field from the list below; field names ignore case
//	  field:"a b"    a quoted value; quote values with spaces, ( ) or ";
//	                 inside quotes \" is a quote, \\ a backslash, \* a star
//	  HASH           a bare md5, sha1 or sha256 (32, 40 or 64 hex digits)
//	  word           any other word searches file names: login means
//	                 name:*login*; a word with * is taken as written (*.php
//	                 is name:*.php); a word with / searches paths (a/b is
//	                 path:*a/b*); "quoted words" never count as hashes
//	  AND OR NOT     in any case; to search for the word itself, quote it
//
//	Values
//	  text           * matches any run of characters: abc* (starts with),
//	                 *abc (ends with), *abc* (contains), a*b, and * alone
//	                 (has a value); without * the whole value must match
//	  number         1000, >1000, >=1000, <5, <=5, 100..2000 (inclusive),
//	                 100.. or ..2000; K, M, G, T multiply by 1024 (5M)
//	  date           YYYY-MM-DD (midnight UTC) or RFC 3339 with a zone
//	                 (2026-02-01T10:00:00Z); after: includes that instant,
//	                 before: excludes it
//	  bool           true or false
//	  hash           hex digits, any case; sha256:, sha1: and md5: also
//	                 take a prefix ending in * (sha256:e3b0c442*)
//	  job id         26 characters, as shown by dewar jobs
//
//	Limits: 4096 bytes per query, 1024 per value, 64 terms, depth 32.
//
// In EBNF, with NOT binding tighter than AND and AND tighter than OR:
//
//	query   = or .
//	or      = and { "OR" and } .
//	and     = unary { [ "AND" ] unary } .
//	unary   = ( "NOT" | "-" ) unary | "(" or ")" | term .
//	term    = field ":" value | word .
//	value   = bare | quoted .
//
// A bare value runs to white space or ")"; it may not hold "(" or '"'. A
// "-" is a negation only where a term starts (name:-x is a value), and it
// must touch its term.
//
// # Canonical form
//
// Node.String prints a canonical query that parses back to an Equal AST:
// fields lowercase, AND implicit, NOT as "-", hashes lowercase, job IDs
// uppercase, dates in UTC, numbers in plain bytes, bare words as the
// name:/path: terms they stand for, and parentheses only where a group
// was written.
//
// # Backends
//
// A backend walks the AST with a type switch. Term.Parts and Term.Like give
// text comparisons as literal runs or as a LIKE pattern (ESCAPE '\');
// Keyword.Fold says which fields compare without case; Needs says which
// records (files, paths, jobs) a search must reach.
package query
