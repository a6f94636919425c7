package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// SourceInfo is what `auditfwd state show` prints about one source (the
// seen-set's figures come from package dedup).
type SourceInfo struct {
	Name       string     `json:"name"`
	Cursor     *time.Time `json:"cursor,omitempty"`
	LastPollOK *time.Time `json:"last_poll_ok,omitempty"`
	SeenCount  int64      `json:"seen_entries"`
	SeenRuns   int        `json:"seen_runs"`
	// OldestAnchor and NewestAnchor bound the expiry anchors of the
	// seen-set (the poll time, or the record time when later).
	OldestAnchor *time.Time `json:"seen_oldest_anchor,omitempty"`
	NewestAnchor *time.Time `json:"seen_newest_anchor,omitempty"`
}

// QueueInfo is one queue's marks.
type QueueInfo struct {
	Key       string `json:"queue"`
	Commit    int64  `json:"commit_mark"`
	Delivered int64  `json:"delivery_mark"`
}

// Sources lists every source the state knows (a cursor or a seen-set).
func (s *Store) Sources() ([]string, error) {
	names := map[string]bool{}
	err := s.view(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketSources, bucketSeen} {
			err := tx.Bucket(b).ForEachBucket(func(k []byte) error {
				names[string(k)] = true
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	out := make([]string, 0, len(names))
	for n := range names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, err
}

// Info reads one source's cursor and last successful poll.
func (s *Store) Info(source string) (SourceInfo, error) {
	info := SourceInfo{Name: source}
	err := s.view(func(tx *bolt.Tx) error {
		src := tx.Bucket(bucketSources).Bucket([]byte(source))
		if src == nil {
			return nil
		}
		var err error
		if info.Cursor, err = getTime(src, keyCursor); err != nil {
			return err
		}
		info.LastPollOK, err = getTime(src, keyLastPollOK)
		return err
	})
	return info, err
}

// Queues lists every queue's marks, sorted by key.
func (s *Store) Queues() ([]QueueInfo, error) {
	byKey := map[string]*QueueInfo{}
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketQueues).ForEach(func(k, v []byte) error {
			key, kind, ok := cutLast(string(k), "/")
			if !ok || len(v) != 8 {
				return nil
			}
			q := byKey[key]
			if q == nil {
				q = &QueueInfo{Key: key}
				byKey[key] = q
			}
			switch kind {
			case "commit":
				q.Commit = int64(binary.BigEndian.Uint64(v))
			case "delivered":
				q.Delivered = int64(binary.BigEndian.Uint64(v))
			}
			return nil
		})
	})
	out := make([]QueueInfo, 0, len(byKey))
	for _, q := range byKey {
		out = append(out, *q)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, err
}

// SourceValue reads a small value kept under a source (nil when unset).
func (s *Store) SourceValue(source, key string) []byte {
	var out []byte
	_ = s.db.View(func(tx *bolt.Tx) error {
		if src := tx.Bucket(bucketSources).Bucket([]byte(source)); src != nil {
			if v := src.Get([]byte(key)); v != nil {
				out = append([]byte(nil), v...)
			}
		}
		return nil
	})
	return out
}

// SetCursor moves a source's cursor; the next poll starts there. The
// seen-set stays, so records already delivered are not sent again.
func (s *Store) SetCursor(source string, t time.Time) error {
	return s.update(func(tx *bolt.Tx) error {
		src, err := tx.Bucket(bucketSources).CreateBucketIfNotExists([]byte(source))
		if err != nil {
			return err
		}
		// A Sync API token (wss_access) is a position of its own: it
		// would carry on from where it was, not from the new cursor.
		if err := src.Delete([]byte(KeySync)); err != nil {
			return err
		}
		return src.Put(keyCursor, []byte(t.UTC().Format(time.RFC3339Nano)))
	})
}

// KeySync is the source key of a wss_access source's Sync API token.
const KeySync = "sync"

// KeySeenRuns is the source key holding the seen-set's live-run list.
const KeySeenRuns = "seen_runs"

// ResetSource forgets part of a source: "cursor" (the cursor, the last
// poll and any backfill progress: the next start polls from the configured
// start), "seen" (the seen-set: every record is new again), or "all".
func (s *Store) ResetSource(source, what string) error {
	if what != "all" && what != "cursor" && what != "seen" {
		return fmt.Errorf("reset: unknown part %q (all, cursor, seen)", what)
	}
	return s.update(func(tx *bolt.Tx) error {
		name := []byte(source)
		if what == "all" || what == "seen" {
			if err := tx.Bucket(bucketSeen).DeleteBucket(name); err != nil && !errors.Is(err, bolt.ErrBucketNotFound) {
				return err
			}
		}
		src := tx.Bucket(bucketSources).Bucket(name)
		if src == nil {
			return nil
		}
		keys := []string{KeySeenRuns}
		switch what {
		case "cursor":
			keys = []string{string(keyCursor), string(keyLastPollOK), "backfill", KeySync}
		case "all":
			keys = append(keys, string(keyCursor), string(keyLastPollOK), "backfill", KeySync)
		}
		for _, k := range keys {
			if err := src.Delete([]byte(k)); err != nil {
				return err
			}
		}
		return nil
	})
}

func getTime(b *bolt.Bucket, key []byte) (*time.Time, error) {
	v := b.Get(key)
	if v == nil {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, string(v))
	if err != nil {
		return nil, fmt.Errorf("state: %s: %w", key, err)
	}
	return &t, nil
}

func cutLast(s, sep string) (before, after string, ok bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// Snapshot copies the state database of dir into dst/state.db, consistent
// as of one read transaction; ok=false when dir has no state yet. A damaged
// state is a DamagedError, as in Open.
func Snapshot(dir, dst string) (ok bool, err error) {
	path := filepath.Join(dir, "state.db")
	if _, err := os.Stat(path); err != nil {
		return false, nil
	}
	// PreLoadFreelist: read the freelist inside the guarded open, not in
	// the consistency check's own goroutine.
	db, _, err := openChecked(path, &bolt.Options{ReadOnly: true, PreLoadFreelist: true, Timeout: time.Second})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return false, fmt.Errorf("state %s is locked by a running auditfwd", path)
		}
		return false, err
	}
	defer db.Close()
	if err := os.MkdirAll(dst, 0o750); err != nil {
		return false, err
	}
	return true, guard(path, func() error {
		return db.View(func(tx *bolt.Tx) error { return tx.CopyFile(filepath.Join(dst, "state.db"), 0o600) })
	})
}
