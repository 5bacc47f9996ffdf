package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync/atomic"
)

// stampLen is the length of the per-operation prefix that makes every body
// unique, so the server's whole-object deduplication never short-circuits
// a write.
const stampLen = 16

// pool is a block of random bytes that bodies are cut from. Generating it
// once keeps body generation off the CPU during measurements (the machine
// has two cores shared by client and server); random bytes keep bodies
// incompressible.
type pool struct {
	buf   []byte
	nonce uint64 // differs between runs
	seq   atomic.Uint64
	rng   atomic.Uint64 // cheap offset generator state
}

// newPool fills size random bytes (ChaCha8, seeded per run).
func newPool(size int) *pool {
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], rand.Uint64())
	binary.LittleEndian.PutUint64(seed[8:], rand.Uint64())
	src := rand.NewChaCha8(seed)
	p := &pool{buf: make([]byte, size), nonce: rand.Uint64()}
	_, _ = src.Read(p.buf) // ChaCha8.Read never fails
	p.rng.Store(rand.Uint64())
	return p
}

// stamp returns a prefix no other body of this run (or, with high
// probability, of any run) carries.
func (p *pool) stamp() [stampLen]byte {
	var s [stampLen]byte
	binary.LittleEndian.PutUint64(s[:8], p.nonce)
	binary.LittleEndian.PutUint64(s[8:], p.seq.Add(1))
	return s
}

// offset returns a pseudo-random start for a window of n bytes.
func (p *pool) offset(n int64) int64 {
	span := int64(len(p.buf)) - n
	if span <= 0 {
		return 0
	}
	// splitmix64 step: cheap and good enough to spread windows.
	z := p.rng.Add(0x9e3779b97f4a7c15)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return int64(z % uint64(span))
}

// body returns a new unique, seekable body of n bytes: a stamp followed by
// a window of the pool (n must not exceed the pool). It costs no copying.
func (p *pool) body(n int64) *genReader {
	return &genReader{stamp: p.stamp(), src: p.buf, size: n, shift: p.offset(n)}
}

// stream returns a unique seekable body of any size that is never held in
// memory: byte i (past the stamp) is src[(i + shift + b*rot) mod len(src)]
// where b = i / len(src), so each pool-sized block is a different rotation
// of the pool and nothing repeats at a short distance.
func (p *pool) stream(n int64) *genReader {
	return &genReader{stamp: p.stamp(), src: p.buf, size: n, shift: p.offset(0), rot: 7919 * 4099}
}

// genReader generates a body on the fly; see pool.body and pool.stream.
// It implements io.ReadSeeker and Len, which the SDK needs to sign and
// checksum a body over plain HTTP (it reads it once to hash, rewinds, and
// sends it).
type genReader struct {
	stamp [stampLen]byte
	src   []byte
	size  int64
	shift int64 // start of the window in src
	rot   int64 // extra rotation per src-sized block (stream); 0 for a window
	pos   int64
}

var errBadSeek = errors.New("bench: seek out of range")

// Len returns the bytes left to read.
func (g *genReader) Len() int { return int(g.size - g.pos) }

// Size returns the body's total length.
func (g *genReader) Size() int64 { return g.size }

// Read copies the next bytes.
func (g *genReader) Read(p []byte) (int, error) {
	if g.pos >= g.size {
		return 0, io.EOF
	}
	if rem := g.size - g.pos; int64(len(p)) > rem {
		p = p[:rem]
	}
	n := 0
	for n < len(p) {
		i := g.pos + int64(n)
		if i < stampLen {
			n += copy(p[n:], g.stamp[i:])
			continue
		}
		n += copy(p[n:], g.at(i))
	}
	g.pos += int64(n)
	return n, nil
}

// at returns the longest run of source bytes that starts at body offset i.
func (g *genReader) at(i int64) []byte {
	l := int64(len(g.src))
	block := i / l
	j := (i + g.shift + block*g.rot) % l
	run := l - j
	// Do not run past the end of this block: the next one is rotated.
	if toBlockEnd := (block+1)*l - i; toBlockEnd < run {
		run = toBlockEnd
	}
	return g.src[j : j+run]
}

// Seek implements io.Seeker.
func (g *genReader) Seek(off int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = off
	case io.SeekCurrent:
		abs = g.pos + off
	case io.SeekEnd:
		abs = g.size + off
	default:
		return 0, fmt.Errorf("bench: seek whence %d: %w", whence, errBadSeek)
	}
	if abs < 0 {
		return 0, fmt.Errorf("bench: seek to %d: %w", abs, errBadSeek)
	}
	g.pos = abs
	return abs, nil
}

// onlyReader hides every method but Read, so a consumer must treat the
// body as an unseekable stream of unknown length.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// drain reads r to the end through buf (not io.Discard's ReadFrom with its
// small buffers), so every GET path reads the same way.
func drain(r io.Reader, buf []byte) (int64, error) {
	var n int64
	for {
		m, err := r.Read(buf)
		n += int64(m)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}
