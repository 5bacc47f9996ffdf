// Package pgtest gives tests throwaway PostgreSQL databases and schemas on
// the server named by DEWAR_TEST_POSTGRES (a base URL; default
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable), so test
// packages that run at the same time never share tables.
//
// When the server is unreachable the test is skipped, unless
// DEWAR_TEST_REQUIRE names postgres (or all), as CI sets it: then it fails.
// Import it from tests only.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"dewar/test/harness"
)

// DefaultBase is the server used when DEWAR_TEST_POSTGRES is unset: the
// local one with trust authentication.
const DefaultBase = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Base returns the base URL: DEWAR_TEST_POSTGRES or DefaultBase.
func Base() string {
	if s := os.Getenv("DEWAR_TEST_POSTGRES"); s != "" {
		return s
	}
	return DefaultBase
}

// connectTimeout bounds each administrative connection, so an unreachable
// server is reported quickly.
const connectTimeout = 10 * time.Second

// NewDatabase creates a database named dewar_test_<random> on the Base
// server and returns its URL (the base URL with the database name
// replaced). It is dropped (WITH (FORCE), closing leftover connections)
// when t and its subtests finish.
func NewDatabase(t testing.TB) string {
	t.Helper()
	base := Base()
	name := "dewar_test_" + randomHex(t)
	if err := admin(base, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		unavailable(t, base, err)
	}
	t.Cleanup(func() {
		if err := admin(base, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	// A throwaway database needs no durability: commits need not wait
	// for the WAL to reach the disk. (A benchmark that wants the real
	// cost adds synchronous_commit=on to the URL.)
	if err := admin(base, "ALTER DATABASE "+pgx.Identifier{name}.Sanitize()+" SET synchronous_commit = off"); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	u, err := withQuery(base, func(u *url.URL, _ url.Values) { u.Path = "/" + name })
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// NewSchema creates a schema named t_<random> in the database at dbURL
// and returns a URL whose connections use it as their search_path, so
// tables created through it land there. It is dropped with everything in
// it when t finishes. A schema is much cheaper than a database, so a suite
// can give every subtest an empty one.
func NewSchema(t testing.TB, dbURL string) string {
	t.Helper()
	name := "t_" + randomHex(t)
	if err := admin(dbURL, "CREATE SCHEMA "+pgx.Identifier{name}.Sanitize()); err != nil {
		unavailable(t, dbURL, err)
	}
	t.Cleanup(func() {
		if err := admin(dbURL, "DROP SCHEMA IF EXISTS "+pgx.Identifier{name}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("pgtest: drop schema %s: %v", name, err)
		}
	})
	u, err := withQuery(dbURL, func(_ *url.URL, q url.Values) { q.Set("search_path", name) })
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// unavailable skips t, or fails it when PostgreSQL is required.
func unavailable(t testing.TB, server string, err error) {
	t.Helper()
	server = redact(server)
	if harness.Required("postgres") {
		t.Fatalf("pgtest: PostgreSQL is required (DEWAR_TEST_REQUIRE=%s) but %s is unusable: %v",
			os.Getenv("DEWAR_TEST_REQUIRE"), server, err)
	}
	t.Skipf("pgtest: PostgreSQL at %s unusable (%v); set DEWAR_TEST_REQUIRE=all to make this a failure", server, err)
}

// admin runs one statement on its own connection to the database at u.
func admin(u, stmt string) error {
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, stmt)
	return err
}

// withQuery parses the URL s, lets edit change it and its query, and
// returns the result.
func withQuery(s string, edit func(*url.URL, url.Values)) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("pgtest: %s is not a postgres:// URL", redact(s))
	}
	q := u.Query()
	edit(u, q)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// redact hides a password in a URL for messages.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

func randomHex(t testing.TB) string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}
