package file

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// openFile opens the path for appending (O_APPEND: a write always lands at
// the file's real end, so a file emptied under us never gets a hole), and
// creates it and its directories with the configured mode. What it creates
// is made durable by syncing the directory that holds it: otherwise a power
// failure could lose the file that the saved state names.
func (o *Output) openFile() (*os.File, error) {
	dir := filepath.Dir(o.cfg.Path)
	if err := mkdirs(dir, dirMode(o.mode)); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(o.cfg.Path, os.O_RDWR|os.O_APPEND|os.O_CREATE|os.O_EXCL, o.mode)
	if errors.Is(err, fs.ErrExist) {
		return os.OpenFile(o.cfg.Path, os.O_RDWR|os.O_APPEND, 0)
	}
	if err != nil {
		return nil, err
	}
	// The umask must not widen or narrow what the config says.
	if err := f.Chmod(o.mode); err != nil {
		f.Close()
		return nil, err
	}
	if err := syncDir(dir); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// mkdirs is os.MkdirAll that syncs the parent of every directory it makes.
func mkdirs(dir string, perm os.FileMode) error {
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirs(parent, perm); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, perm); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil
		}
		return err
	}
	return syncDir(parent)
}

// dirMode is the file mode plus search (x) wherever it grants read: 0600
// gives 0700, 0640 gives 0750.
func dirMode(m os.FileMode) os.FileMode { return m | (m&0o444)>>2 }
