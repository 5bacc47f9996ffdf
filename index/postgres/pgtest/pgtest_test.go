package pgtest

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func query(t *testing.T, url, q string, args ...any) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var s string
	if err := conn.QueryRow(ctx, q, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return s
}

func TestDatabaseAndSchema(t *testing.T) {
	var db, dbName, schemaURL string
	t.Run("use", func(t *testing.T) {
		db = NewDatabase(t)
		dbName = query(t, db, `SELECT current_database()`)
		if !strings.HasPrefix(dbName, "dewar_test_") {
			t.Errorf("database %q", dbName)
		}
		if sc := query(t, db, `SHOW synchronous_commit`); sc != "off" {
			t.Errorf("synchronous_commit = %q in a throwaway database, want off", sc)
		}
		on, err := withQuery(db, func(_ *url.URL, q url.Values) { q.Set("synchronous_commit", "on") })
		if err != nil {
			t.Fatal(err)
		}
		if sc := query(t, on, `SHOW synchronous_commit`); sc != "on" {
			t.Errorf("synchronous_commit = %q with the URL asking for on", sc)
		}
		schemaURL = NewSchema(t, db)
		schema := query(t, schemaURL, `SELECT current_schema()`)
		if !strings.HasPrefix(schema, "t_") {
			t.Fatalf("schema URL connects with current_schema %q", schema)
		}
		conn, err := pgx.Connect(t.Context(), schemaURL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(t.Context())
		if _, err := conn.Exec(t.Context(), `CREATE TABLE here (x int)`); err != nil {
			t.Fatal(err)
		}
		if got := query(t, db, `SELECT table_schema FROM information_schema.tables WHERE table_name = 'here'`); got != schema {
			t.Errorf("table made through the schema URL is in %q, want %q", got, schema)
		}
		if other := NewSchema(t, db); other == schemaURL {
			t.Error("two schemas share a URL")
		}
	})
	if dbName == "" {
		t.Fatal("subtest made no database")
	}
	if n := query(t, Base(), `SELECT count(*)::text FROM pg_database WHERE datname = $1`, dbName); n != "0" {
		t.Errorf("database %s still exists after its test", dbName)
	}
}

// TestUnreachable runs this test binary against a closed port: without
// DEWAR_TEST_REQUIRE the test skips, with it the test fails.
func TestUnreachable(t *testing.T) {
	if os.Getenv("PGTEST_CHILD") == "1" {
		NewDatabase(t)
		t.Log("reached after NewDatabase")
		return
	}
	for _, tc := range []struct {
		require  string
		wantFail bool
		want     string
	}{
		{"", false, "--- SKIP: TestUnreachable"},
		{"s3fs", false, "--- SKIP: TestUnreachable"},
		{"postgres", true, "--- FAIL: TestUnreachable"},
		{"all", true, "--- FAIL: TestUnreachable"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestUnreachable$", "-test.v")
		cmd.Env = append(os.Environ(), "PGTEST_CHILD=1", "DEWAR_TEST_REQUIRE="+tc.require,
			"DEWAR_TEST_POSTGRES=postgres://postgres:pw@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2")
		out, err := cmd.CombinedOutput()
		if failed := err != nil; failed != tc.wantFail || !strings.Contains(string(out), tc.want) {
			t.Errorf("DEWAR_TEST_REQUIRE=%q: err %v, output:\n%s", tc.require, err, out)
		}
		if strings.Contains(string(out), "reached after NewDatabase") || strings.Contains(string(out), ":pw@") {
			t.Errorf("DEWAR_TEST_REQUIRE=%q: went on after NewDatabase, or printed the password:\n%s", tc.require, out)
		}
	}
}
