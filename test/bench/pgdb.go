package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgAdmin creates and drops the bench's own databases on the PostgreSQL
// server named by -pg (trust authentication, as `make deps` sets it up).
type pgAdmin struct {
	base string // -pg: a URL to any database of the server
}

// dsn returns the URL of database name on the same server.
func (p pgAdmin) dsn(name string) (string, error) {
	u, err := url.Parse(p.base)
	if err != nil {
		return "", fmt.Errorf("bench: -pg: %w", err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

func (p pgAdmin) exec(ctx context.Context, sql string) error {
	return pgExec(ctx, p.base, sql)
}

// pgExec runs one statement on the database at dsn.
func pgExec(ctx context.Context, dsn, sql string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("bench: PostgreSQL at -pg: %w", err)
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(ctx, sql); err != nil {
		return fmt.Errorf("bench: PostgreSQL: %s: %w", sql, err)
	}
	return nil
}

// create makes an empty database and returns its URL.
func (p pgAdmin) create(ctx context.Context, name string) (string, error) {
	if err := p.exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", err
	}
	return p.dsn(name)
}

// drop removes a database, closing its connections.
func (p pgAdmin) drop(ctx context.Context, name string) error {
	return p.exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
}

// pgBackends returns the pids of the PostgreSQL backends serving database
// db on this machine: their command line reads "postgres: [CLUSTER:] USER
// DB HOST ...", so the index's share of PostgreSQL's work is charged to the server
// and not to other processes.
func pgBackends(db string) []int {
	if db == "" {
		return nil
	}
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err == nil && pgBackendOf(string(b)) == db {
			out = append(out, pid)
		}
	}
	return out
}

// pgBackendOf returns the database a PostgreSQL backend's command line
// (NUL-separated, as /proc shows it) names, "" for any other process.
func pgBackendOf(cmdline string) string {
	f := strings.Fields(strings.ReplaceAll(cmdline, "\x00", " "))
	if len(f) < 3 || f[0] != "postgres:" {
		return ""
	}
	if strings.HasSuffix(f[1], ":") { // the cluster name (Debian's "15/main:")
		f = f[1:]
	}
	// USER DB HOST: the host is "[local]" or "address(port)", never in a
	// background worker's name.
	if len(f) < 4 || f[3] != "[local]" && !strings.Contains(f[3], "(") {
		return ""
	}
	return f[2]
}
