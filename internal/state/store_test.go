package state

import (
	"crypto/sha256"
	"fmt"
	"testing"
	"time"
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
	var seen []SeenEntry
	for i := 0; i < 1000; i++ {
		seen = append(seen, SeenEntry{Hash: h(i), Anchor: int64(i)})
	}
	if err := s.Commit(Commit{Source: "a", Cursor: &cur, Seen: seen, Marks: map[string]int64{"o/a": 4096}, DeadLetterLen: &dl}); err != nil {
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
	r := s.SeenReader("a")
	for i := 0; i < 1000; i++ {
		if ok, _ := r.Has(h(i)); !ok {
			t.Fatalf("hash %d lost", i)
		}
	}
	if ok, _ := r.Has(h(5000)); ok {
		t.Fatal("unknown hash found")
	}
	if ok, _ := s.SeenReader("b").Has(h(1)); ok {
		t.Fatal("seen-sets of two sources mixed")
	}
}

func TestExpireByAnchor(t *testing.T) {
	s, _ := Open(t.TempDir())
	defer s.Close()
	var seen []SeenEntry
	for i := 0; i < 25000; i++ {
		seen = append(seen, SeenEntry{Hash: h(i), Anchor: int64(i)})
	}
	s.Commit(Commit{Source: "a", Seen: seen})
	total := 0
	for {
		n, err := s.Expire("a", 20000, 7000)
		if err != nil {
			t.Fatal(err)
		}
		total += n
		if n < 7000 {
			break
		}
	}
	if total != 20000 {
		t.Fatalf("expired %d, want 20000", total)
	}
	r := s.SeenReader("a")
	for _, i := range []int{0, 19999, 20000, 24999} {
		ok, _ := r.Has(h(i))
		if ok != (i >= 20000) {
			t.Fatalf("hash %d present=%v", i, ok)
		}
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
	if time.Since(t0) > 10*time.Second {
		t.Fatal("waited too long for the lock")
	}
}
