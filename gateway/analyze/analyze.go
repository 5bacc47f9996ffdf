// Package analyze runs every content analysis of a file in one read and
// turns the results into the index's record (index.Analysis): fuzzy hashes,
// perceptual hashes of images, IOCs, tokens and MinHash, the similarity
// keys the index uses to find candidates (keys.go), the exact comparisons
// that confirm them (compare.go), and the re-analysis of stored files when
// an analyzer changes (reanalyze.go).
//
// The analyzers themselves are pure packages under analyzers/; this
// package only decides what runs on which file and how results are keyed.
//
// # What runs
//
// Every file gets ssdeep and TLSH. Archives and compressed streams (by MIME
// type, see IsArchive) get nothing else: their members are files of the job
// and are analysed themselves, while IOCs or tokens of compressed bytes are
// noise, and the fuzzy hashes of an archive still find re-packed kits.
// Other files also get IOCs (plain and decoded text) and tokens (which the
// tokens analyzer itself skips for binary types); files whose first bytes
// are PNG, JPEG, GIF, WebP or BMP also get PDQ and pHash.
//
// # Memory
//
// One pass, no temp files. Memory is bounded by the analyzers' own caps,
// whatever the file size: a 64 KiB read buffer; ssdeep and TLSH keep a
// fixed state; IOCs work in 1 MiB windows over the first 64 MiB; tokens
// scan the first 8 MiB with a 64 KiB buffer and keep at most 5000 tokens;
// an image is buffered up to 64 MiB (imagehash.Options), and only when its
// head is an image.
package analyze

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"dewar/analyzers/imagehash"
	"dewar/analyzers/ioc"
	"dewar/analyzers/mime"
	"dewar/analyzers/ssdeep"
	"dewar/analyzers/tlsh"
	"dewar/analyzers/tokens"
	"dewar/index"
)

// Name and Version of this package's own part of an analysis: which
// analyzers run on which file, how IOCs are mapped, and how similarity keys
// are derived (keys.go). Version changes whenever those could change the
// record for the same bytes, so `dewar reanalyze` recomputes it.
const (
	Name    = "analyze"
	Version = 1
)

// Versions returns the version of every analysis a record made by Analyze
// reflects, by name: the analyzers' own and this package's. Every record
// carries all of them, whether or not an analyzer had anything to say
// about the file (an archive gets no tokens by policy, and that policy is
// Version), so re-analysis lists only files some analysis changed for.
func Versions() map[string]int {
	return map[string]int{
		ssdeep.Name:    ssdeep.Version,
		tlsh.Name:      tlsh.Version,
		imagehash.Name: imagehash.Version,
		ioc.Name:       ioc.Version,
		tokens.Name:    tokens.Version,
		Name:           Version,
	}
}

// Options bound one analysis. The zero value takes every analyzer's
// defaults.
type Options struct {
	IOC   ioc.Options
	Image imagehash.Options
	// Tokens tune the token analyzer; its MIME field is replaced by the
	// file's MIME type.
	Tokens tokens.Options
	// Now stamps AnalyzedAt; nil means time.Now.
	Now func() time.Time
}

// headSize is how much of a file is looked at before the pass starts, to
// choose the analyzers: what MIME detection reads.
const headSize = 3072

// bufSize is the read buffer of the one pass.
const bufSize = 64 << 10

// Analyze reads r once, to its end, feeding every analyzer at once, and
// returns the record to store. mimeHint is the file's MIME type as
// analyzers/mime detected it (what index.File.MIME holds); "" detects it
// from the first bytes. The returned Analysis has a zero Ref (the caller
// knows the file) and Versions() as its versions.
//
// Errors are those of r and of ctx only: what the analyzers cannot make
// sense of (a corrupt image, a file too small for TLSH) is left out of the
// record, never an error.
func Analyze(ctx context.Context, r io.Reader, mimeHint string, o Options) (index.Analysis, error) {
	br := bufio.NewReaderSize(&ctxReader{ctx: ctx, r: r}, bufSize)
	head, err := br.Peek(headSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return index.Analysis{}, fmt.Errorf("analyze: %w", err)
	}
	mimeType := mimeHint
	if mimeType == "" {
		mimeType = mime.Detect(head)
	}

	ss, tl := ssdeep.New(), tlsh.New()
	sinks := []io.Writer{ss, tl}
	var (
		img *imagehash.Sink
		ic  *ioc.Sink
		tk  *tokens.Sink
	)
	if !IsArchive(mimeType) {
		if isImage(head) {
			img = imagehash.NewWithOptions(o.Image)
			sinks = append(sinks, img)
		}
		ic = ioc.New(o.IOC)
		to := o.Tokens
		to.MIME = mimeType
		tk = tokens.New(to)
		sinks = append(sinks, ic, tk)
	}
	if _, err := br.WriteTo(io.MultiWriter(sinks...)); err != nil {
		return index.Analysis{}, fmt.Errorf("analyze: %w", err)
	}

	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	a := index.Analysis{
		SSDeep:     ss.Result(),
		TLSH:       tl.Result(),
		Versions:   Versions(),
		AnalyzedAt: now().UTC(),
	}
	a.Keys = append(a.Keys, SSDeepKeys(a.SSDeep)...)
	if img != nil {
		// Over a limit or undecodable: no image hashes, nothing else lost.
		if res, err := img.Result(); err == nil {
			a.PDQ, a.PHash = res.PDQ, res.PHash
			if res.PDQQuality >= MinPDQQuality {
				a.Keys = append(a.Keys, PDQKeys(a.PDQ)...)
			}
			a.Keys = append(a.Keys, PHashKeys(a.PHash)...)
		}
	}
	if ic != nil {
		a.IOCs = IOCs(ic.Result().Indicators)
	}
	if tk != nil {
		tr := tk.Result()
		a.Language = string(tr.Lang)
		a.Tokens = tr.Tokens
		if tr.MinHash != nil {
			a.MinHash = []uint32(tr.MinHash)
			a.Keys = append(a.Keys, MinHashKeys(tr.MinHash)...)
		}
	}
	return a, nil
}

// IOCs maps the ioc analyzer's indicators to the index's records: the
// decode chain as "base64>hex" (outermost first, "" in plain text).
func IOCs(in []ioc.Indicator) []index.IOC {
	if len(in) == 0 {
		return nil
	}
	out := make([]index.IOC, len(in))
	for i, x := range in {
		out[i] = index.IOC{
			Type: string(x.Type), Value: x.Value, Chain: strings.Join(x.Chain, ">"),
			Class: x.Class, Context: x.Context,
		}
	}
	return out
}

// archiveTypes are the MIME types (as analyzers/mime names them) of
// archives and compressed streams.
var archiveTypes = map[string]bool{
	"application/zip":              true,
	"application/x-zip-compressed": true,
	"application/x-tar":            true,
	"application/gzip":             true,
	"application/x-gzip":           true,
	"application/x-bzip2":          true,
	"application/x-xz":             true,
	"application/zstd":             true,
	"application/x-7z-compressed":  true,
	"application/vnd.rar":          true,
	"application/x-rar-compressed": true,
	"application/x-lzip":           true,
	"application/lzip":             true,
	"application/x-compress":       true,
	"application/x-lzma":           true,
	"application/java-archive":     true,
	"application/jar":              true,
}

// IsArchive reports whether a file of MIME type m gets the fuzzy hashes
// only (see the package comment).
func IsArchive(m string) bool { return archiveTypes[m] }

// isImage reports whether head starts one of the formats imagehash
// decodes. It only saves feeding the image sink (which sniffs again and
// drops anything else after its first bytes).
func isImage(head []byte) bool {
	switch mime.Detect(head) {
	case "image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/x-ms-bmp":
		return true
	}
	return false
}

// ctxReader ends a read with ctx's error once ctx is done, so a cancelled
// analysis of a big file stops at the next buffer.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
