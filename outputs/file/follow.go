package file

import (
	"errors"
	"io/fs"
	"os"

	"github.com/sirupsen/logrus"
)

// Follow checks, before a batch, that the path still names the file being
// written and that the file is as long as the output left it, and adapts:
//   - the path names another file, or none (rename rotation, the file
//     deleted or replaced): write on in the file at the path, created if
//     need be; the old file keeps what it has;
//   - the file is shorter (copytruncate, a cut, a power failure): write on
//     at its real end, and count what went missing;
//   - the file is longer: a failed write of ours is cut off; bytes someone
//     else appended are kept and written after.
//
// It reports whether the state changed, so the caller can save it before
// anything is written there: a crash after that write then rewinds the new
// file, not the old one. Write calls it too.
func (o *Output) Follow() (changed bool, err error) {
	if o.f == nil {
		// Not restored (or closed): start from what this process knows.
		var saved *target
		if o.cur.path != "" {
			saved = decode(o.cur.encode())
		}
		if err := o.restore(saved); err != nil {
			return false, err
		}
		changed = true
	}
	fdInfo, err := o.f.Stat()
	if err != nil {
		return changed, err
	}
	pathInfo, err := os.Stat(o.cfg.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist) || (err == nil && !os.SameFile(fdInfo, pathInfo)):
		return true, o.reopen(fdInfo)
	case err != nil:
		return changed, err
	}
	o.mu.Lock()
	want := o.cur.size
	o.mu.Unlock()
	size := fdInfo.Size()
	switch {
	case size < want:
		o.shrunk(want, size, "while running")
		return true, o.remeasure()
	case size > want && o.dirty:
		if err := o.f.Truncate(want); err != nil {
			return changed, err
		}
		o.dirty = false
	case size > want:
		o.log.WithFields(logrus.Fields{"expected_length": want, "length": size}).
			Warn("file output: someone else appended to the file: keeping their bytes, writing after them")
		return true, o.remeasure()
	}
	return changed, nil
}

// reopen moves to the file the path names now.
func (o *Output) reopen(old os.FileInfo) error {
	o.mu.Lock()
	want := o.cur.size
	o.mu.Unlock()
	if o.dirty && old.Size() > want {
		// Our own partial line, left in the old file by a failed write.
		if err := o.f.Truncate(want); err != nil {
			o.log.WithError(err).Warn("could not cut a failed batch off the rotated file: it may hold a partial or repeated batch")
		}
	}
	o.f.Close()
	o.f = nil
	f, err := o.openFile()
	if err != nil {
		return err
	}
	cur, err := o.measure(f)
	if err != nil {
		f.Close()
		return err
	}
	o.rotations.Add(1)
	o.log.WithFields(logrus.Fields{"old_length": want, "length": cur.size}).
		Warn("file output: the path names a new file (rename rotation?): writing on in it; the old file keeps what it had")
	o.f = f
	o.setCur(cur)
	o.needNL = len(cur.tail) > 0 && cur.tail[len(cur.tail)-1] != '\n'
	o.dirty = false
	return nil
}

// remeasure takes the open file's real length and last bytes as the state.
func (o *Output) remeasure() error {
	cur, err := o.measure(o.f)
	if err != nil {
		return err
	}
	o.setCur(cur)
	o.needNL = len(cur.tail) > 0 && cur.tail[len(cur.tail)-1] != '\n'
	o.dirty = false
	return nil
}
