package sigv4

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// Limits on aws-chunked framing. A chunk's data is streamed, never held.
const (
	// MaxChunkSize is the largest signed chunk accepted (clients use 64 KiB
	// to 8 MiB). Its data is unauthenticated until the chunk ends, so the
	// bound caps what a caller may consume before a verdict. Unsigned chunks
	// are bounded only by x-amz-decoded-content-length: aws-sdk-go-v2 sends
	// a whole object as one chunk.
	MaxChunkSize = 64 << 20
	// maxChunkHeader bounds a chunk header line, CRLF included.
	maxChunkHeader = 4 << 10
	// maxTrailerSection bounds everything after the final chunk header.
	maxTrailerSection = 16 << 10
)

const (
	chunkSigPrefix   = "chunk-signature="
	trailerSigPrefix = "x-amz-trailer-signature:"
	emptySHA256Hex   = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// chunkSigner computes chained chunk and trailer signatures.
type chunkSigner struct {
	key     []byte
	prefix  string // amzdate + "\n" + scope + "\n"
	prevSig string // hex signature of the previous chunk, seeded by the request's
	mac     hash.Hash
}

// next returns the signature of the next chunk (or of the trailer when
// trailer is set) whose payload hashes to sum, and chains it.
func (s *chunkSigner) next(trailer bool, sum []byte) []byte {
	if s.mac == nil {
		s.mac = hmac.New(sha256.New, s.key)
	}
	var hexSum [64]byte
	hex.Encode(hexSum[:], sum)
	s.mac.Reset()
	if trailer {
		io.WriteString(s.mac, "AWS4-HMAC-SHA256-TRAILER\n")
	} else {
		io.WriteString(s.mac, "AWS4-HMAC-SHA256-PAYLOAD\n")
	}
	io.WriteString(s.mac, s.prefix)
	io.WriteString(s.mac, s.prevSig)
	io.WriteString(s.mac, "\n")
	if !trailer {
		io.WriteString(s.mac, emptySHA256Hex+"\n")
	}
	s.mac.Write(hexSum[:])
	sig := s.mac.Sum(nil)
	s.prevSig = hex.EncodeToString(sig)
	return sig
}

// chunkReader decodes an aws-chunked body:
//
//	signed:    hex-size;chunk-signature=sig CRLF data CRLF ... 0;chunk-signature=sig CRLF [trailers x-amz-trailer-signature:sig CRLF] CRLF
//	unsigned:  hex-size CRLF data CRLF ... 0 CRLF [name:value CRLF ...] CRLF
type chunkReader struct {
	src      *bufio.Reader
	signer   *chunkSigner // nil for unsigned chunks
	trailers bool         // trailer section allowed
	allowed  map[string]bool
	declared int64 // x-amz-decoded-content-length; -1 when absent
	decoded  int64 // bytes announced by chunk headers so far

	remaining int64     // data bytes left in the current chunk
	want      [32]byte  // signature claimed for the current chunk
	h         hash.Hash // sha256 of the current chunk (signed only)
	got       http.Header
	err       error // sticky; io.EOF once complete
}

func newChunkReader(r *http.Request, body io.Reader, mode PayloadMode, signer *chunkSigner) (*chunkReader, error) {
	// aws-sdk-go-v2 omits the decoded length for streams of unknown
	// length; the signed or framed final chunk still marks the end.
	declared := int64(-1)
	if v := r.Header.Get("X-Amz-Decoded-Content-Length"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("sigv4: x-amz-decoded-content-length %q: %w", v, ErrBadDecodedContentLength)
		}
		declared = n
	}
	c := newDecoder(body, mode, signer, declared)
	for _, v := range r.Header.Values("X-Amz-Trailer") {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.ToLower(strings.TrimSpace(name)); name != "" {
				c.allowed[name] = true
			}
		}
	}
	return c, nil
}

func newDecoder(body io.Reader, mode PayloadMode, signer *chunkSigner, declared int64) *chunkReader {
	c := &chunkReader{
		src:      bufio.NewReaderSize(body, maxChunkHeader),
		trailers: mode == StreamingUnsignedTrailer || mode == StreamingSignedTrailer,
		allowed:  make(map[string]bool),
		declared: declared,
	}
	if mode == StreamingSigned || mode == StreamingSignedTrailer {
		c.signer = signer
		c.h = sha256.New()
	}
	return c
}

// trailer returns the received trailers once the body is complete.
func (c *chunkReader) trailer() http.Header {
	if c.err != io.EOF || c.got == nil {
		return http.Header{}
	}
	return c.got
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	for c.remaining == 0 {
		if err := c.nextChunk(); err != nil {
			c.err = err
			return 0, err
		}
	}
	if int64(len(p)) > c.remaining {
		p = p[:c.remaining]
	}
	n, err := c.src.Read(p)
	if n > 0 {
		if c.h != nil {
			c.h.Write(p[:n])
		}
		c.remaining -= int64(n)
	}
	if err != nil {
		if err == io.EOF {
			err = fmt.Errorf("sigv4: body ends inside a chunk: %w", ErrIncompleteBody)
		} else {
			err = incomplete(err)
		}
		c.err = err
		return n, err
	}
	if c.remaining == 0 {
		if err := c.endChunk(); err != nil {
			c.err = err
			return n, err
		}
	}
	return n, nil
}

// nextChunk reads a chunk header. For the final (zero-size) chunk it also
// reads the trailer section and returns io.EOF.
func (c *chunkReader) nextChunk() error {
	line, err := c.src.ReadSlice('\n')
	switch {
	case err == bufio.ErrBufferFull:
		return fmt.Errorf("sigv4: chunk header longer than %d bytes: %w", maxChunkHeader, ErrMalformedChunk)
	case err == io.EOF:
		return fmt.Errorf("sigv4: body ends before the final chunk: %w", ErrIncompleteBody)
	case err != nil:
		return incomplete(err)
	case len(line) < 2 || line[len(line)-2] != '\r':
		return fmt.Errorf("sigv4: chunk header not terminated by CRLF: %w", ErrMalformedChunk)
	}
	line = line[:len(line)-2]
	sizeField := line
	if c.signer != nil {
		i := bytes.IndexByte(line, ';')
		if i < 0 {
			return fmt.Errorf("sigv4: chunk header lacks a chunk-signature: %w", ErrMalformedChunk)
		}
		sizeField = line[:i]
		ext := line[i+1:]
		if !bytes.HasPrefix(ext, []byte(chunkSigPrefix)) || len(ext) != len(chunkSigPrefix)+64 {
			return fmt.Errorf("sigv4: chunk extension %q: %w", clip(ext), ErrMalformedChunk)
		}
		if _, err := hex.Decode(c.want[:], ext[len(chunkSigPrefix):]); err != nil {
			return fmt.Errorf("sigv4: chunk signature is not hex: %w", ErrMalformedChunk)
		}
	}
	size, ok := parseChunkSize(sizeField)
	if !ok || (c.signer != nil && size > MaxChunkSize) {
		return fmt.Errorf("sigv4: chunk size %q: %w", clip(sizeField), ErrMalformedChunk)
	}
	if c.declared >= 0 && size > c.declared-c.decoded {
		return fmt.Errorf("sigv4: chunks carry more than x-amz-decoded-content-length %d bytes: %w", c.declared, ErrIncompleteBody)
	}
	if size > math.MaxInt64-c.decoded {
		return fmt.Errorf("sigv4: chunk sizes overflow: %w", ErrMalformedChunk)
	}
	c.decoded += size
	if size > 0 {
		c.remaining = size
		return nil
	}
	if c.declared >= 0 && c.decoded != c.declared {
		return fmt.Errorf("sigv4: chunks carry %d bytes, x-amz-decoded-content-length is %d: %w", c.decoded, c.declared, ErrIncompleteBody)
	}
	if err := c.checkSignature(); err != nil {
		return err
	}
	if err := c.readTrailers(); err != nil {
		return err
	}
	return io.EOF
}

// endChunk consumes the CRLF after a chunk's data and checks its signature.
func (c *chunkReader) endChunk() error {
	for _, want := range []byte{'\r', '\n'} {
		b, err := c.src.ReadByte()
		if err == io.EOF {
			return fmt.Errorf("sigv4: body ends after chunk data: %w", ErrIncompleteBody)
		}
		if err != nil {
			return incomplete(err)
		}
		if b != want {
			return fmt.Errorf("sigv4: chunk data not followed by CRLF (chunk longer than announced?): %w", ErrMalformedChunk)
		}
	}
	return c.checkSignature()
}

func (c *chunkReader) checkSignature() error {
	if c.signer == nil {
		return nil
	}
	var sum [32]byte
	got := c.signer.next(false, c.h.Sum(sum[:0]))
	c.h.Reset()
	if !hmac.Equal(got, c.want[:]) {
		return fmt.Errorf("sigv4: chunk ending at byte %d: %w", c.decoded, ErrChunkSignatureMismatch)
	}
	return nil
}

// readTrailers reads what follows the final chunk header: trailer lines,
// the trailer signature in signed-trailer mode, and the closing empty
// line. Lines may end in CRLF or LF (minio-go writes "name:value\n"
// followed by CRLF); stray CR/LF before the end of the body is tolerated.
func (c *chunkReader) readTrailers() error {
	budget := maxTrailerSection
	var th hash.Hash
	signedTrailer := c.trailers && c.signer != nil
	if signedTrailer {
		th = sha256.New()
	}
	var sig []byte
	c.got = http.Header{}
	for {
		line, err := c.trailerLine(&budget)
		if err != nil {
			return err
		}
		if len(line) == 0 {
			if signedTrailer && sig == nil {
				continue // the signature line is still to come
			}
			break
		}
		if signedTrailer && bytes.HasPrefix(line, []byte(trailerSigPrefix)) {
			if sig != nil {
				return fmt.Errorf("sigv4: trailer signature repeated: %w", ErrMalformedChunk)
			}
			v := bytes.TrimSpace(line[len(trailerSigPrefix):])
			sig = make([]byte, 32)
			if len(v) != 64 {
				return fmt.Errorf("sigv4: trailer signature %q: %w", clip(v), ErrMalformedChunk)
			}
			if _, err := hex.Decode(sig, v); err != nil {
				return fmt.Errorf("sigv4: trailer signature is not hex: %w", ErrMalformedChunk)
			}
			continue
		}
		if sig != nil {
			return fmt.Errorf("sigv4: trailer after the trailer signature: %w", ErrMalformedChunk)
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		key := strings.ToLower(string(bytes.TrimSpace(name)))
		switch {
		case !c.trailers:
			return fmt.Errorf("sigv4: trailers are not allowed in %s: %w", streamingSigned, ErrMalformedChunk)
		case !ok || key == "":
			return fmt.Errorf("sigv4: trailer line %q: %w", clip(line), ErrMalformedChunk)
		case !c.allowed[key]:
			return fmt.Errorf("sigv4: trailer %q not announced in x-amz-trailer: %w", key, ErrMalformedChunk)
		case c.got[key] != nil:
			return fmt.Errorf("sigv4: trailer %q repeated: %w", key, ErrMalformedChunk)
		}
		c.got[key] = []string{string(bytes.TrimSpace(value))}
		if th != nil {
			th.Write(line)
			th.Write([]byte{'\n'})
		}
	}
	if signedTrailer {
		var sum [32]byte
		if !hmac.Equal(c.signer.next(true, th.Sum(sum[:0])), sig) {
			return fmt.Errorf("sigv4: trailer: %w", ErrChunkSignatureMismatch)
		}
	}
	for {
		b, err := c.src.ReadByte()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return incomplete(err)
		}
		if budget--; (b != '\r' && b != '\n') || budget < 0 {
			return fmt.Errorf("sigv4: data after the end of the aws-chunked body: %w", ErrMalformedChunk)
		}
	}
}

// trailerLine returns the next line without its LF or CRLF, charging it
// to the trailer budget.
func (c *chunkReader) trailerLine(budget *int) ([]byte, error) {
	line, err := c.src.ReadSlice('\n')
	*budget -= len(line)
	switch {
	case err == bufio.ErrBufferFull || *budget < 0:
		return nil, fmt.Errorf("sigv4: trailer section longer than %d bytes: %w", maxTrailerSection, ErrMalformedChunk)
	case err == io.EOF:
		return nil, fmt.Errorf("sigv4: body ends inside the trailer section: %w", ErrIncompleteBody)
	case err != nil:
		return nil, incomplete(err)
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// parseChunkSize parses 1..16 hex digits, refusing values above 2^60.
func parseChunkSize(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 16 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		if n > 1<<56 {
			return 0, false
		}
		n = n<<4 | int64(d)
	}
	return n, true
}

// clip shortens hostile input quoted in error messages.
func clip(b []byte) []byte {
	if len(b) > 80 {
		return b[:80]
	}
	return b
}
