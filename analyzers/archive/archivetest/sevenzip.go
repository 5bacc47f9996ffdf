package archivetest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// SevenZip writes files into a 7z archive with the 7z command (no Go 7z
// writer exists): the tree is laid out in a temporary directory with fixed
// modification times, then archived with symlinks stored as links. A
// non-empty password encrypts contents (AES-256), and headers too when
// encryptHeaders is set. Names must be valid on the local file system.
func SevenZip(files []File, password string, encryptHeaders bool) ([]byte, error) {
	dir, err := os.MkdirTemp("", "archivetest-7z-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	root := filepath.Join(dir, "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		return nil, err
	}
	top := map[string]bool{}
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f.Name))
		if !strings.HasPrefix(p, root+string(filepath.Separator)) {
			return nil, fmt.Errorf("archivetest: 7z: name %q leaves the tree", f.Name)
		}
		top[strings.SplitN(strings.Trim(f.Name, "/"), "/", 2)[0]] = true
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		switch {
		case f.Dir:
			err = os.MkdirAll(p, f.perm())
		case f.Symlink != "":
			err = os.Symlink(f.Symlink, p)
		default:
			err = os.WriteFile(p, f.Body, f.perm())
		}
		if err != nil {
			return nil, err
		}
	}
	// Fix times after all writes (children change their parent's mtime).
	for i := len(files) - 1; i >= 0; i-- {
		f := files[i]
		if f.Symlink != "" {
			continue
		}
		p := filepath.Join(root, filepath.FromSlash(f.Name))
		if err := os.Chtimes(p, f.modTime(), f.modTime()); err != nil {
			return nil, err
		}
	}
	names := make([]string, 0, len(top))
	for n := range top {
		names = append(names, n)
	}
	sort.Strings(names)
	out := filepath.Join(dir, "out.7z")
	args := []string{"a", "-t7z", "-mx=1", "-snl", "-bd", "-y"}
	if password != "" {
		args = append(args, "-p"+password)
		if encryptHeaders {
			args = append(args, "-mhe=on")
		}
	}
	args = append(append(args, out, "--"), names...)
	cmd := exec.Command("7z", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8", "LANG=C.UTF-8")
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("archivetest: 7z: %w: %s", err, b)
	}
	return os.ReadFile(out)
}
