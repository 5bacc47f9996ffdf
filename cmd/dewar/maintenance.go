package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"dewar/gateway"
)

// runVerify re-hashes every blob and compares the store with the index;
// it exits non-zero when anything is corrupt or missing.
func runVerify(ctx context.Context, args []string) error {
	var st storageFlags
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	st.register(fs)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	store, idx, err := st.open()
	if err != nil {
		return err
	}
	defer idx.Close()
	start := time.Now()
	last := time.Now()
	r, err := gateway.Verify(ctx, store, idx, func(r gateway.VerifyReport) {
		if !*quiet && time.Since(last) > time.Second {
			last = time.Now()
			fmt.Fprintf(os.Stderr, "\rverified %d blobs, %s", r.Blobs, humanBytes(r.Bytes))
		}
	})
	if !*quiet {
		fmt.Fprintln(os.Stderr)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
			return err
		}
	} else {
		fmt.Printf("%d blobs, %s, verified in %s\n", r.Blobs, humanBytes(r.Bytes), time.Since(start).Round(time.Millisecond))
		for _, ref := range r.Corrupt {
			fmt.Printf("corrupt  %s\n", ref)
		}
		for _, ref := range r.Missing {
			fmt.Printf("missing  %s\n", ref)
		}
		for _, ref := range r.Orphaned {
			fmt.Printf("orphaned %s\n", ref)
		}
		fmt.Printf("%d corrupt, %d missing, %d orphaned (dewar gc frees orphans)\n", len(r.Corrupt), len(r.Missing), len(r.Orphaned))
	}
	if r.Damaged() {
		return fmt.Errorf("the store is damaged: %d corrupt, %d missing blobs", len(r.Corrupt), len(r.Missing))
	}
	return nil
}

// runGC removes blobs nothing references.
func runGC(ctx context.Context, args []string) error {
	var st storageFlags
	fs := flag.NewFlagSet("gc", flag.ContinueOnError)
	st.register(fs)
	grace := fs.Duration("grace", time.Hour, "spare unreferenced blobs younger than this (uploads in flight)")
	dry := fs.Bool("dry-run", false, "report what would be freed, remove nothing")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	store, idx, err := st.open()
	if err != nil {
		return err
	}
	defer idx.Close()
	r, err := gateway.GC(ctx, store, idx, gateway.GCOptions{Grace: *grace, DryRun: *dry})
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(os.Stdout).Encode(r)
	}
	verb := "removed"
	if *dry {
		verb = "would remove"
	}
	fmt.Printf("examined %d blobs; %s %d (%s); %d unreferenced but younger than %s; %d stale index rows cleared\n",
		r.Examined, verb, r.Removed, humanBytes(r.Freed), r.Young, *grace, r.Rows)
	return nil
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
