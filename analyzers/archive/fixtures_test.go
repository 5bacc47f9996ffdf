package archive_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"reflect"
	"runtime"
	"sort"
	"sync"
	"testing"

	"dewar/analyzers/archive"
	"dewar/test/fixtures"
)

var (
	allOnce     sync.Once
	allFixtures []fixtures.Fixture
	allErr      error
)

// loadFixtures renders the known-good and kit fixtures and the hostile
// cases once per test binary.
func loadFixtures(t *testing.T) []fixtures.Fixture {
	t.Helper()
	allOnce.Do(func() {
		all, err := fixtures.All(7)
		if err != nil {
			allErr = err
			return
		}
		h, err := fixtures.Hostile()
		allFixtures, allErr = append(all, h...), err
	})
	if allErr != nil {
		t.Fatalf("fixtures: %v", allErr)
	}
	return allFixtures
}

type walked struct {
	entries []fixtures.Want
	res     archive.Result
	err     error
}

// walkBytes walks data and records what a consumer would store: path, type,
// size and sha256 of the delivered bytes, link target, raw path.
func walkBytes(t *testing.T, data []byte, opts archive.Options) walked {
	t.Helper()
	var out walked
	out.res, out.err = archive.Walk(context.Background(), bytes.NewReader(data), int64(len(data)), opts,
		func(e archive.Entry, body io.Reader) error {
			w := fixtures.Want{Path: e.Path, Type: e.Type.String(), Target: e.Target, RawPath: e.RawPath}
			switch {
			case body != nil:
				if e.Type != archive.File {
					t.Errorf("%s: body for a %v", e.Path, e.Type)
				}
				h := sha256.New()
				n, err := io.Copy(h, body)
				if err != nil {
					out.entries = append(out.entries, fixtures.Want{Path: e.Path, Type: "broken"})
					return err
				}
				if e.Size >= 0 && e.Size != n {
					t.Errorf("%s: declared size %d, delivered %d", e.Path, e.Size, n)
				}
				w.Size, w.SHA256 = n, hex.EncodeToString(h.Sum(nil))
			case e.Type == archive.File:
				t.Errorf("%s: file without body", e.Path)
			case e.Type == archive.Other:
				w.Size = e.Size
			}
			out.entries = append(out.entries, w)
			return nil
		})
	return out
}

// checkOutcome asserts a walk ended as the fixture says.
func checkOutcome(t *testing.T, want fixtures.Outcome, w walked) {
	t.Helper()
	matches := func(err error) bool {
		if want.Limit != "" {
			var le *archive.LimitError
			return errors.As(err, &le) && le.Limit == want.Limit
		}
		return want.Err == nil || errors.Is(err, want.Err)
	}
	switch want.Kind {
	case fixtures.OK:
		if w.err != nil || len(w.res.Warnings) > 0 {
			t.Fatalf("want ok, got err=%v warnings=%v", w.err, w.res.Warnings)
		}
	case fixtures.Warned:
		if w.err != nil {
			t.Fatalf("want warning, got error %v", w.err)
		}
		found := false
		for _, x := range w.res.Warnings {
			found = found || matches(x)
		}
		if !found {
			t.Fatalf("no warning matches %+v: %v", want, w.res.Warnings)
		}
	case fixtures.Failed:
		if w.err == nil || !matches(w.err) {
			t.Fatalf("want failure %+v, got %v", want, w.err)
		}
	case fixtures.NotArchive:
		if !errors.Is(w.err, archive.ErrNotArchive) || len(w.entries) > 0 {
			t.Fatalf("want not-archive, got %v with %d entries", w.err, len(w.entries))
		}
	default:
		t.Fatalf("unknown outcome %q", want.Kind)
	}
}

func checkEntries(t *testing.T, fx fixtures.Fixture, got []fixtures.Want) {
	t.Helper()
	sort.Slice(got, func(i, j int) bool { return got[i].Path < got[j].Path })
	if fx.Exact {
		if len(got) != len(fx.Entries) {
			t.Errorf("got %d entries, want %d", len(got), len(fx.Entries))
		}
		for i := range max(len(got), len(fx.Entries)) {
			var g, w fixtures.Want
			if i < len(got) {
				g = got[i]
			}
			if i < len(fx.Entries) {
				w = fx.Entries[i]
			}
			if !reflect.DeepEqual(g, w) {
				t.Fatalf("entry %d:\n got %+v\nwant %+v", i, g, w)
			}
		}
		return
	}
	have := map[string]fixtures.Want{}
	for _, g := range got {
		have[g.Path] = g
	}
	for _, w := range fx.Entries {
		if g, ok := have[w.Path]; !ok || !reflect.DeepEqual(g, w) {
			t.Errorf("missing or different %+v (got %+v)", w, g)
		}
	}
}

// TestFixtures walks every rendered and hostile fixture and compares the
// entries and the outcome with the fixture's expectation, under the default
// limits, with heap growth bounded.
func TestFixtures(t *testing.T) {
	for _, fx := range loadFixtures(t) {
		t.Run(fx.Name, func(t *testing.T) {
			before := heapInuse()
			w := walkBytes(t, fx.Data, archive.Options{Name: fx.Upload, TempDir: t.TempDir()})
			if grew := heapInuse() - before; grew > 256<<20 {
				t.Errorf("heap grew %d MiB", grew>>20)
			}
			checkOutcome(t, fx.Outcome, w)
			checkEntries(t, fx, w.entries)
			if w.res.Entries != len(w.entries) {
				t.Errorf("Result.Entries %d, delivered %d", w.res.Entries, len(w.entries))
			}
		})
	}
}

func heapInuse() int64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse)
}

// TestFixtureCounts guards the fixture set itself: it must hold every
// format and every hostile case the brief lists.
func TestFixtureCounts(t *testing.T) {
	names := map[string]bool{}
	for _, fx := range loadFixtures(t) {
		if names[fx.Name] {
			t.Errorf("duplicate fixture %s", fx.Name)
		}
		names[fx.Name] = true
	}
	for _, n := range []string{
		"knowngood/zip", "knowngood/zip-aes", "knowngood/zip-zipcrypto", "knowngood/tar", "knowngood/tar.gz",
		"knowngood/tar.bz2", "knowngood/tar.xz", "knowngood/tar.zst", "knowngood/7z", "knowngood/7z-aes",
		"knowngood/rar", "knowngood/nested", "knowngood/single", "knowngood/single.gz", "kit-1/zip", "kit-2/rar",
		"hostile/flat-zip-bomb", "hostile/nested-zip-bomb", "hostile/overlap-zip-bomb", "hostile/bzip2-bomb",
		"hostile/depth-12", "hostile/traversal-zip", "hostile/symlink-escape-tar", "hostile/long-path",
		"hostile/truncated-zip", "hostile/truncated-tar.gz", "hostile/unknown-password-aes",
		"hostile/not-archive-named-zip", "hostile/empty",
	} {
		if !names[n] {
			t.Errorf("fixture %s missing", n)
		}
	}
	kg := fixtures.KnownGood(7)
	if kg.Files() < 200 || kg.Files() > 600 {
		t.Errorf("known-good has %d files, want a few hundred", kg.Files())
	}
}
