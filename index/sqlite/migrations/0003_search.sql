-- Dewar index schema, version 3 (SQLite): analyses and search. Documented
-- in index/sqlindex/doc_search.go.

-- Each tree entry's name (the last path element, ASCII letters folded to
-- lowercase) for name: searches, and whether its job is a known-good job
-- that ended done (for the known-good overlap). Existing rows are filled in.
ALTER TABLE tree ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE tree ADD COLUMN known_good INTEGER NOT NULL DEFAULT 0 CHECK (known_good IN (0, 1));
-- rtrim(path, <every character of path but '/'>) leaves path up to its
-- last '/'; what follows is the name.
UPDATE tree SET name = lower(substr(path, length(rtrim(path, replace(path, '/', ''))) + 1));
UPDATE tree SET known_good = 1
	WHERE job_id IN (SELECT id FROM jobs WHERE known_good = 1 AND status = 'done');

-- name: searches of files (blob) and of jobs (job_id).
CREATE INDEX tree_name ON tree (name, blob, job_id);
-- KnownGoodOverlap: the known-good jobs holding a blob.
CREATE INDEX tree_kg ON tree (blob, job_id) WHERE known_good = TRUE;

-- One row per analysed file. id is the short key the per-file rows
-- (indicators, tokens, keys: many per file) use instead of the 64-digit
-- ref, which keeps those tables and their indexes several times smaller.
CREATE TABLE analyses (
	id          INTEGER PRIMARY KEY,
	ref         TEXT NOT NULL UNIQUE REFERENCES files (ref),
	ssdeep      TEXT NOT NULL,
	tlsh        TEXT NOT NULL,
	tlsh_lvalue INTEGER CHECK (tlsh_lvalue BETWEEN 0 AND 255),
	pdq         TEXT NOT NULL,
	phash       TEXT NOT NULL,
	language    TEXT NOT NULL,
	minhash     BLOB NOT NULL,
	analyzed_at TEXT NOT NULL
) STRICT;

-- TLSHCandidates: files by TLSH length bucket.
CREATE INDEX analyses_tlsh ON analyses (tlsh_lvalue, ref) WHERE tlsh_lvalue IS NOT NULL;

CREATE TABLE analysis_versions (
	ref      TEXT NOT NULL,
	analyzer TEXT NOT NULL,
	version  INTEGER NOT NULL,
	PRIMARY KEY (ref, analyzer)
) STRICT, WITHOUT ROWID;

-- Distinct indicators; key is the value with ASCII letters folded, rkey
-- key reversed (by character), for suffix searches.
CREATE TABLE ioc_values (
	id    INTEGER PRIMARY KEY,
	type  TEXT NOT NULL,
	value TEXT NOT NULL,
	key   TEXT NOT NULL,
	rkey  TEXT NOT NULL,
	UNIQUE (value, type)
) STRICT;

CREATE INDEX ioc_values_key ON ioc_values (key, type);
CREATE INDEX ioc_values_rkey ON ioc_values (rkey, type);

CREATE TABLE file_iocs (
	file_id INTEGER NOT NULL,
	ioc_id  INTEGER NOT NULL,
	chain   TEXT NOT NULL,
	class   TEXT NOT NULL,
	context TEXT NOT NULL,
	PRIMARY KEY (file_id, ioc_id, chain)
) STRICT, WITHOUT ROWID;

CREATE INDEX file_iocs_ioc ON file_iocs (ioc_id, file_id);

-- Distinct tokens, with the number of done jobs they occurred in.
CREATE TABLE tokens (
	id    INTEGER PRIMARY KEY,
	token TEXT NOT NULL UNIQUE,
	jobs  INTEGER NOT NULL CHECK (jobs >= 0)
) STRICT;

CREATE TABLE file_tokens (
	file_id  INTEGER NOT NULL,
	token_id INTEGER NOT NULL,
	PRIMARY KEY (file_id, token_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX file_tokens_token ON file_tokens (token_id, file_id);

CREATE TABLE sim_keys (
	method  TEXT NOT NULL,
	key     INTEGER NOT NULL,
	file_id INTEGER NOT NULL,
	PRIMARY KEY (method, key, file_id)
) STRICT, WITHOUT ROWID;

-- Replacing a file's keys.
CREATE INDEX sim_keys_file ON sim_keys (file_id);
