package pipeline

import (
	"crypto/sha256"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditfwd/auditfwd/internal/simulator"
	"github.com/auditfwd/auditfwd/internal/state"

	"github.com/auditfwd/auditfwd/internal/testpeer"
)

// snapshotTree hashes every file under dir but state.db.
func snapshotTree(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Base(p) == "state.db" {
			return nil
		}
		b, _ := os.ReadFile(p)
		out[p] = sha256.Sum256(b)
		return nil
	})
	return out
}

// A deleted, emptied or partly corrupt state.db is never taken for a new
// install: the start refuses, naming the file and the way out, and changes
// nothing (queues, seen-set runs, dead letter, the output file).
func TestDamagedStateRefusesStart(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		damage     func(t *testing.T, db string)
	}{
		{"deleted", "holds no progress", func(t *testing.T, db string) { os.Remove(db) }},
		{"emptied", "holds no progress", func(t *testing.T, db string) { os.WriteFile(db, nil, 0o600) }},
		{"key byte flipped", "damaged", func(t *testing.T, db string) {
			b, _ := os.ReadFile(db)
			// Every copy of the key (copy-on-write leaves stale ones in
			// free pages): the live one among them.
			n := testpeer.FlipAll(b, "/commit", 3)
			if n == 0 {
				t.Fatal("no commit mark in state.db")
			}
			os.WriteFile(db, b, 0o600)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *simulator.Config) { c.Records = 800; c.MalformedRate = 0.05 })
			c := h.config(h.yaml("", ""))
			if _, err := h.runOnce(c, nil); err != nil {
				t.Fatal(err)
			}
			db := filepath.Join(c.StateDir, "state.db")
			tc.damage(t, db)
			before := snapshotTree(t, h.dir)
			_, err := New(c, buildOuts(t, c, nil), quietLog(), Options{Once: true, Now: h.clock.Now})
			if err == nil {
				t.Fatal("started on a damaged state")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), db) || !strings.Contains(err.Error(), "state repair") {
				t.Fatalf("unclear error: %v", err)
			}
			if tc.name == "key byte flipped" && !errors.Is(err, state.ErrDamaged) {
				t.Fatalf("not ErrDamaged: %v", err)
			}
			after := snapshotTree(t, h.dir)
			for p, sum := range before {
				if after[p] != sum {
					t.Errorf("%s changed by a refused start", p)
				}
			}
		})
	}
}
