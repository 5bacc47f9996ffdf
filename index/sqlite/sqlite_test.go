package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"dewar/cas"
	"dewar/index"
	"dewar/index/indextest"
	"dewar/index/sqlindex"
)

func openTemp(t testing.TB, opts Options) *sqlindex.Index {
	t.Helper()
	ix, err := Open(filepath.Join(t.TempDir(), "index.db"), opts)
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

func TestConformance(t *testing.T) {
	indextest.Run(t, func(t *testing.T) index.Index { return openTemp(t, Options{}) })
}

// Without group commit every write is its own transaction; the suite must
// pass that way too.
func TestConformanceNoGroupCommit(t *testing.T) {
	indextest.Run(t, func(t *testing.T) index.Index { return openTemp(t, Options{GroupCommit: 1}) })
}

func noop(context.Context) error { return nil }

func TestReopenKeepsData(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "dir with space", "index.db")
	if _, err := Open(path, Options{}); err == nil {
		t.Fatal("Open in a missing directory succeeded")
	}
	path = filepath.Join(t.TempDir(), "odd ?#%name.db")
	ix, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ref := cas.Sum([]byte("kept"))
	if err := ix.CreateBucket(ctx, index.Bucket{Name: "b", Owner: "o"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.PutObject(ctx, index.Object{Bucket: "b", Key: "k", Blob: ref, Size: 4, ETag: "e"}, noop); err != nil {
		t.Fatal(err)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.GetObject(ctx, "b", "k"); err == nil {
		t.Error("GetObject on a closed index succeeded")
	}
	if err := ix.CreateUser(ctx, index.User{AccessKey: "a", Role: index.RoleReader}); !errors.Is(err, sqlindex.ErrClosed) {
		t.Errorf("write on a closed index: %v, want ErrClosed", err)
	}

	ix2, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix2.Close()
	o, err := ix2.GetObject(ctx, "b", "k")
	if err != nil || o.Blob != ref || o.ETag != "e" {
		t.Errorf("after reopen: %+v, %v", o, err)
	}
	if b, err := ix2.GetBlob(ctx, ref); err != nil || b.Refs != 1 {
		t.Errorf("blob after reopen: %+v, %v", b, err)
	}
}

func TestMigrationsIdempotent(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "index.db")
	for range 2 {
		ix, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := ix.Close(); err != nil {
			t.Fatal(err)
		}
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n, err := sqlindex.Migrate(ctx, db, Dialect())
	if err != nil || n != 0 {
		t.Errorf("Migrate on an up-to-date database = %d, %v; want 0, nil", n, err)
	}
	var rows int
	files, _ := fs.Glob(migrationFiles, "migrations/*.sql")
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&rows); err != nil || rows != len(files) || rows < 2 {
		t.Errorf("schema_migrations has %d rows (%v), want one per file (%d)", rows, err, len(files))
	}

	// A fresh database gets every migration once.
	fresh, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "fresh.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if n, err := sqlindex.Migrate(ctx, fresh, Dialect()); err != nil || n != len(files) {
		t.Errorf("Migrate on a fresh database = %d, %v; want %d", n, err, len(files))
	}

	// A database from a newer program is refused.
	if _, err := db.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', '')`); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, Options{}); !errors.Is(err, sqlindex.ErrSchema) {
		t.Errorf("Open of a newer schema: %v, want ErrSchema", err)
	}
}

func TestPragmas(t *testing.T) {
	ix := openTemp(t, Options{})
	want := map[string]string{"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1"}
	err := ix.Update(t.Context(), func(ctx context.Context, tx *sql.Tx) error {
		for p, w := range want {
			var got string
			if err := tx.QueryRowContext(ctx, "PRAGMA "+p).Scan(&got); err != nil {
				return err
			}
			if got != w {
				t.Errorf("PRAGMA %s = %q, want %q", p, got, w)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// waitPending waits until n operations are queued behind the writer.
func waitPending(t *testing.T, ix *sqlindex.Index, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for ix.WriterStats().Pending < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d operations queued, want %d", ix.WriterStats().Pending, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// blockWriter occupies the writer until the returned func is called.
func blockWriter(t *testing.T, ix *sqlindex.Index) (release func()) {
	started, done := make(chan struct{}), make(chan struct{})
	go ix.Update(context.Background(), func(context.Context, *sql.Tx) error {
		close(started)
		<-done
		return nil
	})
	<-started
	return func() { close(done) }
}

func TestGroupCommitIsolatesFailures(t *testing.T) {
	ix := openTemp(t, Options{})
	ctx := t.Context()
	if err := ix.CreateBucket(ctx, index.Bucket{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	release := blockWriter(t, ix)
	boom := errors.New("boom")
	ops := []func() error{
		func() error { return ix.CreateUser(ctx, index.User{AccessKey: "a", Role: index.RoleAdmin}) },
		func() error {
			_, err := ix.PutObject(ctx, index.Object{Bucket: "b", Key: "k", Blob: cas.Sum([]byte("x"))},
				func(context.Context) error { return boom })
			return err
		},
		func() error { return ix.CreateUser(ctx, index.User{AccessKey: "a", Role: index.RoleReader}) },
		func() error {
			return ix.Update(ctx, func(ctx context.Context, tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO users (access_key, secret_key, name, role, created_at) VALUES ('p', '', '', 'reader', '')`); err != nil {
					return err
				}
				panic("op panics after writing")
			})
		},
		func() error { return ix.CreateUser(ctx, index.User{AccessKey: "c", Role: index.RoleReader}) },
		func() error {
			_, err := ix.PutObject(ctx, index.Object{Bucket: "b", Key: "k2", Blob: cas.Sum([]byte("y"))}, noop)
			return err
		},
	}
	errs := make([]error, len(ops))
	panics := make([]any, len(ops))
	var wg sync.WaitGroup
	for i, op := range ops {
		wg.Go(func() {
			defer func() { panics[i] = recover() }()
			errs[i] = op()
		})
		waitPending(t, ix, i+1) // queue in order
	}
	before := ix.WriterStats()
	release()
	wg.Wait()
	after := ix.WriterStats()

	if errs[0] != nil || errs[4] != nil || errs[5] != nil {
		t.Errorf("neighbours failed: %v, %v, %v", errs[0], errs[4], errs[5])
	}
	if !errors.Is(errs[1], boom) {
		t.Errorf("failing commit: %v", errs[1])
	}
	if !errors.Is(errs[2], index.ErrUserExists) {
		t.Errorf("duplicate user in the same batch: %v", errs[2])
	}
	if panics[3] == nil {
		t.Error("panic in Update did not reach its caller")
	}
	for _, k := range []string{"a", "c"} {
		if _, err := ix.GetUser(ctx, k); err != nil {
			t.Errorf("user %q: %v", k, err)
		}
	}
	if u, err := ix.GetUser(ctx, "a"); err != nil || u.Role != index.RoleAdmin {
		t.Errorf("user a = %+v, %v; want the first one", u, err)
	}
	if _, err := ix.GetUser(ctx, "p"); !errors.Is(err, index.ErrUserNotFound) {
		t.Errorf("write of the panicking op survived: %v", err)
	}
	if _, err := ix.GetObject(ctx, "b", "k"); !errors.Is(err, index.ErrObjectNotFound) {
		t.Errorf("object of the failed op: %v", err)
	}
	if _, err := ix.GetBlob(ctx, cas.Sum([]byte("x"))); !errors.Is(err, index.ErrNotFound) {
		t.Errorf("pin of the failed op survived: %v", err)
	}
	if _, err := ix.GetObject(ctx, "b", "k2"); err != nil {
		t.Errorf("object of the last op: %v", err)
	}
	// The blocker's transaction and then one for all six.
	if c := after.Commits - before.Commits; c != 2 {
		t.Errorf("%d commits, want 2 (one shared by the batch)", c)
	}
	if n := after.Ops - before.Ops; n != uint64(len(ops)) {
		t.Errorf("%d ops run, want %d", n, len(ops))
	}
}

func TestGroupCommitCancelledWhileQueued(t *testing.T) {
	ix := openTemp(t, Options{})
	release := blockWriter(t, ix)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- ix.CreateUser(ctx, index.User{AccessKey: "late", Role: index.RoleReader}) }()
	waitPending(t, ix, 1)
	cancel()
	release()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled queued op: %v, want context.Canceled", err)
	}
	if _, err := ix.GetUser(t.Context(), "late"); !errors.Is(err, index.ErrUserNotFound) {
		t.Errorf("cancelled op was applied: %v", err)
	}
}

// TestGroupCommitConcurrent puts from 16 goroutines (run it with -race) and
// checks that every write landed and that commits were shared.
func TestGroupCommitConcurrent(t *testing.T) {
	ix := openTemp(t, Options{})
	ctx := t.Context()
	if err := ix.CreateBucket(ctx, index.Bucket{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	const goroutines, each = 16, 40
	var wg sync.WaitGroup
	var failed atomic.Int64
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				ref := cas.Sum(fmt.Appendf(nil, "%d", i%5))
				if _, err := ix.PutObject(ctx, index.Object{Bucket: "b", Key: fmt.Sprintf("g%02d/%03d", g, i), Blob: ref}, noop); err != nil {
					t.Error(err)
					failed.Add(1)
					return
				}
			}
		})
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.FailNow()
	}
	p, err := ix.ListObjects(ctx, "b", index.ListOptions{Limit: 1000})
	if err != nil || len(p.Objects) != goroutines*each || p.Truncated {
		t.Errorf("listed %d objects (%v), want %d", len(p.Objects), err, goroutines*each)
	}
	var total int64
	for i := range 5 {
		b, err := ix.GetBlob(ctx, cas.Sum(fmt.Appendf(nil, "%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		total += b.Refs
	}
	if total != goroutines*each {
		t.Errorf("refs sum to %d, want %d", total, goroutines*each)
	}
	st := ix.WriterStats()
	t.Logf("%d ops in %d commits", st.Ops, st.Commits)
	if st.Commits >= st.Ops {
		t.Errorf("%d commits for %d ops: no commit was shared", st.Commits, st.Ops)
	}
}

// BenchmarkPutObjectParallel compares group commit with one commit (one
// fsync) per write, 16 writers at a time.
func BenchmarkPutObjectParallel(b *testing.B) {
	for _, bc := range []struct {
		name  string
		group int
	}{{"group", 0}, {"single", 1}} {
		b.Run(bc.name, func(b *testing.B) {
			ix := openTemp(b, Options{GroupCommit: bc.group})
			ctx := context.Background()
			if err := ix.CreateBucket(ctx, index.Bucket{Name: "b"}); err != nil {
				b.Fatal(err)
			}
			ref := cas.Sum([]byte("bench"))
			var n atomic.Int64
			before := ix.WriterStats()
			b.SetParallelism((16 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					k := fmt.Sprintf("k%09d", n.Add(1))
					if _, err := ix.PutObject(ctx, index.Object{Bucket: "b", Key: k, Blob: ref}, noop); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			st := ix.WriterStats()
			commits := float64(st.Commits - before.Commits)
			b.ReportMetric(commits/b.Elapsed().Seconds(), "commits/s")
			b.ReportMetric(float64(st.Ops-before.Ops)/commits, "ops/commit")
		})
	}
}

// The database holds users' secrets: only its owner may read it.
func TestDatabaseFileIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "index.db")
	ix, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	for _, p := range []string{path, path + "-wal"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v, want no access for group and others", p, fi.Mode().Perm())
		}
	}
}
