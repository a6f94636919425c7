// Package dedup is a source's seen-set: the hashes of the records already
// queued, kept until no future window can return them again.
//
// It is a few immutable, sorted run files per source, each mapped read-only
// with a Bloom filter (~1.25 bytes per hash) and a sparse index (~0.13
// bytes per hash) in memory. A lookup is a filter test (a miss: no I/O) and
// for a "maybe" one binary search in a 2 KiB stretch of the mapping. Adding
// hashes writes one new sorted run; runs of similar size merge (capped at
// maxRun hashes, so a merge never holds more than ~9 MiB), which keeps the
// number of runs logarithmic and the write cost per hash small and
// sequential. Expiry drops whole runs whose newest anchor is past the
// horizon; merges leave out expired hashes of the others.
//
// Which runs are live is recorded in the state store in the same
// transaction that moves the queues' commit marks and the cursor (see
// package pipeline): a Change writes and fsyncs its files first, the
// transaction names them live, then Apply switches to them. A file no
// transaction named (a crash in between) is deleted by Open.
//
// A Set is used by one goroutine (its source's poller); Count may be read
// from any.
package dedup

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/auditfwd/auditfwd/internal/fsutil"
)

// maxRun caps how many hashes a merge writes into one run (~9 MiB).
const maxRun = 1 << 18

// Entry is one hash to add. Anchor is the unix time after which (plus the
// horizon) no window can return the record again.
type Entry struct {
	Hash   [32]byte
	Anchor int64
}

// Set is one source's seen-set.
type Set struct {
	dir    string
	runs   []*run // oldest first
	next   uint64
	count  atomic.Int64
	cutoff uint32 // anchors before it are left out of merges
}

// Open opens the runs the state names live and deletes any other run file
// in dir (written by a change whose transaction never committed).
func Open(dir string, live []uint64) (*Set, error) {
	// The run files' entries are synced as they are written (write); the
	// directories' own entries here, before a state names a run in them.
	if err := fsutil.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("seen-set: %w", err)
	}
	s := &Set{dir: dir}
	names, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("seen-set: %w", err)
	}
	for _, n := range names {
		seq, ok := parseRunName(n.Name())
		if ok && slices.Contains(live, seq) {
			continue
		}
		if ok || strings.HasSuffix(n.Name(), ".run") {
			os.Remove(filepath.Join(dir, n.Name()))
		}
	}
	for _, seq := range live {
		r, err := openRun(s.path(seq), seq)
		if err != nil {
			s.Close()
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("seen-set: run %d named by the state is missing: %w", seq, err)
			}
			return nil, err
		}
		s.runs = append(s.runs, r)
		s.count.Add(int64(r.count))
		s.next = max(s.next, seq+1)
	}
	return s, nil
}

func (s *Set) path(seq uint64) string { return filepath.Join(s.dir, fmt.Sprintf("%016x.run", seq)) }

func parseRunName(name string) (uint64, bool) {
	hex, ok := strings.CutSuffix(name, ".run")
	if !ok || len(hex) != 16 {
		return 0, false
	}
	v, err := strconv.ParseUint(hex, 16, 64)
	return v, err == nil
}

// Close unmaps every run.
func (s *Set) Close() error {
	var errs []error
	for _, r := range s.runs {
		errs = append(errs, r.close())
	}
	s.runs = nil
	return errors.Join(errs...)
}

// Has reports whether h is in the set.
func (s *Set) Has(h [32]byte) bool {
	for i := len(s.runs) - 1; i >= 0; i-- { // newest first: re-polls hit them
		if s.runs[i].has(&h) {
			return true
		}
	}
	return false
}

// Trim gives the pages of the mapped run files back (they stay in the
// page cache, clean): the process then holds the filters and indexes plus
// what lookups touch until the next Trim. The poller trims after every
// checkpoint, so its resident memory follows one window, not the horizon.
func (s *Set) Trim() {
	for _, r := range s.runs {
		if r.data != nil {
			_ = unix.Madvise(r.data, unix.MADV_DONTNEED)
		}
	}
}

// Count is the number of hashes held (a hash in two runs counts twice
// until they merge; the poller never adds a hash it has).
func (s *Set) Count() int64 { return s.count.Load() }

// Runs is the number of run files (for tests and status).
func (s *Set) Runs() int { return len(s.runs) }

// Anchors returns the oldest and newest anchor held (ok=false when empty).
func (s *Set) Anchors() (oldest, newest int64, ok bool) {
	for i, r := range s.runs {
		if i == 0 || int64(r.min) < oldest {
			oldest = int64(r.min)
		}
		if i == 0 || int64(r.max) > newest {
			newest = int64(r.max)
		}
	}
	return oldest, newest, len(s.runs) > 0
}

// Change is a prepared change of the live runs: its files are durable,
// but the set uses them only after Apply.
type Change struct {
	s    *Set
	add  []*run
	drop []*run
	runs []*run // the live runs after the change, oldest first
}

// Live is the live-run list after the change, for the state transaction.
func (c *Change) Live() []byte { return encodeList(runSeqs(c.runs)) }

// Apply switches the set to the change, once the state has committed it,
// and deletes the files it dropped.
func (c *Change) Apply() {
	s := c.s
	s.runs = c.runs
	var n int64
	for _, r := range s.runs {
		n += int64(r.count)
	}
	s.count.Store(n)
	for _, r := range c.drop {
		r.close()
		os.Remove(r.path)
	}
}

// Abort deletes the change's new files (the state did not commit it).
func (c *Change) Abort() {
	for _, r := range c.add {
		r.close()
		os.Remove(r.path)
	}
}

// Add prepares adding entries: one new run, merged with the newest runs
// when they are no more than twice its size and the result fits maxRun.
func (s *Set) Add(entries []Entry) (*Change, error) {
	es := make([]entry, len(entries))
	for i, e := range entries {
		es[i] = entry{hash: e.Hash, anchor: clampAnchor(e.Anchor)}
	}
	// Sorted by hash, the larger anchor first among equals (the writer
	// keeps the first of equal hashes).
	slices.SortFunc(es, func(a, b entry) int {
		if c := bytes.Compare(a.hash[:], b.hash[:]); c != 0 {
			return c
		}
		return int(b.anchor) - int(a.anchor)
	})
	size := len(es)
	k := len(s.runs)
	for k > 0 {
		r := s.runs[k-1]
		if r.count > 2*size || r.count+size > maxRun {
			break
		}
		size += r.count
		k--
	}
	merged := s.runs[k:]
	if len(es) == 0 && len(merged) < 2 {
		return &Change{s: s, runs: s.runs}, nil
	}
	r, err := s.write(merged, es)
	if err != nil {
		return nil, err
	}
	runs := append(slices.Clone(s.runs[:k]), r)
	return &Change{s: s, add: []*run{r}, drop: slices.Clone(merged), runs: runs}, nil
}

// Expire prepares forgetting every hash anchored before cutoff: runs
// wholly before it are dropped, runs at least a quarter before it are
// rewritten without those hashes, and later merges leave out the rest.
// nil: nothing to do.
func (s *Set) Expire(cutoff int64) (*Change, error) {
	s.cutoff = max(s.cutoff, clampAnchor(cutoff))
	c := &Change{s: s}
	for _, r := range s.runs {
		switch {
		case r.max < s.cutoff:
			c.drop = append(c.drop, r)
		case r.min < s.cutoff && 4*r.expired(s.cutoff) >= r.count:
			nr, err := s.write([]*run{r}, nil)
			if err != nil {
				c.Abort()
				return nil, err
			}
			c.add = append(c.add, nr)
			c.drop = append(c.drop, r)
			c.runs = append(c.runs, nr)
		default:
			c.runs = append(c.runs, r)
		}
	}
	if len(c.drop) == 0 {
		return nil, nil
	}
	return c, nil
}

// write merges runs and es into a new durable run file.
func (s *Set) write(runs []*run, es []entry) (*run, error) {
	seq := s.next
	s.next++
	w, err := createRun(s.path(seq))
	if err != nil {
		return nil, fmt.Errorf("seen-set: %w", err)
	}
	if err := mergeInto(w, runs, es, s.cutoff); err != nil {
		w.abort()
		return nil, fmt.Errorf("seen-set: write run: %w", err)
	}
	if err := w.finish(); err != nil {
		os.Remove(s.path(seq))
		return nil, fmt.Errorf("seen-set: write run: %w", err)
	}
	if err := fsutil.SyncDir(s.dir); err != nil {
		os.Remove(s.path(seq))
		return nil, fmt.Errorf("seen-set: %w", err)
	}
	r, err := openRun(s.path(seq), seq)
	if err != nil {
		os.Remove(s.path(seq))
		return nil, err
	}
	return r, nil
}

func clampAnchor(a int64) uint32 {
	return uint32(min(max(a, 0), int64(^uint32(0))))
}

func runSeqs(runs []*run) []uint64 {
	seqs := make([]uint64, len(runs))
	for i, r := range runs {
		seqs[i] = r.seq
	}
	return seqs
}

// EncodeList writes a live-run list for the state store (state repair).
func EncodeList(seqs []uint64) []byte { return encodeList(seqs) }

func encodeList(seqs []uint64) []byte {
	b := make([]byte, 8*len(seqs))
	for i, q := range seqs {
		binary.BigEndian.PutUint64(b[8*i:], q)
	}
	return b
}

// DecodeList reads a live-run list saved by the state store.
func DecodeList(b []byte) ([]uint64, error) {
	if len(b)%8 != 0 {
		return nil, fmt.Errorf("seen-set: live-run list of %d bytes", len(b))
	}
	seqs := make([]uint64, len(b)/8)
	for i := range seqs {
		seqs[i] = binary.BigEndian.Uint64(b[8*i:])
	}
	return seqs, nil
}
