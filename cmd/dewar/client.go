package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"

	"dewar/gateway/web/apiclient"
)

// clientFlags are the flags of commands that talk to a running server.
type clientFlags struct {
	server    string
	accessKey string
	secretKey string
}

func (c *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.server, "server", envOr("DEWAR_URL", "http://127.0.0.1:9001"), "Dewar API URL (env DEWAR_URL)")
	fs.StringVar(&c.accessKey, "access-key", envOr("DEWAR_ACCESS_KEY", ""), "access key (env DEWAR_ACCESS_KEY)")
	fs.StringVar(&c.secretKey, "secret-key", envOr("DEWAR_SECRET_KEY", ""), "secret key (env DEWAR_SECRET_KEY)")
}

func (c *clientFlags) client() (*apiclient.Client, error) {
	if c.accessKey == "" || c.secretKey == "" {
		return nil, errors.New("set DEWAR_ACCESS_KEY and DEWAR_SECRET_KEY (or --access-key/--secret-key)")
	}
	return apiclient.New(c.server, c.accessKey, c.secretKey), nil
}

func runJobs(ctx context.Context, args []string) error {
	var cf clientFlags
	fs := flag.NewFlagSet("jobs", flag.ContinueOnError)
	cf.register(fs)
	status := fs.String("status", "", "only jobs with this status: queued, held, processing, done, failed")
	limit := fs.Int("limit", 50, "how many (newest first)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	page, err := c.ListJobs(ctx, apiclient.JobsOptions{Status: *status, Limit: *limit, Newest: true})
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tKNOWN-GOOD\tFILES\tNEW\tSUBMITTED\tNAME\tERROR")
	for _, j := range page.Items {
		fmt.Fprintf(tw, "%s\t%s\t%v\t%d\t%d\t%s\t%s\t%s\n", j.ID, j.Status, j.KnownGood, j.Stats.Files, j.Stats.NewFiles,
			j.SubmittedAt.Local().Format(time.DateTime), j.Name, j.Error)
	}
	return tw.Flush()
}

func runRelease(ctx context.Context, args []string) error {
	var cf clientFlags
	fs := flag.NewFlagSet("release", flag.ContinueOnError)
	cf.register(fs)
	notes := fs.String("notes", "", "replace the job's notes")
	if err := fs.Parse(reorder(args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: dewar release JOB-ID [--notes TEXT]")
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	var np *string
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "notes" {
			np = notes
		}
	})
	j, err := c.Release(ctx, fs.Arg(0), np)
	if err != nil {
		return err
	}
	fmt.Printf("released %s (%s)\n", j.ID, j.Status)
	return nil
}

func runSubmit(ctx context.Context, args []string) error {
	var cf clientFlags
	fs := flag.NewFlagSet("submit", flag.ContinueOnError)
	cf.register(fs)
	knownGood := fs.Bool("known-good", false, "the files are known-good (a vendor release, say)")
	notes := fs.String("notes", "", "notes for the job")
	hold := fs.Bool("hold", false, "wait for a person to release the job")
	wait := fs.Bool("wait", false, "wait until each job is done and print its result")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("usage: dewar submit FILE... [--known-good] [--notes TEXT] [--hold] [--wait]")
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	failed := 0
	for _, name := range fs.Args() {
		j, err := submitFile(ctx, c, name, apiclient.SubmitOptions{Name: filepath.Base(name), KnownGood: *knownGood, Notes: *notes, Hold: *hold})
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
			failed++
			continue
		}
		if *wait {
			if j, err = c.WaitJob(ctx, j.ID, 500*time.Millisecond); err != nil {
				fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
				failed++
				continue
			}
		}
		fmt.Printf("%s\t%s\t%s\tfiles=%d new=%d %s\n", j.ID, j.Status, name, j.Stats.Files, j.Stats.NewFiles, j.Error)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d submissions failed", failed, fs.NArg())
	}
	return nil
}

func submitFile(ctx context.Context, c *apiclient.Client, name string, o apiclient.SubmitOptions) (apiclient.Job, error) {
	f, err := os.Open(name)
	if err != nil {
		return apiclient.Job{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return apiclient.Job{}, err
	}
	bar := progressbar.DefaultBytes(fi.Size(), "uploading "+filepath.Base(name))
	defer bar.Close()
	r := progressbar.NewReader(f, bar)
	return c.Submit(ctx, &r, o)
}
