package gateway

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dewar/cas"
	"dewar/cas/filestore"
	"dewar/index"
	"dewar/index/sqlite"
)

type maintEnv struct {
	dir   string
	store *filestore.Store
	idx   index.Index
}

func newMaintEnv(t *testing.T) *maintEnv {
	dir := t.TempDir()
	st, err := filestore.Open(filepath.Join(dir, "store"), filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	idx, err := sqlite.Open(filepath.Join(dir, "index.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close() })
	if err := idx.CreateBucket(context.Background(), index.Bucket{Name: "b", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return &maintEnv{dir: dir, store: st, idx: idx}
}

// object stores data under key the way the S3 gateway does.
func (e *maintEnv) object(t *testing.T, key, data string) cas.Ref {
	ctx := context.Background()
	st, err := e.store.Stage(ctx, strings.NewReader(data), cas.StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Discard()
	commit := func(ctx context.Context) error { _, err := st.Commit(ctx); return err }
	if _, err := e.idx.PutObject(ctx, index.Object{Bucket: "b", Key: key, Blob: st.Ref().Ref, Size: st.Ref().Size}, commit); err != nil {
		t.Fatal(err)
	}
	return st.Ref().Ref
}

// orphan stores a blob nothing refers to, written age ago.
func (e *maintEnv) orphan(t *testing.T, data string, age time.Duration) cas.Ref {
	ref, _, err := e.store.Put(context.Background(), strings.NewReader(data), cas.StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-age)
	if err := os.Chtimes(e.blobPath(ref.Ref), old, old); err != nil {
		t.Fatal(err)
	}
	return ref.Ref
}

func (e *maintEnv) blobPath(ref cas.Ref) string {
	h := ref.String()
	return filepath.Join(e.dir, "store", "blobs", h[0:3], h)
}

func TestVerifyFindsDamage(t *testing.T) {
	e := newMaintEnv(t)
	ctx := context.Background()
	good := e.object(t, "good", "intact bytes")
	flipped := e.object(t, "flipped", "bytes that will be damaged")
	gone := e.object(t, "gone", "bytes that will vanish")
	orphan := e.orphan(t, "nobody refers to me", 0)

	r, err := Verify(ctx, e.store, e.idx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Damaged() || r.Blobs != 4 || len(r.Orphaned) != 1 || r.Orphaned[0] != orphan {
		t.Fatalf("healthy store: %+v", r)
	}

	// Flip one byte of a stored blob, and remove another behind the
	// store's back.
	p := e.blobPath(flipped)
	os.Chmod(p, 0o644)
	b, _ := os.ReadFile(p)
	b[3] ^= 0x01
	if err := os.WriteFile(p, b, 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(e.blobPath(gone)); err != nil {
		t.Fatal(err)
	}
	r, err = Verify(ctx, e.store, e.idx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Damaged() || len(r.Corrupt) != 1 || r.Corrupt[0] != flipped || len(r.Missing) != 1 || r.Missing[0] != gone {
		t.Fatalf("damaged store: %+v (want corrupt %s, missing %s)", r, flipped, gone)
	}
	_ = good
}

func TestGCFreesOnlyUnreferenced(t *testing.T) {
	e := newMaintEnv(t)
	ctx := context.Background()
	kept := e.object(t, "kept", "still referenced")
	oldOrphan := e.orphan(t, "old orphan", 3*time.Hour)
	youngOrphan := e.orphan(t, "young orphan, maybe an upload in flight", time.Minute)
	// A blob whose last reference was dropped but never reaped (a crash
	// between the delete and its reap).
	dropped := e.object(t, "dropped", "dropped but not reaped")
	if _, err := e.idx.DeleteObject(ctx, "b", "dropped"); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-3 * time.Hour)
	os.Chtimes(e.blobPath(dropped), old, old)

	dry, err := GC(ctx, e.store, e.idx, GCOptions{Grace: time.Hour, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if dry.Removed != 2 || dry.Young != 1 {
		t.Fatalf("dry run: %+v", dry)
	}
	if _, err := e.store.Stat(ctx, oldOrphan); err != nil {
		t.Fatalf("dry run removed a blob: %v", err)
	}

	r, err := GC(ctx, e.store, e.idx, GCOptions{Grace: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if r.Removed != 2 || r.Young != 1 || r.Freed != int64(len("old orphan")+len("dropped but not reaped")) {
		t.Fatalf("gc: %+v", r)
	}
	for ref, want := range map[cas.Ref]bool{kept: true, youngOrphan: true, oldOrphan: false, dropped: false} {
		_, err := e.store.Stat(ctx, ref)
		if (err == nil) != want {
			t.Errorf("after gc, blob %s present=%v, want %v", ref, err == nil, want)
		}
	}
	if v, err := Verify(ctx, e.store, e.idx, nil); err != nil || v.Damaged() {
		t.Fatalf("verify after gc: %+v, %v", v, err)
	}
}

// A compressed blob whose frame is damaged fails its read with
// cas.ErrCorrupt: verify counts it and goes on to the next blob.
func TestVerifyCountsCorruptReadsAndGoesOn(t *testing.T) {
	dir := t.TempDir()
	st, err := filestore.Open(filepath.Join(dir, "store"), filestore.Options{Compress: true})
	if err != nil {
		t.Fatal(err)
	}
	idx, err := sqlite.Open(filepath.Join(dir, "index.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	ctx := context.Background()
	text := strings.Repeat("<?php echo 'compressible kit text'; ?>\n", 4000)
	var refs []cas.Ref
	for i := range 3 {
		ref, _, err := st.Put(ctx, strings.NewReader(fmt.Sprint(i)+text), cas.StageOptions{})
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, ref.Ref)
	}
	h := refs[1].String()
	p := filepath.Join(dir, "store", "blobs", h[0:3], h+".zst")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("blob not stored compressed: %v", err)
	}
	os.Chmod(p, 0o644)
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(p, b, 0o444); err != nil {
		t.Fatal(err)
	}
	r, err := Verify(ctx, st, idx, nil)
	if err != nil {
		t.Fatalf("verify stopped: %v", err)
	}
	if r.Blobs != 3 || len(r.Corrupt) != 1 || r.Corrupt[0] != refs[1] {
		t.Fatalf("report %+v, want 3 blobs and %s corrupt", r, refs[1])
	}
}
