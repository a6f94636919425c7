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

func ev(i int) event.Event {
	doc := []byte(fmt.Sprintf(`{"n":%d,"pad":"%s"}`, i, bytes.Repeat([]byte("x"), i%50)))
	return event.Event{Hash: sha256.Sum256(doc), Time: time.UnixMilli(int64(1763979302123 + i)).UTC(), Doc: doc}
}

func appendN(t *testing.T, q *Queue, from, n int) int64 {
	t.Helper()
	for i := from; i < from+n; i++ {
		if err := q.Append(ev(i), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	end, err := q.Sync()
	if err != nil {
		t.Fatal(err)
	}
	return end
}

func readAll(t *testing.T, q *Queue) []Entry {
	t.Helper()
	var out []Entry
	for {
		b, err := q.Read(7, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 {
			return out
		}
		out = append(out, b...)
	}
}

func checkSeq(t *testing.T, got []Entry, from, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("got %d entries, want %d", len(got), n)
	}
	for i, e := range got {
		want := ev(from + i)
		if !bytes.Equal(e.Doc, want.Doc) || e.Hash != want.Hash || !e.Time.Equal(want.Time) {
			t.Fatalf("entry %d = %s, want %s", i, e.Doc, want.Doc)
		}
	}
}

func TestCommitReadAckAcrossSegments(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(dir, 0, 0, 1024) // tiny segments: many rotations
	if err != nil {
		t.Fatal(err)
	}
	end := appendN(t, q, 0, 100)
	if got := q.Available(); got != 0 {
		t.Fatalf("uncommitted entries visible: %d", got)
	}
	q.Commit(end)
	if st := q.Stats(); st.Events != 100 || st.Bytes != end {
		t.Fatalf("stats %+v, want 100 events, %d bytes", st, end)
	}
	got := readAll(t, q)
	checkSeq(t, got, 0, 100)
	var persisted int64
	if err := q.AckAll(func(m int64) error { persisted = m; return nil }); err != nil {
		t.Fatal(err)
	}
	if persisted != end {
		t.Fatalf("persisted mark %d, want %d", persisted, end)
	}
	if st := q.Stats(); st.Events != 0 || st.Bytes != 0 {
		t.Fatalf("after ack: %+v", st)
	}
	// Everything delivered: no segment is kept, not even the last.
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(segs) != 0 {
		t.Fatalf("delivered segments not removed: %d files left", len(segs))
	}
	q.Close()
}

func TestOpenCutsUncommittedTail(t *testing.T) {
	dir := t.TempDir()
	q, _ := Open(dir, 0, 0, 2048)
	c1 := appendN(t, q, 0, 30)
	q.Commit(c1)
	appendN(t, q, 30, 40) // synced, never committed: a crash before the state commit
	q.Close()

	q2, err := Open(dir, c1, 0, 2048)
	if err != nil {
		t.Fatal(err)
	}
	checkSeq(t, readAll(t, q2), 0, 30)
	// Appending after recovery continues at the commit mark.
	c2 := appendN(t, q2, 30, 5)
	q2.Commit(c2)
	checkSeq(t, readAll(t, q2), 30, 5)
	q2.Close()
}

func TestRollback(t *testing.T) {
	q, _ := Open(t.TempDir(), 0, 0, 4096)
	c := appendN(t, q, 0, 10)
	q.Commit(c)
	for i := 10; i < 50; i++ { // partly buffered, partly flushed
		q.Append(ev(i), time.Now())
	}
	if err := q.Rollback(); err != nil {
		t.Fatal(err)
	}
	c2 := appendN(t, q, 100, 3)
	q.Commit(c2)
	got := readAll(t, q)
	checkSeq(t, got[:10], 0, 10)
	checkSeq(t, got[10:], 100, 3)
}

func TestResumeFromDeliveryMark(t *testing.T) {
	dir := t.TempDir()
	q, _ := Open(dir, 0, 0, 1<<20)
	c := appendN(t, q, 0, 20)
	q.Commit(c)
	b, _ := q.Read(8, 1<<20)
	var mark int64
	q.AckAll(func(m int64) error { mark = m; return nil })
	q.Read(5, 1<<20) // read, never acked: lost in a crash, must come back
	q.Close()
	if len(b) != 8 {
		t.Fatal(len(b))
	}
	q2, err := Open(dir, c, mark, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if st := q2.Stats(); st.Events != 12 {
		t.Fatalf("depth after restart %d, want 12", st.Events)
	}
	checkSeq(t, readAll(t, q2), 8, 12)
}

func TestCorruptionDetected(t *testing.T) {
	dir := t.TempDir()
	q, _ := Open(dir, 0, 0, 1<<20)
	c := appendN(t, q, 0, 5)
	q.Commit(c)
	q.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	data, _ := os.ReadFile(segs[0])
	data[len(data)-3] ^= 0xff
	os.WriteFile(segs[0], data, 0o640)
	q2, err := Open(dir, c, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q2.Read(100, 1<<20); err == nil {
		t.Fatal("a flipped byte was not detected")
	}
}

func TestMissingCommittedDataIsAnError(t *testing.T) {
	dir := t.TempDir()
	q, _ := Open(dir, 0, 0, 1<<20)
	c := appendN(t, q, 0, 5)
	q.Close()
	if _, err := Open(dir, c+100, 0, 1<<20); err == nil {
		t.Fatal("a commit mark past the data was accepted")
	}
}

func TestDropOldest(t *testing.T) {
	q, _ := Open(t.TempDir(), 0, 0, 1<<20)
	c := appendN(t, q, 0, 100)
	q.Commit(c)
	var mark int64
	n, err := q.DropOldest(c/2, func(m int64) error { mark = m; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 || mark == 0 {
		t.Fatalf("dropped %d, mark %d", n, mark)
	}
	if st := q.Stats(); st.Bytes > c/2 {
		t.Fatalf("%d bytes left after dropping to %d", st.Bytes, c/2)
	}
	rest := readAll(t, q)
	if int64(len(rest))+n != 100 {
		t.Fatalf("dropped %d + left %d != 100", n, len(rest))
	}
	checkSeq(t, rest, int(n), len(rest))
}

func BenchmarkAppendSyncReadAck(b *testing.B) {
	q, _ := Open(b.TempDir(), 0, 0, 64<<20)
	doc := bytes.Repeat([]byte("a"), 900) // a typical ECS document
	e := event.Event{Doc: doc, Time: time.Now()}
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	const batch = 1000
	for i := 0; i < b.N; i++ {
		q.Append(e, time.Now())
		if i%batch == batch-1 || i == b.N-1 {
			end, _ := q.Sync()
			q.Commit(end)
			for {
				got, _ := q.Read(500, 5<<20)
				if len(got) == 0 {
					break
				}
			}
			q.AckAll(func(int64) error { return nil })
		}
	}
	b.ReportMetric(float64(frameHeader+payloadHeader+len(doc))/float64(len(doc)), "disk/doc-bytes")
}

// TestSizeFollowsStats: the lock-free Size agrees with Stats after every
// kind of move: append, rollback, read, ack, drop, reopen.
func TestSizeFollowsStats(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(dir, 0, 0, 4096)
	if err != nil {
		t.Fatal(err)
	}
	check := func(step string) {
		t.Helper()
		b, u := q.Size()
		if st := q.Stats(); b != st.Bytes || u != st.Unread {
			t.Fatalf("%s: Size = %d, %d; Stats = %d, %d", step, b, u, st.Bytes, st.Unread)
		}
	}
	check("new")
	q.Commit(appendN(t, q, 0, 50))
	check("append")
	appendN(t, q, 50, 10)
	check("uncommitted")
	if err := q.Rollback(); err != nil {
		t.Fatal(err)
	}
	check("rollback")
	if _, err := q.Read(7, 1<<20); err != nil {
		t.Fatal(err)
	}
	check("read")
	var mark int64
	if err := q.AckAll(func(m int64) error { mark = m; return nil }); err != nil {
		t.Fatal(err)
	}
	check("ack")
	if _, err := q.DropOldest(q.Stats().Bytes/2, func(m int64) error { mark = m; return nil }); err != nil {
		t.Fatal(err)
	}
	check("drop")
	end, _ := q.Sync()
	q.Close()
	if q, err = Open(dir, end, mark, 4096); err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	check("reopen")
}

// benchBackPressureCheck is the poller's check before an append while the
// consumer persists delivery marks under the queue's lock (a store
// transaction with fsync, here 1 ms of sleep).
func benchBackPressureCheck(b *testing.B, check func(q *Queue) int64) {
	q, _ := Open(b.TempDir(), 0, 0, 64<<20)
	defer q.Close()
	q.Commit(appendBench(b, q, 100))
	b.ReportAllocs()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			// AckAll's hold of the lock around persist, a store commit.
			q.mu.Lock()
			time.Sleep(time.Millisecond)
			q.mu.Unlock()
			time.Sleep(time.Millisecond)
		}
	}()
	for b.Loop() {
		if check(q) < 0 {
			b.Fatal("negative size")
		}
	}
	close(stop)
	<-done
}

func appendBench(b *testing.B, q *Queue, n int) int64 {
	for i := 0; i < n; i++ {
		q.Append(ev(i), time.Now())
	}
	end, _ := q.Sync()
	return end
}

func BenchmarkBackPressureStats(b *testing.B) {
	benchBackPressureCheck(b, func(q *Queue) int64 { return q.Stats().Bytes })
}

func BenchmarkBackPressureSize(b *testing.B) {
	benchBackPressureCheck(b, func(q *Queue) int64 { n, _ := q.Size(); return n })
}

// The reader must never serve bytes that a rollback cut off. The writer
// flushes uncommitted bytes (every 256 KiB, or here by Sync), the reader's
// read-ahead picks them up behind the committed entry it reads, the window
// fails and is cut back, and the retried window appends other entries at
// the same position: the consumer must get the new ones.
func TestReadAfterRollbackSeesNewEntries(t *testing.T) {
	for _, tc := range []struct {
		name      string
		retry     int // first entry of the retried window
		segSize   int64
		sameSizes bool
	}{
		// Same frame sizes: the stale bytes would be genuine frames with a
		// valid CRC, a silent swap.
		{"same sizes", 61, 0, true},
		// Other sizes: a misaligned read would stop the output.
		{"other sizes", 40, 0, false},
		// Tiny segments: the rolled-back entries lived in segment files that
		// the rollback removed and the retry creates again under the same names.
		{"recreated segments", 61, 200, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := Open(t.TempDir(), 0, 0, tc.segSize)
			if err != nil {
				t.Fatal(err)
			}
			defer q.Close()
			q.Commit(appendN(t, q, 10, 1))
			appendN(t, q, 11, 3) // flushed, not committed
			first, err := q.Read(1, 1<<20)
			if err != nil || len(first) != 1 {
				t.Fatalf("read: %v %d", err, len(first))
			}
			checkSeq(t, first, 10, 1)
			if err := q.Rollback(); err != nil {
				t.Fatal(err)
			}
			q.Commit(appendN(t, q, tc.retry, 3))
			checkSeq(t, readAll(t, q), tc.retry, 3)
		})
	}
}

// Scan finds the extent of a log from its files alone, and where its
// whole frames end when the last one was cut.
func TestScan(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(dir, 0, 0, 1024)
	if err != nil {
		t.Fatal(err)
	}
	end := appendN(t, q, 0, 40)
	q.Commit(end)
	q.Close()
	x, err := Scan(dir, 0)
	if err != nil || x.First != 0 || x.End != end || x.WholeEnd != end || x.Segments < 2 {
		t.Fatalf("%+v %v, want end %d", x, err, end)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	last := segs[len(segs)-1]
	fi, _ := os.Stat(last)
	os.Truncate(last, fi.Size()-3) // the last frame cut
	x, _ = Scan(dir, 0)
	if x.End != end-3 || x.WholeEnd >= x.End || x.WholeEnd <= 0 {
		t.Fatalf("after a cut: %+v (end %d)", x, end)
	}
	if x, err := Scan(filepath.Join(dir, "nope"), 0); err != nil || x.Segments != 0 {
		t.Fatalf("missing dir: %+v %v", x, err)
	}
}

// A segment holds raw audit records: the owner's only, whatever the umask.
func TestSegmentIsOwnerOnly(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "q")
	q, err := Open(dir, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	appendN(t, q, 0, 3)
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(segs) != 1 {
		t.Fatalf("segments %v", segs)
	}
	for p, want := range map[string]os.FileMode{segs[0]: 0o600, dir: 0o700} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v %v, want %o", p, fi.Mode().Perm(), err, want)
		}
	}
}

// TestReadDocumentsAreIndependent: the documents of a Read share buffers,
// but appending to one, or writing into it, never touches another, and a
// later Read never reuses what an earlier one returned.
func TestReadDocumentsAreIndependent(t *testing.T) {
	q, err := Open(t.TempDir(), 0, 0, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	want := func(i int) []byte { return bytes.Repeat([]byte{byte('a' + i%26)}, 100+i) }
	for i := 0; i < 40; i++ {
		if err := q.Append(event.Event{Doc: want(i), Time: time.Now()}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	end, err := q.Sync()
	if err != nil {
		t.Fatal(err)
	}
	q.Commit(end)
	first, err := q.Read(20, 1<<20)
	if err != nil || len(first) != 20 {
		t.Fatalf("read %d, %v", len(first), err)
	}
	for i := range first {
		first[i].Doc = append(first[i].Doc, "\n-- appended --"...)
		first[i].Doc[0] = '#'
	}
	second, err := q.Read(20, 1<<20)
	if err != nil || len(second) != 20 {
		t.Fatalf("read %d, %v", len(second), err)
	}
	for i, e := range first {
		w := append([]byte{'#'}, want(i)[1:]...)
		w = append(w, "\n-- appended --"...)
		if !bytes.Equal(e.Doc, w) {
			t.Fatalf("first read, event %d: %q", i, e.Doc)
		}
	}
	for i, e := range second {
		if !bytes.Equal(e.Doc, want(20+i)) {
			t.Fatalf("second read, event %d: %q, want %q", 20+i, e.Doc, want(20+i))
		}
	}
}

// ReadInto with the same Slabs reuses the memory of the last read: the
// documents are right, the second read's sit where the first's did, and a
// document larger than a slab is read whole into a buffer of its own.
func TestReadIntoReusesSlabs(t *testing.T) {
	q, err := Open(t.TempDir(), 0, 0, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	want := func(i int) []byte {
		if i == 25 {
			return bytes.Repeat([]byte{'Z'}, readSlab+10)
		}
		return bytes.Repeat([]byte{byte('a' + i%26)}, 100+i)
	}
	for i := 0; i < 40; i++ {
		if err := q.Append(event.Event{Doc: want(i), Time: time.Now()}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	end, err := q.Sync()
	if err != nil {
		t.Fatal(err)
	}
	q.Commit(end)
	var s Slabs
	check := func(batch []Entry, from int) {
		t.Helper()
		for i, e := range batch {
			if !bytes.Equal(e.Doc, want(from+i)) {
				t.Fatalf("event %d: %d bytes %.20q, want %d bytes %.20q", from+i, len(e.Doc), e.Doc, len(want(from+i)), want(from+i))
			}
			if cap(e.Doc) != len(e.Doc) {
				t.Fatalf("event %d: capacity %d reaches past its %d bytes", from+i, cap(e.Doc), len(e.Doc))
			}
		}
	}
	first, err := q.ReadInto(&s, 20, 1<<30)
	if err != nil || len(first) != 20 {
		t.Fatalf("read %d, %v", len(first), err)
	}
	check(first, 0)
	firstAt := &first[0].Doc[0]
	second, err := q.ReadInto(&s, 20, 1<<30)
	if err != nil || len(second) != 20 {
		t.Fatalf("read %d, %v", len(second), err)
	}
	check(second, 20)
	if &second[0].Doc[0] != firstAt {
		t.Fatal("the second read did not reuse the first one's slab")
	}
	if len(s.bufs) != 1 {
		t.Fatalf("%d slabs kept, want 1 (the oversized document's buffer is not kept)", len(s.bufs))
	}
}
