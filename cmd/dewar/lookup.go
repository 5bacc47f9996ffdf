package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"dewar/gateway/web/apiclient"
)

const lookupUsage = `usage: dewar lookup HASH... [--json]

Asks a Dewar server whether it has seen each md5, sha1 or sha256 (any mix),
and whether it is known-good. A HASH of - reads hashes from standard input,
separated by white space; lines starting with # are skipped.
`

func runLookup(ctx context.Context, args []string) error {
	var cf clientFlags
	fs := flag.NewFlagSet("lookup", flag.ContinueOnError)
	cf.register(fs)
	asJSON := fs.Bool("json", false, "print each result as one JSON object per line")
	fs.Usage = func() {}
	flags, pos, help := splitArgs(fs, args)
	if help {
		fmt.Print(lookupUsage + "\nFlags:\n")
		fs.SetOutput(os.Stdout)
		fs.PrintDefaults()
		return nil
	}
	if err := fs.Parse(flags); err != nil {
		return err
	}
	if len(pos) == 0 {
		return errors.New("no hashes (dewar lookup --help)")
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	lw := &lookupWriter{w: os.Stdout, asJSON: *asJSON}
	var batch []string
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		res, err := c.Lookup(ctx, batch)
		if err != nil {
			return err
		}
		batch = batch[:0]
		return lw.write(res)
	}
	add := func(h string) error {
		batch = append(batch, h)
		if len(batch) == apiclient.MaxLookup {
			return flush()
		}
		return nil
	}
	for _, a := range pos {
		if a != "-" {
			if err := add(a); err != nil {
				return err
			}
			continue
		}
		if err := eachHash(os.Stdin, add); err != nil {
			return err
		}
	}
	return flush()
}

// eachHash calls fn with every white-space separated word of r, skipping
// lines that start with #.
func eachHash(r io.Reader, fn func(string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			continue
		}
		for _, h := range strings.Fields(line) {
			if err := fn(h); err != nil {
				return err
			}
		}
	}
	return sc.Err()
}

// lookupWriter prints lookup results as a table (one per batch) or JSON
// lines.
type lookupWriter struct {
	w      io.Writer
	asJSON bool
	header bool
}

func (l *lookupWriter) write(res []apiclient.LookupResult) error {
	if l.asJSON {
		enc := json.NewEncoder(l.w)
		for _, r := range res {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(l.w, 0, 4, 2, ' ', 0)
	if !l.header {
		l.header = true
		fmt.Fprintln(tw, "HASH\tFOUND\tKNOWN-GOOD\tJOBS\tSHA256")
	}
	for _, r := range res {
		found, kg, sha := "no", "-", "-"
		if r.Found {
			found, kg, sha = "yes", fmt.Sprint(r.KnownGood), r.SHA256
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", r.Hash, found, kg, r.JobCount, sha)
	}
	return tw.Flush()
}
