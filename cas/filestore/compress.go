package filestore

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/klauspost/compress/zstd"

	"dewar/cas"
)

// Compressed blobs.
//
// A blob stored compressed lives at <hex>.zst beside where <hex> would be;
// the name is still the sha256 of the original bytes, and the suffix is the
// per-blob record of the choice, so Stat stays a stat or two and Walk a
// directory listing. Either form is the blob: Commit creates it when
// neither exists, Remove removes both, and when both exist (a crash
// between linking one and clearing the other) readers use the raw one and
// Walk lists it once.
//
// The .zst file is valid zstd (`zstd -d` gives the original bytes; the
// header and index are skippable frames it ignores):
//
//	header   skippable frame 0x184D2A50, 16 bytes: "DWZ1", frame size
//	         (u32), original size (u64)
//	frames   n = ceil(size / frame size) independent zstd frames, each of
//	         one frame size of input (the last may be shorter), each with
//	         its content checksum
//	index    skippable frame 0x184D2A51, 8(n+1) bytes: the file offset
//	         of every frame's start, then of the index itself
//
// All integers are little-endian. Frame i holds the original bytes
// [i·F, (i+1)·F), so a ranged read finds its first frame by division and
// its file offset with one 16-byte read of the index: it decompresses only
// the frames it needs, and no reader holds the index in memory.
//
// A frame is decoded whole into a buffer and checked (checksum, exact
// length, offsets inside the file) before any of its bytes are returned;
// damage is an error wrapping cas.ErrCorrupt, never wrong bytes. A ranged
// read costs at least one frame's decode (about a millisecond for 1 MiB),
// which suits S3 clients' multi-MiB part reads; raw blobs keep sendfile.
//
// # Choosing
//
// Stage hashes the stream into the raw temp file (which Staged.ReadAt
// reads) and compresses it frame by frame into a second temp file. At the
// end it keeps the compressed one only if it saves Options.MinSaving; a
// small blob is judged before its file is made, and a stream whose first
// 4 MiB saved under half that stops being compressed (see hopeless). A
// batch drops the raw temp as soon as the compressed one is kept.
//
// # Bounds
//
// Frames hold at most maxFrameSize (1 MiB) of input, so:
//   - a stage holds one frame of input, one of output and one pooled
//     encoder (window 1 MiB, concurrency 1; measured 2.7 MiB at levels
//     1–2, 3.7 MiB at 3–5, 6.5 MiB at 6–9 and 36 MiB at 10–22), plus 4
//     bytes per frame (per MiB of input) for the index it writes last;
//   - an open reader of a compressed blob holds one decoded frame (1 MiB)
//     and one compressed frame (1 MiB + 9 KiB), from pools;
//   - the shared decoder refuses frames whose window or content exceeds
//     1 MiB (WithDecoderMaxWindow, WithDecoderMaxMemory, and a cap on
//     DecodeAll's output), and runs at most GOMAXPROCS decodes at once.

const (
	maxFrameSize = 1 << 20 // input bytes per frame, and the decoder's limits
	minFrameSize = 1 << 10
	// maxStoredFrame bounds a compressed frame: zstd's worst case for 1 MiB
	// is 1 MiB + 4 KiB + a header and checksum.
	maxStoredFrame = maxFrameSize + maxFrameSize/128 + 1<<10

	// minCompressSize: blobs smaller than one filesystem block are stored
	// raw, since compressing them frees no disk space.
	minCompressSize = 4 << 10

	defaultMinSaving = 0.10

	// giveUpAfter: a stream whose first 4 MiB saved less than half the
	// minimum is stored raw without compressing the rest (see hopeless).
	giveUpAfter = 4 << 20

	zstSuffix = ".zst"

	headerMagic = 0x184D2A50 // zstd skippable frame, nibble 0
	indexMagic  = 0x184D2A51 // zstd skippable frame, nibble 1
	headerLen   = 24
	headerTag   = "DWZ1"
)

// frameBufs holds frame-sized buffers: the read buffer of a stage (one
// frame of input) and the decoded frame of a reader.
var frameBufs = sync.Pool{New: func() any { b := make([]byte, maxFrameSize); return &b }}

// storedBufs holds buffers for one compressed frame.
var storedBufs = sync.Pool{New: func() any { b := make([]byte, maxStoredFrame); return &b }}

// decoder is shared by every store in the process: DecodeAll is safe for
// concurrent use and runs up to GOMAXPROCS decodes at once, each bounded
// to one frame. It never starts goroutines (no streaming use).
var decoder = sync.OnceValues(func() (*zstd.Decoder, error) {
	return zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(0),
		zstd.WithDecoderMaxWindow(maxFrameSize),
		zstd.WithDecoderMaxMemory(maxFrameSize),
		zstd.WithDecodeAllCapLimit(true),
	)
})

// encoderPool hands out encoders of one level. Encoders are used only
// through EncodeAll with concurrency 1, so they start no goroutines and
// the pool may drop them without Close.
type encoderPool struct{ p sync.Pool }

func newEncoderPool(level int) (*encoderPool, error) {
	opts := []zstd.EOption{
		zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level)),
		zstd.WithEncoderConcurrency(1),
		zstd.WithWindowSize(maxFrameSize),
		zstd.WithEncoderCRC(true),
	}
	if _, err := zstd.NewWriter(nil, opts...); err != nil {
		return nil, err
	}
	ep := &encoderPool{}
	ep.p.New = func() any {
		e, _ := zstd.NewWriter(nil, opts...) // options checked above
		return e
	}
	return ep, nil
}

// header is the decoded header of a .zst blob.
type header struct {
	frameSize int64
	size      int64 // original bytes
	frames    int64
	indexAt   int64 // file offset of the index frame
}

func appendHeader(b []byte, frameSize, size int64) []byte {
	b = binary.LittleEndian.AppendUint32(b, headerMagic)
	b = binary.LittleEndian.AppendUint32(b, 16)
	b = append(b, headerTag...)
	b = binary.LittleEndian.AppendUint32(b, uint32(frameSize))
	return binary.LittleEndian.AppendUint64(b, uint64(size))
}

// indexLen is the length of the index frame for n frames.
func indexLen(n int64) int64 { return 8 + 8*(n+1) }

// readHeader reads and checks the header of a .zst blob of fileSize bytes.
// Damage gives an error wrapping cas.ErrCorrupt.
func readHeader(f io.ReaderAt, fileSize int64) (header, error) {
	var b [headerLen]byte
	if fileSize < headerLen+indexLen(0) {
		return header{}, fmt.Errorf("%w: compressed blob of %d bytes is too short", cas.ErrCorrupt, fileSize)
	}
	if _, err := f.ReadAt(b[:], 0); err != nil {
		return header{}, err
	}
	le := binary.LittleEndian
	h := header{frameSize: int64(le.Uint32(b[12:16])), size: int64(le.Uint64(b[16:24]))}
	if le.Uint32(b[0:4]) != headerMagic || le.Uint32(b[4:8]) != 16 || string(b[8:12]) != headerTag ||
		h.frameSize < minFrameSize || h.frameSize > maxFrameSize || h.size < 0 {
		return header{}, fmt.Errorf("%w: bad compressed blob header", cas.ErrCorrupt)
	}
	h.frames = (h.size + h.frameSize - 1) / h.frameSize
	if h.frames > fileSize/8 { // the index alone would not fit
		return header{}, fmt.Errorf("%w: compressed blob header claims %d bytes", cas.ErrCorrupt, h.size)
	}
	h.indexAt = fileSize - indexLen(h.frames)
	if h.indexAt < headerLen {
		return header{}, fmt.Errorf("%w: compressed blob header claims %d bytes", cas.ErrCorrupt, h.size)
	}
	return h, nil
}

// checkIndex checks the index frame's own header and its first and last
// entries: frames start after the header and end where the index begins.
func (h header) checkIndex(f io.ReaderAt) error {
	var b [16]byte
	if _, err := f.ReadAt(b[:], h.indexAt); err != nil {
		return err
	}
	le := binary.LittleEndian
	if le.Uint32(b[0:4]) != indexMagic || int64(le.Uint32(b[4:8])) != 8*(h.frames+1) || le.Uint64(b[8:16]) != headerLen {
		return fmt.Errorf("%w: bad compressed blob index", cas.ErrCorrupt)
	}
	if _, err := f.ReadAt(b[:8], h.indexAt+8+8*h.frames); err != nil {
		return err
	}
	if int64(le.Uint64(b[:8])) != h.indexAt {
		return fmt.Errorf("%w: compressed blob index does not end its frames", cas.ErrCorrupt)
	}
	return nil
}

// frameLen is how many original bytes frame i holds.
func (h header) frameLen(i int64) int64 {
	if i == h.frames-1 {
		return h.size - i*h.frameSize
	}
	return h.frameSize
}

// readFrame decodes frame i of f into dst (capacity >= frameSize), using
// zbuf for the compressed bytes, and returns the decoded bytes.
func (h header) readFrame(f io.ReaderAt, i int64, dst, zbuf []byte) ([]byte, error) {
	var b [16]byte
	if _, err := f.ReadAt(b[:], h.indexAt+8+8*i); err != nil {
		return nil, err
	}
	lo, hi := int64(binary.LittleEndian.Uint64(b[0:8])), int64(binary.LittleEndian.Uint64(b[8:16]))
	if lo < headerLen || hi <= lo || hi > h.indexAt || hi-lo > int64(len(zbuf)) {
		return nil, fmt.Errorf("%w: compressed frame %d at bad offsets [%d, %d)", cas.ErrCorrupt, i, lo, hi)
	}
	zb := zbuf[:hi-lo]
	if _, err := f.ReadAt(zb, lo); err != nil {
		return nil, err
	}
	dec, err := decoder()
	if err != nil {
		return nil, err
	}
	want := h.frameLen(i)
	out, err := dec.DecodeAll(zb, dst[:0:want])
	if err != nil {
		return nil, fmt.Errorf("%w: compressed frame %d: %v", cas.ErrCorrupt, i, err)
	}
	if int64(len(out)) != want {
		return nil, fmt.Errorf("%w: compressed frame %d holds %d bytes, want %d", cas.ErrCorrupt, i, len(out), want)
	}
	return out, nil
}

// compressor compresses one stream, frame by frame, into a temp file made
// when the first frame is ready (so a small blob that does not compress
// well never gets a file). It is not safe for concurrent use.
type compressor struct {
	s     *Store
	enc   *zstd.Encoder
	zbuf  *[]byte
	f     *os.File // nil until the first frame is written
	sizes []uint32 // compressed length of each frame written
	// stored is the file's length so far, header included.
	stored int64
}

func (s *Store) newCompressor() *compressor {
	return &compressor{
		s:      s,
		enc:    s.encoders.p.Get().(*zstd.Encoder),
		zbuf:   storedBufs.Get().(*[]byte),
		stored: headerLen,
	}
}

// frame compresses one frame of input (frameSize bytes, except the last)
// and appends it to the file.
func (c *compressor) frame(p []byte) error {
	return c.write(c.enc.EncodeAll(p, (*c.zbuf)[:0]))
}

// write appends one compressed frame, making the file first if needed.
func (c *compressor) write(z []byte) error {
	if err := c.create(); err != nil {
		return err
	}
	if _, err := c.f.Write(z); err != nil {
		return err
	}
	c.sizes = append(c.sizes, uint32(len(z)))
	c.stored += int64(len(z))
	return nil
}

// create makes the temp file, with room for the header (written last,
// when the size is known).
func (c *compressor) create() error {
	if c.f != nil {
		return nil
	}
	f, err := os.CreateTemp(c.s.tmp, "zst-")
	if err != nil {
		return err
	}
	c.f = f
	_, err = f.Write(make([]byte, headerLen))
	return err
}

// hopeless reports whether to stop compressing the stream: after
// giveUpAfter bytes, frames that saved less than half the minimum say the
// rest is unlikely to make up for them. Without it an incompressible
// upload (an archive, images) would cost a whole compression and a
// second temp file of its size.
func (c *compressor) hopeless() bool {
	in := int64(len(c.sizes)) * int64(c.s.frameSize)
	return !c.s.alwaysCompress && in >= giveUpAfter && float64(c.stored) > float64(in)*(1-c.s.minSaving/2)
}

// worth reports whether storing stored bytes for size original bytes
// saves the store's minimum.
func (s *Store) worth(stored, size int64) bool {
	if s.alwaysCompress {
		return true
	}
	return size >= minCompressSize && float64(stored) <= float64(size)*(1-s.minSaving)
}

// finish compresses the last (partial, maybe empty) frame, and if the
// result is worth keeping writes the index and header and returns the
// file, read-only; otherwise it removes the file and returns nil. The
// compressor is released either way.
func (c *compressor) finish(last []byte, size int64) (*os.File, error) {
	defer c.close()
	n := int64(len(c.sizes))
	var z []byte
	if len(last) > 0 {
		z = c.enc.EncodeAll(last, (*c.zbuf)[:0])
		n++
	}
	// Decided before writing the last frame, so a small blob that
	// compresses badly never gets a file.
	if !c.s.worth(c.stored+int64(len(z))+indexLen(n), size) {
		return nil, nil
	}
	if len(last) > 0 {
		if err := c.write(z); err != nil {
			return nil, err
		}
	}
	if err := c.create(); err != nil { // an empty blob, when forced
		return nil, err
	}
	if err := c.writeIndex(size); err != nil {
		return nil, err
	}
	f := c.f
	c.f = nil
	return f, nil
}

// writeIndex appends the index, fills in the header and makes the file
// read-only (the blob will share its inode).
func (c *compressor) writeIndex(size int64) error {
	buf := (*c.zbuf)[:0] // EncodeAll is done with it
	le := binary.LittleEndian
	buf = le.AppendUint32(buf, indexMagic)
	buf = le.AppendUint32(buf, uint32(8*(len(c.sizes)+1)))
	off := int64(headerLen)
	for _, n := range c.sizes {
		buf = le.AppendUint64(buf, uint64(off))
		off += int64(n)
		if len(buf) >= 64<<10 {
			if _, err := c.f.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	buf = le.AppendUint64(buf, uint64(off))
	if _, err := c.f.Write(buf); err != nil {
		return err
	}
	if _, err := c.f.WriteAt(appendHeader(nil, int64(c.s.frameSize), size), 0); err != nil {
		return err
	}
	return c.f.Chmod(0o444)
}

// close removes the temp file, if it was not handed out by finish, and
// returns the pooled encoder and buffer. Safe to call more than once.
func (c *compressor) close() {
	if c.f != nil {
		c.f.Close()
		os.Remove(c.f.Name())
		c.f = nil
	}
	if c.enc != nil {
		c.s.encoders.p.Put(c.enc)
		storedBufs.Put(c.zbuf)
		c.enc, c.zbuf = nil, nil
	}
}
