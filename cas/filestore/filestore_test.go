package filestore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"dewar/cas"
	"dewar/cas/castest"
)

func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// corrupt flips one byte of a blob on disk, behind the store's back.
func corrupt(s cas.Store, ref cas.Ref) error {
	p := s.(*Store).blobPath(ref)
	if err := os.Chmod(p, 0o644); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, 0); err != nil {
		return err
	}
	b[0] ^= 0x80
	if _, err := f.WriteAt(b, 0); err != nil {
		return err
	}
	return os.Chmod(p, 0o444)
}

func TestConformance(t *testing.T) {
	castest.Run(t, func(t *testing.T) cas.Store {
		s := newStore(t)
		t.Cleanup(func() { assertTempEmpty(t, s) })
		return s
	}, castest.WithCorrupt(corrupt))
}

func tempNames(t *testing.T, s *Store) []string {
	t.Helper()
	entries, err := os.ReadDir(s.tmp)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func assertTempEmpty(t *testing.T, s *Store) {
	t.Helper()
	if names := tempNames(t, s); len(names) != 0 {
		t.Errorf("temp dir holds %v, want nothing", names)
	}
}

func TestLayoutAndMode(t *testing.T) {
	s := newStore(t)
	ref, _, err := s.Put(context.Background(), strings.NewReader("abc"), cas.StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const h = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	p := filepath.Join(s.Dir(), "blobs", "ba7", h)
	if ref.Ref.String() != h || s.blobPath(ref.Ref) != p {
		t.Fatalf("blob path = %s, want %s", s.blobPath(ref.Ref), p)
	}
	info, err := os.Stat(p)
	if err != nil {
		t.Fatalf("blob not at %s: %v", p, err)
	}
	if mode := info.Mode(); mode != 0o444 {
		t.Errorf("blob mode = %v, want -r--r--r--", mode)
	}
	if b, _ := os.ReadFile(p); string(b) != "abc" {
		t.Errorf("blob file holds %q", b)
	}
	assertTempEmpty(t, s)
}

func TestOpen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open of a missing nested dir: %v", err)
	}
	for _, d := range []string{"blobs", "tmp"} {
		if info, err := os.Stat(filepath.Join(dir, d)); err != nil || !info.IsDir() {
			t.Errorf("%s not made: %v", d, err)
		}
	}
	if !filepath.IsAbs(s.Dir()) {
		t.Errorf("Dir() = %q, want absolute", s.Dir())
	}
	// Reopening sees the same blobs.
	ref, _, err := s.Put(context.Background(), strings.NewReader("persist"), cas.StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Stat(context.Background(), ref.Ref); err != nil {
		t.Errorf("reopened store: Stat = %v", err)
	}

	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	if _, err := Open(file, Options{}); err == nil {
		t.Error("Open on a regular file succeeded")
	}
}

// failingReader yields some bytes, then fails.
func failingReader(n int, err error) io.Reader {
	return io.MultiReader(bytes.NewReader(make([]byte, n)), errReader{err})
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestTempCleanedAfterFailures(t *testing.T) {
	boom := errors.New("boom")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		r    io.Reader
		opts cas.StageOptions
		want error
	}{
		{"source error", context.Background(), failingReader(1<<20, boom), cas.StageOptions{}, boom},
		{"want mismatch", context.Background(), strings.NewReader("x"), cas.StageOptions{Want: cas.Sum([]byte("y"))}, cas.ErrCorrupt},
		{"too large", context.Background(), strings.NewReader("xyz"), cas.StageOptions{MaxSize: 2}, cas.ErrTooLarge},
		{"cancelled", cancelled, strings.NewReader("x"), cas.StageOptions{}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			_, _, err := s.Put(tt.ctx, tt.r, tt.opts)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Put error = %v, want %v", err, tt.want)
			}
			assertTempEmpty(t, s)
		})
	}
}

func TestTempLifecycle(t *testing.T) {
	s := newStore(t)
	s.namedTemps = true // counts temp files by name
	st, err := s.Stage(context.Background(), strings.NewReader("lifecycle"), cas.StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(tempNames(t, s)); n != 1 {
		t.Fatalf("%d temp files while staged, want 1", n)
	}
	if _, err := st.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Kept after Commit, so a second Commit can re-create the blob.
	if n := len(tempNames(t, s)); n != 1 {
		t.Fatalf("%d temp files after Commit, want 1", n)
	}
	if err := st.Discard(); err != nil {
		t.Fatal(err)
	}
	assertTempEmpty(t, s)
	if _, err := st.Commit(context.Background()); !errors.Is(err, ErrDiscarded) {
		t.Errorf("Commit after Discard = %v, want ErrDiscarded", err)
	}
	if _, err := st.ReadAt(make([]byte, 1), 0); !errors.Is(err, ErrDiscarded) {
		t.Errorf("ReadAt after Discard = %v, want ErrDiscarded", err)
	}
	if _, err := s.Stat(context.Background(), st.Ref().Ref); err != nil {
		t.Errorf("blob gone after Discard: %v", err)
	}
}

func TestStaleTempSwept(t *testing.T) {
	dir := t.TempDir()
	s := must(Open(dir, Options{}))
	old := filepath.Join(s.tmp, "stage-old")
	fresh := filepath.Join(s.tmp, "stage-fresh")
	for _, p := range []string{old, fresh} {
		if err := os.WriteFile(p, []byte("debris"), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-25 * time.Hour)
	if err := os.Chtimes(old, past, past); err != nil {
		t.Fatal(err)
	}
	// A subdirectory is not ours to remove, however old.
	sub := filepath.Join(s.tmp, "subdir")
	os.Mkdir(sub, 0o755)
	os.Chtimes(sub, past, past)

	must(Open(dir, Options{}))
	if _, err := os.Stat(old); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale temp file survived Open: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh temp file (maybe a live upload) removed: %v", err)
	}
	if _, err := os.Stat(sub); err != nil {
		t.Errorf("directory in tmp removed: %v", err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestCrashBeforeCommit(t *testing.T) {
	// A process staged a blob and died before Commit: the temp file is
	// left behind, and no blob may be visible to the next process.
	dir := t.TempDir()
	s := must(Open(dir, Options{}))
	s.namedTemps = true // an unnamed temp leaves no debris at all
	st, err := s.Stage(context.Background(), strings.NewReader("crashed upload"), cas.StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ref := st.Ref().Ref
	st.(*staged).f.Close() // the process dies: its descriptors close, nothing else runs

	s2 := must(Open(dir, Options{}))
	if _, err := s2.Stat(context.Background(), ref); !errors.Is(err, cas.ErrNotFound) {
		t.Errorf("Stat after crash = %v, want ErrNotFound", err)
	}
	var n int
	s2.Walk(context.Background(), cas.Ref{}, func(cas.BlobInfo) error { n++; return nil })
	if n != 0 {
		t.Errorf("Walk after crash lists %d blobs", n)
	}
	names := tempNames(t, s2)
	if len(names) != 1 {
		t.Fatalf("temp dir after crash = %v, want the one debris file", names)
	}
	// A day later, the next Open sweeps it.
	past := time.Now().Add(-48 * time.Hour)
	os.Chtimes(filepath.Join(s2.tmp, names[0]), past, past)
	s3 := must(Open(dir, Options{}))
	assertTempEmpty(t, s3)
	// And the same bytes can still be stored afresh.
	if _, created, err := s3.Put(context.Background(), strings.NewReader("crashed upload"), cas.StageOptions{}); err != nil || !created {
		t.Errorf("Put after crash = %v, %v", created, err)
	}
}

func TestWalkIgnoresStrays(t *testing.T) {
	s := newStore(t)
	ref, _, err := s.Put(context.Background(), strings.NewReader("abc"), cas.StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h := ref.Ref.String()
	shard := s.shardDir(ref.Ref)
	other := cas.Sum([]byte("other")).String()
	strays := []string{
		filepath.Join(shard, strings.ToUpper(h)),          // wrong case
		filepath.Join(shard, h+".tmp"),                    // suffix
		filepath.Join(shard, h[:63]),                      // short
		filepath.Join(shard, "notes.txt"),                 // junk
		filepath.Join(shard, other),                       // right name, wrong shard
		filepath.Join(s.blobs, "zz", "78", h),             // bad first level
		filepath.Join(s.blobs, "BA", "78", h),             // upper-case first level
		filepath.Join(s.blobs, "ba", "7", h),              // short second level
		filepath.Join(s.blobs, "ba", "78", "ab", "cd", h), // too deep
		filepath.Join(s.blobs, "stray"),                   // file at the top
	}
	for _, p := range strays {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("stray"), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	// A directory named like a blob is not a blob either.
	os.Mkdir(filepath.Join(shard, cas.Sum([]byte("dir")).String()), 0o755)

	var got []cas.Ref
	if err := s.Walk(context.Background(), cas.Ref{}, func(b cas.BlobInfo) error {
		got = append(got, b.Ref)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []cas.Ref{ref.Ref}) {
		t.Errorf("Walk = %v, want only %s", got, h)
	}
}

// syncLog records the store's fsyncs, noting for each whether the blob
// was already linked at that moment.
type syncLog struct {
	mu     sync.Mutex
	events []string
}

func (l *syncLog) install(s *Store, blob string) {
	note := func(what string) {
		linked := "unlinked"
		if _, err := os.Stat(blob); err == nil {
			linked = "linked"
		}
		l.mu.Lock()
		l.events = append(l.events, what+" "+linked)
		l.mu.Unlock()
	}
	s.syncFile = func(f *os.File) error {
		if filepath.Dir(f.Name()) == s.tmp {
			note("file tmp")
		} else {
			note("file " + f.Name())
		}
		return f.Sync()
	}
	s.syncDir = func(p string) error {
		rel, _ := filepath.Rel(s.dir, p)
		note("dir " + rel)
		return syncDir(p)
	}
}

func (l *syncLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	got := l.events
	l.events = nil
	return got
}

func TestDurabilityProtocol(t *testing.T) {
	s := newStore(t)
	s.namedTemps = true           // observes the temp file by name
	s.group = nil                 // the single-commit protocol; group commits have their own test
	ref := cas.Sum([]byte("abc")) // ba7816bf…
	var log syncLog
	log.install(s, s.blobPath(ref))
	put := func() {
		t.Helper()
		if _, _, err := s.Put(context.Background(), strings.NewReader("abc"), cas.StageOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		op   func()
		want []string
	}{
		{"first Put", put, []string{
			"file tmp unlinked",    // bytes on disk before the name exists
			"dir blobs unlinked",   // new shard directory
			"dir blobs/ba7 linked", // the new name
		}},
		{"Put of existing bytes", put, nil},
		{"Remove", func() {
			if err := s.Remove(context.Background(), ref); err != nil {
				t.Fatal(err)
			}
		}, []string{"dir blobs/ba7 unlinked"}},
		{"Remove of missing blob", func() {
			if err := s.Remove(context.Background(), ref); err != nil {
				t.Fatal(err)
			}
		}, nil},
		{"Put into existing shard", put, []string{"file tmp unlinked", "dir blobs/ba7 linked"}},
	}
	for _, tt := range tests {
		tt.op()
		if got := log.take(); !slices.Equal(got, tt.want) {
			t.Errorf("%s: syncs = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestSyncFailuresFailCommit(t *testing.T) {
	for _, which := range []string{"file", "dir"} {
		t.Run(which, func(t *testing.T) {
			s := newStore(t)
			s.group = nil // the single-commit protocol; group commits have their own test
			fail := errors.New("sync failed")
			if which == "file" {
				s.syncFile = func(*os.File) error { return fail }
			} else {
				s.syncDir = func(string) error { return fail }
			}
			_, _, err := s.Put(context.Background(), strings.NewReader("abc"), cas.StageOptions{})
			if !errors.Is(err, fail) {
				t.Errorf("Put = %v, want the sync error: the blob is not durable", err)
			}
			assertTempEmpty(t, s)
		})
	}
}

func TestCommitSyncsFileOnce(t *testing.T) {
	s := newStore(t)
	s.namedTemps = true // counts temp files by name
	s.group = nil       // the single-commit protocol; group commits have their own test
	st, err := s.Stage(context.Background(), strings.NewReader("once"), cas.StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Discard()
	var log syncLog
	log.install(s, s.blobPath(st.Ref().Ref))
	for range 2 {
		if _, err := st.Commit(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := s.Remove(context.Background(), st.Ref().Ref); err != nil {
			t.Fatal(err)
		}
	}
	files := 0
	for _, e := range log.take() {
		if strings.HasPrefix(e, "file") {
			files++
		}
	}
	if files != 1 {
		t.Errorf("temp file synced %d times over two Commits, want once", files)
	}
}

func TestCommitAfterTempSwept(t *testing.T) {
	// Another process swept our temp file (a Staged held over a day):
	// Commit must fail rather than report a blob that is not there.
	s := newStore(t)
	s.namedTemps = true // observes the temp file by name
	st, err := s.Stage(context.Background(), strings.NewReader("swept"), cas.StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Discard()
	if err := s.sweepTemp(time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Commit(context.Background()); err == nil {
		t.Error("Commit after the temp file was swept succeeded")
	}
	if _, err := s.Stat(context.Background(), st.Ref().Ref); !errors.Is(err, cas.ErrNotFound) {
		t.Errorf("Stat = %v, want ErrNotFound", err)
	}
}

func TestFetchReader(t *testing.T) {
	s := newStore(t)
	data := make([]byte, 100000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	ref, _, err := s.Put(context.Background(), bytes.NewReader(data), cas.StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Fetch(context.Background(), ref.Ref, -1, 10); err == nil {
		t.Error("Fetch with a negative offset succeeded")
	}

	rc, err := s.Fetch(context.Background(), ref.Ref, 1000, 5000)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	// Large GETs want the file itself: a ReaderAt, a Seeker and a WriterTo.
	for _, ok := range []bool{
		func() bool { _, ok := rc.(io.ReaderAt); return ok }(),
		func() bool { _, ok := rc.(io.Seeker); return ok }(),
		func() bool { _, ok := rc.(io.WriterTo); return ok }(),
	} {
		if !ok {
			t.Fatalf("Fetch reader %T lacks ReaderAt, Seeker or WriterTo", rc)
		}
	}
	head := make([]byte, 100)
	if _, err := io.ReadFull(rc, head); err != nil || !bytes.Equal(head, data[1000:1100]) {
		t.Fatalf("first read: %v", err)
	}
	// WriteTo continues where Read stopped and ends at the range's end.
	var rest bytes.Buffer
	n, err := rc.(io.WriterTo).WriteTo(&rest)
	if err != nil || n != 4900 || !bytes.Equal(rest.Bytes(), data[1100:6000]) {
		t.Fatalf("WriteTo = %d, %v; content equal %v", n, err, bytes.Equal(rest.Bytes(), data[1100:6000]))
	}
	if m, err := rc.Read(make([]byte, 1)); m != 0 || err != io.EOF {
		t.Errorf("Read after WriteTo = %d, %v; want EOF", m, err)
	}
}

func TestFetchWriteToSocket(t *testing.T) {
	// The sendfile path: copying the reader to a TCP connection.
	s := newStore(t)
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	ref, _, err := s.Put(context.Background(), bytes.NewReader(data), cas.StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		b, _ := io.ReadAll(c)
		got <- b
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	rc, err := s.Fetch(context.Background(), ref.Ref, 17, 700000)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(c, rc)
	rc.Close()
	c.Close()
	if err != nil || n != 700000 {
		t.Fatalf("io.Copy to socket = %d, %v", n, err)
	}
	if b := <-got; !bytes.Equal(b, data[17:700017]) {
		t.Errorf("socket received %d bytes that differ from the range", len(b))
	}
}

func TestConcurrentCommitAndRemove(t *testing.T) {
	// The race the index's lock orders: whatever the interleaving of
	// Commits and Removes, a final Commit leaves the blob intact.
	s := newStore(t)
	data := bytes.Repeat([]byte("race"), 10000)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				st, err := s.Stage(context.Background(), bytes.NewReader(data), cas.StageOptions{})
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := st.Commit(context.Background()); err != nil {
					t.Error(err)
				}
				if err := s.Remove(context.Background(), st.Ref().Ref); err != nil {
					t.Error(err)
				}
				if _, err := st.Commit(context.Background()); err != nil {
					t.Error(err)
				}
				st.Discard()
			}
		})
	}
	wg.Wait()
	rc, err := s.Fetch(context.Background(), cas.Sum(data), 0, -1)
	if err != nil {
		t.Fatalf("blob missing after the race: %v", err)
	}
	defer rc.Close()
	if b, _ := io.ReadAll(rc); !bytes.Equal(b, data) {
		t.Error("blob damaged by the race")
	}
	assertTempEmpty(t, s)
}

// A batch's blobs are invisible until Commit, and Discard without Commit
// leaves neither blobs nor temp files.
func TestBatchInvisibleUntilCommit(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	b := s.NewBatch()
	ref, err := b.Add(ctx, strings.NewReader("batched bytes"), cas.StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, ref.Ref); !errors.Is(err, cas.ErrNotFound) {
		t.Fatalf("blob visible before Commit: %v", err)
	}
	b.Discard()
	if _, err := s.Stat(ctx, ref.Ref); !errors.Is(err, cas.ErrNotFound) {
		t.Fatalf("blob exists after Discard: %v", err)
	}
	if left, _ := os.ReadDir(filepath.Join(s.Dir(), "tmp")); len(left) != 0 {
		t.Fatalf("temp files left after Discard: %d", len(left))
	}
	b = s.NewBatch()
	if _, err := b.Add(ctx, strings.NewReader("batched bytes"), cas.StageOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, ref.Ref); err != nil {
		t.Fatalf("blob missing after Commit: %v", err)
	}
	if left, _ := os.ReadDir(filepath.Join(s.Dir(), "tmp")); len(left) != 0 {
		t.Fatalf("temp files left after Commit: %d", len(left))
	}
}
