package sqlindex

import (
	"io/fs"
	"strconv"
	"strings"
)

// Dialect is what differs between the databases behind the shared SQL.
// Everything else (upserts with ON CONFLICT, RETURNING, UPDATE ... FROM,
// partial indexes) is written once in the dialect both SQLite (3.35+) and
// PostgreSQL accept.
type Dialect struct {
	// Name is used in error messages ("sqlite", "postgres").
	Name string
	// Placeholder returns the marker of the n-th (1-based) bind parameter.
	// Queries are written with "?"; nil keeps them ("?" is SQLite's), and
	// PostgreSQL passes Dollar.
	Placeholder func(n int) string
	// Migrations holds the schema as files named NNNN_description.sql at
	// its root, applied in order by Migrate. They must declare key columns
	// with bytewise ordering (SQLite's default BINARY collation, COLLATE "C"
	// in PostgreSQL), since listings page by key comparisons.
	Migrations fs.FS
	// MigrationLock, when set, is executed first in the migration
	// transaction to keep concurrent openers out (PostgreSQL: an advisory
	// transaction lock). SQLite needs none: its write transaction is
	// exclusive.
	MigrationLock string
	// ForUpdate is appended to SELECTs that read a row the transaction is
	// about to change, so concurrent writers queue on it (" FOR UPDATE" in
	// PostgreSQL; "" in SQLite, where the write transaction is exclusive).
	ForUpdate string
	// ForShare is appended to SELECTs that check a parent row (a bucket,
	// an upload) before adding rows under it, so a concurrent delete of the
	// parent waits for the writer, or the writer for the delete and then
	// finds the parent gone (" FOR KEY SHARE" in PostgreSQL: it does not
	// block other writers of the same parent; "" in SQLite).
	ForShare string
	// Constraint classifies a driver error by the constraint it violated,
	// from the driver's error codes (never its message). nil: none.
	Constraint func(err error) Constraint
	// Retryable reports an error after which the whole write transaction
	// may be run again (PostgreSQL deadlock or serialization failure).
	// Only used without group commit, which also retries a transaction
	// that lost a race to insert a row. nil: never retry.
	Retryable func(err error) bool
	// ForNoKeyUpdate is appended to SELECTs that lock rows whose non-key
	// columns are about to change (token job counts), in a fixed order so
	// concurrent writers queue instead of deadlocking (" FOR NO KEY
	// UPDATE" in PostgreSQL: it does not block foreign-key checks; "" in
	// SQLite).
	ForNoKeyUpdate string
	// Lower folds the ASCII letters of a text expression, and only those,
	// so that both databases fold alike (search's case-insensitive
	// fields). nil is lower(expr), SQLite's built-in, which folds ASCII
	// only; PostgreSQL passes LowerC, since its lower() follows the
	// collation.
	Lower func(expr string) string
	// Glob: case-sensitive pattern matching uses GLOB (SQLite, whose LIKE
	// ignores ASCII case); otherwise LIKE ... ESCAPE '\' (PostgreSQL,
	// whose LIKE is case-sensitive).
	Glob bool
	// Explain is the prefix that makes a statement report its plan
	// ("EXPLAIN QUERY PLAN " in SQLite, "EXPLAIN " in PostgreSQL); used by
	// tests that check searches use their indexes.
	Explain string
}

// LowerC is PostgreSQL's Dialect.Lower: lower() under the "C" collation,
// which folds ASCII letters only, as SQLite's lower() does.
func LowerC(expr string) string { return `lower((` + expr + `) COLLATE "C")` }

// lower folds the ASCII letters of expr (see Dialect.Lower).
func (d Dialect) lower(expr string) string {
	if d.Lower == nil {
		return `lower(` + expr + `)`
	}
	return d.Lower(expr)
}

// Constraint is a kind of integrity constraint a statement violated.
type Constraint int

// Constraint kinds the index maps to its sentinel errors.
const (
	NoConstraint Constraint = iota
	UniqueViolation
	ForeignKeyViolation
)

// Dollar is the PostgreSQL placeholder style: $1, $2, ...
func Dollar(n int) string { return "$" + strconv.Itoa(n) }

// rebind rewrites the "?" markers of query with d.Placeholder. The shared
// queries hold no "?" inside literals.
func (d Dialect) rebind(query string) string {
	if d.Placeholder == nil || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString(d.Placeholder(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (d Dialect) constraint(err error) Constraint {
	if err == nil || d.Constraint == nil {
		return NoConstraint
	}
	return d.Constraint(err)
}

func (d Dialect) retryable(err error) bool {
	return err != nil && d.Retryable != nil && d.Retryable(err)
}
