-- Dewar index schema, version 1 (SQLite). Documented in index/sqlindex/doc.go.
-- Text columns use SQLite's default BINARY collation: bytewise order, the
-- order S3 lists keys in.

CREATE TABLE buckets (
	name       TEXT NOT NULL PRIMARY KEY,
	owner      TEXT NOT NULL,
	created_at TEXT NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE blobs (
	ref        TEXT NOT NULL PRIMARY KEY,
	size       INTEGER NOT NULL,
	refs       INTEGER NOT NULL CHECK (refs >= 0),
	created_at TEXT NOT NULL
) STRICT, WITHOUT ROWID;

-- Blobs left at zero references, for ZeroBlobs (gc after a crash).
CREATE INDEX blobs_zero ON blobs (ref) WHERE refs = 0;

CREATE TABLE objects (
	bucket        TEXT NOT NULL REFERENCES buckets (name),
	key           TEXT NOT NULL,
	blob          TEXT NOT NULL REFERENCES blobs (ref),
	size          INTEGER NOT NULL,
	etag          TEXT NOT NULL,
	last_modified TEXT NOT NULL,
	owner         TEXT NOT NULL,
	meta          TEXT NOT NULL,
	PRIMARY KEY (bucket, key)
) STRICT, WITHOUT ROWID;

-- Foreign-key checks when a blob row is deleted, and "who uses this blob".
CREATE INDEX objects_blob ON objects (blob);

CREATE TABLE uploads (
	id        TEXT NOT NULL PRIMARY KEY,
	bucket    TEXT NOT NULL REFERENCES buckets (name),
	key       TEXT NOT NULL,
	initiated TEXT NOT NULL,
	owner     TEXT NOT NULL,
	meta      TEXT NOT NULL
) STRICT;

CREATE INDEX uploads_listing ON uploads (bucket, key, initiated, id);

CREATE TABLE parts (
	upload_id     TEXT NOT NULL REFERENCES uploads (id),
	number        INTEGER NOT NULL CHECK (number >= 1),
	blob          TEXT NOT NULL REFERENCES blobs (ref),
	size          INTEGER NOT NULL,
	etag          TEXT NOT NULL,
	checksums     TEXT NOT NULL,
	last_modified TEXT NOT NULL,
	PRIMARY KEY (upload_id, number)
) STRICT, WITHOUT ROWID;

CREATE INDEX parts_blob ON parts (blob);

CREATE TABLE users (
	access_key TEXT NOT NULL PRIMARY KEY,
	secret_key TEXT NOT NULL,
	name       TEXT NOT NULL,
	role       TEXT NOT NULL CHECK (role IN ('admin', 'submitter', 'reader')),
	created_at TEXT NOT NULL
) STRICT, WITHOUT ROWID;
