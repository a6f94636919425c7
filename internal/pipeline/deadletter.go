package pipeline

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/auditfwd/auditfwd/internal/fsutil"
	"github.com/auditfwd/auditfwd/internal/source/wss"
)

// deadLetter is an append-only NDJSON file of what could not be delivered,
// each line with its reason. The source dead letter is exactly-once: its
// length is committed in the same state transaction as the window that
// produced its lines, and Open cuts off an uncommitted tail.
type deadLetter struct {
	mu   sync.Mutex
	path string
	f    *os.File
	size int64
}

// openDeadLetter opens path; committed < 0 means "no committed length kept"
// (at-least-once output dead letters): the file is appended to as it is.
func openDeadLetter(path string, committed int64) (*deadLetter, error) {
	// Raw audit records: owner only. The directory fsync makes a new
	// file's entry durable before a committed length can name it.
	dir := filepath.Dir(path)
	if err := fsutil.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := fsutil.SyncDir(dir); err != nil {
		f.Close()
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	size := fi.Size()
	if committed > size {
		// Its lines were fsynced before the state named their length, so
		// a shorter file was cut or replaced by someone: records are gone.
		f.Close()
		return nil, fmt.Errorf("dead letter %s is %d bytes, shorter than the %d bytes the state committed: someone cut, replaced or deleted it, and the records in it are lost from it; restore it from a backup (the agent starts again once it is whole), or accept the loss with `auditfwd state repair`", path, size, committed)
	}
	if committed >= 0 && committed < size {
		if err := f.Truncate(committed); err != nil {
			f.Close()
			return nil, fmt.Errorf("cut %s back to its committed length: %w", path, err)
		}
		size = committed
	}
	return &deadLetter{path: path, f: f, size: size}, nil
}

// write appends lines and fsyncs; then commit (may be nil) is called with the
// new length while the file is still locked, so lengths commit in order. When
// commit fails the lines are cut off again.
func (d *deadLetter) write(lines [][]byte, commit func(newLen int64) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var buf []byte
	for _, l := range lines {
		buf = append(buf, l...)
		buf = append(buf, '\n')
	}
	if _, err := d.f.WriteAt(buf, d.size); err != nil {
		return fmt.Errorf("write dead letter %s: %w", d.path, err)
	}
	if err := d.f.Sync(); err != nil {
		return fmt.Errorf("fsync dead letter %s: %w", d.path, err)
	}
	newLen := d.size + int64(len(buf))
	if commit != nil {
		if err := commit(newLen); err != nil {
			_ = d.f.Truncate(d.size)
			return err
		}
	}
	d.size = newLen
	return nil
}

func (d *deadLetter) close() error { return d.f.Close() }

// deadRecord is one line of a dead letter.
type deadRecord struct {
	Time   string `json:"time"`
	Source string `json:"source,omitempty"`
	Output string `json:"output,omitempty"`
	Reason string `json:"reason"`
	Hash   string `json:"hash"`
	Window string `json:"window,omitempty"`
	// Raw is the record as received; RawBase64 replaces it when the bytes
	// are not valid UTF-8, so no byte of the evidence is lost.
	Raw       string          `json:"raw,omitempty"`
	RawBase64 string          `json:"raw_base64,omitempty"`
	Event     json.RawMessage `json:"event,omitempty"`
	// A record too large or too deep to keep whole has only its size and
	// its first bytes here (base64 when not valid UTF-8); Hash is then the
	// SHA-256 of its exact bytes.
	Size          int64  `json:"size,omitempty"`
	Excerpt       string `json:"excerpt,omitempty"`
	ExcerptBase64 string `json:"excerpt_base64,omitempty"`
}

func sourceDeadLine(source, window, reason, hash string, raw []byte, now time.Time) []byte {
	r := deadRecord{Time: now.UTC().Format(time.RFC3339Nano), Source: source, Window: window, Reason: reason, Hash: hash}
	if utf8.Valid(raw) {
		r.Raw = string(raw)
	} else {
		r.RawBase64 = base64.StdEncoding.EncodeToString(raw)
	}
	b, _ := json.Marshal(r)
	return b
}

// skippedDeadLine is the line for a record the decoder stepped over.
func skippedDeadLine(source, window, hash string, sk wss.SkippedRecord, now time.Time) []byte {
	r := deadRecord{Time: now.UTC().Format(time.RFC3339Nano), Source: source, Window: window, Reason: sk.Reason, Hash: hash, Size: sk.Size}
	if utf8.Valid(sk.Excerpt) {
		r.Excerpt = string(sk.Excerpt)
	} else {
		r.ExcerptBase64 = base64.StdEncoding.EncodeToString(sk.Excerpt)
	}
	b, _ := json.Marshal(r)
	return b
}

func outputDeadLine(output, reason, hash string, doc []byte, now time.Time) []byte {
	r := deadRecord{Time: now.UTC().Format(time.RFC3339Nano), Output: output, Reason: reason, Hash: hash}
	if json.Valid(doc) {
		r.Event = doc
	} else {
		r.Raw = string(doc)
	}
	b, _ := json.Marshal(r)
	return b
}
