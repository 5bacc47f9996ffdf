package postgres

import (
	"testing"
	"time"

	"dewar/index/indextest"
	"dewar/index/postgres/pgtest"
)

// TestSearchConformancePG runs the same query table as SQLite's, so both
// databases return the same results.
func TestSearchConformancePG(t *testing.T) {
	db := pgtest.NewDatabase(t)
	indextest.RunSearch(t, func(t *testing.T, now func() time.Time) indextest.SearchIndex {
		return openURL(t, pgtest.NewSchema(t, db), Options{Now: now})
	})
}

// TestSearchConformanceProbingPG: every indicator and token term answered
// by probing files in page order gives the same results.
func TestSearchConformanceProbingPG(t *testing.T) {
	db := pgtest.NewDatabase(t)
	indextest.RunSearch(t, func(t *testing.T, now func() time.Time) indextest.SearchIndex {
		return openURL(t, pgtest.NewSchema(t, db), Options{Now: now, DriveLimit: 1})
	})
}
