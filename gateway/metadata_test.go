package gateway

import (
	"testing"

	"dewar/cas"
	"dewar/index"
)

// TestFileMetadataWithAnalysis: ssdeep and tlsh join the sample metadata
// only when computed.
func TestFileMetadataWithAnalysis(t *testing.T) {
	f := index.File{Ref: cas.Sum([]byte("x")), Size: 1, MD5: "m5"}
	tests := []struct {
		name        string
		a           index.Analysis
		ssdeep, tls string
	}{
		{"both", index.Analysis{SSDeep: "3:a:b", TLSH: "T1AB"}, "3:a:b", "T1AB"},
		{"no tlsh", index.Analysis{SSDeep: "3:a:b"}, "3:a:b", ""},
		{"not analysed", index.Analysis{}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := FileMetadataWithAnalysis(f, tt.a)
			base := FileMetadata(f)
			for k, v := range base {
				if md[k] != v {
					t.Errorf("%s = %q, want %q", k, md[k], v)
				}
			}
			want := len(base)
			for k, v := range map[string]string{"ssdeep": tt.ssdeep, "tlsh": tt.tls} {
				got, ok := md[k]
				if ok != (v != "") || got != v {
					t.Errorf("%s = %q (present %v), want %q", k, got, ok, v)
				}
				if v != "" {
					want++
				}
			}
			if len(md) != want {
				t.Errorf("%d entries, want %d: %v", len(md), want, md)
			}
		})
	}
}
