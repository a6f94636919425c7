package state

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func h(i int) [32]byte { return sha256.Sum256([]byte(fmt.Sprint(i))) }

func TestCommitIsAtomicAndDurable(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	cur := time.Date(2026, 11, 24, 10, 0, 0, 123, time.UTC)
	dl := int64(77)
	runs := []byte{0, 0, 0, 0, 0, 0, 0, 3}
	if err := s.Commit(Commit{Source: "a", Cursor: &cur, Extra: map[string][]byte{KeySeenRuns: runs}, Marks: map[string]int64{"o/a": 4096}, DeadLetterLen: &dl}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, ok, _ := s.Cursor("a"); !ok || !got.Equal(cur) {
		t.Fatalf("cursor %v %v", got, ok)
	}
	if _, ok, _ := s.Cursor("b"); ok {
		t.Fatal("another source has a cursor")
	}
	if c, d, _ := s.QueueMarks("o/a"); c != 4096 || d != 0 {
		t.Fatalf("marks %d %d", c, d)
	}
	if s.DeadLetterLen() != 77 {
		t.Fatal("dead letter length")
	}
	if got := s.SourceValue("a", KeySeenRuns); string(got) != string(runs) {
		t.Fatalf("seen runs %v", got)
	}
	if s.SourceValue("b", KeySeenRuns) != nil {
		t.Fatal("seen-sets of two sources mixed")
	}
}

// A seen-set in the layout of earlier versions is read once and dropped in
// the transaction that names its new runs.
func TestLegacySeenSet(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.Bucket(bucketSeen).CreateBucketIfNotExists([]byte("a"))
		if err != nil {
			return err
		}
		for i := 0; i < 100; i++ {
			k := h(i)
			if err := b.Put(k[:], binary.BigEndian.AppendUint64(nil, uint64(1000+i))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	old, err := s.LegacySeenSet("a")
	if err != nil || len(old) != 100 {
		t.Fatalf("%d legacy entries, %v", len(old), err)
	}
	found := false
	for _, e := range old {
		if e.Hash == h(42) {
			found = e.Anchor == 1042
		}
	}
	if !found {
		t.Fatal("hash 42 or its anchor lost")
	}
	if err := s.Commit(Commit{Source: "a", Extra: map[string][]byte{KeySeenRuns: {}}, DropLegacySeen: true}); err != nil {
		t.Fatal(err)
	}
	if old, _ := s.LegacySeenSet("a"); old != nil {
		t.Fatalf("legacy set still there: %d", len(old))
	}
}

func TestDeliveredWithTarget(t *testing.T) {
	s, _ := Open(t.TempDir())
	defer s.Close()
	if s.Target("f") != nil {
		t.Fatal("target before any save")
	}
	if err := s.Delivered("f/a", 100, "f", []byte{1, 2}); err != nil {
		t.Fatal(err)
	}
	if _, d, _ := s.QueueMarks("f/a"); d != 100 || string(s.Target("f")) != "\x01\x02" {
		t.Fatalf("delivered %d target %v", d, s.Target("f"))
	}
}

func TestSecondOpenFailsFast(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir)
	defer s.Close()
	t0 := time.Now()
	if _, err := Open(dir); err == nil {
		t.Fatal("two processes on one state_dir")
	}
	if time.Since(t0) > 60*time.Second {
		t.Fatal("waited too long for the lock")
	}
}

// Opening an existing state writes nothing (no transaction): a restart
// with nothing to do must work on a full disk, where bbolt could not
// commit (a commit writes a freelist page and a meta page, and may grow
// the file).
func TestReopenWritesNothing(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	cur := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	if err := s.Commit(Commit{Source: "a", Cursor: &cur, Marks: map[string]int64{"o/a": 10}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	path := filepath.Join(dir, "state.db")
	before, _ := os.ReadFile(path)
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c, _, err := s.QueueMarks("o/a"); err != nil || c != 10 {
		t.Fatalf("mark %d %v", c, err)
	}
	s.Close()
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("opening the state wrote to it")
	}
}
