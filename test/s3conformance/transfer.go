package s3conformance

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	tmtypes "github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

var transferCases = []testCase{
	{"TransferManagerMultipart", testTransferMultipart},
	{"TransferManagerSinglePart", testTransferSingle},
}

// memWriterAt is an io.WriterAt over a growing byte slice.
type memWriterAt struct {
	mu  sync.Mutex
	buf []byte
}

func (m *memWriterAt) WriteAt(p []byte, off int64) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if end := int(off) + len(p); end > len(m.buf) {
		m.buf = append(m.buf, make([]byte, end-len(m.buf))...)
	}
	copy(m.buf[off:], p)
	return len(p), nil
}

// testTransferMultipart uploads a large object with the transfer manager
// (multipart, CRC32 per part) and downloads it in each of its modes: the
// default part mode (GET ?partNumber=N, sized by x-amz-mp-parts-count),
// the range mode, and the streaming GetObject.
func testTransferMultipart(t *testing.T, e *env) {
	b := e.bucket(t)
	body := data(int(e.tg.Caps.LargeObjectSize))
	const partSize = 8 << 20 // the transfer manager's default
	rec := e.recorder()
	tm := transfermanager.New(e.client(rec))
	up, err := tm.UploadObject(ctx(t), &transfermanager.UploadObjectInput{
		Bucket: &b, Key: aws.String("big"), Body: bytes.NewReader(body),
		ContentType: aws.String("application/x-tar"), Metadata: map[string]string{"notes": "large"},
	})
	must(t, err, "UploadObject")
	var parts [][]byte
	for off := 0; off < len(body); off += partSize {
		parts = append(parts, body[off:min(off+partSize, len(body))])
	}
	eq(t, "ETag", aws.ToString(up.ETag), multipartETag(parts...))
	uploads := 0
	for _, x := range rec.exchanges() {
		if x.method == http.MethodPut && x.url.Query().Has("partNumber") {
			uploads++
		}
		if x.method == http.MethodPost && x.url.Query().Has("uploads") {
			eq(t, "create x-amz-checksum-algorithm", x.header.Get("X-Amz-Checksum-Algorithm"), "CRC32")
		}
	}
	eq(t, "UploadPart requests", uploads, len(parts))
	head, err := e.s3.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: &b, Key: aws.String("big")})
	must(t, err, "HeadObject")
	eq(t, "PartsCount", aws.ToInt32(head.PartsCount), int32(len(parts)))
	eq(t, "Content-Type", aws.ToString(head.ContentType), "application/x-tar")
	eq(t, "metadata", head.Metadata["notes"], "large")

	t.Run("DownloadObject parts", func(t *testing.T) {
		rec := e.recorder()
		tm := transfermanager.New(e.client(rec))
		w := &memWriterAt{}
		out, err := tm.DownloadObject(ctx(t), &transfermanager.DownloadObjectInput{Bucket: &b, Key: aws.String("big"), WriterAt: w})
		must(t, err, "DownloadObject")
		if !bytes.Equal(w.buf, body) {
			t.Fatalf("downloaded %d bytes (sha256 %s), want %d", len(w.buf), sha256Hex(w.buf)[:12], len(body))
		}
		eq(t, "ContentLength", aws.ToInt64(out.ContentLength), int64(len(body)))
		seen := map[string]bool{}
		for _, x := range rec.exchanges() {
			if x.method == http.MethodGet {
				pn := x.url.Query().Get("partNumber")
				if pn == "" {
					t.Errorf("a GET without partNumber: %s", x.url)
				}
				seen[pn] = true
				eq(t, "part GET status", x.status, http.StatusPartialContent)
				eq(t, "x-amz-mp-parts-count", x.respHead.Get("x-amz-mp-parts-count"), strconv.Itoa(len(parts)))
			}
		}
		eq(t, "distinct parts fetched", len(seen), len(parts))
	})
	t.Run("DownloadObject ranges", func(t *testing.T) {
		rec := e.recorder()
		tm := transfermanager.New(e.client(rec), func(o *transfermanager.Options) {
			o.GetObjectType = tmtypes.GetObjectRanges
			o.PartSizeBytes = 7 << 20
		})
		w := &memWriterAt{}
		_, err := tm.DownloadObject(ctx(t), &transfermanager.DownloadObjectInput{Bucket: &b, Key: aws.String("big"), WriterAt: w})
		must(t, err, "DownloadObject ranges")
		if !bytes.Equal(w.buf, body) {
			t.Fatalf("downloaded %d bytes, want %d", len(w.buf), len(body))
		}
		ranged, withIfMatch := 0, 0
		for _, x := range rec.exchanges() {
			if x.method == http.MethodGet && x.header.Get("Range") != "" {
				ranged++
				if x.header.Get("If-Match") != "" {
					withIfMatch++
				}
			}
		}
		if ranged < 6 {
			t.Errorf("%d ranged GETs", ranged)
		}
		if withIfMatch < ranged-1 {
			t.Errorf("%d of %d ranged GETs carried If-Match", withIfMatch, ranged)
		}
	})
	t.Run("GetObject stream", func(t *testing.T) {
		rec := e.recorder()
		tm := transfermanager.New(e.client(rec), func(o *transfermanager.Options) { o.GetObjectBufferSize = 20 << 20 })
		out, err := tm.GetObject(ctx(t), &transfermanager.GetObjectInput{Bucket: &b, Key: aws.String("big")})
		must(t, err, "GetObject")
		got, err := io.ReadAll(out.Body)
		must(t, err, "reading")
		if !bytes.Equal(got, body) {
			t.Fatalf("streamed %d bytes, want %d", len(got), len(body))
		}
		heads := 0
		for _, x := range rec.exchanges() {
			if x.method == http.MethodHead {
				heads++
				eq(t, "HEAD ?partNumber=1", x.url.Query().Get("partNumber"), "1")
				eq(t, "HEAD x-amz-mp-parts-count", x.respHead.Get("x-amz-mp-parts-count"), strconv.Itoa(len(parts)))
			}
		}
		eq(t, "HEAD requests", heads, 1)
	})
}

// testTransferSingle: below the multipart threshold the transfer manager
// sends one PUT, and the part-mode download of a plain object is one GET.
func testTransferSingle(t *testing.T, e *env) {
	b := e.bucket(t)
	body := data(int(e.tg.Caps.LargeObjectSize))
	tm := transfermanager.New(e.client(nil), func(o *transfermanager.Options) { o.MultipartUploadThreshold = 1 << 30 })
	up, err := tm.UploadObject(ctx(t), &transfermanager.UploadObjectInput{Bucket: &b, Key: aws.String("one"), Body: bytes.NewReader(body)})
	must(t, err, "UploadObject single")
	eq(t, "ETag", aws.ToString(up.ETag), quotedMD5(body))
	rec := e.recorder()
	tm = transfermanager.New(e.client(rec))
	w := &memWriterAt{}
	_, err = tm.DownloadObject(ctx(t), &transfermanager.DownloadObjectInput{Bucket: &b, Key: aws.String("one"), WriterAt: w})
	must(t, err, "DownloadObject")
	if !bytes.Equal(w.buf, body) {
		t.Fatalf("downloaded %d bytes, want %d", len(w.buf), len(body))
	}
	gets := 0
	for _, x := range rec.exchanges() {
		if x.method == http.MethodGet {
			gets++
			eq(t, "status of part 1 of a plain object", x.status, http.StatusOK)
		}
	}
	eq(t, "GET requests", gets, 1)
}
