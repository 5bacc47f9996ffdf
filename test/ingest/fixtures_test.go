package ingest

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"testing"

	"dewar/gateway/web/apiclient"
	"dewar/test/fixtures"
	"dewar/test/harness"
)

// keyOf is the incoming key a fixture is uploaded under: unique per
// fixture, ending in its upload name.
func keyOf(f fixtures.Fixture) string { return "fx/" + f.Name + "/" + f.Upload }

// bucketOf sends the known-good release to incoming-knowngood and
// everything else to incoming-other.
func bucketOf(f fixtures.Fixture) string {
	if strings.HasPrefix(f.Name, "knowngood/") {
		return incomingKG
	}
	return incomingOther
}

// TestFixtures uploads every fixture of fixtures.All (the known-good
// release and two kits in every format: zip, AES and ZipCrypto zips with
// "infected", tar and its compressions, 7z plain and with password, rar,
// nested, single files) through four clients — aws s3 cp, boto3,
// aws-sdk-go-v2 and the JSON API — waits for every job and compares each
// manifest's tree exactly with the generator's entries, and the stats
// with the trees: every file is new in exactly one job, the store holds
// one blob per sample, and the samples bucket lists them all. A kit is
// ingested first, so its files shared with the release are seen to turn
// known-good when the release arrives. Re-submitting archives makes new
// jobs that store nothing new.
func TestFixtures(t *testing.T) {
	harness.Require(t, "aws", "boto3")
	t.Parallel()
	all, _ := loadFixtures(t)
	s := newServer(t, false)
	ctx := context.Background()

	// A kit first, alone: its files are not known-good yet.
	kit := fixture(t, "kit-1/zip")
	kitJob := s.wait(s.mustPut(incomingOther, keyOf(kit), kit.Data, nil))
	if st := kitJob.Stats; st.NewFiles != st.Files || st.NewBytes != st.Bytes || st.Files < 200 {
		t.Errorf("the first job's stats %+v: every file is new", st)
	}
	kgBodies := map[string]bool{}
	for _, n := range fixtures.KnownGood(seed) {
		if n.Type == "file" {
			kgBodies[sum(n.Body)] = true
		}
	}
	var shared, own apiclient.TreeEntry
	for _, e := range kitJob.Tree {
		if e.Type != "file" {
			continue
		}
		if kgBodies[e.SHA256] && shared.Path == "" && *e.Size > 0 {
			shared = e
		}
		if !kgBodies[e.SHA256] && own.Path == "" && strings.HasSuffix(e.Path, "next.php") {
			own = e
		}
	}
	if shared.Path == "" || own.Path == "" {
		t.Fatalf("kit-1 has no file shared with the release (%q) or none of its own (%q)", shared.Path, own.Path)
	}
	step(t, s, "kit-files-not-known-good-yet", func(t *testing.T, s *server) {
		s.wantFileMeta(samplesBucket, shared.SHA256, map[string]string{"known-good": "false", "job-count": "1"})
		s.wantFileMeta(jobsBucket, kitJob.ID+"/files/"+shared.Path, map[string]string{"known-good": "false", "job-id": kitJob.ID})
	})

	// Everything else, through four clients.
	rest := make([]fixtures.Fixture, 0, len(all))
	for _, f := range all {
		if f.Name != kit.Name {
			rest = append(rest, f)
		}
	}
	ids := s.submitAll(rest)

	jobs := map[string]apiclient.Job{kit.Name: s.manifest(kitJob.ID)}
	for _, f := range rest {
		s.wait(ids[f.Name])
		jobs[f.Name] = s.manifest(ids[f.Name])
	}
	seen := map[string]int64{}
	var newFiles, newBytes int64
	for _, f := range all {
		j := jobs[f.Name]
		t.Run(f.Name, func(t *testing.T) {
			checkOutcome(t, f, j)
			checkTree(t, f, j.Tree)
			checkStats(t, j)
			if j.KnownGood != (bucketOf(f) == incomingKG) || j.Name != keyOf(f) && j.Name != f.Upload {
				t.Errorf("job name %q, known-good %v", j.Name, j.KnownGood)
			}
			if j.ArchiveSHA256 != sum(f.Data) || j.ArchiveSize != int64(len(f.Data)) {
				t.Errorf("archive %s (%d bytes), want the upload's", j.ArchiveSHA256, j.ArchiveSize)
			}
			// The API shows the job as manifest.json does.
			aj, err := s.api().Job(ctx, j.ID)
			if err != nil || !reflect.DeepEqual(aj, j) {
				t.Errorf("GET /api/v1/jobs/%s differs from manifest.json (%v)", j.ID, err)
			}
		})
		for ref, size := range filesOf(j) {
			seen[ref] = size
		}
		newFiles += j.Stats.NewFiles
		newBytes += j.Stats.NewBytes
	}
	var distinctBytes int64
	for _, n := range seen {
		distinctBytes += n
	}
	step(t, s, "each-file-new-once", func(t *testing.T, s *server) {
		if newFiles != int64(len(seen)) || newBytes != distinctBytes {
			t.Errorf("new files %d (%d bytes) over all jobs; want each of the %d distinct files (%d bytes) new once",
				newFiles, newBytes, len(seen), distinctBytes)
		}
		if n := s.blobCount(); n != len(seen) {
			t.Errorf("the store holds %d blobs, want one per distinct file: %d", n, len(seen))
		}
		keys, _ := s.listAll(samplesBucket, "", "", 1000)
		sameSet(t, "samples", keys, mapKeys(seen))
	})

	step(t, s, "known-good-derived", func(t *testing.T, s *server) {
		kgJob := jobs["knowngood/zip"]
		s.wantFileMeta(samplesBucket, shared.SHA256, map[string]string{"known-good": "true"})
		s.wantFileMeta(jobsBucket, kitJob.ID+"/files/"+shared.Path, map[string]string{"known-good": "true"})
		s.wantFileMeta(samplesBucket, own.SHA256, map[string]string{"known-good": "false"})
		for _, e := range kgJob.Tree {
			if e.Type == "file" && e.Path == shared.Path {
				s.wantFileMeta(jobsBucket, kgJob.ID+"/files/"+e.Path, map[string]string{"known-good": "true"})
			}
		}
		// Every file of a done known-good job is known-good; a kit file
		// the release lacks is not.
		known := map[string]bool{}
		for _, f := range all {
			if j := jobs[f.Name]; j.KnownGood && j.Status == "done" {
				for ref := range filesOf(j) {
					known[ref] = true
				}
			}
		}
		for ref := range seen {
			if !known[ref] && kgBodies[ref] {
				t.Errorf("%s is in the release but no done known-good job has it", ref)
			}
		}
	})

	step(t, s, "resubmit-stores-nothing-new", func(t *testing.T, s *server) {
		blobs := s.blobCount()
		for _, name := range []string{"knowngood/tar.gz", "kit-2/7z-aes", "kit-1/nested"} {
			f := fixture(t, name)
			was := jobs[name]
			id := s.mustPut(incomingOther, "again/"+keyOf(f), f.Data, nil)
			j := s.wait(id)
			if id == was.ID || j.Status != "done" || j.Stats.NewFiles != 0 || j.Stats.NewBytes != 0 ||
				j.Stats.Files != was.Stats.Files || j.Stats.Bytes != was.Stats.Bytes {
				t.Errorf("%s again: job %s %s stats %+v; want a new done job with %+v and nothing new", name, id, j.Status, j.Stats, was.Stats)
			}
			checkTree(t, f, s.manifest(id).Tree)
		}
		if n := s.blobCount(); n != blobs {
			t.Errorf("re-submitting stored %d new blobs", n-blobs)
		}
		s.wantFileMeta(samplesBucket, shared.SHA256, map[string]string{"known-good": "true"})
	})
}

// submitAll uploads the fixtures with a mix of clients and returns their
// job IDs by fixture name: two with `aws s3 cp`, kit-2's with boto3 (whose
// answers must carry x-dewar-job-id), three through POST /api/v1/jobs, the
// rest with aws-sdk-go-v2 (4 at a time).
func (s *server) submitAll(fx []fixtures.Fixture) map[string]string {
	t := s.t
	t.Helper()
	ids := map[string]string{}
	var mu sync.Mutex
	set := func(name, id string) {
		mu.Lock()
		defer mu.Unlock()
		ids[name] = id
	}
	byCLI := map[string]bool{"knowngood/zip": true, "kit-2/tar.gz": true}
	byAPI := map[string]bool{"knowngood/rar": true, "knowngood/nested": true, "kit-1/single": true}
	var boto, sdk []fixtures.Fixture
	for _, f := range fx {
		switch {
		case byCLI[f.Name]:
			p := s.writeFile("cli/"+f.Name+"/"+f.Upload, f.Data, 0o644)
			s.aws("s3", "cp", "--only-show-errors", p, "s3://"+bucketOf(f)+"/"+keyOf(f))
		case byAPI[f.Name]:
			j, err := s.api().Submit(context.Background(), strings.NewReader(string(f.Data)),
				apiclient.SubmitOptions{Name: keyOf(f), KnownGood: bucketOf(f) == incomingKG})
			if err != nil {
				t.Fatalf("API submit %s: %v", f.Name, err)
			}
			set(f.Name, j.ID)
		case strings.HasPrefix(f.Name, "kit-2/"):
			boto = append(boto, f)
		default:
			sdk = append(sdk, f)
		}
	}
	type item struct {
		Bucket string `json:"bucket"`
		Key    string `json:"key"`
		File   string `json:"file"`
	}
	var spec []item
	for _, f := range boto {
		spec = append(spec, item{bucketOf(f), keyOf(f), s.writeFile("boto/"+f.Name+"/"+f.Upload, f.Data, 0o644)})
	}
	specJSON, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	out := s.python(s.awsEnv("", ""), "put_many.py", s.writeFile("boto-spec.json", specJSON, 0o644))
	var answers []struct {
		Key    string `json:"key"`
		JobID  string `json:"job_id"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal([]byte(out), &answers); err != nil || len(answers) != len(boto) {
		t.Fatalf("put_many.py answered %q (%v)", out, err)
	}
	for i, a := range answers {
		if a.JobID == "" || a.Status != "queued" {
			t.Errorf("boto3 put %s: x-dewar-job-id %q, x-dewar-job-status %q", a.Key, a.JobID, a.Status)
		}
		set(boto[i].Name, a.JobID)
	}
	var wg sync.WaitGroup
	work := make(chan fixtures.Fixture)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range work {
				id, err := s.put(bucketOf(f), keyOf(f), f.Data, nil)
				if err != nil {
					t.Errorf("put %s: %v", f.Name, err)
					continue
				}
				set(f.Name, id)
			}
		}()
	}
	for _, f := range sdk {
		work <- f
	}
	close(work)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	// The CLI hides response headers: find its jobs by name.
	byName := s.jobsByName()
	for _, f := range fx {
		if byCLI[f.Name] {
			j, ok := byName[keyOf(f)]
			if !ok {
				t.Fatalf("no job named %s after aws s3 cp", keyOf(f))
			}
			ids[f.Name] = j.ID
		}
	}
	return ids
}

// jobsByName lists every job through the API, by name (the newest wins).
func (s *server) jobsByName() map[string]apiclient.Job {
	s.t.Helper()
	out := map[string]apiclient.Job{}
	for _, j := range s.allJobs() {
		out[j.Name] = j
	}
	return out
}

// allJobs lists every job through the API, oldest first.
func (s *server) allJobs() []apiclient.Job {
	s.t.Helper()
	var all []apiclient.Job
	cursor := ""
	for {
		page, err := s.api().ListJobs(context.Background(), apiclient.JobsOptions{Cursor: cursor, Limit: 1000})
		if err != nil {
			s.t.Fatal(err)
		}
		all = append(all, page.Items...)
		if page.Next == "" {
			return all
		}
		cursor = page.Next
	}
}

// wantFileMeta checks some x-amz-meta-* values of a HEAD answer.
func (s *server) wantFileMeta(bucket, key string, want map[string]string) {
	s.t.Helper()
	h, err := s.head(bucket, key)
	if err != nil {
		s.t.Errorf("HEAD %s/%s: %v", bucket, key, err)
		return
	}
	for k, v := range want {
		if h.Metadata[k] != v {
			s.t.Errorf("HEAD %s/%s: %s = %q, want %q (all: %v)", bucket, key, k, h.Metadata[k], v, h.Metadata)
		}
	}
}

// step runs one sequential subtest against s.
func step(t *testing.T, s *server, name string, fn func(t *testing.T, s *server)) {
	t.Helper()
	t.Run(name, func(t *testing.T) { fn(t, s.with(t)) })
}

func mapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// sameSet fails unless got and want hold the same strings.
func sameSet(t *testing.T, what string, got, want []string) {
	t.Helper()
	g, w := map[string]int{}, map[string]int{}
	for _, x := range got {
		g[x]++
	}
	for _, x := range want {
		w[x]++
	}
	var missing, extra []string
	for x, n := range w {
		if g[x] < n {
			missing = append(missing, x)
		}
	}
	for x, n := range g {
		if w[x] < n {
			extra = append(extra, x)
		}
	}
	if len(missing)+len(extra) > 0 {
		t.Errorf("%s: %d entries, want %d; missing %d %q; extra %d %q", what, len(got), len(want), len(missing), first(missing, 5), len(extra), first(extra, 5))
	}
}

func first(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
