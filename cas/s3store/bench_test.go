package s3store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"dewar/cas"
)

// BenchmarkUpstream compares the store with the SDK's own PutObject and
// GetObject of the same 64 MiB against a Dewar upstream (`dewar serve`,
// ordinary bucket, plain HTTP on 127.0.0.1). The store's Put also spools
// to a temp file and hashes; the SDK's PutObject hashes for its signature
// and CRC32 instead. Run with
//
//	go test -run '^$' -bench Upstream -benchtime 5x ./cas/s3store/
func BenchmarkUpstream(b *testing.B) {
	const size = 64 << 20
	endpoint, direct := dewarUpstream(b)
	data := pattern(1, size)
	ctx := context.Background()

	var seq uint64
	distinct := func() []byte { // new bytes for every upload
		seq++
		binary.LittleEndian.PutUint64(data, seq)
		return data
	}
	for _, part := range []int64{DefaultPartSize, 16 << 20} {
		b.Run(fmt.Sprintf("Put/s3store/part=%dMiB", part>>20), func(b *testing.B) {
			s := openStore(b, endpoint, "bench", Options{TempDir: b.TempDir(), PartSize: part})
			b.SetBytes(size)
			for b.Loop() {
				if _, created, err := s.Put(ctx, bytes.NewReader(distinct()), cas.StageOptions{}); err != nil || !created {
					b.Fatalf("Put = %v, %v", created, err)
				}
			}
		})
	}
	b.Run("Put/sdk", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			if _, err := direct.PutObject(ctx, &s3.PutObjectInput{
				Bucket: aws.String(testBucket), Key: aws.String(fmt.Sprintf("direct/%d", seq)),
				Body: bytes.NewReader(distinct()),
			}); err != nil {
				b.Fatal(err)
			}
		}
	})

	s := openStore(b, endpoint, "bench", Options{TempDir: b.TempDir()})
	ref, _, err := s.Put(ctx, bytes.NewReader(data), cas.StageOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("PutExisting/s3store", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			if _, created, err := s.Put(ctx, bytes.NewReader(data), cas.StageOptions{}); err != nil || created {
				b.Fatalf("Put = %v, %v", created, err)
			}
		}
	})
	b.Run("Fetch/s3store", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			rc, err := s.Fetch(ctx, ref.Ref, 0, -1)
			if err != nil {
				b.Fatal(err)
			}
			if n, err := io.Copy(io.Discard, rc); err != nil || n != size {
				b.Fatalf("read %d, %v", n, err)
			}
			rc.Close()
		}
	})
	b.Run("Fetch/sdk", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			out, err := direct.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String(s.key(ref.Ref))})
			if err != nil {
				b.Fatal(err)
			}
			if n, err := io.Copy(io.Discard, out.Body); err != nil || n != size {
				b.Fatalf("read %d, %v", n, err)
			}
			out.Body.Close()
		}
	})
}
