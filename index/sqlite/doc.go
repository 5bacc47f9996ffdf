// Package sqlite opens Dewar's index in an SQLite database file through
// modernc.org/sqlite (pure Go, no cgo), implementing index.Index with the
// shared queries of index/sqlindex.
//
// # Schema
//
// migrations/ holds the schema as numbered SQL files, embedded and applied
// at Open (sqlindex.Migrate, recorded in schema_migrations). The tables,
// their columns and what the reference counts mean are documented once for
// every dialect in index/sqlindex's package doc. SQLite specifics:
//
//   - tables are STRICT (column types enforced) and, except uploads and
//     jobs (wide rows), WITHOUT ROWID (clustered on their primary key, so
//     a listing is one range scan of the objects table);
//   - booleans are INTEGER 0/1; names that may hold any bytes (a tree's
//     raw_path and target) are BLOB;
//   - text compares with the default BINARY collation, i.e. bytewise, the
//     order S3 lists keys in;
//   - times are TEXT "2006-01-02T15:04:05.000Z", readable by SQLite's date
//     functions; refs are lowercase hex TEXT; metadata is JSON TEXT;
//   - foreign keys are enforced (PRAGMA foreign_keys on every connection);
//   - searches match case-sensitive patterns with GLOB (LIKE ignores ASCII
//     case here) and fold with lower(), which folds ASCII only, as
//     PostgreSQL's does under COLLATE "C" (see sqlindex's doc_search.go).
//
// # Connections and durability
//
// The file is opened twice: a writer pool of one connection whose
// transactions begin IMMEDIATE (taking the write lock up front, so they
// never fail on a lock upgrade), and a query-only reader pool. The database
// is in WAL mode, so readers never wait for the writer, and synchronous is
// FULL, so every acknowledged write survives a power cut. busy_timeout lets
// a maintenance command share the file with a running server.
//
// Concurrent writes share commits (sqlindex's group commit): one goroutine
// runs every queued write in its own savepoint of one transaction, so a
// burst of N writes costs one fsync, and the single writer is also the
// per-blob lock of the reference-count protocol. Other tables in the same
// file (a job queue) can join those transactions through
// (*sqlindex.Index).Update.
package sqlite
