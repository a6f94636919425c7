package config

import (
	"fmt"
	"os"
	"path/filepath"
)

// sameFileOutputs refuses two file outputs that write one file: on start
// each would cut the file back to its own saved length, destroying the
// other's batches. One file is one path once cleaned and made absolute,
// with its directory's symlinks resolved, or, when it exists, one device
// and inode (a symlink or hard link to it).
func (c *Config) sameFileOutputs(add func(path, format string, a ...any)) {
	type seen struct {
		key  string
		fi   os.FileInfo
		path string
	}
	var files []seen
	for i, o := range c.Outputs {
		if o.File == nil || o.File.Path == "" {
			continue
		}
		p := fmt.Sprintf("outputs[%d].path", i)
		s := seen{key: resolvedPath(o.File.Path), path: p}
		s.fi, _ = os.Stat(o.File.Path)
		for _, prev := range files {
			if s.key == prev.key || (s.fi != nil && prev.fi != nil && os.SameFile(s.fi, prev.fi)) {
				add(p, "%q is the file of %s already: two file outputs cannot write one file", o.File.Path, prev.path)
				break
			}
		}
		files = append(files, s)
	}
}

func resolvedPath(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.Clean(path)
	}
	if dir, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		abs = filepath.Join(dir, filepath.Base(abs))
	}
	// A symlink whose target does not exist yet (os.Stat cannot tell the
	// two files are one): follow it by hand, a few links deep.
	for i := 0; i < 8; i++ {
		target, err := os.Readlink(abs)
		if err != nil {
			break
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(abs), target)
		}
		abs = filepath.Clean(target)
		if dir, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
			abs = filepath.Join(dir, filepath.Base(abs))
		}
	}
	return abs
}
