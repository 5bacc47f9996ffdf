-- Dewar index schema, version 2 (PostgreSQL): jobs, files, trees.
CREATE TABLE jobs (
	id            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	name          TEXT NOT NULL,
	known_good    BOOLEAN NOT NULL,
	status        TEXT NOT NULL CHECK (status IN ('queued', 'held', 'processing', 'done', 'failed')),
	error         TEXT NOT NULL,
	warnings      TEXT NOT NULL,
	submitted_at  TIMESTAMPTZ NOT NULL,
	collected_at  TIMESTAMPTZ,
	submitter     TEXT NOT NULL,
	notes         TEXT NOT NULL,
	upload        TEXT COLLATE "C" NOT NULL REFERENCES blobs (ref),
	upload_size   BIGINT NOT NULL,
	upload_md5    TEXT NOT NULL,
	source_bucket TEXT COLLATE "C" NOT NULL,
	source_key    TEXT COLLATE "C" NOT NULL,
	content_type  TEXT NOT NULL,
	files         BIGINT NOT NULL,
	new_files     BIGINT NOT NULL,
	bytes         BIGINT NOT NULL,
	new_bytes     BIGINT NOT NULL,
	attempts      INTEGER NOT NULL,
	run_after     TIMESTAMPTZ NOT NULL,
	lease_owner   TEXT COLLATE "C" NOT NULL,
	lease_token   BIGINT NOT NULL,
	lease_until   TIMESTAMPTZ,
	updated_at    TIMESTAMPTZ NOT NULL,
	finished_at   TIMESTAMPTZ,
	CHECK ((status = 'processing') = (lease_until IS NOT NULL))
);
CREATE INDEX jobs_status ON jobs (status, id);
CREATE INDEX jobs_incoming ON jobs (source_bucket, source_key, id) WHERE status <> 'done';
CREATE INDEX jobs_upload ON jobs (upload, id);
CREATE TABLE files (
	ref        TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES blobs (ref),
	size       BIGINT NOT NULL,
	sha1       TEXT COLLATE "C" NOT NULL,
	md5        TEXT COLLATE "C" NOT NULL,
	mime       TEXT NOT NULL,
	first_seen TIMESTAMPTZ NOT NULL,
	known_good BOOLEAN NOT NULL,
	job_count  BIGINT NOT NULL CHECK (job_count >= 0)
);
CREATE INDEX files_sha1 ON files (sha1);
CREATE INDEX files_md5 ON files (md5);
CREATE TABLE tree (
	job_id   TEXT COLLATE "C" NOT NULL REFERENCES jobs (id),
	path     TEXT COLLATE "C" NOT NULL,
	raw_path BYTEA NOT NULL,
	type     TEXT NOT NULL CHECK (type IN ('file', 'dir', 'symlink', 'other')),
	blob     TEXT COLLATE "C" REFERENCES files (ref),
	size     BIGINT NOT NULL,
	target   BYTEA NOT NULL,
	PRIMARY KEY (job_id, path)
);
CREATE INDEX tree_blob ON tree (blob, job_id, path) WHERE blob IS NOT NULL;
