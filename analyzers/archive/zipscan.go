package archive

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"strings"
	"time"
)

// scanZip is the fallback for a zip whose central directory cannot be read,
// typically a truncated download: it walks the local file headers from the
// start, delivers every entry it can delimit, and always ends with an error
// matching ErrCorrupt (cause says why the directory was unreadable). Entries
// with a data descriptor are delimited by their deflate stream; a stored one
// cannot be, and ends the scan. Encrypted entries are delivered as locked.
func (w *walker) scanZip(src io.ReaderAt, size int64, lv *level, cause error) error {
	br := bufio.NewReaderSize(io.NewSectionReader(src, 0, size), 64<<10)
	damaged := func(why string, err error) error {
		if err != nil && isWalkStop(err) {
			return err
		}
		return fmt.Errorf("archive: zip without readable central directory (%v): %s: %w", cause, why, errors.Join(ErrCorrupt, err))
	}
	for {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		sig, err := br.Peek(4)
		if err != nil || !bytes.Equal(sig, magicZip) {
			return damaged("end of local entries", nil)
		}
		var h [30]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			return damaged("local header", err)
		}
		flags := binary.LittleEndian.Uint16(h[6:])
		method := binary.LittleEndian.Uint16(h[8:])
		mtime, mdate := binary.LittleEndian.Uint16(h[10:]), binary.LittleEndian.Uint16(h[12:])
		crc := binary.LittleEndian.Uint32(h[14:])
		csize := uint64(binary.LittleEndian.Uint32(h[18:]))
		usize := uint64(binary.LittleEndian.Uint32(h[22:]))
		nameLen, extraLen := int(binary.LittleEndian.Uint16(h[26:])), int(binary.LittleEndian.Uint16(h[28:]))
		nameExtra := make([]byte, nameLen+extraLen)
		if _, err := io.ReadFull(br, nameExtra); err != nil {
			return damaged("local header", err)
		}
		name := string(nameExtra[:nameLen])
		zip64 := false
		if c, u, ok := zip64Sizes(nameExtra[nameLen:]); ok {
			if csize == 0xffffffff {
				csize = c
			}
			if usize == 0xffffffff {
				usize = u
			}
			zip64 = true
		}
		e := Entry{ModTime: msDosTime(mdate, mtime), Size: int64(min(usize, 1<<62))}
		descriptor := flags&0x8 != 0
		switch {
		case strings.HasSuffix(name, "/") && !descriptor && csize == 0:
			e.Type = Dir
			err = w.emitMeta(lv, e, name)
		case flags&1 != 0:
			if descriptor {
				return damaged(name+": encrypted entry with data descriptor", nil)
			}
			if _, err := br.Discard(int(min(csize, 1<<62))); err != nil {
				return damaged(name, err)
			}
			e.Encrypted = true
			err = w.emitLocked(lv, e, name, fmt.Errorf("archive: no central directory to decrypt with: %w", ErrPassword))
		case descriptor:
			if method != zipDeflate {
				return damaged(name+": stored entry with data descriptor", nil)
			}
			e.Size = -1
			d := &descriptorReader{br: br, fr: flate.NewReader(br), h: crc32.NewIEEE(), zip64: zip64}
			err = w.emitFile(lv, e, name, d)
		default:
			lr := io.LimitReader(br, int64(min(csize, 1<<62)))
			dec, merr := methodReader(method, lr)
			if merr != nil {
				if _, err := io.Copy(io.Discard, lr); err != nil {
					return damaged(name, err)
				}
				e.Type = Other
				if err := w.emitMeta(lv, e, name); err != nil {
					return err
				}
				w.warn(fmt.Errorf("archive: %s: %w", name, merr))
				continue
			}
			err = w.emitFile(lv, e, name, &crcReadCloser{rc: dec, want: crc, size: usize})
			if err == nil {
				_, err = io.Copy(io.Discard, lr) // a method may stop before the end
			}
		}
		if err != nil {
			if errors.Is(err, ErrCorrupt) {
				return damaged(name, err)
			}
			return err
		}
	}
}

// zip64Sizes reads the sizes of a local header's zip64 extra field.
func zip64Sizes(extra []byte) (csize, usize uint64, ok bool) {
	for len(extra) >= 4 {
		tag, n := binary.LittleEndian.Uint16(extra), int(binary.LittleEndian.Uint16(extra[2:]))
		if len(extra) < 4+n {
			return 0, 0, false
		}
		if tag == 0x0001 && n >= 16 {
			return binary.LittleEndian.Uint64(extra[12:]), binary.LittleEndian.Uint64(extra[4:]), true
		}
		extra = extra[4+n:]
	}
	return 0, 0, false
}

func msDosTime(d, t uint16) time.Time {
	if d == 0 {
		return time.Time{}
	}
	return time.Date(int(d>>9)+1980, time.Month(d>>5&0xf), int(d&0x1f),
		int(t>>11), int(t>>5&0x3f), int(t&0x1f)*2, 0, time.UTC)
}

// descriptorReader inflates an entry whose sizes follow it in a data
// descriptor, then checks the descriptor's CRC and size. The deflate reader
// reads br byte-wise, so br is left right after the deflate stream.
type descriptorReader struct {
	br    *bufio.Reader
	fr    io.ReadCloser
	h     hash.Hash32
	n     uint64
	zip64 bool
	done  bool
}

func (d *descriptorReader) Read(p []byte) (int, error) {
	if d.done {
		return 0, io.EOF
	}
	n, err := d.fr.Read(p)
	d.h.Write(p[:n])
	d.n += uint64(n)
	if err != io.EOF {
		return n, err
	}
	d.done = true
	if sig, perr := d.br.Peek(4); perr == nil && bytes.Equal(sig, []byte("PK\x07\x08")) {
		d.br.Discard(4)
	}
	sz := 8
	if d.zip64 {
		sz = 16
	}
	desc := make([]byte, 4+sz)
	if _, rerr := io.ReadFull(d.br, desc); rerr != nil {
		return n, io.ErrUnexpectedEOF
	}
	usize := uint64(binary.LittleEndian.Uint32(desc[8:]))
	if d.zip64 {
		usize = binary.LittleEndian.Uint64(desc[12:])
	}
	if binary.LittleEndian.Uint32(desc) != d.h.Sum32() || usize != d.n {
		return n, errChecksum
	}
	return n, io.EOF
}
