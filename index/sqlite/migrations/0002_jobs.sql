-- Dewar index schema, version 2 (SQLite): jobs (which are also the rows of
-- the ingestion queue), samples (files) and job trees. Documented in
-- index/sqlindex/doc_jobs.go. Booleans are INTEGER 0/1 (BOOLEAN in
-- PostgreSQL); names that may hold any bytes (raw_path, target) are BLOB
-- (BYTEA), since PostgreSQL text refuses invalid UTF-8 and NUL.

CREATE TABLE jobs (
	id            TEXT NOT NULL PRIMARY KEY,
	name          TEXT NOT NULL,
	known_good    INTEGER NOT NULL CHECK (known_good IN (0, 1)),
	status        TEXT NOT NULL CHECK (status IN ('queued', 'held', 'processing', 'done', 'failed')),
	error         TEXT NOT NULL,
	warnings      TEXT NOT NULL,
	submitted_at  TEXT NOT NULL,
	collected_at  TEXT,
	submitter     TEXT NOT NULL,
	notes         TEXT NOT NULL,
	upload        TEXT NOT NULL REFERENCES blobs (ref),
	upload_size   INTEGER NOT NULL,
	upload_md5    TEXT NOT NULL,
	source_bucket TEXT NOT NULL,
	source_key    TEXT NOT NULL,
	content_type  TEXT NOT NULL,
	files         INTEGER NOT NULL,
	new_files     INTEGER NOT NULL,
	bytes         INTEGER NOT NULL,
	new_bytes     INTEGER NOT NULL,
	attempts      INTEGER NOT NULL,
	run_after     TEXT NOT NULL,
	lease_owner   TEXT NOT NULL,
	lease_token   INTEGER NOT NULL,
	lease_until   TEXT,
	updated_at    TEXT NOT NULL,
	finished_at   TEXT,
	-- A lease exists exactly while the job is processing.
	CHECK ((status = 'processing') = (lease_until IS NOT NULL))
) STRICT;

-- Claim (oldest queued, oldest expired lease) and ListJobs by status.
CREATE INDEX jobs_status ON jobs (status, id);

-- Incoming listings: the not-done jobs of a bucket by key, newest per key.
CREATE INDEX jobs_incoming ON jobs (source_bucket, source_key, id) WHERE status <> 'done';

-- Foreign-key checks when a blob row is deleted; the jobs a file was the
-- upload of (JobsOfFile).
CREATE INDEX jobs_upload ON jobs (upload, id);

CREATE TABLE files (
	ref        TEXT NOT NULL PRIMARY KEY REFERENCES blobs (ref),
	size       INTEGER NOT NULL,
	sha1       TEXT NOT NULL,
	md5        TEXT NOT NULL,
	mime       TEXT NOT NULL,
	first_seen TEXT NOT NULL,
	known_good INTEGER NOT NULL CHECK (known_good IN (0, 1)),
	job_count  INTEGER NOT NULL CHECK (job_count >= 0)
) STRICT, WITHOUT ROWID;

-- Lookups by the other hashes.
CREATE INDEX files_sha1 ON files (sha1);
CREATE INDEX files_md5 ON files (md5);

CREATE TABLE tree (
	job_id   TEXT NOT NULL REFERENCES jobs (id),
	path     TEXT NOT NULL,
	raw_path BLOB NOT NULL,
	type     TEXT NOT NULL CHECK (type IN ('file', 'dir', 'symlink', 'other')),
	blob     TEXT REFERENCES files (ref),
	size     INTEGER NOT NULL,
	target   BLOB NOT NULL,
	PRIMARY KEY (job_id, path)
) STRICT, WITHOUT ROWID;

-- JobsOfFile (keyset by job and path) and foreign-key checks on files.
CREATE INDEX tree_blob ON tree (blob, job_id, path) WHERE blob IS NOT NULL;
