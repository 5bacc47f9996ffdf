package archive

import (
	"archive/tar"
	"errors"
	"io"
)

// walkTar walks a tar stream (ustar, GNU, pax or v7) sequentially.
func (w *walker) walkTar(r io.Reader, lv *level) error {
	tr := tar.NewReader(r)
	for {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
			return corrupt("tar", err)
		}
		e := Entry{ModTime: h.ModTime, Size: h.Size}
		switch h.Typeflag {
		case tar.TypeReg, '\x00', tar.TypeCont, tar.TypeGNUSparse:
			err = w.emitFile(lv, e, h.Name, tr)
		case tar.TypeDir:
			e.Type = Dir
			err = w.emitMeta(lv, e, h.Name)
		case tar.TypeSymlink:
			e.Type, e.Target = Symlink, h.Linkname
			err = w.emitMeta(lv, e, h.Name)
		case tar.TypeLink:
			e.Type, e.Target = Hardlink, h.Linkname
			err = w.emitMeta(lv, e, h.Name)
		default: // char, block, fifo, unknown
			e.Type = Other
			err = w.emitMeta(lv, e, h.Name)
		}
		if err != nil {
			return err
		}
	}
}
