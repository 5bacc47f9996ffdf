package castest

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"dewar/cas"
)

func testConcurrentPutSame(t *testing.T, s cas.Store, loose bool) {
	const writers = 16
	data := genBytes(12, 256<<10)
	want := cas.Sum(data)
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		mu      sync.Mutex
		created int
		errs    []error
	)
	for range writers {
		wg.Go(func() {
			<-start
			ref, c, err := s.Put(context.Background(), bytes.NewReader(data), cas.StageOptions{})
			mu.Lock()
			defer mu.Unlock()
			if err == nil && ref.Ref != want {
				err = fmt.Errorf("got %s", ref)
			}
			if err != nil {
				errs = append(errs, err)
			}
			if c {
				created++
			}
		})
	}
	close(start)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d of %d concurrent Puts failed, first: %v", len(errs), writers, errs[0])
	}
	if loose && created < 1 || !loose && created != 1 {
		t.Errorf("%d of %d concurrent Puts reported created=true, want exactly one", created, writers)
	}
	if got := refsOf(walk(t, s, cas.Ref{})); !slices.Equal(got, []cas.Ref{want}) {
		t.Errorf("Walk = %v, want only %s", got, want)
	}
	if got := fetch(t, s, want, 0, -1); !bytes.Equal(got, data) {
		t.Error("blob written concurrently is not intact")
	}
}

func testConcurrentPutDistinct(t *testing.T, s cas.Store) {
	const writers = 16
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Go(func() {
			_, _, errs[i] = s.Put(context.Background(), gen(uint64(200+i), 64<<10), cas.StageOptions{})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Put #%d: %v", i, err)
		}
	}
	got := walk(t, s, cas.Ref{})
	if len(got) != writers {
		t.Fatalf("Walk lists %d blobs, want %d", len(got), writers)
	}
	for i := range writers {
		ref := sum(t, gen(uint64(200+i), 64<<10))
		if !slices.ContainsFunc(got, func(b cas.BlobInfo) bool { return b.SizedRef == ref }) {
			t.Errorf("blob #%d (%s) missing from Walk", i, ref)
		}
	}
}
