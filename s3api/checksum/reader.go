package checksum

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"hash"
	"io"
	"net/http"
	"slices"
	"sync"
)

// Reader passes a payload through while hashing it with MD5 and every
// algorithm in Want.Values, Want.TrailerAlgorithm and Want.Compute. At the
// end of the payload it checks the expected values and returns, instead of
// io.EOF: ErrBadDigest (Content-MD5), a *MismatchError (ErrChecksumMismatch),
// ErrMissingTrailer or ErrInvalidChecksum (a malformed trailer value).
// Errors are sticky. A Reader is not safe for concurrent use.
type Reader struct {
	src  io.Reader
	want Want
	md5  hash.Hash
	algs []Algorithm
	hs   []hash.Hash // parallel to algs
	err  error
	md5s []byte
	sums map[Algorithm]string
	// Large bodies are hashed on another goroutine (see background).
	n    int64
	back *background
}

// NewReader wraps r. Read performs no per-byte work beyond the hashes and
// allocates nothing until EOF.
func NewReader(r io.Reader, w Want) *Reader {
	cr := &Reader{src: r, want: w, md5: md5.New()}
	add := func(a Algorithm) {
		if a != "" && a.Size() > 0 && !slices.Contains(cr.algs, a) {
			cr.algs = append(cr.algs, a)
			cr.hs = append(cr.hs, a.New())
		}
	}
	for _, a := range Algorithms() { // fixed order, whatever the map order
		if _, ok := w.Values[a]; ok {
			add(a)
		}
	}
	add(w.TrailerAlgorithm)
	for _, a := range w.Compute {
		add(a)
	}
	return cr
}

func (r *Reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.src.Read(p)
	if n > 0 {
		r.hash(p[:n])
	}
	if err == io.EOF {
		err = r.finish()
	}
	if err != nil {
		r.err = err
	}
	return n, err
}

// finish computes the digests and checks them; it returns io.EOF when all
// match.
func (r *Reader) finish() error {
	if r.back != nil {
		r.back.wait()
		r.back = nil
	}
	r.md5s = r.md5.Sum(nil)
	r.sums = make(map[Algorithm]string, len(r.algs))
	sums := make([][]byte, len(r.algs))
	for i, a := range r.algs {
		sums[i] = r.hs[i].Sum(nil)
		r.sums[a] = base64.StdEncoding.EncodeToString(sums[i])
	}
	if r.want.ContentMD5 != nil && !bytes.Equal(r.want.ContentMD5, r.md5s) {
		return fmt.Errorf("checksum: Content-MD5 %s, body MD5 %s: %w",
			base64.StdEncoding.EncodeToString(r.want.ContentMD5), base64.StdEncoding.EncodeToString(r.md5s), ErrBadDigest)
	}
	for i, a := range r.algs {
		v, ok := r.want.Values[a]
		if !ok {
			continue
		}
		if err := r.compare(a, v, sums[i]); err != nil {
			return err
		}
	}
	if a := r.want.TrailerAlgorithm; a != "" {
		v := ""
		if r.want.Trailer != nil {
			v = trailerValue(r.want.Trailer(), a.HeaderName())
		}
		if v == "" {
			return fmt.Errorf("checksum: trailer %s: %w", a.HeaderName(), ErrMissingTrailer)
		}
		if err := r.compare(a, v, sums[slices.Index(r.algs, a)]); err != nil {
			return err
		}
	}
	return io.EOF
}

func (r *Reader) compare(a Algorithm, v string, sum []byte) error {
	want, err := decode(a, v)
	if err != nil {
		return err
	}
	if !bytes.Equal(want, sum) {
		return &MismatchError{Algorithm: a, Expected: v, Computed: r.sums[a]}
	}
	return nil
}

// trailerValue finds name in h whether the keys are lowercase (as
// sigv4.Result.Trailer gives them) or canonical.
func trailerValue(h http.Header, name string) string {
	if vs := h[name]; len(vs) > 0 {
		return vs[0]
	}
	return h.Get(name)
}

// MD5 returns the body's MD5 (the S3 ETag of a single PUT); nil before EOF.
func (r *Reader) MD5() []byte { return r.md5s }

// Sums returns the base64 digest of every computed algorithm; nil before
// EOF. The map is the Reader's; do not modify it.
func (r *Reader) Sums() map[Algorithm]string { return r.sums }

// asyncAfter is how much of a body is hashed inline before the rest moves
// to a background goroutine: small bodies are not worth a goroutine, and
// for large ones MD5 (the slowest hash, ~350 MB/s here) then runs on one
// core while the caller reads, hashes sha256 and writes on another.
const asyncAfter = 1 << 20

func (r *Reader) hash(b []byte) {
	r.n += int64(len(b))
	if r.back == nil && r.n > asyncAfter {
		r.back = startBackground(append([]hash.Hash{r.md5}, r.hs...))
	}
	if r.back != nil {
		r.back.write(b)
		return
	}
	r.md5.Write(b)
	for _, h := range r.hs {
		h.Write(b)
	}
}

// Close stops a background hasher when the body is abandoned before EOF.
// Safe to call at any time and more than once.
func (r *Reader) Close() error {
	if r.back != nil {
		r.back.wait()
		r.back = nil
	}
	return nil
}

// background feeds copies of the body to hashes on their own goroutine.
// At most backlog buffers are in flight, so memory stays bounded.
type background struct {
	ch   chan chunk
	done chan struct{}
}

type chunk struct {
	buf *[]byte
	n   int
}

const (
	backBuf = 256 << 10
	backlog = 8
)

var backPool = sync.Pool{New: func() any { b := make([]byte, backBuf); return &b }}

func startBackground(hs []hash.Hash) *background {
	bg := &background{ch: make(chan chunk, backlog), done: make(chan struct{})}
	go func() {
		defer close(bg.done)
		for c := range bg.ch {
			for _, h := range hs {
				h.Write((*c.buf)[:c.n])
			}
			backPool.Put(c.buf)
		}
	}()
	return bg
}

func (bg *background) write(b []byte) {
	for len(b) > 0 {
		bp := backPool.Get().(*[]byte)
		n := copy(*bp, b)
		bg.ch <- chunk{bp, n}
		b = b[n:]
	}
}

// wait lets the goroutine hash what it has and end.
func (bg *background) wait() {
	close(bg.ch)
	<-bg.done
}
