package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"dewar/cas"
	"dewar/gateway/analyze"
)

// runReanalyze brings stored files' analyses up to the current analyzer
// versions. The recorded versions are the progress: an interrupted run is
// continued by running it again.
func runReanalyze(ctx context.Context, args []string) error {
	var st storageFlags
	fs := flag.NewFlagSet("reanalyze", flag.ContinueOnError)
	st.register(fs)
	names := strings.Join(slices.Sorted(maps.Keys(analyze.Versions())), ", ")
	analyzer := fs.String("analyzer", "", "only files whose analysis by this analyzer is out of date ("+names+"); default: any")
	workers := fs.Int("workers", envInt("DEWAR_REANALYZE_WORKERS", 2), "files analysed at once (env DEWAR_REANALYZE_WORKERS)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	store, idx, err := st.open()
	if err != nil {
		return err
	}
	defer idx.Close()
	aidx, ok := idx.(analyze.Index)
	if !ok {
		return errors.New("this index cannot hold analyses")
	}

	start := time.Now()
	var mu sync.Mutex // the progress line and error lines share stderr
	last, shown := time.Now(), false
	clearLine := func() {
		if shown {
			fmt.Fprint(os.Stderr, "\r\033[K")
			shown = false
		}
	}
	rep, err := analyze.Reanalyze(ctx, store, aidx, analyze.ReanalyzeOptions{
		Analyzer: *analyzer,
		Workers:  *workers,
		Progress: func(r analyze.ReanalyzeReport) {
			mu.Lock()
			defer mu.Unlock()
			if *quiet || time.Since(last) < time.Second {
				return
			}
			last, shown = time.Now(), true
			fmt.Fprintf(os.Stderr, "\r\033[Kreanalysed %d files, %s (%.0f files/s)", r.Analyzed, humanBytes(r.Bytes),
				float64(r.Analyzed)/time.Since(start).Seconds())
		},
		OnError: func(ref cas.Ref, err error) {
			mu.Lock()
			defer mu.Unlock()
			clearLine()
			fmt.Fprintf(os.Stderr, "skipped %s: %v\n", ref, err)
		},
	})
	mu.Lock()
	clearLine()
	mu.Unlock()
	if *asJSON {
		if jerr := json.NewEncoder(os.Stdout).Encode(rep); jerr != nil {
			return jerr
		}
	} else {
		fmt.Printf("reanalysed %d files (%s) in %s; skipped %d with missing or damaged blobs, %d an analyzer crashed on; %d left the index meanwhile\n",
			rep.Analyzed, humanBytes(rep.Bytes), time.Since(start).Round(time.Millisecond), rep.Missing, rep.Failed, rep.Gone)
	}
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted (what was done is kept; run again to continue): %w", err)
		}
		return err
	}
	if n := rep.Missing + rep.Failed; n > 0 {
		return fmt.Errorf("%d files could not be analysed (they stay out of date; see above)", n)
	}
	return nil
}
