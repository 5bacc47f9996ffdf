// Package postgres opens Dewar's index in a PostgreSQL database through
// pgx (a pgxpool.Pool, wrapped as a *sql.DB by pgx's stdlib), implementing
// index.Index with the shared queries of index/sqlindex. It is the index
// several `dewar serve` nodes share (DEWAR_INDEX=postgres://...).
//
// # Schema
//
// migrations/ holds the schema as numbered SQL files, embedded and applied
// at Open (sqlindex.Migrate, recorded in schema_migrations) inside one
// transaction that first takes a transaction-scoped advisory lock, so
// nodes starting together migrate one at a time. The tables, their
// columns and what the reference counts mean are documented once for
// every dialect in index/sqlindex's package doc. Differences from SQLite:
//
//   - every text column that is compared or ordered (keys, names, ids,
//     refs) is COLLATE "C": bytewise, the order S3 lists keys in and
//     SQLite's BINARY, whatever the database's default collation;
//   - times are TIMESTAMPTZ (SQLite: fixed-width UTC text). The index
//     writes them truncated to the millisecond, so they read back exactly
//     as from SQLite: UTC, millisecond precision;
//   - counts and sizes are BIGINT; JSON columns (object metadata, part
//     checksums) are TEXT, as in SQLite: they are only ever read whole,
//     and TEXT keeps the bytes the index wrote (jsonb would reorder keys
//     and buys nothing until something queries inside them);
//   - text cannot hold NUL or invalid UTF-8 (S3 keys are UTF-8; the
//     database refuses such a key with an error instead of storing it;
//     analyses are cleaned to U+FFFD before they are stored, in both);
//   - searches fold case with lower(x COLLATE "C"), which folds ASCII
//     only, as SQLite's lower() does, and match patterns with LIKE, which
//     is case-sensitive here (see sqlindex's doc_search.go);
//   - ids of the search dictionaries and of analyses are BIGINT identity
//     columns (SQLite: INTEGER PRIMARY KEY).
//
// # Concurrency
//
// Unlike SQLite, PostgreSQL runs writers concurrently: every write is its
// own READ COMMITTED transaction. The per-blob lock of the reference-count
// protocol is the blobs row (row locks held to commit), and all writes
// take their row locks in the one order sqlindex documents, so they do
// not deadlock among themselves; a transaction that loses a race to
// insert a row, or that PostgreSQL picks as a deadlock victim (40P01) or
// serialization failure (40001), is run again by the writer. Constraint
// violations are classified by SQLSTATE, never by message.
//
// # Sharing the pool
//
// Pool returns the pgxpool.Pool, so the job queue can use the same
// database and connections. database/sql keeps no idle connections of its
// own on top of the pool, so the index holds a connection only while a
// statement or transaction runs.
package postgres
