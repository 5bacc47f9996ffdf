package main

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"
)

// TestGenReaderSeekConsistent checks that a body reads the same bytes
// after any seek, which the SDK relies on (it hashes, rewinds, sends).
func TestGenReaderSeekConsistent(t *testing.T) {
	p := newPool(1 << 16)
	tests := []struct {
		name string
		r    *genReader
	}{
		{"window", p.body(40000)},
		{"stream over several pool blocks", p.stream(5*(1<<16) + 123)},
		{"shorter than the stamp", p.body(7)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			all, err := io.ReadAll(tt.r)
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(all)) != tt.r.Size() {
				t.Fatalf("read %d bytes, want %d", len(all), tt.r.Size())
			}
			for _, off := range []int64{0, 1, stampLen - 1, stampLen, 1<<16 - 1, 1 << 16, int64(len(all)) - 3} {
				if off < 0 || off >= int64(len(all)) {
					continue
				}
				if _, err := tt.r.Seek(off, io.SeekStart); err != nil {
					t.Fatal(err)
				}
				if tt.r.Len() != len(all)-int(off) {
					t.Fatalf("Len after seek to %d = %d, want %d", off, tt.r.Len(), len(all)-int(off))
				}
				buf := make([]byte, 777)
				n, _ := io.ReadFull(tt.r, buf)
				if !bytes.Equal(buf[:n], all[off:off+int64(n)]) {
					t.Fatalf("bytes after seek to %d differ", off)
				}
			}
		})
	}
}

// TestBodiesUnique checks that no two bodies are equal (dedup must not
// short-circuit) and that stream blocks are not verbatim repeats.
func TestBodiesUnique(t *testing.T) {
	p := newPool(1 << 16)
	a, _ := io.ReadAll(p.body(4096))
	b, _ := io.ReadAll(p.body(4096))
	if bytes.Equal(a, b) {
		t.Fatal("two bodies are equal")
	}
	s, _ := io.ReadAll(p.stream(3 << 16))
	blk := 1 << 16
	if bytes.Equal(s[stampLen:blk], s[blk+stampLen:2*blk]) {
		t.Fatal("stream repeats its first block verbatim")
	}
}

func TestPercentile(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	var hundred []time.Duration
	for i := 1; i <= 100; i++ {
		hundred = append(hundred, ms(i))
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		q      float64
		want   time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"one", []time.Duration{ms(3)}, 0.99, ms(3)},
		{"median of 100", hundred, 0.5, ms(50)},
		{"p99 of 100", hundred, 0.99, ms(99)},
	}
	for _, tt := range tests {
		if got := percentile(tt.sorted, tt.q); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestDescribePayload(t *testing.T) {
	tests := []struct {
		name string
		h    http.Header
		want string
	}{
		{"signed", http.Header{"X-Amz-Content-Sha256": {"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}},
			"signed payload (sha256 of the body, computed by the SDK before sending); no checksum header"},
		{"trailer", http.Header{"X-Amz-Content-Sha256": {"STREAMING-UNSIGNED-PAYLOAD-TRAILER"}, "X-Amz-Trailer": {"x-amz-checksum-crc32"}},
			"STREAMING-UNSIGNED-PAYLOAD-TRAILER; x-amz-trailer"},
		{"crc32 header", http.Header{"X-Amz-Content-Sha256": {"UNSIGNED-PAYLOAD"}, "X-Amz-Checksum-Crc32": {"AAAAAA=="}},
			"UNSIGNED-PAYLOAD; x-amz-checksum-crc32"},
	}
	for _, tt := range tests {
		if got := describePayload(tt.h); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}
