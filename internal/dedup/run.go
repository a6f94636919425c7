package dedup

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"sort"

	"golang.org/x/sys/unix"
)

// A run file: a 32-byte header, then count entries sorted by hash, each the
// 32-byte hash and its 4-byte anchor (unix seconds, big-endian).
//
//	0  magic "AFWDSEEN"
//	8  version (1)
//	12 count
//	16 min anchor
//	20 max anchor
//	24 CRC-32C of the entries
//	28 reserved
const (
	headerSize = 32
	entrySize  = 36
	version    = 1
	// every indexStride-th entry's first 8 bytes are kept in memory, so a
	// lookup reads one small slice of the file.
	indexStride = 64
)

var (
	magic    = []byte("AFWDSEEN")
	crcTable = crc32.MakeTable(crc32.Castagnoli)
)

// run is one immutable sorted file, mapped read-only.
type run struct {
	seq      uint64
	path     string
	count    int
	min, max uint32 // anchors
	data     []byte // the mapping (nil for an empty run)
	index    []uint64
	bloom    bloom
}

func (r *run) entries() []byte { return r.data[headerSize : headerSize+r.count*entrySize] }

func (r *run) hashAt(i int) []byte {
	o := headerSize + i*entrySize
	return r.data[o : o+32]
}

func (r *run) anchorAt(i int) uint32 {
	o := headerSize + i*entrySize + 32
	return binary.BigEndian.Uint32(r.data[o : o+4])
}

// has reports whether h is in the run.
func (r *run) has(h *[32]byte) bool {
	if r.count == 0 || !r.bloom.mayHave(h) {
		return false
	}
	key := binary.BigEndian.Uint64(h[:8])
	// Blocks whose first key is <= key may hold it; a prefix shared across
	// blocks only widens the range.
	first := sort.Search(len(r.index), func(i int) bool { return r.index[i] >= key })
	last := sort.Search(len(r.index), func(i int) bool { return r.index[i] > key })
	lo := max(first-1, 0) * indexStride
	hi := min(last*indexStride, r.count)
	i := lo + sort.Search(hi-lo, func(i int) bool { return bytes.Compare(r.hashAt(lo+i), h[:]) >= 0 })
	return i < hi && bytes.Equal(r.hashAt(i), h[:])
}

func (r *run) close() error {
	if r.data == nil {
		return nil
	}
	err := unix.Munmap(r.data)
	r.data = nil
	return err
}

// openRun maps a run file, checks it, and builds its index and filter.
func openRun(path string, seq uint64) (*run, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() < headerSize {
		return nil, fmt.Errorf("seen-set run %s: %d bytes, shorter than its header", path, st.Size())
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("seen-set run %s: mmap: %w", path, err)
	}
	r := &run{seq: seq, path: path, data: data}
	if err := r.check(st.Size()); err != nil {
		r.close()
		return nil, fmt.Errorf("seen-set run %s: %w", path, err)
	}
	r.build()
	return r, nil
}

func (r *run) check(size int64) error {
	h := r.data[:headerSize]
	if !bytes.Equal(h[:8], magic) || binary.BigEndian.Uint32(h[8:]) != version {
		return errors.New("not a seen-set run (bad magic or version)")
	}
	r.count = int(binary.BigEndian.Uint32(h[12:]))
	r.min, r.max = binary.BigEndian.Uint32(h[16:]), binary.BigEndian.Uint32(h[20:])
	if want := int64(headerSize + r.count*entrySize); size != want {
		return fmt.Errorf("%d bytes, want %d for %d entries", size, want, r.count)
	}
	if crc32.Checksum(r.entries(), crcTable) != binary.BigEndian.Uint32(h[24:]) {
		return errors.New("checksum mismatch")
	}
	return nil
}

func (r *run) build() {
	r.index = make([]uint64, 0, (r.count+indexStride-1)/indexStride)
	r.bloom = newBloom(r.count)
	for i := 0; i < r.count; i++ {
		h := (*[32]byte)(r.hashAt(i))
		if i%indexStride == 0 {
			r.index = append(r.index, binary.BigEndian.Uint64(h[:8]))
		}
		r.bloom.add(h)
	}
}

// entry is one hash and its anchor, for writing.
type entry struct {
	hash   [32]byte
	anchor uint32
}

// runWriter writes a run file from entries given in hash order.
type runWriter struct {
	f        *os.File
	w        *bufio.Writer
	crc      uint32
	count    int
	min, max uint32
	last     [32]byte
	buf      [entrySize]byte
}

func createRun(path string) (*runWriter, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	w := &runWriter{f: f, w: bufio.NewWriterSize(f, 256<<10)}
	if _, err := w.w.Write(make([]byte, headerSize)); err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

// add appends e; a hash equal to the previous one is skipped (the caller
// passes the larger anchor first).
func (w *runWriter) add(e entry) error {
	if w.count > 0 && e.hash == w.last {
		return nil
	}
	copy(w.buf[:32], e.hash[:])
	binary.BigEndian.PutUint32(w.buf[32:], e.anchor)
	w.crc = crc32.Update(w.crc, crcTable, w.buf[:])
	if w.count == 0 || e.anchor < w.min {
		w.min = e.anchor
	}
	if w.count == 0 || e.anchor > w.max {
		w.max = e.anchor
	}
	w.count++
	w.last = e.hash
	_, err := w.w.Write(w.buf[:])
	return err
}

// finish writes the header and makes the file durable.
func (w *runWriter) finish() error {
	err := w.w.Flush()
	if err == nil {
		var h [headerSize]byte
		copy(h[:], magic)
		binary.BigEndian.PutUint32(h[8:], version)
		binary.BigEndian.PutUint32(h[12:], uint32(w.count))
		binary.BigEndian.PutUint32(h[16:], w.min)
		binary.BigEndian.PutUint32(h[20:], w.max)
		binary.BigEndian.PutUint32(h[24:], w.crc)
		_, err = w.f.WriteAt(h[:], 0)
	}
	if err == nil {
		err = w.f.Sync()
	}
	return errors.Join(err, w.f.Close())
}

func (w *runWriter) abort() {
	w.f.Close()
	os.Remove(w.f.Name())
}

// mergeInto writes the union of the runs and extra (sorted) to w, leaving
// out entries anchored before cutoff; for a hash in several, the largest
// anchor wins.
func mergeInto(w *runWriter, runs []*run, extra []entry, cutoff uint32) error {
	type cursor struct {
		r *run
		i int
	}
	cs := make([]cursor, 0, len(runs))
	for _, r := range runs {
		if r.count > 0 {
			cs = append(cs, cursor{r: r})
		}
	}
	ei := 0
	for {
		// The smallest current hash among runs and extra (few runs: a
		// linear scan is cheaper than a heap).
		var best []byte
		for _, c := range cs {
			if c.i < c.r.count {
				if h := c.r.hashAt(c.i); best == nil || bytes.Compare(h, best) < 0 {
					best = h
				}
			}
		}
		if ei < len(extra) && (best == nil || bytes.Compare(extra[ei].hash[:], best) < 0) {
			best = extra[ei].hash[:]
		}
		if best == nil {
			return nil
		}
		var e entry
		copy(e.hash[:], best)
		for k := range cs {
			c := &cs[k]
			for c.i < c.r.count && bytes.Equal(c.r.hashAt(c.i), e.hash[:]) {
				e.anchor = max(e.anchor, c.r.anchorAt(c.i))
				c.i++
			}
		}
		for ei < len(extra) && extra[ei].hash == e.hash {
			e.anchor = max(e.anchor, extra[ei].anchor)
			ei++
		}
		if e.anchor < cutoff {
			continue
		}
		if err := w.add(e); err != nil {
			return err
		}
	}
}

// expired counts the hashes anchored before cutoff.
func (r *run) expired(cutoff uint32) int {
	n := 0
	for i := 0; i < r.count; i++ {
		if r.anchorAt(i) < cutoff {
			n++
		}
	}
	return n
}

// CheckRun reads the run file at path whole and tells whether it is intact
// (for `state verify`): the same checks as opening it.
func CheckRun(path string) error {
	r, err := openRun(path, 0)
	if err != nil {
		return err
	}
	return r.close()
}
