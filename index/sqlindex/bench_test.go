package sqlindex_test

import (
	"fmt"
	"testing"
	"time"

	"dewar/cas"
	"dewar/index"
	"dewar/index/query"
)

// BenchmarkSearch times searches and lookups on SQLite over 100 jobs of
// 200 analysed files (about 10,000 files, 20,000 paths, 30,000 IOCs).
func BenchmarkSearch(b *testing.B) {
	start := time.Now()
	ix, jobs := planCorpus(b, 100, 200, 10, true)
	b.Logf("corpus built in %v", time.Since(start))
	f := file("file7")
	var hashes []string
	for i := range 10000 {
		h := file(fmt.Sprint("file", i))
		hashes = append(hashes, []string{h.Ref.String(), h.MD5, h.SHA1, cas.Sum([]byte(fmt.Sprint(i))).String()}[i%4])
	}
	searches := []struct {
		name, q string
		count   bool
	}{
		{"sha1", "sha1:" + f.SHA1, false},
		{"ioc eq", "ioc:user3@host2.example", false},
		{"email suffix", "email:*@host2.example", false},
		{"domain", "domain:host3.example", false},
		{"token eq", "token:tok5", false},
		{"token contains", "token:*ok5*", false},
		{"name eq", "name:file7.php", false},
		{"name suffix (broad)", "name:*.php", false},
		{"path contains", "path:*dir3/file1*", false},
		{"submitter (broad)", "submitter:alice", false},
		{"broad count", "mime:text/x-php", true},
		{"not", "mime:text/x-php -token:common", false},
	}
	for _, s := range searches {
		q, err := query.Parse(s.q)
		if err != nil {
			b.Fatal(err)
		}
		for _, of := range []query.Target{query.TargetFiles, query.TargetJobs} {
			b.Run(fmt.Sprintf("%s/%v", s.name, of), func(b *testing.B) {
				opts := index.SearchOptions{Limit: 50, Count: s.count}
				for b.Loop() {
					var err error
					if of == query.TargetFiles {
						_, err = ix.SearchFiles(b.Context(), q, opts)
					} else {
						_, err = ix.SearchJobs(b.Context(), q, opts)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
	b.Run("Lookup10000", func(b *testing.B) {
		for b.Loop() {
			if _, err := ix.Lookup(b.Context(), hashes); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("KnownGoodOverlap", func(b *testing.B) {
		for b.Loop() {
			if _, err := ix.KnownGoodOverlap(b.Context(), jobs[55].ID, 10); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("SimilarCandidates", func(b *testing.B) {
		for b.Loop() {
			if _, err := ix.SimilarCandidates(b.Context(), "ssdeep", []int64{1, 2, 3, 4, 5}, cas.Ref{}, 20); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkKnownGoodOverlap times the overlap of a 2,500-file job with 300
// known-good jobs of 2,500 files each (each sharing half its files with
// its neighbours), the diff page's closest known-good jobs.
func BenchmarkKnownGoodOverlap(b *testing.B) {
	start := time.Now()
	ix, jobs := planCorpus(b, 300, 2500, 1, false)
	b.Logf("corpus built in %v", time.Since(start))
	for b.Loop() {
		if _, err := ix.KnownGoodOverlap(b.Context(), jobs[150].ID, 10); err != nil {
			b.Fatal(err)
		}
	}
}
