package queue

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/auditfwd/auditfwd/internal/event"
)

// bigEv is an event of about 1 KiB.
func bigEv(i int) event.Event {
	doc := []byte(fmt.Sprintf(`{"n":%d,"pad":"%s"}`, i, bytes.Repeat([]byte("y"), 1000)))
	return event.Event{Hash: sha256.Sum256(doc), Time: time.UnixMilli(int64(1763979302123 + i)).UTC(), Doc: doc}
}

func appendBig(t *testing.T, q *Queue, from, n int) int64 {
	t.Helper()
	for i := from; i < from+n; i++ {
		if err := q.Append(bigEv(i), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	end, err := q.Sync()
	if err != nil {
		t.Fatal(err)
	}
	q.Commit(end)
	return end
}

// allocated is the disk space the queue's segment files take (st_blocks,
// not their size: a punched hole takes none).
func allocated(t *testing.T, dir string) int64 {
	t.Helper()
	segs, _ := filepath.Glob(filepath.Join(dir, "*"+segExt))
	var n int64
	for _, s := range segs {
		fi, err := os.Stat(s)
		if err != nil {
			t.Fatal(err)
		}
		n += fi.Sys().(*syscall.Stat_t).Blocks * 512
	}
	return n
}

func checkBig(t *testing.T, got []Entry, from, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("got %d entries, want %d", len(got), n)
	}
	for i, e := range got {
		if want := bigEv(from + i); !bytes.Equal(e.Doc, want.Doc) {
			t.Fatalf("entry %d = %.40s, want %.40s", i, e.Doc, want.Doc)
		}
	}
}

// Everything delivered: the segment goes at once, not when it fills, and
// the next append starts a new one.
func TestDeliveredSegmentIsFreed(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(dir, 0, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	end := appendBig(t, q, 0, 600)
	if a := allocated(t, dir); a < 500<<10 {
		t.Fatalf("only %d bytes on disk before delivery", a)
	}
	checkBig(t, readAll(t, q), 0, 600)
	if err := q.AckAll(func(int64) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if a := allocated(t, dir); a != 0 {
		t.Fatalf("%d bytes still on disk with everything delivered", a)
	}
	end2 := appendBig(t, q, 600, 10)
	if end2 <= end {
		t.Fatalf("log went back: %d after %d", end2, end)
	}
	checkBig(t, readAll(t, q), 600, 10)
	q.Close()
	q2, err := Open(dir, end2, end, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	checkBig(t, readAll(t, q2), 600, 10)
	q2.Close()
}

// Part delivered, more appended behind: the delivered start of the segment
// is punched out; what is pending stays intact, also across a restart.
func TestDeliveredPrefixIsPunched(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(dir, 0, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	end := appendBig(t, q, 0, 600)
	b, err := q.Read(400, 1<<30)
	if err != nil || len(b) != 400 {
		t.Fatalf("read %d, %v", len(b), err)
	}
	var mark int64
	if err := q.AckAll(func(m int64) error { mark = m; return nil }); err != nil {
		t.Fatal(err)
	}
	pending := end - mark
	if a := allocated(t, dir); a > pending+2*punchAlign {
		t.Fatalf("%d bytes on disk for %d pending", a, pending)
	}
	q.Close()
	q2, err := Open(dir, end, mark, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	checkBig(t, readAll(t, q2), 400, 200)
	q2.Close()
}

// A queue an earlier version left fully delivered (its last segment kept
// until full) is freed at open.
func TestOpenFreesDeliveredSegment(t *testing.T) {
	dir := t.TempDir()
	q, _ := Open(dir, 0, 0, 1<<20)
	end := appendBig(t, q, 0, 300)
	q.Close()
	if a := allocated(t, dir); a < 250<<10 {
		t.Fatalf("only %d bytes on disk", a)
	}
	q2, err := Open(dir, end, end, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer q2.Close()
	if a := allocated(t, dir); a != 0 {
		t.Fatalf("%d bytes still on disk with nothing pending", a)
	}
	if st := q2.Stats(); st.Events != 0 || st.Bytes != 0 {
		t.Fatalf("stats %+v", st)
	}
	end2 := appendBig(t, q2, 300, 3)
	checkBig(t, readAll(t, q2), 300, 3)
	if end2 <= end {
		t.Fatalf("log went back: %d after %d", end2, end)
	}
}

// Delivered data is freed in steps, not after every batch: a small
// delivered batch leaves the segment as it is (the same file, not removed
// and created again), and what stays on disk besides the pending entries is
// bounded by the step whatever the number of batches.
func TestDeliveredSpaceIsFreedInSteps(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(dir, 0, 0, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	appendBig(t, q, 0, 100)
	segs, _ := filepath.Glob(filepath.Join(dir, "*"+segExt))
	if len(segs) != 1 {
		t.Fatalf("segments %v", segs)
	}
	before, err := os.Stat(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	checkBig(t, readAll(t, q), 0, 100)
	if err := q.AckAll(func(int64) error { return nil }); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(segs[0])
	if err != nil {
		t.Fatalf("a delivered batch of 100 KiB removed its segment: %v", err)
	}
	if !os.SameFile(before, after) || allocated(t, dir) < 100<<10 {
		t.Fatalf("a delivered batch of 100 KiB was freed at once (%d bytes left)", allocated(t, dir))
	}
	n := 100
	for batch := 0; batch < 60; batch++ {
		end := appendBig(t, q, n, 150)
		checkBig(t, readAll(t, q), n, 150)
		n += 150
		if err := q.AckAll(func(int64) error { return nil }); err != nil {
			t.Fatal(err)
		}
		// bigEv frames are about 1 KiB: 150 of them per batch.
		if a := allocated(t, dir); a > releaseStep+200<<10 {
			t.Fatalf("batch %d (end %d): %d bytes on disk with nothing pending", batch, end, a)
		}
	}
	if n*1000 < 2*releaseStep {
		t.Fatalf("test delivered only %d events, not two steps", n)
	}
	end := appendBig(t, q, n, 5)
	checkBig(t, readAll(t, q), n, 5)
	q.Close()
	q2, err := Open(dir, end, end, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer q2.Close()
	if a := allocated(t, dir); a != 0 {
		t.Fatalf("%d bytes on disk after a restart with nothing pending", a)
	}
}

// A segment whose delivered start is punched out begins with zeros, which
// are no frame: Scan walks from the delivery mark, and finds every pending
// frame on disk, also when the last one is cut.
func TestScanPunchedPrefix(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(dir, 0, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	end := appendBig(t, q, 0, 600)
	if b, err := q.Read(400, 1<<30); err != nil || len(b) != 400 {
		t.Fatalf("read %d, %v", len(b), err)
	}
	var mark int64
	if err := q.AckAll(func(m int64) error { mark = m; return nil }); err != nil {
		t.Fatal(err)
	}
	q.Close()
	if a := allocated(t, dir); a > end-mark+2*punchAlign {
		t.Fatalf("the delivered prefix was not punched: %d bytes on disk for %d pending", a, end-mark)
	}
	x, err := Scan(dir, mark)
	if err != nil || x.First != 0 || x.End != end || x.WholeEnd != end {
		t.Fatalf("%+v %v: want whole frames from the mark %d to the end %d", x, err, mark, end)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "*"+segExt))
	os.Truncate(segs[len(segs)-1], end-3)
	x, _ = Scan(dir, mark)
	if x.WholeEnd <= mark || x.WholeEnd >= end-3 {
		t.Fatalf("after a cut: %+v (mark %d, end %d)", x, mark, end)
	}
	// A mark at a segment's end (everything on disk delivered).
	if x, _ := Scan(dir, end-3); x.WholeEnd != end-3 {
		t.Fatalf("mark at the end: %+v", x)
	}
}
