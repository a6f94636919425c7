//go:build unix

package file

import (
	"errors"
	"os"
	"syscall"
)

// fileID is what tells one file from another: device and inode.
type fileID struct{ dev, ino uint64 }

func (id fileID) known() bool { return id != fileID{} }

func idOf(fi os.FileInfo) fileID {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}
	}
	return fileID{}
}

// syncDir makes the directory's entries durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err // EINVAL: a filesystem that cannot sync directories
	}
	return nil
}

// writable tells whether this user may write in dir (create files there).
func writable(dir string) error { return syscall.Access(dir, 0x2|0x1) } // W_OK|X_OK
