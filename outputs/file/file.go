// Package file writes events as NDJSON to a local file, exactly once.
//
// After each delivered batch the pipeline saves the file's identity (path,
// device and inode) and length with the queue's delivery mark (Stateful).
// On start, Restore cuts the file back to that length when, and only when,
// it is the same file: a batch written but not yet marked delivered when the
// process died is then written again once and only once. Another file at
// the path (the path changed, the file was replaced) is never cut: it is
// appended to, with a warning.
//
// Before every batch (Follow) the output checks that the path still names
// the file it writes and that the file is as long as it left it: after a
// rename rotation it opens the new file, after copytruncate it goes on at
// the file's real end, and bytes that went missing are logged and counted.
// It writes with O_APPEND, so it never leaves a hole of NUL bytes, and
// starts a new line when the file does not end with one.
package file

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/sirupsen/logrus"

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
	// Mode of a new file, octal (default "0600": it holds raw audit
	// records). A directory it creates gets the same bits plus x where r is.
	Mode string `yaml:"mode"`
}

// Validate returns every problem with the keys, each naming its key.
func (c *Config) Validate() []error {
	var errs []error
	if c.Path == "" {
		errs = append(errs, errors.New("path: required"))
	}
	if c.Mode != "" {
		if m, err := strconv.ParseUint(c.Mode, 8, 32); err != nil || m > 0o777 {
			errs = append(errs, fmt.Errorf("mode: %q is not an octal file mode like \"0640\"", c.Mode))
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
	log   *logrus.Entry

	// Only the drainer's goroutine (Restore, Follow, Write, Close) uses these.
	f      *os.File
	needNL bool // the file does not end with a newline: start the next batch with one
	dirty  bool // a failed write may have left bytes past cur.size
	buf    []byte

	mu  sync.Mutex // guards cur: State is also read by the polling goroutine
	cur target

	missing   atomic.Int64 // bytes written here that were no longer in the file
	rotations atomic.Int64 // files found replaced or emptied under the output
}

// New builds the output; the file is opened by Restore or the first Write.
func New(name string, cfg Config) (*Output, error) {
	mode := uint64(0o600)
	if cfg.Mode != "" {
		m, err := strconv.ParseUint(cfg.Mode, 8, 32)
		if err != nil || m > 0o777 {
			return nil, fmt.Errorf("mode: %q is not an octal file mode", cfg.Mode)
		}
		mode = m
	}
	fsync := cfg.Fsync == nil || *cfg.Fsync
	return &Output{name: name, cfg: cfg, mode: os.FileMode(mode), fsync: fsync,
		log: logrus.NewEntry(logrus.StandardLogger()).WithField("output", name)}, nil
}

// Name is the configured output name.
func (o *Output) Name() string { return o.name }

// SetLogger replaces the logger (the pipeline passes its own, with the
// output's name).
func (o *Output) SetLogger(l *logrus.Entry) { o.log = l.WithField("path", o.cfg.Path) }

// MissingBytes counts bytes this output wrote that it later found gone
// from its file (cut by someone, lost in a power failure).
func (o *Output) MissingBytes() int64 { return o.missing.Load() }

// Rotations counts the times the file was found replaced (rename rotation)
// or emptied (copytruncate) and the output went on in the file at the path.
func (o *Output) Rotations() int64 { return o.rotations.Load() }

// State names the file and its length after the last completed Write. It
// may be called while a Write runs.
func (o *Output) State() []byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.cur.encode()
}

func (o *Output) setCur(t target) {
	o.mu.Lock()
	o.cur = t
	o.mu.Unlock()
}

// Write appends the batch, one document per line, and syncs the file.
//
// It follows a rotated file only when none is open: the pipeline calls
// Follow before every batch and saves the state it returns first, so a
// second look here could switch files with that state unsaved (a crash
// would then write the batch twice).
func (o *Output) Write(_ context.Context, batch []event.Event) error {
	if o.f == nil {
		if _, err := o.Follow(); err != nil {
			return err
		}
	}
	buf := o.buf[:0]
	if o.needNL {
		buf = append(buf, '\n')
	}
	for _, e := range batch {
		buf = append(buf, e.Doc...)
		buf = append(buf, '\n')
	}
	o.buf = buf
	// The errors name the operation and the path already (*os.PathError).
	n, err := o.f.Write(buf)
	if err != nil {
		// A short write leaves a partial line: Follow cuts it before the
		// next attempt.
		o.dirty = true
		return err
	}
	if o.fsync {
		if err := o.f.Sync(); err != nil {
			o.dirty = true // not durable: written again
			return err
		}
	}
	o.mu.Lock()
	o.cur.size += int64(n)
	o.cur.tail = keepTail(o.cur.tail, buf)
	o.mu.Unlock()
	o.needNL = false
	return nil
}

// Check makes sure the file can be opened for appending; it writes nothing.
//
// It writes nothing: no directory, no empty file. A check run as root must
// not leave a root-owned file that the service user then cannot open.
func (o *Output) Check(context.Context) error {
	fi, err := os.Stat(o.cfg.Path)
	switch {
	case err == nil && !fi.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file", o.cfg.Path)
	case err == nil:
		f, err := os.OpenFile(o.cfg.Path, os.O_WRONLY|os.O_APPEND, 0) // opens, writes nothing
		if err != nil {
			return err
		}
		return f.Close()
	case !errors.Is(err, os.ErrNotExist):
		return err
	}
	// Not there yet: the nearest existing directory must let us create it.
	for d := filepath.Dir(o.cfg.Path); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err == nil {
			if !fi.IsDir() {
				return fmt.Errorf("%s: %s is not a directory", o.cfg.Path, d)
			}
			if err := writable(d); err != nil {
				return fmt.Errorf("%s does not exist and cannot be created: %s is not writable by this user: %v", o.cfg.Path, d, err)
			}
			return nil
		}
		if !errors.Is(err, os.ErrNotExist) || filepath.Dir(d) == d {
			return err
		}
	}
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

// CopiesDocuments makes the output an outputs.Copier: Write copies the batch into its own buffer before writing it.
func (*Output) CopiesDocuments() {}
