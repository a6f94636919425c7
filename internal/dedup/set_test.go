package dedup

import (
	"crypto/sha256"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

func hashOf(i int) [32]byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	return sha256.Sum256(b[:])
}

func entries(from, to int, anchor int64) []Entry {
	es := make([]Entry, 0, to-from)
	for i := from; i < to; i++ {
		es = append(es, Entry{Hash: hashOf(i), Anchor: anchor})
	}
	return es
}

// apply adds es and commits the change, as the pipeline does after its
// state transaction; it returns the live list the state would hold.
func apply(t *testing.T, s *Set, es []Entry) []uint64 {
	t.Helper()
	c, err := s.Add(es)
	if err != nil {
		t.Fatal(err)
	}
	c.Apply()
	live, _ := DecodeList(c.Live())
	return live
}

func TestAddHasMergeReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	var live []uint64
	n := 0
	// Many small adds then a few big ones, like polls then a busy day.
	for i := 0; i < 300; i++ {
		live = apply(t, s, entries(n, n+37, int64(1000+i)))
		n += 37
	}
	for i := 0; i < 4; i++ {
		live = apply(t, s, entries(n, n+50000, 5000))
		n += 50000
	}
	if s.Count() != int64(n) {
		t.Fatalf("count %d, want %d", s.Count(), n)
	}
	if s.Runs() > 20 {
		t.Fatalf("%d runs for %d hashes: merging does not keep them few", s.Runs(), n)
	}
	check := func(s *Set) {
		t.Helper()
		for i := 0; i < n; i++ {
			if !s.Has(hashOf(i)) {
				t.Fatalf("hash %d missing", i)
			}
		}
		fp := 0
		for i := n; i < n+100000; i++ {
			if s.Has(hashOf(i)) {
				fp++
			}
		}
		if fp > 0 {
			t.Fatalf("%d hashes never added are found", fp)
		}
	}
	check(s)
	s.Trim() // the pages go; the lookups read them again
	check(s)
	files, _ := filepath.Glob(filepath.Join(dir, "*.run"))
	if len(files) != s.Runs() {
		t.Fatalf("%d files for %d live runs: merged files were not deleted", len(files), s.Runs())
	}
	s.Close()
	s2, err := Open(dir, live)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if s2.Count() != int64(n) {
		t.Fatalf("count after reopen %d", s2.Count())
	}
	check(s2)
}

// A change whose state transaction never committed leaves files no live
// list names: Open deletes them, and the set is as before the change.
func TestUncommittedChangeIsForgotten(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, nil)
	live := apply(t, s, entries(0, 1000, 10))
	c, err := s.Add(entries(1000, 3000, 20)) // merges with the first run
	if err != nil {
		t.Fatal(err)
	}
	// crash: neither Apply nor Abort
	s.Close()
	s2, err := Open(dir, live)
	if err != nil {
		t.Fatal(err)
	}
	if s2.Has(hashOf(1500)) || !s2.Has(hashOf(500)) || s2.Count() != 1000 {
		t.Fatalf("after the crash: has(1500)=%v has(500)=%v count %d", s2.Has(hashOf(1500)), s2.Has(hashOf(500)), s2.Count())
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.run"))
	if len(files) != 1 {
		t.Fatalf("orphans left: %v", files)
	}
	// Abort removes its files at once.
	c, _ = s2.Add(entries(5000, 5010, 30))
	c.Abort()
	if files, _ := filepath.Glob(filepath.Join(dir, "*.run")); len(files) != 1 || s2.Has(hashOf(5005)) {
		t.Fatalf("abort left %v", files)
	}
	_ = c
}

func TestExpire(t *testing.T) {
	s, _ := Open(t.TempDir(), nil)
	for day := int64(0); day < 6; day++ {
		// Big runs (at the cap) so they do not merge away.
		apply(t, s, entries(int(day)*maxRun, int(day+1)*maxRun, 1000+day*86400))
	}
	if s.Runs() != 6 {
		t.Fatalf("%d runs", s.Runs())
	}
	c, err := s.Expire(1000 + 3*86400) // days 0..2 are past the horizon
	if c == nil || err != nil {
		t.Fatalf("nothing to expire: %v", err)
	}
	live, _ := DecodeList(c.Live())
	c.Apply()
	if len(live) != 3 || s.Runs() != 3 || s.Count() != 3*maxRun {
		t.Fatalf("live %v, runs %d, count %d", live, s.Runs(), s.Count())
	}
	if s.Has(hashOf(5)) || !s.Has(hashOf(3*maxRun+5)) {
		t.Fatal("expired the wrong runs")
	}
	if c, _ := s.Expire(1000 + 3*86400); c != nil {
		t.Fatal("a second expiry with the same cutoff found work")
	}
}

// Expiry rewrites a run that is largely expired; a merge leaves out the
// expired hashes of the others.
func TestExpireRewritesAndMergesDrop(t *testing.T) {
	s, _ := Open(t.TempDir(), nil)
	apply(t, s, entries(0, 100, 10))    // old
	apply(t, s, entries(100, 1000, 50)) // newer; one run after the merge
	if s.Runs() != 1 {
		t.Fatalf("%d runs", s.Runs())
	}
	if c, _ := s.Expire(20); c != nil {
		t.Fatal("a run only 10% expired was rewritten")
	}
	apply(t, s, entries(1000, 1600, 60)) // merges, leaving out anchors < 20
	if s.Has(hashOf(5)) || !s.Has(hashOf(120)) || !s.Has(hashOf(1599)) || s.Count() != 1500 {
		t.Fatalf("after the merge: has(5)=%v has(120)=%v count %d", s.Has(hashOf(5)), s.Has(hashOf(120)), s.Count())
	}
	// Most of the set is now before 55: expiry rewrites it.
	c, err := s.Expire(55)
	if c == nil || err != nil {
		t.Fatalf("no rewrite: %v", err)
	}
	c.Apply()
	if s.Has(hashOf(120)) || !s.Has(hashOf(1200)) || s.Count() != 600 {
		t.Fatalf("after expiry: has(120)=%v count %d", s.Has(hashOf(120)), s.Count())
	}
}

func TestCorruptRunIsAnError(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, nil)
	live := apply(t, s, entries(0, 500, 10))
	s.Close()
	path := filepath.Join(dir, "0000000000000000.run")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[headerSize+100] ^= 0xff
	os.WriteFile(path, b, 0o600)
	if _, err := Open(dir, live); err == nil {
		t.Fatal("a corrupt run opened")
	}
	os.Remove(path)
	if _, err := Open(dir, live); err == nil {
		t.Fatal("a missing live run opened")
	}
}

func TestSameHashTwiceKeepsLargerAnchor(t *testing.T) {
	s, _ := Open(t.TempDir(), nil)
	h := hashOf(7)
	apply(t, s, []Entry{{Hash: h, Anchor: 10}, {Hash: h, Anchor: 90}, {Hash: hashOf(8), Anchor: 5}})
	if s.Count() != 2 {
		t.Fatalf("count %d", s.Count())
	}
	if lo, hi, _ := s.Anchors(); lo != 5 || hi != 90 {
		t.Fatalf("anchors %d..%d", lo, hi)
	}
}

func BenchmarkHasHit(b *testing.B) {
	s, _ := Open(b.TempDir(), nil)
	for i := 0; i < 1000000; i += 50000 {
		c, _ := s.Add(entries(i, i+50000, 1))
		c.Apply()
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if !s.Has(hashOf(i % 1000000)) {
			b.Fatal("miss")
		}
	}
}

func BenchmarkHasMiss(b *testing.B) {
	s, _ := Open(b.TempDir(), nil)
	for i := 0; i < 1000000; i += 50000 {
		c, _ := s.Add(entries(i, i+50000, 1))
		c.Apply()
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Has(hashOf(2000000 + i))
	}
}

// Adding 50,000 hashes to a set of 1,000,000 (one checkpoint).
func BenchmarkAdd50k(b *testing.B) {
	s, _ := Open(b.TempDir(), nil)
	for i := 0; i < 1000000; i += 50000 {
		c, _ := s.Add(entries(i, i+50000, 1))
		c.Apply()
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		base := 1000000 + i*50000
		c, err := s.Add(entries(base, base+50000, 1))
		if err != nil {
			b.Fatal(err)
		}
		c.Apply()
	}
}
