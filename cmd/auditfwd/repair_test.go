package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditfwd/auditfwd/internal/testpeer"
)

// A damaged state_dir: run refuses (exit 1, the file named, the way out),
// verify says what is wrong, repair does what it listed, and the agent
// runs again. Never "silently fresh", never a stack trace.
func TestDamagedStateRefuseVerifyRepair(t *testing.T) {
	for _, tc := range []struct {
		name, refusal string
		damage        func(t *testing.T, stateDir string)
	}{
		{"state.db deleted", "holds no progress", func(t *testing.T, d string) { os.Remove(filepath.Join(d, "state.db")) }},
		{"state.db emptied", "holds no progress", func(t *testing.T, d string) { os.WriteFile(filepath.Join(d, "state.db"), nil, 0o600) }},
		{"a key byte flipped", "is damaged", func(t *testing.T, d string) {
			p := filepath.Join(d, "state.db")
			b, _ := os.ReadFile(p)
			// Every copy (copy-on-write leaves stale ones in free
			// pages): the live one among them.
			n := testpeer.FlipAll(b, "deadletter_len", 4)
			if n == 0 {
				t.Fatal("no dead letter length in state.db")
			}
			os.WriteFile(p, b, 0o600)
		}},
		{"state.db cut short", "is damaged", func(t *testing.T, d string) {
			os.Truncate(filepath.Join(d, "state.db"), 16384)
		}},
		// Found by the review: the run refused, verify said consistent.
		{"a seen-set run cut", "state verify", func(t *testing.T, d string) {
			runs, _ := filepath.Glob(filepath.Join(d, "seen", "*", "*.run"))
			if len(runs) == 0 {
				t.Fatal("no seen-set run")
			}
			os.Truncate(runs[0], 100)
		}},
		// Found by the review: a copy from another state_dir was taken
		// as this one's, and its marks cut this one's queues.
		{"state.db from another state_dir", "belongs to another state_dir", func(t *testing.T, d string) {
			other := newCrashEnv(t, 100, "")
			if code, _, stderr := runBin(t, nil, "run", "--config", other.cfg, "--once"); code != 0 {
				t.Fatalf("other run: %s", stderr)
			}
			b, err := os.ReadFile(filepath.Join(filepath.Dir(other.dlPath), "state.db"))
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(d, "state.db"), b, 0o600)
		}},
		{"dead letter cut", "shorter than", func(t *testing.T, d string) {
			p := filepath.Join(d, "deadletter.ndjson")
			fi, err := os.Stat(p)
			if err != nil || fi.Size() == 0 {
				t.Fatalf("no dead letter: %v", err)
			}
			os.Truncate(p, fi.Size()/2)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newCrashEnv(t, 600, "")
			if code, _, stderr := runBin(t, nil, "run", "--config", e.cfg, "--once"); code != 0 {
				t.Fatalf("first run: exit %d\n%s", code, stderr)
			}
			stateDir := filepath.Dir(e.dlPath)
			tc.damage(t, stateDir)
			out1, _ := os.ReadFile(e.out1)
			code, _, stderr := runBin(t, nil, "run", "--config", e.cfg, "--once")
			if code != 1 || !strings.Contains(stderr, tc.refusal) || !strings.Contains(stderr, stateDir) {
				t.Fatalf("run on a damaged state: exit %d\n%s", code, stderr)
			}
			for _, bad := range []string{"panic:", "goroutine ", "SIGBUS"} {
				if strings.Contains(stderr, bad) {
					t.Fatalf("a crash, not a message:\n%s", stderr)
				}
			}
			if now, _ := os.ReadFile(e.out1); !bytes.Equal(now, out1) {
				t.Fatal("the refused run changed the output file")
			}
			db := filepath.Join(stateDir, "state.db")
			before, _ := os.ReadFile(db)
			code, stdout, stderr := runBin(t, nil, "state", "verify", "--config", e.cfg)
			if code != 1 || !strings.Contains(stdout, "FAIL") || !strings.Contains(stdout, "repair:") {
				t.Fatalf("verify: exit %d\n%s%s", code, stdout, stderr)
			}
			// verify changes nothing (it re-stamped a damaged state once).
			if after, _ := os.ReadFile(db); !bytes.Equal(before, after) {
				t.Fatal("state verify changed state.db")
			}
			code, stdout, stderr = runBin(t, nil, "state", "repair", "--config", e.cfg)
			if code != 0 || !strings.Contains(stdout, "repaired") {
				t.Fatalf("repair: exit %d\n%s%s", code, stdout, stderr)
			}
			if tc.name == "a key byte flipped" {
				// The dead letter's length read as 0: the next start would
				// cut it whole, so the repair kept a copy first.
				tails, _ := filepath.Glob(filepath.Join(stateDir, "aside-*", "deadletter.ndjson.tail"))
				if len(tails) != 1 {
					t.Fatalf("no copy of the dead letter's tail: %v\n%s", tails, stdout)
				}
			}
			if code, stdout, _ := runBin(t, nil, "state", "verify", "--config", e.cfg); code != 0 {
				t.Fatalf("verify after repair: exit %d\n%s", code, stdout)
			}
			if code, _, stderr := runBin(t, nil, "run", "--config", e.cfg, "--once"); code != 0 {
				t.Fatalf("run after repair: exit %d\n%s", code, stderr)
			}
			// Every record is in the output at least once (a start over
			// repeats them: that is what repair said it would cost).
			ids := idsIn(t, e.out1)
			for _, id := range e.sim.ValidIDs() {
				if ids[id] == 0 {
					t.Fatalf("record %s missing after the repair", id)
				}
			}
		})
	}
}
