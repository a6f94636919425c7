package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// ErrDamaged is matched (errors.Is) by every error saying that state.db is
// structurally damaged.
var ErrDamaged = errors.New("the state file is damaged")

// DamagedError says state.db cannot be trusted, why, and what to do.
// bbolt itself panics on a page it cannot parse and the kernel sends
// SIGBUS for a page cut off the mapped file: both would end the process
// with exit 2 and a stack trace, which the shipped systemd unit takes for
// a bad configuration and does not restart. This error ends it with exit 1
// and the way out.
type DamagedError struct {
	Path   string
	Reason string
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("the state file %s is damaged (%s); auditfwd does not start on a damaged state: "+
		"stop every auditfwd using this state_dir, then restore state_dir from a backup, "+
		"or see what can be saved with `auditfwd state verify --config FILE` and `auditfwd state repair --config FILE` "+
		"(which moves what cannot be trusted aside; the cursors, delivery marks and output positions it held are then lost)", e.Path, e.Reason)
}

// Is makes errors.Is(err, ErrDamaged) true.
func (e *DamagedError) Is(target error) bool { return target == ErrDamaged }

func damaged(path, format string, args ...any) *DamagedError {
	return &DamagedError{Path: path, Reason: fmt.Sprintf(format, args...)}
}

// guard runs fn with memory faults turned into panics (for this goroutine:
// bbolt reads its file through mmap) and any panic into a DamagedError.
func guard(path string, fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = damaged(path, "%s", panicReason(r))
		}
	}()
	return fn()
}

func panicReason(r any) string {
	if _, ok := r.(interface{ Addr() uintptr }); ok {
		// A fault: the runtime calls it a nil dereference, which misleads.
		return "reading it hit a memory fault: part of the file is missing or was changed while in use"
	}
	msg := fmt.Sprint(r)
	if !strings.HasPrefix(msg, "bbolt") {
		msg = "bbolt: " + msg
	}
	return msg
}

// The layout of a bbolt meta page (go.etcd.io/bbolt internal/common): a
// 16-byte page header, then magic, version, page size, flags (uint32 each),
// root bucket page and sequence, freelist page, high-water page id, txid
// (uint64 each), and an FNV-64a checksum of all that.
const (
	metaOffset     = 16
	metaLen        = 64
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	pgidNoFreelist = ^uint64(0)
)

type meta struct {
	pageSize       uint32
	root, freelist uint64
	pgid, txid     uint64
	valid          bool
}

func parseMeta(page []byte) meta {
	if len(page) < metaOffset+metaLen {
		return meta{}
	}
	b := page[metaOffset : metaOffset+metaLen]
	le := binary.LittleEndian
	m := meta{pageSize: le.Uint32(b[8:]), root: le.Uint64(b[16:]), freelist: le.Uint64(b[32:]), pgid: le.Uint64(b[40:]), txid: le.Uint64(b[48:])}
	h := fnv.New64a()
	h.Write(b[:56])
	m.valid = le.Uint32(b[0:]) == boltMagic && le.Uint32(b[4:]) == boltVersion && le.Uint64(b[56:]) == h.Sum64()
	return m
}

// checkFile looks at state.db before bbolt maps it: the meta page bbolt
// will use must be intact, the file must hold every page it names (a page
// past the end of a mapped file is SIGBUS on first touch) and its page
// tree must be sound (checkPages). It
// holds a shared lock while it reads, so a running auditfwd's writes
// cannot be mistaken for damage. warning is set when the newest meta page
// is bad and bbolt will fall back to the previous transaction.
func checkFile(path string, timeout time.Duration) (warning string, err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("open state %s: %w", path, err)
	}
	defer f.Close()
	if err := lockShared(f, timeout); err != nil {
		return "", fmt.Errorf("state %s: %w", path, err)
	}
	defer unix.Flock(int(f.Fd()), unix.LOCK_UN)
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("state %s: %w", path, err)
	}
	size := fi.Size()
	if size == 0 {
		// bbolt writes a new database into an empty file.
		return "", nil
	}
	read := func(off int64) []byte {
		buf := make([]byte, metaOffset+metaLen)
		n, _ := f.ReadAt(buf, off)
		return buf[:n]
	}
	m0 := parseMeta(read(0))
	pageSize := int64(m0.pageSize)
	if !m0.valid {
		// bbolt's own search for the second meta page: its page size is
		// unknown while the first is bad.
		pageSize = 0
		for i := 0; i <= 14 && int64(1024)<<i < size; i++ {
			if off := int64(1024) << i; parseMeta(read(off)).valid {
				pageSize = off
				break
			}
		}
		if pageSize == 0 {
			return "", damaged(path, "neither of its two meta pages is valid")
		}
	}
	if pageSize < 1024 || pageSize&(pageSize-1) != 0 {
		return "", damaged(path, "its meta page gives a page size of %d", pageSize)
	}
	// The page headers of both meta pages: bbolt's consistency check
	// asserts on them in a goroutine of its own, where its panic cannot be
	// recovered (a flipped byte there ended the process with a trace).
	for i, off := range []int64{0, pageSize} {
		if h := read(off); len(h) < 16 || binary.LittleEndian.Uint64(h[0:]) != uint64(i) || binary.LittleEndian.Uint16(h[8:]) != flagMeta {
			return "", damaged(path, "the header of its meta page %d is damaged", i)
		}
	}
	m1 := parseMeta(read(pageSize))
	newest, other := m0, m1
	if m1.txid > m0.txid {
		newest, other = m1, m0
	}
	use := newest
	switch {
	case newest.valid:
	case other.valid:
		use = other
		warning = fmt.Sprintf("the state file %s is damaged: its newest meta page (transaction %d) is invalid; using the previous transaction %d", path, newest.txid, other.txid)
	default:
		return "", damaged(path, "neither of its two meta pages is valid")
	}
	if int64(use.pageSize) != pageSize {
		return "", damaged(path, "its two meta pages disagree on the page size (%d, %d)", m0.pageSize, m1.pageSize)
	}
	if size%pageSize != 0 {
		return "", damaged(path, "it is %d bytes, not a whole number of %d-byte pages: it was cut", size, pageSize)
	}
	if use.pgid < 2 || use.pgid > uint64(size/pageSize) {
		return "", damaged(path, "it is %d pages long but its meta page says %d: it was cut", size/pageSize, use.pgid)
	}
	if use.root < 2 || use.root >= use.pgid || (use.freelist != pgidNoFreelist && (use.freelist < 2 || use.freelist >= use.pgid)) {
		return "", damaged(path, "its meta page points outside the file (root page %d, freelist page %d, %d pages)", use.root, use.freelist, use.pgid)
	}
	if err := checkPages(f, pageSize, use); err != nil {
		return "", damaged(path, "%v", err)
	}
	return warning, nil
}

// lockShared takes a shared flock on f, as bbolt's read-only open does,
// waiting up to timeout for a writer to let go.
func lockShared(f *os.File, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			return err
		}
		if time.Now().After(deadline) {
			return bolt.ErrTimeout
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// verify reads every key and value of every bucket (with faults turned
// into errors: this is the first touch of each page) and then runs bbolt's
// consistency check (page reachability, the freelist, key order). The walk
// comes first because bbolt runs its check in a goroutine of its own, where
// a panic could not be recovered; after the walk, every page the check
// reads has been read once without harm.
func verify(db *bolt.DB, path string) error {
	err := guard(path, func() error {
		return db.View(func(tx *bolt.Tx) error {
			touched.Add(walk(tx.Cursor(), tx.Bucket))
			return nil
		})
	})
	if err != nil {
		return err
	}
	return guard(path, func() error {
		return db.View(func(tx *bolt.Tx) error {
			var errs []string
			for err := range tx.Check() {
				// Keep a few; drain the rest so the checker ends.
				if len(errs) < 3 {
					errs = append(errs, err.Error())
				}
			}
			if errs != nil {
				return damaged(path, "bbolt's consistency check: %s", strings.Join(errs, "; "))
			}
			return nil
		})
	})
}

// walk touches every key and value under c, descending into buckets, and
// returns a sum of what it read.
func walk(c *bolt.Cursor, bucket func([]byte) *bolt.Bucket) int64 {
	var n int64
	for k, v := c.First(); k != nil; k, v = c.Next() {
		n += int64(len(k) + len(v))
		if len(k) > 0 {
			n += int64(k[len(k)-1])
		}
		if len(v) > 0 {
			n += int64(v[len(v)-1])
		}
		if v == nil {
			if b := bucket(k); b != nil {
				n += walk(b.Cursor(), b.Bucket)
			}
		}
	}
	return n
}

// touched keeps the walk's reads from being optimized away.
var touched atomic.Int64
