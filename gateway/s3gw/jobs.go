package s3gw

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"dewar/gateway/auth"
	"dewar/index"
	"dewar/index/listing"
	"dewar/s3api"
	"dewar/s3api/s3err"
)

// The jobs bucket: for every job, <id>/manifest.json (the job as JSON,
// tree included) and <id>/files/<path> for each file of its tree, plus a
// <id>/files/<dir>/ marker for each directory so s3fs and rclone rebuild
// empty directories too. Symlinks and other entries are in the manifest
// only: a mount must never hand a client a link to follow.

const (
	manifestName = "manifest.json"
	filesDir     = "files/"
	// emptyMD5 is the MD5 of nothing, the ETag of directory markers.
	emptyMD5 = "d41d8cd98f00b204e9800998ecf8427e"
)

// splitJobKey splits "<id>/<rest>".
func splitJobKey(key string) (id, rest string, ok bool) {
	id, rest, ok = strings.Cut(key, "/")
	return id, rest, ok && index.ValidJobID(id)
}

// jobTime is the Last-Modified of a job's objects: when it finished, or
// when it was last changed while it waits.
func jobTime(j index.Job) time.Time {
	if !j.FinishedAt.IsZero() {
		return j.FinishedAt
	}
	return j.UpdatedAt
}

var dewarOwner = s3api.Owner{ID: s3api.CanonicalID("dewar"), DisplayName: "dewar"}

func (d *Dewar) getJobObject(ctx context.Context, key string) (*s3api.Object, error) {
	if _, err := d.authorize(ctx, auth.Read); err != nil {
		return nil, err
	}
	noKey := s3err.New(s3err.NoSuchKey).With("Key", key)
	id, rest, ok := splitJobKey(key)
	if !ok {
		return nil, noKey
	}
	idx := d.svc.Index()
	j, err := idx.GetJob(ctx, id)
	if errors.Is(err, index.ErrNotFound) {
		return nil, noKey
	}
	if err != nil {
		return nil, s3Error(err)
	}
	if rest == manifestName {
		info, err := d.manifestInfo(ctx, key, j)
		if err != nil {
			return nil, err
		}
		return &s3api.Object{Info: info, Open: d.manifestOpener(j)}, nil
	}
	path, ok := strings.CutPrefix(rest, filesDir)
	if !ok || path == "" {
		return nil, noKey
	}
	isDir := strings.HasSuffix(path, "/")
	e, err := idx.GetTreeEntry(ctx, id, strings.TrimSuffix(path, "/"))
	if errors.Is(err, index.ErrNotFound) {
		return nil, noKey
	}
	if err != nil {
		return nil, s3Error(err)
	}
	switch {
	case isDir && e.Type == index.TreeDir:
		return &s3api.Object{Info: dirMarkerInfo(key, j), Open: emptyOpener}, nil
	case !isDir && e.Type == index.TreeFile:
		f, err := idx.GetFile(ctx, e.Blob)
		if err != nil {
			return nil, s3Error(err)
		}
		a, err := d.analysisOf(ctx, e.Blob)
		if err != nil {
			return nil, s3Error(err)
		}
		return &s3api.Object{Info: treeFileInfo(key, j, f, a), Open: d.opener(e.Blob)}, nil
	}
	return nil, noKey
}

func treeFileInfo(key string, j index.Job, f index.File, a index.Analysis) s3api.ObjectInfo {
	info := sampleInfo(key, f, a)
	info.LastModified = jobTime(j)
	info.Metadata["job-id"] = j.ID
	return info
}

func dirMarkerInfo(key string, j index.Job) s3api.ObjectInfo {
	return s3api.ObjectInfo{
		Key: key, ETag: emptyMD5, LastModified: jobTime(j), Owner: dewarOwner,
		Headers: s3api.ObjectHeaders{ContentType: "application/x-directory"},
	}
}

func emptyOpener(context.Context, int64, int64) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader("")), nil
}

func (d *Dewar) manifestInfo(ctx context.Context, key string, j index.Job) (s3api.ObjectInfo, error) {
	mi, err := d.svc.ManifestInfo(ctx, j)
	if err != nil {
		return s3api.ObjectInfo{}, s3Error(err)
	}
	return s3api.ObjectInfo{
		Key: key, Size: mi.Size, ETag: mi.ETag, LastModified: j.UpdatedAt, Owner: dewarOwner,
		Headers:  s3api.ObjectHeaders{ContentType: "application/json"},
		Metadata: map[string]string{"job-id": j.ID, "status": string(j.Status)},
	}, nil
}

// manifestOpener renders the manifest into a pipe, keeping only the
// requested range.
func (d *Dewar) manifestOpener(j index.Job) func(ctx context.Context, off, n int64) (io.ReadCloser, error) {
	return func(ctx context.Context, off, n int64) (io.ReadCloser, error) {
		pr, pw := io.Pipe()
		go func() {
			w := &rangeWriter{w: pw, skip: off, left: n}
			err := d.svc.WriteManifest(ctx, w, j)
			if errors.Is(err, errRangeDone) {
				err = nil
			}
			pw.CloseWithError(err)
		}()
		return pr, nil
	}
}

var errRangeDone = errors.New("s3gw: range written")

// rangeWriter passes on the bytes from skip, left of them (left < 0: all).
type rangeWriter struct {
	w          io.Writer
	skip, left int64
}

func (r *rangeWriter) Write(p []byte) (int, error) {
	n := len(p)
	if r.skip >= int64(len(p)) {
		r.skip -= int64(len(p))
		return n, nil
	}
	p = p[r.skip:]
	r.skip = 0
	if r.left >= 0 && int64(len(p)) > r.left {
		p = p[:r.left]
	}
	if _, err := r.w.Write(p); err != nil {
		return 0, err
	}
	if r.left >= 0 {
		r.left -= int64(len(p))
		if r.left == 0 {
			return n, errRangeDone
		}
	}
	return n, nil
}

// jobKey is one key of the jobs bucket during a listing.
type jobKey struct {
	key   string
	job   index.Job
	entry *index.TreeEntry // nil for manifest.json
}

func (d *Dewar) listJobs(ctx context.Context, in *s3api.ListObjectsInput) (*s3api.ListObjectsOutput, error) {
	if _, err := d.authorize(ctx, auth.Read); err != nil {
		return nil, err
	}
	if in.Delimiter == "/" && !strings.Contains(in.Prefix, "/") {
		return d.listJobPrefixes(ctx, in)
	}
	page, err := listing.List(ctx, d.jobKeys, func(k jobKey) string { return k.key }, in.Prefix, in.Delimiter, in.After, in.Max)
	if err != nil {
		return nil, s3Error(err)
	}
	out := &s3api.ListObjectsOutput{CommonPrefixes: page.CommonPrefixes, Truncated: page.Truncated, Next: page.Next}
	idx := d.svc.Index()
	for _, k := range page.Items {
		switch {
		case k.entry == nil:
			info, err := d.manifestInfo(ctx, k.key, k.job)
			if err != nil {
				return nil, err
			}
			out.Objects = append(out.Objects, info)
		case k.entry.Type == index.TreeDir:
			out.Objects = append(out.Objects, dirMarkerInfo(k.key, k.job))
		default:
			f, err := idx.GetFile(ctx, k.entry.Blob)
			if err != nil {
				return nil, s3Error(err)
			}
			out.Objects = append(out.Objects, treeFileInfo(k.key, k.job, f, index.Analysis{}))
		}
	}
	return out, nil
}

// listJobPrefixes answers the common listing "jobs/ with delimiter /": one
// common prefix per job, oldest first, straight from the job table.
func (d *Dewar) listJobPrefixes(ctx context.Context, in *s3api.ListObjectsInput) (*s3api.ListObjectsOutput, error) {
	out := &s3api.ListObjectsOutput{}
	if !isASCII(in.Prefix) {
		return out, nil // job IDs are ASCII
	}
	cursor := below(in.Prefix)
	if a, _, found := strings.Cut(in.After, "/"); found && a > cursor {
		cursor = a // every job up to a has its prefix at or before After
	}
	for {
		jobs, more, err := d.svc.Index().ListJobs(ctx, index.JobListOptions{After: cursor, Limit: in.Max + 1})
		if err != nil {
			return nil, s3Error(err)
		}
		for _, j := range jobs {
			cursor = j.ID
			cp := j.ID + "/"
			if !strings.HasPrefix(j.ID, in.Prefix) {
				if j.ID > in.Prefix {
					return out, nil
				}
				continue
			}
			if cp <= in.After {
				continue
			}
			if len(out.CommonPrefixes) == in.Max {
				out.Truncated = true
				return out, nil
			}
			out.CommonPrefixes = append(out.CommonPrefixes, cp)
			out.Next = cp
		}
		if !more || len(jobs) == 0 {
			out.Next = ""
			return out, nil
		}
	}
}

// below returns an exclusive cursor just under every job ID that starts
// with the ASCII prefix p ("" for an empty prefix). IDs use only 0-9 and
// A-Z, so lowering the last byte and appending DEL skips none of them.
func below(p string) string {
	if p == "" {
		return ""
	}
	return p[:len(p)-1] + string(rune(p[len(p)-1]-1)) + "\x7f"
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// jobKeys is the listing.Source of the whole jobs bucket: for each job in
// ID order, its files/ keys in tree order, then manifest.json.
func (d *Dewar) jobKeys(ctx context.Context, prefix, after string, limit int) ([]jobKey, error) {
	idx := d.svc.Index()
	var out []jobKey
	add := func(k jobKey) bool {
		if strings.HasPrefix(k.key, prefix) && k.key > after {
			out = append(out, k)
		}
		return len(out) >= limit
	}
	// The first job to look at: the one after points into, else the
	// first whose ID could carry the prefix.
	startID, _, _ := strings.Cut(after, "/")
	prefixID, _, prefixHasJob := strings.Cut(prefix, "/")
	var jobs []index.Job
	if prefixHasJob {
		if !index.ValidJobID(prefixID) || startID > prefixID {
			return nil, nil
		}
		j, err := idx.GetJob(ctx, prefixID)
		if errors.Is(err, index.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		jobs = []index.Job{j}
	} else if index.ValidJobID(startID) {
		if j, err := idx.GetJob(ctx, startID); err == nil {
			jobs = []index.Job{j}
		} else if !errors.Is(err, index.ErrNotFound) {
			return nil, err
		}
	}
	if !isASCII(prefixID) {
		return nil, nil
	}
	cursor := below(prefix)
	if len(jobs) == 1 && jobs[0].ID >= cursor {
		cursor = jobs[0].ID
	}
	for {
		if len(jobs) == 0 {
			if prefixHasJob {
				return out, nil
			}
			page, _, err := idx.ListJobs(ctx, index.JobListOptions{After: cursor, Limit: 100})
			if err != nil {
				return nil, err
			}
			if len(page) == 0 {
				return out, nil
			}
			jobs = page
		}
		j := jobs[0]
		jobs = jobs[1:]
		cursor = j.ID
		if !strings.HasPrefix(j.ID, prefix) && !strings.HasPrefix(prefix, j.ID) {
			if j.ID > prefix {
				return out, nil
			}
			continue
		}
		done, err := d.keysOfJob(ctx, j, after, add)
		if err != nil || done {
			return out, err
		}
	}
}

// keysOfJob feeds add the keys of one job above after, in order; it
// reports whether add asked to stop.
func (d *Dewar) keysOfJob(ctx context.Context, j index.Job, after string, add func(jobKey) bool) (bool, error) {
	base := j.ID + "/"
	treeAfter := ""
	if rest, ok := strings.CutPrefix(after, base); ok {
		if t, ok := strings.CutPrefix(rest, filesDir); ok {
			treeAfter = t
		} else if rest >= filesDir {
			treeAfter = "\U0010FFFF" // past every files/ key
		}
	}
	if treeAfter != "\U0010FFFF" {
		for {
			entries, more, err := d.svc.Index().ListTree(ctx, j.ID, index.TreeListOptions{After: treeAfter, Limit: 1000})
			if err != nil {
				return false, err
			}
			for i := range entries {
				e := entries[i]
				treeAfter = e.TreeKey()
				if e.Type != index.TreeFile && e.Type != index.TreeDir {
					continue
				}
				if add(jobKey{key: base + filesDir + e.TreeKey(), job: j, entry: &e}) {
					return true, nil
				}
			}
			if !more || len(entries) == 0 {
				break
			}
		}
	}
	return add(jobKey{key: base + manifestName, job: j}), nil
}
