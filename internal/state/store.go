// Package state is the one durable record of progress: per source the cursor
// and the seen-set of record hashes, per queue its commit and delivery marks,
// per output the opaque state of its target (a file length, say), and the
// committed length of the source dead letter.
//
// Everything that must move together moves in one bbolt transaction, which
// bbolt makes durable (fsync) before Update returns. The order of durable
// writes that keeps delivery exactly-once is described in package pipeline.
package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/auditfwd/auditfwd/internal/fsutil"
)

var (
	bucketSources = []byte("sources") // source name -> sub-bucket {cursor, ...}
	bucketSeen    = []byte("seen")    // legacy seen-set layout: source -> hash -> anchor (read once, then moved to package dedup)
	bucketQueues  = []byte("queues")  // queue key + "/commit" | "/delivered" -> int64
	bucketTargets = []byte("targets") // output name -> opaque target state
	bucketMisc    = []byte("misc")    // the source dead letter's committed length, HEC channels

	keyCursor     = []byte("cursor")
	keyDeadLetter = []byte("deadletter_len")
	keyLastPollOK = []byte("last_poll_ok")
)

// Store wraps the bbolt database under state_dir.
type Store struct {
	db   *bolt.DB
	path string
	// warning says bbolt recovered from a damaged meta page (see Warning).
	warning string
	// broken is set once a transaction panicked or faulted: the file or
	// bbolt's memory of it can no longer be trusted, so no later
	// transaction may write.
	broken atomic.Pointer[DamagedError]
}

// lockTimeout bounds the wait for another process's lock on state.db.
const lockTimeout = 3 * time.Second

// Open opens (or creates) the state database. It fails fast instead of
// waiting forever when another auditfwd holds the lock on the same state_dir,
// and returns a DamagedError (errors.Is ErrDamaged) when the file is
// structurally damaged: cut, a page that bbolt cannot parse, or bbolt's
// consistency check (tx.Check) failing. The whole check runs at every open:
// the state holds a few small keys per source and queue, and even 100,000
// keys (a 16 MiB file) cost about 20 ms (BenchmarkOpenLargeState).
func Open(dir string) (*Store, error) { return open(dir, true) }

// OpenUnchecked opens a state whose integrity stamp may not match, for
// `state verify` and `state repair` (CheckStamp tells). A structurally
// damaged file is still refused. It writes nothing on a state whose stamp
// does not match until a repair does.
func OpenUnchecked(dir string) (*Store, error) { return open(dir, false) }

func open(dir string, checked bool) (*Store, error) {
	if err := fsutil.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state_dir %s: %w", dir, err)
	}
	path := filepath.Join(dir, "state.db")
	db, warning, err := openChecked(path, &bolt.Options{Timeout: lockTimeout, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, err
	}
	// bbolt fsyncs the file, not its directory entry: without this a power
	// loss could take a new state.db while the queues it is about to
	// commit stay.
	if err := fsutil.SyncDir(dir); err != nil {
		db.Close()
		return nil, err
	}
	s := &Store{db: db, path: path, warning: warning}
	buckets := [][]byte{bucketSources, bucketSeen, bucketQueues, bucketTargets, bucketMisc}
	var missing, legacy bool
	var stampErr error
	err = s.view(func(tx *bolt.Tx) error {
		for _, b := range buckets {
			missing = missing || tx.Bucket(b) == nil
		}
		if !missing {
			legacy, stampErr = checkStamp(tx)
		}
		return nil
	})
	if err == nil && stampErr != nil && checked {
		db.Close()
		return nil, damaged(path, "%s", stampErr.Error())
	}
	if err == nil && (missing || legacy) {
		// Only then: a commit writes (a freelist and a meta page, maybe
		// growing the file), and a restart with nothing to do must work
		// on a full disk. A new state, or one from before stamps, is
		// stamped here.
		err = s.update(func(tx *bolt.Tx) error {
			for _, b := range buckets {
				if _, err := tx.CreateBucketIfNotExists(b); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err != nil {
		db.Close()
		if errors.Is(err, ErrDamaged) {
			return nil, err
		}
		return nil, fmt.Errorf("init state %s: %w", path, err)
	}
	return s, nil
}

// openChecked checks the file (checkFile), opens it with faults and panics
// turned into errors, and verifies it whole (verify).
func openChecked(path string, opts *bolt.Options) (*bolt.DB, string, error) {
	locked := func(err error) bool { return errors.Is(err, bolt.ErrTimeout) }
	lockedErr := lockedError{path}
	warning, err := checkFile(path, opts.Timeout)
	if locked(err) {
		return nil, "", lockedErr
	}
	if err != nil {
		return nil, "", err
	}
	var db *bolt.DB
	var file *os.File
	o := *opts
	o.OpenFile = func(name string, flag int, mode os.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag, mode)
		file = f
		return f, err
	}
	err = guard(path, func() error {
		var err error
		db, err = bolt.Open(path, 0o600, &o)
		return err
	})
	switch {
	case locked(err):
		return nil, "", lockedErr
	case errors.Is(err, ErrDamaged):
		// bbolt panicked inside Open, holding the file and its lock:
		// let go of them (its mapping stays until the process ends).
		if file != nil {
			file.Close()
		}
		return nil, "", err
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrVersionMismatch):
		return nil, "", damaged(path, "%v", err)
	case err != nil:
		return nil, "", fmt.Errorf("open state %s: %w", path, err)
	}
	if err := verify(db, path); err != nil {
		db.Close()
		return nil, "", err
	}
	return db, warning, nil
}

// lockedError is Open's error when another process holds state.db.
type lockedError struct{ path string }

func (e lockedError) Error() string {
	return fmt.Sprintf("state %s is locked: is another auditfwd running with the same state_dir?", e.path)
}

func (e lockedError) Unwrap() error { return bolt.ErrTimeout }

// Warning is set when the file was damaged but bbolt could recover: its
// newest meta page was invalid and it went back to the previous
// transaction. The state is then one transaction old; the checks of the
// queues and outputs against it decide whether that is exact.
func (s *Store) Warning() string { return s.warning }

// Verify runs the whole structural check of Open again (for state tools).
func (s *Store) Verify() error {
	if err := s.broken.Load(); err != nil {
		return err
	}
	return verify(s.db, s.path)
}

// view and update run a transaction with faults and panics turned into a
// DamagedError, and refuse once one happened.
func (s *Store) view(fn func(*bolt.Tx) error) error {
	return s.guarded(func() error { return s.db.View(fn) })
}

// update also stamps the critical keys (integrity.go) as the last write
// of the transaction.
func (s *Store) update(fn func(*bolt.Tx) error) error {
	return s.guarded(func() error {
		return s.db.Update(func(tx *bolt.Tx) error {
			if err := fn(tx); err != nil {
				return err
			}
			return stamp(tx)
		})
	})
}

func (s *Store) guarded(fn func() error) error {
	if err := s.broken.Load(); err != nil {
		return err
	}
	err := guard(s.path, fn)
	var de *DamagedError
	if errors.As(err, &de) {
		s.broken.CompareAndSwap(nil, de)
	}
	return err
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Commit is everything one window (or one checkpoint inside a window) makes
// durable at once.
type Commit struct {
	Source        string
	Cursor        *time.Time       // nil: a checkpoint inside a window, the cursor stays
	Marks         map[string]int64 // queue key -> new commit mark
	DeadLetterLen *int64           // new committed length of the source dead letter
	PollOK        *time.Time       // last successful poll, for status
	// Extra are small values kept under the source (the seen-set's live
	// runs, a backfill's progress), moved in the same transaction.
	Extra map[string][]byte
	// DropLegacySeen deletes the source's seen-set in the old bbolt layout
	// (its hashes were just moved to package dedup's runs).
	DropLegacySeen bool
}

// Commit applies c in one transaction.
func (s *Store) Commit(c Commit) error {
	return s.update(func(tx *bolt.Tx) error {
		src, err := tx.Bucket(bucketSources).CreateBucketIfNotExists([]byte(c.Source))
		if err != nil {
			return err
		}
		if c.Cursor != nil {
			if err := src.Put(keyCursor, []byte(c.Cursor.UTC().Format(time.RFC3339Nano))); err != nil {
				return err
			}
		}
		if c.PollOK != nil {
			if err := src.Put(keyLastPollOK, []byte(c.PollOK.UTC().Format(time.RFC3339Nano))); err != nil {
				return err
			}
		}
		for k, v := range c.Extra {
			if err := src.Put([]byte(k), v); err != nil {
				return err
			}
		}
		if c.DropLegacySeen {
			if err := tx.Bucket(bucketSeen).DeleteBucket([]byte(c.Source)); err != nil && !errors.Is(err, bolt.ErrBucketNotFound) {
				return err
			}
		}
		q := tx.Bucket(bucketQueues)
		for key, mark := range c.Marks {
			if err := putInt(q, key+"/commit", mark); err != nil {
				return err
			}
		}
		if c.DeadLetterLen != nil {
			if err := putInt(tx.Bucket(bucketMisc), string(keyDeadLetter), *c.DeadLetterLen); err != nil {
				return err
			}
		}
		return nil
	})
}

// Cursor returns the source's cursor, ok=false before its first commit.
func (s *Store) Cursor(source string) (t time.Time, ok bool, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		src := tx.Bucket(bucketSources).Bucket([]byte(source))
		if src == nil {
			return nil
		}
		v := src.Get(keyCursor)
		if v == nil {
			return nil
		}
		t, err = time.Parse(time.RFC3339Nano, string(v))
		ok = err == nil
		return err
	})
	return t, ok, err
}

// QueueMarks returns a queue's commit and delivery marks (0 when new).
func (s *Store) QueueMarks(key string) (commit, delivered int64, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		q := tx.Bucket(bucketQueues)
		commit = getInt(q, key+"/commit")
		delivered = getInt(q, key+"/delivered")
		return nil
	})
	return commit, delivered, err
}

// Delivered makes an output's progress durable: the queue's delivery mark
// and, for outputs that keep one, the state of their target, together.
func (s *Store) Delivered(queueKey string, mark int64, output string, target []byte) error {
	return s.update(func(tx *bolt.Tx) error {
		if err := putInt(tx.Bucket(bucketQueues), queueKey+"/delivered", mark); err != nil {
			return err
		}
		if target != nil {
			return tx.Bucket(bucketTargets).Put([]byte(output), target)
		}
		return nil
	})
}

// SetTarget saves an output's target state alone (its first start).
func (s *Store) SetTarget(output string, target []byte) error {
	return s.update(func(tx *bolt.Tx) error { return tx.Bucket(bucketTargets).Put([]byte(output), target) })
}

// Target returns an output's saved target state (nil when none).
//
// Target, DeadLetterLen, GetMisc and SourceValue return no error, so they
// are not guarded: a zero read from a damaged file would be taken for "no
// value" (a dead letter cut to 0, say), which is worse than a crash. Open
// verified every page they read; only a file changed under the running
// process can fault here.
func (s *Store) Target(output string) []byte {
	var out []byte
	_ = s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketTargets).Get([]byte(output)); v != nil {
			out = append([]byte(nil), v...)
		}
		return nil
	})
	return out
}

// DeadLetterLen is the committed length of the source dead letter.
func (s *Store) DeadLetterLen() int64 {
	var n int64
	_ = s.db.View(func(tx *bolt.Tx) error {
		n = getInt(tx.Bucket(bucketMisc), string(keyDeadLetter))
		return nil
	})
	return n
}

// GetMisc returns a small named value (nil when unset).
func (s *Store) GetMisc(key string) []byte {
	var out []byte
	_ = s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMisc).Get([]byte(key)); v != nil {
			out = append([]byte(nil), v...)
		}
		return nil
	})
	return out
}

// PutMisc stores a small named value (an HEC channel id, say).
func (s *Store) PutMisc(key string, v []byte) error {
	return s.update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMisc).Put([]byte(key), v) })
}

func putInt(b *bolt.Bucket, key string, v int64) error {
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], uint64(v))
	return b.Put([]byte(key), buf[:])
}

func getInt(b *bolt.Bucket, key string) int64 {
	v := b.Get([]byte(key))
	if len(v) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(v))
}

// LegacySeen is one hash of a seen-set in the old layout.
type LegacySeen struct {
	Hash   [32]byte
	Anchor int64
}

// LegacySeenSet reads a source's seen-set in the old bbolt layout (nil
// when there is none), to move it to package dedup.
func (s *Store) LegacySeenSet(source string) ([]LegacySeen, error) {
	var out []LegacySeen
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSeen).Bucket([]byte(source))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			if len(k) != 32 || len(v) != 8 {
				return nil
			}
			e := LegacySeen{Anchor: int64(binary.BigEndian.Uint64(v))}
			copy(e.Hash[:], k)
			out = append(out, e)
			return nil
		})
	})
	return out, err
}
