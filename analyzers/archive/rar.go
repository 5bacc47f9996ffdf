package archive

import (
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/nwaples/rardecode/v2"
)

// rarMaxDict bounds the decoder dictionary (and so memory) a RAR archive may
// ask for; RAR 5/6 default to 4-32 MiB, RAR 7 at most reaches 64 GiB.
const rarMaxDict = 256 << 20

// walkRar walks a RAR 4 or 5 archive as a stream. Encrypted file contents are
// not tried with passwords (a documented gap): they are delivered locked. An
// archive with encrypted headers is opened with the first password whose
// check value fits.
func (w *walker) walkRar(r io.ReadSeeker, lv *level) error {
	rr, err := rardecode.NewReader(r, rardecode.MaxDictionarySize(rarMaxDict))
	if errors.Is(err, rardecode.ErrArchiveEncrypted) {
		for _, pw := range w.opts.Passwords {
			if _, serr := r.Seek(0, io.SeekStart); serr != nil {
				return serr
			}
			if rr, err = rardecode.NewReader(r, rardecode.MaxDictionarySize(rarMaxDict), rardecode.Password(pw)); err == nil {
				lv.pw = pw
				break
			}
		}
		if err != nil {
			return fmt.Errorf("archive: rar headers: %w", ErrPassword)
		}
	}
	if err != nil {
		return corrupt("rar", err)
	}
	for {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		h, err := rr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return corrupt("rar", err)
		}
		e := Entry{ModTime: h.ModificationTime, Size: h.UnPackedSize}
		if h.UnKnownSize {
			e.Size = -1
		}
		mode := h.Mode()
		switch {
		case h.IsDir:
			e.Type = Dir
			err = w.emitMeta(lv, e, h.Name)
		case h.LinkType == rardecode.LinkTypeHardLink || h.LinkType == rardecode.LinkTypeFileCopy:
			e.Type, e.Target = Hardlink, h.LinkTarget
			err = w.emitMeta(lv, e, h.Name)
		case h.LinkType != rardecode.LinkTypeNone:
			e.Type, e.Target = Symlink, h.LinkTarget
			err = w.emitMeta(lv, e, h.Name)
		case h.Encrypted && lv.pw == "":
			e.Encrypted = true
			err = w.emitLocked(lv, e, h.Name, fmt.Errorf("archive: rar content: %w", ErrPassword))
		case mode&fs.ModeSymlink != 0: // RAR 4 unix symlink: the target is the content
			var t string
			if t, err = w.readSmall(rr, h.Name, maxLinkTarget); err == nil {
				e.Type, e.Target = Symlink, t
				err = w.emitMeta(lv, e, h.Name)
			}
		default:
			e.Encrypted = h.Encrypted
			err = w.emitFile(lv, e, h.Name, rr)
		}
		if err != nil {
			return err
		}
	}
}
