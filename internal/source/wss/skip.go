package wss

import (
	"crypto/sha256"
	"fmt"
	"hash"
	"unicode/utf8"
)

// MaxSkippedExcerpt bounds the first bytes of a skipped record that are kept.
const MaxSkippedExcerpt = 1024

// maxSkipDepth bounds the nesting a skipped record may have: its open
// containers cost a bit each (2 MiB at this depth). Deeper is no record
// but an attack, and fails the body.
const maxSkipDepth = 1 << 24

// SkippedRecord is a record the decoder stepped over instead of handing it
// out, because it is larger than max_record_bytes or nested deeper than
// max_record_depth. It was read in constant memory, and still checked to
// be JSON; what is kept identifies it and shows what it was.
type SkippedRecord struct {
	Index  int    // 1-based position in the records array
	Reason string // why it was skipped, naming the setting
	Size   int64  // its bytes, from its first to its last
	// Hash is the SHA-256 of exactly those bytes. (Delivered records are
	// hashed in canonical form; a skipped one was never parsed.)
	Hash [32]byte
	// Excerpt is its first bytes, at most MaxSkippedExcerpt, cut before a
	// UTF-8 sequence the cut would split. The slice is the caller's.
	Excerpt []byte
}

// skipSink hashes and counts the bytes of a record being skipped and
// keeps its first ones.
type skipSink struct {
	h    hash.Hash
	size int64
	head []byte
}

func (k *skipSink) write(b []byte) {
	k.h.Write(b)
	k.size += int64(len(b))
	if room := MaxSkippedExcerpt - len(k.head); room > 0 {
		k.head = append(k.head, b[:min(room, len(b))]...)
	}
}

// skipRecord steps over the record that starts at mark, after the scan
// of it stopped at a limit (tooBig, tooDeep) or found it over limit. All
// of it from mark on is still buffered, so it is scanned again from its
// first byte, this time keeping nothing: fill hands every byte it drops
// to the sink.
func (d *decoder) skipRecord() (SkippedRecord, error) {
	s := d.s
	deep := s.tooDeep
	s.pos, s.mark = s.mark, -1
	s.tooBig, s.tooDeep = false, false
	k := &skipSink{h: sha256.New(), head: make([]byte, 0, MaxSkippedExcerpt)}
	s.sink, s.sinkFrom = k, s.pos
	err := s.skip("")
	k.write(s.buf[s.sinkFrom:s.pos])
	s.sink = nil
	if err != nil {
		return SkippedRecord{}, err
	}
	sk := SkippedRecord{Index: s.rec, Size: k.size, Excerpt: utf8Head(k.head)}
	k.h.Sum(sk.Hash[:0])
	if deep {
		sk.Reason = fmt.Sprintf("record #%d is nested deeper than max_record_depth %d", s.rec, d.maxDepth)
	} else {
		sk.Reason = fmt.Sprintf("record #%d is %d bytes, over max_record_bytes %d", s.rec, k.size, s.limit)
	}
	return sk, nil
}

// utf8Head drops a UTF-8 sequence cut off at the end of b.
func utf8Head(b []byte) []byte {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return b[:i]
			}
			break
		}
	}
	return b
}

// nest is the stack of a skipped record's open containers, a bit each:
// set for an object.
type nest struct {
	bits  []uint64
	depth int
}

func (n *nest) push(obj bool) {
	w, b := n.depth/64, uint(n.depth%64)
	if w == len(n.bits) {
		n.bits = append(n.bits, 0)
	}
	if obj {
		n.bits[w] |= 1 << b
	} else {
		n.bits[w] &^= 1 << b
	}
	n.depth++
}

func (n *nest) top() (obj bool) {
	i := n.depth - 1
	return n.bits[i/64]&(1<<uint(i%64)) != 0
}

// skip consumes one complete value as value does, checking it the same
// way, but without recursion: a 100,000-deep record must not cost a
// 100,000-deep call stack.
func (s *scanner) skip(where string) error {
	var open nest
	for {
		// A value starts here.
		c, ok := s.skipSpace()
		if !ok {
			return s.stopErr(where)
		}
		switch c {
		case '{', '[':
			closer := byte('}')
			if c == '[' {
				closer = ']'
			}
			s.pos++
			if c, ok = s.skipSpace(); !ok {
				return s.stopErr(where)
			}
			if c == closer {
				s.pos++
				break // an empty container is a complete value
			}
			if open.depth >= maxSkipDepth {
				return &BodyError{Msg: fmt.Sprintf("record #%d is nested more than %d levels deep; it cannot even be skipped", s.rec, maxSkipDepth)}
			}
			open.push(closer == '}')
			if closer == '}' {
				if err := s.skipKey(where); err != nil {
					return err
				}
			}
			continue // the first member's value
		case '"':
			s.pos++
			if err := s.str(where); err != nil {
				return err
			}
		case 't':
			if err := s.literal("true", where); err != nil {
				return err
			}
		case 'f':
			if err := s.literal("false", where); err != nil {
				return err
			}
		case 'n':
			if err := s.literal("null", where); err != nil {
				return err
			}
		default:
			if c != '-' && (c < '0' || c > '9') {
				return s.syntaxErr(c, "looking for the beginning of a value")
			}
			if err := s.number(where); err != nil {
				return err
			}
		}
		// A value ended: close containers until one goes on.
	closing:
		for {
			if open.depth == 0 {
				return nil
			}
			if c, ok = s.skipSpace(); !ok {
				return s.stopErr(where)
			}
			obj := open.top()
			switch {
			case c == ',':
				s.pos++
				if obj {
					if err := s.skipKey(where); err != nil {
						return err
					}
				}
				break closing
			case obj && c == '}', !obj && c == ']':
				s.pos++
				open.depth--
			case obj:
				return s.syntaxErr(c, "after an object value")
			default:
				return s.syntaxErr(c, "after an array element")
			}
		}
	}
}

// skipKey consumes an object key and its colon.
func (s *scanner) skipKey(where string) error {
	c, ok := s.skipSpace()
	if !ok {
		return s.stopErr(where)
	}
	if c != '"' {
		return s.syntaxErr(c, "looking for the beginning of an object key")
	}
	s.pos++
	if err := s.str(where); err != nil {
		return err
	}
	return s.expect(':', where, "after an object key")
}
