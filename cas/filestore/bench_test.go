package filestore

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
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
