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
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

var (
	bucketSources = []byte("sources") // source name -> sub-bucket {cursor, ...}
	bucketSeen    = []byte("seen")    // source name -> sub-bucket hash -> anchor (unix s)
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
}

// Open opens (or creates) the state database. It fails fast instead of
// waiting forever when another auditfwd holds the lock on the same state_dir.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("state_dir %s: %w", dir, err)
	}
	path := filepath.Join(dir, "state.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 3 * time.Second, FreelistType: bolt.FreelistMapType})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("state %s is locked: is another auditfwd running with the same state_dir?", path)
		}
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketSources, bucketSeen, bucketQueues, bucketTargets, bucketMisc} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("init state %s: %w", path, err)
	}
	return &Store{db: db, path: path}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// SeenEntry is one hash added to a source's seen-set. Anchor is the unix time
// after which (plus the horizon, measured against the source cursor) no future
// window can return the record again.
type SeenEntry struct {
	Hash   [32]byte
	Anchor int64
}

// Commit is everything one window (or one checkpoint inside a window) makes
// durable at once.
type Commit struct {
	Source        string
	Cursor        *time.Time       // nil: a checkpoint inside a window, the cursor stays
	Seen          []SeenEntry      // hashes to add
	Marks         map[string]int64 // queue key -> new commit mark
	DeadLetterLen *int64           // new committed length of the source dead letter
	PollOK        *time.Time       // last successful poll, for status
	// Extra are small values kept under the source (a backfill's
	// progress), moved in the same transaction.
	Extra map[string][]byte
}

// Commit applies c in one transaction.
func (s *Store) Commit(c Commit) error {
	return s.db.Update(func(tx *bolt.Tx) error {
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
		if len(c.Seen) > 0 {
			seen, err := tx.Bucket(bucketSeen).CreateBucketIfNotExists([]byte(c.Source))
			if err != nil {
				return err
			}
			// Sorted inserts touch each leaf page once per run instead of
			// once per key.
			sort.Slice(c.Seen, func(i, j int) bool { return bytes.Compare(c.Seen[i].Hash[:], c.Seen[j].Hash[:]) < 0 })
			// bbolt keeps the value slices until the commit: each needs
			// its own bytes (a reused buffer gave every entry one anchor).
			vals := make([]byte, 8*len(c.Seen))
			for i, e := range c.Seen {
				v := vals[8*i : 8*i+8]
				binary.BigEndian.PutUint64(v, uint64(e.Anchor))
				if err := seen.Put(e.Hash[:], v); err != nil {
					return err
				}
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
	err = s.db.View(func(tx *bolt.Tx) error {
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

// SeenCount is the number of hashes in a source's seen-set.
func (s *Store) SeenCount(source string) int {
	n := 0
	_ = s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketSeen).Bucket([]byte(source)); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	return n
}

// SeenReader looks hashes up in one source's seen-set. Each lookup is its
// own short read transaction: a reader held open across a call that may
// block (a queue lock, back-pressure) would stop bbolt from growing its file
// for a writer that holds that lock: a deadlock seen in tests.
type SeenReader struct {
	s      *Store
	source []byte
}

// SeenReader returns a reader for one source's seen-set.
func (s *Store) SeenReader(source string) *SeenReader {
	return &SeenReader{s: s, source: []byte(source)}
}

// Has reports whether h is in the seen-set.
func (r *SeenReader) Has(h [32]byte) (bool, error) {
	found := false
	err := r.s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketSeen).Bucket(r.source); b != nil {
			found = b.Get(h[:]) != nil
		}
		return nil
	})
	return found, err
}

// Expire deletes up to limit seen entries of source whose anchor is before
// cutoff. It returns how many it deleted; call again while that equals limit.
func (s *Store) Expire(source string, cutoff int64, limit int) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSeen).Bucket([]byte(source))
		if b == nil {
			return nil
		}
		// Collect first: deleting under a live cursor makes bbolt skip keys.
		var dead [][]byte
		c := b.Cursor()
		for k, v := c.First(); k != nil && len(dead) < limit; k, v = c.Next() {
			if len(v) == 8 && int64(binary.BigEndian.Uint64(v)) < cutoff {
				dead = append(dead, append([]byte(nil), k...))
			}
		}
		for _, k := range dead {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(dead)
		return nil
	})
	return n, err
}

// QueueMarks returns a queue's commit and delivery marks (0 when new).
func (s *Store) QueueMarks(key string) (commit, delivered int64, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
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
	return s.db.Update(func(tx *bolt.Tx) error {
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
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketTargets).Put([]byte(output), target) })
}

// Target returns an output's saved target state (nil when none).
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
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMisc).Put([]byte(key), v) })
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
