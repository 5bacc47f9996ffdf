package filestore

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"sync"
	"testing"

	"dewar/cas"
)

// BenchmarkPut measures Put of new blobs: hashing, the temp file, fsync,
// link and the directory fsync. Each iteration writes distinct bytes.
func BenchmarkPut(b *testing.B) {
	for _, size := range []int{4 << 10, 1 << 20, 64 << 20} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			s := must(Open(b.TempDir(), Options{}))
			data := make([]byte, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			var i uint64
			for b.Loop() {
				i++
				binary.LittleEndian.PutUint64(data, i)
				if _, _, err := s.Put(context.Background(), bytes.NewReader(data), cas.StageOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPutExisting measures the dedup path: the bytes are already
// stored, so Commit is a stat.
func BenchmarkPutExisting(b *testing.B) {
	s := must(Open(b.TempDir(), Options{}))
	data := make([]byte, 4<<10)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, _, err := s.Put(context.Background(), bytes.NewReader(data), cas.StageOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFetch reads a whole blob through the Fetch reader.
func BenchmarkFetch(b *testing.B) {
	for _, size := range []int{4 << 10, 1 << 20, 64 << 20} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			s := must(Open(b.TempDir(), Options{}))
			ref, _, err := s.Put(context.Background(), bytes.NewReader(make([]byte, size)), cas.StageOptions{})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				rc, err := s.Fetch(context.Background(), ref.Ref, 0, -1)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, rc); err != nil {
					b.Fatal(err)
				}
				rc.Close()
			}
		})
	}
}

// benchText is 64 MiB of generated kit-like text (PHP, JS, HTML, CSS and
// some base64), made once.
var benchText = sync.OnceValue(func() []byte { return textBytes(42, 64<<20) })

// benchStores are the settings compared: the default (raw), and zstd at
// the fastest and the default level.
var benchStores = []struct {
	name string
	opts Options
}{
	{"raw", Options{}},
	{"zstd1", Options{Compress: true, Level: 1}},
	{"zstd3", Options{Compress: true}},
}

// BenchmarkCompressPut measures Put of new blobs of kit-like text (a
// typical 32 KiB source file and a 64 MiB archive-sized blob) and of
// incompressible bytes, where compression is tried and dropped. The
// ratio metric is original/stored bytes.
func BenchmarkCompressPut(b *testing.B) {
	for _, st := range benchStores {
		for _, c := range []struct {
			name string
			data func() []byte
		}{
			{"text32KiB", func() []byte { return bytes.Clone(benchText()[:32<<10]) }},
			{"text64MiB", func() []byte { return bytes.Clone(benchText()) }},
			{"random64MiB", func() []byte { return genRandom(1, 64<<20) }},
		} {
			b.Run(st.name+"/"+c.name, func(b *testing.B) {
				s := must(Open(b.TempDir(), st.opts))
				data := c.data()
				b.SetBytes(int64(len(data)))
				var i uint64
				var logical, stored int64
				for b.Loop() {
					i++
					binary.LittleEndian.PutUint64(data, i) // new bytes each time
					ref, _, err := s.Put(context.Background(), bytes.NewReader(data), cas.StageOptions{})
					if err != nil {
						b.Fatal(err)
					}
					info, err := s.Stat(context.Background(), ref.Ref)
					if err != nil {
						b.Fatal(err)
					}
					logical += info.Size
					stored += info.StoredSize
				}
				b.ReportMetric(float64(logical)/float64(stored), "ratio")
			})
		}
	}
}

// BenchmarkCompressFetch measures reading a 64 MiB blob of kit-like text
// whole (io.Copy, so through WriteTo as a GET does) and in 64 KiB ranges
// at deterministic scattered offsets (each decodes one or two frames).
func BenchmarkCompressFetch(b *testing.B) {
	for _, st := range benchStores {
		s := must(Open(b.TempDir(), st.opts))
		data := benchText()
		ref, _, err := s.Put(context.Background(), bytes.NewReader(data), cas.StageOptions{})
		if err != nil {
			b.Fatal(err)
		}
		read := func(b *testing.B, off, n int64) {
			rc, err := s.Fetch(context.Background(), ref.Ref, off, n)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, rc); err != nil {
				b.Fatal(err)
			}
			rc.Close()
		}
		b.Run(st.name+"/full64MiB", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				read(b, 0, -1)
			}
		})
		b.Run(st.name+"/range64KiB", func(b *testing.B) {
			const n = 64 << 10
			b.SetBytes(n)
			var off int64
			for b.Loop() {
				off = (off + 7_654_321) % (int64(len(data)) - n)
				read(b, off, n)
			}
		})
	}
}
