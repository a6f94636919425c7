package state

import (
	"encoding/binary"
	"fmt"
	"os"
)

// The bbolt page layout (go.etcd.io/bbolt internal/common, format version
// 2): a 16-byte header (id uint64, flags uint16, count uint16, overflow
// uint32), then count 16-byte elements. A branch element is pos, ksize
// (uint32) and the child's page id (uint64); a leaf element is flags, pos,
// ksize, vsize (uint32); pos counts from the element itself. A bucket's
// value is its root page id and sequence (uint64 each), followed, when the
// root is 0, by the bucket's own leaf page inline.
const (
	pageHeader     = 16
	elemSize       = 16
	flagBranch     = 0x01
	flagLeaf       = 0x02
	flagFreelist   = 0x10
	flagMeta       = 0x04
	flagBucketLeaf = 0x01
	bucketHeader   = 16
)

// pageWalk checks the page tree of a bbolt file by reading the file, not
// the mapping, with every offset bounds-checked. bbolt trusts its pages:
// a child id past the end faults, a page that is its own descendant loops
// forever (or overflows the stack inside tx.Check, which nothing can
// recover), a count or offset too large reads other memory. After this
// walk, bbolt's own reads and its consistency check stay inside the file.
type pageWalk struct {
	f        *os.File
	pageSize int64
	hwm      uint64          // the meta's high-water mark: pages [0, hwm) exist
	seen     map[uint64]bool // pages reached (tree and freelist)
}

func checkPages(f *os.File, pageSize int64, m meta) error {
	w := &pageWalk{f: f, pageSize: pageSize, hwm: m.pgid, seen: map[uint64]bool{0: true, 1: true}}
	if m.freelist != pgidNoFreelist {
		if err := w.freelist(m.freelist); err != nil {
			return err
		}
	}
	return w.tree(m.root, "the root bucket")
}

// page reads page id and its overflow pages, once: a second reference is
// a cycle or two owners, both damage.
func (w *pageWalk) page(id uint64, what string) ([]byte, error) {
	if id < 2 || id >= w.hwm {
		return nil, fmt.Errorf("%s points to page %d, outside pages 2..%d", what, id, w.hwm-1)
	}
	if w.seen[id] {
		return nil, fmt.Errorf("page %d is reached twice (%s)", id, what)
	}
	buf := make([]byte, w.pageSize)
	if _, err := w.f.ReadAt(buf, int64(id)*w.pageSize); err != nil {
		return nil, fmt.Errorf("page %d: %v", id, err)
	}
	le := binary.LittleEndian
	if got := le.Uint64(buf); got != id {
		return nil, fmt.Errorf("page %d says it is page %d", id, got)
	}
	over := uint64(le.Uint32(buf[12:]))
	if over >= w.hwm-id {
		return nil, fmt.Errorf("page %d has %d overflow pages, past the high-water mark %d", id, over, w.hwm)
	}
	for i := uint64(0); i <= over; i++ {
		if w.seen[id+i] {
			return nil, fmt.Errorf("page %d is reached twice (%s)", id+i, what)
		}
		w.seen[id+i] = true
	}
	if over > 0 {
		buf = append(buf, make([]byte, int64(over)*w.pageSize)...)
		if _, err := w.f.ReadAt(buf[w.pageSize:], int64(id+1)*w.pageSize); err != nil {
			return nil, fmt.Errorf("page %d: %v", id, err)
		}
	}
	return buf, nil
}

func (w *pageWalk) freelist(id uint64) error {
	buf, err := w.page(id, "the meta page's freelist")
	if err != nil {
		return err
	}
	le := binary.LittleEndian
	if flags := le.Uint16(buf[8:]); flags != flagFreelist {
		return fmt.Errorf("freelist page %d has page type %#x", id, flags)
	}
	start, count := uint64(pageHeader), uint64(le.Uint16(buf[10:]))
	if count == 0xFFFF {
		if len(buf) < pageHeader+8 {
			return fmt.Errorf("freelist page %d is too short", id)
		}
		count, start = le.Uint64(buf[pageHeader:]), pageHeader+8
	}
	if count > (uint64(len(buf))-start)/8 {
		return fmt.Errorf("freelist page %d lists %d pages, more than it holds", id, count)
	}
	free := map[uint64]bool{}
	for i := uint64(0); i < count; i++ {
		p := le.Uint64(buf[start+8*i:])
		if p < 2 || p >= w.hwm || free[p] || w.seen[p] {
			return fmt.Errorf("freelist page %d lists page %d, which is out of range, listed twice or in use", id, p)
		}
		free[p] = true
	}
	for p := range free {
		w.seen[p] = true
	}
	return nil
}

// tree checks the branch or leaf page id and everything below it.
func (w *pageWalk) tree(id uint64, what string) error {
	buf, err := w.page(id, what)
	if err != nil {
		return err
	}
	return w.node(buf, fmt.Sprintf("page %d", id))
}

// node checks one branch or leaf page held in buf (a page read from the
// file, or a bucket's inline page).
func (w *pageWalk) node(buf []byte, name string) error {
	le := binary.LittleEndian
	if len(buf) < pageHeader {
		return fmt.Errorf("%s is too short for a page header", name)
	}
	flags, count := le.Uint16(buf[8:]), int(le.Uint16(buf[10:]))
	if pageHeader+count*elemSize > len(buf) {
		return fmt.Errorf("%s has %d elements, more than it holds", name, count)
	}
	// span returns the bytes [at+pos, at+pos+n) of buf, if inside it.
	span := func(at int, pos uint32, n uint64) ([]byte, bool) {
		lo := uint64(at) + uint64(pos)
		hi := lo + n
		if hi > uint64(len(buf)) {
			return nil, false
		}
		return buf[lo:hi], true
	}
	switch flags {
	case flagBranch:
		if count == 0 {
			return fmt.Errorf("%s is a branch without children", name)
		}
		for i := 0; i < count; i++ {
			at := pageHeader + i*elemSize
			if _, ok := span(at, le.Uint32(buf[at:]), uint64(le.Uint32(buf[at+4:]))); !ok {
				return fmt.Errorf("%s: key %d lies outside the page", name, i)
			}
			if err := w.tree(le.Uint64(buf[at+8:]), fmt.Sprintf("child %d of %s", i, name)); err != nil {
				return err
			}
		}
	case flagLeaf:
		for i := 0; i < count; i++ {
			at := pageHeader + i*elemSize
			ef, pos, ks, vs := le.Uint32(buf[at:]), le.Uint32(buf[at+4:]), le.Uint32(buf[at+8:]), le.Uint32(buf[at+12:])
			kv, ok := span(at, pos, uint64(ks)+uint64(vs))
			if !ok {
				return fmt.Errorf("%s: entry %d lies outside the page", name, i)
			}
			if ef&flagBucketLeaf == 0 {
				continue
			}
			v := kv[ks:]
			if len(v) < bucketHeader {
				return fmt.Errorf("%s: bucket %d has a %d-byte header", name, i, len(v))
			}
			sub := fmt.Sprintf("bucket %q in %s", kv[:ks], name)
			if root := le.Uint64(v); root != 0 {
				if err := w.tree(root, sub); err != nil {
					return err
				}
			} else if err := w.node(v[bucketHeader:], "the inline page of "+sub); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("%s has page type %#x, not a branch or leaf", name, flags)
	}
	return nil
}
