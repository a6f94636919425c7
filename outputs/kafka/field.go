package kafka

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/auditfwd/auditfwd/internal/event"
)

// Topics, keys and headers read a few fields of each event. Decoding the
// whole document for that (event.original alone is often a kilobyte) would
// cost more than sending it, so lookup walks the JSON and decodes only the
// value it was asked for.

type valueKind int

const (
	kindMissing valueKind = iota
	kindScalar            // string, number or bool: the value is its text
	kindNull
	kindObject
	kindArray
)

var errBadJSON = errors.New("the event document is not valid JSON")

// lookup finds the value at path (nested object keys) in doc. The first
// member with a matching name is the one used. It checks the syntax of what
// it reads, not of what it skips: the documents come from event.Mapper.
func lookup(doc []byte, path []string) (string, valueKind, error) {
	s := scanner{b: doc}
	s.ws()
	if !s.eat('{') {
		return "", kindMissing, errBadJSON
	}
	for {
		s.ws()
		if s.eat('}') {
			return "", kindMissing, nil
		}
		raw, escaped, ok := s.str()
		if !ok {
			return "", kindMissing, errBadJSON
		}
		s.ws()
		if !s.eat(':') {
			return "", kindMissing, errBadJSON
		}
		s.ws()
		if keyEquals(raw, escaped, path[0]) {
			if len(path) == 1 {
				return s.value()
			}
			if !s.eat('{') {
				return "", kindMissing, nil // a value where an object was needed
			}
			path = path[1:]
			continue
		}
		if !s.skip() {
			return "", kindMissing, errBadJSON
		}
		s.ws()
		if s.eat(',') {
			continue
		}
		if s.eat('}') {
			return "", kindMissing, nil
		}
		return "", kindMissing, errBadJSON
	}
}

type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// str reads a string and returns its raw bytes (between the quotes) and
// whether they hold an escape.
func (s *scanner) str() (raw []byte, escaped, ok bool) {
	if !s.eat('"') {
		return nil, false, false
	}
	start := s.i
	for {
		j := bytes.IndexByte(s.b[s.i:], '"')
		if j < 0 {
			return nil, false, false
		}
		end := s.i + j
		n := 0 // backslashes right before the quote
		for k := end - 1; k >= start && s.b[k] == '\\'; k-- {
			n++
		}
		s.i = end + 1
		if n%2 == 0 {
			raw = s.b[start:end]
			return raw, bytes.IndexByte(raw, '\\') >= 0, true
		}
	}
}

// skip passes over one value of any kind.
func (s *scanner) skip() bool {
	if s.i >= len(s.b) {
		return false
	}
	switch s.b[s.i] {
	case '"':
		_, _, ok := s.str()
		return ok
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				if _, _, ok := s.str(); !ok {
					return false
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i++
					return true
				}
			}
			s.i++
		}
		return false
	default:
		start := s.i
		s.token()
		return s.i > start
	}
}

// token passes over a number or a literal.
func (s *scanner) token() []byte {
	start := s.i
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return s.b[start:s.i]
		}
		s.i++
	}
	return s.b[start:s.i]
}

// value decodes the value at the cursor when it is a scalar.
func (s *scanner) value() (string, valueKind, error) {
	if s.i >= len(s.b) {
		return "", kindMissing, errBadJSON
	}
	switch c := s.b[s.i]; {
	case c == '"':
		raw, escaped, ok := s.str()
		if !ok {
			return "", kindMissing, errBadJSON
		}
		if !escaped {
			return string(raw), kindScalar, nil
		}
		var v string
		if err := json.Unmarshal(s.b[s.i-len(raw)-2:s.i], &v); err != nil {
			return "", kindMissing, errBadJSON
		}
		return v, kindScalar, nil
	case c == '{':
		return "", kindObject, nil
	case c == '[':
		return "", kindArray, nil
	case c == 'n':
		if string(s.token()) != "null" {
			return "", kindMissing, errBadJSON
		}
		return "", kindNull, nil
	default:
		tok := s.token()
		if string(tok) != "true" && string(tok) != "false" && !json.Valid(tok) {
			return "", kindMissing, errBadJSON
		}
		return string(tok), kindScalar, nil
	}
}

func keyEquals(raw []byte, escaped bool, name string) bool {
	if !escaped {
		return string(raw) == name
	}
	q := make([]byte, 0, len(raw)+2)
	q = append(append(append(q, '"'), raw...), '"')
	var k string
	return json.Unmarshal(q, &k) == nil && k == name
}

// fieldCache resolves each field of one event once, however many of the
// topic, key and headers use it.
type fieldCache struct {
	ev      *event.Event
	entries []fieldEntry
}

type fieldEntry struct {
	field string
	val   string
	err   error
}

func (f *fieldCache) reset(ev *event.Event) {
	f.ev = ev
	f.entries = f.entries[:0]
}

// hashField is the record hash: it is taken from the Event itself, which
// is the authority (the document carries a copy).
const hashField = "event.hash"

func (f *fieldCache) get(field string, path []string) (string, error) {
	for _, e := range f.entries {
		if e.field == field {
			return e.val, e.err
		}
	}
	var val string
	var err error
	if field == hashField {
		val = f.ev.HashHex()
	} else {
		var kind valueKind
		val, kind, err = lookup(f.ev.Doc, path)
		switch {
		case err != nil:
		case kind == kindMissing:
			err = fmt.Errorf("field %s is missing from the event", field)
		case kind != kindScalar:
			err = fmt.Errorf("field %s is %s, not a string, number or bool", field, kindName[kind])
		}
	}
	f.entries = append(f.entries, fieldEntry{field: field, val: val, err: err})
	return val, err
}

var kindName = map[valueKind]string{kindNull: "null", kindObject: "an object", kindArray: "an array"}
