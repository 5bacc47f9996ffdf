package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"unicode"

	"dewar/analyzers/archive"
	"dewar/analyzers/hashes"
	"dewar/analyzers/mime"
	"dewar/cas"
	"dewar/index"
)

// storeError marks a failure of the content store (not of the archive):
// the job is retried rather than failed.
type storeError struct{ err error }

func (e *storeError) Error() string { return "storing a file: " + e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

// process walks j's upload. It returns the result to record, or an error
// when something other than the upload went wrong (then the job is
// retried). Files to analyse after Finish go to later.
func (r *Runner) process(ctx context.Context, j index.Job, later *[]index.File) (*index.JobResult, error) {
	rc, err := r.o.Store.Fetch(ctx, j.Upload, 0, -1)
	if errors.Is(err, cas.ErrNotFound) {
		return &index.JobResult{Status: index.JobFailed, Error: "the upload is missing from the content store"}, nil
	}
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	ra, cleanup, err := readerAt(rc, j.UploadSize, r.o.TempDir)
	if err != nil {
		return nil, err
	}
	defer cleanup()

	c := &collector{ctx: ctx, r: r, files: map[cas.Ref]index.File{}, batch: cas.NewBatch(r.o.Store)}
	defer c.batch.Discard()
	// The upload is a sample too: hash and sniff it in one read.
	up, err := c.describe(ctx, io.NewSectionReader(ra, 0, j.UploadSize), j.Upload, j.UploadSize)
	if err != nil {
		return nil, err
	}
	res := &index.JobResult{Status: index.JobDone}
	if j.UploadSize == 0 {
		res.Status, res.Error = index.JobFailed, "empty upload: nothing to analyse"
		return r.finishing(ctx, c, res, later)
	}
	// Walk decides what is an archive: it also finds zips behind a stub
	// (self-extractors), which a look at the first bytes cannot.
	walkRes, err := archive.Walk(ctx, ra, j.UploadSize, archive.Options{
		Limits: r.o.Limits, Passwords: r.o.Passwords, Name: j.Name, TempDir: r.o.TempDir,
	}, c.entry)
	for _, w := range walkRes.Warnings {
		res.Warnings = append(res.Warnings, w.Error())
	}
	var se *storeError
	var pe *fs.PathError
	switch {
	case errors.Is(err, archive.ErrNotArchive) && walkRes.Entries == 0:
		// A single file: the tree is that file under its own name.
		c.tree = append(c.tree, index.TreeEntry{Path: singleName(j.Name), Type: index.TreeFile, Blob: up.Ref, Size: up.Size})
		return r.finishing(ctx, c, res, later)
	case err == nil:
	case errors.As(err, &se), errors.As(err, &pe), ctx.Err() != nil:
		// The store, the local disk (the walker's spools of nested
		// archives) or a shutdown: not the upload's fault, so retry.
		return nil, err
	default:
		// The archive's own trouble (a limit, damage, no password): the
		// job fails with the reason and keeps every entry read before it.
		res.Status, res.Error = index.JobFailed, reason(err)
	}
	// Every file read (even from a failed walk) becomes durable and
	// visible together, before the result that references them.
	if err := c.batch.Commit(ctx); err != nil {
		return nil, &storeError{err}
	}
	return r.finishing(ctx, c, res, later)
}

// finishing completes res with the job's files and tree and the analyses
// of the files that have none, once every file is in the store.
func (r *Runner) finishing(ctx context.Context, c *collector, res *index.JobResult, later *[]index.File) (*index.JobResult, error) {
	as, over, warnings, err := r.analyses(ctx, c)
	if err != nil {
		return nil, err
	}
	res.Analyses = as
	res.Warnings = append(res.Warnings, warnings...)
	*later = over
	return c.result(res), nil
}

// reason turns a walk error into the sentence a job's error shows.
func reason(err error) string {
	var le *archive.LimitError
	if errors.As(err, &le) {
		return fmt.Sprintf("limit reached: %v", le)
	}
	return err.Error()
}

// collector gathers a job's files and tree as the walk delivers entries.
type collector struct {
	ctx   context.Context
	batch cas.Batch
	r     *Runner
	files map[cas.Ref]index.File
	tree  []index.TreeEntry
}

func (c *collector) result(res *index.JobResult) *index.JobResult {
	res.Tree = c.tree
	res.Files = make([]index.File, 0, len(c.files))
	for _, f := range c.files {
		res.Files = append(res.Files, f)
	}
	return res
}

// entry records one archive entry, storing a file's bytes.
func (c *collector) entry(e archive.Entry, body io.Reader) error {
	te := index.TreeEntry{Path: e.Path, RawPath: e.RawPath}
	switch e.Type {
	case archive.File:
		f, err := c.store(c.ctx, body)
		if err != nil {
			return err
		}
		te.Type, te.Blob, te.Size = index.TreeFile, f.Ref, f.Size
	case archive.Dir:
		te.Type = index.TreeDir
	case archive.Symlink:
		te.Type, te.Target = index.TreeSymlink, e.Target
	default: // hard links, devices, entries no password opened
		te.Type, te.Target = index.TreeOther, e.Target
	}
	c.tree = append(c.tree, te)
	return nil
}

// store puts one file's bytes in the job's batch while hashing and
// sniffing them, and remembers the file.
func (c *collector) store(ctx context.Context, body io.Reader) (index.File, error) {
	h, m := hashes.New(), mime.New()
	ref, err := c.batch.Add(ctx, io.TeeReader(body, io.MultiWriter(h, m)), cas.StageOptions{})
	if err != nil {
		if isSourceError(err) {
			return index.File{}, err // the archive's damage or limit, as the walker reported it
		}
		return index.File{}, &storeError{err}
	}
	hr := h.Result()
	f := index.File{Ref: ref.Ref, Size: ref.Size, SHA1: hr.SHA1, MD5: hr.MD5, MIME: m.Result()}
	c.files[f.Ref] = f
	return f, nil
}

// isSourceError reports whether a Stage error came from the body (the
// walker's limits and damage), not from the store.
func isSourceError(err error) bool {
	var le *archive.LimitError
	return errors.As(err, &le) || errors.Is(err, archive.ErrCorrupt) || errors.Is(err, archive.ErrPassword) ||
		errors.Is(err, archive.ErrOverlap) || errors.Is(err, archive.ErrUnsupported) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, context.Canceled)
}

// describe hashes and sniffs a file already in the store.
func (c *collector) describe(ctx context.Context, r io.Reader, ref cas.Ref, size int64) (index.File, error) {
	h, m := hashes.New(), mime.New()
	if _, err := io.Copy(io.MultiWriter(h, m), r); err != nil {
		return index.File{}, err
	}
	hr := h.Result()
	if hr.Size != size {
		return index.File{}, fmt.Errorf("ingest: upload %s has %d bytes, the job says %d", ref, hr.Size, size)
	}
	f := index.File{Ref: ref, Size: size, SHA1: hr.SHA1, MD5: hr.MD5, MIME: m.Result()}
	c.files[ref] = f
	return f, nil
}

// singleName is the tree path of a job that is one file: the last element
// of its name, made safe.
func singleName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '_'
		}
		return r
	}, name)
	if name == "" || name == "." || name == ".." {
		return "upload"
	}
	return name
}

// readerAt gives random access to the upload: the store's reader when it
// has it (local files), else a spool in a temp file.
func readerAt(rc io.Reader, size int64, tempDir string) (io.ReaderAt, func(), error) {
	if ra, ok := rc.(io.ReaderAt); ok {
		return ra, func() {}, nil
	}
	f, err := os.CreateTemp(tempDir, "dewar-ingest-*")
	if err != nil {
		return nil, nil, err
	}
	os.Remove(f.Name())
	if n, err := io.Copy(f, rc); err != nil || n != size {
		f.Close()
		if err == nil {
			err = fmt.Errorf("ingest: upload spool got %d bytes, want %d", n, size)
		}
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}
