package sqlindex

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// ErrSchema is returned (wrapped) when the database's schema does not fit
// this program: a migration applied under another name, or a newer schema
// than the program knows.
var ErrSchema = errors.New("sqlindex: schema mismatch")

var migrationName = regexp.MustCompile(`^([0-9]+)_([A-Za-z0-9_]+)\.sql$`)

type migration struct {
	version int
	name    string
	file    string
}

func migrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("sqlindex: read migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() {
			continue
		}
		v, err := strconv.Atoi(m[1])
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("sqlindex: migration %q: bad version", e.Name())
		}
		ms = append(ms, migration{version: v, name: m[2], file: e.Name()})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("sqlindex: migrations %q and %q share a version", ms[i-1].file, ms[i].file)
		}
	}
	return ms, nil
}

// Migrate brings db's schema up to date with d.Migrations, in one
// transaction, and reports how many migrations it applied. Applied versions
// are recorded in schema_migrations, so running it again is a no-op. It
// refuses a database that records a version it does not know or under
// another name (ErrSchema).
func Migrate(ctx context.Context, db *sql.DB, d Dialect) (applied int, err error) {
	ms, err := migrations(d.Migrations)
	if err != nil {
		return 0, err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlindex: migrate: begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if d.MigrationLock != "" {
		if _, err := tx.ExecContext(ctx, d.MigrationLock); err != nil {
			return 0, fmt.Errorf("sqlindex: migrate: lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		name TEXT NOT NULL,
		applied_at TEXT NOT NULL
	)`); err != nil {
		return 0, fmt.Errorf("sqlindex: migrate: %w", err)
	}
	done := map[int]string{}
	rows, err := tx.QueryContext(ctx, `SELECT version, name FROM schema_migrations`)
	if err != nil {
		return 0, fmt.Errorf("sqlindex: migrate: %w", err)
	}
	for rows.Next() {
		var v int
		var name string
		if err := rows.Scan(&v, &name); err != nil {
			rows.Close()
			return 0, fmt.Errorf("sqlindex: migrate: %w", err)
		}
		done[v] = name
	}
	if err := rows.Close(); err != nil {
		return 0, fmt.Errorf("sqlindex: migrate: %w", err)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("sqlindex: migrate: %w", err)
	}
	known := map[int]bool{}
	for _, m := range ms {
		known[m.version] = true
		if name, ok := done[m.version]; ok {
			if name != m.name {
				return 0, fmt.Errorf("%w: version %d applied as %q, now %q", ErrSchema, m.version, name, m.name)
			}
			continue
		}
		body, err := fs.ReadFile(d.Migrations, m.file)
		if err != nil {
			return 0, fmt.Errorf("sqlindex: migrate: %w", err)
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			return 0, fmt.Errorf("sqlindex: migration %s: %w", m.file, err)
		}
		now := time.Now()
		if _, err := tx.ExecContext(ctx, d.rebind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
			m.version, m.name, tm(&now)); err != nil {
			return 0, fmt.Errorf("sqlindex: migration %s: record: %w", m.file, err)
		}
		applied++
	}
	for v := range done {
		if !known[v] {
			return 0, fmt.Errorf("%w: database has migration %d, newer than this program", ErrSchema, v)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlindex: migrate: commit: %w", err)
	}
	return applied, nil
}
