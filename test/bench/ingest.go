package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"dewar/analyzers/mime"
	"dewar/gateway/analyze"
)

// ingestReport is the ingestion benchmark (issue 3): a kit zip ingested
// through S3 against the standard tools and Go's own extract-and-hash,
// the analyzers' share, and the server's memory on a large archive.
type ingestReport struct {
	Kit      archiveInfo       `json:"kit"`
	Unzip    refTiming         `json:"ref_unzip_sha256sum"` // (a)
	GoHash   refTiming         `json:"ref_go_zip_sha256"`   // (b)
	First    ingestRun         `json:"first_ingest"`
	Again    []ingestRun       `json:"re_ingests"`
	Analyze  analyzeCost       `json:"analyzers_in_process"`
	Big      *bigIngest        `json:"large_archive,omitempty"`
	Rows     []row             `json:"rows"`
	Notes    []string          `json:"notes,omitempty"`
	Profiles map[string]string `json:"profiles,omitempty"`
	shares   []phaseShare      `json:"-"`
	againMed ingestRun         `json:"-"`
	byKind   []kindAnalyze     `json:"-"`
}

// refTiming is a reference measured several times; Seconds is the median.
type refTiming struct {
	What     string    `json:"what"`
	Seconds  float64   `json:"seconds"`
	Runs     []float64 `json:"runs"`
	CPU      float64   `json:"cpu_seconds"` // of the median run
	OtherCPU float64   `json:"other_processes_cpu_share"`
}

// ingestRun is one submission through S3, timed from the start of the PUT
// until a poll of the API sees the job done.
type ingestRun struct {
	Key        string  `json:"key"`
	JobID      string  `json:"job_id"`
	Seconds    float64 `json:"seconds"`          // PUT start to done seen
	PutSeconds float64 `json:"put_seconds"`      // the PUT alone
	ServerTook float64 `json:"server_took_s"`    // the worker's claim to finish, from the server log
	Finished   float64 `json:"finished_after_s"` // the job's finished_at minus the PUT start
	// Analysed is how many analyses the job recorded; when the server
	// analysed more after the job was done (over its in-memory budget),
	// AnalysedAfter is when it logged them done, from the PUT start.
	Analysed      int     `json:"analysed_with_job"`
	AnalysedAfter float64 `json:"analyses_done_after_s,omitempty"`
	Files         int64   `json:"files"`
	NewFiles      int64   `json:"new_files"`
	Bytes         int64   `json:"bytes"`
	ServerCPU     float64 `json:"server_cpu_seconds"`
	ClientCPU     float64 `json:"client_cpu_seconds"`
	OtherCPU      float64 `json:"other_processes_cpu_share"`
}

// analyzeCost is gateway/analyze.Analyze run in this process, on one
// goroutine as an ingest worker runs it, over the kit's files (held in
// memory, so only the analysis is timed) and over the zip itself (which
// the server analyses too, as a sample: fuzzy hashes only).
type analyzeCost struct {
	Files         int     `json:"files"`
	Bytes         int64   `json:"bytes"`
	FilesSeconds  float64 `json:"files_seconds"`
	UploadBytes   int64   `json:"upload_bytes"`
	UploadSeconds float64 `json:"upload_seconds"`
	MsPerMiB      float64 `json:"ms_per_mib"` // over files and upload
	OtherCPU      float64 `json:"other_processes_cpu_share"`
}

// kindAnalyze breaks the analysis down by kind of file.
type kindAnalyze struct {
	Kind    string
	Files   int
	Bytes   int64
	Seconds float64
}

// bigIngest is the ingestion of a large archive while the server's
// memory is sampled.
type bigIngest struct {
	Archive archiveInfo `json:"archive"`
	Run     ingestRun   `json:"run"`
	Mem     memResult   `json:"memory"`
	Skipped string      `json:"skipped,omitempty"`
}

// phaseShare is one measured step and the share of the machine's CPU
// other processes used meanwhile.
type phaseShare struct {
	name  string
	other float64
}

const incomingBucket = "incoming-other"

// runIngest measures issue 3's figures on a fresh default server.
func runIngest(ctx context.Context, env *benchEnv) (*ingestReport, error) {
	fmt.Println("\n== ingest: a 2,500-file kit zip through S3 against unzip+sha256sum and Go's extract-and-hash ==")
	rep := &ingestReport{}
	dir := filepath.Join(env.runDir, "ingest")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var err error
	if rep.Kit, err = writeKitZip(filepath.Join(dir, "kit.zip"), 1, kitFiles); err != nil {
		return nil, fmt.Errorf("bench: kit zip: %w", err)
	}
	k := rep.Kit
	fmt.Printf("  kit: %d files (%d text %.1f MiB, %d images %.1f MiB, %d fonts/icons %.1f MiB), %.1f MiB expanded, zip %.1f MiB, generated in %.1f s\n",
		k.Files, k.TextFiles, float64(k.TextBytes)/miB, k.Images, float64(k.ImageBytes)/miB, k.Other, float64(k.OtherBytes)/miB,
		float64(k.Bytes)/miB, float64(k.ZipBytes)/miB, k.GenSeconds)

	reps := 3
	if env.cfg.quick {
		reps = 2
	}
	// The references are cheap: more runs steady their medians.
	if rep.Unzip, err = timeUnzipHash(ctx, k.Path, dir, 2*reps-1); err != nil {
		return nil, err
	}
	rep.shares = append(rep.shares, phaseShare{"(a) unzip+sha256sum", rep.Unzip.OtherCPU})
	fmt.Printf("  %-44s %7.2f s  (runs %v)  others %3.0f%%  [reference]\n", "(a) "+rep.Unzip.What, rep.Unzip.Seconds, secs(rep.Unzip.Runs), 100*rep.Unzip.OtherCPU)
	if rep.GoHash, err = timeGoHash(k.Path, 2*reps-1); err != nil {
		return nil, err
	}
	rep.shares = append(rep.shares, phaseShare{"(b) Go zip+sha256", rep.GoHash.OtherCPU})
	fmt.Printf("  %-44s %7.2f s  (runs %v)  others %3.0f%%  [reference]\n", "(b) "+rep.GoHash.What, rep.GoHash.Seconds, secs(rep.GoHash.Runs), 100*rep.GoHash.OtherCPU)

	srv, err := env.start(ctx, "ingest")
	if err != nil {
		return nil, err
	}
	defer func() { _ = srv.Stop() }()
	ib := &ingestBench{c: newS3(srv.url, env.rec), api: newAPI(srv.ui), srv: srv}

	syscall.Sync()
	prof, err := env.profile("ingest first", srv.Pid(), 1, func() (err error) {
		rep.First, err = ib.submit(ctx, "kit-1.zip", k.Path, 10*time.Minute)
		return err
	})
	if err != nil {
		return nil, errors.Join(err, srv.Alive())
	}
	rep.addProfile("first ingest", prof)
	printIngestRun("first ingest", rep.First)
	rep.shares = append(rep.shares, phaseShare{"first ingest", rep.First.OtherCPU})
	if rep.First.NewFiles == 0 {
		rep.Notes = append(rep.Notes, "the first ingest stored no new file: the server was not fresh")
	}
	for i := range reps {
		syscall.Sync()
		var r ingestRun
		submit := func() (err error) {
			r, err = ib.submit(ctx, fmt.Sprintf("kit-%d.zip", i+2), k.Path, 10*time.Minute)
			return err
		}
		if i == 0 {
			prof, err = env.profile("ingest again", srv.Pid(), 1, submit)
			rep.addProfile("re-ingest", prof)
		} else {
			err = submit()
		}
		if err != nil {
			return nil, errors.Join(err, srv.Alive())
		}
		printIngestRun("re-ingest", r)
		rep.Again = append(rep.Again, r)
		rep.shares = append(rep.shares, phaseShare{"re-ingest " + r.Key, r.OtherCPU})
		if r.NewFiles != 0 {
			rep.Notes = append(rep.Notes, fmt.Sprintf("re-ingest %s stored %d new files, expected none", r.Key, r.NewFiles))
		}
	}
	rep.againMed = medianRun(rep.Again)

	if rep.Analyze, rep.byKind, err = timeAnalyzers(ctx, k.Path); err != nil {
		return nil, err
	}
	rep.shares = append(rep.shares, phaseShare{"analyzers in-process", rep.Analyze.OtherCPU})
	a := rep.Analyze
	fmt.Printf("  %-44s %7.2f s  (%d files %.1f MiB: %.2f s; the zip %.1f MiB: %.2f s; %.0f ms/MiB)  others %3.0f%%\n",
		"analyzers in-process (1 goroutine)", a.FilesSeconds+a.UploadSeconds, a.Files, float64(a.Bytes)/miB, a.FilesSeconds,
		float64(a.UploadBytes)/miB, a.UploadSeconds, a.MsPerMiB, 100*a.OtherCPU)

	if env.cfg.memory {
		size := int64(giB)
		if env.cfg.quick {
			size = 256 * miB
		}
		if rep.Big, err = ib.bigArchive(ctx, dir, size); err != nil {
			return nil, errors.Join(err, srv.Alive())
		}
		if rep.Big.Skipped == "" {
			rep.shares = append(rep.shares, phaseShare{"large archive ingest", rep.Big.Run.OtherCPU})
		}
	}
	if err := srv.Stop(); err != nil {
		return nil, err
	}
	fmt.Println("server ingest: stopped cleanly (SIGTERM)")
	rep.Rows = rep.rows(env.cfg.memory)
	return rep, nil
}

func (rep *ingestReport) addProfile(name, path string) {
	if path == "" {
		return
	}
	if rep.Profiles == nil {
		rep.Profiles = map[string]string{}
	}
	rep.Profiles[name] = path
}

func secs(xs []float64) string {
	var s []string
	for _, x := range xs {
		s = append(s, fmt.Sprintf("%.2f", x))
	}
	return strings.Join(s, " ")
}

func printIngestRun(what string, r ingestRun) {
	later := ""
	if r.AnalysedAfter > 0 {
		later = fmt.Sprintf("; analyses over the budget done at %.2f s", r.AnalysedAfter)
	}
	fmt.Printf("  %-44s %7.2f s  (PUT %.2f s, worker %.2f s; %d files, %d new, %d analysed with the job%s)  server CPU %.1f s  others %3.0f%%\n",
		what+" "+r.Key, r.Seconds, r.PutSeconds, r.ServerTook, r.Files, r.NewFiles, r.Analysed, later, r.ServerCPU, 100*r.OtherCPU)
}

// medianRun returns the run with the median time.
func medianRun(rs []ingestRun) ingestRun {
	if len(rs) == 0 {
		return ingestRun{}
	}
	s := append([]ingestRun(nil), rs...)
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].Seconds < s[j-1].Seconds; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s[len(s)/2]
}

// timeUnzipHash is reference (a): `unzip -q` into a fresh directory on
// the same file system, then sha256sum of every file.
func timeUnzipHash(ctx context.Context, zipPath, dir string, reps int) (refTiming, error) {
	t := refTiming{What: "unzip -q + sha256sum of every file"}
	type run struct{ sec, cpu, other float64 }
	var runs []run
	for i := range reps {
		out := filepath.Join(dir, fmt.Sprintf("unzip-%d", i))
		syscall.Sync()
		win := startWindow(cpuMeter{})
		t0 := time.Now()
		cmd := exec.CommandContext(ctx, "sh", "-c", `unzip -q "$1" -d "$2" && find "$2" -type f -print0 | xargs -0 sha256sum >/dev/null`, "sh", zipPath, out)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		sec := time.Since(t0).Seconds()
		if err != nil {
			return t, fmt.Errorf("bench: unzip+sha256sum: %w: %s", err, stderr.String())
		}
		// The children's CPU (wait4 counts what each waited for) is the
		// reference's own, not other processes'.
		st := cmd.ProcessState
		cpu := st.UserTime().Seconds() + st.SystemTime().Seconds()
		other := win.endWith(cpu)
		runs = append(runs, run{sec, cpu, other})
		t.Runs = append(t.Runs, sec)
		if err := os.RemoveAll(out); err != nil {
			return t, err
		}
	}
	m := runs[0]
	for _, r := range runs {
		if r.sec == median(t.Runs) {
			m = r
		}
	}
	t.Seconds, t.CPU, t.OtherCPU = m.sec, m.cpu, m.other
	return t, nil
}

// timeGoHash is reference (b): archive/zip reading every entry and
// hashing it with sha256 in memory, on one goroutine.
func timeGoHash(zipPath string, reps int) (refTiming, error) {
	t := refTiming{What: "Go archive/zip + sha256 of every entry, in memory"}
	buf := make([]byte, 256<<10)
	var others []float64
	for range reps {
		win := startWindow(cpuMeter{})
		t0 := time.Now()
		zr, err := zip.OpenReader(zipPath)
		if err != nil {
			return t, err
		}
		for _, f := range zr.File {
			if f.FileInfo().IsDir() {
				continue
			}
			rc, err := f.Open()
			if err != nil {
				zr.Close()
				return t, err
			}
			h := sha256.New()
			_, err = io.CopyBuffer(h, rc, buf)
			rc.Close()
			if err != nil {
				zr.Close()
				return t, err
			}
			h.Sum(nil)
		}
		zr.Close()
		t.Runs = append(t.Runs, time.Since(t0).Seconds())
		_, self, other := win.end()
		t.CPU = self
		others = append(others, other)
	}
	t.Seconds, t.OtherCPU = median(t.Runs), median(others)
	return t, nil
}

// timeAnalyzers runs gateway/analyze.Analyze over every file of the zip
// and over the zip itself, as an ingest worker does (one file at a time,
// MIME type from the first bytes as the store pass sniffs it), timing the
// analysis only: each file is read into memory first.
func timeAnalyzers(ctx context.Context, zipPath string) (analyzeCost, []kindAnalyze, error) {
	var c analyzeCost
	kinds := map[string]*kindAnalyze{}
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return c, nil, err
	}
	defer zr.Close()
	var busy float64
	win := startWindow(cpuMeter{})
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return c, nil, err
		}
		body, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return c, nil, err
		}
		m := mime.Detect(body[:min(len(body), 3072)])
		t0 := time.Now()
		if _, err := analyze.Analyze(ctx, bytes.NewReader(body), m, analyze.Options{}); err != nil {
			return c, nil, err
		}
		d := time.Since(t0).Seconds()
		c.Files++
		c.Bytes += int64(len(body))
		c.FilesSeconds += d
		kind := strings.TrimPrefix(filepath.Ext(f.Name), ".")
		switch kind {
		case "jpg", "png":
			kind = "images"
		case "woff", "woff2", "ico", "ttf", "eot":
			kind = "fonts/icons"
		}
		ka := kinds[kind]
		if ka == nil {
			ka = &kindAnalyze{Kind: kind}
			kinds[kind] = ka
		}
		ka.Files++
		ka.Bytes += int64(len(body))
		ka.Seconds += d
	}
	busy += c.FilesSeconds
	f, err := os.Open(zipPath)
	if err != nil {
		return c, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return c, nil, err
	}
	t0 := time.Now()
	if _, err := analyze.Analyze(ctx, bufio.NewReaderSize(f, 1<<20), "application/zip", analyze.Options{}); err != nil {
		return c, nil, err
	}
	c.UploadSeconds = time.Since(t0).Seconds()
	c.UploadBytes = st.Size()
	_, _, c.OtherCPU = win.end()
	c.MsPerMiB = 1000 * (c.FilesSeconds + c.UploadSeconds) / (float64(c.Bytes+c.UploadBytes) / miB)
	var out []kindAnalyze
	for _, k := range []string{"php", "js", "html", "css", "images", "fonts/icons"} {
		if ka := kinds[k]; ka != nil {
			out = append(out, *ka)
		}
	}
	return c, out, nil
}

// ingestBench submits uploads through S3 and follows their jobs through
// the API.
type ingestBench struct {
	c   *s3.Client
	api *apiClient
	srv *server
}

// submit PUTs the file at p to incoming-other/key and waits for its job.
// The body goes as UNSIGNED-PAYLOAD: the SDK's default over plain HTTP
// would hash it on the client before sending (see the S3 phases), time
// that is the client's, not ingestion's.
func (ib *ingestBench) submit(ctx context.Context, key, p string, timeout time.Duration) (ingestRun, error) {
	r := ingestRun{Key: key}
	f, err := os.Open(p)
	if err != nil {
		return r, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return r, err
	}
	win := startWindow(cpuMeter{pid: ib.srv.Pid()})
	t0 := time.Now()
	out, err := ib.c.PutObject(withPhase(ctx, "ingest PUT"), &s3.PutObjectInput{
		Bucket: aws.String(incomingBucket), Key: aws.String(key), Body: f, ContentLength: aws.Int64(st.Size()),
	}, s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware))
	if err != nil {
		return r, fmt.Errorf("bench: PUT %s/%s: %w", incomingBucket, key, err)
	}
	r.PutSeconds = time.Since(t0).Seconds()
	if raw, ok := awsmiddleware.GetRawResponse(out.ResultMetadata).(*smithyhttp.Response); ok {
		r.JobID = raw.Header.Get("x-dewar-job-id")
	}
	if r.JobID == "" {
		return r, fmt.Errorf("bench: PUT %s/%s: no x-dewar-job-id in the answer", incomingBucket, key)
	}
	j, seen, err := ib.api.waitJob(ctx, r.JobID, 20*time.Millisecond, timeout)
	if err != nil {
		return r, err
	}
	r.Seconds = seen.Sub(t0).Seconds()
	if j.FinishedAt != nil {
		r.Finished = j.FinishedAt.Sub(t0).Seconds()
	}
	r.Files, r.NewFiles, r.Bytes = j.Stats.Files, j.Stats.NewFiles, j.Stats.Bytes
	// Analyses over the server's in-memory budget are recorded after the
	// job is done; wait for them, so they are charged to this upload.
	if later := waitAnalysed(ctx, ib.srv.logPath, r.JobID, r.NewFiles, timeout); !later.IsZero() {
		r.AnalysedAfter = later.Sub(t0).Seconds()
	}
	r.ServerCPU, r.ClientCPU, r.OtherCPU = win.end()
	jl := readJobLog(ib.srv.logPath, r.JobID)
	r.ServerTook, r.Analysed = jl.took, jl.analysed
	return r, nil
}

// jobLine is what the server logged about a job: the worker's
// "ingest: job finished" line and, when some analyses did not fit the
// in-memory budget, the later "ingest: analysed the files over the
// analysis budget" line.
type jobLine struct {
	took     float64   // claim to finish, seconds
	analysed int       // analyses recorded with the job
	finished bool      // the "job finished" line was found
	later    time.Time // when the analyses after Finish were done (zero: none)
}

var (
	finishedRE = regexp.MustCompile(`msg="ingest: job finished" job=(\S+) .*analysed=(\d+) took=(\S+)`)
	laterRE    = regexp.MustCompile(`^time=(\S+) .*msg="ingest: analysed the files over the analysis budget" job=(\S+) `)
)

// readJobLog reads the server log's lines about jobID.
func readJobLog(logPath, jobID string) jobLine {
	var j jobLine
	b, err := os.ReadFile(logPath)
	if err != nil {
		return j
	}
	for _, line := range strings.Split(string(b), "\n") {
		if m := finishedRE.FindStringSubmatch(line); m != nil && m[1] == jobID {
			j.finished = true
			j.analysed, _ = strconv.Atoi(m[2])
			if d, err := time.ParseDuration(m[3]); err == nil {
				j.took = d.Seconds()
			}
		}
		if m := laterRE.FindStringSubmatch(line); m != nil && m[2] == jobID {
			j.later, _ = time.Parse(time.RFC3339Nano, m[1])
		}
	}
	return j
}

// waitAnalysed waits until the server logged the analyses left over the
// budget for jobID (when the job recorded fewer analyses than it had new
// files), so the next measurement does not pay for them, and returns when
// they were done (zero: none were left over, or none logged in time).
func waitAnalysed(ctx context.Context, logPath, jobID string, newFiles int64, timeout time.Duration) time.Time {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		j := readJobLog(logPath, jobID)
		if !j.later.IsZero() || (j.finished && int64(j.analysed) >= newFiles) {
			return j.later
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Time{}
}

// bigArchive generates a zip of about size bytes, submits it, and samples
// the server's resident memory every 100 ms until the job is done and the
// server has gone quiet (analyses over the in-memory budget run after the
// job is recorded).
func (ib *ingestBench) bigArchive(ctx context.Context, dir string, size int64) (*bigIngest, error) {
	b := &bigIngest{}
	name := "ingest of a " + sizeLabel(size) + " archive"
	if free := freeBytes(dir); free < 3*size+giB {
		b.Skipped = fmt.Sprintf("not enough room in %s: %.1f GiB free, need %.1f GiB", dir, float64(free)/giB, float64(3*size+giB)/giB)
		fmt.Println("  memory:", name, "skipped:", b.Skipped)
		return b, nil
	}
	p := filepath.Join(dir, "big.zip")
	var err error
	if b.Archive, err = writeBigZip(p, size, 7); err != nil {
		return nil, fmt.Errorf("bench: large zip: %w", err)
	}
	defer os.Remove(p)
	fmt.Printf("  large archive: %d files, %.0f MiB expanded, zip %.0f MiB, generated in %.1f s\n",
		b.Archive.Files, float64(b.Archive.Bytes)/miB, float64(b.Archive.ZipBytes)/miB, b.Archive.GenSeconds)
	syscall.Sync()
	pid := ib.srv.Pid()
	b.Mem = memResult{Name: name, Bytes: b.Archive.ZipBytes}
	stop, err := sampleRSS(pid, &b.Mem)
	if err != nil {
		return nil, err
	}
	b.Run, err = ib.submit(ctx, "big.zip", p, 30*time.Minute)
	stop()
	if err != nil {
		return nil, err
	}
	if m, err := readMem(pid); err == nil {
		b.Mem.HWMMiB = kib(m.HWM)
	}
	b.Mem.Seconds = b.Run.Seconds
	b.Mem.MBPerSec = float64(b.Archive.Bytes) / b.Run.Seconds / 1e6
	b.Mem.ServerCPU, b.Mem.ClientCPU, b.Mem.OtherCPU = b.Run.ServerCPU, b.Run.ClientCPU, b.Run.OtherCPU
	printIngestRun(name, b.Run)
	fmt.Printf("  %-44s peak RSS %6.1f MiB (VmHWM %6.1f MiB, before %5.1f MiB)  [memory]\n", name, b.Mem.PeakRSSMiB, b.Mem.HWMMiB, b.Mem.BaseRSSMiB)
	return b, nil
}

// rows is the ingestion summary.
func (rep *ingestReport) rows(memory bool) []row {
	a, b := rep.Unzip.Seconds, rep.GoHash.Seconds
	first, again := rep.First, rep.againMed
	files, mib := float64(rep.Kit.Files), float64(rep.Kit.Bytes)/miB
	label := fmt.Sprintf("%s-file / %.0f MiB zip", thousands(rep.Kit.Files), float64(rep.Kit.ZipBytes)/miB)
	an := rep.Analyze.FilesSeconds + rep.Analyze.UploadSeconds
	rows := []row{
		maxRatioRow("first ingest (until done), "+label, first.Seconds, "s", "(a) unzip+sha256sum", a, 1.5),
		maxRatioRow("re-ingest, nothing new", again.Seconds, "s", "(a) unzip+sha256sum", a, 1.0),
	}
	if first.AnalysedAfter > 0 {
		rows = append(rows, maxRatioRow("first ingest until its last analysis", first.AnalysedAfter, "s", "(a) unzip+sha256sum", a, 0))
	}
	rows = append(rows,
		maxRatioRow("first ingest vs hashing floor", first.Seconds, "s", "(b) Go zip+sha256", b, 0),
		maxRatioRow("re-ingest vs hashing floor", again.Seconds, "s", "(b) Go zip+sha256", b, 0),
		ratioRow("first ingest, files/s", files/first.Seconds, "files/s", "(a) unzip+sha256sum", files/a, 0),
		ratioRow("first ingest, MiB/s (expanded)", mib/first.Seconds, "MiB/s", "(a) unzip+sha256sum", mib/a, 0),
		ratioRow("re-ingest, files/s", files/again.Seconds, "files/s", "(a) unzip+sha256sum", files/a, 0),
		ratioRow("re-ingest, MiB/s (expanded)", mib/again.Seconds, "MiB/s", "(a) unzip+sha256sum", mib/a, 0),
		maxRatioRow("analyzers alone (in-process, files + zip)", an, "s", "first ingest", first.Seconds, 0),
		row{Figure: "analyzer cost", Value: rep.Analyze.MsPerMiB, Unit: "ms/MiB"},
	)
	switch {
	case !memory:
		rows = append(rows, row{Figure: "peak RSS, large archive ingest", Unit: "MiB", Target: "< 200 MiB", Note: "not run (-memory=false)"})
	case rep.Big == nil:
		rows = append(rows, skippedRow("peak RSS, large archive ingest", "MiB", "< 200 MiB", "not measured"))
	case rep.Big.Skipped != "":
		rows = append(rows, skippedRow("peak RSS, large archive ingest", "MiB", "< 200 MiB", rep.Big.Skipped))
	default:
		p := rep.Big.Mem.Peak()
		rows = append(rows, targetRow("peak RSS, "+rep.Big.Mem.Name, p, "MiB", "< 200 MiB", p < 200))
		rows = append(rows, row{Figure: "large archive ingest, MiB/s (expanded)", Value: float64(rep.Big.Archive.Bytes) / miB / rep.Big.Run.Seconds, Unit: "MiB/s"})
	}
	return rows
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// printIngest writes the ingestion tables.
func printIngest(out io.Writer, rep *ingestReport) {
	tw := tabwriter.NewWriter(out, 2, 8, 2, ' ', 0)
	k := rep.Kit
	fmt.Fprintf(tw, "\nINGEST (kit: %d files, %.1f MiB expanded, %.1f MiB zip; through S3 PUT to %s, done seen by polling the API every 20 ms)\n",
		k.Files, float64(k.Bytes)/miB, float64(k.ZipBytes)/miB, incomingBucket)
	fmt.Fprintf(tw, "step\tseconds\tfiles/s\tMiB/s\tPUT s\tworker s\tanalyses done s\tserver CPU s\tclient CPU s\tnew files\tother processes' CPU\n")
	ref := func(name string, t refTiming) {
		fmt.Fprintf(tw, "%s\t%.2f\t%.0f\t%.1f\t-\t-\t-\t-\t%.2f\t-\t%.0f%%\n", name, t.Seconds, float64(k.Files)/t.Seconds, float64(k.Bytes)/miB/t.Seconds, t.CPU, 100*t.OtherCPU)
	}
	ref("(a) "+rep.Unzip.What, rep.Unzip)
	ref("(b) "+rep.GoHash.What, rep.GoHash)
	run := func(name string, r ingestRun, files, bytes int64) {
		later := "-"
		if r.AnalysedAfter > 0 {
			later = fmt.Sprintf("%.2f", r.AnalysedAfter)
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%.0f\t%.1f\t%.2f\t%.2f\t%s\t%.1f\t%.1f\t%d\t%.0f%%\n", name, r.Seconds, float64(files)/r.Seconds, float64(bytes)/miB/r.Seconds,
			r.PutSeconds, r.ServerTook, later, r.ServerCPU, r.ClientCPU, r.NewFiles, 100*r.OtherCPU)
	}
	run("first ingest "+rep.First.Key, rep.First, int64(k.Files), k.Bytes)
	for _, r := range rep.Again {
		run("re-ingest "+r.Key, r, int64(k.Files), k.Bytes)
	}
	if rep.Big != nil && rep.Big.Skipped == "" {
		run(rep.Big.Mem.Name, rep.Big.Run, int64(rep.Big.Archive.Files), rep.Big.Archive.Bytes)
	}
	tw.Flush()
	a := rep.Analyze
	fmt.Fprintf(tw, "\nANALYZERS IN-PROCESS (gateway/analyze.Analyze, one goroutine like one ingest worker; files held in memory)\nkind\tfiles\tMiB\tseconds\tMiB/s\tms/MiB\n")
	for _, ka := range rep.byKind {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.2f\t%.1f\t%.0f\n", ka.Kind, ka.Files, float64(ka.Bytes)/miB, ka.Seconds, float64(ka.Bytes)/miB/ka.Seconds, 1000*ka.Seconds/(float64(ka.Bytes)/miB))
	}
	fmt.Fprintf(tw, "the zip itself (fuzzy hashes only)\t1\t%.1f\t%.2f\t%.1f\t%.0f\n", float64(a.UploadBytes)/miB, a.UploadSeconds, float64(a.UploadBytes)/miB/a.UploadSeconds, 1000*a.UploadSeconds/(float64(a.UploadBytes)/miB))
	fmt.Fprintf(tw, "all\t%d\t%.1f\t%.2f\t%.1f\t%.0f\n", a.Files+1, float64(a.Bytes+a.UploadBytes)/miB, a.FilesSeconds+a.UploadSeconds,
		float64(a.Bytes+a.UploadBytes)/miB/(a.FilesSeconds+a.UploadSeconds), a.MsPerMiB)
	tw.Flush()
	if rep.Big != nil && rep.Big.Skipped == "" {
		m := rep.Big.Mem
		fmt.Fprintf(out, "\nLARGE ARCHIVE: %s: peak VmRSS %.1f MiB (VmHWM %.1f MiB%s, before %.1f MiB, %d samples)\n",
			m.Name, m.PeakRSSMiB, m.HWMMiB, map[bool]string{true: "", false: " lifetime"}[m.HWMReset], m.BaseRSSMiB, m.Samples)
	}
	printRows(out, "INGEST SUMMARY", rep.Rows)
	for _, name := range []string{"first ingest", "re-ingest"} {
		if p, ok := rep.Profiles[name]; ok {
			fmt.Fprintf(out, "perf profile of the %s (server and bench): %s\n", name, p)
		}
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(out, "note: %s\n", n)
	}
}
