package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"dewar/cas"
)

// Walk calls fn for every blob with a Ref greater than after, in ascending
// Ref order, and stops at fn's first error, returning it. It reads the
// shard directories in sorted order, skips every shard wholly at or below
// after, and holds one directory listing at a time, so memory does not grow
// with the store. Names that are not 64 lowercase hex digits in the right
// shard (editor backups, a stray temp file) are ignored. Blobs removed
// during the walk may or may not be seen.
func (s *Store) Walk(ctx context.Context, after cas.Ref, fn func(cas.BlobInfo) error) error {
	a := after.String() // the zero Ref is "000…0", below every real blob
	outer, err := readDirNames(s.blobs)
	if err != nil {
		return fmt.Errorf("filestore: walk: %w", err)
	}
	for _, p1 := range outer {
		if !isHex(p1, 2) || p1 < a[0:2] {
			continue
		}
		d1 := filepath.Join(s.blobs, p1)
		inner, err := readDirNames(d1)
		if err != nil {
			return fmt.Errorf("filestore: walk: %w", err)
		}
		for _, p2 := range inner {
			if !isHex(p2, 2) || p1+p2 < a[0:4] {
				continue
			}
			if err := s.walkShard(ctx, filepath.Join(d1, p2), p1+p2, a, fn); err != nil {
				return err
			}
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
	for _, e := range entries {
		name := e.Name()
		if name <= after || !isHex(name, 2*cas.Size) || name[:4] != prefix || !e.Type().IsRegular() {
			continue
		}
		if err := ctxErr(ctx, "walk"); err != nil {
			return err
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since the listing
		}
		if err != nil {
			return fmt.Errorf("filestore: walk: %w", err)
		}
		ref, err := cas.Parse(name)
		if err != nil {
			continue // unreachable: isHex checked
		}
		if err := fn(blobInfo(ref, info)); err != nil {
			return err
		}
	}
	return nil
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
