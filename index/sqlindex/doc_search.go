// # Analyses and search (migration 0003)
//
// index.Analyses and index.Searcher add these tables, and two columns to
// tree. Text that goes into them is made valid UTF-8 without NUL first
// (U+FFFD for what is not), so both databases store the same.
//
//	tree.name, tree.known_good
//	    name is the last element of the path with ASCII letters folded to
//	    lowercase (the one case folding of the index, see below), set by
//	    Finish and backfilled by the migration; indexed with (name, blob,
//	    job_id) for name: searches of files and of jobs. known_good is true
//	    when the job is known-good and ended done (jobs never change either
//	    after Finish); a partial index (blob, job_id) WHERE known_good
//	    holds only those rows, so KnownGoodOverlap probes it once per
//	    distinct file of a job however common the file is elsewhere.
//
//	analyses(id PK, ref UNIQUE -> files, ssdeep, tlsh, tlsh_lvalue NULL,
//	         pdq, phash, language, minhash, analyzed_at)
//	    one row per analysed file. id is the short key of the per-file rows
//	    below (a 64-digit ref in each of hundreds of token rows per file
//	    would make those tables several times larger). tlsh_lvalue is the
//	    TLSH length bucket (the third and fourth digits after "T1", whose
//	    nibbles TLSH prints swapped; NULL without a TLSH), indexed for
//	    TLSHCandidates; minhash is the signature as little-endian uint32s.
//
//	analysis_versions(ref, analyzer, version; PK (ref, analyzer))
//	    which version of each analyzer produced a file's analysis.
//	    StaleFiles walks files in ref order and probes this key, so a full
//	    reanalysis pass reads each file once whatever is stale.
//
//	ioc_values(id PK, type, value, key, rkey; UNIQUE (value, type))
//	    the distinct indicators; key is the value folded, rkey key reversed
//	    by character, each indexed (with type): an equality or literal
//	    prefix is a range of key, a literal suffix (email:*@example.net,
//	    domain:*.example.com) a range of rkey.
//	file_iocs(file_id, ioc_id, chain, class, context;
//	          PK (file_id, ioc_id, chain)), indexed by (ioc_id, file_id)
//	    each file's indicators, once per decoding chain.
//
//	tokens(id PK, token UNIQUE, jobs)
//	    the distinct tokens; jobs counts the done jobs whose files had the
//	    token, once per job: Finish adds one for every distinct token of
//	    the job's files (its tree's and its upload's) in one statement.
//	    SetAnalysis does not change the counts, so after a reanalysis they
//	    count the jobs as their files were analysed when each finished.
//	file_tokens(file_id, token_id; PK (file_id, token_id)), indexed by
//	    (token_id, file_id).
//
//	sim_keys(method, key, file_id; PK (method, key, file_id)), indexed by
//	    file_id: the similarity keys; SimilarCandidates groups the rows of
//	    the query's keys by file.
//
// The dictionaries (ioc_values, tokens) are only ever added to. The
// per-file rows have no foreign keys (they would cost a check per row on
// the hot path, and in PostgreSQL a row lock on the dictionary): they are
// written and replaced only together with their analyses row, in one
// transaction. SetAnalysis replaces a file's rows; Finish inserts the
// analyses of files that have none and leaves the others.
//
// Lock order (PostgreSQL), after Finish's job, blob, file and tree rows:
// the analyses rows (ascending ref), dictionary rows inserted in ascending
// text order (new tokens and indicators), then the token rows whose counts
// change, locked FOR NO KEY UPDATE in id order before the UPDATE, so two
// finishing jobs sharing tokens queue rather than deadlock (a deadlock
// with other writers is retried by the writer).
//
// # Search
//
// A query (index/query's AST) compiles to one WHERE clause over files f
// (paged by ref) or jobs j (newest first by id), with "?" placeholders;
// page n+1 adds f.ref > cursor (j.id < cursor). A count, when asked, is a
// separate count(*) of the same clause in the same read transaction, so a
// page never waits for it. Searches run on the reader pool in a
// REPEATABLE READ, read-only transaction, cancelled after
// Options.SearchTimeout.
//
// Case folding is ASCII only (A-Z to a-z; É and é stay different): stored
// folded copies are folded in Go, and the dialects fold with lower(),
// which in SQLite and in PostgreSQL under COLLATE "C" folds ASCII only, so
// both databases answer alike. Patterns compile to ranges for a literal
// prefix (key >= p AND key < PrefixEnd(p)) or, where a reversed column
// exists, a literal suffix, plus GLOB (SQLite, whose LIKE ignores case;
// *, ? and [ bracketed) or LIKE ... ESCAPE '\' (PostgreSQL; \, % and _
// escaped) for the rest. A text value that is not valid UTF-8 or holds
// NUL matches nothing.
//
// Fields, for a file search and for a job search:
//
//	sha256, sha1, md5  files: f.ref, f.sha1, f.md5 (= or a key range for a
//	                   prefix). jobs: jobs with such a file.
//	name               files: a tree row of the file whose name matches
//	                   (tree_name). jobs: a tree row of the job, of any
//	                   type (name:wp-admin finds the directory).
//	path               as name, on lower(path); no index (a scan).
//	mime               lower(f.mime); jobs: jobs with such a file.
//	size               f.size = < <= > >= BETWEEN; jobs: with such a file.
//	knowngood          files.known_good; jobs.known_good.
//	after, before      files.first_seen >= / <; jobs.submitted_at.
//	job                files: the job's tree files and its upload (once
//	                   finished). jobs: j.id =.
//	jobname, submitter, notes
//	                   jobs: lower(column). files: the files of such
//	                   jobs (tree or upload).
//	ioc                any indicator whose value matches as written.
//	url, telegram      type url; types telegram-token and telegram-chat;
//	                   as written.
//	domain, email, ip  type restricted, folded. domain:example.com (no
//	                   wildcard) also matches its subdomains
//	                   (evil.example.com, by rkey); domain:*.example.com
//	                   only those.
//	token              tokens matching as written, through the dictionary.
//	similar            the refs SearchOptions.Similar returns for the
//	                   sha256 (the first 1,000); none without a callback.
//
// A file term in a job search matches the jobs having such a file in their
// tree or as their upload; each term is checked on its own, so
// mime:text/x-php size:>1000 finds jobs with a PHP file and a large file,
// not necessarily the same one.
//
// Terms over other tables compile to sets with two forms (see set in
// compile.go). A selective term (an equality, a literal prefix, an indexed
// suffix, a dictionary pattern) is outer IN (subquery): the database
// reads its few matches first and drives the search from them, the cursor
// repeated inside. A broad one (a name or path pattern without a literal
// start, "has any" such as ioc:*, a pattern on a job column matching many
// jobs) is a correlated EXISTS probed per row in page order, so a first
// page of a huge result costs a page, not the result. NOT pushes down to
// the terms (De Morgan) and becomes NOT EXISTS, which both databases run
// as an anti-join or an index probe per row; no set ever yields NULL, so
// NOT means "has no such thing" (files without any indicator match
// -ioc:*). For jobname:, submitter: and notes: in a file search, the
// number of matching jobs is counted first (jobs are few): at most 20 or a
// tenth of all jobs drives the search, more is probed. Likewise an
// indicator or token term counts its file rows first, stopping past the
// drive limit (Options.DriveLimit, about sqrt(30 x files)): a value in
// thousands of files (a common domain, a token every PHP file has) is
// probed per file in page order, seeking (file_id, value id) with the
// matching values' ids read once.
//
// Nothing in a search is limited but the page: a pattern without a
// literal scans its dictionary (distinct values, far fewer than the files
// having them) or the tree, and a rare match of a broad form reads the
// files until the page fills. The timeout bounds what that can cost; the
// query language bounds the size of a query (64 terms, depth 32).
package sqlindex
