package index

import (
	"sort"
	"testing"
	"time"
)

func TestNewJobIDOrderAndShape(t *testing.T) {
	base := time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 2000 {
		// Many IDs in the same millisecond, then later ones.
		ids = append(ids, NewJobID(base.Add(time.Duration(i/500)*time.Millisecond)))
	}
	if !sort.StringsAreSorted(ids) {
		t.Fatal("IDs do not sort in creation order")
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if !ValidJobID(id) {
			t.Fatalf("invalid id %q", id)
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
	}
	a, b := NewJobID(base.Add(time.Hour)), NewJobID(base.Add(2*time.Hour))
	if !(a < b) {
		t.Fatalf("later time sorts earlier: %s >= %s", a, b)
	}
	for _, bad := range []string{"", "short", "01KMZZZZZZZZZZZZZZZZZZZZZI", "81KMZZZZZZZZZZZZZZZZZZZZZZ", "01kmzzzzzzzzzzzzzzzzzzzzzz"} {
		if ValidJobID(bad) {
			t.Errorf("ValidJobID(%q) = true", bad)
		}
	}
}
