package archive_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"dewar/test/fixtures"
)

// TestCrossCheckTools lists a sample of generated archives with the real
// tools (unzip, 7z, bsdtar, unrar) and compares their listing with the
// walker's paths, so the generators and the walker cannot agree on a
// private mistake. The tools are required: a missing one fails the test.
func TestCrossCheckTools(t *testing.T) {
	byName := map[string]fixtures.Fixture{}
	for _, fx := range loadFixtures(t) {
		byName[fx.Name] = fx
	}
	for _, c := range []struct {
		fixture string
		cmd     []string // the archive path is appended
		parse   func(string) []string
	}{
		{"kit-1/zip", []string{"unzip", "-Z1"}, lines},
		{"knowngood/zip-zipcrypto", []string{"unzip", "-Z1"}, lines},
		{"knowngood/zip-aes", []string{"7z", "l", "-slt", "-pinfected"}, sltPaths},
		{"knowngood/zip-aes", []string{"7z", "t", "-pinfected"}, okOnly},
		{"knowngood/zip-zipcrypto", []string{"7z", "t", "-pinfected"}, okOnly},
		{"kit-2/7z", []string{"7z", "l", "-slt"}, sltPaths},
		{"kit-1/7z-aes-headers", []string{"7z", "l", "-slt", "-pinfected"}, sltPaths},
		{"kit-2/tar.gz", []string{"bsdtar", "-tf"}, lines},
		{"kit-1/tar.xz", []string{"bsdtar", "-tf"}, lines},
		{"kit-1/tar.zst", []string{"bsdtar", "-tf"}, lines},
		{"kit-2/tar.bz2", []string{"bsdtar", "-tf"}, lines},
		{"kit-1/rar", []string{"bsdtar", "-tf"}, lines},
		{"kit-2/rar", []string{"unrar-free", "-t"}, okOnly},
		{"hostile/symlink-escape-rar", []string{"bsdtar", "-tf"}, lines},
		{"hostile/overlap-zip-bomb", []string{"unzip", "-Z1"}, lines},
	} {
		t.Run(c.fixture+"/"+c.cmd[0]+"-"+c.cmd[1], func(t *testing.T) {
			fx, ok := byName[c.fixture]
			if !ok {
				t.Fatalf("no fixture %s", c.fixture)
			}
			p, err := fx.WriteFile(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(c.cmd[0], append(c.cmd[1:], p)...)
			cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%v: %v\n%s", c.cmd, err, out)
			}
			got := c.parse(string(out))
			if got == nil {
				return // okOnly: the tool's exit status was the check
			}
			var want []string
			if c.fixture == "hostile/overlap-zip-bomb" {
				want = got[:0:0]
				for i := range 24 {
					want = append(want, fmt.Sprintf("%c%d", 'A'+i%26, i))
				}
			} else {
				for _, w := range fx.Entries {
					want = append(want, w.Path)
				}
			}
			sort.Strings(got)
			sort.Strings(want)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("%v lists\n%s\nwalker expects\n%s", c.cmd, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func lines(s string) []string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		l = strings.TrimSuffix(strings.TrimPrefix(l, "./"), "/")
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

func sltPaths(s string) []string {
	var out []string
	first := true
	for l := range strings.SplitSeq(s, "\n") {
		if p, ok := strings.CutPrefix(l, "Path = "); ok {
			if first { // the archive itself
				first = false
				continue
			}
			out = append(out, filepath.ToSlash(p))
		}
	}
	return out
}

func okOnly(string) []string { return nil }
