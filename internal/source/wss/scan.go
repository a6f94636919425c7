package wss

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/bits"
)

const (
	defaultBufSize = 64 << 10
	// maxDepth matches encoding/json: anything it accepts, we accept.
	maxDepth = 10000
	// maxEmptyReads guards against readers that return 0, nil forever.
	maxEmptyReads = 100
)

// scanner is a validating JSON reader over a stream. It reads into its own
// buffer so that a complete value can be handed out as a slice of it
// without a copy; bytes from mark on are kept across refills (growing the
// buffer up to limit), everything before pos is discarded.
type scanner struct {
	r      io.Reader
	buf    []byte
	pos    int   // next unread byte
	end    int   // end of buffered data
	mark   int   // first byte to keep across refills, -1 for none
	base   int64 // stream offset of buf[0]
	limit  int   // most bytes that may be pinned from mark
	eof    bool
	rerr   error // read error other than io.EOF
	tooBig bool  // the pinned span outgrew limit
	rec    int   // 1-based number of the record being scanned, 0 outside records
	// depthMax is the deepest nesting value may enter: maxDepth, or less
	// inside a record (max_record_depth); tooDeep says a record hit it.
	depthMax int
	tooDeep  bool
	// sink, while a record is skipped, gets every byte of it that fill
	// drops; buf[sinkFrom:] has not been given to it yet.
	sink     *skipSink
	sinkFrom int
}

func newScanner(r io.Reader, buf []byte, limit int) *scanner {
	if limit > math.MaxInt/4 {
		limit = math.MaxInt / 4
	}
	return &scanner{r: r, buf: buf[:cap(buf)], mark: -1, limit: limit, depthMax: maxDepth}
}

func (s *scanner) offset() int64 { return s.base + int64(s.pos) }

// fill reads more data after end. It returns false when nothing more can
// be had: end of stream, a read error, or the pinned span reached limit.
func (s *scanner) fill() bool {
	if s.eof || s.rerr != nil || s.tooBig {
		return false
	}
	if s.end == len(s.buf) {
		keep := s.pos
		if s.mark >= 0 {
			keep = s.mark
		}
		if s.sink != nil && keep > s.sinkFrom {
			s.sink.write(s.buf[s.sinkFrom:keep])
			s.sinkFrom = keep
		}
		if keep > 0 {
			n := copy(s.buf, s.buf[keep:s.end])
			s.base += int64(keep)
			s.pos -= keep
			s.end = n
			if s.mark >= 0 {
				s.mark -= keep
			}
			s.sinkFrom = max(s.sinkFrom-keep, 0)
		}
		if s.end == len(s.buf) && !s.grow() {
			return false
		}
	}
	for empty := 0; ; empty++ {
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		if err != nil {
			if err == io.EOF {
				s.eof = true
			} else {
				s.rerr = err
			}
			return n > 0
		}
		if n > 0 {
			return true
		}
		if empty >= maxEmptyReads {
			s.rerr = io.ErrNoProgress
			return false
		}
	}
}

// grow enlarges a full buffer whose every byte is pinned.
func (s *scanner) grow() bool {
	if s.end-s.mark > s.limit {
		s.tooBig = true
		return false
	}
	n := 2 * len(s.buf)
	if n < 512 {
		n = 512
	}
	if ceiling := s.limit + 4096; n > ceiling {
		n = ceiling
	}
	if n <= len(s.buf) {
		s.tooBig = true
		return false
	}
	nb := make([]byte, n)
	copy(nb, s.buf[:s.end])
	s.buf = nb
	return true
}

// stopErr explains why the input ran out in the middle of something.
func (s *scanner) stopErr(where string) error {
	if s.rec > 0 {
		where = fmt.Sprintf("inside record #%d", s.rec)
	}
	switch {
	case s.tooBig && s.rec > 0:
		return &BodyError{Msg: fmt.Sprintf("record #%d is larger than max_record_bytes (%d bytes)", s.rec, s.limit)}
	case s.tooBig:
		return &BodyError{Msg: fmt.Sprintf("a value %s is larger than max_record_bytes (%d bytes)", where, s.limit)}
	case s.rerr != nil:
		return &BodyError{Msg: fmt.Sprintf("reading the body failed after %d bytes, %s", s.base+int64(s.end), where), Err: s.rerr}
	}
	return &BodyError{Msg: fmt.Sprintf("truncated JSON: the body ended after %d bytes, %s", s.base+int64(s.end), where), Err: io.ErrUnexpectedEOF}
}

// syntaxErr reports an unexpected byte at pos.
func (s *scanner) syntaxErr(c byte, context string) error {
	msg := fmt.Sprintf("invalid JSON at byte offset %d: unexpected %s %s", s.offset(), quoteByte(c), context)
	if s.rec > 0 {
		msg += fmt.Sprintf(" (record #%d)", s.rec)
	}
	return &BodyError{Msg: msg}
}

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return fmt.Sprintf("%q", rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

// skipSpace returns the next non-whitespace byte without consuming it.
func (s *scanner) skipSpace() (byte, bool) {
	for {
		for s.pos < s.end {
			if c := s.buf[s.pos]; !isSpace(c) {
				return c, true
			}
			s.pos++
		}
		if !s.fill() {
			return 0, false
		}
	}
}

// tok returns the next byte if it is there and not whitespace, else 0
// (then call skipSpace, which also tells a real 0 byte from the end).
// Compact JSON has no whitespace: this spares most skipSpace calls.
func (s *scanner) tok() byte {
	if s.pos < s.end {
		if c := s.buf[s.pos]; c > ' ' {
			return c
		}
	}
	return 0
}

// at reports whether the next byte, with no whitespace before it, is c.
func (s *scanner) at(c byte) bool { return s.pos < s.end && s.buf[s.pos] == c }

// expect skips whitespace and consumes c.
func (s *scanner) expect(c byte, where, context string) error {
	got, ok := s.skipSpace()
	if !ok {
		return s.stopErr(where)
	}
	if got != c {
		return s.syntaxErr(got, context)
	}
	s.pos++
	return nil
}

// next consumes and returns one byte.
func (s *scanner) next() (byte, bool) {
	if s.pos == s.end && !s.fill() {
		return 0, false
	}
	c := s.buf[s.pos]
	s.pos++
	return c, true
}

// peek returns the next byte without consuming it.
func (s *scanner) peek() (byte, bool) {
	if s.pos == s.end && !s.fill() {
		return 0, false
	}
	return s.buf[s.pos], true
}

// value consumes one complete JSON value (after optional whitespace) at
// nesting depth depth (the number of containers around it). where names
// the enclosing thing for messages about truncation.
func (s *scanner) value(depth int, where string) error {
	c := s.tok()
	if c == 0 {
		var ok bool
		if c, ok = s.skipSpace(); !ok {
			return s.stopErr(where)
		}
	}
	switch c {
	case '"':
		s.pos++
		return s.str(where)
	case '{':
		return s.object(depth+1, where)
	case '[':
		return s.array(depth+1, where)
	case 't':
		return s.literal("true", where)
	case 'f':
		return s.literal("false", where)
	case 'n':
		return s.literal("null", where)
	}
	if c == '-' || (c >= '0' && c <= '9') {
		return s.number(where)
	}
	return s.syntaxErr(c, "looking for the beginning of a value")
}

// depthErr reports nesting beyond depthMax; inside a record it only marks
// the record as one to skip.
func (s *scanner) depthErr() error {
	s.tooDeep = s.rec > 0
	return &BodyError{Msg: fmt.Sprintf("invalid JSON at byte offset %d: nesting deeper than %d", s.offset(), s.depthMax)}
}

func (s *scanner) object(depth int, where string) error {
	if depth > s.depthMax {
		return s.depthErr()
	}
	s.pos++ // '{'
	c, ok := s.skipSpace()
	if !ok {
		return s.stopErr(where)
	}
	if c == '}' {
		s.pos++
		return nil
	}
	for {
		if c != '"' {
			return s.syntaxErr(c, "looking for the beginning of an object key")
		}
		s.pos++
		if err := s.str(where); err != nil {
			return err
		}
		if s.at(':') {
			s.pos++
		} else if err := s.expect(':', where, "after an object key"); err != nil {
			return err
		}
		if err := s.value(depth, where); err != nil {
			return err
		}
		if c = s.tok(); c == 0 {
			if c, ok = s.skipSpace(); !ok {
				return s.stopErr(where)
			}
		}
		switch c {
		case ',':
			s.pos++
			if s.at('"') {
				c = '"'
			} else if c, ok = s.skipSpace(); !ok {
				return s.stopErr(where)
			}
		case '}':
			s.pos++
			return nil
		default:
			return s.syntaxErr(c, "after an object value")
		}
	}
}

func (s *scanner) array(depth int, where string) error {
	if depth > s.depthMax {
		return s.depthErr()
	}
	s.pos++ // '['
	c, ok := s.skipSpace()
	if !ok {
		return s.stopErr(where)
	}
	if c == ']' {
		s.pos++
		return nil
	}
	for {
		if err := s.value(depth, where); err != nil {
			return err
		}
		if c = s.tok(); c == 0 {
			if c, ok = s.skipSpace(); !ok {
				return s.stopErr(where)
			}
		}
		switch c {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return nil
		default:
			return s.syntaxErr(c, "after an array element")
		}
	}
}

// plain marks the bytes a string may hold unescaped.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str consumes the rest of a string whose opening quote is consumed.
// Like encoding/json it does not insist on valid UTF-8.
func (s *scanner) str(where string) error {
	for {
		b := s.buf[s.pos:s.end]
		i := plainPrefix(b)
		s.pos += i
		if i == len(b) {
			if !s.fill() {
				return s.stopErr(where)
			}
			continue
		}
		switch c := b[i]; c {
		case '"':
			s.pos++
			return nil
		case '\\':
			s.pos++
			e, ok := s.next()
			if !ok {
				return s.stopErr(where)
			}
			switch e {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				for k := 0; k < 4; k++ {
					h, ok := s.peek()
					if !ok {
						return s.stopErr(where)
					}
					if !isHex(h) {
						return s.syntaxErr(h, "in a \\u escape")
					}
					s.pos++
				}
			default:
				s.pos--
				return s.syntaxErr(e, "in a string escape")
			}
		default:
			return s.syntaxErr(c, "(a control character) in a string")
		}
	}
}

// plainPrefix returns how many leading bytes of b a string holds as they
// are. It tests 8 bytes at a time: strings are most of an audit record.
func plainPrefix(b []byte) int {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		q := x ^ (ones * '"')
		e := x ^ (ones * '\\')
		// The high bit of a byte is set when that byte is a quote, a
		// backslash or < 0x20; bytes above the first such byte may be
		// flagged wrongly (borrows), the lowest flag is always right.
		if m := ((q-ones)&^q | (e-ones)&^e | (x-ones*0x20)&^x) & highs; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for i < len(b) && plain[b[i]] {
		i++
	}
	return i
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// digits consumes [0-9]* and says how many there were.
func (s *scanner) digits() (int, bool) {
	n := 0
	for {
		for s.pos < s.end {
			if c := s.buf[s.pos]; c < '0' || c > '9' {
				return n, true
			}
			s.pos++
			n++
		}
		if !s.fill() {
			return n, false
		}
	}
}

// number consumes -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? . It is
// only called inside a container, so running out of input is truncation.
func (s *scanner) number(where string) error {
	c, _ := s.next()
	if c == '-' {
		var ok bool
		if c, ok = s.next(); !ok {
			return s.stopErr(where)
		}
	}
	switch {
	case c == '0':
	case c >= '1' && c <= '9':
		if _, ok := s.digits(); !ok {
			return s.stopErr(where)
		}
	default:
		s.pos--
		return s.syntaxErr(c, "in a number")
	}
	c, ok := s.peek()
	if !ok {
		return s.stopErr(where)
	}
	if c == '.' {
		s.pos++
		n, ok := s.digits()
		if !ok {
			return s.stopErr(where)
		}
		if n == 0 {
			return s.syntaxErr(s.buf[s.pos], "after a decimal point")
		}
		if c, ok = s.peek(); !ok {
			return s.stopErr(where)
		}
	}
	if c == 'e' || c == 'E' {
		s.pos++
		if c, ok = s.peek(); !ok {
			return s.stopErr(where)
		}
		if c == '+' || c == '-' {
			s.pos++
		}
		n, ok := s.digits()
		if !ok {
			return s.stopErr(where)
		}
		if n == 0 {
			return s.syntaxErr(s.buf[s.pos], "in an exponent")
		}
	}
	return nil
}

func (s *scanner) literal(word, where string) error {
	for i := 0; i < len(word); i++ {
		c, ok := s.peek()
		if !ok {
			return s.stopErr(where)
		}
		if c != word[i] {
			return s.syntaxErr(c, "in literal "+word)
		}
		s.pos++
	}
	return nil
}
