// Package imagehash computes perceptual hashes of images, so that the same
// picture re-encoded, resized or recompressed is found again: PDQ (Meta's
// 256-bit hash, see pdq.go) and pHash (the 64-bit DCT hash of
// github.com/corona10/goimagehash).
//
// Only PNG, JPEG, GIF, WebP and BMP files are hashed, recognised by their
// first bytes; anything else is dropped after those bytes. Decoding needs
// the whole file, so an image is buffered up to Options.MaxBytes (default
// 64 MiB) and larger ones are skipped. Before anything is decoded, the
// dimensions in the header are checked against Options.MaxPixels (default
// 50 megapixels), so a decompression bomb is refused from its header
// alone, with a few kilobytes buffered (a header that never parses is
// given up after 1 MiB). Decoding itself takes about 4 bytes per pixel (8
// for 16-bit PNG, more for progressive JPEG's coefficients), plus the
// buffered file: at the default limits, a few hundred MiB at worst.
package imagehash

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"github.com/corona10/goimagehash"
	"golang.org/x/image/bmp"
	"golang.org/x/image/webp"
)

// Name is the analysis name recorded with each result.
const Name = "imagehash"

// Version changes whenever the output for the same bytes could change, so
// that `dewar reanalyze` knows which results to recompute.
const Version = 1

// Defaults for Options.
const (
	DefaultMaxBytes  = 64 << 20
	DefaultMaxPixels = 50_000_000
)

var (
	// ErrLimit is matched by every *LimitError.
	ErrLimit = errors.New("imagehash: image over limit")
	// ErrCorrupt reports an image whose format was recognised but which
	// does not decode: truncated, damaged or unsupported within the format.
	ErrCorrupt = errors.New("imagehash: image does not decode")
)

// LimitError reports an image that was not decoded because it is over
// one of the Options limits. It matches ErrLimit.
type LimitError struct {
	Limit string // "bytes" or "pixels"
	Value int64  // the file's size (at least) or width*height
	Max   int64
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("imagehash: %d %s over the limit of %d", e.Value, e.Limit, e.Max)
}

// Is makes errors.Is(err, ErrLimit) true.
func (e *LimitError) Is(target error) bool { return target == ErrLimit }

// Options bounds the work done for one image. Zero fields take the
// defaults.
type Options struct {
	MaxBytes  int64 // largest file buffered and decoded
	MaxPixels int64 // largest width*height decoded
}

// Result is the analysis of one file.
type Result struct {
	Format        string // "png", "jpeg", "gif", "webp" or "bmp"; "" when not an image
	Width, Height int    // from the header; 0 when unknown
	PDQ           string // 64 lowercase hex digits; "" when not hashed
	PDQQuality    int    // 0..100; PDQ's authors advise distrusting hashes under 50
	PHash         string // 16 lowercase hex digits; "" when not hashed
}

type state int

const (
	sniffing  state = iota // too few bytes to tell the format yet
	buffering              // an image: keeping its bytes
	skipped                // not an image
	refused                // over a limit or a broken header; the error says which
)

// sniffLen is how many head bytes tell the formats apart.
const sniffLen = 32

// Sink buffers an image written to it and hashes it on Result.
type Sink struct {
	opts      Options
	state     state
	format    string
	buf       []byte
	n         int64
	nextCheck int  // buffer length at which to try the header again
	checked   bool // the header's dimensions are known and allowed
	width     int
	height    int
	err       error
	done      bool
	result    Result
}

// New returns an empty Sink with the default limits.
func New() *Sink { return NewWithOptions(Options{}) }

// NewWithOptions returns an empty Sink with the given limits.
func NewWithOptions(o Options) *Sink {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxPixels <= 0 {
		o.MaxPixels = DefaultMaxPixels
	}
	return &Sink{opts: o, nextCheck: sniffLen}
}

// Write never fails. It keeps bytes only while they may still be an image
// within the limits. Bytes written after Result are ignored.
func (s *Sink) Write(p []byte) (int, error) {
	if s.done {
		return len(p), nil
	}
	n := len(p)
	s.n += int64(n)
	if s.state == sniffing {
		take := min(sniffLen-len(s.buf), len(p))
		s.buf = append(s.buf, p[:take]...)
		p = p[take:]
		if len(s.buf) >= sniffLen {
			s.sniff()
		}
	}
	if s.state != buffering {
		return n, nil
	}
	if s.n > s.opts.MaxBytes {
		s.refuse(&LimitError{Limit: "bytes", Value: s.n, Max: s.opts.MaxBytes})
		return n, nil
	}
	s.buf = append(s.buf, p...)
	if !s.checked && len(s.buf) >= s.nextCheck {
		s.checkHeader(false)
		s.nextCheck = 2 * len(s.buf)
		if len(s.buf) < headerWindow {
			s.nextCheck = min(s.nextCheck, headerWindow)
		}
	}
	return n, nil
}

func (s *Sink) refuse(err error) {
	s.state, s.err, s.buf = refused, err, nil
}

// sniff decides from the head bytes whether this is an image.
func (s *Sink) sniff() {
	s.format = formatOf(s.buf)
	if s.format == "" {
		s.state, s.buf = skipped, nil
		return
	}
	s.state = buffering
}

// formatOf recognises the formats Dewar decodes by their signatures.
func formatOf(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(head, []byte("\xff\xd8\xff")):
		return "jpeg"
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		return "gif"
	case len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "WEBP":
		return "webp"
	case len(head) >= 18 && string(head[:2]) == "BM" && binary.LittleEndian.Uint32(head[6:10]) == 0:
		// "BM" alone starts too much text; require zero reserved bytes
		// and a known DIB header size too.
		switch binary.LittleEndian.Uint32(head[14:18]) {
		case 12, 40, 52, 56, 64, 108, 124:
			return "bmp"
		}
	}
	return ""
}

// headerWindow is how much of a file any real header fits in. Before
// that much is buffered, a header error may only mean "cut short" (not
// every decoder keeps io.ErrUnexpectedEOF matchable: image/gif formats it
// into a string), so it is retried with more bytes.
const headerWindow = 1 << 20

// checkHeader reads the dimensions from what is buffered and refuses an
// image over MaxPixels. A header error is final when final is set, or
// when it is not a short read and headerWindow bytes are buffered: such a
// file will never decode, so there is no point in keeping it.
func (s *Sink) checkHeader(final bool) {
	cfg, err := decodeConfig(s.format, s.buf)
	if err != nil {
		short := errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
		if final || !short && len(s.buf) >= headerWindow {
			s.refuse(fmt.Errorf("%w: %s header: %v", ErrCorrupt, s.format, err))
		}
		return
	}
	s.width, s.height = cfg.Width, cfg.Height
	if px := int64(cfg.Width) * int64(cfg.Height); px > s.opts.MaxPixels || cfg.Width < 0 || cfg.Height < 0 {
		s.refuse(&LimitError{Limit: "pixels", Value: px, Max: s.opts.MaxPixels})
		return
	}
	s.checked = true
}

func decodeConfig(format string, b []byte) (image.Config, error) {
	r := bytes.NewReader(b)
	switch format {
	case "png":
		return png.DecodeConfig(r)
	case "jpeg":
		return jpeg.DecodeConfig(r)
	case "gif":
		return gif.DecodeConfig(r)
	case "webp":
		return webp.DecodeConfig(r)
	default:
		return bmp.DecodeConfig(r)
	}
}

func decode(format string, r io.Reader) (image.Image, error) {
	switch format {
	case "png":
		return png.Decode(r)
	case "jpeg":
		return jpeg.Decode(r)
	case "gif":
		return gif.Decode(r)
	case "webp":
		return webp.Decode(r)
	default:
		return bmp.Decode(r)
	}
}

// Result decodes and hashes the image. It returns a zero Result and nil
// for anything that is not an image; the format and dimensions with an
// error matching ErrLimit for an image over a limit, or ErrCorrupt for
// one that does not decode. Images under 5 pixels on a side (tracking
// pixels, spacers) get no hashes: theirs would all collide. Result ends
// the stream and releases the buffer; later calls return the same.
func (s *Sink) Result() (Result, error) {
	if s.done {
		return s.result, s.err
	}
	s.done = true
	if s.state == sniffing && len(s.buf) > 0 {
		s.sniff()
	}
	if s.state == buffering && !s.checked {
		s.checkHeader(true)
	}
	s.result = Result{Format: s.format, Width: s.width, Height: s.height}
	buf := s.buf
	s.buf = nil
	switch {
	case s.state == skipped || s.state == sniffing:
		s.result = Result{}
		return s.result, nil
	case s.err != nil:
		return s.result, s.err
	}
	img, err := decode(s.format, bytes.NewReader(buf))
	if err != nil {
		s.err = fmt.Errorf("%w: %s: %v", ErrCorrupt, s.format, err)
		return s.result, s.err
	}
	if b := img.Bounds(); b.Dx() < pdqMinDim || b.Dy() < pdqMinDim {
		return s.result, nil
	}
	pdq, quality, _ := pdqHash(img)
	ph, err := goimagehash.PerceptionHash(img)
	if err != nil {
		s.err = fmt.Errorf("%w: %s: phash: %v", ErrCorrupt, s.format, err)
		return s.result, s.err
	}
	s.result.PDQ, s.result.PDQQuality = pdq, quality
	s.result.PHash = fmt.Sprintf("%016x", ph.GetHash())
	return s.result, nil
}
