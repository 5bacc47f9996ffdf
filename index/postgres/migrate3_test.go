package postgres

import (
	"database/sql"
	"io/fs"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"dewar/index/postgres/pgtest"
	"dewar/index/sqlindex"
)

// TestMigration3Backfill: migration 0003 fills in the name and known-good
// flag of the tree rows an older schema recorded, as SQLite's does.
func TestMigration3Backfill(t *testing.T) {
	ctx := t.Context()
	db, err := sql.Open("pgx", pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	d := Dialect()
	old := fstest.MapFS{}
	for _, n := range []string{"0001_init.sql", "0002_jobs.sql"} {
		b, err := fs.ReadFile(d.Migrations, n)
		if err != nil {
			t.Fatal(err)
		}
		old[n] = &fstest.MapFile{Data: b}
	}
	v2 := d
	v2.Migrations = old
	if _, err := sqlindex.Migrate(ctx, db, v2); err != nil {
		t.Fatal(err)
	}
	const ts = "2026-01-01T00:00:00.000Z"
	empty := []byte{}
	for _, s := range []struct {
		sql  string
		args []any
	}{
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
			[]any{empty, empty, empty, empty, empty, empty, empty, empty}},
	} {
		if _, err := db.ExecContext(ctx, dollars(s.sql), s.args...); err != nil {
			t.Fatalf("%s: %v", s.sql, err)
		}
	}
	if n, err := sqlindex.Migrate(ctx, db, d); err != nil || n < 1 {
		t.Fatalf("Migrate = %d, %v; want migration 3 and later applied", n, err)
	}
	// Migration 4: a directory's tree key is its path and "/".
	var tkey string
	if err := db.QueryRowContext(ctx, `SELECT tkey FROM tree WHERE job_id = 'J1' AND path = 'a'`).Scan(&tkey); err != nil || tkey != "a/" {
		t.Fatalf("tkey of directory a = %q, %v; want \"a/\"", tkey, err)
	}
	want := map[string]string{"J1 Top.PHP": "top.php true", "J1 a/B/Login.Php": "login.php true", "J1 a": "a true", "J2 x/y.txt": "y.txt false"}
	rows, err := db.QueryContext(ctx, `SELECT job_id, path, name, known_good FROM tree`)
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
		if got := name + " " + strconv.FormatBool(kg); got != want[job+" "+path] {
			t.Errorf("%s %s: %s, want %s", job, path, got, want[job+" "+path])
		}
	}
	if err := rows.Err(); err != nil || n != len(want) {
		t.Errorf("%d rows, %v; want %d", n, err, len(want))
	}
}

// dollars numbers the ? placeholders of s as $1, $2, ...
func dollars(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
