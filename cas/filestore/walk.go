package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"dewar/cas"
)

// Walk calls fn for every blob with a Ref greater than after, in ascending
// Ref order, and stops at fn's first error, returning it. It reads the
// shard directories in sorted order, skips every shard wholly at or below
// after, and holds one directory listing at a time, so memory does not grow
// with the store. Names that are not 64 lowercase hex digits in the right
// shard (editor backups, a stray temp file) are ignored, except the ".zst"
// suffix of compressed blobs. A blob present in both forms is listed once.
// A compressed blob's Size comes from its header, so listing one costs an
// open and a 24-byte read; one whose header is damaged is listed with
// Size 0, so that Verify reaches it and reports it. Blobs removed during
// the walk may or may not be seen.
func (s *Store) Walk(ctx context.Context, after cas.Ref, fn func(cas.BlobInfo) error) error {
	a := after.String() // the zero Ref is "000…0", below every real blob
	shards, err := readDirNames(s.blobs)
	if err != nil {
		return fmt.Errorf("filestore: walk: %w", err)
	}
	for _, p := range shards {
		if !isHex(p, shardLen) || p < a[0:shardLen] {
			continue
		}
		if err := s.walkShard(ctx, filepath.Join(s.blobs, p), p, a, fn); err != nil {
			return err
		}
	}
	return nil
}

// walkShard walks one leaf directory whose names start with prefix.
func (s *Store) walkShard(ctx context.Context, dir, prefix, after string, fn func(cas.BlobInfo) error) error {
	entries, err := os.ReadDir(dir) // sorted by name
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("filestore: walk: %w", err)
	}
	last := "" // hex of the blob listed last, to list a blob in both forms once
	for _, e := range entries {
		name := e.Name()
		hex, compressed := name, false
		if len(name) == 2*cas.Size+len(zstSuffix) && strings.HasSuffix(name, zstSuffix) {
			hex, compressed = name[:2*cas.Size], true
		}
		if hex <= after || hex == last || !isHex(hex, 2*cas.Size) || hex[:len(prefix)] != prefix || !e.Type().IsRegular() {
			continue
		}
		if err := ctxErr(ctx, "walk"); err != nil {
			return err
		}
		ref, err := cas.Parse(hex)
		if err != nil {
			continue // unreachable: isHex checked
		}
		info, err := s.entryInfo(ref, dir, e, compressed)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since the listing
		}
		if err != nil {
			return fmt.Errorf("filestore: walk: %w", err)
		}
		last = hex
		if err := fn(info); err != nil {
			return err
		}
	}
	return nil
}

// entryInfo describes the blob file e of dir.
func (s *Store) entryInfo(ref cas.Ref, dir string, e fs.DirEntry, compressed bool) (cas.BlobInfo, error) {
	if !compressed {
		info, err := e.Info()
		if err != nil {
			return cas.BlobInfo{}, err
		}
		return blobInfo(ref, info), nil
	}
	f, err := os.Open(filepath.Join(dir, e.Name()))
	if err != nil {
		return cas.BlobInfo{}, err
	}
	defer f.Close()
	bi, err := fileInfo(ref, f, true)
	if errors.Is(err, cas.ErrCorrupt) {
		info, err := f.Stat()
		if err != nil {
			return cas.BlobInfo{}, err
		}
		bi = blobInfo(ref, info)
		bi.Size = 0
		return bi, nil
	}
	return bi, err
}

// readDirNames lists a directory's names in sorted order; a missing
// directory is empty.
func readDirNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// isHex reports whether s is n lowercase hex digits.
func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
