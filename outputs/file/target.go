package file

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"

	"github.com/sirupsen/logrus"
)

// tailLen is how many of the file's last bytes the state fingerprints: an
// inode number reused by another file after ours was deleted is told apart
// by them.
const tailLen = 64

// target is the file being written and how long it was after the last
// write.
type target struct {
	path     string
	id       fileID
	size     int64
	tail     []byte // the last tailLen bytes (or fewer) before size
	sum      []byte // decoded: SHA-256 of tail, as saved
	legacy   bool   // restored from an older, length-only state
	unparsed bool   // restored from a state that could not be read
}

// savedState is the stored form, JSON so that `state` tools can show it.
type savedState struct {
	V    int    `json:"v"`
	Path string `json:"path"`
	Dev  uint64 `json:"dev"`
	Ino  uint64 `json:"ino"`
	Len  int64  `json:"len"`
	Tail string `json:"tail"` // hex SHA-256 of the bytes before len (no record content)
}

func (t target) encode() []byte {
	b, _ := json.Marshal(savedState{V: 2, Path: t.path, Dev: t.id.dev, Ino: t.id.ino, Len: t.size, Tail: tailSum(t.tail)})
	return b
}

// decode reads a saved state; nil means none (a first start). The 8 bytes
// of versions before 2 hold the length only.
func decode(b []byte) *target {
	switch {
	case len(b) == 0:
		return nil
	case len(b) == 8:
		return &target{size: int64(binary.BigEndian.Uint64(b)), legacy: true}
	}
	var s savedState
	if err := json.Unmarshal(b, &s); err != nil || s.V != 2 || s.Len < 0 {
		return &target{unparsed: true}
	}
	t := &target{path: s.Path, id: fileID{s.Dev, s.Ino}, size: s.Len}
	t.sum, _ = hex.DecodeString(s.Tail)
	return t
}

func tailSum(tail []byte) string {
	s := sha256.Sum256(tail)
	return hex.EncodeToString(s[:])
}

func keepTail(tail, written []byte) []byte {
	if len(written) > tailLen {
		written = written[len(written)-tailLen:]
	}
	t := append(append(make([]byte, 0, len(tail)+len(written)), tail...), written...)
	return t[len(t)-min(len(t), tailLen):]
}

// readTail returns the last tailLen bytes (or fewer) before size.
func readTail(f *os.File, size int64) ([]byte, error) {
	n := min(size, tailLen)
	b := make([]byte, n)
	if _, err := f.ReadAt(b, size-n); err != nil && err != io.EOF {
		return nil, err
	}
	return b, nil
}

// Restore opens the file for the first Write after a start. state is what
// State returned after the last delivered batch (nil on a first start).
//
// The file is cut back to the saved length only when it is the file that
// length was measured on (same device, inode and last bytes): the bytes
// past it are a batch written but not marked delivered, which the pipeline
// writes again. Any other file is appended to, with a warning. A state from
// an older version names no file and is treated the same way: at most one
// batch is repeated, and nobody's file is cut.
func (o *Output) Restore(state []byte) error {
	o.Close()
	return o.restore(decode(state))
}

func (o *Output) restore(saved *target) error {
	f, err := o.openFile()
	if err != nil {
		return err
	}
	cur, err := o.measure(f)
	if err != nil {
		f.Close()
		return err
	}
	log := o.log.WithField("length", cur.size)
	switch {
	case saved == nil:
		// First start: what the file holds stays, the batches go after it.
	case saved.unparsed:
		log.Warn("file output: the saved state cannot be read: appending to the file, not cutting it back (a batch may be repeated)")
	case saved.legacy && cur.size > saved.size:
		log.WithField("saved_length", saved.size).Warn("file output: the state saved by an older version does not name the file: appending, not cutting it back (the last batch may be repeated)")
	case !saved.legacy && !o.sameFile(f, saved, cur):
		log.WithFields(logrus.Fields{"saved_path": saved.path, "saved_length": saved.size}).
			Warn("file output: the path names another file than the one written last (path changed or file replaced): appending to it, not cutting it back")
	case cur.size > saved.size:
		// Ours, with a batch written but not marked delivered: cut it.
		if err := f.Truncate(saved.size); err != nil {
			f.Close()
			return err
		}
		if cur, err = o.measure(f); err != nil {
			f.Close()
			return err
		}
	case cur.size < saved.size:
		o.shrunk(saved.size, cur.size, "at start")
	}
	o.f = f
	o.setCur(cur)
	o.needNL = len(cur.tail) > 0 && cur.tail[len(cur.tail)-1] != '\n'
	o.dirty = false
	return nil
}

// measure reads the open file's identity, length and last bytes.
func (o *Output) measure(f *os.File) (target, error) {
	fi, err := f.Stat()
	if err != nil {
		return target{}, err
	}
	tail, err := readTail(f, fi.Size())
	if err != nil {
		return target{}, err
	}
	return target{path: o.cfg.Path, id: idOf(fi), size: fi.Size(), tail: tail}, nil
}

// sameFile reports whether f (measured as cur) is the file saved names.
func (o *Output) sameFile(f *os.File, saved *target, cur target) bool {
	if cur.id != saved.id || (!cur.id.known() && saved.path != o.cfg.Path) {
		return false
	}
	if cur.size < saved.size {
		return true // cut by someone: nothing left to compare
	}
	tail, err := readTail(f, saved.size)
	return err == nil && bytes.Equal(saved.sum, sumBytes(tail))
}

func sumBytes(tail []byte) []byte {
	s := sha256.Sum256(tail)
	return s[:]
}

// shrunk logs a file found shorter than the output left it. Emptied is
// what copytruncate does (the bytes are in the copy); shorter but not
// empty is a cut or a power failure, and the bytes are counted missing.
func (o *Output) shrunk(want, got int64, when string) {
	log := o.log.WithFields(logrus.Fields{"expected_length": want, "length": got, "when": when})
	if got == 0 {
		o.rotations.Add(1)
		log.Warn("file output: the file was emptied (copytruncate rotation?): writing on from its start")
		return
	}
	o.missing.Add(want - got)
	log.WithField("missing_bytes", want-got).Error("file output: the file is shorter than the output left it (cut by someone, or a power failure): those events are gone from it; writing on at its end")
}
