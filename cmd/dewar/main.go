// Command dewar is the Dewar server and its command-line tools. This
// package only parses flags, wires the pieces together and starts or stops
// them; the logic lives in the packages it imports.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "serve S3 and the JSON API, ingest uploads, watch folders", runServe},
		{"submit", "submit files as jobs through the API, with a progress bar", runSubmit},
		{"jobs", "list jobs (newest first)", runJobs},
		{"release", "release a held job", runRelease},
		{"search", "search files or jobs with the query language (search --help for it)", runSearch},
		{"lookup", "look up md5, sha1 or sha256 hashes: seen, known-good, in how many jobs", runLookup},
		{"user", "manage users: user add|list|remove", runUser},
		{"verify", "re-hash every stored blob and report corrupt, missing and orphaned ones", runVerify},
		{"gc", "remove blobs nothing references", runGC},
		{"reanalyze", "re-run the analyzers on stored files whose analysis is out of date (resumable)", runReanalyze},
	}
}

func usage() {
	fmt.Fprintf(os.Stderr, "usage: dewar <command> [flags]\n\ncommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(os.Stderr, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(os.Stderr, "\nRun 'dewar <command> -h' for a command's flags.\n")
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for _, c := range commands() {
		if c.name == os.Args[1] {
			err := c.run(ctx, os.Args[2:])
			if errors.Is(err, flag.ErrHelp) {
				os.Exit(2)
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "dewar %s: %v\n", c.name, err)
				os.Exit(1)
			}
			return
		}
	}
	fmt.Fprintf(os.Stderr, "dewar: unknown command %q\n\n", os.Args[1])
	usage()
	os.Exit(2)
}

// envInt returns the integer environment variable name, or def.
func envInt(name string, def int) int {
	if v, ok := os.LookupEnv(name); ok {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return def
}

// envOr returns the environment variable name, or def when it is unset.
func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}
