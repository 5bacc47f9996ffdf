package castest

import (
	"bytes"
	"testing"

	"dewar/cas"
)

func testFetchRange(t *testing.T, s cas.Store) {
	data := genBytes(9, 1000)
	ref := put(t, s, data).Ref
	tests := []struct {
		name        string
		off, length int64
		want        []byte
	}{
		{"all", 0, -1, data},
		{"all exact", 0, 1000, data},
		{"start", 0, 10, data[:10]},
		{"middle", 100, 50, data[100:150]},
		{"end", 990, 10, data[990:]},
		{"to end", 990, -1, data[990:]},
		{"last byte", 999, 1, data[999:]},
		{"length past end", 990, 100, data[990:]},
		{"huge length", 0, 1 << 62, data},
		{"length zero", 5, 0, nil},
		{"length zero at start", 0, 0, nil},
		{"offset at size", 1000, -1, nil},
		{"offset at size with length", 1000, 10, nil},
		{"offset past size", 2000, -1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fetch(t, s, ref, tt.off, tt.length)
			if !bytes.Equal(got, tt.want) {
				t.Errorf("Fetch(%d, %d) returned %d bytes, want %d (or content differs)", tt.off, tt.length, len(got), len(tt.want))
			}
		})
	}
}

func testFetchRangeEmptyBlob(t *testing.T, s cas.Store) {
	ref := put(t, s, nil).Ref
	for _, r := range [][2]int64{{0, -1}, {0, 0}, {0, 10}, {1, -1}} {
		if got := fetch(t, s, ref, r[0], r[1]); len(got) != 0 {
			t.Errorf("Fetch(empty, %d, %d) returned %d bytes", r[0], r[1], len(got))
		}
	}
}
