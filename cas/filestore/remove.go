package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"dewar/cas"
)

// Remove unlinks the blob, in either form, and fsyncs its shard
// directory, so a removal that returned stays removed after a crash. A
// missing blob is not an error. Staged copies of the same bytes are
// untouched (they are separate names for the inode), which is what lets a
// later Commit re-create it. Shard directories are kept: removing them
// would race with Commit.
func (s *Store) Remove(ctx context.Context, ref cas.Ref) error {
	if err := ctxErr(ctx, "remove"); err != nil {
		return err
	}
	removed := false
	for _, p := range []string{s.blobPath(ref), s.zstPath(ref)} {
		err := os.Remove(p)
		if err == nil {
			removed = true
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("filestore: remove %s: %w", ref, err)
		}
	}
	if !removed {
		return nil
	}
	if err := s.syncDir(s.shardDir(ref)); err != nil {
		return fmt.Errorf("filestore: remove %s: %w", ref, err)
	}
	return nil
}
