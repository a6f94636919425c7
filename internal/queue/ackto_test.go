package queue

import (
	"testing"
)

// Several batches read at once (a pipelined drainer): AckTo moves the mark
// over the delivered prefix only, counts what it delivered, refuses an
// offset that is not where a batch ended, and a restart reads again from
// the mark, so a batch in flight behind it is never lost.
func TestAckToMovesOverAPrefix(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(dir, 0, 0, 1024)
	if err != nil {
		t.Fatal(err)
	}
	c := appendN(t, q, 0, 30)
	q.Commit(c)
	var batches [][]Entry
	for i := 0; i < 3; i++ {
		b, err := q.Read(10, 1<<20)
		if err != nil || len(b) != 10 {
			t.Fatalf("read %d: %d entries, %v", i, len(b), err)
		}
		batches = append(batches, b)
	}
	end := func(i int) int64 { return batches[i][len(batches[i])-1].End }
	var mark int64 = -1
	persist := func(m int64) error { mark = m; return nil }

	if err := q.AckTo(batches[1][4].End, persist); err == nil {
		t.Fatal("an ack inside a batch was accepted")
	}
	if err := q.AckTo(c+1, persist); err == nil {
		t.Fatal("an ack past the read position was accepted")
	}
	if mark != -1 {
		t.Fatalf("a refused ack persisted mark %d", mark)
	}
	if err := q.AckTo(end(0), persist); err != nil {
		t.Fatal(err)
	}
	if mark != end(0) {
		t.Fatalf("mark %d, want the end of batch 1 %d", mark, end(0))
	}
	if st := q.Stats(); st.Events != 20 || st.Bytes != c-end(0) {
		t.Fatalf("after the first batch: %+v, want 20 events, %d bytes", st, c-end(0))
	}
	// Batch 3 delivered with batch 2: one ack covers both.
	if err := q.AckTo(end(2), persist); err != nil {
		t.Fatal(err)
	}
	if st := q.Stats(); st.Events != 0 || mark != c {
		t.Fatalf("after all: %+v, mark %d, want 0 events, mark %d", st, mark, c)
	}
	// An ack the mark has passed moves nothing.
	mark = -1
	if err := q.AckTo(end(1), persist); err != nil || mark != -1 {
		t.Fatalf("a passed ack: %v, persisted %d", err, mark)
	}
	q.Close()

	// A crash with batch 1 delivered and 2 in flight resumes at batch 2.
	q, _ = Open(dir, 0, 0, 1024)
	c = appendN(t, q, 0, 30)
	q.Commit(c)
	b1, _ := q.Read(10, 1<<20)
	q.Read(10, 1<<20)
	if err := q.AckTo(b1[len(b1)-1].End, persist); err != nil {
		t.Fatal(err)
	}
	q.Close()
	q, err = Open(dir, c, mark, 1024)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	checkSeq(t, readAll(t, q), 10, 20)
}

// A drop_oldest drop takes every batch in flight: the acks of those that
// come back afterwards move nothing, and a batch read after the drop is
// acked and counted as usual.
func TestAckToAfterDropOldest(t *testing.T) {
	q, _ := Open(t.TempDir(), 0, 0, 1<<20)
	defer q.Close()
	c := appendN(t, q, 0, 100)
	q.Commit(c)
	b1, _ := q.Read(10, 1<<20)
	b2, _ := q.Read(10, 1<<20)
	var mark int64
	persist := func(m int64) error { mark = m; return nil }
	n, err := q.DropOldest(c/2, persist)
	if err != nil {
		t.Fatal(err)
	}
	dropMark := mark
	if err := q.AckTo(b2[len(b2)-1].End, persist); err != nil || mark != dropMark {
		t.Fatalf("ack of a dropped batch: %v, mark %d, want %d", err, mark, dropMark)
	}
	if err := q.AckTo(b1[len(b1)-1].End, persist); err != nil || mark != dropMark {
		t.Fatalf("ack of a dropped batch: %v, mark %d, want %d", err, mark, dropMark)
	}
	b3, _ := q.Read(10, 1<<20)
	if err := q.AckTo(b3[len(b3)-1].End, persist); err != nil {
		t.Fatal(err)
	}
	if st := q.Stats(); st.Events != 100-n-10 {
		t.Fatalf("%d events left, want %d (100, %d dropped, 10 delivered)", st.Events, 100-n-10, n)
	}
}
