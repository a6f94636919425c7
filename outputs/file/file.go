// Package file writes events as NDJSON to a local file, exactly once.
//
// The file's length after each delivered batch is saved with the queue's
// delivery mark (Stateful). On start, Restore cuts the file back to that
// length, so a batch written but not yet marked delivered when the process
// died is written again once and only once.
package file

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/auditfwd/auditfwd/internal/event"
	"github.com/auditfwd/auditfwd/outputs"
)

// Config is the file output's own keys.
type Config struct {
	// Path of the NDJSON file; its directory is created.
	Path string `yaml:"path"`
	// Fsync after every batch (default true). Without it a power loss can
	// lose events the state store already counts as delivered.
	Fsync *bool `yaml:"fsync"`
	// Mode of a new file, octal (default "0640").
	Mode string `yaml:"mode"`
}

// Validate returns every problem with the keys, each naming its key.
func (c *Config) Validate() []error {
	var errs []error
	if c.Path == "" {
		errs = append(errs, errors.New("path: required"))
	}
	if c.Mode != "" {
		if _, err := strconv.ParseUint(c.Mode, 8, 32); err != nil {
			errs = append(errs, fmt.Errorf("mode: %q is not an octal file mode", c.Mode))
		}
	}
	return errs
}

// Output is the file output.
type Output struct {
	name  string
	cfg   Config
	mode  os.FileMode
	fsync bool
	f     *os.File
	size  int64
	buf   []byte
}

// New builds the output; the file is opened on first use.
func New(name string, cfg Config) (*Output, error) {
	mode := uint64(0o640)
	if cfg.Mode != "" {
		m, err := strconv.ParseUint(cfg.Mode, 8, 32)
		if err != nil {
			return nil, err
		}
		mode = m
	}
	fsync := cfg.Fsync == nil || *cfg.Fsync
	return &Output{name: name, cfg: cfg, mode: os.FileMode(mode), fsync: fsync, size: -1}, nil
}

// Name is the configured output name.
func (o *Output) Name() string { return o.name }

func (o *Output) open() error {
	if o.f != nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(o.cfg.Path), 0o750); err != nil {
		return err
	}
	f, err := os.OpenFile(o.cfg.Path, os.O_CREATE|os.O_RDWR, o.mode)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	if o.size < 0 || o.size > fi.Size() {
		// No saved length (first run), or the file was cut or rotated
		// by someone else: append at its current end.
		o.size = fi.Size()
	} else if o.size < fi.Size() {
		// Bytes past the saved length belong to a batch that was written
		// but not marked delivered: it will be written again.
		if err := f.Truncate(o.size); err != nil {
			f.Close()
			return fmt.Errorf("cut %s back to %d bytes: %w", o.cfg.Path, o.size, err)
		}
	}
	o.f = f
	return nil
}

// Restore sets the length the file had after the last delivered batch.
// Without a saved state (a first start) the file is opened and its current
// length becomes the state, so the caller can save it before any write.
func (o *Output) Restore(state []byte) error {
	if len(state) != 8 {
		o.size = -1
		if o.f != nil {
			o.f.Close()
			o.f = nil
		}
		return o.open()
	}
	o.size = int64(binary.BigEndian.Uint64(state))
	if o.f != nil {
		o.f.Close()
		o.f = nil
	}
	return o.open()
}

// State is the file's length after the last Write.
func (o *Output) State() []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(o.size))
	return b[:]
}

// Write appends the batch, one document per line, and syncs the file.
func (o *Output) Write(_ context.Context, batch []event.Event) error {
	if err := o.open(); err != nil {
		return err
	}
	o.buf = o.buf[:0]
	for _, e := range batch {
		o.buf = append(o.buf, e.Doc...)
		o.buf = append(o.buf, '\n')
	}
	n, err := o.f.WriteAt(o.buf, o.size)
	if err != nil {
		// A short write leaves a partial line; the next attempt writes
		// at the same offset over it.
		return fmt.Errorf("write %s: %w", o.cfg.Path, err)
	}
	if o.fsync {
		if err := o.f.Sync(); err != nil {
			return fmt.Errorf("fsync %s: %w", o.cfg.Path, err)
		}
	}
	o.size += int64(n)
	return nil
}

// Check makes sure the file can be opened for appending; it writes nothing.
func (o *Output) Check(context.Context) error {
	if err := os.MkdirAll(filepath.Dir(o.cfg.Path), 0o750); err != nil {
		return err
	}
	f, err := os.OpenFile(o.cfg.Path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, o.mode)
	if err != nil {
		return err
	}
	return f.Close()
}

// Close closes the file.
func (o *Output) Close() error {
	if o.f == nil {
		return nil
	}
	err := o.f.Close()
	o.f = nil
	return err
}

var (
	_ outputs.Output   = (*Output)(nil)
	_ outputs.Stateful = (*Output)(nil)
	_ outputs.Checker  = (*Output)(nil)
)
