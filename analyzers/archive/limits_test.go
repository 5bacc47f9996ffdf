package archive_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"dewar/analyzers/archive"
	"dewar/analyzers/archive/archivetest"
)

func mustTar(t *testing.T, fs []archivetest.File) []byte {
	t.Helper()
	b, err := archivetest.Tar(fs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func nFiles(n, size int) []archivetest.File {
	fs := make([]archivetest.File, n)
	for i := range fs {
		fs[i] = archivetest.File{Name: fmt.Sprintf("f%03d.txt", i), Body: bytes.Repeat([]byte{'a' + byte(i%26)}, size)}
	}
	return fs
}

// TestLimits crosses each limit with a small archive and checks the typed
// error, and that nothing past the limit was delivered.
func TestLimits(t *testing.T) {
	big := archivetest.Zip(nFiles(1, 3<<20), archivetest.Deflate)
	inner := archivetest.Zip(nFiles(3, 10), archivetest.Deflate)
	nested := archivetest.Zip([]archivetest.File{{Name: "inner.zip", Body: inner}}, archivetest.Store)
	for _, c := range []struct {
		name      string
		data      []byte
		lim       archive.Limits
		spool     int64
		limit     string
		maxEntry  int // entries delivered at most
		isWarning bool
	}{
		{"entries", mustTar(t, nFiles(10, 10)), archive.Limits{MaxEntries: 5}, 0, archive.LimitEntries, 5, false},
		{"entries-zip-directory", archivetest.Zip(nFiles(10, 10), archivetest.Deflate), archive.Limits{MaxEntries: 5}, 0, archive.LimitEntries, 0, false},
		{"entry-size", mustTar(t, nFiles(3, 1000)), archive.Limits{MaxEntrySize: 999}, 0, archive.LimitEntrySize, 1, false},
		{"total-bytes", mustTar(t, nFiles(10, 1000)), archive.Limits{MaxTotalBytes: 2500}, 0, archive.LimitTotalBytes, 3, false},
		{"ratio", big, archive.Limits{MaxRatio: 2}, 0, archive.LimitRatio, 1, false},
		{"path-length", mustTar(t, []archivetest.File{{Name: "short"}, {Name: "a-rather-long-name.txt"}}), archive.Limits{MaxPathLen: 10}, 0, archive.LimitPathLen, 1, false},
		{"spool", nested, archive.Limits{}, 100, archive.LimitSpool, 1, false},
		{"depth", nested, archive.Limits{MaxDepth: -1}, 0, archive.LimitDepth, 1, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := 0
			res, err := archive.Walk(context.Background(), bytes.NewReader(c.data), int64(len(c.data)),
				archive.Options{Limits: c.lim, MaxSpool: c.spool, TempDir: t.TempDir()},
				func(e archive.Entry, body io.Reader) error {
					n++
					if body != nil {
						_, err := io.Copy(io.Discard, body)
						return err
					}
					return nil
				})
			target := err
			if c.isWarning {
				if err != nil || len(res.Warnings) != 1 {
					t.Fatalf("want one warning, got err=%v warnings=%v", err, res.Warnings)
				}
				target = res.Warnings[0]
			}
			var le *archive.LimitError
			if !errors.As(target, &le) || le.Limit != c.limit {
				t.Fatalf("want LimitError %s, got %v", c.limit, target)
			}
			if le.Value <= le.Max && c.limit != archive.LimitDepth {
				t.Errorf("LimitError value %d not above max %d", le.Value, le.Max)
			}
			if n > c.maxEntry {
				t.Errorf("%d entries delivered, at most %d expected", n, c.maxEntry)
			}
		})
	}
}

// TestBzip2BombStopsStreaming: a 2 GiB bzip2 bomb must stop right after the
// configured number of bytes, with the ratio check off, not after
// decompressing it all, and without the heap growing.
func TestBzip2BombStopsStreaming(t *testing.T) {
	bomb := archivetest.Bzip2Bomb(2 << 30)
	for _, c := range []struct {
		lim   archive.Limits
		limit string
		max   int64
	}{
		{archive.Limits{MaxRatio: -1, MaxTotalBytes: -1, MaxEntrySize: 40 << 20}, archive.LimitEntrySize, 40 << 20},
		{archive.Limits{MaxRatio: -1, MaxTotalBytes: 48 << 20, MaxEntrySize: -1}, archive.LimitTotalBytes, 48 << 20},
	} {
		t.Run(c.limit, func(t *testing.T) {
			before := heapInuse()
			var got int64
			_, err := archive.Walk(context.Background(), bytes.NewReader(bomb), int64(len(bomb)),
				archive.Options{Limits: c.lim, Name: "zeros.bz2"},
				func(e archive.Entry, body io.Reader) error {
					n, err := io.Copy(io.Discard, body)
					got += n
					return err
				})
			var le *archive.LimitError
			if !errors.As(err, &le) || le.Limit != c.limit {
				t.Fatalf("want %s limit, got %v", c.limit, err)
			}
			if got > c.max+(1<<20) {
				t.Errorf("delivered %d bytes past a %d limit", got, c.max)
			}
			if grew := heapInuse() - before; grew > 64<<20 {
				t.Errorf("heap grew %d MiB", grew>>20)
			}
		})
	}
}

// TestLargeArchiveBoundedMemory walks a 1 GiB tar.gz (generated, about
// 1 MiB compressed) at the top level and a 256 MiB one nested in a zip, and
// samples the heap while streaming: it must not grow with the archive.
func TestLargeArchiveBoundedMemory(t *testing.T) {
	top := archivetest.LargeTarGz(1 << 30)
	nested := archivetest.Zip([]archivetest.File{{Name: "big.tar.gz", Body: archivetest.LargeTarGz(256 << 20)}}, archivetest.Store)
	for _, c := range []struct {
		name string
		data []byte
		want int64
	}{{"top", top, 1 << 30}, {"nested", nested, 256 << 20}} {
		t.Run(c.name, func(t *testing.T) {
			base := heapInuse()
			peak := base
			var big int64
			buf := make([]byte, 256<<10)
			_, err := archive.Walk(context.Background(), bytes.NewReader(c.data), int64(len(c.data)),
				archive.Options{Limits: archive.Limits{MaxRatio: -1, MaxTotalBytes: -1, MaxEntrySize: -1}, TempDir: t.TempDir()},
				func(e archive.Entry, body io.Reader) error {
					if e.Path != "big.bin" && e.Path != "big.tar.gz.contents/big.bin" {
						return nil
					}
					for {
						n, err := body.Read(buf)
						big += int64(n)
						if big%(128<<20) < int64(n) {
							peak = max(peak, heapInuse())
						}
						if err == io.EOF {
							return nil
						}
						if err != nil {
							return err
						}
					}
				})
			if err != nil {
				t.Fatal(err)
			}
			if big != c.want {
				t.Fatalf("read %d bytes, want %d", big, c.want)
			}
			if grew := peak - base; grew > 64<<20 {
				t.Errorf("heap grew %d MiB while streaming %d MiB", grew>>20, c.want>>20)
			}
		})
	}
}

// TestCancel: cancellation is honoured between entries and inside a body.
func TestCancel(t *testing.T) {
	data := mustTar(t, nFiles(5, 100<<10))
	for _, within := range []bool{false, true} {
		ctx, cancel := context.WithCancel(context.Background())
		n := 0
		_, err := archive.Walk(ctx, bytes.NewReader(data), int64(len(data)), archive.Options{},
			func(e archive.Entry, body io.Reader) error {
				n++
				if within {
					body.Read(make([]byte, 10))
					cancel()
					_, err := io.Copy(io.Discard, body)
					return err
				}
				cancel()
				return nil
			})
		cancel()
		if !errors.Is(err, context.Canceled) || n != 1 {
			t.Errorf("within=%v: err=%v after %d entries, want context.Canceled after 1", within, err, n)
		}
	}
}

// TestFnErrorAndBodyLifetime: fn's own error is returned as is, and a body
// kept past fn fails.
func TestFnErrorAndBodyLifetime(t *testing.T) {
	data := mustTar(t, nFiles(3, 10))
	mine := errors.New("store is full")
	var kept io.Reader
	_, err := archive.Walk(context.Background(), bytes.NewReader(data), int64(len(data)), archive.Options{},
		func(e archive.Entry, body io.Reader) error {
			if kept == nil {
				kept = body
				return nil
			}
			return mine
		})
	if !errors.Is(err, mine) {
		t.Fatalf("got %v, want fn's error", err)
	}
	if _, err := kept.Read(make([]byte, 1)); err == nil {
		t.Fatal("body readable after fn returned")
	}
}

// TestNestedDamageWarns: a truncated archive inside a sound one is a warning
// and the outer walk goes on.
func TestNestedDamageWarns(t *testing.T) {
	inner := archivetest.Gzip(mustTar(t, nFiles(20, 5000)))
	outer := archivetest.Zip([]archivetest.File{
		{Name: "broken.tar.gz", Body: inner[:len(inner)/2]},
		{Name: "after.txt", Body: []byte("still here")},
	}, archivetest.Deflate)
	var paths []string
	res, err := archive.Walk(context.Background(), bytes.NewReader(outer), int64(len(outer)), archive.Options{TempDir: t.TempDir()},
		func(e archive.Entry, body io.Reader) error {
			paths = append(paths, e.Path)
			if body != nil {
				_, err := io.Copy(io.Discard, body)
				return err
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != 1 || !errors.Is(res.Warnings[0], archive.ErrCorrupt) {
		t.Fatalf("warnings %v, want one ErrCorrupt", res.Warnings)
	}
	if paths[0] != "broken.tar.gz" || paths[len(paths)-1] != "after.txt" || len(paths) < 3 {
		t.Fatalf("paths %v", paths)
	}
}

// TestTrailingJunkAfterTarGz: junk after a complete tar.gz warns, it does
// not fail the walk, and every entry is delivered.
func TestTrailingJunkAfterTarGz(t *testing.T) {
	data := append(archivetest.Gzip(mustTar(t, nFiles(3, 10))), make([]byte, 4096)...)
	n := 0
	res, err := archive.Walk(context.Background(), bytes.NewReader(data), int64(len(data)), archive.Options{},
		func(e archive.Entry, body io.Reader) error { n++; return nil })
	if err != nil || n != 3 || len(res.Warnings) != 1 || !errors.Is(res.Warnings[0], archive.ErrCorrupt) {
		t.Fatalf("err=%v entries=%d warnings=%v", err, n, res.Warnings)
	}
}
