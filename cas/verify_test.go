package cas_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"dewar/cas"
)

func TestVerifyingReader(t *testing.T) {
	data := []byte(strings.Repeat("phishing kit ", 5000))
	good := cas.Sum(data)
	bad := cas.Sum([]byte("other"))
	tests := []struct {
		name    string
		r       func() io.Reader
		want    cas.Ref
		corrupt bool
	}{
		{name: "match", r: func() io.Reader { return bytes.NewReader(data) }, want: good},
		{name: "match one byte reads", r: func() io.Reader { return iotest.OneByteReader(bytes.NewReader(data)) }, want: good},
		{name: "match data with EOF", r: func() io.Reader { return iotest.DataErrReader(bytes.NewReader(data)) }, want: good},
		{name: "empty", r: func() io.Reader { return strings.NewReader("") }, want: cas.Sum(nil)},
		{name: "mismatch", r: func() io.Reader { return bytes.NewReader(data) }, want: bad, corrupt: true},
		{name: "mismatch data with EOF", r: func() io.Reader { return iotest.DataErrReader(bytes.NewReader(data)) }, want: bad, corrupt: true},
		{name: "truncated", r: func() io.Reader { return bytes.NewReader(data[:len(data)-1]) }, want: good, corrupt: true},
		{name: "zero ref", r: func() io.Reader { return bytes.NewReader(data) }, want: cas.Ref{}, corrupt: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vr := cas.NewVerifyingReader(tt.r(), tt.want)
			got, err := io.ReadAll(vr)
			if tt.corrupt {
				if !errors.Is(err, cas.ErrCorrupt) {
					t.Fatalf("ReadAll error = %v, want ErrCorrupt", err)
				}
				// The error is sticky: a second read must not turn into EOF.
				if _, err2 := vr.Read(make([]byte, 1)); !errors.Is(err2, cas.ErrCorrupt) {
					t.Errorf("read after corruption = %v, want ErrCorrupt again", err2)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadAll: %v", err)
			}
			if cas.Sum(got) != tt.want {
				t.Errorf("bytes passed through do not hash to %s", tt.want)
			}
			if n, err := vr.Read(make([]byte, 1)); n != 0 || err != io.EOF {
				t.Errorf("read after EOF = %d, %v", n, err)
			}
		})
	}
}

func TestVerifyingReaderPassesSourceError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(boom))
	_, err := io.ReadAll(cas.NewVerifyingReader(r, cas.Sum([]byte("abc"))))
	if !errors.Is(err, boom) || errors.Is(err, cas.ErrCorrupt) {
		t.Errorf("error = %v, want the source's error and not ErrCorrupt", err)
	}
}

func TestVerifyingReaderIOTest(t *testing.T) {
	data := []byte(strings.Repeat("x", 10000))
	if err := iotest.TestReader(cas.NewVerifyingReader(bytes.NewReader(data), cas.Sum(data)), data); err != nil {
		t.Error(err)
	}
}

// fakeStore is a Walker and Fetcher whose stored bytes need not match
// their keys, so Verify has something to find.
type fakeStore struct {
	blobs    map[cas.Ref][]byte
	vanished map[cas.Ref]bool  // listed by Walk, NotFound on Fetch
	failing  map[cas.Ref]error // Fetch's reader fails with this
	fetched  []cas.Ref
}

func (f *fakeStore) Walk(ctx context.Context, after cas.Ref, fn func(cas.BlobInfo) error) error {
	var refs []cas.Ref
	for r := range f.blobs {
		if after.Less(r) {
			refs = append(refs, r)
		}
	}
	slices.SortFunc(refs, func(a, b cas.Ref) int { return strings.Compare(a.String(), b.String()) })
	for _, r := range refs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(cas.BlobInfo{SizedRef: cas.SizedRef{Ref: r, Size: int64(len(f.blobs[r]))}}); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeStore) Fetch(ctx context.Context, ref cas.Ref, offset, length int64) (io.ReadCloser, error) {
	f.fetched = append(f.fetched, ref)
	b, ok := f.blobs[ref]
	if !ok || f.vanished[ref] {
		return nil, cas.ErrNotFound
	}
	var r io.Reader = bytes.NewReader(b)
	if err := f.failing[ref]; err != nil {
		r = io.MultiReader(io.LimitReader(r, 1), iotest.ErrReader(err))
	}
	return io.NopCloser(r), nil
}

func TestVerify(t *testing.T) {
	f := &fakeStore{blobs: map[cas.Ref][]byte{}, vanished: map[cas.Ref]bool{}, failing: map[cas.Ref]error{}}
	add := func(s string) cas.Ref { r := cas.Sum([]byte(s)); f.blobs[r] = []byte(s); return r }
	var refs []cas.Ref
	for _, s := range []string{"a", "b", "c", "d", "e", ""} {
		refs = append(refs, add(s))
	}
	corrupt, gone, failing := refs[1], refs[2], refs[3]
	f.blobs[corrupt] = []byte("B") // same size, other bytes
	f.vanished[gone] = true
	ioErr := errors.New("disk on fire")
	f.failing[failing] = ioErr

	got := map[cas.Ref]error{}
	var order []cas.Ref
	err := cas.Verify(context.Background(), f, cas.Ref{}, func(info cas.BlobInfo, err error) error {
		got[info.Ref] = err
		order = append(order, info.Ref)
		return nil
	})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if len(got) != len(refs)-1 {
		t.Errorf("reported %d blobs, want %d (the vanished one is skipped)", len(got), len(refs)-1)
	}
	if _, ok := got[gone]; ok {
		t.Error("a blob removed during the walk was reported")
	}
	if !errors.Is(got[corrupt], cas.ErrCorrupt) {
		t.Errorf("corrupt blob reported %v, want ErrCorrupt", got[corrupt])
	}
	if !errors.Is(got[failing], ioErr) || errors.Is(got[failing], cas.ErrCorrupt) {
		t.Errorf("failing blob reported %v, want the read error", got[failing])
	}
	for _, r := range refs {
		if r != corrupt && r != gone && r != failing && got[r] != nil {
			t.Errorf("healthy blob %s reported %v", r, got[r])
		}
	}
	if !slices.IsSortedFunc(order, func(a, b cas.Ref) int { return strings.Compare(a.String(), b.String()) }) {
		t.Error("reports are not in walk order")
	}
}

func TestVerifySizeMismatch(t *testing.T) {
	// A listing that disagrees with the bytes is damage even if the hash
	// matches (a store whose size metadata rotted).
	r := cas.Sum([]byte("abc"))
	s := &sizeLiar{fakeStore{blobs: map[cas.Ref][]byte{r: []byte("abc")}}}
	var got error
	if err := cas.Verify(context.Background(), s, cas.Ref{}, func(_ cas.BlobInfo, err error) error { got = err; return nil }); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(got, cas.ErrCorrupt) {
		t.Errorf("reported %v, want ErrCorrupt", got)
	}
}

type sizeLiar struct{ fakeStore }

func (s *sizeLiar) Walk(ctx context.Context, after cas.Ref, fn func(cas.BlobInfo) error) error {
	return s.fakeStore.Walk(ctx, after, func(info cas.BlobInfo) error { info.Size++; return fn(info) })
}

func TestVerifyStopsAndResumes(t *testing.T) {
	f := &fakeStore{blobs: map[cas.Ref][]byte{}}
	var refs []cas.Ref
	for i := range 10 {
		r := cas.Sum([]byte{byte(i)})
		f.blobs[r] = []byte{byte(i)}
		refs = append(refs, r)
	}
	slices.SortFunc(refs, func(a, b cas.Ref) int { return strings.Compare(a.String(), b.String()) })

	stop := errors.New("stop")
	n := 0
	err := cas.Verify(context.Background(), f, cas.Ref{}, func(cas.BlobInfo, error) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Errorf("Verify = %v after %d reports, want stop after 3", err, n)
	}

	var seen []cas.Ref
	if err := cas.Verify(context.Background(), f, refs[6], func(info cas.BlobInfo, _ error) error {
		seen = append(seen, info.Ref)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seen, refs[7:]) {
		t.Errorf("after refs[6]: saw %d blobs, want the last 3", len(seen))
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f.fetched = nil
	if err := cas.Verify(ctx, f, cas.Ref{}, func(cas.BlobInfo, error) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Verify = %v", err)
	}
	if len(f.fetched) != 0 {
		t.Errorf("cancelled Verify fetched %d blobs", len(f.fetched))
	}
}
