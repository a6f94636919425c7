package state

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"

	"github.com/auditfwd/auditfwd/internal/fsutil"
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
// or dead-letter bytes means state.db was deleted, emptied or replaced. A
// read that fails is an error, never "fresh".
func (s *Store) Fresh() (bool, error) {
	fresh := true
	err := s.view(func(tx *bolt.Tx) error {
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
	return fresh && err == nil, err
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

// The state_dir and its state.db share a random instance id: state.db
// keeps it under misc, the directory in a small file beside it. A state.db
// copied in from another state_dir (or another run) carries another id,
// and the queues, seen-set runs and dead letter here are not the ones its
// marks describe: starting on it would cut or resend them.
var keyInstance = []byte("instance")

// InstanceFile is the name of the state_dir's copy of the instance id.
const InstanceFile = "instance-id"

// ErrForeign is matched by the error that says state.db belongs to
// another state_dir.
var ErrForeign = errors.New("state.db belongs to another state_dir")

// CheckInstance compares the ids of state.db and its directory, giving
// either side the other's id when it has none (a new state, a state from
// before ids, a deleted id file).
func (s *Store) CheckInstance() error {
	dir := filepath.Dir(s.path)
	var dbID []byte
	if err := s.view(func(tx *bolt.Tx) error {
		dbID = append([]byte(nil), tx.Bucket(bucketMisc).Get(keyInstance)...)
		return nil
	}); err != nil {
		return err
	}
	fileID, err := os.ReadFile(filepath.Join(dir, InstanceFile))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	fileID = bytes.TrimSpace(fileID)
	switch {
	case len(dbID) > 0 && len(fileID) > 0 && !bytes.Equal(dbID, fileID):
		return fmt.Errorf("%w: %s is instance %s, but %s says this state_dir is instance %s: it was replaced by a copy from elsewhere (another state_dir, another machine); restore this state_dir's own state.db from a backup, or see `auditfwd state verify` and `auditfwd state repair`",
			ErrForeign, s.path, dbID, filepath.Join(dir, InstanceFile), fileID)
	case len(dbID) == 0 && len(fileID) > 0:
		return s.update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMisc).Put(keyInstance, fileID) })
	case len(dbID) == 0:
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return err
		}
		id := []byte(hex.EncodeToString(b[:]))
		if err := s.update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMisc).Put(keyInstance, id) }); err != nil {
			return err
		}
		return writeInstanceFile(dir, id)
	case len(fileID) == 0:
		return writeInstanceFile(dir, dbID)
	}
	return nil
}

// InstanceMismatch is CheckInstance without writing: the ErrForeign error
// when state.db and its directory name different instances, else nil.
func (s *Store) InstanceMismatch() error {
	dir := filepath.Dir(s.path)
	var dbID []byte
	if err := s.view(func(tx *bolt.Tx) error {
		dbID = append([]byte(nil), tx.Bucket(bucketMisc).Get(keyInstance)...)
		return nil
	}); err != nil {
		return err
	}
	fileID, _ := os.ReadFile(filepath.Join(dir, InstanceFile))
	fileID = bytes.TrimSpace(fileID)
	if len(dbID) > 0 && len(fileID) > 0 && !bytes.Equal(dbID, fileID) {
		return fmt.Errorf("%w: %s is instance %s, but %s says this state_dir is instance %s", ErrForeign, s.path, dbID, filepath.Join(dir, InstanceFile), fileID)
	}
	return nil
}

// AdoptInstance makes the directory's id state.db's (state repair, once
// what the foreign state cannot account for is moved aside).
func (s *Store) AdoptInstance() error {
	var dbID []byte
	if err := s.view(func(tx *bolt.Tx) error {
		dbID = append([]byte(nil), tx.Bucket(bucketMisc).Get(keyInstance)...)
		return nil
	}); err != nil || len(dbID) == 0 {
		return err
	}
	return writeInstanceFile(filepath.Dir(s.path), dbID)
}

func writeInstanceFile(dir string, id []byte) error {
	p := filepath.Join(dir, InstanceFile)
	tmp := p + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(append(id, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		return err
	}
	return fsutil.SyncDir(dir)
}
