// Package filestore is the file:// content store: one read-only file per
// blob under a directory on local disk.
//
// # Layout
//
//	<dir>/blobs/<hex[0:3]>/<hex>       blobs, mode 0444
//	<dir>/blobs/<hex[0:3]>/<hex>.zst   blobs stored compressed
//	<dir>/tmp/                         streams being staged
//
// where hex is the lowercase sha256 of the blob's original bytes; a blob
// is stored in one form or the other (see compress.go, and Options for
// when a blob is compressed). The 4,096 shard directories are made when
// first needed; one level keeps that a one-time cost (a fresh store of
// two levels would make a directory for most of its first 65,536 blobs),
// and ext4's hashed directories hold the tens of thousands of blobs per
// shard a store of a hundred million blobs has. The temp directory sits inside dir so a temp file can
// be hard-linked into place (same file system).
//
// # Durability
//
// The write protocol is restic's local backend: write the temp file, fsync
// it, then make the name (here a hard link instead of a rename, see below),
// then fsync the directory that holds the new name. Without the file fsync
// a crash can leave a correctly named blob with zeroed or missing bytes;
// without the directory fsync (Perkeep's localdisk forgot it) the name
// itself can vanish after a crash although Put returned. Remove fsyncs the
// directory for the same reason in reverse: a blob reaped after its last
// reference was dropped must not come back. Making a directory fsyncs its
// parent.
//
// Commit links rather than renames so the temp file survives Commit: the
// index's reference-count protocol (see package dewar/index) relies on a
// second Commit re-creating a blob that a racing reaper removed, which
// needs the staged bytes until Discard. Link also fails with EEXIST instead
// of silently replacing, which is how concurrent writers learn that the
// blob was created by someone else.
//
// Several processes may open the same directory (dewar serve beside dewar
// verify or gc). Open sweeps temp files older than a day, which are left
// by crashes; a Staged held open longer than that by another process can
// no longer Commit.
package filestore

import (
	"golang.org/x/sys/unix"

	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"dewar/cas"
)

var _ cas.Store = (*Store)(nil)

// ErrDiscarded is returned by Commit and ReadAt of a Staged after Discard.
var ErrDiscarded = errors.New("filestore: staged blob already discarded")

// staleTempAge is how old a temp file must be before Open removes it. A
// day is far longer than any upload, so only crash debris is swept.
const staleTempAge = 24 * time.Hour

// Options tune a Store. The zero value is the default: blobs are written
// uncompressed. Whatever the options, blobs written under any other
// setting stay readable (see compress.go for the compressed form).
type Options struct {
	// Compress stores a blob zstd-compressed when that saves at least
	// MinSaving of its size (blobs under 4 KiB are always stored raw).
	// Fetch, ranged or not, returns the original bytes either way.
	Compress bool
	// Level is the zstd level, 1 (fastest) to 22; 0 means 3, zstd's
	// default. The encoder has four speeds: 1–2, 3–5, 6–9 and 10–22; each
	// upload in flight holds an encoder of 3, 4, 7 or 36 MiB.
	Level int
	// MinSaving is the fraction of a blob's size compression must save
	// for the compressed form to be kept; 0 means 0.10.
	MinSaving float64
	// NoGroupCommit gives every small commit its own fsyncs instead of
	// sharing two filesystem syncs with the commits running beside it.
	NoGroupCommit bool
}

// ErrBadOptions is returned by Open for options out of range.
var ErrBadOptions = errors.New("filestore: bad options")

// Store is a cas.Store on local disk. It is safe for concurrent use, also
// by several processes sharing the directory.
type Store struct {
	dir   string // absolute
	blobs string // dir/blobs
	tmp   string // dir/tmp

	compress  bool
	minSaving float64
	encoders  *encoderPool // nil unless compress
	// frameSize is the input per compressed frame; alwaysCompress keeps
	// the compressed form whatever it saves. Fields so tests can reach
	// frame boundaries and the compressed form with small blobs.
	frameSize      int
	alwaysCompress bool

	// syncFile and syncDir fsync. Fields so tests can observe that the
	// durability protocol really syncs what it must, in order.
	syncFile func(f *os.File) error
	syncDir  func(path string) error
	// syncAll, when set, replaces syncfs(2) (tests observe group commits).
	syncAll func() error

	// group batches the durability of concurrent small commits; nil with
	// Options.NoGroupCommit.
	group *groupCommit
	// namedTemps stages into named temp files even where unnamed ones
	// (O_TMPFILE) work: the fallback path, and what the tests of the
	// sync protocol and of swept temps observe.
	namedTemps bool
}

// Open opens the store rooted at dir, creating dir and its layout when
// missing, and removes temp files older than a day (debris of crashes).
func Open(dir string, opts Options) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("filestore: open %s: %w", dir, err)
	}
	if opts.Level < 0 || opts.Level > 22 || opts.MinSaving < 0 || opts.MinSaving >= 1 {
		return nil, fmt.Errorf("%w: level %d, min saving %g", ErrBadOptions, opts.Level, opts.MinSaving)
	}
	s := &Store{
		dir:       abs,
		blobs:     filepath.Join(abs, "blobs"),
		tmp:       filepath.Join(abs, "tmp"),
		compress:  opts.Compress,
		minSaving: cmp.Or(opts.MinSaving, defaultMinSaving),
		frameSize: maxFrameSize,
		syncFile:  (*os.File).Sync,
		syncDir:   syncDir,
		group:     groupOrNil(opts),
	}
	if s.compress {
		if s.encoders, err = newEncoderPool(cmp.Or(opts.Level, 3)); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadOptions, err)
		}
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("filestore: open: %w", err)
	}
	for _, d := range []string{s.blobs, s.tmp} {
		if err := s.mkdir(d); err != nil {
			return nil, fmt.Errorf("filestore: open: %w", err)
		}
	}
	if err := s.sweepTemp(time.Now().Add(-staleTempAge)); err != nil {
		return nil, fmt.Errorf("filestore: open: %w", err)
	}
	return s, nil
}

// Dir returns the directory the store was opened on, made absolute.
func (s *Store) Dir() string { return s.dir }

// sweepTemp removes temp files last modified before cutoff.
func (s *Store) sweepTemp(cutoff time.Time) error {
	entries, err := os.ReadDir(s.tmp)
	if err != nil {
		return err
	}
	for _, e := range entries {
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // discarded meanwhile by its owner
		}
		if err != nil {
			return err
		}
		if info.Mode().IsRegular() && info.ModTime().Before(cutoff) {
			if err := os.Remove(filepath.Join(s.tmp, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// blobPath returns where ref's blob lives when stored raw.
func (s *Store) blobPath(ref cas.Ref) string {
	h := ref.String()
	return filepath.Join(s.blobs, h[0:shardLen], h)
}

// shardLen is how many hex digits name a blob's shard directory.
const shardLen = 3

// zstPath returns where ref's blob lives when stored compressed.
func (s *Store) zstPath(ref cas.Ref) string { return s.blobPath(ref) + zstSuffix }

// shardDir returns the directory holding ref's blob.
func (s *Store) shardDir(ref cas.Ref) string {
	h := ref.String()
	return filepath.Join(s.blobs, h[0:shardLen])
}

// exists reports whether ref is stored, in either form.
func (s *Store) exists(ref cas.Ref) (bool, error) {
	for _, p := range []string{s.blobPath(ref), s.zstPath(ref)} {
		if _, err := os.Stat(p); err == nil {
			return true, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return false, err
		}
	}
	return false, nil
}

// link makes the temp file tmp the blob ref, raw or compressed, and
// reports whether this created the blob. A writer with other settings
// (another process) may link the other form at the same time; the raw
// form wins: linking raw clears a compressed form, and linking compressed
// backs out when a raw form is there. So once both writers return, one
// form remains. Under that race, created may be false for both.
func (s *Store) link(tmp string, ref cas.Ref, compressed bool) (bool, error) {
	raw, zst := s.blobPath(ref), s.zstPath(ref)
	final := raw
	if compressed {
		final = zst
	}
	// AT_SYMLINK_FOLLOW links the file behind /proc/self/fd/N (an unnamed
	// temp); for a named temp it changes nothing.
	err := unix.Linkat(unix.AT_FDCWD, tmp, unix.AT_FDCWD, final, unix.AT_SYMLINK_FOLLOW)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if compressed {
		if _, err := os.Stat(raw); err == nil {
			if err := os.Remove(zst); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return false, err
			}
			return false, nil
		}
		return true, nil
	}
	err = os.Remove(zst)
	if err == nil {
		return false, nil // it was stored already, compressed
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	return true, nil
}

// mkdir makes dir if it is missing and then fsyncs its parent, so the new
// directory (and whatever is later linked into it) survives a crash. The
// parent must exist.
func (s *Store) mkdir(dir string) error {
	err := os.Mkdir(dir, 0o755)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.syncDir(filepath.Dir(dir))
}

// mkShard makes the two shard levels above a blob.
func (s *Store) mkShard(ref cas.Ref) error {
	leaf := s.shardDir(ref)
	if _, err := os.Stat(leaf); err == nil {
		return nil
	}
	return s.mkdir(leaf)
}

// syncDir fsyncs a directory so the names in it are durable.
func syncDir(path string) error {
	d, err := os.Open(path)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// ctxErr reports a cancelled context wrapped with the operation's name.
func ctxErr(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("filestore: %s: %w", op, err)
	}
	return nil
}

func groupOrNil(o Options) *groupCommit {
	if o.NoGroupCommit {
		return nil
	}
	return &groupCommit{}
}
