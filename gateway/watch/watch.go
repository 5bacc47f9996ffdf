// Package watch turns files dropped into watched folders into jobs. A file
// is submitted once its size and modification time have not changed for a
// while (so a file still being copied in is never taken early), then moved
// into done/ beside it — only after its job is committed — or into failed/
// with a .error file saying why. Subdirectories are watched too. fsnotify
// reports changes as they happen; a periodic rescan catches anything it
// missed (events overflow, network filesystems).
package watch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"dewar/gateway"
	"dewar/index"
)

// Submitter creates a job from a stream (gateway.Service does).
type Submitter interface {
	Submit(ctx context.Context, r io.Reader, sub gateway.Submission) (index.Job, error)
}

// Dir is one watched folder.
type Dir struct {
	Path      string
	KnownGood bool
}

// Options configure Run.
type Options struct {
	Dirs      []Dir
	Submitter Submitter
	// SubmitterName is recorded as the jobs' submitter (default "watcher").
	SubmitterName string
	// StableFor is how long a file must stay unchanged (default 5s).
	StableFor time.Duration
	// Rescan is how often every folder is walked again (default 30s).
	Rescan time.Duration
	Logger *slog.Logger
}

// Names of the folders results go to, beside each file.
const (
	DoneDir   = "done"
	FailedDir = "failed"
)

type candidate struct {
	dir     Dir
	size    int64
	mod     time.Time
	stableS time.Time // when size and mod were last seen to change
}

type watcher struct {
	o     Options
	log   *slog.Logger
	files map[string]*candidate
	fsw   *fsnotify.Watcher
}

// Run watches until ctx ends.
func Run(ctx context.Context, o Options) error {
	if o.Submitter == nil {
		return errors.New("watch: Options need a Submitter")
	}
	if o.SubmitterName == "" {
		o.SubmitterName = "watcher"
	}
	if o.StableFor <= 0 {
		o.StableFor = 5 * time.Second
	}
	if o.Rescan <= 0 {
		o.Rescan = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	defer fsw.Close()
	w := &watcher{o: o, log: o.Logger, files: map[string]*candidate{}, fsw: fsw}
	for _, d := range o.Dirs {
		if err := os.MkdirAll(d.Path, 0o750); err != nil {
			return fmt.Errorf("watch: %w", err)
		}
	}
	w.scanAll()
	tick := time.NewTicker(min(o.StableFor/4, time.Second))
	defer tick.Stop()
	rescan := time.NewTicker(o.Rescan)
	defer rescan.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-fsw.Events:
			if !ok {
				return nil
			}
			w.event(ev)
		case err, ok := <-fsw.Errors:
			if !ok {
				return nil
			}
			w.log.Warn("watch: fsnotify error; rescanning", "err", err)
			w.scanAll()
		case <-rescan.C:
			w.scanAll()
		case <-tick.C:
			w.submitStable(ctx)
		}
	}
}

// dirOf returns the watched folder path lies in.
func (w *watcher) dirOf(path string) (Dir, bool) {
	for _, d := range w.o.Dirs {
		if rel, err := filepath.Rel(d.Path, path); err == nil && !strings.HasPrefix(rel, "..") {
			return d, true
		}
	}
	return Dir{}, false
}

// skipDir reports folders that hold results, not submissions.
func skipDir(name string) bool { return name == DoneDir || name == FailedDir }

// scanAll walks every folder, (re)adding watches and noting files.
func (w *watcher) scanAll() {
	for _, d := range w.o.Dirs {
		w.scan(d, d.Path)
	}
}

// scan walks root (a watched folder or a new subfolder of one), watching
// its folders and noting its files; result folders and hidden ones are
// skipped.
func (w *watcher) scan(d Dir, root string) {
	_ = filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if e.IsDir() {
			if path != root && (skipDir(e.Name()) || strings.HasPrefix(e.Name(), ".")) {
				return filepath.SkipDir
			}
			_ = w.fsw.Add(path)
			return nil
		}
		w.note(d, path)
		return nil
	})
}

func (w *watcher) event(ev fsnotify.Event) {
	d, ok := w.dirOf(ev.Name)
	if !ok {
		return
	}
	if ev.Op&(fsnotify.Remove|fsnotify.Rename) != 0 {
		delete(w.files, ev.Name)
		return
	}
	fi, err := os.Lstat(ev.Name)
	if err != nil {
		return
	}
	if fi.IsDir() {
		if !skipDir(fi.Name()) && !strings.HasPrefix(fi.Name(), ".") {
			// A new subfolder: watch it and pick up what is already in it.
			w.scan(d, ev.Name)
		}
		return
	}
	w.note(d, ev.Name)
}

// note records a file's size and time; a change restarts its stable clock.
func (w *watcher) note(d Dir, path string) {
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() || strings.HasPrefix(fi.Name(), ".") {
		return
	}
	c, ok := w.files[path]
	if !ok || c.size != fi.Size() || !c.mod.Equal(fi.ModTime()) {
		w.files[path] = &candidate{dir: d, size: fi.Size(), mod: fi.ModTime(), stableS: time.Now()}
	}
}

// submitStable submits every file that has been stable long enough.
func (w *watcher) submitStable(ctx context.Context) {
	for path, c := range w.files {
		// Look again: writes without events (mmap, some filesystems).
		fi, err := os.Lstat(path)
		if err != nil {
			delete(w.files, path)
			continue
		}
		if fi.Size() != c.size || !fi.ModTime().Equal(c.mod) {
			c.size, c.mod, c.stableS = fi.Size(), fi.ModTime(), time.Now()
			continue
		}
		if time.Since(c.stableS) < w.o.StableFor {
			continue
		}
		delete(w.files, path)
		w.submit(ctx, c.dir, path)
	}
}

func (w *watcher) submit(ctx context.Context, d Dir, path string) {
	rel, _ := filepath.Rel(d.Path, path)
	log := w.log.With("file", path)
	f, err := os.Open(path)
	if err != nil {
		w.fail(path, err, log)
		return
	}
	j, err := w.o.Submitter.Submit(ctx, f, gateway.Submission{
		Name: filepath.ToSlash(rel), KnownGood: d.KnownGood, Submitter: w.o.SubmitterName,
		Notes: "from watched folder " + d.Path,
	})
	f.Close()
	if err != nil {
		if ctx.Err() != nil {
			return // shutting down: leave the file for the next start
		}
		w.fail(path, err, log)
		return
	}
	// The job is committed: the file may leave the folder.
	if _, err := moveBeside(path, DoneDir); err != nil {
		log.Error("watch: job created but the file could not be moved to done/; it will be submitted again", "job", j.ID, "err", err)
		return
	}
	log.Info("watch: submitted", "job", j.ID)
}

func (w *watcher) fail(path string, cause error, log *slog.Logger) {
	log.Warn("watch: submission failed", "err", cause)
	dst, err := moveBeside(path, FailedDir)
	if err != nil {
		log.Error("watch: could not move the file to failed/", "err", err)
		return
	}
	_ = os.WriteFile(dst+".error", []byte(cause.Error()+"\n"), 0o640)
}

// moveBeside moves path into sub/ of its own folder, never overwriting.
func moveBeside(path, sub string) (string, error) {
	dir := filepath.Join(filepath.Dir(path), sub)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	base := filepath.Base(path)
	dst := filepath.Join(dir, base)
	for i := 1; ; i++ {
		if _, err := os.Lstat(dst); errors.Is(err, os.ErrNotExist) {
			break
		}
		dst = filepath.Join(dir, fmt.Sprintf("%s.%d", base, i))
	}
	return dst, os.Rename(path, dst)
}
