package castest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"dewar/cas"
)

func testStageWantMismatch(t *testing.T, s cas.Store) {
	data := genBytes(5, 1000)
	st, err := s.Stage(context.Background(), bytes.NewReader(data), cas.StageOptions{Want: cas.Sum(data[1:])})
	if err == nil {
		st.Discard()
	}
	if !errors.Is(err, cas.ErrCorrupt) {
		t.Fatalf("Stage with wrong Want error = %v, want ErrCorrupt", err)
	}
	assertEmpty(t, s)
}

func stage(t *testing.T, s cas.Store, data []byte) cas.Staged {
	t.Helper()
	st, err := s.Stage(context.Background(), bytes.NewReader(data), cas.StageOptions{})
	if err != nil {
		t.Fatalf("Stage: %v", err)
	}
	t.Cleanup(func() { st.Discard() })
	if got, want := st.Ref(), (cas.SizedRef{Ref: cas.Sum(data), Size: int64(len(data))}); got != want {
		t.Fatalf("Staged.Ref() = %s, want %s", got, want)
	}
	return st
}

func commit(t *testing.T, st cas.Staged, want bool) {
	t.Helper()
	created, err := st.Commit(context.Background())
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if created != want {
		t.Errorf("Commit created = %v, want %v", created, want)
	}
}

func testStageNotVisible(t *testing.T, s cas.Store) {
	data := []byte("staged only")
	st := stage(t, s, data)
	assertAbsent(t, s, st.Ref().Ref)
	assertEmpty(t, s)
	if err := st.Discard(); err != nil {
		t.Fatalf("Discard: %v", err)
	}
	assertAbsent(t, s, st.Ref().Ref)
	assertEmpty(t, s)
}

func testStageReadAt(t *testing.T, s cas.Store) {
	data := genBytes(10, 300<<10)
	st := stage(t, s, data)
	check := func(when string) {
		t.Helper()
		for _, r := range [][2]int{{0, 100}, {1000, 5000}, {len(data) - 10, 10}} {
			p := make([]byte, r[1])
			n, err := st.ReadAt(p, int64(r[0]))
			if n != r[1] || (err != nil && err != io.EOF) {
				t.Fatalf("%s: ReadAt(%d, %d) = %d, %v", when, r[0], r[1], n, err)
			}
			if !bytes.Equal(p, data[r[0]:r[0]+r[1]]) {
				t.Errorf("%s: ReadAt(%d, %d) content differs", when, r[0], r[1])
			}
		}
		// Reading past the end gives io.EOF, as io.ReaderAt requires.
		p := make([]byte, 20)
		if n, err := st.ReadAt(p, int64(len(data)-10)); n != 10 || err != io.EOF {
			t.Errorf("%s: ReadAt across the end = %d, %v; want 10, io.EOF", when, n, err)
		}
		if got := sum(t, io.NewSectionReader(st, 0, int64(len(data)))); got != st.Ref() {
			t.Errorf("%s: staged bytes hash to %s, want %s", when, got, st.Ref())
		}
	}
	check("before Commit")
	commit(t, st, true)
	check("after Commit")
}

func testCommitIdempotent(t *testing.T, s cas.Store) {
	data := []byte("commit me twice")
	st := stage(t, s, data)
	commit(t, st, true)
	commit(t, st, false)
	commit(t, st, false)
	if got := fetch(t, s, st.Ref().Ref, 0, -1); !bytes.Equal(got, data) {
		t.Errorf("Fetch after Commit = %q", got)
	}
}

func testDiscardAfterCommit(t *testing.T, s cas.Store) {
	data := []byte("keep me after discard")
	st := stage(t, s, data)
	commit(t, st, true)
	for i := range 2 {
		if err := st.Discard(); err != nil {
			t.Fatalf("Discard #%d: %v", i+1, err)
		}
	}
	if got := fetch(t, s, st.Ref().Ref, 0, -1); !bytes.Equal(got, data) {
		t.Errorf("Fetch after Discard = %q, want the committed bytes", got)
	}
}

func testCommitAfterRemove(t *testing.T, s cas.Store) {
	// The index's reference counting relies on this: a writer commits
	// early, a reaper removes the blob, the writer commits again under the
	// lock and the bytes are back.
	data := genBytes(11, 70000)
	st := stage(t, s, data)
	commit(t, st, true)
	if err := s.Remove(context.Background(), st.Ref().Ref); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	assertAbsent(t, s, st.Ref().Ref)
	commit(t, st, true)
	if got := fetch(t, s, st.Ref().Ref, 0, -1); !bytes.Equal(got, data) {
		t.Errorf("re-created blob reads %d bytes that differ from the %d staged", len(got), len(data))
	}
}

func testCommitAfterDiscard(t *testing.T, s cas.Store) {
	st := stage(t, s, []byte("discarded first"))
	if err := st.Discard(); err != nil {
		t.Fatalf("Discard: %v", err)
	}
	if _, err := st.Commit(context.Background()); err == nil {
		t.Error("Commit after Discard succeeded")
	}
	assertAbsent(t, s, st.Ref().Ref)
}

func testStageSameBytesTwice(t *testing.T, s cas.Store) {
	data := []byte("two writers, one blob")
	a := stage(t, s, data)
	b := stage(t, s, data)
	commit(t, a, true)
	commit(t, b, false)
	if err := a.Discard(); err != nil {
		t.Fatal(err)
	}
	// b's spool is independent of a's.
	p := make([]byte, len(data))
	if n, err := b.ReadAt(p, 0); n != len(data) || (err != nil && err != io.EOF) || !bytes.Equal(p, data) {
		t.Errorf("second Staged ReadAt after first Discard = %d, %v", n, err)
	}
	if err := b.Discard(); err != nil {
		t.Fatal(err)
	}
	if got := fetch(t, s, a.Ref().Ref, 0, -1); !bytes.Equal(got, data) {
		t.Errorf("Fetch = %q", got)
	}
}
