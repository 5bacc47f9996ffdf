package sqlite

import (
	"testing"
	"time"

	"dewar/index/indextest"
)

func TestSearchConformance(t *testing.T) {
	indextest.RunSearch(t, func(t *testing.T, now func() time.Time) indextest.SearchIndex {
		return openTemp(t, Options{Now: now})
	})
}

// With a drive limit of one row, every indicator and token term is
// answered by probing files in page order: the same results.
func TestSearchConformanceProbing(t *testing.T) {
	indextest.RunSearch(t, func(t *testing.T, now func() time.Time) indextest.SearchIndex {
		return openTemp(t, Options{Now: now, DriveLimit: 1})
	})
}

// Without group commit every write is its own transaction.
func TestAnalysesNoGroupCommit(t *testing.T) {
	indextest.RunAnalyses(t, func(t *testing.T, now func() time.Time) indextest.SearchIndex {
		return openTemp(t, Options{Now: now, GroupCommit: 1})
	})
}
