package sqlindex

import (
	"testing"
	"testing/fstest"
	"time"
)

func TestRebind(t *testing.T) {
	tests := []struct {
		d        Dialect
		in, want string
	}{
		{Dialect{}, `SELECT a FROM t WHERE b = ? AND c = ?`, `SELECT a FROM t WHERE b = ? AND c = ?`},
		{Dialect{Placeholder: Dollar}, `SELECT a FROM t WHERE b = ? AND c = ?`, `SELECT a FROM t WHERE b = $1 AND c = $2`},
		{Dialect{Placeholder: Dollar}, `SELECT 1`, `SELECT 1`},
		{Dialect{Placeholder: Dollar}, `VALUES (?, 'é', ?)`, `VALUES ($1, 'é', $2)`},
	}
	for _, tc := range tests {
		if got := tc.d.rebind(tc.in); got != tc.want {
			t.Errorf("rebind(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMigrationFiles(t *testing.T) {
	good := fstest.MapFS{
		"0002_second.sql": {Data: []byte("x")},
		"0001_init.sql":   {Data: []byte("x")},
		"0010_tenth.sql":  {Data: []byte("x")},
		"README.md":       {Data: []byte("ignored")},
	}
	ms, err := migrations(good)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, m := range ms {
		got = append(got, m.version)
	}
	if len(got) != 3 || got[0] != 1 || got[1] != 2 || got[2] != 10 {
		t.Errorf("versions = %v, want [1 2 10]", got)
	}
	dup := fstest.MapFS{"0001_a.sql": {}, "001_b.sql": {}}
	if _, err := migrations(dup); err == nil {
		t.Error("two migrations with version 1 accepted")
	}
	zero := fstest.MapFS{"0000_a.sql": {}}
	if _, err := migrations(zero); err == nil {
		t.Error("version 0 accepted")
	}
}

func TestTimeRoundTrip(t *testing.T) {
	in := time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.FixedZone("CET", 3600))
	v, err := tm(&in).Value()
	if err != nil {
		t.Fatal(err)
	}
	if v != "2026-03-14T14:09:26.535Z" {
		t.Errorf("stored as %q", v)
	}
	for _, src := range []any{v, []byte(v.(string)), in} {
		var out time.Time
		if err := tm(&out).Scan(src); err != nil {
			t.Fatal(err)
		}
		if !out.Equal(in.Truncate(time.Millisecond)) && !out.Equal(in) || out.Location() != time.UTC {
			t.Errorf("Scan(%T) = %v", src, out)
		}
	}
	var out time.Time
	if err := tm(&out).Scan(42); err == nil {
		t.Error("Scan of an int accepted")
	}
}

// A solo operation (the reaper) never shares a group: the group before it
// ends, and it is a group by itself.
func TestBatcherTakeSolo(t *testing.T) {
	b := &batcher{max: 10}
	mk := func(solo bool) *op { return &op{solo: solo} }
	a1, a2, r, a3 := mk(false), mk(false), mk(true), mk(false)
	b.queue = []*op{a1, a2, r, a3}
	for i, want := range [][]*op{{a1, a2}, {r}, {a3}} {
		got := b.take()
		if len(got) != len(want) {
			t.Fatalf("take %d: %d ops, want %d", i, len(got), len(want))
		}
		for j := range got {
			if got[j] != want[j] {
				t.Fatalf("take %d: op %d differs", i, j)
			}
		}
	}
	if len(b.take()) != 0 {
		t.Fatal("queue not empty")
	}
}
