package archive

import (
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/bodgit/sevenzip"
)

// walk7z walks a 7z archive in its file order. 7z content has no password
// check value, so when a file needs one, each candidate re-opens the archive
// and must decode that whole file to its CRC-32 before it is used; the
// archive then stays open with the password that fitted.
func (w *walker) walk7z(src io.ReaderAt, size int64, lv *level) error {
	zr, err := sevenzip.NewReader(src, size)
	if err != nil {
		// Encrypted headers: the listing itself needs the password.
		zr = nil
		for _, pw := range w.opts.Passwords {
			if zr2, err2 := sevenzip.NewReaderWithPassword(src, size, pw); err2 == nil {
				zr, lv.pw = zr2, pw
				break
			}
		}
		if zr == nil {
			if isEncrypted7z(err) {
				return fmt.Errorf("archive: 7z headers: %w", ErrPassword)
			}
			return corrupt("7z", err)
		}
	}
	if err := w.entriesFit(uint64(len(zr.File))); err != nil {
		return err
	}
	var probe *prober
	if lv.pw == "" {
		probe = newProber(src, size)
	}
	for i := range zr.File {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		f := zr.File[i]
		mode := f.FileInfo().Mode()
		e := Entry{ModTime: f.Modified, Size: int64(min(f.UncompressedSize, 1<<62))}
		switch {
		case mode.IsDir():
			e.Type = Dir
			if err := w.emitMeta(lv, e, f.Name); err != nil {
				return err
			}
			continue
		case mode&(fs.ModeDevice|fs.ModeCharDevice|fs.ModeNamedPipe|fs.ModeSocket) != 0:
			e.Type = Other
			if err := w.emitMeta(lv, e, f.Name); err != nil {
				return err
			}
			continue
		}
		var body io.ReadCloser
		if lv.pw == "" && f.UncompressedSize > 0 && probe.encrypted(i) {
			err = errNeedPassword
		} else {
			body, err = open7z(f)
		}
		if err == errNeedPassword || (err != nil && isEncrypted7z(err)) {
			var pzr *sevenzip.Reader
			pzr, err = w.password7z(src, size, i, lv)
			if errors.Is(err, ErrPassword) {
				e.Encrypted = true
				if err := w.emitLocked(lv, e, f.Name, err); err != nil {
					return err
				}
				continue
			}
			if err == nil {
				zr, f, e.Encrypted = pzr, pzr.File[i], true
				body, err = open7z(f)
			}
		}
		if err != nil {
			return corrupt(f.Name, err)
		}
		if mode&fs.ModeSymlink != 0 {
			t, err := w.readSmall(body, f.Name, maxLinkTarget)
			body.Close()
			if err != nil {
				return err
			}
			e.Type, e.Target = Symlink, t
			if err := w.emitMeta(lv, e, f.Name); err != nil {
				return err
			}
			continue
		}
		err = w.emitFile(lv, e, f.Name, body)
		body.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// password7z finds the password that decodes file i to its CRC-32.
func (w *walker) password7z(src io.ReaderAt, size int64, i int, lv *level) (*sevenzip.Reader, error) {
	pws := w.opts.Passwords
	if lv.pw != "" {
		pws = append([]string{lv.pw}, pws...)
	}
	for _, pw := range pws {
		if err := w.ctx.Err(); err != nil {
			return nil, err
		}
		zr, err := sevenzip.NewReaderWithPassword(src, size, pw)
		if err != nil || i >= len(zr.File) {
			continue
		}
		f := zr.File[i]
		if m := w.lim.MaxEntrySize; m > 0 && f.UncompressedSize > uint64(m) {
			return nil, &LimitError{Limit: LimitEntrySize, Value: int64(min(f.UncompressedSize, 1<<62)), Max: m}
		}
		rc, err := f.Open()
		if err != nil {
			continue
		}
		ok := verifyCRC(w, rc, f.CRC32, f.UncompressedSize)
		rc.Close()
		if ok {
			// A fresh reader: sevenzip cannot re-open a file of an
			// encrypted folder once it has been read to its end.
			lv.pw = pw
			return sevenzip.NewReaderWithPassword(src, size, pw)
		}
	}
	return nil, fmt.Errorf("archive: 7z: %w", ErrPassword)
}

var errNeedPassword = errors.New("archive: 7z stream needs a password")

func isEncrypted7z(err error) bool {
	var re *sevenzip.ReadError
	return errors.As(err, &re) && re.Encrypted
}

// open7z opens a file, CRC-checked when the archive records a CRC.
func open7z(f *sevenzip.File) (io.ReadCloser, error) {
	rc, err := f.Open()
	if err != nil || f.CRC32 == 0 {
		return rc, err
	}
	return &crcReadCloser{rc: rc, want: f.CRC32, size: f.UncompressedSize}, nil
}

// prober tells whether a 7z stream is encrypted before anything of it is
// read: sevenzip reports that only alongside a read error, so a second
// reader over the same bytes is made to fail its first content read on
// purpose. Results are cached per stream.
type prober struct {
	ra   *failingReaderAt
	zr   *sevenzip.Reader
	seen map[int]bool
}

type failingReaderAt struct {
	r    io.ReaderAt
	fail bool
}

var errProbe = errors.New("archive: 7z probe")

func (f *failingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if f.fail {
		return 0, errProbe
	}
	return f.r.ReadAt(p, off)
}

func newProber(src io.ReaderAt, size int64) *prober {
	ra := &failingReaderAt{r: src}
	zr, err := sevenzip.NewReader(ra, size)
	if err != nil {
		return nil
	}
	return &prober{ra: ra, zr: zr, seen: map[int]bool{}}
}

func (p *prober) encrypted(i int) bool {
	if p == nil || i >= len(p.zr.File) {
		return false
	}
	f := p.zr.File[i]
	if enc, ok := p.seen[f.Stream]; ok {
		return enc
	}
	p.ra.fail = true
	rc, err := f.Open()
	if err == nil {
		_, err = rc.Read(make([]byte, 1))
		rc.Close()
	}
	p.ra.fail = false
	var re *sevenzip.ReadError
	enc := errors.As(err, &re) && re.Encrypted
	p.seen[f.Stream] = enc
	return enc
}
