// Package archive walks an uploaded archive as a stream of entries: zip, tar,
// gzip, bzip2, xz, zstd, 7z and rar, detected from content and never from
// names, with archives inside archives expanded up to a depth limit.
//
// The walker is built for hostile input. Entry names are made safe (see
// Entry.Path), links are recorded and never followed, nothing is written to
// disk except capped temporary spools for nested archives, and limits on
// entries, expanded bytes, expansion ratio, depth, path length and entry size
// are enforced while bytes are produced, so a bomb stops at the limit instead
// of after decompressing it all. Memory does not grow with archive size,
// except for a zip or 7z directory, which is bounded by Limits.MaxEntries.
//
// Error policy, the same for every format:
//   - A crossed limit is fatal at any nesting level: Walk returns a
//     *LimitError. Depth is the exception: an archive nested deeper than
//     MaxDepth is delivered as a plain file and a *LimitError{Limit: "depth"}
//     is added to Result.Warnings.
//   - Damage (truncation, bad checksum, corrupt data) in the top-level archive
//     is fatal: every entry read before the damage has been delivered, then
//     Walk returns an error matching ErrCorrupt. Damage inside a nested archive
//     is a warning: the nested file itself was delivered whole, so its walk
//     stops and the outer walk goes on. Damage after the last entry of a
//     compressed tar (trailing junk, a bad stream checksum) is a warning too.
//     A zip without a readable central directory (a truncated download) is
//     scanned by its local headers: what can be delimited is delivered,
//     then the walk ends with ErrCorrupt.
//   - Overlapping zip entries (the overlapping-entry bomb) are fatal
//     (ErrOverlap) before any entry of that zip is delivered.
//   - An encrypted entry no password opens is delivered as Type Other with
//     Encrypted set and no body, with a warning matching ErrPassword. If an
//     archive holds encrypted files and not one file of it could be read,
//     its walk ends with ErrPassword (fatal at the top, a warning when nested).
//   - An error returned by fn stops the walk and is returned as is, unless it
//     wraps a limit or damage error from the body, which is classified as above.
package archive

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors, wrapped with context; match them with errors.Is.
var (
	// ErrNotArchive: the content is none of the supported formats. The caller
	// stores it as a single file.
	ErrNotArchive = errors.New("archive: not an archive")
	// ErrCorrupt: the archive is truncated or damaged.
	ErrCorrupt = errors.New("archive: corrupt archive")
	// ErrPassword: an entry is encrypted and no configured password opens it.
	ErrPassword = errors.New("archive: encrypted, no password fits")
	// ErrOverlap: zip entries share compressed bytes (an overlapping-entry bomb).
	ErrOverlap = errors.New("archive: overlapping zip entries")
	// ErrUnsupported: an entry uses a compression method the walker cannot
	// decode; it is delivered as Type Other with a warning.
	ErrUnsupported = errors.New("archive: unsupported compression method")
)

// Type is the kind of an entry.
type Type int

// Entry types. Other covers devices, fifos, and entries whose content cannot
// be read (encrypted without a fitting password, unsupported method).
const (
	File Type = iota
	Dir
	Symlink
	Hardlink
	Other
)

func (t Type) String() string {
	switch t {
	case File:
		return "file"
	case Dir:
		return "dir"
	case Symlink:
		return "symlink"
	case Hardlink:
		return "hardlink"
	}
	return "other"
}

// Entry describes one member of the walk.
type Entry struct {
	// Path is safe: relative, '/'-separated, valid UTF-8, without '.', '..'
	// or empty segments, control bytes, leading '/', drive letters or
	// backslashes ('..' is resolved lexically and clamped at the root;
	// backslashes become '/'; control bytes become '_'). It is unique within
	// the walk: a colliding name gets "~1", "~2", ... appended to the
	// colliding segment. Entries of a nested archive are under the archive's
	// Path + ".contents/".
	Path string
	// RawPath is the name as stored in the archive when it had to be changed
	// to make Path (beyond dropping a leading "./" or a trailing "/"), else "".
	// It may hold invalid UTF-8.
	RawPath string
	Type    Type
	// Size is the size the archive declares for a file (the body delivers
	// exactly that many bytes, or the walk reports damage), or -1 when the
	// format does not say (a lone compressed stream). For Other entries it is
	// the declared size of the unreadable content.
	Size int64
	// Target is a link's raw target, never followed.
	Target  string
	ModTime time.Time
	// Depth is 0 for entries of the top archive, 1 inside a nested one, ...
	Depth int
	// Archive: this file is itself an archive that will be expanded; its
	// entries follow, before the next entry of this archive, under
	// Path + ".contents/".
	Archive bool
	// Encrypted: the entry was encrypted. With Type File it was decrypted
	// and verified; with Type Other no password fitted and there is no body.
	Encrypted bool
}

// Result summarises a walk, also when it ended with an error.
type Result struct {
	// Format is the top-level container; for a compressed tar it is the
	// compression and Inner is Tar.
	Format Format
	Inner  Format
	// Entries delivered to fn, across all nesting levels.
	Entries int
	// TotalBytes expanded (decompressed) across all levels, the quantity the
	// MaxTotalBytes and MaxRatio limits are about.
	TotalBytes int64
	// Warnings are problems the walk went past: nested damage, depth beyond
	// the limit, undecryptable or unsupported entries.
	Warnings []error
}

// LimitError reports a crossed limit: Limit is one of the Limit* names,
// Value the amount reached and Max the configured maximum.
type LimitError struct {
	Limit string
	Value int64
	Max   int64
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("archive: limit %s exceeded: %d > %d", e.Limit, e.Value, e.Max)
}

// Names of the limits in LimitError.Limit.
const (
	LimitEntries    = "entries"
	LimitTotalBytes = "total-bytes"
	LimitRatio      = "ratio"
	LimitDepth      = "depth"
	LimitPathLen    = "path-length"
	LimitEntrySize  = "entry-size"
	LimitSpool      = "spool"
)

// Limits bound one whole walk, across all nesting levels. A zero field takes
// the default from DefaultLimits; a negative field means no limit, except
// MaxDepth, where negative means nested archives are never expanded.
type Limits struct {
	MaxEntries    int     // entries delivered
	MaxTotalBytes int64   // expanded bytes produced
	MaxRatio      float64 // expanded bytes / input size, checked past RatioFloor expanded bytes
	MaxDepth      int     // deepest nesting level expanded (the top archive is level 0)
	MaxPathLen    int     // bytes in an entry's Path
	MaxEntrySize  int64   // bytes in one entry
}

// RatioFloor is the expanded byte count below which MaxRatio is not checked,
// so that tiny archives of small text files are not flagged.
const RatioFloor = 1 << 20

// DefaultLimits are sized for phishing kits and software releases: far above
// any real upload, far below what a bomb produces.
func DefaultLimits() Limits {
	return Limits{
		MaxEntries:    100_000,
		MaxTotalBytes: 4 << 30,
		MaxRatio:      200,
		MaxDepth:      5,
		MaxPathLen:    1024,
		MaxEntrySize:  1 << 30,
	}
}

// DefaultPasswords are tried on encrypted entries when Options.Passwords is nil.
var DefaultPasswords = []string{"infected", "malware", "virus", "password"}

// Options configure Walk. The zero value is usable.
type Options struct {
	Limits Limits
	// Passwords tried, in order, on encrypted entries; nil means
	// DefaultPasswords, an empty non-nil slice means none.
	Passwords []string
	// Name is the upload's original name. It only names the single entry of
	// a lone compressed file ("x.txt.gz" -> "x.txt"); "data" when it has no
	// known compression suffix.
	Name string
	// TempDir holds the spools of nested archives; "" is os.TempDir().
	TempDir string
	// MaxSpool caps one nested archive's spool file; 0 is 1 GiB, negative
	// is no cap. Exceeding it is a *LimitError{Limit: "spool"}.
	MaxSpool int64
}

func (o Options) normalized() Options {
	d := DefaultLimits()
	l := &o.Limits
	if l.MaxEntries == 0 {
		l.MaxEntries = d.MaxEntries
	}
	if l.MaxTotalBytes == 0 {
		l.MaxTotalBytes = d.MaxTotalBytes
	}
	if l.MaxRatio == 0 {
		l.MaxRatio = d.MaxRatio
	}
	if l.MaxDepth == 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxPathLen == 0 {
		l.MaxPathLen = d.MaxPathLen
	}
	if l.MaxEntrySize == 0 {
		l.MaxEntrySize = d.MaxEntrySize
	}
	if o.Passwords == nil {
		o.Passwords = DefaultPasswords
	}
	if o.MaxSpool == 0 {
		o.MaxSpool = 1 << 30
	}
	return o
}
