package auth

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dewar/index"
)

func TestAllowed(t *testing.T) {
	for _, tc := range []struct {
		role index.Role
		want map[Action]bool
	}{
		{index.RoleAdmin, map[Action]bool{Read: true, Write: true, Submit: true, EditNotes: true, Administer: true}},
		{index.RoleSubmitter, map[Action]bool{Read: true, Write: true, Submit: true, EditNotes: true, Administer: false}},
		{index.RoleReader, map[Action]bool{Read: true, Write: false, Submit: false, EditNotes: false, Administer: false}},
		{index.Role("intruder"), map[Action]bool{Read: false, Write: false, Submit: false, EditNotes: false, Administer: false}},
	} {
		for a, want := range tc.want {
			if got := Allowed(tc.role, a); got != want {
				t.Errorf("Allowed(%s, %d) = %v, want %v", tc.role, a, got, want)
			}
		}
	}
}

func TestLoadRootGeneratesOnceWithMode0600(t *testing.T) {
	dir := t.TempDir()
	root, generated, err := LoadRoot(dir, "", "")
	if err != nil || !generated {
		t.Fatalf("first start: %+v, generated=%v, %v", root, generated, err)
	}
	if CheckKeys(root.AccessKey, root.SecretKey) != nil || root.Role != index.RoleAdmin {
		t.Fatalf("generated keys %+v", root)
	}
	fi, err := os.Stat(filepath.Join(dir, RootCredentialsFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v, mode %v", err, fi.Mode())
	}
	again, generated, err := LoadRoot(dir, "", "")
	if err != nil || generated || again.AccessKey != root.AccessKey || again.SecretKey != root.SecretKey {
		t.Fatalf("second start: %+v, generated=%v, %v; want the same keys, not generated", again, generated, err)
	}
}

func TestLoadRootFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	root, generated, err := LoadRoot(dir, "ENVKEY", "env-secret-key")
	if err != nil || generated || root.AccessKey != "ENVKEY" || root.SecretKey != "env-secret-key" {
		t.Fatalf("env root: %+v, %v, %v", root, generated, err)
	}
	if _, err := os.Stat(filepath.Join(dir, RootCredentialsFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("env credentials written to disk: %v", err)
	}
	for _, bad := range [][2]string{{"ONLYKEY", ""}, {"", "only-secret"}, {"a:b", "long-enough-secret"}, {"OKKEY", "short"}} {
		if _, _, err := LoadRoot(dir, bad[0], bad[1]); err == nil {
			t.Errorf("LoadRoot(%q, %q) accepted", bad[0], bad[1])
		}
	}
}

func TestLoadRootRejectsDamagedFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, RootCredentialsFile), []byte("nothing useful\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadRoot(dir, "", ""); err == nil || !strings.Contains(err.Error(), RootCredentialsFile) {
		t.Fatalf("damaged file: %v", err)
	}
}

func TestNewKeysAreRandomAndWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		ak, sk := NewAccessKey(), NewSecretKey()
		if len(ak) != 20 || len(sk) != 40 || CheckKeys(ak, sk) != nil || seen[ak] {
			t.Fatalf("keys %q %q", ak, sk)
		}
		seen[ak] = true
	}
}
