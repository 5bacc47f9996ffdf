package castest

import (
	"context"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"dewar/cas"
)

// addToRef returns r + d as a 256-bit big-endian number (wrapping).
func addToRef(r cas.Ref, d int) cas.Ref {
	b := r.Digest()
	carry := d
	for i := len(b) - 1; i >= 0 && carry != 0; i-- {
		v := int(b[i]) + carry
		b[i] = byte(v)
		carry = v >> 8 // arithmetic shift: -1 for a borrow
	}
	return cas.RefOf(b)
}

// sharingPrefix finds two distinct small blobs whose hex Refs share the
// first n digits (n = 2 or 4), to exercise walking within one shard.
func sharingPrefix(n int) (a, b []byte) {
	seen := map[string][]byte{}
	for i := uint32(0); ; i++ {
		data := binary.BigEndian.AppendUint32([]byte("prefix:"), i)
		p := cas.Sum(data).String()[:n]
		if prev, ok := seen[p]; ok {
			return prev, data
		}
		seen[p] = data
	}
}

func testWalk(t *testing.T, s cas.Store) {
	var refs []cas.SizedRef
	for i := range 16 {
		refs = append(refs, put(t, s, genBytes(uint64(300+i), i*37)))
	}
	// Blobs sharing a first level and a full shard prefix, so "after"
	// falls inside directories and S3 prefixes too.
	a2, b2 := sharingPrefix(2)
	a4, b4 := sharingPrefix(4)
	for _, d := range [][]byte{a2, b2, a4, b4} {
		refs = append(refs, put(t, s, d))
	}
	slices.SortFunc(refs, func(a, b cas.SizedRef) int { return cmpRef(a.Ref, b.Ref) })
	all := make([]cas.Ref, len(refs))
	for i, r := range refs {
		all[i] = r.Ref
	}
	idx := func(data []byte) int { return slices.Index(all, cas.Sum(data)) }
	i4 := idx(a4)
	if j := idx(b4); j < i4 {
		i4 = j
	}
	shard4 := cas.MustParse(all[i4].String()[:4] + strings.Repeat("0", 60))
	last := len(all) - 1

	tests := []struct {
		name  string
		after cas.Ref
	}{
		{"zero", cas.Ref{}},
		{"first", all[0]},
		{"just below first", addToRef(all[0], -1)},
		{"middle", all[7]},
		{"between", addToRef(all[7], 1)},
		{"just below next", addToRef(all[8], -1)},
		{"inside shard, exact", all[i4]},
		{"inside shard, between", addToRef(all[i4], 1)},
		{"shard start", shard4},
		{"last", all[last]},
		{"just below last", addToRef(all[last], -1)},
		{"past the end", cas.MustParse(strings.Repeat("f", 64))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []cas.Ref
			for _, r := range all {
				if tt.after.Less(r) {
					want = append(want, r)
				}
			}
			got := walk(t, s, tt.after)
			if !slices.Equal(refsOf(got), want) {
				t.Errorf("Walk(after %s) listed %d blobs, want %d (or wrong order)", tt.after, len(got), len(want))
			}
		})
	}
	// Every store here knows when a blob was written: gc's grace period
	// depends on it (a zero time would spare an orphan forever).
	for i, b := range walk(t, s, cas.Ref{}) {
		if b.SizedRef != refs[i] {
			t.Errorf("Walk entry %d = %s, want %s", i, b.SizedRef, refs[i])
		}
		if age := time.Since(b.ModTime); age < -time.Minute || age > time.Hour {
			t.Errorf("Walk entry %d written at %v, %v ago; want about now", i, b.ModTime, age)
		}
	}
}

func testWalkStops(t *testing.T, s cas.Store) {
	for i := range 6 {
		put(t, s, []byte{byte(i)})
	}
	stop := errors.New("stop")
	calls := 0
	err := s.Walk(context.Background(), cas.Ref{}, func(cas.BlobInfo) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Errorf("Walk error = %v, want fn's error", err)
	}
	if calls != 3 {
		t.Errorf("fn called %d times, want 3", calls)
	}
}

func testWalkCancelled(t *testing.T, s cas.Store) {
	for i := range 3 {
		put(t, s, []byte{byte(i)})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := 0
	err := s.Walk(ctx, cas.Ref{}, func(cas.BlobInfo) error { calls++; return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Walk with cancelled context = %v, want context.Canceled", err)
	}
	if calls != 0 {
		t.Errorf("fn called %d times on a cancelled walk", calls)
	}
}

func testVerify(t *testing.T, s cas.Store, corrupt func(cas.Store, cas.Ref) error) {
	var refs []cas.Ref
	for i := range 5 {
		refs = append(refs, put(t, s, genBytes(uint64(400+i), 1000*i+1)).Ref)
	}
	run := func() map[cas.Ref]error {
		t.Helper()
		got := map[cas.Ref]error{}
		if err := cas.Verify(context.Background(), s, cas.Ref{}, func(b cas.BlobInfo, err error) error {
			got[b.Ref] = err
			return nil
		}); err != nil {
			t.Fatalf("Verify: %v", err)
		}
		return got
	}
	healthy := run()
	if len(healthy) != len(refs) {
		t.Fatalf("Verify reported %d blobs, want %d", len(healthy), len(refs))
	}
	for ref, err := range healthy {
		if err != nil {
			t.Errorf("healthy blob %s reported %v", ref, err)
		}
	}
	if corrupt == nil {
		return
	}
	bad := refs[2]
	if err := corrupt(s, bad); err != nil {
		t.Fatalf("corrupting %s: %v", bad, err)
	}
	got := run()
	for _, ref := range refs {
		if ref == bad {
			if !errors.Is(got[ref], cas.ErrCorrupt) {
				t.Errorf("corrupted blob reported %v, want ErrCorrupt", got[ref])
			}
		} else if got[ref] != nil {
			t.Errorf("healthy blob %s reported %v", ref, got[ref])
		}
	}
}
