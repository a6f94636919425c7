package pipeline

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/auditfwd/auditfwd/internal/simulator"
)

// What holds raw audit records is the owner's only: the state_dir, the
// queue and seen-set directories 0700, the dead letters and queue segments
// 0600. (That their directory entries are fsynced cannot be observed
// without cutting the power; package fsutil's tests pin the helper.)
func TestStateFilesAreOwnerOnly(t *testing.T) {
	// Umask 0: the test sees the modes the code asks for, not the runner's.
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	h := newHarness(t, func(c *simulator.Config) { c.Records = 200; c.MalformedRate = 0.1 })
	if _, err := h.runOnce(h.config(h.yaml("", "")), nil); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(h.dir, "state")
	want := map[string]fs.FileMode{
		"":                        0o700,
		"seen":                    0o700,
		"seen/t1":                 0o700,
		"queues":                  0o700,
		"queues/local":            0o700,
		"queues/local/t1":         0o700,
		"deadletter.ndjson":       0o600,
		"deadletter-local.ndjson": 0o600,
		"state.db":                0o600,
	}
	// Delivered segments are removed at once; those left (if any) are
	// checked here, and queue's TestSegmentIsOwnerOnly checks one always.
	segs, _ := filepath.Glob(filepath.Join(state, "queues", "local", "t1", "*"))
	for _, s := range segs {
		rel, _ := filepath.Rel(state, s)
		want[rel] = 0o600
	}
	for rel, mode := range want {
		fi, err := os.Stat(filepath.Join(state, rel))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != mode {
			t.Errorf("%s: mode %o, want %o", filepath.Join("state", rel), got, mode)
		}
	}
}
