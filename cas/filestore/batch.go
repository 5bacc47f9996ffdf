package filestore

import (
	"context"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"dewar/cas"
)

// NewBatch returns a batch that stages blobs as unsynced temp files and
// commits them all with two filesystem syncs: one so every staged byte is
// on disk, then the links into place, then one so the names are. Blobs
// become visible only after their bytes are durable, as with Commit, but a
// job of 2,500 files costs two syncs instead of 5,000.
func (s *Store) NewBatch() cas.Batch {
	return &batch{s: s, pending: map[cas.Ref]pendingBlob{}}
}

var _ cas.Batcher = (*Store)(nil)

type batch struct {
	s *Store
	// pending maps each new blob to its temp file.
	pending map[cas.Ref]pendingBlob
}

// pendingBlob is the temp file a batch will link, raw or compressed.
type pendingBlob struct {
	tmp        string
	compressed bool
}

func (b *batch) Add(ctx context.Context, r io.Reader, opts cas.StageOptions) (cas.SizedRef, error) {
	if err := ctxErr(ctx, "batch add"); err != nil {
		return cas.SizedRef{}, err
	}
	f, err := os.CreateTemp(b.s.tmp, "batch-")
	if err != nil {
		return cas.SizedRef{}, fmt.Errorf("filestore: batch add: %w", err)
	}
	sp, err := b.s.spool(ctx, f, r, opts)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("filestore: batch add: %w", cerr)
	}
	p := pendingBlob{tmp: f.Name()}
	if sp.z != nil {
		// Only the compressed form will be linked: a batch offers no
		// ReadAt, so the raw temp file can go now.
		os.Remove(p.tmp)
		p = pendingBlob{tmp: sp.z.Name(), compressed: true}
		if cerr := sp.z.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("filestore: batch add: %w", cerr)
		}
	}
	if err != nil {
		os.Remove(p.tmp)
		return cas.SizedRef{}, err
	}
	ref := sp.ref
	if _, held := b.pending[ref.Ref]; !held {
		ok, err := b.s.exists(ref.Ref)
		if err != nil {
			os.Remove(p.tmp)
			return cas.SizedRef{}, fmt.Errorf("filestore: batch add: %w", err)
		}
		if !ok {
			b.pending[ref.Ref] = p
			return ref, nil
		}
	}
	// Stored already (or twice in this batch): the temp file is not needed.
	os.Remove(p.tmp)
	return ref, nil
}

func (b *batch) Commit(ctx context.Context) error {
	if len(b.pending) == 0 {
		return nil
	}
	if err := ctxErr(ctx, "batch commit"); err != nil {
		return err
	}
	if err := b.s.syncFS(); err != nil {
		return fmt.Errorf("filestore: batch commit: %w", err)
	}
	for ref, p := range b.pending {
		if err := b.s.mkShardNoSync(ref); err != nil {
			return fmt.Errorf("filestore: batch commit %s: %w", ref, err)
		}
		if _, err := b.s.link(p.tmp, ref, p.compressed); err != nil {
			return fmt.Errorf("filestore: batch commit %s: %w", ref, err)
		}
	}
	if err := b.s.syncFS(); err != nil {
		return fmt.Errorf("filestore: batch commit: %w", err)
	}
	b.Discard()
	return nil
}

func (b *batch) Discard() {
	for ref, p := range b.pending {
		os.Remove(p.tmp)
		delete(b.pending, ref)
	}
}

// syncFS flushes the whole filesystem holding the store (syncfs(2)): one
// journal commit for any number of files.
func (s *Store) syncFS() error {
	if s.syncAll != nil {
		return s.syncAll()
	}
	return s.syncfs()
}

func (s *Store) syncfs() error {
	d, err := os.Open(s.tmp)
	if err != nil {
		return err
	}
	defer d.Close()
	return unix.Syncfs(int(d.Fd()))
}

// mkShardNoSync makes a blob's shard directories without fsyncing their
// parents; a batch commit's second filesystem sync covers them.
func (s *Store) mkShardNoSync(ref cas.Ref) error {
	leaf := s.shardDir(ref)
	if _, err := os.Stat(leaf); err == nil {
		return nil
	}
	return os.MkdirAll(leaf, 0o755)
}
