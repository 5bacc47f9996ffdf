package filestore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/klauspost/compress/zstd"

	"dewar/cas"
	"dewar/cas/castest"
)

func newCompressing(t *testing.T, opts Options) *Store {
	t.Helper()
	opts.Compress = true
	s, err := Open(t.TempDir(), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// form reports how ref is stored: "raw", "zst", "both" or "none".
func form(t *testing.T, s *Store, ref cas.Ref) string {
	t.Helper()
	_, rerr := os.Stat(s.blobPath(ref))
	_, zerr := os.Stat(s.zstPath(ref))
	switch {
	case rerr == nil && zerr == nil:
		return "both"
	case rerr == nil:
		return "raw"
	case zerr == nil:
		return "zst"
	}
	return "none"
}

// corruptEither flips a byte of a blob in whichever form it is stored:
// the first byte of a raw one, the middle byte of a compressed one.
func corruptEither(s cas.Store, ref cas.Ref) error {
	st := s.(*Store)
	p := st.zstPath(ref)
	if _, err := os.Stat(p); err != nil {
		return corrupt(s, ref)
	}
	info, err := os.Stat(p)
	if err != nil {
		return err
	}
	return flipByte(p, info.Size()/2, 0x80)
}

// flipByte xors one byte of a read-only file.
func flipByte(p string, off int64, mask byte) error {
	if err := os.Chmod(p, 0o644); err != nil {
		return err
	}
	defer os.Chmod(p, 0o444)
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		return err
	}
	b[0] ^= mask
	_, err = f.WriteAt(b, off)
	return err
}

// TestConformanceCompressed runs the suite on a compressing store as
// configured in production. The suite's data is mostly random, so most
// of its blobs end up raw: this checks the two forms side by side.
func TestConformanceCompressed(t *testing.T) {
	castest.Run(t, func(t *testing.T) cas.Store {
		s := newCompressing(t, Options{})
		t.Cleanup(func() { assertTempEmpty(t, s) })
		return s
	}, castest.WithCorrupt(corruptEither))
}

// TestConformanceAlwaysCompressed runs the suite with every blob stored
// compressed, whatever it saves, in 4 KiB frames, so every contract is
// checked on the compressed form, across frame boundaries.
func TestConformanceAlwaysCompressed(t *testing.T) {
	castest.Run(t, func(t *testing.T) cas.Store {
		s := newCompressing(t, Options{})
		s.alwaysCompress = true
		s.frameSize = 4 << 10
		t.Cleanup(func() {
			assertTempEmpty(t, s)
			s.Walk(context.Background(), cas.Ref{}, func(b cas.BlobInfo) error {
				if f := form(t, s, b.Ref); f != "zst" {
					t.Errorf("blob %s stored %s, want zst", b.Ref, f)
				}
				return nil
			})
		})
		return s
	}, castest.WithCorrupt(corruptEither))
}

func TestOpenBadOptions(t *testing.T) {
	for _, o := range []Options{{Level: -1}, {Level: 23}, {MinSaving: -0.1}, {MinSaving: 1}} {
		if _, err := Open(t.TempDir(), o); !errors.Is(err, ErrBadOptions) {
			t.Errorf("Open(%+v) = %v, want ErrBadOptions", o, err)
		}
	}
	for _, o := range []Options{{Compress: true, Level: 1}, {Compress: true, Level: 22, MinSaving: 0.5}} {
		if _, err := Open(t.TempDir(), o); err != nil {
			t.Errorf("Open(%+v) = %v", o, err)
		}
	}
}

func TestCompressChoice(t *testing.T) {
	text := textBytes(1, 200<<10)
	tests := []struct {
		name string
		opts Options
		data []byte
		want string
	}{
		{"text", Options{Compress: true}, text, "zst"},
		{"text, fastest level", Options{Compress: true, Level: 1}, text, "zst"},
		{"text, best level", Options{Compress: true, Level: 19}, text, "zst"},
		{"random", Options{Compress: true}, genRandom(2, 200<<10), "raw"},
		{"text, compression off", Options{}, text, "raw"},
		{"text under 4 KiB", Options{Compress: true}, text[:4<<10-1], "raw"},
		{"text at 4 KiB", Options{Compress: true}, text[:4<<10], "zst"},
		{"text, saving below a 90% minimum", Options{Compress: true, MinSaving: 0.9}, text, "raw"},
		{"mostly random: saves under 10%", Options{Compress: true}, append(genRandom(3, 190<<10), text[:10<<10]...), "raw"},
		{"text of several frames", Options{Compress: true}, textBytes(4, 3<<20+5), "zst"},
		{"empty", Options{Compress: true}, nil, "raw"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(t.TempDir(), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			ref, created, err := s.Put(context.Background(), bytes.NewReader(tt.data), cas.StageOptions{})
			if err != nil || !created {
				t.Fatalf("Put = %v, %v", created, err)
			}
			if got := form(t, s, ref.Ref); got != tt.want {
				t.Fatalf("stored %s, want %s", got, tt.want)
			}
			info, err := s.Stat(context.Background(), ref.Ref)
			if err != nil {
				t.Fatal(err)
			}
			if info.Size != int64(len(tt.data)) {
				t.Errorf("Stat Size = %d, want %d", info.Size, len(tt.data))
			}
			p := s.blobPath(ref.Ref)
			if tt.want == "zst" {
				p = s.zstPath(ref.Ref)
				if float64(info.StoredSize) >= 0.9*float64(info.Size) {
					t.Errorf("compressed: StoredSize %d is not under 90%% of Size %d", info.StoredSize, info.Size)
				}
			}
			if fi, err := os.Stat(p); err != nil || fi.Size() != info.StoredSize || fi.Mode() != 0o444 {
				t.Errorf("file %s: %v; StoredSize %d; want its size and mode 0444", p, err, info.StoredSize)
			}
			var walked []cas.BlobInfo
			s.Walk(context.Background(), cas.Ref{}, func(b cas.BlobInfo) error { walked = append(walked, b); return nil })
			if len(walked) != 1 || walked[0] != info {
				t.Errorf("Walk = %+v, want [%+v] as Stat says", walked, info)
			}
			if got := fetchAll(t, s, ref.Ref, 0, -1); !bytes.Equal(got, tt.data) {
				t.Errorf("Fetch returned %d bytes that differ from the %d put", len(got), len(tt.data))
			}
			assertTempEmpty(t, s)
		})
	}
}

// genRandom returns n incompressible bytes.
func genRandom(seed uint64, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		seed = seed*6364136223846793005 + 1442695040888963407
		b[i] = byte(seed >> 56)
	}
	return b
}

func fetchAll(t *testing.T, s *Store, ref cas.Ref, off, n int64) []byte {
	t.Helper()
	rc, err := s.Fetch(context.Background(), ref, off, n)
	if err != nil {
		t.Fatalf("Fetch(%d, %d): %v", off, n, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading Fetch(%d, %d): %v", off, n, err)
	}
	return b
}

func TestCompressedRanges(t *testing.T) {
	const M = 1 << 20
	s := newCompressing(t, Options{})
	data := textBytes(5, 4*M+12345)
	ref, _, err := s.Put(context.Background(), bytes.NewReader(data), cas.StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if f := form(t, s, ref.Ref); f != "zst" {
		t.Fatalf("stored %s, want zst", f)
	}
	size := int64(len(data))
	tests := []struct {
		name   string
		off, n int64
		frames int // frames a full read of the range decodes
	}{
		{"all", 0, -1, 5},
		{"first byte", 0, 1, 1},
		{"first frame", 0, M, 1},
		{"last byte of first frame", M - 1, 1, 1},
		{"across the first boundary", M - 1, 2, 2},
		{"first byte of second frame", M, 1, 1},
		{"second byte of second frame", M + 1, 10, 1},
		{"second frame exactly", M, M, 1},
		{"across three frames", M - 1, 2*M + 2, 4},
		{"from a boundary to the end", 3 * M, -1, 2},
		{"last frame only", 4 * M, -1, 1},
		{"last byte", size - 1, 1, 1},
		{"last byte, length past end", size - 1, 100, 1},
		{"middle of a frame to the end", 2*M + 777, -1, 3},
		{"past the end", size, -1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, err := s.Fetch(context.Background(), ref.Ref, tt.off, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			got, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			end := size
			if tt.n >= 0 && tt.off+tt.n < end {
				end = tt.off + tt.n
			}
			want := data[min(tt.off, size):end]
			if !bytes.Equal(got, want) {
				t.Fatalf("got %d bytes, want %d (or content differs)", len(got), len(want))
			}
			if z, ok := rc.(*zstReader); ok && z.decoded != tt.frames {
				t.Errorf("decoded %d frames, want %d", z.decoded, tt.frames)
			} else if !ok && tt.frames != 0 {
				t.Errorf("reader is %T", rc)
			}
		})
	}
}

// TestCompressedReader: the compressed blob's reader offers what the raw
// one does (ReadAt, Seek, WriteTo within the range), for ingestion's
// random access and for GET.
func TestCompressedReader(t *testing.T) {
	const M = 1 << 20
	s := newCompressing(t, Options{})
	data := textBytes(6, 3*M)
	ref, _, err := s.Put(context.Background(), bytes.NewReader(data), cas.StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const off, n = M / 2, 2 * M
	rc, err := s.Fetch(context.Background(), ref.Ref, off, n)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	ra, ok1 := rc.(io.ReaderAt)
	sk, ok2 := rc.(io.Seeker)
	wt, ok3 := rc.(io.WriterTo)
	if !ok1 || !ok2 || !ok3 {
		t.Fatalf("reader %T lacks ReaderAt, Seeker or WriterTo", rc)
	}
	want := data[off : off+n]
	for _, r := range [][2]int{{0, 10}, {M/2 - 3, 6}, {n - 5, 5}, {100, M + 200}} {
		p := make([]byte, r[1])
		if m, err := ra.ReadAt(p, int64(r[0])); m != r[1] || err != nil || !bytes.Equal(p, want[r[0]:r[0]+r[1]]) {
			t.Errorf("ReadAt(%d, %d) = %d, %v (or content differs)", r[0], r[1], m, err)
		}
	}
	p := make([]byte, 20)
	if m, err := ra.ReadAt(p, n-10); m != 10 || err != io.EOF || !bytes.Equal(p[:10], want[n-10:]) {
		t.Errorf("ReadAt across the end = %d, %v; want 10, io.EOF", m, err)
	}
	if _, err := sk.Seek(M, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 100)
	if _, err := io.ReadFull(rc, head); err != nil || !bytes.Equal(head, want[M:M+100]) {
		t.Fatalf("Read after Seek: %v", err)
	}
	var rest bytes.Buffer
	if m, err := wt.WriteTo(&rest); err != nil || m != n-M-100 || !bytes.Equal(rest.Bytes(), want[M+100:]) {
		t.Fatalf("WriteTo = %d, %v", m, err)
	}
	if m, err := rc.Read(p); m != 0 || err != io.EOF {
		t.Errorf("Read after WriteTo = %d, %v; want EOF", m, err)
	}
	if pos, err := sk.Seek(-10, io.SeekEnd); pos != n-10 || err != nil {
		t.Errorf("Seek(-10, End) = %d, %v", pos, err)
	}
	if _, err := sk.Seek(-1, io.SeekStart); err == nil {
		t.Error("Seek before the start succeeded")
	}
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Read(p); err == nil {
		t.Error("Read after Close succeeded")
	}
}

// TestCompressedCorruptEveryByte flips every byte of a small compressed
// blob in turn: each read then fails with cas.ErrCorrupt or (for a bit no
// decoder reads) returns the original bytes; never other bytes. Verify
// reports every damage that reads do.
func TestCompressedCorruptEveryByte(t *testing.T) {
	s := newCompressing(t, Options{})
	s.frameSize = 1 << 10
	data := textBytes(7, 5000) // 5 frames
	ref, _, err := s.Put(context.Background(), bytes.NewReader(data), cas.StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := s.zstPath(ref.Ref)
	pristine, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("not stored compressed: %v", err)
	}
	read := func() ([]byte, error) {
		rc, err := s.Fetch(context.Background(), ref.Ref, 0, -1)
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		return io.ReadAll(rc)
	}
	detected, flips := 0, 0
	for off := int64(0); off < int64(len(pristine)); off += flipStride {
		for _, mask := range []byte{0x01, 0x80} {
			flips++
			if err := flipByte(p, off, mask); err != nil {
				t.Fatal(err)
			}
			got, err := read()
			var verr error
			cas.Verify(context.Background(), s, cas.Ref{}, func(_ cas.BlobInfo, err error) error { verr = err; return nil })
			switch {
			case err != nil && !errors.Is(err, cas.ErrCorrupt):
				t.Errorf("byte %d ^ %#x: read error %v, want ErrCorrupt", off, mask, err)
			case err == nil && !bytes.Equal(got, data):
				t.Errorf("byte %d ^ %#x: read returned %d wrong bytes and no error", off, mask, len(got))
			case err != nil:
				detected++
				if !errors.Is(verr, cas.ErrCorrupt) {
					t.Errorf("byte %d ^ %#x: Verify reported %v, want ErrCorrupt", off, mask, verr)
				}
			}
			if err := flipByte(p, off, mask); err != nil { // restore
				t.Fatal(err)
			}
		}
	}
	if detected < flips*9/10 {
		t.Errorf("only %d of %d flips detected", detected, flips)
	}
	t.Logf("%d of %d single-byte flips detected, the rest read back intact", detected, flips)
	if got, err := read(); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("restored blob reads %v", err)
	}
}

// TestMixedStore: compressed and raw blobs, and one left in both forms
// (a crash between linking one and clearing the other), walk in order,
// once each, and read the same under any setting.
func TestMixedStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := must(Open(dir, Options{Compress: true}))
	var refs []cas.SizedRef
	for i := range 30 {
		data := textBytes(uint64(100+i), 5000+i*1000)
		if i%3 == 0 {
			data = genRandom(uint64(i), 5000+i*1000)
		}
		ref, _, err := s.Put(ctx, bytes.NewReader(data), cas.StageOptions{})
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, ref)
	}
	// A blob in both forms.
	both := textBytes(99, 50000)
	bref, _, err := s.Put(ctx, bytes.NewReader(both), cas.StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.blobPath(bref.Ref), both, 0o444); err != nil {
		t.Fatal(err)
	}
	refs = append(refs, bref)
	slices.SortFunc(refs, func(a, b cas.SizedRef) int { return strings.Compare(a.Ref.String(), b.Ref.String()) })
	forms := map[string]int{}
	for _, r := range refs {
		forms[form(t, s, r.Ref)]++
	}
	if forms["zst"] < 10 || forms["raw"] < 5 || forms["both"] != 1 {
		t.Fatalf("forms = %v, want a mix", forms)
	}

	// Under the other setting too: blobs do not depend on it.
	for _, st := range []*Store{s, must(Open(dir, Options{}))} {
		for i, after := range []cas.Ref{{}, refs[4].Ref, refs[len(refs)-1].Ref} {
			var got []cas.SizedRef
			st.Walk(ctx, after, func(b cas.BlobInfo) error { got = append(got, b.SizedRef); return nil })
			want := refs[[]int{0, 5, len(refs)}[i]:]
			if !slices.Equal(got, want) {
				t.Errorf("Walk(after %d) = %d blobs, want %d in order, once each", i, len(got), len(want))
			}
		}
		if got := fetchAll(t, st, bref.Ref, 0, -1); !bytes.Equal(got, both) {
			t.Error("blob in both forms reads wrong")
		}
		for _, r := range refs {
			if got := cas.Sum(fetchAll(t, st, r.Ref, 0, -1)); got != r.Ref {
				t.Errorf("%s reads back as %s", r.Ref, got)
			}
		}
	}
	if err := s.Remove(ctx, bref.Ref); err != nil {
		t.Fatal(err)
	}
	if f := form(t, s, bref.Ref); f != "none" {
		t.Errorf("after Remove the blob is stored %s", f)
	}
}

// TestMixedSettingsRace: two processes with different settings put the
// same bytes at once. Whatever the interleaving, one form remains and
// reads back intact.
func TestMixedSettingsRace(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	stores := []*Store{must(Open(dir, Options{Compress: true})), must(Open(dir, Options{}))}
	for i := range 40 {
		data := textBytes(uint64(500+i), 20000)
		ref := cas.Sum(data)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for _, s := range stores {
			wg.Go(func() {
				st, err := s.Stage(ctx, bytes.NewReader(data), cas.StageOptions{})
				if err != nil {
					t.Error(err)
					return
				}
				defer st.Discard()
				<-start
				if _, err := st.Commit(ctx); err != nil {
					t.Error(err)
				}
			})
		}
		close(start)
		wg.Wait()
		if f := form(t, stores[0], ref); f != "raw" && f != "zst" {
			t.Fatalf("round %d: stored %s, want one form", i, f)
		}
		if got := fetchAll(t, stores[0], ref, 0, -1); !bytes.Equal(got, data) {
			t.Fatalf("round %d: blob reads wrong", i)
		}
		if err := stores[1].Remove(ctx, ref); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCompressedLifecycle(t *testing.T) {
	ctx := context.Background()
	s := newCompressing(t, Options{})
	s.namedTemps = true // counts temp files by name
	data := textBytes(8, 100000)
	st, err := s.Stage(ctx, bytes.NewReader(data), cas.StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(tempNames(t, s)); n != 2 {
		t.Fatalf("%d temp files while staged, want 2 (raw for ReadAt, compressed)", n)
	}
	p := make([]byte, 1000)
	if _, err := st.ReadAt(p, 50000); err != nil || !bytes.Equal(p, data[50000:51000]) {
		t.Fatalf("ReadAt: %v", err)
	}
	for i, want := range []bool{true, false} {
		if created, err := st.Commit(ctx); err != nil || created != want {
			t.Fatalf("Commit #%d = %v, %v; want %v", i+1, created, err, want)
		}
	}
	if f := form(t, s, st.Ref().Ref); f != "zst" {
		t.Fatalf("stored %s", f)
	}
	if err := s.Remove(ctx, st.Ref().Ref); err != nil {
		t.Fatal(err)
	}
	if created, err := st.Commit(ctx); err != nil || !created {
		t.Fatalf("Commit after Remove = %v, %v", created, err)
	}
	if err := st.Discard(); err != nil {
		t.Fatal(err)
	}
	assertTempEmpty(t, s)
	if got := fetchAll(t, s, st.Ref().Ref, 0, -1); !bytes.Equal(got, data) {
		t.Error("blob reads wrong after Discard")
	}
}

func TestCompressedDurabilityProtocol(t *testing.T) {
	s := newCompressing(t, Options{})
	s.group = nil // the single-commit protocol; group commits have their own test
	data := textBytes(9, 50000)
	ref := cas.Sum(data)
	var log syncLog
	log.install(s, s.zstPath(ref))
	if _, _, err := s.Put(context.Background(), bytes.NewReader(data), cas.StageOptions{}); err != nil {
		t.Fatal(err)
	}
	h := ref.String()
	want := []string{
		"file tmp unlinked",
		"dir blobs unlinked",
		"dir blobs/" + h[:3] + " linked",
	}
	if got := log.take(); !slices.Equal(got, want) {
		t.Errorf("syncs = %q, want %q", got, want)
	}
	if err := s.Remove(context.Background(), ref); err != nil {
		t.Fatal(err)
	}
	if got := log.take(); !slices.Equal(got, []string{"dir blobs/" + h[:3] + " unlinked"}) {
		t.Errorf("Remove syncs = %q", got)
	}
}

func TestBatchCompressed(t *testing.T) {
	ctx := context.Background()
	s := newCompressing(t, Options{})
	b := s.NewBatch()
	var want [][]byte
	for i := range 12 {
		data := textBytes(uint64(600+i%6), 30000) // each twice
		if i%4 == 0 {
			data = genRandom(uint64(i), 30000)
		}
		if _, err := b.Add(ctx, bytes.NewReader(data), cas.StageOptions{}); err != nil {
			t.Fatal(err)
		}
		want = append(want, data)
	}
	// Only what will be linked is kept: one file per distinct new blob.
	if n := len(tempNames(t, s)); n != 9 {
		t.Errorf("%d temp files before Commit, want 9", n)
	}
	if err := b.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	forms := map[string]int{}
	for _, data := range want {
		ref := cas.Sum(data)
		forms[form(t, s, ref)]++
		if got := fetchAll(t, s, ref, 0, -1); !bytes.Equal(got, data) {
			t.Errorf("%s reads wrong", ref)
		}
	}
	if forms["zst"] != 9 || forms["raw"] != 3 {
		t.Errorf("forms = %v, want 9 zst and 3 raw", forms)
	}
	assertTempEmpty(t, s)
}

// TestCompressedIsZstd: a compressed blob is a plain zstd stream for any
// decoder (`zstd -d` included), the header and index being skippable.
func TestCompressedIsZstd(t *testing.T) {
	s := newCompressing(t, Options{})
	data := textBytes(10, 2<<20+3)
	ref, _, err := s.Put(context.Background(), bytes.NewReader(data), cas.StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(s.zstPath(ref.Ref))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := zstd.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if got, err := io.ReadAll(d); err != nil || !bytes.Equal(got, data) {
		t.Errorf("zstd stream decode: %v (equal %v)", err, bytes.Equal(got, data))
	}
}

// TestCompressedMemoryBounded: putting and reading a large compressible
// blob holds a few frames' worth of memory, not the blob.
func TestCompressedMemoryBounded(t *testing.T) {
	ctx := context.Background()
	s := newCompressing(t, Options{})
	size := int64(bigBlob)
	// A fast generator: textReader's fmt calls would dominate the run.
	src := repeatText(size)
	var peak uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	go func() {
		defer close(done)
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
		}
	}()
	ref, _, err := s.Put(ctx, src, cas.StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Stat(ctx, ref.Ref)
	if err != nil || info.Size != size || info.StoredSize > size/2 {
		t.Fatalf("Stat = %+v, %v", info, err)
	}
	for _, r := range [][2]int64{{0, -1}, {size / 3, size / 3}} {
		rc, err := s.Fetch(ctx, ref.Ref, r[0], r[1])
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil || n != size-r[0] && r[1] < 0 {
			t.Fatalf("Fetch(%d, %d) read %d, %v", r[0], r[1], n, err)
		}
	}
	close(stop)
	<-done
	grew := int64(peak) - int64(base)
	t.Logf("%d MiB blob stored in %d MiB; heap in use grew by at most %.1f MiB", size>>20, info.StoredSize>>20, float64(grew)/(1<<20))
	if grew > 32<<20 {
		t.Errorf("heap in use grew by %d MiB for a %d MiB blob", grew>>20, size>>20)
	}
}

// repeatText streams n bytes cycling through 4 MiB of generated text,
// with each 1 MiB stamped so frames differ.
func repeatText(n int64) io.Reader {
	src := textBytes(11, 4<<20)
	return io.LimitReader(&cycler{src: src}, n)
}

type cycler struct {
	src []byte
	pos int64
}

func (c *cycler) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		i := int(c.pos % int64(len(c.src)))
		m := copy(p[n:], c.src[i:])
		if c.pos%(1<<20) == 0 && m >= 16 {
			copy(p[n:], fmt.Sprintf("%016x", c.pos))
		}
		// Keep stamps on frame boundaries: stop at the next MiB.
		if lim := int((1 << 20) - c.pos%(1<<20)); m > lim {
			m = lim
		}
		n += m
		c.pos += int64(m)
	}
	return n, nil
}

// peekReader calls at once, when n bytes have been read from r.
type peekReader struct {
	r  io.Reader
	n  int64
	at func()
}

func (p *peekReader) Read(b []byte) (int, error) {
	m, err := p.r.Read(b)
	if p.n > 0 && int64(m) >= p.n {
		p.at()
	}
	p.n -= int64(m)
	return m, err
}

// TestCompressGivesUp: an incompressible stream stops being compressed
// (its compressed temp file goes) after 4 MiB; one that turns
// incompressible later is compressed to the end and judged whole.
func TestCompressGivesUp(t *testing.T) {
	const M = 1 << 20
	text := textBytes(12, 8*M)
	random := genRandom(13, 8*M)
	tests := []struct {
		name      string
		data      []byte
		tempsAt6M int
		want      string
	}{
		{"random", random, 1, "raw"},
		{"text then random", append(bytes.Clone(text[:5*M]), random[:3*M]...), 2, "zst"},
		{"random then text", append(bytes.Clone(random[:5*M]), text[:3*M]...), 1, "raw"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newCompressing(t, Options{})
			s.namedTemps = true // counts temp files by name
			temps := -1
			r := &peekReader{r: iotest.HalfReader(bytes.NewReader(tt.data)), n: 6 * M, at: func() { temps = len(tempNames(t, s)) }}
			ref, _, err := s.Put(context.Background(), r, cas.StageOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if temps != tt.tempsAt6M {
				t.Errorf("%d temp files after 6 MiB, want %d", temps, tt.tempsAt6M)
			}
			if f := form(t, s, ref.Ref); f != tt.want {
				t.Errorf("stored %s, want %s", f, tt.want)
			}
			if got := fetchAll(t, s, ref.Ref, 0, -1); !bytes.Equal(got, tt.data) {
				t.Error("blob reads wrong")
			}
		})
	}
}
