package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"dewar/index/postgres"
	"dewar/index/sqlindex"
	"dewar/index/sqlite"
)

// searchReport is the search benchmark (issue 5): a generated index of
// 1M files, 5M indicators and 50k jobs on SQLite and on PostgreSQL,
// queried through the JSON API.
type searchReport struct {
	Backends []searchBackend `json:"backends"`
	Rows     []row           `json:"rows"`
	Notes    []string        `json:"notes,omitempty"`
}

// searchBackend is one database's corpus and query latencies.
type searchBackend struct {
	Name    string             `json:"name"`
	Cache   searchCache        `json:"corpus"`
	Reused  bool               `json:"reused_cache"`
	Queries []loadResult       `json:"queries"`
	Checks  map[string]int     `json:"result_sizes"` // items answered by the first call of each query kind
	Targets map[string]float64 `json:"p99_targets_ms"`
	Skipped string             `json:"skipped,omitempty"`
}

// searchCache describes a generated index kept between runs.
type searchCache struct {
	Version     int       `json:"generator_version"`
	Corpus      corpus    `json:"corpus"`
	Files       int64     `json:"files"`
	IOCs        int64     `json:"file_iocs"`
	IOCValues   int64     `json:"distinct_iocs"`
	SimKeys     int64     `json:"sim_keys"`
	Jobs        int64     `json:"jobs"`
	GenSeconds  float64   `json:"generation_seconds"`
	GeneratedAt time.Time `json:"generated_at"`
	Where       string    `json:"where"` // SQLite path or PostgreSQL database name
}

// searchQuery is one measured API call shape.
type searchQuery struct {
	name   string
	target float64 // p99 target in ms; 0: none
	op     func(ctx context.Context, i int) (int, error)
}

// runSearch measures issue 5's figures on SQLite and PostgreSQL.
func runSearch(ctx context.Context, env *benchEnv) (*searchReport, error) {
	c := corpusFor(env.cfg.quick)
	fmt.Printf("\n== search: an index of %s files, about %s indicators, %s jobs, through the JSON API ==\n",
		thousands(c.Files()), thousands(c.Files()*51/10), thousands(c.Jobs))
	rep := &searchReport{}
	cacheDir := filepath.Join(env.root, ".bench", "search-cache")
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, err
	}
	scale := "full"
	if env.cfg.quick {
		scale = "quick"
	}
	for _, backend := range []string{"sqlite", "postgres"} {
		b := searchBackend{Name: backend}
		var indexArg string
		var err error
		switch backend {
		case "sqlite":
			indexArg, err = ensureSQLiteCorpus(ctx, filepath.Join(cacheDir, "sqlite-"+scale), c, env.cfg.quick, &b)
		default:
			indexArg, err = ensurePostgresCorpus(ctx, pgAdmin{base: env.cfg.pgURL}, filepath.Join(cacheDir, "postgres-"+scale+".json"), "dewar_bench_search"+map[bool]string{true: "_quick", false: ""}[env.cfg.quick], c, env.cfg.quick, &b)
		}
		if err != nil {
			if backend == "postgres" && errors.Is(err, errNoPostgres) {
				b.Skipped = err.Error()
				fmt.Println("  postgres skipped:", err)
				rep.Backends = append(rep.Backends, b)
				continue
			}
			return nil, err
		}
		if err := measureSearch(ctx, env, c, indexArg, &b); err != nil {
			return nil, err
		}
		rep.Backends = append(rep.Backends, b)
	}
	rep.Rows = rep.rows()
	rep.Notes = append(rep.Notes, "sim_keys holds the similarity keys of every near-duplicate and of one other file in 8 (see keyEvery in searchgen.go); tokens are 12 per text file")
	return rep, nil
}

var errNoPostgres = errors.New("bench: PostgreSQL unreachable")

// generation tunes a SQLite index's writer connection for bulk loading:
// a 1 GiB page cache and statement journals in memory, so a job's random
// inserts do not spill pages to disk mid-transaction. (Generation only:
// the server under test opens the file with its own settings.)
func tuneSQLiteWriter(ctx context.Context, ix *sqlindex.Index) error {
	return ix.Update(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for _, p := range []string{"PRAGMA cache_size = -1048576", "PRAGMA temp_store = MEMORY"} {
			if _, err := tx.ExecContext(ctx, p); err != nil {
				return err
			}
		}
		return nil
	})
}

func readCache(path string) (searchCache, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return searchCache{}, false
	}
	var sc searchCache
	if json.Unmarshal(b, &sc) != nil {
		return searchCache{}, false
	}
	return sc, sc.Version == searchGenVersion
}

func writeCache(path string, sc searchCache) error {
	b, err := json.MarshalIndent(sc, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// ensureSQLiteCorpus returns the path of the cached SQLite corpus
// (<base>.db), generating it when missing or made by another generator
// version.
func ensureSQLiteCorpus(ctx context.Context, base string, c corpus, quick bool, b *searchBackend) (string, error) {
	dbPath, meta := base+".db", base+".json"
	if sc, ok := readCache(meta); ok && sc.Corpus == c {
		if _, err := os.Stat(dbPath); err == nil {
			b.Cache, b.Reused = sc, true
			fmt.Printf("  sqlite: reusing %s (generated %s in %.0f s)\n", dbPath, sc.GeneratedAt.Format(time.RFC3339), sc.GenSeconds)
			return dbPath, nil
		}
	}
	for _, p := range []string{meta, dbPath, dbPath + "-wal", dbPath + "-shm"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
	}
	fmt.Printf("  sqlite: generating %s (cached for later runs)\n", dbPath)
	ix, err := sqlite.Open(dbPath, sqlite.Options{})
	if err != nil {
		return "", err
	}
	defer ix.Close()
	if err := tuneSQLiteWriter(ctx, ix); err != nil {
		return "", err
	}
	sc, err := generateCorpus(ctx, ix, ix, c, quick, 16)
	if err != nil {
		return "", err
	}
	sc.Where = dbPath
	if err := ix.Close(); err != nil {
		return "", err
	}
	b.Cache = sc
	return dbPath, writeCache(meta, sc)
}

// ensurePostgresCorpus returns the URL of the cached PostgreSQL corpus
// (database name), generating it when missing, incomplete or made by
// another generator version.
func ensurePostgresCorpus(ctx context.Context, pg pgAdmin, meta, name string, c corpus, quick bool, b *searchBackend) (string, error) {
	dsn, err := pg.dsn(name)
	if err != nil {
		return "", err
	}
	if sc, ok := readCache(meta); ok && sc.Corpus == c {
		if jobs, err := pgCount(ctx, dsn, "SELECT count(*) FROM jobs WHERE status = 'done'"); err == nil && jobs == sc.Jobs {
			b.Cache, b.Reused = sc, true
			fmt.Printf("  postgres: reusing database %s (generated %s in %.0f s)\n", name, sc.GeneratedAt.Format(time.RFC3339), sc.GenSeconds)
			return dsn, analyzePG(ctx, dsn)
		}
	}
	if err := os.Remove(meta); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if err := pg.drop(ctx, name); err != nil {
		return "", fmt.Errorf("%w: %v", errNoPostgres, err)
	}
	if _, err := pg.create(ctx, name); err != nil {
		return "", fmt.Errorf("%w: %v", errNoPostgres, err)
	}
	fmt.Printf("  postgres: generating database %s (kept for later runs)\n", name)
	ix, err := postgres.Open(ctx, dsn, postgres.Options{MaxConns: 8})
	if err != nil {
		return "", err
	}
	defer ix.Close()
	sc, err := generateCorpus(ctx, ix, ix.Index, c, quick, 8)
	if err != nil {
		return "", err
	}
	sc.Where = name
	ix.Close()
	b.Cache = sc
	if err := analyzePG(ctx, dsn); err != nil {
		return "", err
	}
	return dsn, writeCache(meta, sc)
}

// analyzePG vacuums and gathers the planner's statistics, as autovacuum
// does on a server that runs it (the test setup's PostgreSQL does not):
// without statistics, plans right after a bulk load scan whole tables,
// and without the visibility map index-only scans visit the heap.
func analyzePG(ctx context.Context, dsn string) error {
	t0 := time.Now()
	if err := pgExec(ctx, dsn, "VACUUM (ANALYZE)"); err != nil {
		return err
	}
	fmt.Printf("  postgres: VACUUM (ANALYZE) took %.1f s\n", time.Since(t0).Seconds())
	return nil
}

// pgCount runs a count query on the database at dsn.
func pgCount(ctx context.Context, dsn, q string) (int64, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.Background())
	var n int64
	err = conn.QueryRow(ctx, q).Scan(&n)
	return n, err
}

// generateCorpus fills ix with c and counts what it holds.
func generateCorpus(ctx context.Context, gi genIndex, ix *sqlindex.Index, c corpus, quick bool, workers int) (searchCache, error) {
	sc := searchCache{Version: searchGenVersion, Corpus: c}
	t0 := time.Now()
	last := t0
	err := c.generate(ctx, gi, quick, workers, func(done int) {
		if done%5000 == 0 || time.Since(last) > 30*time.Second {
			fmt.Printf("    %s of %s jobs after %.0f s\n", thousands(done), thousands(c.Jobs), time.Since(t0).Seconds())
			last = time.Now()
		}
	})
	if err != nil {
		return sc, err
	}
	sc.GenSeconds = time.Since(t0).Seconds()
	sc.GeneratedAt = time.Now().UTC()
	err = ix.Update(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for _, q := range []struct {
			dst *int64
			sql string
		}{
			{&sc.Files, "SELECT count(*) FROM files"},
			{&sc.IOCs, "SELECT count(*) FROM file_iocs"},
			{&sc.IOCValues, "SELECT count(*) FROM ioc_values"},
			{&sc.SimKeys, "SELECT count(*) FROM sim_keys"},
			{&sc.Jobs, "SELECT count(*) FROM jobs WHERE status = 'done'"},
		} {
			if err := tx.QueryRowContext(ctx, q.sql).Scan(q.dst); err != nil {
				return err
			}
		}
		return nil
	})
	fmt.Printf("    generated in %.0f s: %s files, %s file indicators (%s distinct), %s similarity keys, %s jobs\n", sc.GenSeconds,
		thousands(int(sc.Files)), thousands(int(sc.IOCs)), thousands(int(sc.IOCValues)), thousands(int(sc.SimKeys)), thousands(int(sc.Jobs)))
	return sc, err
}

// measureSearch starts dewar serve on the index and times the queries.
func measureSearch(ctx context.Context, env *benchEnv, c corpus, indexArg string, b *searchBackend) error {
	srv, err := env.start(ctx, "search-"+b.Name, "--index", indexArg)
	if err != nil {
		return err
	}
	defer func() { _ = srv.Stop() }()
	api := newAPI(srv.ui)
	meter := cpuMeter{pid: srv.Pid()}
	if b.Name == "postgres" {
		meter.pgDB = b.Cache.Where
	}
	b.Checks, b.Targets = map[string]int{}, map[string]float64{}
	for _, q := range searchQueries(c, env.cfg.quick, api) {
		if q.target > 0 {
			b.Targets[q.name] = q.target
		}
		// The first call checks the answer and warms the caches the
		// way a server that has been up a while has them warm.
		n, err := q.op(ctx, -1)
		if err != nil {
			return errors.Join(fmt.Errorf("bench: %s: %s: %w", b.Name, q.name, err), srv.Alive())
		}
		b.Checks[q.name] = n
		spec := loadSpec{conc: 1, dur: env.cfg.dur, minOps: 300, warmup: 20, maxDur: 3 * env.cfg.dur}
		if strings.HasPrefix(q.name, "bulk") || strings.HasPrefix(q.name, "similar") || strings.HasPrefix(q.name, "search similar") {
			spec.minOps, spec.warmup = 100, 5
		}
		if env.cfg.quick {
			spec.minOps /= 2
		}
		r, err := runLoad(ctx, b.Name+" "+q.name, spec, meter, func(ctx context.Context, _, i int) (int64, error) {
			_, err := q.op(ctx, i)
			return 0, err
		})
		if err != nil {
			return errors.Join(err, srv.Alive())
		}
		b.Queries = append(b.Queries, r)
		fmt.Printf("  %-58s %6d ops  p50 %8.2f ms  p99 %8.2f ms  server CPU %6.2f ms/op  answer %d items  others %3.0f%%\n",
			r.Name, r.Ops, r.P50ms, r.P99ms, r.ServerCPUop, n, 100*r.OtherCPU)
	}
	return srv.Stop()
}

// searchQueries are the measured calls. Keys vary with i (a fixed
// sequence, the same on both databases); i = -1 is the check call. Each
// returns how many items it answered.
func searchQueries(c corpus, quick bool, api *apiClient) []searchQuery {
	pick := func(i, salt int) *rand.Rand {
		return rand.New(rand.NewPCG(uint64(i+1), uint64(salt)))
	}
	randomFile := func(r *rand.Rand) fileID { return fileID{'f', r.IntN(c.Files())} }
	// A text file's indicator of a type (files have 6 to 11, of any type).
	iocOf := func(i, salt int, typ string) string {
		r := pick(i, salt)
		for {
			id := randomFile(r)
			if !id.fileKind().text {
				continue
			}
			for _, x := range c.iocsOf(id, quick) {
				if typ == "" || x.Type == typ {
					return x.Value
				}
			}
		}
	}
	search := func(q string) (int, error) {
		var page struct {
			Items []json.RawMessage `json:"items"`
		}
		_, _, err := api.do(context.Background(), http.MethodGet, "/api/v1/search?q="+url.QueryEscape(q), nil, &page)
		return len(page.Items), err
	}
	family := func(i int) fileID {
		// A family member: a text file numbered a multiple of simEvery.
		r := pick(i, 7)
		for {
			id := fileID{'f', r.IntN(c.Files()/simEvery) * simEvery}
			if c.family(id) >= 0 {
				return id
			}
		}
	}
	loner := func(i int) fileID {
		// A file with indexed keys and no near-duplicates.
		r := pick(i, 8)
		for {
			id := fileID{'f', r.IntN(c.Files()/keyEvery) * keyEvery}
			if c.family(id) < 0 {
				return id
			}
		}
	}
	// Bulk lookups: 10,000 hashes, a quarter each found by sha256, md5,
	// sha1, and not found.
	var bulks [][]string
	for i := range 10 {
		r := pick(i, 9)
		hs := make([]string, 10000)
		for k := range hs {
			ref, s1, m5 := randomFile(r).hashes()
			switch k % 4 {
			case 0:
				hs[k] = ref.String()
			case 1:
				hs[k] = m5
			case 2:
				hs[k] = s1
			default:
				ref, _, _ := fileID{'x', r.Int()}.hashes()
				hs[k] = ref.String()
			}
		}
		bulks = append(bulks, hs)
	}
	return []searchQuery{
		{"hash lookup GET /files/{sha256|sha1|md5}", 5, func(ctx context.Context, i int) (int, error) {
			ref, s1, m5 := randomFile(pick(i, 1)).hashes()
			h := []string{ref.String(), s1, m5}[(i+3)%3]
			_, _, err := api.do(ctx, http.MethodGet, "/api/v1/files/"+h, nil, nil)
			return 1, err
		}},
		{"bulk lookup of 10,000 hashes POST /lookup", 0, func(ctx context.Context, i int) (int, error) {
			var res struct {
				Results []struct {
					Found bool `json:"found"`
				} `json:"results"`
			}
			_, _, err := api.do(ctx, http.MethodPost, "/api/v1/lookup", map[string]any{"hashes": bulks[(i+10)%len(bulks)]}, &res)
			found := 0
			for _, x := range res.Results {
				if x.Found {
					found++
				}
			}
			return found, err
		}},
		{"IOC query email:<address>", 50, func(_ context.Context, i int) (int, error) {
			return search("email:" + iocOf(i, 2, "email"))
		}},
		{"IOC query domain:<host>", 50, func(_ context.Context, i int) (int, error) {
			return search("domain:" + iocOf(i, 3, "domain"))
		}},
		{"IOC query ioc:<any value>", 50, func(_ context.Context, i int) (int, error) {
			return search("ioc:" + iocOf(i, 4, ""))
		}},
		{"IOC query email:*@<domain>", 50, func(_ context.Context, i int) (int, error) {
			e := iocOf(i, 5, "email")
			return search("email:*" + e[strings.IndexByte(e, '@'):])
		}},
		{"3 clauses mime:text/x-php size:>N knowngood:false", 0, func(_ context.Context, i int) (int, error) {
			return search(fmt.Sprintf("mime:text/x-php size:>%d knowngood:false", 500+pick(i, 6).IntN(5000)))
		}},
		{"similar GET /files/{sha256}/similar, near-duplicates", 200, func(ctx context.Context, i int) (int, error) {
			ref, _, _ := family(i).hashes()
			var out []json.RawMessage
			_, _, err := api.do(ctx, http.MethodGet, "/api/v1/files/"+ref.String()+"/similar", nil, &out)
			return len(out), err
		}},
		{"similar GET /files/{sha256}/similar, none similar", 200, func(ctx context.Context, i int) (int, error) {
			ref, _, _ := loner(i).hashes()
			var out []json.RawMessage
			_, _, err := api.do(ctx, http.MethodGet, "/api/v1/files/"+ref.String()+"/similar", nil, &out)
			return len(out), err
		}},
		{"search similar:<sha256>, near-duplicates", 200, func(_ context.Context, i int) (int, error) {
			ref, _, _ := family(i + 1000).hashes()
			return search("similar:" + ref.String())
		}},
	}
}

// rows is the search summary: p99 against each target, p50 beside.
func (rep *searchReport) rows() []row {
	var rows []row
	for _, b := range rep.Backends {
		if b.Skipped != "" {
			rows = append(rows, skippedRow(b.Name, "", "", b.Skipped))
			continue
		}
		for _, r := range b.Queries {
			q := strings.TrimPrefix(r.Name, b.Name+" ")
			t := b.Targets[q]
			if t > 0 {
				rows = append(rows, targetRow(b.Name+" p99 "+q, r.P99ms, "ms", fmt.Sprintf("<= %.0f ms", t), r.P99ms <= t))
			} else {
				rows = append(rows, row{Figure: b.Name + " p99 " + q, Value: r.P99ms, Unit: "ms"})
			}
		}
	}
	return rows
}

// printSearch writes the search tables.
func printSearch(out io.Writer, rep *searchReport) {
	tw := tabwriter.NewWriter(out, 2, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "\nSEARCH CORPUS\ndatabase\tfiles\tfile IOCs\tdistinct IOCs\tsim keys\tjobs\tgenerated in\twhere\n")
	for _, b := range rep.Backends {
		if b.Skipped != "" {
			fmt.Fprintf(tw, "%s\tskipped: %s\n", b.Name, b.Skipped)
			continue
		}
		sc := b.Cache
		reused := ""
		if b.Reused {
			reused = " (cached, reused)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%.0f s%s\t%s\n", b.Name, thousands(int(sc.Files)), thousands(int(sc.IOCs)), thousands(int(sc.IOCValues)),
			thousands(int(sc.SimKeys)), thousands(int(sc.Jobs)), sc.GenSeconds, reused, sc.Where)
	}
	tw.Flush()
	fmt.Fprintf(tw, "\nSEARCH THROUGH THE JSON API (one client, sequential; keys vary per call)\nquery\tops\tp50 ms\tp99 ms\tops/s\tserver CPU ms/op\tclient CPU ms/op\titems (first call)\tother processes' CPU\n")
	for _, b := range rep.Backends {
		for _, r := range b.Queries {
			fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%.1f\t%.2f\t%.2f\t%d\t%.0f%%\n", r.Name, r.Ops, r.P50ms, r.P99ms, r.OpsPerSec, r.ServerCPUop, r.ClientCPUop,
				b.Checks[strings.TrimPrefix(r.Name, b.Name+" ")], 100*r.OtherCPU)
		}
	}
	tw.Flush()
	printRows(out, "SEARCH SUMMARY", rep.Rows)
	for _, n := range rep.Notes {
		fmt.Fprintf(out, "note: %s\n", n)
	}
}

// shares lists the search phases' other-process CPU shares.
func (rep *searchReport) shares() []phaseShare {
	var out []phaseShare
	for _, b := range rep.Backends {
		for _, r := range b.Queries {
			out = append(out, phaseShare{r.Name, r.OtherCPU})
		}
	}
	return out
}
