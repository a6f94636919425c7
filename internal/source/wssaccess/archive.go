package wssaccess

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
)

// DefaultMaxLine is the longest ELFF line read whole (1 MiB). A longer line
// is a bad line (LineError with its size, first bytes and hash); reading
// goes on after it. It bounds the memory a hostile or broken file can take.
const DefaultMaxLine = 1 << 20

// lineHead is how many leading bytes of an oversized line a LineError keeps.
const lineHead = 256

// ErrDamagedArchive is matched (errors.Is) by every *DamagedArchiveError.
var ErrDamagedArchive = errors.New("wss_access: damaged Sync API archive")

// DamagedArchiveError: the archive cannot be read to its end (a bad ZIP
// directory, an entry that is not gzip or ELFF text, a corrupt or truncated
// gzip stream, a CRC or size mismatch). It is the "abort / partial ZIP"
// case of the Sync API: nothing of this download may be committed; repeat
// the same request (the lines already handed out come again and dedup
// drops them). It is sticky: Next keeps returning it.
type DamagedArchiveError struct {
	Entry string // the entry's name; "" when the directory itself is unreadable
	Line  int64  // lines of the entry read before the damage
	Err   error
}

func (e *DamagedArchiveError) Error() string {
	if e.Entry == "" {
		return fmt.Sprintf("wss_access: damaged Sync API archive: %v: repeating the request", e.Err)
	}
	return fmt.Sprintf("wss_access: damaged Sync API archive: entry %q after line %d: %v: repeating the request", e.Entry, e.Line, e.Err)
}

func (e *DamagedArchiveError) Unwrap() error        { return e.Err }
func (e *DamagedArchiveError) Is(target error) bool { return target == ErrDamagedArchive }

// Line is one line of an entry, without its terminator (LF or CRLF).
// Bytes aliases the Archive's buffers: it is valid until the next Next.
type Line struct {
	Entry      string // the entry (file) name inside the ZIP
	EntryIndex int    // its position among the entries read, from 0
	Num        int64  // 1-based line number inside the entry
	Bytes      []byte
}

// ArchiveStats counts what an Archive read, for logs and metrics.
type ArchiveStats struct {
	Entries int   // entries opened (directories and empty entries included)
	Lines   int64 // lines handed out, oversized ones included
	Blank   int64 // empty lines skipped: they hold nothing to deliver
}

// Archive reads a Sync API ZIP entry by entry, in archive (directory)
// order, streaming each gzip file line by line: memory stays bounded (a
// few buffers and MaxLine) whatever the archive's size.
type Archive struct {
	// MaxLine is the longest line handed out whole; 0 means DefaultMaxLine.
	// Set it before the first Next.
	MaxLine int

	files []*zip.File
	idx   int // the next entry to open

	cur     io.ReadCloser // the open entry; nil between entries
	curName string
	curIdx  int
	num     int64

	raw   *bufio.Reader // over the entry's stored bytes
	gz    gzip.Reader
	br    *bufio.Reader // over the decompressed text
	long  []byte        // a line longer than br's buffer, assembled
	err   error         // sticky: io.EOF or a *DamagedArchiveError
	stats ArchiveStats
}

// OpenArchive reads the ZIP directory of the size bytes at r (the spooled
// body without its trailer). An unreadable directory is a
// *DamagedArchiveError with no entry name.
func OpenArchive(r io.ReaderAt, size int64) (*Archive, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		// ErrInsecurePath still comes with a usable reader, and nothing here
		// writes entries to disk, so their names are only labels.
		return nil, &DamagedArchiveError{Err: err}
	}
	// klauspost's inflate is about twice as fast as the standard library's
	// and the binary links it already (the Kafka clients use it); its gzip
	// reader has the same API and the same multistream default.
	zr.RegisterDecompressor(zip.Deflate, flate.NewReader)
	a := &Archive{
		raw: bufio.NewReaderSize(nil, 32<<10),
		br:  bufio.NewReaderSize(nil, 64<<10),
	}
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/") {
			continue
		}
		a.files = append(a.files, f)
	}
	return a, nil
}

// Entries returns the names of the file entries, in the order Next reads them.
func (a *Archive) Entries() []string {
	names := make([]string, len(a.files))
	for i, f := range a.files {
		names[i] = f.Name
	}
	return names
}

// Stats returns the counts so far.
func (a *Archive) Stats() ArchiveStats { return a.stats }

// Next returns the next non-empty line. Its errors: io.EOF at the clean end
// of the archive; a *LineError for a line over MaxLine (skipped: call Next
// again); a *DamagedArchiveError when the archive cannot be read on (final).
//
// A gzip or ZIP checksum is only known at the end of its stream, so lines
// of an entry come out before that entry is known to be intact: commit
// nothing of an archive until Next returned io.EOF (or call Verify first).
func (a *Archive) Next() (Line, error) {
	for a.err == nil {
		if a.cur == nil {
			if a.idx >= len(a.files) {
				a.err = io.EOF
				break
			}
			f := a.files[a.idx]
			a.curIdx = a.idx
			a.idx++
			if err := a.open(f); err != nil {
				a.fail(err)
			}
			continue
		}
		b, err := a.readLine()
		if err != nil {
			var le *LineError
			if errors.As(err, &le) {
				a.stats.Lines++
				return Line{}, err
			}
			if err == io.EOF {
				a.closeEntry()
				continue
			}
			a.fail(err)
			continue
		}
		if len(b) == 0 {
			a.stats.Blank++
			continue
		}
		a.stats.Lines++
		return Line{Entry: a.curName, EntryIndex: a.curIdx, Num: a.num, Bytes: b}, nil
	}
	return Line{}, a.err
}

// open starts reading entry f; a nil cur afterwards means it was empty.
func (a *Archive) open(f *zip.File) error {
	a.stats.Entries++
	a.curName, a.num = f.Name, 0
	rc, err := f.Open()
	if err != nil {
		return err
	}
	a.cur = rc
	a.raw.Reset(rc)
	head, err := a.raw.Peek(2)
	switch {
	case len(head) == 0 && err == io.EOF:
		a.closeEntry() // an empty file holds no line
		return nil
	case len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b:
		if err := a.gz.Reset(a.raw); err != nil { // multistream by default: members are concatenated
			return err
		}
		a.br.Reset(&a.gz)
	case len(head) > 0 && head[0] == '#':
		// An uncompressed ELFF file: not what the API sends, but its text
		// is unambiguous, so it is read rather than refused.
		a.br.Reset(a.raw)
	case err != nil && err != io.EOF:
		return err
	default:
		return fmt.Errorf("neither gzip nor ELFF text (starts %q)", head)
	}
	return nil
}

func (a *Archive) closeEntry() {
	if a.cur != nil {
		a.cur.Close() // zip's entry readers have nothing to release
		a.cur = nil
	}
	a.raw.Reset(nil)
	a.br.Reset(nil)
}

func (a *Archive) fail(err error) {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF // an EOF inside a stream is a truncation
	}
	a.err = &DamagedArchiveError{Entry: a.curName, Line: a.num, Err: err}
	a.closeEntry()
}

// readLine returns the next line without its terminator, io.EOF at the
// entry's clean end, a *LineError for an oversized line, or the read error.
func (a *Archive) readLine() ([]byte, error) {
	b, err := a.br.ReadSlice('\n')
	switch {
	case err == nil:
	case errors.Is(err, bufio.ErrBufferFull):
		return a.readLong(b)
	case err == io.EOF:
		if len(b) == 0 {
			return nil, io.EOF
		}
		// A last line without a terminator; the EOF comes again next time.
	default:
		return nil, err
	}
	a.num++
	line := trimEOL(b)
	if len(line) > a.limit() {
		return nil, a.oversized(line)
	}
	return line, nil
}

func (a *Archive) limit() int {
	if a.MaxLine <= 0 {
		return DefaultMaxLine
	}
	return a.MaxLine
}

// readLong assembles a line longer than br's buffer, up to MaxLine; past
// that it hashes and discards the rest of the line so that the dead letter
// can still name and deduplicate it.
func (a *Archive) readLong(first []byte) ([]byte, error) {
	limit := a.limit()
	a.long = append(a.long[:0], first...)
	for {
		b, err := a.br.ReadSlice('\n')
		if len(a.long)+len(b)-trailingEOL(b) > limit {
			a.num++
			h := sha256.New()
			h.Write(a.long)
			return nil, a.skipRest(h, len(a.long), b, err)
		}
		a.long = append(a.long, b...)
		switch {
		case err == nil, err == io.EOF:
			a.num++
			line := trimEOL(a.long)
			if cap(a.long) > 2*limit { // do not pin more than needed
				a.long = nil
			}
			return line, nil
		case errors.Is(err, bufio.ErrBufferFull):
		default:
			return nil, err
		}
	}
}

// oversized is the LineError of a complete line over the limit.
func (a *Archive) oversized(line []byte) error {
	h := sha256.Sum256(line)
	le := &LineError{Entry: a.curName, Num: a.num, Size: len(line), Hash: h,
		Head: bytes.Clone(line[:min(lineHead, len(line))])}
	le.Reason = fmt.Sprintf("line of %d bytes is over the %d-byte limit", le.Size, a.limit())
	return le
}

// skipRest reads and hashes the rest of an oversized line whose first n
// bytes (a.long) are already in h, starting with chunk b.
func (a *Archive) skipRest(h hash.Hash, n int, b []byte, err error) error {
	le := &LineError{Entry: a.curName, Num: a.num, Head: bytes.Clone(a.long[:min(lineHead, len(a.long))])}
	for {
		// A CRLF split across two chunks leaves its CR in the size and hash
		// of an oversized dead letter: rare, and harmless for dedup.
		body := b[:len(b)-trailingEOL(b)]
		h.Write(body)
		n += len(body)
		if err == nil || err == io.EOF {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return err
		}
		b, err = a.br.ReadSlice('\n')
	}
	h.Sum(le.Hash[:0])
	le.Size = n
	le.Reason = fmt.Sprintf("line of %d bytes is over the %d-byte limit", n, a.limit())
	a.long = a.long[:0]
	return le
}

// trailingEOL is the length of b's terminator: 2 for CRLF, 1 for LF, 0.
func trailingEOL(b []byte) int {
	n := len(b)
	if n > 0 && b[n-1] == '\n' {
		if n > 1 && b[n-2] == '\r' {
			return 2
		}
		return 1
	}
	return 0
}

func trimEOL(b []byte) []byte { return b[:len(b)-trailingEOL(b)] }

// Verify decompresses every entry to its end, checking the gzip and ZIP
// checksums, without parsing: a caller that must not hand out a single line
// of a damaged archive calls it before Next, for about the cost of a second
// decompression. It does not move Next's position.
func (a *Archive) Verify() error {
	raw := bufio.NewReaderSize(nil, 32<<10)
	var gz gzip.Reader
	for _, f := range a.files {
		if err := verifyEntry(f, raw, &gz); err != nil {
			return &DamagedArchiveError{Entry: f.Name, Err: err}
		}
	}
	return nil
}

// Current is the index of the entry of the last line (or line error) Next
// handed out, -1 before the first. Every entry before it has been read to
// its end, checksums included: its lines are known intact.
func (a *Archive) Current() int {
	if a.stats.Lines == 0 {
		return -1
	}
	return a.curIdx
}

// VerifyEntry is Verify for entry i alone (an index of Entries): a caller
// that must commit lines of an entry Next has not finished yet checks it
// to its end first. It does not move Next's position.
func (a *Archive) VerifyEntry(i int) error {
	if i < 0 || i >= len(a.files) {
		return fmt.Errorf("wss_access: no entry %d in an archive of %d", i, len(a.files))
	}
	if err := verifyEntry(a.files[i], bufio.NewReaderSize(nil, 32<<10), new(gzip.Reader)); err != nil {
		return &DamagedArchiveError{Entry: a.files[i].Name, Err: err}
	}
	return nil
}

func verifyEntry(f *zip.File, raw *bufio.Reader, gz *gzip.Reader) error {
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	raw.Reset(rc)
	head, err := raw.Peek(2)
	var src io.Reader = raw
	switch {
	case len(head) == 0 && err == io.EOF:
		return nil
	case len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b:
		if err := gz.Reset(raw); err != nil {
			return err
		}
		src = gz
	case len(head) > 0 && head[0] == '#':
	case err != nil && err != io.EOF:
		return err
	default:
		return fmt.Errorf("neither gzip nor ELFF text (starts %q)", head)
	}
	if _, err := io.Copy(io.Discard, src); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	return nil
}
