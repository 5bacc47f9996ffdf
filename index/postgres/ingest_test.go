package postgres

import (
	"testing"
	"time"

	"dewar/index/indextest"
	"dewar/index/postgres/pgtest"
)

func TestIngestConformancePG(t *testing.T) {
	db := pgtest.NewDatabase(t)
	indextest.RunIngest(t, func(t *testing.T, now func() time.Time) indextest.IngestIndex {
		return openURL(t, pgtest.NewSchema(t, db), Options{Now: now})
	})
}
