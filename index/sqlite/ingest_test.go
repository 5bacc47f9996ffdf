package sqlite

import (
	"testing"
	"time"

	"dewar/index/indextest"
)

func TestIngestConformance(t *testing.T) {
	indextest.RunIngest(t, func(t *testing.T, now func() time.Time) indextest.IngestIndex {
		return openTemp(t, Options{Now: now})
	})
}

// Without group commit every write is its own transaction.
func TestIngestConformanceNoGroupCommit(t *testing.T) {
	indextest.RunIngest(t, func(t *testing.T, now func() time.Time) indextest.IngestIndex {
		return openTemp(t, Options{Now: now, GroupCommit: 1})
	})
}
