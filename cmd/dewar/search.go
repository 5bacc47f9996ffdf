package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"dewar/gateway/web/apiclient"
	"dewar/index/query"
)

const searchUsage = `usage: dewar search QUERY... [--type files|jobs] [--json] [--limit N] [--all] [--count]

Searches the files (default) or jobs of a Dewar server. The words of QUERY
are joined with spaces; quote terms the shell would change (size:>1000).
Words after -- are all query words, even those that look like flags.
`

// maxPage is the largest page the API serves.
const maxPage = 1000

func runSearch(ctx context.Context, args []string) error {
	var cf clientFlags
	fs := flag.NewFlagSet("search", flag.ContinueOnError)
	cf.register(fs)
	typ := fs.String("type", "files", "what to list: files or jobs")
	asJSON := fs.Bool("json", false, "print each result as one JSON object per line")
	limit := fs.Int("limit", 50, "print at most this many results")
	all := fs.Bool("all", false, "print every result, page after page (no --limit)")
	count := fs.Bool("count", false, "also print the number of matches (on stderr)")
	fs.Usage = func() {}
	flags, pos, help := splitArgs(fs, args)
	if help {
		fmt.Print(searchUsage + "\nFlags:\n")
		fs.SetOutput(os.Stdout)
		fs.PrintDefaults()
		fmt.Print("\n" + query.Help())
		return nil
	}
	if err := fs.Parse(flags); err != nil {
		return err
	}
	if len(pos) == 0 {
		return errors.New("no query (dewar search --help explains the language)")
	}
	if *typ != "files" && *typ != "jobs" {
		return fmt.Errorf("--type must be files or jobs, not %q", *typ)
	}
	if *limit < 1 && !*all {
		return errors.New("--limit must be at least 1")
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	out := newResultWriter(os.Stdout, *typ, *asJSON)
	q := strings.Join(pos, " ")
	cursor, printed := "", 0
	for {
		size := maxPage
		if !*all {
			size = min(maxPage, *limit-printed)
		}
		page, err := c.Search(ctx, apiclient.SearchOptions{Query: q, Type: *typ, Cursor: cursor, Limit: size, Count: *count && cursor == ""})
		if err != nil {
			return queryError(err)
		}
		if page.Total != nil {
			fmt.Fprintf(os.Stderr, "%d matches\n", *page.Total)
		}
		n, err := out.page(page)
		if err != nil {
			return err
		}
		printed += n
		cursor = page.Next
		if cursor == "" {
			return nil
		}
		if !*all && printed >= *limit {
			fmt.Fprintf(os.Stderr, "(more results: --limit N or --all)\n")
			return nil
		}
	}
}

// queryError shows a rejected query with a caret under the problem.
func queryError(err error) error {
	var e *apiclient.Error
	if errors.As(err, &e) && e.Caret != "" {
		return fmt.Errorf("%s\n  %s", e.Message, strings.ReplaceAll(e.Caret, "\n", "\n  "))
	}
	return err
}

// resultWriter prints pages of search results as a table (flushed per
// page, so --all streams) or as JSON lines.
type resultWriter struct {
	w      io.Writer
	typ    string
	asJSON bool
	header bool
}

func newResultWriter(w io.Writer, typ string, asJSON bool) *resultWriter {
	return &resultWriter{w: w, typ: typ, asJSON: asJSON}
}

func (r *resultWriter) page(p apiclient.SearchPage) (int, error) {
	if r.asJSON {
		enc := json.NewEncoder(r.w)
		enc.SetEscapeHTML(false)
		for _, f := range p.Files {
			if err := enc.Encode(f); err != nil {
				return 0, err
			}
		}
		for _, j := range p.Jobs {
			if err := enc.Encode(j); err != nil {
				return 0, err
			}
		}
		return len(p.Files) + len(p.Jobs), nil
	}
	tw := tabwriter.NewWriter(r.w, 0, 4, 2, ' ', 0)
	if !r.header {
		r.header = true
		if r.typ == "jobs" {
			fmt.Fprintln(tw, "ID\tSTATUS\tKNOWN-GOOD\tFILES\tSUBMITTED\tSUBMITTER\tNAME")
		} else {
			fmt.Fprintln(tw, "SHA256\tSIZE\tMIME\tKNOWN-GOOD\tJOBS\tFIRST-SEEN")
		}
	}
	for _, f := range p.Files {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%v\t%d\t%s\n", f.SHA256, f.Size, f.MIME, f.KnownGood, f.JobCount, f.FirstSeen.Local().Format(time.DateTime))
	}
	for _, j := range p.Jobs {
		fmt.Fprintf(tw, "%s\t%s\t%v\t%d\t%s\t%s\t%s\n", j.ID, j.Status, j.KnownGood, j.Stats.Files,
			j.SubmittedAt.Local().Format(time.DateTime), j.Submitter, j.Name)
	}
	return len(p.Files) + len(p.Jobs), tw.Flush()
}

// splitArgs separates fs's flags from the positional arguments wherever
// they stand. An argument starting with "-" that names no flag of fs (a
// negated query term such as -knowngood:true) is positional; "--" ends
// the flags. help reports -h, -help or --help.
func splitArgs(fs *flag.FlagSet, args []string) (flags, pos []string, help bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return flags, append(pos, args[i+1:]...), help
		}
		name, hasValue := strings.CutPrefix(a, "--")
		if !hasValue {
			name, hasValue = strings.CutPrefix(a, "-")
		}
		if !hasValue || name == "" {
			pos = append(pos, a)
			continue
		}
		name, _, inline := strings.Cut(name, "=")
		if name == "h" || name == "help" {
			help = true
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); inline || ok && b.IsBoolFlag() {
			continue
		}
		if i+1 < len(args) {
			flags = append(flags, args[i+1])
			i++
		}
	}
	return flags, pos, help
}
