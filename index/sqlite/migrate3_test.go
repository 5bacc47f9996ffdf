package sqlite

import (
	"database/sql"
	"io/fs"
	"path/filepath"
	"testing"
	"testing/fstest"

	"dewar/index/sqlindex"
)

// before returns d with only the named migrations: an older schema.
func before(t *testing.T, d sqlindex.Dialect, names ...string) sqlindex.Dialect {
	t.Helper()
	m := fstest.MapFS{}
	for _, n := range names {
		b, err := fs.ReadFile(d.Migrations, n)
		if err != nil {
			t.Fatal(err)
		}
		m[n] = &fstest.MapFile{Data: b}
	}
	d.Migrations = m
	return d
}

// TestMigration3Backfill: migration 0003 fills in the name and known-good
// flag of the tree rows an older schema recorded.
func TestMigration3Backfill(t *testing.T) {
	ctx := t.Context()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "old.db")+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := sqlindex.Migrate(ctx, db, before(t, Dialect(), "0001_init.sql", "0002_jobs.sql")); err != nil {
		t.Fatal(err)
	}
	for _, s := range oldRows {
		if _, err := db.ExecContext(ctx, s.sql, s.args...); err != nil {
			t.Fatalf("%s: %v", s.sql, err)
		}
	}
	if n, err := sqlindex.Migrate(ctx, db, Dialect()); err != nil || n < 1 {
		t.Fatalf("Migrate = %d, %v; want migration 3 and later applied", n, err)
	}
	checkBackfill(t, db)
}

type stmt struct {
	sql  string
	args []any
}

const ts = "2026-01-01T00:00:00.000Z"

// oldRows are a known-good job that ended done, one that failed, and
// their trees, as schema version 2 stores them.
var oldRows = []stmt{
	{`INSERT INTO blobs (ref, size, refs, created_at) VALUES ('b1', 1, 3, ?), ('b2', 1, 2, ?)`, []any{ts, ts}},
	{`INSERT INTO jobs (id, name, known_good, status, error, warnings, submitted_at, collected_at, submitter, notes,
		upload, upload_size, upload_md5, source_bucket, source_key, content_type, files, new_files, bytes, new_bytes,
		attempts, run_after, lease_owner, lease_token, lease_until, updated_at, finished_at)
		VALUES ('J1', 'kg.zip', TRUE, 'done', '', '[]', ?, NULL, 'a', '', 'b1', 1, '', '', '', '', 0, 0, 0, 0, 1, ?, '', 1, NULL, ?, ?),
		       ('J2', 'kg2.zip', TRUE, 'failed', '', '[]', ?, NULL, 'a', '', 'b2', 1, '', '', '', '', 0, 0, 0, 0, 1, ?, '', 1, NULL, ?, ?)`,
		[]any{ts, ts, ts, ts, ts, ts, ts, ts}},
	{`INSERT INTO files (ref, size, sha1, md5, mime, first_seen, known_good, job_count) VALUES ('b1', 1, '', '', '', ?, TRUE, 1), ('b2', 1, '', '', '', ?, FALSE, 1)`, []any{ts, ts}},
	{`INSERT INTO tree (job_id, path, raw_path, type, blob, size, target) VALUES
		('J1', 'Top.PHP', ?, 'file', 'b1', 1, ?), ('J1', 'a/B/Login.Php', ?, 'file', 'b2', 1, ?), ('J1', 'a', ?, 'dir', NULL, 0, ?),
		('J2', 'x/y.txt', ?, 'file', 'b1', 1, ?)`,
		[]any{[]byte{}, []byte{}, []byte{}, []byte{}, []byte{}, []byte{}, []byte{}, []byte{}}},
}

func checkBackfill(t *testing.T, db *sql.DB) {
	t.Helper()
	want := map[string]struct {
		name string
		kg   bool
	}{"J1 Top.PHP": {"top.php", true}, "J1 a/B/Login.Php": {"login.php", true}, "J1 a": {"a", true}, "J2 x/y.txt": {"y.txt", false}}
	rows, err := db.QueryContext(t.Context(), `SELECT job_id, path, name, known_good FROM tree`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var job, path, name string
		var kg bool
		if err := rows.Scan(&job, &path, &name, &kg); err != nil {
			t.Fatal(err)
		}
		n++
		if w := want[job+" "+path]; name != w.name || kg != w.kg {
			t.Errorf("%s %s: name %q known-good %v, want %q %v", job, path, name, kg, w.name, w.kg)
		}
	}
	if err := rows.Err(); err != nil || n != len(want) {
		t.Errorf("%d rows, %v; want %d", n, err, len(want))
	}
}
