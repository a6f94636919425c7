package wssaccess

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/auditfwd/auditfwd/internal/source/wss"
)

// A ZIP needs its central directory, which sits at the end, before the
// first file can be trusted: the body goes to a file first. The spool is
// bounded (max_archive_bytes) so a server that never stops cannot fill the
// disk, and one file holds one answer: it is removed when the answer has
// been used (Response.Close), and whatever a crash left behind is removed
// when the next Spool opens the directory.

const spoolPattern = "sync-*.spool"

// Spool writes answers to files under one directory. The directory belongs
// to one source: OpenSpool removes the spool files it finds there.
type Spool struct {
	dir   string
	limit int64
}

// OpenSpool makes dir (0700) and removes the spool files a crash left.
func OpenSpool(dir string, limit int64) (*Spool, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("wss_access: spool limit must be positive (got %d)", limit)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("wss_access: spool directory: %w", err)
	}
	stale, err := filepath.Glob(filepath.Join(dir, spoolPattern))
	if err != nil {
		return nil, err
	}
	for _, p := range stale {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("wss_access: removing a stale spool file: %w", err)
		}
	}
	return &Spool{dir: dir, limit: limit}, nil
}

// Dir is the spool directory.
func (s *Spool) Dir() string { return s.dir }

// fill copies r to a new 0600 file and returns it with its size. Past the
// limit, or on a read error, the file is removed and the error returned
// (*SpoolLimitError for the limit).
func (s *Spool) fill(r io.Reader) (*os.File, int64, error) {
	f, err := os.CreateTemp(s.dir, spoolPattern) // 0600
	if err != nil {
		return nil, 0, fmt.Errorf("wss_access: spool file: %w", err)
	}
	n, err := io.Copy(f, io.LimitReader(r, s.limit+1))
	if err == nil && n > s.limit {
		err = &SpoolLimitError{Limit: s.limit}
	}
	if err != nil {
		discard(f)
		return nil, 0, err
	}
	return f, n, nil
}

func discard(f *os.File) {
	f.Close()
	os.Remove(f.Name())
}

// EOCD record: signature, then fields up to a 2-byte comment length at 20.
const (
	eocdLen    = 22
	maxComment = 0xffff
)

var (
	eocdSig  = []byte("PK\x05\x06")
	localSig = []byte("PK\x03\x04")
)

// layout finds the trailer and the ZIP in a spooled body of size bytes. It
// returns the ZIP's size (0: no data) and the trailer, or the error that
// tells the caller what to do (see errors.go).
func layout(f io.ReaderAt, size int64) (int64, Trailer, error) {
	if size == 0 {
		return 0, Trailer{}, &TrailerError{Msg: "an empty body (not even a trailer)"}
	}
	tailLen := min(size, TrailerWindow)
	tail := make([]byte, tailLen)
	if _, err := f.ReadAt(tail, size-tailLen); err != nil {
		return 0, Trailer{}, fmt.Errorf("wss_access: reading the spool file: %w", err)
	}
	head := make([]byte, min(size, 64))
	if _, err := f.ReadAt(head, 0); err != nil {
		return 0, Trailer{}, fmt.Errorf("wss_access: reading the spool file: %w", err)
	}
	tr, terr := ParseTrailer(tail)
	if terr != nil {
		if bytes.HasPrefix(head, localSig) {
			// A whole ZIP followed by bytes that are not a trailer (an
			// unknown status, an oversized token, garbage) is a broken
			// trailer: repeat the request. Only a ZIP without its end is
			// partial, whose answer is a restart that drops the token.
			whole, err := zipEndsWithin(f, size)
			if err != nil {
				return 0, Trailer{}, err
			}
			if !whole {
				return 0, Trailer{}, &PartialArchiveError{Size: size}
			}
		}
		return 0, Trailer{}, terr
	}
	end := size - tailLen + int64(tr.Offset)
	if len(bytes.TrimSpace(head[:min(int64(len(head)), end)])) == 0 && end <= int64(len(head)) {
		return 0, tr, nil // only the trailer: no data
	}
	zipSize, ok, err := findEOCD(f, end)
	switch {
	case err != nil:
		return 0, Trailer{}, err
	case ok:
		return zipSize, tr, nil
	case bytes.HasPrefix(head, localSig):
		return 0, Trailer{}, &PartialArchiveError{Size: end, HasTrailer: true}
	}
	return 0, Trailer{}, &NotArchiveError{Size: end, Head: wss.Excerpt(head[:min(int64(len(head)), end)], 64)}
}

// findEOCD looks for an end-of-central-directory record that ends exactly
// at end, or just before a CRLF or LF there (a separator before the
// trailer), and returns where the ZIP ends. A record whose central
// directory would lie outside the bytes before it is not one (a "PK\5\6"
// inside file data).
func findEOCD(f io.ReaderAt, end int64) (int64, bool, error) {
	n := min(end, eocdLen+maxComment+2)
	if n < eocdLen {
		return 0, false, nil
	}
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, end-n); err != nil {
		return 0, false, fmt.Errorf("wss_access: reading the spool file: %w", err)
	}
	ends := []int64{n}
	if bytes.HasSuffix(buf, []byte("\r\n")) {
		ends = append(ends, n-2)
	} else if bytes.HasSuffix(buf, []byte("\n")) {
		ends = append(ends, n-1)
	}
	for i := bytes.LastIndex(buf, eocdSig); i >= 0; i = bytes.LastIndex(buf[:i], eocdSig) {
		if int64(i)+eocdLen > n {
			continue
		}
		rec := buf[i : i+eocdLen]
		stop := int64(i) + eocdLen + int64(binary.LittleEndian.Uint16(rec[20:]))
		cdSize := int64(binary.LittleEndian.Uint32(rec[12:]))
		cdOff := int64(binary.LittleEndian.Uint32(rec[16:]))
		pos := end - n + int64(i) // the record's offset in the body
		if cdSize != 0xffffffff && cdOff != 0xffffffff && cdOff+cdSize > pos {
			continue
		}
		for _, e := range ends {
			if stop == e {
				return end - n + e, true, nil
			}
		}
	}
	return 0, false, nil
}

// zipEndsWithin tells whether the end-of-central-directory record of a ZIP
// that starts at offset 0 ends (comment included) in the last
// TrailerWindow bytes before end, or exactly at end: the archive is whole,
// whatever follows it. Its central directory must end right where the
// record starts (or a ZIP64 locator must precede it), so a "PK\5\6" inside
// file data is not taken for one.
func zipEndsWithin(f io.ReaderAt, end int64) (bool, error) {
	n := min(end, eocdLen+maxComment+TrailerWindow)
	if n < eocdLen {
		return false, nil
	}
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, end-n); err != nil {
		return false, fmt.Errorf("wss_access: reading the spool file: %w", err)
	}
	for i := bytes.LastIndex(buf, eocdSig); i >= 0; i = bytes.LastIndex(buf[:i], eocdSig) {
		if int64(i)+eocdLen > n {
			continue
		}
		rec := buf[i : i+eocdLen]
		stop := int64(i) + eocdLen + int64(binary.LittleEndian.Uint16(rec[20:]))
		if stop > n || n-stop > TrailerWindow {
			continue
		}
		cdSize := int64(binary.LittleEndian.Uint32(rec[12:]))
		cdOff := int64(binary.LittleEndian.Uint32(rec[16:]))
		pos := end - n + int64(i)
		if cdSize == 0xffffffff || cdOff == 0xffffffff {
			if i >= zip64LocatorLen && bytes.Equal(buf[i-zip64LocatorLen:i-zip64LocatorLen+4], zip64LocatorSig) {
				return true, nil
			}
			continue
		}
		if cdOff+cdSize == pos {
			return true, nil
		}
	}
	return false, nil
}

const zip64LocatorLen = 20

var zip64LocatorSig = []byte("PK\x06\x07")
