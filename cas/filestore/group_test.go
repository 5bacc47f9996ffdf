package filestore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"dewar/cas"
)

// Concurrent small commits share filesystem syncs: every blob is there and
// intact, and there are fewer syncs than one pair per upload.
func TestGroupCommitSharesSyncs(t *testing.T) {
	s := newStore(t)
	var syncs atomic.Int64
	s.syncAll = func() error { syncs.Add(1); return s.syncfs() }
	s.syncFile = func(*os.File) error { t.Error("a small commit fsynced its own file"); return nil }
	const n = 32
	var wg sync.WaitGroup
	refs := make([]cas.SizedRef, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			refs[i], _, errs[i] = s.Put(context.Background(), strings.NewReader(fmt.Sprintf("small blob %d", i)), cas.StageOptions{})
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Put %d: %v", i, errs[i])
		}
		if got := string(fetchAll(t, s, refs[i].Ref, 0, -1)); got != fmt.Sprintf("small blob %d", i) {
			t.Fatalf("blob %d reads %q", i, got)
		}
	}
	if got := syncs.Load(); got%2 != 0 || got > 2*n {
		t.Fatalf("%d filesystem syncs for %d commits, want pairs and at most %d", got, n, 2*n)
	}
	t.Logf("%d commits took %d filesystem syncs", n, syncs.Load())
}

// A failed sync fails the commit: nothing durable is promised.
func TestGroupCommitSyncFailure(t *testing.T) {
	for _, which := range []int{1, 2} {
		t.Run(fmt.Sprintf("sync %d", which), func(t *testing.T) {
			s := newStore(t)
			fail := errors.New("syncfs failed")
			calls := 0
			s.syncAll = func() error {
				calls++
				if calls == which {
					return fail
				}
				return nil
			}
			ref, _, err := s.Put(context.Background(), strings.NewReader("not durable"), cas.StageOptions{})
			if !errors.Is(err, fail) {
				t.Fatalf("Put = %v, %v; want the sync error", ref, err)
			}
			if which == 1 {
				// The bytes were never known to be on disk: no name.
				if _, err := s.Stat(context.Background(), cas.Sum([]byte("not durable"))); !errors.Is(err, cas.ErrNotFound) {
					t.Fatalf("blob visible after the first sync failed: %v", err)
				}
			}
			assertTempEmpty(t, s)
		})
	}
}

// Large blobs keep their own fsyncs: they must not flush the whole
// filesystem for everyone.
func TestGroupCommitSkipsLargeBlobs(t *testing.T) {
	s := newStore(t)
	s.syncAll = func() error { t.Error("a large commit synced the filesystem"); return nil }
	big := strings.Repeat("x", groupMaxSize+1)
	if _, _, err := s.Put(context.Background(), strings.NewReader(big), cas.StageOptions{}); err != nil {
		t.Fatal(err)
	}
}
