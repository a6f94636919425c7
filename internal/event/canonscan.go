package event

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"slices"
	"strings"
	"sync"
	"unsafe"
)

// Hash returns the hash Parse gives raw (Parsed.Hash), without decoding
// raw into a map: a record already in the seen-set needs nothing more, and
// re-polled days are mostly such records.
func Hash(raw []byte) [32]byte {
	raw = bytes.TrimSpace(raw)
	w := canonWriters.Get().(*canonWriter)
	defer w.release()
	// The scan only reads raw and keeps nothing of it past release, so it
	// may look at the caller's bytes as a string instead of copying them.
	if w.canonicalize(unsafe.String(unsafe.SliceData(raw), len(raw))) {
		return sha256.Sum256(w.out)
	}
	return sha256.Sum256(raw)
}

// canonWriter writes the canonical form (AppendCanonical's) of JSON text
// straight from the text, in one pass: numbers, literals and plain strings
// are copied as they are, and an object's members are re-sorted only when
// the text did not already have them in order (records from one API mostly
// do not, but their members are cheap to move as byte ranges). It accepts
// exactly what decodeRecord accepts; FuzzCanonicalText holds it to
// AppendCanonical of decodeRecord's value.
type canonWriter struct {
	d   decoder
	out []byte
	ms  []span // members of the objects open now, innermost last
	tmp []byte
}

// span is one member, "key":value, in out.
type span struct {
	key        string // decoded, for sorting
	pfx        uint64 // key's first 8 bytes, big-endian, zero-padded: most comparisons end here
	start, end int
}

func keyPrefix(k string) uint64 {
	var p uint64
	for i := 0; i < 8; i++ {
		p <<= 8
		if i < len(k) {
			p |= uint64(k[i])
		}
	}
	return p
}

// less orders members by key bytes.
func (a *span) less(b *span) bool {
	if a.pfx != b.pfx {
		return a.pfx < b.pfx
	}
	return a.key < b.key
}

var canonWriters = sync.Pool{New: func() any {
	return &canonWriter{out: make([]byte, 0, 1024), ms: make([]span, 0, 32)}
}}

// release forgets the text (the members' keys point into it) and returns
// w to the pool unless a huge record grew its buffers.
func (w *canonWriter) release() {
	clear(w.ms[:cap(w.ms)])
	w.d = decoder{}
	if cap(w.out) > 64<<10 || cap(w.tmp) > 64<<10 || cap(w.ms) > 4096 {
		return
	}
	canonWriters.Put(w)
}

// canonicalize writes the canonical form of s into w.out and reports
// whether s is one valid JSON value (surrounded by JSON whitespace only).
func (w *canonWriter) canonicalize(s string) bool {
	w.d = decoder{s: s}
	w.out = w.out[:0]
	w.ms = w.ms[:0]
	w.d.skipSpace()
	if err := w.value(); err != nil {
		return false
	}
	w.d.skipSpace()
	return w.d.i == len(s)
}

func (w *canonWriter) value() error {
	d := &w.d
	if d.i >= len(d.s) {
		return errTruncated
	}
	switch c := d.s[d.i]; {
	case c == '{':
		return w.object()
	case c == '[':
		return w.array()
	case c == '"':
		return w.str()
	case c == '-' || isDigit(c):
		start := d.i
		if err := d.skipNumber(); err != nil {
			return err
		}
		w.out = append(w.out, d.s[start:d.i]...)
		return nil
	case c == 't':
		return w.literal("true")
	case c == 'f':
		return w.literal("false")
	case c == 'n':
		return w.literal("null")
	}
	return errSyntax
}

// errSyntax stands for every syntax error here: the caller only needs to
// know that the text is not JSON (Parse's decoder says why).
var errSyntax = errors.New("invalid JSON")

func (w *canonWriter) literal(lit string) error {
	if err := w.d.literal(lit); err != nil {
		return err
	}
	w.out = append(w.out, lit...)
	return nil
}

// strKey writes the string at d.i and returns its decoded text.
func (w *canonWriter) strKey() (string, error) {
	s, plain, err := w.d.strPlain()
	if err != nil {
		return "", err
	}
	if plain {
		w.out = append(w.out, '"')
		w.out = append(w.out, s...)
		w.out = append(w.out, '"')
	} else {
		w.out = appendString(w.out, s)
	}
	return s, nil
}

func (w *canonWriter) str() error {
	_, err := w.strKey()
	return err
}

func (w *canonWriter) array() error {
	d := &w.d
	if err := d.enter(); err != nil {
		return err
	}
	d.i++ // [
	w.out = append(w.out, '[')
	d.skipSpace()
	if d.i < len(d.s) && d.s[d.i] == ']' {
		d.i++
		d.depth--
		w.out = append(w.out, ']')
		return nil
	}
	for first := true; ; first = false {
		if !first {
			w.out = append(w.out, ',')
		}
		if err := w.value(); err != nil {
			return err
		}
		d.skipSpace()
		if d.i >= len(d.s) {
			return errTruncated
		}
		switch d.s[d.i] {
		case ',':
			d.i++
			d.skipSpace()
		case ']':
			d.i++
			d.depth--
			w.out = append(w.out, ']')
			return nil
		default:
			return errSyntax
		}
	}
}

func (w *canonWriter) object() error {
	d := &w.d
	if err := d.enter(); err != nil {
		return err
	}
	d.i++ // {
	open := len(w.out)
	w.out = append(w.out, '{')
	base := len(w.ms)
	d.skipSpace()
	if d.i < len(d.s) && d.s[d.i] == '}' {
		d.i++
		d.depth--
		w.out = append(w.out, '}')
		return nil
	}
	inOrder := true // keys strictly ascending so far: nothing to move
	for {
		if d.i >= len(d.s) {
			return errTruncated
		}
		if d.s[d.i] != '"' {
			return errSyntax
		}
		if len(w.ms) > base {
			w.out = append(w.out, ',')
		}
		start := len(w.out)
		key, err := w.strKey()
		if err != nil {
			return err
		}
		pfx := keyPrefix(key)
		if prev := len(w.ms) - 1; prev >= base {
			if p := &w.ms[prev]; pfx < p.pfx || (pfx == p.pfx && key <= p.key) {
				inOrder = false
			}
		}
		d.skipSpace()
		if d.i >= len(d.s) {
			return errTruncated
		}
		if d.s[d.i] != ':' {
			return errSyntax
		}
		d.i++
		d.skipSpace()
		w.out = append(w.out, ':')
		// Nested objects use ms above this member and give it back.
		m := len(w.ms)
		w.ms = append(w.ms, span{key: key, pfx: pfx, start: start})
		if err := w.value(); err != nil {
			return err
		}
		w.ms[m].end = len(w.out)
		d.skipSpace()
		if d.i >= len(d.s) {
			return errTruncated
		}
		switch d.s[d.i] {
		case ',':
			d.i++
			d.skipSpace()
		case '}':
			d.i++
			d.depth--
			if !inOrder {
				w.reorder(open, w.ms[base:])
			}
			w.ms = w.ms[:base]
			w.out = append(w.out, '}')
			return nil
		default:
			return errSyntax
		}
	}
}

// reorder rewrites the members of the object opened at out[open] in key
// order. Of members with the same key only the last one stays, as
// decoding keeps the last value.
func (w *canonWriter) reorder(open int, ms []span) {
	body := open + 1
	w.tmp = append(w.tmp[:0], w.out[body:]...)
	sortSpans(ms)
	w.out = w.out[:body]
	for i, m := range ms {
		if i+1 < len(ms) && ms[i+1].key == m.key {
			continue // a later duplicate replaces it
		}
		if len(w.out) > body {
			w.out = append(w.out, ',')
		}
		w.out = append(w.out, w.tmp[m.start-body:m.end-body]...)
	}
}

// sortSpans sorts members by key, keeping the text's order among equal
// keys. As in sortMembers, an insertion sort suits a record's dozen or two
// keys best.
func sortSpans(ms []span) {
	if len(ms) > 32 {
		slices.SortStableFunc(ms, func(a, b span) int { return strings.Compare(a.key, b.key) })
		return
	}
	for i := 1; i < len(ms); i++ {
		for j := i; j > 0 && ms[j].less(&ms[j-1]); j-- {
			ms[j], ms[j-1] = ms[j-1], ms[j]
		}
	}
}
