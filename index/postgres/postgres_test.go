package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"dewar/cas"
	"dewar/index"
	"dewar/index/indextest"
	"dewar/index/postgres/pgtest"
	"dewar/index/sqlindex"
)

// open opens an index in a throwaway database.
func open(t testing.TB, opts Options) *Index {
	t.Helper()
	return openURL(t, pgtest.NewDatabase(t), opts)
}

func openURL(t testing.TB, dbURL string, opts Options) *Index {
	t.Helper()
	ix, err := Open(t.Context(), dbURL, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ix.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return ix
}

// TestConformance gives every subtest of the suite an empty schema of one
// throwaway database.
func TestConformance(t *testing.T) {
	db := pgtest.NewDatabase(t)
	indextest.Run(t, func(t *testing.T) index.Index { return openURL(t, pgtest.NewSchema(t, db), Options{}) })
}

func noop(context.Context) error { return nil }

// TestTimesRoundTripLikeSQLite: times are timestamptz, and come back as
// exactly what SQLite returns: UTC, truncated to the millisecond.
func TestTimesRoundTripLikeSQLite(t *testing.T) {
	ix := open(t, Options{})
	ctx := t.Context()
	in := time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.FixedZone("CET", 3600))
	want := in.UTC().Truncate(time.Millisecond)
	if err := ix.CreateBucket(ctx, index.Bucket{Name: "b", CreatedAt: in}); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.PutObject(ctx, index.Object{Bucket: "b", Key: "k", Blob: cas.Sum([]byte("t")), LastModified: in}, noop); err != nil {
		t.Fatal(err)
	}
	b, err := ix.GetBucket(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	o, err := ix.GetObject(ctx, "b", "k")
	if err != nil {
		t.Fatal(err)
	}
	for what, got := range map[string]time.Time{"bucket CreatedAt": b.CreatedAt, "object LastModified": o.LastModified} {
		if got != want { // == also compares the location: UTC
			t.Errorf("%s = %v, want exactly %v", what, got, want)
		}
	}
	var typ string
	if err := ix.Pool().QueryRow(ctx, `SELECT pg_typeof(last_modified)::text FROM objects`).Scan(&typ); err != nil || typ != "timestamp with time zone" {
		t.Errorf("last_modified is %q (%v), want timestamptz", typ, err)
	}
}

// TestKeyColumnsCollateC checks the schema: every text column that takes
// part in a primary key, a foreign key or an ordering compares bytewise.
func TestKeyColumnsCollateC(t *testing.T) {
	ix := open(t, Options{})
	want := []string{
		"analyses.ref", "analysis_versions.analyzer", "analysis_versions.ref",
		"blobs.ref", "buckets.name", "file_iocs.chain", "files.md5", "files.ref", "files.sha1",
		"ioc_values.key", "ioc_values.rkey", "ioc_values.type", "ioc_values.value", "jobs.id", "jobs.lease_owner",
		"jobs.source_bucket", "jobs.source_key", "jobs.upload", "objects.blob", "objects.bucket", "objects.key",
		"parts.blob", "parts.upload_id", "sim_keys.method", "token_counts_pending.job_id", "tokens.token", "tree.blob", "tree.job_id", "tree.name",
		"tree.path", "tree.tkey", "uploads.bucket", "uploads.id", "uploads.key", "users.access_key",
	}
	rows, err := ix.Pool().Query(t.Context(), `SELECT table_name || '.' || column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND collation_name = 'C' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		got = append(got, c)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("COLLATE \"C\" columns = %v\nwant %v", got, want)
	}
}

// TestConcurrentOpenMigratesOnce opens one empty schema from several
// goroutines at once, as nodes starting together do: the advisory lock
// lets one migrate and the others find the schema done.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	const nodes = 6
	var wg sync.WaitGroup
	errs := make([]error, nodes)
	ixs := make([]*Index, nodes)
	start := make(chan struct{})
	for i := range nodes {
		wg.Go(func() {
			<-start
			ixs[i], errs[i] = Open(context.Background(), dbURL, Options{MaxConns: 2})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("node %d: %v", i, err)
			continue
		}
		defer ixs[i].Close()
	}
	if t.Failed() {
		return
	}
	var n int
	files, _ := fs.Glob(migrationFiles, "migrations/*.sql")
	if err := ixs[0].Pool().QueryRow(t.Context(), `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(files) {
		t.Errorf("schema_migrations has %d rows (%v), want one per migration (%d)", n, err, len(files))
	}
	// Every node works on the one schema.
	if err := ixs[1].CreateBucket(t.Context(), index.Bucket{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ixs[nodes-1].GetBucket(t.Context(), "b"); err != nil {
		t.Errorf("bucket made on one node not seen on another: %v", err)
	}
}

func TestReopenAndNewerSchema(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	ctx := t.Context()
	ix, err := Open(ctx, dbURL, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.CreateUser(ctx, index.User{AccessKey: "a", Role: index.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.GetUser(ctx, "a"); err == nil {
		t.Error("GetUser on a closed index succeeded")
	}

	ix = openURL(t, dbURL, Options{})
	if u, err := ix.GetUser(ctx, "a"); err != nil || u.Role != index.RoleAdmin {
		t.Errorf("after reopen: %+v, %v", u, err)
	}
	if _, err := ix.Pool().Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', '')`); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, dbURL, Options{}); !errors.Is(err, sqlindex.ErrSchema) {
		t.Errorf("Open of a newer schema: %v, want ErrSchema", err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	tests := []struct{ name, url string }{
		{"not a URL", "postgres://%zz"},
		{"nobody listening", "postgres://postgres:secret-pw@127.0.0.1:1/x?sslmode=disable&connect_timeout=2"},
		{"no such database", missingDB(t)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ix, err := Open(ctx, tc.url, Options{})
			if err == nil {
				ix.Close()
				t.Fatal("Open succeeded")
			}
			if strings.Contains(err.Error(), "secret-pw") {
				t.Errorf("error leaks the password: %v", err)
			}
		})
	}
}

// missingDB is the test server's URL naming a database that does not exist.
func missingDB(t *testing.T) string {
	pgtest.NewDatabase(t) // skips or fails when the server is unusable
	u, err := url.Parse(pgtest.Base())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/dewar_test_no_such_database"
	return u.String()
}

// TestPoolIsShared: the index keeps no connection checked out between
// operations, so the queue can use the same pool; and MaxConns applies.
func TestPoolIsShared(t *testing.T) {
	ix := open(t, Options{MaxConns: 3})
	ctx := t.Context()
	if err := ix.CreateBucket(ctx, index.Bucket{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.PutObject(ctx, index.Object{Bucket: "b", Key: "k", Blob: cas.Sum([]byte("p"))}, noop); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.ListObjects(ctx, "b", index.ListOptions{Limit: 10}); err != nil {
		t.Fatal(err)
	}
	st := ix.Pool().Stat()
	if st.AcquiredConns() != 0 || st.MaxConns() != 3 {
		t.Errorf("pool: %d acquired, max %d; want 0 and 3", st.AcquiredConns(), st.MaxConns())
	}
	var n int
	if err := ix.Pool().QueryRow(ctx, `SELECT count(*) FROM objects`).Scan(&n); err != nil || n != 1 {
		t.Errorf("through the pool: %d objects, %v", n, err)
	}
}

// TestErrorClassification runs real statements that violate constraints
// and deadlock, and checks how the dialect classifies their errors.
func TestErrorClassification(t *testing.T) {
	ix := open(t, Options{})
	ctx := t.Context()
	p := ix.Pool()
	if _, err := p.Exec(ctx, `CREATE TABLE parent (id int PRIMARY KEY); CREATE TABLE child (p int REFERENCES parent (id));
		INSERT INTO parent VALUES (1), (2)`); err != nil {
		t.Fatal(err)
	}
	_, unique := p.Exec(ctx, `INSERT INTO parent VALUES (1)`)
	_, fk := p.Exec(ctx, `INSERT INTO child VALUES (3)`)
	_, syntax := p.Exec(ctx, `INSERT INTO nowhere VALUES (1)`)
	tests := []struct {
		name      string
		err       error
		c         sqlindex.Constraint
		retryable bool
	}{
		{"unique", unique, sqlindex.UniqueViolation, false},
		{"foreign key", fk, sqlindex.ForeignKeyViolation, false},
		{"other", syntax, sqlindex.NoConstraint, false},
		{"wrapped unique", fmt.Errorf("x: %w", unique), sqlindex.UniqueViolation, false},
		{"nil", nil, sqlindex.NoConstraint, false},
		{"deadlock", deadlock(t, ix), sqlindex.NoConstraint, true},
	}
	for _, tc := range tests {
		if tc.err == nil && tc.name != "nil" {
			t.Errorf("%s: statement succeeded", tc.name)
			continue
		}
		if c := constraint(tc.err); c != tc.c {
			t.Errorf("%s: constraint(%v) = %v, want %v", tc.name, tc.err, c, tc.c)
		}
		if r := retryable(tc.err); r != tc.retryable {
			t.Errorf("%s: retryable(%v) = %v, want %v", tc.name, tc.err, r, tc.retryable)
		}
	}
}

// deadlock makes two transactions lock rows of parent in opposite orders
// and returns the error of the one PostgreSQL aborted.
func deadlock(t *testing.T, ix *Index) error {
	ctx := t.Context()
	a, err := ix.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Rollback(ctx)
	b, err := ix.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Rollback(ctx)
	if _, err := a.Exec(ctx, `SELECT id FROM parent WHERE id = 1 FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Exec(ctx, `SELECT id FROM parent WHERE id = 2 FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	errA := make(chan error, 1)
	go func() {
		_, err := a.Exec(ctx, `SELECT id FROM parent WHERE id = 2 FOR UPDATE`)
		errA <- err
	}()
	_, errB := b.Exec(ctx, `SELECT id FROM parent WHERE id = 1 FOR UPDATE`)
	if errB != nil {
		b.Rollback(ctx) // frees a
		<-errA
		return errB
	}
	return <-errA
}

// TestUpdateRetriesDeadlock: a write transaction PostgreSQL aborts as a
// deadlock victim is run again by the writer, and both writes land.
func TestUpdateRetriesDeadlock(t *testing.T) {
	ix := open(t, Options{})
	ctx := t.Context()
	if _, err := ix.Pool().Exec(ctx, `CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL); INSERT INTO counters VALUES (1, 0), (2, 0)`); err != nil {
		t.Fatal(err)
	}
	var locked sync.WaitGroup
	locked.Add(2)
	var runs atomic.Int64
	// Each increments both rows, in opposite orders; the first attempts
	// wait for each other to hold their first row, so they deadlock.
	inc := func(first, second int) error {
		return ix.Update(ctx, func(ctx context.Context, tx *sql.Tx) error {
			attempt := runs.Add(1)
			if _, err := tx.ExecContext(ctx, `UPDATE counters SET n = n + 1 WHERE id = $1`, first); err != nil {
				return err
			}
			if attempt <= 2 {
				locked.Done()
				locked.Wait()
			}
			_, err := tx.ExecContext(ctx, `UPDATE counters SET n = n + 1 WHERE id = $1`, second)
			return err
		})
	}
	before := ix.WriterStats()
	errs := make(chan error, 2)
	go func() { errs <- inc(1, 2) }()
	go func() { errs <- inc(2, 1) }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("Update: %v", err)
		}
	}
	rows, err := ix.Pool().Query(ctx, `SELECT n FROM counters ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var ns []int
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		ns = append(ns, n)
	}
	if fmt.Sprint(ns) != "[2 2]" {
		t.Errorf("counters = %v, want [2 2]: a retried write was lost or doubled", ns)
	}
	if r := ix.WriterStats().Retries - before.Retries; r != 1 {
		t.Errorf("%d retries, want 1 (the deadlock victim)", r)
	}
}

// BenchmarkPutObjectParallel puts distinct keys from 16 goroutines, like
// the SQLite benchmark of the same name: "sameblob" puts one blob under
// every key, as that one does (every write then queues on the blob's row
// lock), "distinct" a blob per key (writes run side by side).
func BenchmarkPutObjectParallel(b *testing.B) {
	for _, bc := range []struct {
		name     string
		distinct bool
	}{{"sameblob", false}, {"distinct", true}} {
		b.Run(bc.name, func(b *testing.B) {
			// pgtest's databases skip the WAL flush at commit; measure
			// with it, as a server runs.
			u, err := url.Parse(pgtest.NewDatabase(b))
			if err != nil {
				b.Fatal(err)
			}
			q := u.Query()
			q.Set("synchronous_commit", "on")
			u.RawQuery = q.Encode()
			ix := openURL(b, u.String(), Options{MaxConns: 16})
			ctx := context.Background()
			if err := ix.CreateBucket(ctx, index.Bucket{Name: "b"}); err != nil {
				b.Fatal(err)
			}
			ref := cas.Sum([]byte("bench"))
			var n atomic.Int64
			b.SetParallelism((16 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					k := fmt.Sprintf("k%09d", n.Add(1))
					r := ref
					if bc.distinct {
						r = cas.Sum([]byte(k))
					}
					if _, err := ix.PutObject(ctx, index.Object{Bucket: "b", Key: k, Blob: r}, noop); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puts/s")
		})
	}
}

// TestUnstorableKeys: PostgreSQL text holds neither NUL nor invalid UTF-8.
// Such a key is refused with an error, and the write changes nothing.
func TestUnstorableKeys(t *testing.T) {
	ix := open(t, Options{})
	ctx := t.Context()
	if err := ix.CreateBucket(ctx, index.Bucket{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"nul\x00byte", "bad\xffutf8"} {
		r := cas.Sum([]byte(key))
		if _, err := ix.PutObject(ctx, index.Object{Bucket: "b", Key: key, Blob: r}, noop); err == nil {
			t.Errorf("PutObject(%q) succeeded", key)
		}
		if _, err := ix.GetBlob(ctx, r); !errors.Is(err, index.ErrNotFound) {
			t.Errorf("PutObject(%q) failed but left its pin: %v", key, err)
		}
	}
}
