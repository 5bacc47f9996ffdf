-- Dewar index schema, version 1 (PostgreSQL). Documented in
-- index/sqlindex/doc.go; the differences from SQLite in index/postgres/doc.go.
-- Every text column that is compared or ordered uses COLLATE "C": bytewise
-- order, the order S3 lists keys in and SQLite's BINARY, whatever the
-- database's default collation.

CREATE TABLE buckets (
	name       TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	owner      TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE blobs (
	ref        TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	size       BIGINT NOT NULL,
	refs       BIGINT NOT NULL CHECK (refs >= 0),
	created_at TIMESTAMPTZ NOT NULL
);

-- Blobs left at zero references, for ZeroBlobs (gc after a crash).
CREATE INDEX blobs_zero ON blobs (ref) WHERE refs = 0;

CREATE TABLE objects (
	bucket        TEXT COLLATE "C" NOT NULL REFERENCES buckets (name),
	key           TEXT COLLATE "C" NOT NULL,
	blob          TEXT COLLATE "C" NOT NULL REFERENCES blobs (ref),
	size          BIGINT NOT NULL,
	etag          TEXT NOT NULL,
	last_modified TIMESTAMPTZ NOT NULL,
	owner         TEXT NOT NULL,
	meta          TEXT NOT NULL,
	PRIMARY KEY (bucket, key)
);

-- Foreign-key checks when a blob row is deleted, and "who uses this blob".
CREATE INDEX objects_blob ON objects (blob);

CREATE TABLE uploads (
	id        TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	bucket    TEXT COLLATE "C" NOT NULL REFERENCES buckets (name),
	key       TEXT COLLATE "C" NOT NULL,
	initiated TIMESTAMPTZ NOT NULL,
	owner     TEXT NOT NULL,
	meta      TEXT NOT NULL
);

CREATE INDEX uploads_listing ON uploads (bucket, key, initiated, id);

CREATE TABLE parts (
	upload_id     TEXT COLLATE "C" NOT NULL REFERENCES uploads (id),
	number        INTEGER NOT NULL CHECK (number >= 1),
	blob          TEXT COLLATE "C" NOT NULL REFERENCES blobs (ref),
	size          BIGINT NOT NULL,
	etag          TEXT NOT NULL,
	checksums     TEXT NOT NULL,
	last_modified TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (upload_id, number)
);

CREATE INDEX parts_blob ON parts (blob);

CREATE TABLE users (
	access_key TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	secret_key TEXT NOT NULL,
	name       TEXT NOT NULL,
	role       TEXT NOT NULL CHECK (role IN ('admin', 'submitter', 'reader')),
	created_at TIMESTAMPTZ NOT NULL
);
