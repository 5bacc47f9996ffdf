package filestore

import (
	"hash"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// Large uploads keep two cores busy: past the first MiB, sha256 runs on a
// goroutine of its own (the S3 layer hashes MD5 on another), and the file's
// dirty pages are handed to the kernel for writeback every few MiB, so the
// final fsync finds little left to write. (The S3 layer's checksum reader
// has the same background shape; the layering keeps them apart.)

const (
	asyncHashAfter = 1 << 20
	writebackEvery = 8 << 20
)

// bgHash hashes copies of the stream on its own goroutine, with a bounded
// backlog.
type bgHash struct {
	h    hash.Hash
	ch   chan *[]byte
	done chan struct{}
}

var bgBufs = sync.Pool{New: func() any { b := make([]byte, 0, 256<<10); return &b }}

func startBGHash(h hash.Hash) *bgHash {
	b := &bgHash{h: h, ch: make(chan *[]byte, 8), done: make(chan struct{})}
	go func() {
		defer close(b.done)
		for p := range b.ch {
			b.h.Write(*p)
			*p = (*p)[:0]
			bgBufs.Put(p)
		}
	}()
	return b
}

func (b *bgHash) write(p []byte) {
	for len(p) > 0 {
		bp := bgBufs.Get().(*[]byte)
		n := min(len(p), cap(*bp))
		*bp = append((*bp)[:0], p[:n]...)
		b.ch <- bp
		p = p[n:]
	}
}

// finish waits for every queued byte to be hashed.
func (b *bgHash) finish() {
	close(b.ch)
	<-b.done
}

// writeback starts asynchronous writeback of the bytes written since the
// last call, once there are enough of them; errors are ignored (the
// commit's fsync reports any that matter).
type writeback struct {
	f        *os.File
	off, end int64
}

func (w *writeback) wrote(n int) {
	w.end += int64(n)
	if w.end-w.off >= writebackEvery {
		_ = unix.SyncFileRange(int(w.f.Fd()), w.off, w.end-w.off, unix.SYNC_FILE_RANGE_WRITE)
		w.off = w.end
	}
}
