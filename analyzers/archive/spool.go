package archive

import (
	"io"
	"os"
)

// spool is a capped temporary file holding a nested archive, so formats that
// need random access (zip, 7z) get it without holding the archive in memory.
// The file is unlinked at creation where the OS allows, so nothing is left
// behind even if the process dies.
type spool struct {
	f   *os.File
	n   int64
	max int64
	err error
}

func newSpool(dir string, max int64) (*spool, error) {
	f, err := os.CreateTemp(dir, "dewar-archive-*")
	if err != nil {
		return nil, err
	}
	_ = os.Remove(f.Name())
	return &spool{f: f, max: max}, nil
}

func (s *spool) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.max > 0 && s.n+int64(len(p)) > s.max {
		s.err = &LimitError{Limit: LimitSpool, Value: s.n + int64(len(p)), Max: s.max}
		return 0, s.err
	}
	n, err := s.f.Write(p)
	s.n += int64(n)
	if err != nil {
		s.err = err
	}
	return n, err
}

func (s *spool) close() {
	name := s.f.Name()
	_ = s.f.Close()
	_ = os.Remove(name)
}

// teeReader copies what is read into the spool; a spool error stops reading.
type teeReader struct {
	r  io.Reader
	sp *spool
}

func (t *teeReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 {
		if _, werr := t.sp.Write(p[:n]); werr != nil {
			return n, werr
		}
	}
	return n, err
}
