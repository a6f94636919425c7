// Package queue is the on-disk, append-only log of events between the
// pollers and one output. It is a plain segment log rather than an embedded
// key-value store: appends are sequential writes, a window's events are made
// durable by one fsync per segment file, and the marks that say how far the
// log is committed and delivered live in the state store (package state), so
// they move atomically with the cursor and the seen-set.
//
// Positions are byte offsets into the logical log, which is the concatenation
// of its segment files; a segment is named after the position of its first
// byte. Each entry is framed as
//
//	uint32 payload length | uint32 CRC-32C of payload | payload
//	payload = 32-byte hash | int64 event time (unix ms) | int64 enqueue time (unix ms) | document
//
// Invariants: delivered <= readPos <= committed <= end. Bytes past committed
// belong to a window that is not committed yet: Open cuts them off (a crash
// happened) and Rollback cuts them off (the window failed). Bytes below
// delivered are never read again; their disk space is freed in steps of at
// most releaseStep as the mark moves, and all at once at Open and DropOldest
// (see release).
package queue

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/auditfwd/auditfwd/internal/event"
	"github.com/auditfwd/auditfwd/internal/fsutil"
)

const (
	frameHeader   = 8
	payloadHeader = 32 + 8 + 8
	// MaxEntry bounds one entry so a corrupt length field cannot make the
	// reader allocate gigabytes.
	MaxEntry = 64 << 20
	segExt   = ".seg"
	// punchAlign rounds holes down to whole file system blocks.
	punchAlign = 4096
	// releaseStep is how much delivered data a segment keeps before its
	// space is freed (at most an eighth of a segment): freeing after every
	// delivered batch (a hole punched, or with nothing pending the file
	// removed and a new one created) cost about a microsecond of system
	// time per access-log line at 80,000 lines/s, for a disk saving of a
	// few MiB per queue.
	releaseStep = 4 << 20
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// readSlab is the size of the buffers Read cuts documents from.
const readSlab = 256 << 10

// readSpan is what one Read returned: its end and how many entries.
type readSpan struct{ end, n int64 }

// Entry is one queued event and where it sits in the log.
type Entry struct {
	event.Event
	Enqueued time.Time
	Pos      int64 // position of the entry's frame
	End      int64 // position just after it
}

// Size is the entry's size on disk.
func (e Entry) Size() int64 { return e.End - e.Pos }

// Queue is one on-disk log. Append, Sync, Commit and Rollback are called by
// one producer; Read, AckAll, AckTo and DropOldest by one consumer; Stats by
// anyone.
type Queue struct {
	dir     string
	segSize int64

	mu        sync.Mutex
	segs      []int64 // base positions of the segment files, ascending
	w         *os.File
	wb        *bufio.Writer
	wBase     int64 // base of the segment being written
	end       int64 // logical end, including buffered bytes
	committed int64
	delivered int64
	readPos   int64
	// Event counts between the marks, for depth metrics.
	nUncommitted int64
	nCommitted   int64 // committed but not yet read
	nInFlight    int64 // read but not acked
	// reads are the spans Read returned and no ack has covered yet, in
	// order: AckTo moves the mark over some of them and must know how many
	// events that delivers.
	reads  []readSpan
	oldest time.Time
	notify chan struct{}

	r     *os.File
	rb    *bufio.Reader
	rBase int64
	rPos  int64 // position the reader's buffered stream is at

	// Segment punchedSeg is deallocated (a hole) before offset punched.
	punchedSeg, punched int64

	// Copies of end - delivered and end - readPos, stored under mu and
	// read without it: the poller checks back-pressure before every
	// append, and the consumer holds mu across disk reads and the store
	// transaction that persists its delivery mark.
	sizeBytes, sizeUnread atomic.Int64
}

// publish updates the lock-free copies; call with mu held after end,
// delivered or readPos moved.
func (q *Queue) publish() {
	q.sizeBytes.Store(q.end - q.delivered)
	q.sizeUnread.Store(q.end - q.readPos)
}

// Size returns Stats().Bytes and Stats().Unread without taking the
// queue's lock: a back-pressure check never waits for the consumer. The
// two may come from moments an operation apart.
func (q *Queue) Size() (bytes, unread int64) {
	return q.sizeBytes.Load(), q.sizeUnread.Load()
}

// Open opens the log in dir, cutting off everything past committed.
// committed and delivered come from the state store.
func Open(dir string, committed, delivered, segSize int64) (*Queue, error) {
	if segSize <= 0 {
		segSize = 64 << 20
	}
	if err := fsutil.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	q := &Queue{dir: dir, segSize: segSize, committed: committed, delivered: delivered, readPos: delivered, notify: make(chan struct{})}
	if delivered > committed {
		return nil, fmt.Errorf("queue %s: delivery mark %d is past commit mark %d: state is inconsistent", dir, delivered, committed)
	}
	segs, err := listSegments(dir)
	if err != nil {
		return nil, err
	}
	q.segs = segs
	if err := q.truncateTo(committed); err != nil {
		return nil, err
	}
	// Frees what an earlier version left delivered on disk; it writes
	// nothing, so a restart with nothing pending works on a full disk.
	if err := q.release(true); err != nil {
		return nil, err
	}
	n, oldest, err := q.count(delivered, committed)
	if err != nil {
		return nil, err
	}
	q.nCommitted, q.oldest = n, oldest
	q.publish()
	return q, nil
}

func (q *Queue) segPath(base int64) string {
	return filepath.Join(q.dir, segName(base))
}

// truncateTo makes the log end exactly at pos: later segments are removed,
// the segment holding pos is cut. It refuses when the log is shorter than pos:
// that would mean a committed entry is gone.
func (q *Queue) truncateTo(pos int64) error {
	if q.w != nil {
		q.w.Close()
		q.w, q.wb = nil, nil
	}
	// The reader's read-ahead may hold bytes past pos, flushed by the
	// writer before they were committed; the retried window writes other
	// entries there. Drop the reader so the next read comes from the file.
	q.dropReader()
	for len(q.segs) > 0 && q.segs[len(q.segs)-1] > pos {
		last := q.segs[len(q.segs)-1]
		if err := os.Remove(q.segPath(last)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		q.segs = q.segs[:len(q.segs)-1]
	}
	if len(q.segs) == 0 {
		if pos != 0 && pos != q.delivered {
			return fmt.Errorf("queue %s: committed data up to %d is missing (no segment files)", q.dir, pos)
		}
		q.end = pos
		return nil
	}
	last := q.segs[len(q.segs)-1]
	p := q.segPath(last)
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if last+fi.Size() < pos {
		return fmt.Errorf("queue %s: segment %s ends at %d, before the commit mark %d: committed data is missing", q.dir, p, last+fi.Size(), pos)
	}
	if last+fi.Size() > pos {
		if err := os.Truncate(p, pos-last); err != nil {
			return err
		}
	}
	q.end = pos
	return nil
}

// release frees the disk space of delivered entries; call it with mu held
// after the delivery mark moved. Whole segments below the mark are removed.
// When every appended entry is delivered the last segment goes too and the
// next Append starts a new one; otherwise the delivered start of the
// segment holding the mark is punched out (a sparse file). Without this a
// delivered 64 MiB segment stayed on disk until it filled: on a small disk
// a queue with nothing pending kept it full.
//
// Unless force is set, the segment holding the mark is left alone until
// releaseStep (or an eighth of a segment, if less) of it is delivered and not
// yet freed: a queue keeps at most that much delivered data on disk besides
// what is pending.
func (q *Queue) release(force bool) error {
	if err := q.dropSegmentsBelow(q.delivered); err != nil {
		return err
	}
	if len(q.segs) == 0 {
		return nil
	}
	if !force {
		var freed int64
		if q.punchedSeg == q.segs[0] {
			freed = q.punched
		}
		if q.delivered-q.segs[0]-freed < min(releaseStep, q.segSize/8) {
			return nil
		}
	}
	if q.delivered == q.end {
		if q.w != nil {
			q.w.Close()
			q.w, q.wb = nil, nil
		}
		// The reader may hold the file open; a new segment can have
		// the same name (the same base).
		q.dropReader()
		for _, base := range q.segs {
			if err := os.Remove(q.segPath(base)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
		q.segs, q.punched = nil, 0
		return nil
	}
	q.punch(q.segs[0], q.delivered)
	return nil
}

// punch deallocates the blocks of segment base before pos. Best effort: a
// file system without hole punching keeps them until the segment goes.
func (q *Queue) punch(base, pos int64) {
	if q.punchedSeg != base {
		q.punchedSeg, q.punched = base, 0
	}
	to := (pos - base) &^ (punchAlign - 1)
	if to <= q.punched {
		return
	}
	f, err := os.OpenFile(q.segPath(base), os.O_WRONLY, 0)
	if err != nil {
		return
	}
	defer f.Close()
	if punchHole(f, q.punched, to-q.punched) == nil {
		q.punched = to
	}
}

func (q *Queue) dropSegmentsBelow(pos int64) error {
	// A segment may go once the next one starts at or before pos.
	for len(q.segs) > 1 && q.segs[1] <= pos {
		if err := os.Remove(q.segPath(q.segs[0])); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		q.segs = q.segs[1:]
	}
	return nil
}

// count walks the frames in [from, to) to rebuild the depth after a start.
func (q *Queue) count(from, to int64) (int64, time.Time, error) {
	var n int64
	var oldest time.Time
	pos := from
	for pos < to {
		e, err := q.readAt(pos, true, nil)
		if err != nil {
			return 0, oldest, fmt.Errorf("queue %s: scan at %d: %w", q.dir, pos, err)
		}
		if n == 0 {
			oldest = e.Enqueued
		}
		n++
		pos = e.End
	}
	return n, oldest, nil
}

// Append adds one event past the commit mark. It is buffered: Sync makes it
// durable, Commit makes it visible to the consumer.
func (q *Queue) Append(ev event.Event, now time.Time) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	size := int64(frameHeader + payloadHeader + len(ev.Doc))
	if size > MaxEntry {
		return fmt.Errorf("event %x is %d bytes, over the queue's %d byte entry limit", ev.Hash[:8], size, MaxEntry)
	}
	if q.w == nil || (q.end-q.wBase >= q.segSize && q.end > q.wBase) {
		if err := q.rotate(); err != nil {
			return err
		}
	}
	var hdr [frameHeader + payloadHeader]byte
	binary.LittleEndian.PutUint32(hdr[0:], uint32(payloadHeader+len(ev.Doc)))
	copy(hdr[8:40], ev.Hash[:])
	binary.LittleEndian.PutUint64(hdr[40:], uint64(ev.Time.UnixMilli()))
	binary.LittleEndian.PutUint64(hdr[48:], uint64(now.UnixMilli()))
	c := crc32.Update(0, crcTable, hdr[8:])
	c = crc32.Update(c, crcTable, ev.Doc)
	binary.LittleEndian.PutUint32(hdr[4:], c)
	if _, err := q.wb.Write(hdr[:]); err != nil {
		return err
	}
	if _, err := q.wb.Write(ev.Doc); err != nil {
		return err
	}
	q.end += size
	q.nUncommitted++
	q.publish()
	return nil
}

// rotate closes the current segment (durably) and starts one at end, or
// reopens the last segment for appending when it has room.
func (q *Queue) rotate() error {
	if q.w != nil {
		if err := q.flushSync(); err != nil {
			return err
		}
		q.w.Close()
		q.w, q.wb = nil, nil
	}
	base := q.end
	if n := len(q.segs); n > 0 && q.end-q.segs[n-1] < q.segSize {
		base = q.segs[n-1]
	}
	f, err := os.OpenFile(q.segPath(base), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	if len(q.segs) == 0 || q.segs[len(q.segs)-1] != base {
		q.segs = append(q.segs, base)
		// The new file's directory entry must survive a crash too.
		if err := syncDir(q.dir); err != nil {
			f.Close()
			return err
		}
	}
	q.w, q.wb, q.wBase = f, bufio.NewWriterSize(f, 256<<10), base
	return nil
}

func (q *Queue) flushSync() error {
	if q.wb == nil {
		return nil
	}
	if err := q.wb.Flush(); err != nil {
		return err
	}
	return q.w.Sync()
}

// Sync makes every appended entry durable and returns the log's end: the
// value to record as the commit mark.
func (q *Queue) Sync() (int64, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.flushSync(); err != nil {
		return 0, err
	}
	return q.end, nil
}

// Commit publishes everything up to mark (a value Sync returned, now
// recorded in the state store) to the consumer.
func (q *Queue) Commit(mark int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if mark <= q.committed {
		return
	}
	if q.nCommitted+q.nInFlight == 0 {
		q.oldest = time.Now()
	}
	q.committed = mark
	q.nCommitted += q.nUncommitted
	q.nUncommitted = 0
	close(q.notify)
	q.notify = make(chan struct{})
}

// Rollback cuts off every entry past the commit mark: its window failed
// and will be polled again.
func (q *Queue) Rollback() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.end == q.committed {
		return nil
	}
	if q.wb != nil {
		// Buffered bytes never reached the file; drop them with the handle.
		q.wb.Reset(io.Discard)
	}
	q.nUncommitted = 0
	defer q.publish()
	return q.truncateTo(q.committed)
}

// Notify returns a channel closed at the next Commit.
func (q *Queue) Notify() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.notify
}

// Read returns up to maxEvents committed entries (and at most about maxBytes)
// from the read position, which it advances. Nothing is removed until Ack.
// The documents are the caller's to keep as long as it likes.
func (q *Queue) Read(maxEvents int, maxBytes int64) ([]Entry, error) {
	return q.ReadInto(nil, maxEvents, maxBytes)
}

// ReadInto is Read cutting the documents from s (nil: fresh memory), which
// it reuses from its start: every document an earlier read into s returned
// is overwritten. A consumer passes the same s again only once nothing
// holds a document of its last batch any more; in exchange its reads
// allocate nothing once s has grown to a batch's size.
func (q *Queue) ReadInto(s *Slabs, maxEvents int, maxBytes int64) ([]Entry, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	defer q.publish()
	var out []Entry
	var bytes int64
	// The documents share slabs: one allocation per ~256 KiB read, not one
	// per event (none with s). A slab is never written again once a
	// document is in it, until s is passed again.
	c := slabCursor{reuse: s}
	if s != nil {
		s.next = 0
	}
	defer func() {
		if len(out) > 0 {
			q.reads = append(q.reads, readSpan{end: q.readPos, n: int64(len(out))})
		}
	}()
	for q.readPos < q.committed && len(out) < maxEvents {
		e, err := q.readAt(q.readPos, false, &c)
		if err != nil {
			return out, fmt.Errorf("queue %s: read at %d: %w", q.dir, q.readPos, err)
		}
		if len(out) > 0 && bytes+e.Size() > maxBytes {
			break
		}
		out = append(out, e)
		bytes += e.Size()
		q.readPos = e.End
		q.nCommitted--
		q.nInFlight++
	}
	return out, nil
}

// Slabs is memory ReadInto cuts documents from, kept from one read to the
// next. The zero value is ready; it is not safe for concurrent use.
type Slabs struct {
	bufs [][]byte
	next int
}

// get returns the next empty slab of readSlab bytes.
func (s *Slabs) get() []byte {
	if s.next == len(s.bufs) {
		s.bufs = append(s.bufs, make([]byte, 0, readSlab))
	}
	b := s.bufs[s.next][:0]
	s.next++
	return b
}

// slabCursor hands out the document buffers of one read.
type slabCursor struct {
	cur   []byte
	reuse *Slabs
}

// take returns n bytes that no other document of the read shares, with a
// capacity of n: appending to a document copies it rather than run into
// the next one. left is how much the read may still return at most.
func (c *slabCursor) take(n int, left int64) []byte {
	if c.reuse != nil && n > readSlab {
		// Its own buffer, never kept: the slab in use keeps its room.
		return make([]byte, n)
	}
	if cap(c.cur)-len(c.cur) < n {
		if c.reuse != nil {
			c.cur = c.reuse.get()
		} else {
			// No bigger than what is left to read: a poll that
			// committed one event gets a slab of one event.
			c.cur = make([]byte, 0, max(n, int(min(readSlab, left))))
		}
	}
	k := len(c.cur)
	c.cur = c.cur[:k+n]
	return c.cur[k : k+n : k+n]
}

// Available reports whether committed entries wait past the read position.
func (q *Queue) Available() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.nCommitted
}

// AckAll marks everything read so far (and every entry dropped) as
// delivered: persist records the new delivery mark durably (with the target's
// own state, for exactly-once outputs) under the queue's lock, so a drop
// cannot interleave. Whole segments below the mark are then removed.
func (q *Queue) AckAll(persist func(mark int64) error) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.ackTo(q.readPos, persist)
}

// AckTo marks everything up to end as delivered, like AckAll; end is the End
// of the last entry of a batch Read returned. Batches read after it stay in
// flight: a consumer with several batches out at once moves the mark over the
// delivered prefix only. An end the mark has passed already (a drop_oldest
// drop took the batch) moves nothing and calls no persist.
func (q *Queue) AckTo(end int64, persist func(mark int64) error) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if end > q.readPos {
		return fmt.Errorf("queue %s: ack up to %d, past the read position %d", q.dir, end, q.readPos)
	}
	return q.ackTo(end, persist)
}

func (q *Queue) ackTo(mark int64, persist func(mark int64) error) error {
	defer q.publish()
	if mark <= q.delivered {
		return nil
	}
	var n int64
	k := 0
	for k < len(q.reads) && q.reads[k].end <= mark {
		n += q.reads[k].n
		k++
	}
	if k == 0 || q.reads[k-1].end != mark {
		// Between two entries of one Read, or not where one ended: the
		// event counts would no longer say what is in flight.
		return fmt.Errorf("queue %s: ack up to %d, which is not the end of a batch read", q.dir, mark)
	}
	if err := persist(mark); err != nil {
		return err
	}
	q.delivered = mark
	q.reads = append(q.reads[:0], q.reads[k:]...)
	q.nInFlight -= n
	if mark < q.committed {
		if e, err := q.readAt(mark, true, nil); err == nil {
			q.oldest = e.Enqueued
		}
	}
	return q.release(false)
}

// DropOldest skips the oldest committed entries until the queue's unread
// bytes are at most maxBytes, moves the delivery mark over them (persist is
// called under the queue's lock, so no Read can slip in between) and returns
// how many it dropped. A batch in flight is dropped with them, since it holds
// the delivery mark and with it the disk space: the consumer stops retrying
// it (Superseded) and it is counted as dropped, though a Write already under
// way may still deliver it.
func (q *Queue) DropOldest(maxBytes int64, persist func(mark int64) error) (int64, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	defer q.publish()
	var n int64
	for q.end-q.readPos > maxBytes && q.readPos < q.committed {
		e, err := q.readAt(q.readPos, true, nil)
		if err != nil {
			return n, err
		}
		q.readPos = e.End
		q.nCommitted--
		n++
	}
	if n == 0 {
		return 0, nil
	}
	if err := persist(q.readPos); err != nil {
		return n, err
	}
	n += q.nInFlight
	q.nInFlight = 0
	q.reads = q.reads[:0]
	q.delivered = q.readPos
	// Shedding is for a disk that is full: free it all now.
	return n, q.release(true)
}

// Superseded reports whether the delivery mark has passed end: the batch
// ending there was dropped and need not be retried.
func (q *Queue) Superseded(end int64) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.delivered >= end
}

// Stats is a snapshot for metrics and back-pressure.
type Stats struct {
	Events      int64     // committed and in flight, not yet delivered
	Uncommitted int64     // appended by a window still open
	Bytes       int64     // on disk past the delivery mark
	Unread      int64     // on disk past the read position (not in flight)
	Oldest      time.Time // enqueue time of the oldest undelivered event (zero when empty)
}

// Stats returns a snapshot.
func (q *Queue) Stats() Stats {
	q.mu.Lock()
	defer q.mu.Unlock()
	s := Stats{Events: q.nCommitted + q.nInFlight, Uncommitted: q.nUncommitted, Bytes: q.end - q.delivered, Unread: q.end - q.readPos}
	if s.Events > 0 {
		s.Oldest = q.oldest
	}
	return s
}

// Close flushes and closes the files. Unsynced appends are not made durable:
// Sync is the only durability point.
func (q *Queue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	var err error
	if q.wb != nil {
		err = q.wb.Flush()
		q.w.Close()
		q.w, q.wb = nil, nil
	}
	q.dropReader()
	return err
}

// readAt decodes the entry whose frame starts at pos. headerOnly skips the
// document; otherwise the document is cut from the free end of *slab (a new
// slab when it has no room). It reuses a sequential reader when pos is where
// it stopped.
func (q *Queue) readAt(pos int64, headerOnly bool, slab *slabCursor) (Entry, error) {
	// Entries past the writer's buffer may still sit in memory.
	if q.wb != nil && pos+frameHeader > q.end-int64(q.wb.Buffered()) && pos < q.end {
		if err := q.wb.Flush(); err != nil {
			return Entry{}, err
		}
	}
	i := sort.Search(len(q.segs), func(i int) bool { return q.segs[i] > pos }) - 1
	if i < 0 {
		return Entry{}, fmt.Errorf("no segment holds position %d", pos)
	}
	base := q.segs[i]
	if q.r == nil || q.rBase != base || q.rPos != pos {
		if q.r != nil && q.rBase != base {
			q.r.Close()
			q.r = nil
		}
		if q.r == nil {
			f, err := os.Open(q.segPath(base))
			if err != nil {
				return Entry{}, err
			}
			q.r, q.rBase = f, base
			q.rb = bufio.NewReaderSize(f, 256<<10)
		}
		if _, err := q.r.Seek(pos-base, io.SeekStart); err != nil {
			return Entry{}, err
		}
		q.rb.Reset(q.r)
		q.rPos = pos
	}
	var hdr [frameHeader + payloadHeader]byte
	if _, err := io.ReadFull(q.rb, hdr[:]); err != nil {
		q.rPos = -1
		return Entry{}, err
	}
	n := binary.LittleEndian.Uint32(hdr[0:])
	if n < payloadHeader || n > MaxEntry {
		q.rPos = -1
		return Entry{}, fmt.Errorf("corrupt frame length %d", n)
	}
	docLen := int(n) - payloadHeader
	e := Entry{Pos: pos, End: pos + frameHeader + int64(n)}
	copy(e.Hash[:], hdr[8:40])
	e.Time = time.UnixMilli(int64(binary.LittleEndian.Uint64(hdr[40:]))).UTC()
	e.Enqueued = time.UnixMilli(int64(binary.LittleEndian.Uint64(hdr[48:])))
	if headerOnly {
		if _, err := q.rb.Discard(docLen); err != nil {
			q.rPos = -1
			return Entry{}, err
		}
	} else {
		e.Doc = slab.take(docLen, q.committed-pos)
		if _, err := io.ReadFull(q.rb, e.Doc); err != nil {
			q.rPos = -1
			return Entry{}, err
		}
		c := crc32.Update(0, crcTable, hdr[8:])
		c = crc32.Update(c, crcTable, e.Doc)
		if c != binary.LittleEndian.Uint32(hdr[4:]) {
			q.rPos = -1
			return Entry{}, fmt.Errorf("checksum mismatch: the queue file is corrupt")
		}
	}
	q.rPos = e.End
	return e, nil
}

// dropReader forgets the sequential reader and whatever it read ahead.
func (q *Queue) dropReader() {
	if q.r != nil {
		q.r.Close()
		q.r, q.rb = nil, nil
	}
	q.rPos = -1
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
