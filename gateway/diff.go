package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"dewar/cas"
	"dewar/index"
	"dewar/index/query"
)

// The known-good diff of a tree entry (manifest.json's "diff").
const (
	// DiffKnownGood: the bytes occur in a done known-good job.
	DiffKnownGood = "known-good"
	// DiffModified: a close known-good job has this path (roots aligned)
	// with other bytes.
	DiffModified = "modified"
	// DiffNew: neither.
	DiffNew = "new"
)

const (
	// diffCandidates is how many of the closest known-good jobs a diff
	// compares paths with.
	diffCandidates = 5
	// alignSamples caps the job's files sampled to align roots.
	alignSamples = 256
	// alignProbes caps the samples probed per candidate, alignVotes the
	// votes that settle an alignment early.
	alignProbes = 64
	alignVotes  = 16
	// seekPage is how many entries of a known-good tree one read fetches.
	seekPage = 256
)

// KnownGoodMatch is a known-good job close to a job: the distinct files
// they share, and how their roots align (the job's Root+p is the
// known-good job's KnownGoodRoot+p).
type KnownGoodMatch struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	Shared        int64  `json:"shared"`
	Root          string `json:"root"`
	KnownGoodRoot string `json:"known_good_root"`
}

// DiffCounts count a job's file paths by diff.
type DiffCounts struct {
	KnownGood int64 `json:"known_good"`
	Modified  int64 `json:"modified"`
	New       int64 `json:"new"`
}

// DiffBase is the known-good counterpart of a modified file.
type DiffBase struct {
	Job    string  `json:"job"`
	Path   string  `json:"path"`
	SHA256 cas.Ref `json:"sha256"`
	Size   int64   `json:"size"`
}

// DiffEntry is one tree entry with its diff (files only) and, when
// modified, what it replaced.
type DiffEntry struct {
	ManifestEntry
	Base *DiffBase `json:"base,omitempty"`
}

// JobDiff is a job's diff against the known-good corpus, besides its tree.
type JobDiff struct {
	JobID string `json:"job_id"`
	// Matches are the closest known-good jobs, most shared files first.
	Matches []KnownGoodMatch `json:"known_good_jobs"`
	Counts  DiffCounts       `json:"counts"`
	// Summary reads like "basic-cms-6.1 + 14 new, 3 modified".
	Summary string `json:"summary"`
}

// Diff walks j's tree in key order, calling fn with every entry and its
// diff, and returns the closest known-good jobs, the counts and the
// summary. Memory does not grow with the tree: it is read page by page,
// and each close known-good tree is read forward once beside it.
func (s *Service) Diff(ctx context.Context, j index.Job, fn func(DiffEntry) error) (JobDiff, error) {
	d, err := s.newDiffer(ctx, j)
	if err != nil {
		return JobDiff{}, err
	}
	out := JobDiff{JobID: j.ID, Matches: d.matches()}
	err = s.walkTree(ctx, j.ID, func(entries []index.TreeEntry) error {
		des, err := d.page(ctx, entries)
		if err != nil {
			return err
		}
		for _, de := range des {
			out.Counts.add(de.Diff)
			if err := fn(de); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return JobDiff{}, err
	}
	out.Summary = summary(out.Matches, out.Counts)
	return out, nil
}

// WriteDiff streams the JSON of GET /api/v1/jobs/{id}/diff: job_id and
// known_good_jobs, the tree with each entry's diff, then counts and
// summary (known only at the end).
func (s *Service) WriteDiff(ctx context.Context, w io.Writer, j index.Job) error {
	d, err := s.newDiffer(ctx, j)
	if err != nil {
		return err
	}
	matches := d.matches()
	head, err := json.Marshal(struct {
		JobID   string           `json:"job_id"`
		Matches []KnownGoodMatch `json:"known_good_jobs"`
	}{j.ID, matches})
	if err != nil {
		return err
	}
	if _, err := w.Write(append(head[:len(head)-1], `,"tree":[`...)); err != nil {
		return err
	}
	var counts DiffCounts
	list := jsonList{w: w}
	err = s.walkTree(ctx, j.ID, func(entries []index.TreeEntry) error {
		des, err := d.page(ctx, entries)
		if err != nil {
			return err
		}
		for _, de := range des {
			counts.add(de.Diff)
			if err := list.add(de); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	tail, err := json.Marshal(struct {
		Counts  DiffCounts `json:"counts"`
		Summary string     `json:"summary"`
	}{counts, summary(matches, counts)})
	if err != nil {
		return err
	}
	_, err = w.Write(append(append([]byte(`],`), tail[1:]...), '\n'))
	return err
}

func (c *DiffCounts) add(diff string) {
	switch diff {
	case DiffKnownGood:
		c.KnownGood++
	case DiffModified:
		c.Modified++
	case DiffNew:
		c.New++
	}
}

// walkTree calls fn with each page of a job's tree, in key order.
func (s *Service) walkTree(ctx context.Context, jobID string, fn func([]index.TreeEntry) error) error {
	after := ""
	for {
		entries, more, err := s.idx.ListTree(ctx, jobID, index.TreeListOptions{After: after, Limit: treePage})
		if err != nil {
			return err
		}
		if len(entries) > 0 {
			if err := fn(entries); err != nil {
				return err
			}
			after = entries[len(entries)-1].Path
		}
		if !more || len(entries) == 0 {
			return nil
		}
	}
}

// summary describes a job by its closest known-good job and what differs:
// "basic-cms-6.1 + 14 new, 3 modified".
func summary(matches []KnownGoodMatch, c DiffCounts) string {
	var parts []string
	if c.New > 0 {
		parts = append(parts, fmt.Sprintf("%d new", c.New))
	}
	if c.Modified > 0 {
		parts = append(parts, fmt.Sprintf("%d modified", c.Modified))
	}
	changes := strings.Join(parts, ", ")
	switch {
	case len(matches) > 0 && changes == "":
		return Title(matches[0].Name) + ", unmodified"
	case len(matches) > 0:
		return Title(matches[0].Name) + " + " + changes
	case c == DiffCounts{}:
		return "no files"
	case c.KnownGood > 0: // known-good bytes whose job is not (yet) a match
		return strings.Join(append([]string{fmt.Sprintf("%d known-good", c.KnownGood)}, parts...), ", ")
	}
	return changes + ", no known-good match"
}

// archiveExts are stripped from job names by Title, longest first.
var archiveExts = []string{".tar.gz", ".tar.bz2", ".tar.xz", ".tar.zst", ".tgz", ".tbz2", ".txz",
	".zip", ".tar", ".7z", ".rar", ".gz", ".bz2", ".xz", ".zst"}

// Title is a job's name as a summary shows it: the last path element
// without an archive extension ("uploads/wordpress-6.1.9.zip" reads
// "wordpress-6.1.9").
func Title(name string) string {
	base := path.Base(name)
	lower := strings.ToLower(base)
	for _, ext := range archiveExts {
		if strings.HasSuffix(lower, ext) && len(base) > len(ext) {
			return base[:len(base)-len(ext)]
		}
	}
	return base
}

// differ decides the diff of a job's entries as its tree streams by.
type differ struct {
	srch  index.Searcher
	cands []*candidate
}

// candidate is one close known-good job and a cursor on its tree.
type candidate struct {
	match KnownGoodMatch
	seek  treeSeeker
}

// newDiffer finds the closest known-good jobs of j and aligns their roots
// with j's. A job without a tree (waiting) gets a differ that only looks
// up known-good flags.
func (s *Service) newDiffer(ctx context.Context, j index.Job) (*differ, error) {
	srch := s.idx
	d := &differ{srch: srch}
	if j.Status.Waiting() {
		return d, nil
	}
	overlaps, err := srch.KnownGoodOverlap(ctx, j.ID, diffCandidates)
	if err != nil || len(overlaps) == 0 {
		return d, err
	}
	samples, err := s.alignmentSamples(ctx, srch, j)
	if err != nil {
		return nil, err
	}
	for _, o := range overlaps {
		root, kgRoot, err := s.align(ctx, samples, o.Job.ID)
		if err != nil {
			return nil, err
		}
		m := KnownGoodMatch{ID: o.Job.ID, Name: o.Job.Name, Shared: o.Shared, Root: root, KnownGoodRoot: kgRoot}
		d.cands = append(d.cands, &candidate{match: m, seek: treeSeeker{jobs: s.idx, jobID: o.Job.ID, prefix: kgRoot}})
	}
	return d, nil
}

func (d *differ) matches() []KnownGoodMatch {
	out := make([]KnownGoodMatch, 0, len(d.cands))
	for _, c := range d.cands {
		out = append(out, c.match)
	}
	return out
}

// page returns entries with their diffs: one Lookup for the page's
// known-good flags, then, for the files that are not known-good, the
// same path in each close known-good tree, best match first. Pages must
// come in key order (the tree cursors only move forward).
func (d *differ) page(ctx context.Context, entries []index.TreeEntry) ([]DiffEntry, error) {
	out := make([]DiffEntry, len(entries))
	var hashes []string
	seen := map[cas.Ref]bool{}
	for i, e := range entries {
		out[i].ManifestEntry = EntryOf(e)
		if e.Type == index.TreeFile && !seen[e.Blob] {
			seen[e.Blob] = true
			hashes = append(hashes, e.Blob.String())
		}
	}
	if len(hashes) == 0 {
		return out, nil
	}
	res, err := d.srch.Lookup(ctx, hashes)
	if err != nil {
		return nil, err
	}
	knownGood := make(map[cas.Ref]bool, len(res))
	for _, r := range res {
		if r.Found && r.KnownGood {
			knownGood[r.SHA256] = true
		}
	}
	for i, e := range entries {
		if e.Type != index.TreeFile {
			continue
		}
		if knownGood[e.Blob] {
			out[i].Diff = DiffKnownGood
			continue
		}
		out[i].Diff = DiffNew
		for _, c := range d.cands {
			rest, ok := strings.CutPrefix(e.Path, c.match.Root)
			if !ok {
				continue
			}
			kg, found, err := c.seek.find(ctx, c.match.KnownGoodRoot+rest)
			if err != nil {
				return nil, err
			}
			if !found {
				continue
			}
			if kg.Blob == e.Blob { // flags lag a concurrent finish: the bytes are known-good
				out[i].Diff = DiffKnownGood
				break
			}
			out[i].Diff = DiffModified
			out[i].Base = &DiffBase{Job: c.match.ID, Path: kg.Path, SHA256: kg.Blob, Size: kg.Size}
			break
		}
	}
	return out, nil
}

// treeSeeker finds file paths, in increasing order, in one job's tree
// under prefix. It reads the tree forward a page at a time and, when its
// page runs out, reads on from just below the target, so a dense run of
// targets costs one read per page and a sparse one a read per target,
// never a read of the whole tree.
type treeSeeker struct {
	jobs   index.Jobs
	jobID  string
	prefix string

	buf     []index.TreeEntry // files of the last page read
	pos     int
	started bool
	more    bool   // the tree continues after the last page
	floor   string // every path <= floor has been dealt with
}

// find returns the file at target; targets must increase between calls.
// Directories and links never match (a file path is its own tree key in
// any listing order, so comparing files alone is order-safe).
func (t *treeSeeker) find(ctx context.Context, target string) (index.TreeEntry, bool, error) {
	for {
		for t.pos < len(t.buf) && t.buf[t.pos].Path < target {
			t.pos++
		}
		if t.pos < len(t.buf) {
			e := t.buf[t.pos]
			if e.Path == target {
				return e, true, nil
			}
			t.floor = max(t.floor, target)
			return index.TreeEntry{}, false, nil
		}
		if t.started && !t.more {
			return index.TreeEntry{}, false, nil
		}
		// Everything below target may be skipped: its proper prefix is
		// below it, and only a few paths sort between the two.
		after := max(t.floor, target[:len(target)-1])
		entries, more, err := t.jobs.ListTree(ctx, t.jobID, index.TreeListOptions{Prefix: t.prefix, After: after, Limit: seekPage})
		if err != nil {
			return index.TreeEntry{}, false, err
		}
		t.started, t.more, t.buf, t.pos = true, more && len(entries) > 0, t.buf[:0], 0
		for _, e := range entries {
			if e.Type == index.TreeFile {
				t.buf = append(t.buf, e)
			}
			t.floor = max(t.floor, e.Path)
		}
	}
}

// sample is one file path of the job being diffed.
type sample struct {
	path string
	blob cas.Ref
}

// alignmentSamples picks up to alignSamples known-good files spread over
// j's tree (every n-th file), for align.
func (s *Service) alignmentSamples(ctx context.Context, srch index.Searcher, j index.Job) ([]sample, error) {
	stride := max(1, int(j.Stats.Files)/(4*alignSamples))
	var picked []sample
	i := 0
	err := s.walkTree(ctx, j.ID, func(entries []index.TreeEntry) error {
		for _, e := range entries {
			if e.Type != index.TreeFile || len(picked) >= 4*alignSamples {
				continue
			}
			if i%stride == 0 {
				picked = append(picked, sample{e.Path, e.Blob})
			}
			i++
		}
		if len(picked) >= 4*alignSamples {
			return errStopWalk
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStopWalk) {
		return nil, err
	}
	hashes := make([]string, len(picked))
	for i, p := range picked {
		hashes[i] = p.blob.String()
	}
	res, err := srch.Lookup(ctx, hashes)
	if err != nil {
		return nil, err
	}
	var out []sample
	for i, r := range res {
		if r.Found && r.KnownGood && len(out) < alignSamples {
			out = append(out, picked[i])
		}
	}
	return out, nil
}

var errStopWalk = errors.New("gateway: stop walking")

// align finds how the job's tree sits against known-good job kgID: for
// sampled shared files, the paths the same bytes have there vote for a
// (root, known-good root) pair, found by stripping the longest common
// run of trailing path elements ("public_html/wp-login.php" and
// "wordpress/wp-login.php" vote for "public_html/", "wordpress/"). The
// pair with the most votes wins (then the shortest, then the least); with
// no votes the roots are the same ("", "").
func (s *Service) align(ctx context.Context, samples []sample, kgID string) (root, kgRoot string, err error) {
	type pair struct{ root, kgRoot string }
	votes := map[pair]int{}
	best, bestVotes := pair{}, 0
	for i, smp := range samples {
		if i >= alignProbes || bestVotes >= alignVotes {
			break
		}
		occ, _, err := s.idx.JobsOfFile(ctx, smp.blob, index.JobFile{JobID: kgID}, 4)
		if err != nil {
			return "", "", err
		}
		for _, o := range occ {
			if o.JobID != kgID || o.Path == "" {
				continue
			}
			r, k, ok := alignPaths(smp.path, o.Path)
			if !ok {
				continue
			}
			p := pair{r, k}
			votes[p]++
			if v := votes[p]; v > bestVotes || v == bestVotes && pairLess(p.root, p.kgRoot, best.root, best.kgRoot) {
				best, bestVotes = p, v
			}
		}
	}
	return best.root, best.kgRoot, nil
}

// pairLess orders alignments: shorter roots first, then bytewise.
func pairLess(r1, k1, r2, k2 string) bool {
	if l1, l2 := len(r1)+len(k1), len(r2)+len(k2); l1 != l2 {
		return l1 < l2
	}
	if r1 != r2 {
		return r1 < r2
	}
	return k1 < k2
}

// alignPaths strips the longest common run of trailing path elements of
// a and b and returns what is left of each as a root ("" or ending in
// "/"); ok is false when even the last elements differ.
func alignPaths(a, b string) (rootA, rootB string, ok bool) {
	i, j := len(a), len(b)
	for {
		ea, eb := a[strings.LastIndexByte(a[:i], '/')+1:i], b[strings.LastIndexByte(b[:j], '/')+1:j]
		if ea != eb {
			break
		}
		ok = true
		i, j = i-len(ea), j-len(eb)
		if i == 0 || j == 0 {
			break
		}
		i, j = i-1, j-1 // the slash
	}
	if !ok {
		return "", "", false
	}
	if i > 0 && a[i-1] != '/' {
		i++ // keep the slash that ended the root
	}
	if j > 0 && b[j-1] != '/' {
		j++
	}
	return a[:i], b[:j], true
}

// diffVersion is what a job's diff depends on besides the job itself: its
// closest known-good jobs and how many of its files are known-good (both
// only grow as known-good jobs finish, and a job's tree never changes
// once it ended), so the manifest size cache can tell a stale render.
func (s *Service) diffVersion(ctx context.Context, j index.Job) ([]byte, error) {
	srch := s.idx
	if j.Status.Waiting() {
		return nil, nil
	}
	overlaps, err := srch.KnownGoodOverlap(ctx, j.ID, diffCandidates)
	if err != nil {
		return nil, err
	}
	q, err := query.Parse("job:" + j.ID + " knowngood:true")
	if err != nil {
		return nil, err
	}
	hits, err := srch.SearchFiles(ctx, q, index.SearchOptions{Count: true})
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	if hits.Total != nil {
		fmt.Fprintf(&b, "kg=%d", *hits.Total)
	}
	for _, o := range overlaps {
		fmt.Fprintf(&b, ";%s=%d", o.Job.ID, o.Shared)
	}
	return []byte(b.String()), nil
}
