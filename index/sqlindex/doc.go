// Package sqlindex is the database/sql implementation of Dewar's index,
// shared by index/sqlite and index/postgres. The differences between the
// databases fit in a small Dialect (placeholders, migrations, row locks,
// constraint error codes, retries); everything else is one set of queries.
//
// # Schema
//
// Each dialect ships migrations (NNNN_name.sql, embedded) that create the
// tables below; Migrate applies the missing ones at open, in one
// transaction, and records them in schema_migrations. Key columns order
// bytewise (SQLite BINARY, PostgreSQL COLLATE "C"), the order S3 lists in.
// Times are UTC text "2006-01-02T15:04:05.000Z" (millisecond precision; a
// dialect may use a native timestamp column, which scans as time.Time).
// Refs are lowercase hex sha256 (cas.Ref's SQL form). JSON columns are text.
//
//	schema_migrations(version PK, name, applied_at)
//	    one row per applied migration file.
//
//	buckets(name PK, owner, created_at)
//	    S3 buckets; owner is the creator's access key.
//
//	blobs(ref PK, size, refs >= 0, created_at)
//	    one row per blob some row points at, with the number of rows that do
//	    (objects + parts). Rows at zero are kept until Blobs.Reap deletes
//	    them; a partial index on refs = 0 serves ZeroBlobs.
//
//	objects(bucket -> buckets, key, blob -> blobs, size, etag,
//	        last_modified, owner, meta JSON; PK (bucket, key))
//	    meta is index.ObjectMeta as JSON (content headers, user metadata,
//	    checksums, part count and sizes). Indexed by blob.
//
//	uploads(id PK, bucket -> buckets, key, initiated, owner, meta JSON)
//	    unfinished multipart uploads; indexed by (bucket, key, initiated,
//	    id), the ListUploads order.
//
//	parts(upload_id -> uploads, number >= 1, blob -> blobs, size, etag,
//	      checksums JSON, last_modified; PK (upload_id, number))
//	    indexed by blob.
//
//	users(access_key PK, secret_key, name, role, created_at)
//	    role is one of admin, submitter, reader.
//
// The foreign keys to blobs back the reference counts: a blob row cannot
// be deleted (so Reap cannot remove a blob) while a row still points at it,
// even if a count were wrong. Parts are never deleted by cascade: every
// delete goes through the code that drops their references.
//
// # Reference counts and locking
//
// The protocol of package index is implemented in refs.go: pin is an
// upsert that adds one to blobs.refs (creating the row) and then runs the
// CommitFunc; drop subtracts and reports rows reaching zero; Reap upserts
// the row to lock it, and at zero deletes it, calls the RemoveFunc and
// commits. In PostgreSQL these statements take row locks held to commit; in
// SQLite the single write transaction is the lock. A write collects its
// pins and drops (blobChanges) and applies them in ascending ref order,
// pins of a ref before its drops, so putting the same bytes under the same
// key leaves the count unchanged and never passes through zero.
//
// # Lock order
//
// PostgreSQL runs writers concurrently (READ COMMITTED), so every write
// takes its row locks in one global order, which rules out deadlocks
// between the index's own writes:
//
//  1. the bucket row: shared (Dialect.ForShare, FOR KEY SHARE) by writers
//     adding rows to the bucket, exclusive (FOR UPDATE) by DeleteBucket;
//  2. upload rows: shared by PutPart, exclusive by CompleteUpload,
//     AbortUpload and DeleteBucket;
//  3. part rows, then the object row (SELECT ... FOR UPDATE, or
//     DELETE ... RETURNING, which locks and reads the row as deleted);
//  4. blob rows, in ascending ref order (apply);
//  5. last, the insert or update of the row that points at the new blob
//     (its foreign key needs the blob row).
//
// A row that did not exist cannot be locked in step 3; when a concurrent
// transaction inserts it first, the insert in step 5 does nothing and the
// whole transaction runs again (errRace), then finding the row. One cycle
// remains possible, and needs three writers of one key within
// milliseconds: a put that found the key missing has pinned blob X, a
// concurrent insert of the key with X committed since, and a delete of
// that row now waits for X while the put's insert waits for the delete.
// PostgreSQL breaks it as a deadlock, and the direct writer runs the
// victim again, as it does for every Retryable error; so CommitFuncs may
// run more than once (they are idempotent). In SQLite the order costs
// nothing: the write transaction is exclusive.
//
// A nil CommitFunc is accepted only when the blob's count was already
// above zero in the transaction (another row pins it, so it exists);
// otherwise the write fails with index.ErrBlobNotFound and changes nothing.
//
// # Writers
//
// Writes run through a writer: either each in its own transaction (retried
// on the dialect's Retryable errors), or, with Options.GroupCommit, queued
// to one goroutine that runs every waiting operation in its own savepoint
// of one transaction and commits once (SQLite, where each commit is an
// fsync and only one writer exists). CommitFunc and RemoveFunc run inside
// that goroutine, so they must not call the index's write methods. Reads
// use Options.Reader when given, so they never wait for writes.
package sqlindex
