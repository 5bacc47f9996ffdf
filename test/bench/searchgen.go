package main

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"dewar/analyzers/ssdeep"
	"dewar/analyzers/tlsh"
	"dewar/cas"
	"dewar/gateway/analyze"
	"dewar/index"
)

// searchGenVersion names the generator's output: a cached index made by
// another version is regenerated. Bump it whenever corpus changes what
// it generates.
const searchGenVersion = 1

// corpus is the search benchmark's synthetic index: jobs of jobFiles new
// files each, plus the job's upload and two files shared with other jobs
// (libraries every kit carries). Everything is a pure function of the
// numbers, so the queries can name files, hashes and indicators that
// exist without reading the index back.
//
// Per file (see fileOf and analysisOf): sha256, sha1 and md5 of a seed
// string; a size log-uniform per kind; the MIME type analyzers/mime gives
// that kind; an ssdeep hash of the length and block size ssdeep picks for
// that size and a TLSH of that size's length bucket, both random beyond
// that (real hashes of unrelated files share nothing either), and their
// real index keys (gateway/analyze.SSDeepKeys); for text, a MinHash
// signature with its real band keys, about 8.5 indicators drawn from
// pools where a few values are very common and most rare, 12 tokens from
// a pool of 50,000 (real files have hundreds; fewer keep generation
// affordable, and token: queries are not measured); for images, PDQ and
// pHash with their band keys. One text file in simEvery belongs to a
// family of near-duplicates (ssdeep and TLSH a few characters apart,
// MinHash 80% equal), which is what similar: finds.
type corpus struct {
	Jobs    int `json:"jobs"`
	JobSize int `json:"files_per_job"` // new files per job
	Shared  int `json:"shared_files"`  // library files, two in every job
}

const (
	simEvery = 50 // one text file in simEvery is in a family
	// keyEvery: one file in keyEvery (and every near-duplicate) has its
	// similarity keys indexed. Real analyses index ~80 keys for every
	// file (ssdeep 7-grams, MinHash and image-hash bands): ~90 million
	// rows at 1M files, all random inserts, hours of page writes on
	// either database. Every file keeps its hashes (TLSH candidates come
	// from all of them), queries probe as many keys as real ones do, and
	// random keys never meet anyway; the table is an eighth of its real
	// size.
	keyEvery   = 8
	familySize = 12 // members per family, about
	kgEvery    = 50 // one job in kgEvery is known-good
)

func corpusFor(quick bool) corpus {
	if quick {
		return corpus{Jobs: 5000, JobSize: 20, Shared: 1000}
	}
	return corpus{Jobs: 50000, JobSize: 20, Shared: 1000}
}

// Files is the number of generated (non-upload, non-shared) files.
func (c corpus) Files() int { return c.Jobs * c.JobSize }

func (c corpus) families() int { return max(1, c.Files()/simEvery/familySize) }

// fileKind is what a file is, by number.
type fileKind struct {
	ext, mime, lang string
	text, image     bool
	lo, hi          int // size range
}

var fileKinds = []fileKind{
	{".php", "text/x-php", "php", true, false, 300, 300 << 10},
	{".js", "text/javascript", "js", true, false, 300, 300 << 10},
	{".html", "text/html", "html", true, false, 300, 200 << 10},
	{".css", "text/css", "css", true, false, 300, 100 << 10},
	{".png", "image/png", "", false, true, 200, 200 << 10},
	{".jpg", "image/jpeg", "", false, true, 4 << 10, 600 << 10},
	{".woff", "font/woff", "", false, false, 4 << 10, 300 << 10},
	{".bin", "application/octet-stream", "", false, false, 1 << 10, 2 << 20},
}

// kindOf spreads kinds: 30% PHP, 15% JS, 10% HTML, 5% CSS, 15% PNG, 10%
// JPEG, 10% fonts, 5% other binary.
func kindOf(n uint64) fileKind {
	switch x := n % 100; {
	case x < 30:
		return fileKinds[0]
	case x < 45:
		return fileKinds[1]
	case x < 55:
		return fileKinds[2]
	case x < 60:
		return fileKinds[3]
	case x < 75:
		return fileKinds[4]
	case x < 85:
		return fileKinds[5]
	case x < 95:
		return fileKinds[6]
	default:
		return fileKinds[7]
	}
}

// fileID names a file: its kind of origin ("f" generated, "u" upload,
// "s" shared) and number.
type fileID struct {
	kind byte
	n    int
}

func (id fileID) seed() string { return fmt.Sprintf("dewar-bench-%c-%d", id.kind, id.n) }

func (id fileID) rng(stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(id.n)*4+uint64(id.kind), stream))
}

// hashes returns the file's sha256, sha1 and md5.
func (id fileID) hashes() (cas.Ref, string, string) {
	s := []byte(id.seed())
	h1, h5 := sha1.Sum(s), md5.Sum(s)
	return cas.Sum(s), hex.EncodeToString(h1[:]), hex.EncodeToString(h5[:])
}

func (id fileID) fileKind() fileKind {
	switch id.kind {
	case 'u':
		return fileKind{ext: ".zip", mime: "application/zip", lo: 200 << 10, hi: 50 << 20}
	case 's':
		return fileKinds[1] // libraries: JavaScript
	}
	return kindOf(uint64(id.n) * 0x9e3779b97f4a7c15 >> 32)
}

// file returns the index record.
func (id fileID) file() index.File {
	k := id.fileKind()
	ref, s1, m5 := id.hashes()
	size := logUniform(id.rng(1), k.lo, k.hi)
	if id.kind == 'f' && id.n%simEvery == 0 && k.text {
		size = 18000 + id.rng(1).IntN(4000) // a family member: near its family's size
	}
	return index.File{Ref: ref, Size: int64(size), SHA1: s1, MD5: m5, MIME: k.mime}
}

// family returns the file's near-duplicate family, -1 for none.
func (c corpus) family(id fileID) int {
	if id.kind != 'f' || id.n%simEvery != 0 || !id.fileKind().text {
		return -1
	}
	return (id.n / simEvery) % c.families()
}

// IOC pools: sizes at full scale (a tenth with -quick), and the share of
// indicators of each type.
var iocPools = []struct {
	typ   string
	size  int
	share int // percent
}{
	{"email", 300000, 25},
	{"domain", 150000, 25},
	{"url", 1500000, 30},
	{"ip", 200000, 15},
	{"telegram-token", 20000, 3},
	{"telegram-chat", 20000, 2},
}

var iocWords = strings.Fields(`secure login account verify update billing support service mail web cloud online
	portal bank pay card auth id center help info admin user client access check safe my app host`)
var iocTLDs = []string{"com", "net", "org", "info", "xyz", "top", "online", "site", "ru", "br", "co.uk", "de", "io", "cc"}

// iocValue returns value number i of a pool, as the ioc analyzer
// normalises them (lowercase hosts).
func iocValue(typ string, i int) string {
	r := rand.New(rand.NewPCG(uint64(i), uint64(len(typ))*7919))
	w := func() string { return iocWords[r.IntN(len(iocWords))] }
	domain := func(j int) string {
		rr := rand.New(rand.NewPCG(uint64(j), 0xd0))
		return fmt.Sprintf("%s-%s%d.%s", iocWords[rr.IntN(len(iocWords))], iocWords[rr.IntN(len(iocWords))], j, iocTLDs[j%len(iocTLDs)])
	}
	switch typ {
	case "email":
		return fmt.Sprintf("%s.%s%d@%s", w(), w(), i%1000, domain(i/3))
	case "domain":
		return domain(i)
	case "url":
		return fmt.Sprintf("https://%s/%s/%s.php?id=%x", domain(i/10), w(), w(), i)
	case "ip":
		return fmt.Sprintf("%d.%d.%d.%d", 1+i%223, (i/223)%256, (i*7)%256, 1+(i*13)%254)
	case "telegram-token":
		return fmt.Sprintf("%d:AA%032x", 1000000000+i*7, uint64(i)*0x9e3779b97f4a7c15)
	default: // telegram-chat
		return fmt.Sprintf("-100%d", 1000000000+i*13)
	}
}

// skewed draws an index below n with a heavy head: a few values are in
// very many files (a popular mail drop), most in one or two.
func skewed(r *rand.Rand, n int) int {
	u := r.Float64()
	return int(float64(n) * u * u * u)
}

// iocsOf returns a text file's indicators: 6 to 11.
func (c corpus) iocsOf(id fileID, quick bool) []index.IOC {
	r := id.rng(2)
	n := 6 + r.IntN(6)
	out := make([]index.IOC, 0, n)
	for range n {
		x := r.IntN(100)
		p := iocPools[0]
		for _, q := range iocPools {
			if x < q.share {
				p = q
				break
			}
			x -= q.share
		}
		size := p.size
		if quick {
			size /= 10
		}
		v := iocValue(p.typ, skewed(r, size))
		chain := ""
		if r.IntN(10) == 0 {
			chain = "base64"
		}
		class := ""
		if p.typ == "ip" {
			class = "public"
		}
		out = append(out, index.IOC{Type: p.typ, Value: v, Chain: chain, Class: class, Context: "$" + iocWords[r.IntN(len(iocWords))] + " = '" + v + "';"})
	}
	return out
}

// tokensOf returns 12 tokens of a text file from a pool of 50,000.
func tokensOf(id fileID) []string {
	r := id.rng(3)
	out := make([]string, 12)
	for i := range out {
		t := skewed(r, 50000)
		out[i] = fmt.Sprintf("%s_%s%d", iocWords[t%len(iocWords)], iocWords[(t/len(iocWords))%len(iocWords)], t)
	}
	return out
}

const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

func randB64(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = b64[r.IntN(len(b64))]
	}
	return b
}

// ssdeepFor returns an ssdeep hash for size bytes: the block size ssdeep
// would pick (3·2^k with a chunk of at most 64 characters) and chunks of
// the length that gives, drawn from r.
func ssdeepFor(r *rand.Rand, size int) ssdeep.Hash {
	bs := uint64(3)
	for bs*64 < uint64(size) {
		bs *= 2
	}
	l1 := min(64, max(8, size/int(bs)))
	return ssdeep.Hash{BlockSize: bs, Chunk1: string(randB64(r, l1)), Chunk2: string(randB64(r, max(4, l1/2)))}
}

// mutate changes k random characters of s.
func mutate(r *rand.Rand, s string, k int) string {
	b := []byte(s)
	for range k {
		if len(b) > 0 {
			b[r.IntN(len(b))] = b64[r.IntN(len(b64))]
		}
	}
	return string(b)
}

// tlshLength is TLSH's length bucket for n bytes (its l_capturing).
func tlshLength(n int) byte {
	x := float64(n)
	var l float64
	switch {
	case n <= 656:
		l = math.Floor(math.Log(x) / math.Log(1.5))
	case n <= 3199:
		l = math.Floor(math.Log(x)/math.Log(1.3) - 8.72777)
	default:
		l = math.Floor(math.Log(x)/math.Log(1.1) - 62.5472)
	}
	return byte(int(l) & 0xff)
}

func tlshFor(r *rand.Rand, size int) tlsh.Digest {
	d := tlsh.Digest{Checksum: byte(r.Uint32()), LValue: tlshLength(size), Q1Ratio: byte(r.IntN(16)), Q2Ratio: byte(r.IntN(16))}
	for i := range d.Body {
		d.Body[i] = byte(r.Uint32())
	}
	return d
}

func hexOf(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return hex.EncodeToString(b)
}

// analysisOf returns the file's analysis record.
func (c corpus) analysisOf(id fileID, f index.File, quick bool) index.Analysis {
	k := id.fileKind()
	r := id.rng(4)
	size := int(f.Size)
	a := index.Analysis{Ref: f.Ref, Versions: analyze.Versions(), AnalyzedAt: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), Language: k.lang}
	ss, tl := ssdeepFor(r, size), tlshFor(r, size)
	var sig []uint32
	if k.text {
		sig = make([]uint32, 128)
		for i := range sig {
			sig[i] = r.Uint32()
		}
	}
	if fam := c.family(id); fam >= 0 {
		// Near-duplicates: the family's hashes, a little changed.
		fr := rand.New(rand.NewPCG(uint64(fam), 0xfa))
		base := ssdeepFor(fr, 20000)
		ss = ssdeep.Hash{BlockSize: base.BlockSize, Chunk1: mutate(r, base.Chunk1, 2), Chunk2: mutate(r, base.Chunk2, 1)}
		bt := tlshFor(fr, 20000)
		for range 4 {
			bt.Body[r.IntN(len(bt.Body))] = byte(r.Uint32())
		}
		tl = bt
		for i := range sig {
			v := fr.Uint32()
			if r.IntN(5) != 0 {
				sig[i] = v
			}
		}
	}
	// Similarity keys: every near-duplicate's, and one other file's in
	// keyEvery (see keyEvery).
	keyed := c.family(id) >= 0 || id.n%keyEvery == 0
	a.SSDeep, a.TLSH = ss.String(), tl.String()
	if keyed {
		a.Keys = append(a.Keys, analyze.SSDeepKeys(a.SSDeep)...)
	}
	if sig != nil {
		a.MinHash = sig
		if keyed {
			a.Keys = append(a.Keys, analyze.MinHashKeys(sig)...)
		}
		a.IOCs = c.iocsOf(id, quick)
		a.Tokens = tokensOf(id)
	}
	if k.image {
		a.PDQ, a.PHash = hexOf(r, 32), hexOf(r, 8)
		if keyed {
			a.Keys = append(a.Keys, analyze.PDQKeys(a.PDQ)...)
			a.Keys = append(a.Keys, analyze.PHashKeys(a.PHash)...)
		}
	}
	return a
}

var jobDirs = []string{"", "admin", "includes", "assets/js", "assets/css", "assets/img", "pages", "mailer", "vendor/lib"}

var submitters = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"}

// jobOf returns job j's record and result: its new files, two shared
// ones and the upload, with a tree and analyses.
func (c corpus) jobOf(j int, quick bool) (index.Job, index.JobResult) {
	up := fileID{'u', j}
	uf := up.file()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	job := index.Job{
		Name: fmt.Sprintf("kit-%06d.zip", j), KnownGood: j%kgEvery == 0,
		SubmittedAt: t0.Add(time.Duration(j) * (500 * 24 * time.Hour / time.Duration(c.Jobs))),
		Submitter:   submitters[j%len(submitters)], Upload: uf.Ref, UploadSize: uf.Size, UploadMD5: uf.MD5,
		SourceBucket: "incoming-other", SourceKey: fmt.Sprintf("kit-%06d.zip", j), ContentType: "application/zip",
	}
	res := index.JobResult{Status: index.JobDone, Commit: func(context.Context, cas.Ref) error { return nil }}
	add := func(id fileID, dir string) {
		f := id.file()
		res.Files = append(res.Files, f)
		res.Analyses = append(res.Analyses, c.analysisOf(id, f, quick))
		if dir == "" {
			return
		}
		r := id.rng(5)
		name := fmt.Sprintf("%s-%s-%d%s", iocWords[r.IntN(len(iocWords))], iocWords[r.IntN(len(iocWords))], id.n, id.fileKind().ext)
		res.Tree = append(res.Tree, index.TreeEntry{Path: strings.TrimPrefix(dir+"/"+name, "/"), Type: index.TreeFile, Blob: f.Ref, Size: f.Size})
	}
	add(up, "")
	root := fmt.Sprintf("kit-%06d", j)
	for k := range c.JobSize {
		n := j*c.JobSize + k
		add(fileID{'f', n}, root+"/"+jobDirs[n%len(jobDirs)])
	}
	for k := range 2 {
		add(fileID{'s', (j*7 + k*13) % c.Shared}, root+"/vendor/lib")
	}
	return job, res
}

// genIndex is the index as generation uses it.
type genIndex interface {
	index.Jobs
	index.Queue
}

// generate fills ix with the corpus: workers goroutines each create a
// job, claim one and finish it with the claimed job's result. progress is
// called now and then with the number of jobs done.
func (c corpus) generate(ctx context.Context, ix genIndex, quick bool, workers int, progress func(done int)) error {
	var next, done atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}
	noop := func(context.Context) error { return nil }
	for w := range workers {
		wg.Go(func() {
			owner := "bench-gen-" + strconv.Itoa(w)
			for {
				j := int(next.Add(1) - 1)
				if j >= c.Jobs || ctx.Err() != nil {
					return
				}
				job, _ := c.jobOf(j, quick)
				job.ID = index.NewJobID(job.SubmittedAt)
				if _, err := ix.CreateJob(ctx, index.NewJob{Job: job, Commit: noop}); err != nil {
					fail(fmt.Errorf("bench: create job %d: %w", j, err))
					return
				}
				// Another generator may have claimed this job, and the
				// job it created may not be visible yet: try again.
				claimed, lease, err := ix.Claim(ctx, owner, time.Hour)
				for try := 0; errors.Is(err, index.ErrNoJob) && try < 100; try++ {
					time.Sleep(5 * time.Millisecond)
					claimed, lease, err = ix.Claim(ctx, owner, time.Hour)
				}
				if err != nil {
					fail(fmt.Errorf("bench: claim: %w", err))
					return
				}
				n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(claimed.Name, "kit-"), ".zip"))
				if err != nil {
					fail(fmt.Errorf("bench: claimed a job that is not the generator's: %q", claimed.Name))
					return
				}
				_, res := c.jobOf(n, quick)
				if _, err := ix.Finish(ctx, lease, res); err != nil {
					fail(fmt.Errorf("bench: finish job %d: %w", n, err))
					return
				}
				if d := done.Add(1); d%500 == 0 && progress != nil {
					progress(int(d))
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	// Count the jobs' tokens, as ingest workers do after each job, so the
	// cached corpus leaves no counting for the servers to do. One counter:
	// concurrent ones would queue on the common tokens' rows anyway.
	for {
		n, err := ix.CountJobTokens(ctx, 1000)
		if err != nil {
			return fmt.Errorf("bench: count tokens: %w", err)
		}
		if n == 0 {
			return ctx.Err()
		}
	}
}

// iocCount returns the number of indicator rows of the corpus (sum over
// text files; shared files counted once).
func (c corpus) iocCount(quick bool) int {
	n := 0
	for f := range c.Files() {
		id := fileID{'f', f}
		if id.fileKind().text {
			n += len(c.iocsOf(id, quick))
		}
	}
	for s := range c.Shared {
		n += len(c.iocsOf(fileID{'s', s}, quick))
	}
	return n
}
