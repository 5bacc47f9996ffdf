package ingest

import (
	"testing"

	"dewar/test/fixtures"
)

// maxBombRSS bounds the server's peak resident memory while it walks a
// bomb: the walker streams and stops at its limits, so a bomb must cost no
// more than a small archive does.
const maxBombRSS = 300 << 20

// bombs are walked one at a time, with the peak RSS measured around each.
var bombs = map[string]bool{
	"hostile/flat-zip-bomb": true, "hostile/nested-zip-bomb": true,
	"hostile/overlap-zip-bomb": true, "hostile/bzip2-bomb": true,
}

// TestHostile uploads every hostile case (bombs flat, nested, overlapping
// and bzip2, depth-12 nesting, traversal and control-character names, link
// escapes, a 4 KiB path, truncated zip and tar.gz, a bad CRC, unknown
// passwords, an unsupported method, a self-extractor, a non-archive named
// .zip, an empty upload) and checks that each job ends with the expected
// status and reason, keeps the entries read before the damage, that the
// server's peak RSS stays bounded while it walks each bomb, that failed
// jobs stay listed in the incoming bucket, and that the server still
// serves.
func TestHostile(t *testing.T) {
	t.Parallel()
	_, hostile := loadFixtures(t)
	s := newServer(t, false)

	ids := map[string]string{}
	for _, f := range hostile {
		if !bombs[f.Name] {
			continue
		}
		s.resetPeakRSS()
		base := s.peakRSS()
		id := s.mustPut(incomingOther, keyOf(f), f.Data, nil)
		s.wait(id)
		peak := s.peakRSS()
		t.Logf("%s (%d bytes): peak RSS %d MiB (%d MiB before)", f.Name, len(f.Data), peak>>20, base>>20)
		if peak > maxBombRSS {
			t.Errorf("%s: peak RSS %d MiB, want under %d MiB", f.Name, peak>>20, maxBombRSS>>20)
		}
		ids[f.Name] = id
		s.mustServe()
	}
	for _, f := range hostile {
		if !bombs[f.Name] {
			ids[f.Name] = s.mustPut(incomingOther, keyOf(f), f.Data, nil)
		}
	}
	failed := map[string]fixtures.Fixture{} // by key
	for _, f := range hostile {
		s.wait(ids[f.Name])
		j := s.manifest(ids[f.Name])
		t.Run(f.Name, func(t *testing.T) {
			checkOutcome(t, f, j)
			checkTree(t, f, j.Tree)
			checkStats(t, j)
		})
		if j.Status == "failed" {
			failed[keyOf(f)] = f
		}
	}
	step(t, s, "failed-jobs-stay-listed", func(t *testing.T, s *server) {
		keys, _ := s.listAll(incomingOther, "fx/hostile/", "", 7)
		sameSet(t, "incoming-other after the hostile jobs", keys, mapKeys(failed))
		for key, f := range failed {
			h, err := s.head(incomingOther, key)
			if err != nil {
				t.Errorf("HEAD %s: %v", key, err)
				continue
			}
			if h.Metadata["status"] != "failed" || h.Metadata["error"] == "" || h.Metadata["job-id"] == "" {
				t.Errorf("HEAD %s: metadata %v; want status failed, the error and the job id", key, h.Metadata)
			}
			if got := s.get(incomingOther, key); sum(got) != sum(f.Data) {
				t.Errorf("GET %s returns other bytes than the upload", key)
			}
		}
	})
	step(t, s, "still-serving", func(t *testing.T, s *server) {
		s.mustServe()
		// And ingesting: a known-good archive after the bombs.
		f := fixture(t, "knowngood/tar.zst")
		j := s.wait(s.mustPut(incomingKG, keyOf(f), f.Data, nil))
		checkOutcome(t, f, j)
		checkTree(t, f, s.manifest(j.ID).Tree)
	})
}
