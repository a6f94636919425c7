package state

import (
	"bytes"
	"crypto/sha256"
	"errors"

	bolt "go.etcd.io/bbolt"
)

// The state guards its own keys. bbolt checks its pages' structure, not
// their bytes: one flipped byte in a key (a commit mark, a delivery mark,
// the run list, the dead letter's length) makes that key vanish and read
// as zero, which would silently discard queued events or resend
// everything. So every transaction that writes stamps a SHA-256 over every
// critical key and value, and Open refuses a state whose keys no longer
// match it.
//
// keyFormat marks a state written by a version that stamps: a stamp
// missing from such a state is damage, while a state without either is
// from before stamping and is stamped once, as it is.
var (
	keyIntegrity = []byte("integrity")
	keyFormat    = []byte("format")
	formatV1     = []byte("1")
)

// critical are the buckets the stamp covers; the legacy seen-set layout
// (hashes only, moved out on first open) is not.
var critical = [][]byte{bucketSources, bucketQueues, bucketTargets, bucketMisc}

// digest hashes every key and value of the critical buckets (nested
// buckets included), in bbolt's key order, but the stamp itself.
func digest(tx *bolt.Tx) [32]byte {
	h := sha256.New()
	var walk func(path []byte, b *bolt.Bucket)
	walk = func(path []byte, b *bolt.Bucket) {
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if len(path) == len(bucketMisc) && bytes.Equal(path, bucketMisc) && bytes.Equal(k, keyIntegrity) {
				continue
			}
			writeField(h, path)
			writeField(h, k)
			if v == nil { // a nested bucket
				h.Write([]byte{1})
				walk(append(append(append([]byte(nil), path...), '/'), k...), b.Bucket(k))
				continue
			}
			h.Write([]byte{0})
			writeField(h, v)
		}
	}
	for _, name := range critical {
		if b := tx.Bucket(name); b != nil {
			walk(name, b)
		}
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

func writeField(h interface{ Write([]byte) (int, error) }, b []byte) {
	var n [4]byte
	n[0], n[1], n[2], n[3] = byte(len(b)>>24), byte(len(b)>>16), byte(len(b)>>8), byte(len(b))
	h.Write(n[:])
	h.Write(b)
}

// stamp records the digest of tx's critical keys; call it last in every
// writing transaction.
func stamp(tx *bolt.Tx) error {
	misc := tx.Bucket(bucketMisc)
	if err := misc.Put(keyFormat, formatV1); err != nil {
		return err
	}
	d := digest(tx)
	return misc.Put(keyIntegrity, d[:])
}

// checkStamp compares the stamp with the keys. legacy reports a state from
// before stamps (no format, no stamp), which the caller stamps as it is.
func checkStamp(tx *bolt.Tx) (legacy bool, err error) {
	misc := tx.Bucket(bucketMisc)
	if misc == nil {
		return false, errors.New("its misc bucket is missing")
	}
	got := misc.Get(keyIntegrity)
	if got == nil {
		if misc.Get(keyFormat) == nil {
			return true, nil
		}
		return false, errors.New("its integrity stamp is missing (a damaged key?)")
	}
	if d := digest(tx); !bytes.Equal(got, d[:]) {
		return false, errors.New("its keys no longer match their integrity stamp: a key or value was changed on disk (a flipped byte, a partial copy, an edit)")
	}
	return false, nil
}

// Fresh reports whether the state holds no progress at all: no source, no
// queue mark, no target. A fresh state beside queue segments, seen-set runs
// or dead-letter bytes means state.db was deleted, emptied or replaced.
func (s *Store) Fresh() bool {
	fresh := true
	_ = s.view(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketSources, bucketQueues, bucketTargets} {
			if b := tx.Bucket(name); b != nil {
				if k, _ := b.Cursor().First(); k != nil {
					fresh = false
				}
			}
		}
		if v := tx.Bucket(bucketMisc).Get(keyDeadLetter); v != nil {
			fresh = false
		}
		return nil
	})
	return fresh
}

// Path is the state file's path.
func (s *Store) Path() string { return s.path }

// CheckStamp tells whether the critical keys still match their stamp.
func (s *Store) CheckStamp() error {
	return s.view(func(tx *bolt.Tx) error {
		_, err := checkStamp(tx)
		return err
	})
}

// Restamp accepts the keys as they read now (state repair, once the
// operator agreed).
func (s *Store) Restamp() error { return s.update(func(*bolt.Tx) error { return nil }) }

// SetQueueMarks sets a queue's marks (state repair).
func (s *Store) SetQueueMarks(key string, commit, delivered int64) error {
	return s.update(func(tx *bolt.Tx) error {
		q := tx.Bucket(bucketQueues)
		if err := putInt(q, key+"/commit", commit); err != nil {
			return err
		}
		return putInt(q, key+"/delivered", delivered)
	})
}

// SetDeadLetterLen sets the source dead letter's committed length (state
// repair).
func (s *Store) SetDeadLetterLen(n int64) error {
	return s.update(func(tx *bolt.Tx) error { return putInt(tx.Bucket(bucketMisc), string(keyDeadLetter), n) })
}

// SetSourceValue sets a small value kept under a source (state repair).
func (s *Store) SetSourceValue(source, key string, v []byte) error {
	return s.update(func(tx *bolt.Tx) error {
		src, err := tx.Bucket(bucketSources).CreateBucketIfNotExists([]byte(source))
		if err != nil {
			return err
		}
		return src.Put([]byte(key), v)
	})
}

// CheckStructure runs bbolt's consistency check over every page.
func (s *Store) CheckStructure() error { return s.Verify() }
