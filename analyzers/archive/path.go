package archive

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// safeSegments turns a raw archive name into safe path segments, following
// filepath.IsLocal's spirit but recording rather than rejecting: invalid
// UTF-8 becomes U+FFFD, control characters '_', backslashes '/', a drive
// letter and leading slashes are dropped, '.' and empty segments vanish and
// '..' is resolved lexically, clamped at the root. changed reports whether
// anything beyond a leading "./" or a trailing "/" was altered.
func safeSegments(raw string) (segs []string, changed bool) {
	s := raw
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
		changed = true
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r == '\\' || isControl(r) }) {
		s = strings.Map(func(r rune) rune {
			switch {
			case r == '\\':
				return '/'
			case isControl(r):
				return '_'
			}
			return r
		}, s)
		changed = true
	}
	// Harmless normalisations: "./a", "a/".
	for strings.HasPrefix(s, "./") {
		s = s[2:]
	}
	s = strings.TrimSuffix(s, "/")
	if t := strings.TrimLeft(s, "/"); t != s {
		s, changed = t, true
	}
	if len(s) >= 2 && s[1] == ':' && isASCIILetter(s[0]) {
		s, changed = strings.TrimLeft(s[2:], "/"), true
	}
	for seg := range strings.SplitSeq(s, "/") {
		switch seg {
		case "", ".":
			changed = true
		case "..":
			changed = true
			if len(segs) > 0 {
				segs = segs[:len(segs)-1]
			}
		default:
			segs = append(segs, seg)
		}
	}
	if s == "" {
		changed = raw != "" && raw != "." && raw != "./" && raw != "/"
	}
	return segs, changed
}

func isControl(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0)
}

func isASCIILetter(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

// names makes paths unique within one walk. It remembers every file path and
// every directory (explicit or implied by a deeper path), so memory is
// bounded by Limits.MaxEntries.
type names struct {
	files map[string]bool
	dirs  map[string]bool // value: the directory was delivered as an entry
}

func newNames() *names {
	return &names{files: map[string]bool{}, dirs: map[string]bool{}}
}

// claim returns the unique path for segs (non-empty). A segment that would
// collide with an earlier file gets "~N" appended; a directory that was
// already delivered returns dup=true so it is not delivered twice.
func (n *names) claim(segs []string, isDir bool) (p string, dup bool) {
	cur := ""
	for i, seg := range segs {
		last := i == len(segs)-1
		cand := join(cur, seg)
		for k := 1; n.files[cand] || (last && !isDir && n.isDir(cand)); k++ {
			cand = join(cur, seg+"~"+strconv.Itoa(k))
		}
		cur = cand
		if !last {
			if _, ok := n.dirs[cur]; !ok {
				n.dirs[cur] = false
			}
		}
	}
	if isDir {
		if n.dirs[cur] {
			return cur, true
		}
		n.dirs[cur] = true
		return cur, false
	}
	n.files[cur] = true
	return cur, false
}

func (n *names) isDir(p string) bool {
	_, ok := n.dirs[p]
	return ok
}

func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}
