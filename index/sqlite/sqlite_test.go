package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"dewar/index"
	"dewar/index/indextest"
	"dewar/index/sqlindex"
)

func openTemp(t *testing.T, opts Options) *sqlindex.Index {
	t.Helper()
	ix, err := Open(filepath.Join(t.TempDir(), "index.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ix.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return ix
}

func TestConformance(t *testing.T) {
	indextest.Run(t, func(t *testing.T) index.Index { return openTemp(t, Options{}) })
}

// Without group commit every write is its own transaction; the suite must
// pass that way too.
func TestConformanceNoGroupCommit(t *testing.T) {
	indextest.Run(t, func(t *testing.T) index.Index { return openTemp(t, Options{GroupCommit: 1}) })
}

var _ = context.Background
