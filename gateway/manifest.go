package gateway

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"dewar/cas"
	"dewar/index"
)

// Manifest is a job as manifest.json shows it (and the JSON API's job).
type Manifest struct {
	ID            string         `json:"id"`
	Name          string         `json:"name"`
	KnownGood     bool           `json:"known_good"`
	Status        string         `json:"status"`
	Error         string         `json:"error"`
	Warnings      []string       `json:"warnings,omitempty"`
	SubmittedAt   time.Time      `json:"submitted_at"`
	CollectedAt   *time.Time     `json:"collected_at"`
	FinishedAt    *time.Time     `json:"finished_at,omitempty"`
	Submitter     string         `json:"submitter"`
	Notes         string         `json:"notes"`
	ArchiveSHA256 cas.Ref        `json:"archive_sha256"`
	ArchiveSize   int64          `json:"archive_size"`
	Attempts      int            `json:"attempts"`
	Stats         index.JobStats `json:"stats"`
}

// ManifestEntry is one path of manifest.json's tree.
type ManifestEntry struct {
	Path   string   `json:"path"`
	Type   string   `json:"type"`
	SHA256 *cas.Ref `json:"sha256,omitempty"`
	Size   *int64   `json:"size,omitempty"`
	Target string   `json:"target,omitempty"`
	// RawPath holds the original name when it had to be made safe; names
	// that were not UTF-8 at all go in RawPathBase64 instead.
	RawPath       string `json:"raw_path,omitempty"`
	RawPathBase64 string `json:"raw_path_base64,omitempty"`
	Diff          string `json:"diff,omitempty"`
}

// ManifestOf returns the job part of a manifest.
func ManifestOf(j index.Job) Manifest {
	m := Manifest{
		ID: j.ID, Name: j.Name, KnownGood: j.KnownGood, Status: string(j.Status), Error: j.Error,
		Warnings: j.Warnings, SubmittedAt: j.SubmittedAt, Submitter: j.Submitter, Notes: j.Notes,
		ArchiveSHA256: j.Upload, ArchiveSize: j.UploadSize, Attempts: j.Attempts, Stats: j.Stats,
	}
	if !j.CollectedAt.IsZero() {
		t := j.CollectedAt
		m.CollectedAt = &t
	}
	if !j.FinishedAt.IsZero() {
		t := j.FinishedAt
		m.FinishedAt = &t
	}
	return m
}

// EntryOf returns a tree entry as the manifest shows it.
func EntryOf(e index.TreeEntry) ManifestEntry {
	me := ManifestEntry{Path: e.Path, Type: string(e.Type), Target: e.Target}
	if e.Type == index.TreeFile {
		ref, size := e.Blob, e.Size
		me.SHA256, me.Size = &ref, &size
	}
	if e.RawPath != "" {
		if utf8.ValidString(e.RawPath) {
			me.RawPath = e.RawPath
		} else {
			me.RawPathBase64 = base64.StdEncoding.EncodeToString([]byte(e.RawPath))
		}
	}
	return me
}

// treePage is how many tree entries WriteManifest reads at a time.
const treePage = 1000

// WriteManifest streams manifest.json for j: the job, then its tree read
// page by page, so a job of any size is written in bounded memory. Each
// file entry carries its known-good diff (see Diff), as of the moment it
// is written.
func (s *Service) WriteManifest(ctx context.Context, w io.Writer, j index.Job) error {
	head, err := json.Marshal(ManifestOf(j))
	if err != nil {
		return err
	}
	head = bytes.TrimSuffix(head, []byte("}"))
	if _, err := w.Write(append(head, []byte(`,"tree":[`)...)); err != nil {
		return err
	}
	var d *differ // made when the tree turns out not to be empty
	list := jsonList{w: w}
	err = s.walkTree(ctx, j.ID, func(entries []index.TreeEntry) error {
		if d == nil {
			var err error
			if d, err = s.newDiffer(ctx, j); err != nil {
				return err
			}
		}
		des, err := d.page(ctx, entries)
		if err != nil {
			return err
		}
		for _, de := range des {
			if err := list.add(de.ManifestEntry); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	_, err = w.Write([]byte("]}\n"))
	return err
}

// jsonList writes the elements of a JSON array one at a time, so a tree of
// any size streams in bounded memory.
type jsonList struct {
	w io.Writer
	n int
}

func (l *jsonList) add(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if l.n > 0 {
		b = append([]byte{','}, b...)
	}
	l.n++
	_, err = l.w.Write(b)
	return err
}

// ManifestInfo is the size and ETag of a job's manifest.json.
type ManifestInfo struct {
	Size int64
	ETag string
}

// manifestCache remembers manifest sizes per job version, so listings and
// HEADs do not re-render big trees.
type manifestCache struct {
	mu sync.Mutex
	m  map[string]manifestCached
}

type manifestCached struct {
	version [sha256.Size]byte
	info    ManifestInfo
}

// ManifestInfo renders j's manifest once to learn its size and MD5 (cached
// until the job changes). The cache is keyed by the job's own JSON, not
// by UpdatedAt: two changes within one timestamp tick (notes edited twice,
// say) must not serve a stale size. The tree only changes when the job
// finishes, which changes the JSON too. The diffs change when known-good
// jobs finish later, so the key also holds what they depend on
// (diffVersion: the closest known-good jobs and the count of the job's
// known-good files).
func (s *Service) ManifestInfo(ctx context.Context, j index.Job) (ManifestInfo, error) {
	head, err := json.Marshal(ManifestOf(j))
	if err != nil {
		return ManifestInfo{}, err
	}
	dv, err := s.diffVersion(ctx, j)
	if err != nil {
		return ManifestInfo{}, err
	}
	version := sha256.Sum256(append(append(head, 0), dv...))
	s.manifests.mu.Lock()
	c, ok := s.manifests.m[j.ID]
	s.manifests.mu.Unlock()
	if ok && c.version == version {
		return c.info, nil
	}
	h := md5.New()
	cw := &countingWriter{w: h}
	if err := s.WriteManifest(ctx, cw, j); err != nil {
		return ManifestInfo{}, err
	}
	info := ManifestInfo{Size: cw.n, ETag: hex.EncodeToString(h.Sum(nil))}
	s.manifests.mu.Lock()
	if len(s.manifests.m) > 10000 {
		clear(s.manifests.m)
	}
	s.manifests.m[j.ID] = manifestCached{version: version, info: info}
	s.manifests.mu.Unlock()
	return info, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// FileMetadata is a sample's metadata as S3 user metadata (lowercase
// names without the x-amz-meta- prefix), for samples/ and jobs/ reads.
func FileMetadata(f index.File) map[string]string {
	kg := "false"
	if f.KnownGood {
		kg = "true"
	}
	return map[string]string{
		"sha256":     f.Ref.String(),
		"sha1":       f.SHA1,
		"md5":        f.MD5,
		"size":       itoa(f.Size),
		"mime-type":  f.MIME,
		"known-good": kg,
		"first-seen": f.FirstSeen.UTC().Format(time.RFC3339),
		"job-count":  itoa(f.JobCount),
	}
}

// FileMetadataWithAnalysis is FileMetadata plus what the analyzers
// computed that S3 readers see: "ssdeep" and "tlsh", each only when
// computed (a file not analysed yet, or too small for TLSH, has none).
func FileMetadataWithAnalysis(f index.File, a index.Analysis) map[string]string {
	md := FileMetadata(f)
	if a.SSDeep != "" {
		md["ssdeep"] = a.SSDeep
	}
	if a.TLSH != "" {
		md["tlsh"] = a.TLSH
	}
	return md
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
