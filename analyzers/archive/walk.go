package archive

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// Walk reads the archive held in src (size bytes) and calls fn for every
// entry, in archive order, nested archives' entries right after the nested
// archive's own entry. body is the content of a File entry and nil for every
// other type; it is valid only during fn, and whatever fn leaves unread is
// drained (so limits, checksums and nested spools still see every byte).
// fn must not retain body.
//
// Content that is not an archive returns ErrNotArchive before fn is called.
// See the package documentation for the error policy. Result is filled in
// also when an error is returned. Walk honours ctx between and within entries.
func Walk(ctx context.Context, src io.ReaderAt, size int64, opts Options, fn func(e Entry, body io.Reader) error) (Result, error) {
	w := &walker{ctx: ctx, opts: opts.normalized(), fn: fn, names: newNames(), input: max(size, 1)}
	w.lim = w.opts.Limits
	f := detectAt(src, size)
	w.res.Format = f
	if f == None {
		return w.res, ErrNotArchive
	}
	lv := &level{name: opts.Name}
	err := w.walkLevel(src, size, f, lv)
	return w.res, err
}

type walker struct {
	ctx   context.Context
	opts  Options
	lim   Limits
	fn    func(Entry, io.Reader) error
	res   Result
	names *names
	input int64 // size of the top-level input, the ratio's denominator
}

// level is one archive being walked: the top one or a nested one.
type level struct {
	prefix  string // "" or "<archive entry path>.contents/"
	depth   int
	name    string // the archive's own name, to name a lone compressed stream's entry
	metered bool   // expanded bytes are counted by a meter under the entries
	files   int    // file entries delivered with a body
	locked  int    // encrypted files no password opened
	pw      string // the password that last worked here, tried first
}

func (w *walker) walkLevel(src io.ReaderAt, size int64, f Format, lv *level) error {
	var err error
	switch {
	case f == Zip:
		err = w.walkZip(src, size, lv)
	case f == SevenZip:
		err = w.walk7z(src, size, lv)
	case f == Rar:
		err = w.walkRar(io.NewSectionReader(src, 0, size), lv)
	case f == Tar:
		err = w.walkTar(bufio.NewReaderSize(io.NewSectionReader(src, 0, size), 64<<10), lv)
	case f.compressed():
		err = w.walkCompressed(io.NewSectionReader(src, 0, size), f, lv)
	default:
		err = ErrNotArchive
	}
	if err == nil && lv.locked > 0 && lv.files == 0 {
		err = fmt.Errorf("archive: %d encrypted files, none opened: %w", lv.locked, ErrPassword)
	}
	return err
}

// addBytes counts n expanded bytes against the whole walk's limits.
func (w *walker) addBytes(n int64) error {
	w.res.TotalBytes += n
	t := w.res.TotalBytes
	if m := w.lim.MaxTotalBytes; m > 0 && t > m {
		return &LimitError{Limit: LimitTotalBytes, Value: t, Max: m}
	}
	if r := w.lim.MaxRatio; r > 0 && t > RatioFloor && float64(t) > r*float64(w.input) {
		return &LimitError{Limit: LimitRatio, Value: t / w.input, Max: int64(r)}
	}
	return nil
}

func (w *walker) warn(err error) {
	w.res.Warnings = append(w.res.Warnings, err)
}

// corrupt wraps a format library's error as damage.
func corrupt(where string, err error) error {
	if err == nil || isWalkStop(err) {
		return err
	}
	if errors.Is(err, ErrCorrupt) {
		return err
	}
	return fmt.Errorf("archive: %s: %w: %w", where, ErrCorrupt, err)
}

// isWalkStop reports errors that must pass through unchanged: limits and
// cancellation.
func isWalkStop(err error) bool {
	var le *LimitError
	return errors.As(err, &le) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// fatalNested reports whether an error from a nested archive's walk must end
// the whole walk; damage and passwords only warn.
func fatalNested(err error) bool {
	if isWalkStop(err) || errors.Is(err, ErrOverlap) {
		return true
	}
	return !(errors.Is(err, ErrCorrupt) || errors.Is(err, ErrPassword) || errors.Is(err, ErrNotArchive))
}

// claim computes e.Path and e.RawPath from the raw name, counts the entry
// against the limits, and reports skip for a directory already delivered
// (or the archive root itself).
func (w *walker) claim(lv *level, e *Entry, raw string) (skip bool, err error) {
	segs, changed := safeSegments(raw)
	if len(segs) == 0 {
		if e.Type == Dir {
			return true, nil
		}
		segs, changed = []string{"_unnamed"}, true
	}
	if e.Archive {
		// Keep the archive's ".contents" sibling free for its entries.
		segs = w.archiveName(lv, segs)
	}
	full := segs
	if lv.prefix != "" {
		full = append(strings.Split(strings.TrimSuffix(lv.prefix, "/"), "/"), segs...)
	}
	p, dup := w.names.claim(full, e.Type == Dir)
	if dup {
		return true, nil
	}
	if p != lv.prefix+strings.Join(segs, "/") {
		changed = true
	}
	e.Path, e.Depth = p, lv.depth
	if changed {
		e.RawPath = raw
	}
	if m := w.lim.MaxPathLen; m > 0 && len(p) > m {
		return false, &LimitError{Limit: LimitPathLen, Value: int64(len(p)), Max: int64(m)}
	}
	if m := w.lim.MaxEntries; m > 0 && w.res.Entries+1 > m {
		return false, &LimitError{Limit: LimitEntries, Value: int64(w.res.Entries + 1), Max: int64(m)}
	}
	w.res.Entries++
	return false, nil
}

// archiveName renames the last segment until neither it nor its
// ".contents" sibling is taken.
func (w *walker) archiveName(lv *level, segs []string) []string {
	base := segs[len(segs)-1]
	dir := lv.prefix + strings.Join(segs[:len(segs)-1], "/")
	if len(segs) > 1 {
		dir += "/"
	}
	for k := 1; ; k++ {
		p := dir + segs[len(segs)-1]
		if !w.names.files[p] && !w.names.isDir(p) && !w.names.files[p+".contents"] {
			return segs
		}
		segs = append(segs[:len(segs)-1:len(segs)-1], fmt.Sprintf("%s~%d", base, k))
	}
}

// emitMeta delivers an entry without a body (dir, link, other).
func (w *walker) emitMeta(lv *level, e Entry, raw string) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	e.Size = max(e.Size, 0)
	if e.Type != File && e.Type != Other {
		e.Size = 0
	}
	skip, err := w.claim(lv, &e, raw)
	if skip || err != nil {
		return err
	}
	return w.fn(e, nil)
}

// emitLocked delivers an encrypted entry no password opened.
func (w *walker) emitLocked(lv *level, e Entry, raw string, cause error) error {
	lv.locked++
	e.Type, e.Encrypted = Other, true
	if err := w.emitMeta(lv, e, raw); err != nil {
		return err
	}
	w.warn(fmt.Errorf("archive: %s: %w", raw, cause))
	return nil
}

// emitFile delivers a file entry whose content is read from r, then expands
// it when it is itself an archive. r is consumed to EOF on success.
func (w *walker) emitFile(lv *level, e Entry, raw string, r io.Reader) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	e.Type = File
	er := &entryReader{w: w, r: r, metered: lv.metered, name: raw}
	br := bufio.NewReaderSize(er, 4096)
	head, perr := br.Peek(SniffLen)
	if perr != nil && perr != io.EOF {
		return er.failure(perr)
	}
	nested, tooDeep := Detect(head), false
	if nested != None {
		if m := w.lim.MaxDepth; m < 0 || lv.depth+1 > m {
			nested, tooDeep = None, true
		} else {
			e.Archive = true
		}
	}
	if skip, err := w.claim(lv, &e, raw); skip || err != nil {
		return err
	}
	if tooDeep {
		w.warn(fmt.Errorf("archive: %s not expanded: %w", e.Path, &LimitError{Limit: LimitDepth, Value: int64(lv.depth + 1), Max: int64(max(w.lim.MaxDepth, 0))}))
	}
	er.name = e.Path
	var body io.Reader = br
	var sp *spool
	if nested != None {
		var err error
		if sp, err = newSpool(w.opts.TempDir, w.opts.MaxSpool); err != nil {
			return err
		}
		defer sp.close()
		body = &teeReader{r: br, sp: sp}
	}
	lv.files++
	gb := &bodyReader{r: body}
	err := w.fn(e, gb)
	gb.r = nil
	if err == nil {
		_, err = io.Copy(io.Discard, body)
	}
	if err != nil {
		if er.err != nil {
			return er.err
		}
		if sp != nil && sp.err != nil {
			return sp.err
		}
		return err
	}
	if sp == nil {
		return nil
	}
	sub := &level{prefix: e.Path + ".contents/", depth: lv.depth + 1, name: path.Base(e.Path)}
	if err := w.walkLevel(sp.f, sp.n, nested, sub); err != nil {
		if fatalNested(err) {
			return err
		}
		w.warn(fmt.Errorf("archive: nested archive %s: %w", e.Path, err))
	}
	return nil
}

// failure turns an error met while reading an entry into the walk's error.
func (er *entryReader) failure(err error) error {
	if er.err != nil {
		return er.err
	}
	return corrupt(er.name, err)
}

// entryReader counts an entry's bytes against the limits, checks ctx, and
// remembers the first error, classified (limit, cancellation or damage).
type entryReader struct {
	w       *walker
	r       io.Reader
	n       int64
	metered bool
	name    string
	err     error
}

func (er *entryReader) Read(p []byte) (int, error) {
	if er.err != nil {
		return 0, er.err
	}
	if err := er.w.ctx.Err(); err != nil {
		er.err = err
		return 0, err
	}
	n, err := er.r.Read(p)
	er.n += int64(n)
	if m := er.w.lim.MaxEntrySize; m > 0 && er.n > m {
		er.err = &LimitError{Limit: LimitEntrySize, Value: er.n, Max: m}
		return n, er.err
	}
	if !er.metered {
		if lerr := er.w.addBytes(int64(n)); lerr != nil {
			er.err = lerr
			return n, lerr
		}
	}
	if err != nil && err != io.EOF {
		er.err = corrupt(er.name, err)
		return n, er.err
	}
	return n, err
}

// meter counts every byte a decompressor produces (tar headers included)
// against the walk's total and ratio limits.
type meter struct {
	w   *walker
	r   io.Reader
	err error
}

func (m *meter) Read(p []byte) (int, error) {
	if m.err != nil {
		return 0, m.err
	}
	n, err := m.r.Read(p)
	if lerr := m.w.addBytes(int64(n)); lerr != nil {
		m.err = lerr
		return n, lerr
	}
	return n, err
}

// bodyReader is what fn sees; it stops working when fn returns.
type bodyReader struct{ r io.Reader }

var errBodyGone = errors.New("archive: body read after fn returned")

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.r == nil {
		return 0, errBodyGone
	}
	return b.r.Read(p)
}

// readSmall reads a link target stored as content, at most max bytes.
func (w *walker) readSmall(r io.Reader, name string, limit int) (string, error) {
	er := &entryReader{w: w, r: r, name: name}
	b, err := io.ReadAll(io.LimitReader(er, int64(limit)))
	if err != nil {
		return "", er.failure(err)
	}
	return string(b), nil
}
