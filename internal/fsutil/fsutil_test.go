package fsutil

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Whether the fsyncs reach the disk cannot be observed without cutting the
// power; these tests pin what can be: the directories, their modes, and
// the errors.

func TestMkdirAllCreatesNestedDirs(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "a", "b", "c")
	if err := MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"a", "a/b", "a/b/c"} {
		fi, err := os.Stat(filepath.Join(base, d))
		if err != nil {
			t.Fatal(err)
		}
		if !fi.IsDir() || fi.Mode().Perm() != 0o700 {
			t.Fatalf("%s: mode %v, want a directory with 0700", d, fi.Mode())
		}
	}
	// Existing: no error, and an existing mode is not changed.
	if err := os.Chmod(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := MkdirAll(dir, 0o700); err != nil {
		t.Fatalf("existing directory: %v", err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o750 {
		t.Fatalf("existing directory's mode changed to %v", fi.Mode().Perm())
	}
}

func TestMkdirAllRelative(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := MkdirAll(filepath.Join("x", "y"), 0o700); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat("x/y"); err != nil || !fi.IsDir() {
		t.Fatalf("x/y: %v", err)
	}
}

func TestMkdirAllFileInTheWay(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{file, filepath.Join(file, "sub", "dir")} {
		err := MkdirAll(dir, 0o700)
		if !errors.Is(err, syscall.ENOTDIR) {
			t.Fatalf("MkdirAll(%s) = %v, want ENOTDIR", dir, err)
		}
	}
}

func TestSyncDirErrors(t *testing.T) {
	dir := t.TempDir()
	if err := SyncDir(dir); err != nil {
		t.Fatal(err)
	}
	if err := SyncDir(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("SyncDir(missing) = %v, want not-exist", err)
	}
}
