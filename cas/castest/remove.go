package castest

import (
	"context"
	"slices"
	"strings"
	"testing"

	"dewar/cas"
)

func testRemove(t *testing.T, s cas.Store) {
	keep := put(t, s, []byte("keep"))
	gone := put(t, s, []byte("gone"))
	if err := s.Remove(context.Background(), gone.Ref); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	assertAbsent(t, s, gone.Ref)
	if got := fetch(t, s, keep.Ref, 0, -1); string(got) != "keep" {
		t.Errorf("other blob reads %q after Remove", got)
	}
	if got := refsOf(walk(t, s, cas.Ref{})); !slices.Equal(got, []cas.Ref{keep.Ref}) {
		t.Errorf("Walk after Remove = %v, want only %s", got, keep.Ref)
	}
	// Removed bytes can be put again, and count as new.
	if _, created, err := s.Put(context.Background(), strings.NewReader("gone"), cas.StageOptions{}); err != nil || !created {
		t.Errorf("Put after Remove = created %v, %v; want true", created, err)
	}
}

func testRemoveMissing(t *testing.T, s cas.Store) {
	if err := s.Remove(context.Background(), cas.Sum([]byte("never"))); err != nil {
		t.Errorf("Remove of a missing blob = %v, want nil", err)
	}
	ref := put(t, s, []byte("twice"))
	for i := range 2 {
		if err := s.Remove(context.Background(), ref.Ref); err != nil {
			t.Errorf("Remove #%d = %v", i+1, err)
		}
	}
}
