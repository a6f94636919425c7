package state

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func committedState(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	cur := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	dl := int64(4242)
	if err := s.Commit(Commit{Source: "tenant", Cursor: &cur, Marks: map[string]int64{"siem/tenant": 81920}, DeadLetterLen: &dl,
		Extra: map[string][]byte{KeySeenRuns: []byte("runs-list")}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delivered("siem/tenant", 40960, "siem", []byte(`{"len":123}`)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	return dir
}

// flip changes one byte of the n-th occurrence of needle in state.db; it
// reports false when there is no such occurrence.
func flip(t *testing.T, dir, needle string, n, at int) bool {
	t.Helper()
	p := filepath.Join(dir, "state.db")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	i, off := -1, 0
	for k := 0; k <= n; k++ {
		j := bytes.Index(b[off:], []byte(needle))
		if j < 0 {
			return false
		}
		i, off = off+j, off+j+1
	}
	b[i+at] ^= 0x01
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return true
}

// exact tells whether the state in dir opens with what committedState wrote.
func exact(s *Store) bool {
	c, d, _ := s.QueueMarks("siem/tenant")
	cur, ok, _ := s.Cursor("tenant")
	return c == 81920 && d == 40960 && ok && cur.Equal(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)) &&
		s.DeadLetterLen() == 4242 && string(s.SourceValue("tenant", KeySeenRuns)) == "runs-list" && string(s.Target("siem")) == `{"len":123}`
}

// One flipped byte in a key or a value reads, to bbolt, as a valid file
// whose key is gone (so it reads as zero) or whose value changed. Each
// copy of the bytes in the file is flipped in turn (copy-on-write leaves
// stale copies in free pages): the state either opens exactly as it was
// or is refused, naming the file, and the live copy is refused.
func TestFlippedByteInAKeyOrValueIsRefused(t *testing.T) {
	for _, tc := range []struct{ name, needle string }{
		{"commit mark key", "siem/tenant/commit"},
		{"delivery mark key", "siem/tenant/delivered"},
		{"dead letter length key", "deadletter_len"},
		{"run list key", "seen_runs"},
		{"cursor key", "cursor"},
		{"cursor value", "2026-11-24T10"},
		{"target value", `{"len":123}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			refused := 0
			for n := 0; ; n++ {
				dir := committedState(t)
				if !flip(t, dir, tc.needle, n, len(tc.needle)-2) {
					break
				}
				s, err := Open(dir)
				if err == nil {
					ok := exact(s)
					s.Close()
					if !ok {
						t.Fatalf("copy %d flipped: the state opened with other values", n)
					}
					continue
				}
				refused++
				if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), filepath.Join(dir, "state.db")) || !strings.Contains(err.Error(), "state repair") {
					t.Fatalf("unclear error: %v", err)
				}
				// Refusing changed nothing: the same error again.
				if s, err := Open(dir); err == nil || !errors.Is(err, ErrDamaged) {
					if s != nil {
						s.Close()
					}
					t.Fatalf("second open: %v", err)
				}
			}
			if refused == 0 {
				t.Fatal("no flip was refused: the live copy was not damaged?")
			}
		})
	}
	dir := committedState(t)
	s, err := Open(dir)
	if err != nil {
		t.Fatalf("intact state: %v", err)
	}
	defer s.Close()
	if !exact(s) {
		t.Fatal("intact state reads otherwise")
	}
}

// A state written before stamps existed opens as it is and is stamped.
func TestStateFromBeforeStampsIsStamped(t *testing.T) {
	dir := t.TempDir()
	db, err := bolt.Open(filepath.Join(dir, "state.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error {
		q, _ := tx.CreateBucketIfNotExists(bucketQueues)
		putInt(q, "siem/tenant/commit", 100)
		tx.CreateBucketIfNotExists(bucketMisc)
		return nil
	})
	db.Close()
	s, err := Open(dir)
	if err != nil {
		t.Fatalf("legacy state refused: %v", err)
	}
	if c, _, _ := s.QueueMarks("siem/tenant"); c != 100 {
		t.Fatalf("commit %d", c)
	}
	s.Close()
	// Stamped now: damage to the live key is caught.
	caught := false
	for n := 0; ; n++ {
		d := t.TempDir()
		b, _ := os.ReadFile(filepath.Join(dir, "state.db"))
		os.WriteFile(filepath.Join(d, "state.db"), b, 0o600)
		if !flip(t, d, "siem/tenant/commit", n, 3) {
			break
		}
		s, err := Open(d)
		if errors.Is(err, ErrDamaged) {
			caught = true
		} else if err == nil {
			s.Close()
		}
	}
	if !caught {
		t.Fatal("damage after stamping not caught")
	}
}

func TestFresh(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if fresh, err := s.Fresh(); err != nil || !fresh {
		t.Fatal("a new state is not fresh")
	}
	s.Close()
	s, _ = Open(committedState(t))
	defer s.Close()
	if fresh, err := s.Fresh(); err != nil || fresh {
		t.Fatal("a used state is fresh")
	}
}
