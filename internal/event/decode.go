package event

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// decodeRecord decodes one JSON value into exactly what json.Decoder with
// UseNumber yields (map[string]any, []any, string, json.Number, bool, nil),
// accepting and rejecting the same inputs; FuzzDecodeMatchesStdlib holds it to
// that. It exists for speed: encoding/json scans every value twice and
// allocates every string, while this copies the record into one string once
// and hands out substrings of it for every string that needs no unescaping.
// Decoding is most of the cost of a record, and records come by the million.
func decodeRecord(s string) (any, error) {
	d := decoder{s: s}
	d.skipSpace()
	v, err := d.value()
	if err != nil {
		return nil, err
	}
	d.skipSpace()
	if d.i < len(d.s) {
		return nil, d.syntaxf("invalid character %s after top-level value", quoteByte(d.s[d.i]))
	}
	return v, nil
}

// maxDepth matches encoding/json's nesting limit, so that both accept the
// same records.
const maxDepth = 10000

var errTruncated = errors.New("unexpected end of JSON input")

type decoder struct {
	s     string
	i     int
	depth int
	slab  []string // backing store for boxed strings; see box
}

// eface is the layout of an empty interface: type word, then a pointer to
// the value.
type eface struct {
	typ  unsafe.Pointer
	data unsafe.Pointer
}

// The type words of string and json.Number, taken from real interfaces.
var (
	stringType = typeWord("")
	numberType = typeWord(json.Number(""))
)

func typeWord(v any) unsafe.Pointer { return (*eface)(unsafe.Pointer(&v)).typ }

// box returns s as an interface holding a string (typ stringType) or a
// json.Number (typ numberType), exactly what any(s) or any(json.Number(s))
// gives. Converting makes a 16-byte allocation per value, and a record is
// mostly string values; box instead stores the string headers in a slab of
// 16 and points the interfaces into it, one allocation for many values. A
// full slab is never grown in place (values point into it): the next value
// starts a new one. The slab holds only headers of strings that are
// substrings of d.s (the decoder's own copy of the record) or freshly built:
// nothing refers to the caller's bytes.
func (d *decoder) box(typ unsafe.Pointer, s string) any {
	if s == "" {
		if typ == numberType {
			return json.Number("")
		}
		return ""
	}
	if len(d.slab) == cap(d.slab) {
		d.slab = make([]string, 0, 16)
	}
	d.slab = append(d.slab, s)
	var v any
	e := (*eface)(unsafe.Pointer(&v))
	e.typ = typ
	e.data = unsafe.Pointer(&d.slab[len(d.slab)-1])
	return v
}

func (d *decoder) skipSpace() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// syntaxf describes a syntax error at d.i in encoding/json's words.
func (d *decoder) syntaxf(format string, args ...any) error {
	if d.i >= len(d.s) {
		return errTruncated
	}
	return fmt.Errorf("%s (at byte %d)", fmt.Sprintf(format, args...), d.i+1)
}

func (d *decoder) value() (any, error) {
	if d.i >= len(d.s) {
		return nil, errTruncated
	}
	switch c := d.s[d.i]; {
	case c == '{':
		return d.object()
	case c == '[':
		return d.array()
	case c == '"':
		s, err := d.str()
		if err != nil {
			return nil, err
		}
		return d.box(stringType, s), nil
	case c == '-' || isDigit(c):
		return d.number()
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	default:
		return nil, d.syntaxf("invalid character %s looking for beginning of value", quoteByte(c))
	}
}

func (d *decoder) literal(lit string) error {
	for k := 0; k < len(lit); k++ {
		if d.i >= len(d.s) {
			return errTruncated
		}
		if d.s[d.i] != lit[k] {
			return d.syntaxf("invalid character %s in literal %s (expecting %s)", quoteByte(d.s[d.i]), lit, quoteByte(lit[k]))
		}
		d.i++
	}
	return nil
}

func (d *decoder) enter() error {
	d.depth++
	if d.depth > maxDepth {
		return errors.New("exceeded max depth")
	}
	return nil
}

// object gathers its members first so that the map is made at its exact
// size: one right-sized allocation instead of growing key by key.
func (d *decoder) object() (any, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	d.i++              // {
	var arr [16]member // on the stack; a bigger object spills to the heap
	ms := arr[:0]
	d.skipSpace()
	if d.i < len(d.s) && d.s[d.i] == '}' {
		d.i++
		d.depth--
		return make(map[string]any), nil
	}
	for {
		if d.i >= len(d.s) {
			return nil, errTruncated
		}
		if d.s[d.i] != '"' {
			return nil, d.syntaxf("invalid character %s looking for beginning of object key string", quoteByte(d.s[d.i]))
		}
		key, err := d.str()
		if err != nil {
			return nil, err
		}
		d.skipSpace()
		if d.i >= len(d.s) {
			return nil, errTruncated
		}
		if d.s[d.i] != ':' {
			return nil, d.syntaxf("invalid character %s after object key", quoteByte(d.s[d.i]))
		}
		d.i++
		d.skipSpace()
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		ms = append(ms, member{key, v})
		d.skipSpace()
		if d.i >= len(d.s) {
			return nil, errTruncated
		}
		switch d.s[d.i] {
		case ',':
			d.i++
			d.skipSpace()
		case '}':
			d.i++
			d.depth--
			m := make(map[string]any, len(ms))
			for _, kv := range ms {
				m[kv.key] = kv.val // a repeated key keeps its last value, as encoding/json does
			}
			return m, nil
		default:
			return nil, d.syntaxf("invalid character %s after object key:value pair", quoteByte(d.s[d.i]))
		}
	}
}

func (d *decoder) array() (any, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	d.i++               // [
	a := make([]any, 0) // never nil: encoding/json gives [] for an empty array
	d.skipSpace()
	if d.i < len(d.s) && d.s[d.i] == ']' {
		d.i++
		d.depth--
		return a, nil
	}
	for {
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		d.skipSpace()
		if d.i >= len(d.s) {
			return nil, errTruncated
		}
		switch d.s[d.i] {
		case ',':
			d.i++
			d.skipSpace()
		case ']':
			d.i++
			d.depth--
			return a, nil
		default:
			return nil, d.syntaxf("invalid character %s after array element", quoteByte(d.s[d.i]))
		}
	}
}

func (d *decoder) number() (any, error) {
	start := d.i
	if err := d.skipNumber(); err != nil {
		return nil, err
	}
	return d.box(numberType, d.s[start:d.i]), nil
}

// skipNumber consumes one number, checking its grammar.
func (d *decoder) skipNumber() error {
	if d.s[d.i] == '-' {
		d.i++
	}
	if d.i >= len(d.s) {
		return errTruncated
	}
	switch c := d.s[d.i]; {
	case c == '0':
		d.i++
	case c >= '1' && c <= '9':
		for d.i < len(d.s) && isDigit(d.s[d.i]) {
			d.i++
		}
	default:
		return d.syntaxf("invalid character %s in numeric literal", quoteByte(c))
	}
	if d.i < len(d.s) && d.s[d.i] == '.' {
		d.i++
		if err := d.digits(); err != nil {
			return err
		}
	}
	if d.i < len(d.s) && (d.s[d.i] == 'e' || d.s[d.i] == 'E') {
		d.i++
		if d.i < len(d.s) && (d.s[d.i] == '+' || d.s[d.i] == '-') {
			d.i++
		}
		if err := d.digits(); err != nil {
			return err
		}
	}
	return nil
}

// digits consumes one or more digits.
func (d *decoder) digits() error {
	if d.i >= len(d.s) {
		return errTruncated
	}
	if !isDigit(d.s[d.i]) {
		return d.syntaxf("invalid character %s in numeric literal", quoteByte(d.s[d.i]))
	}
	for d.i < len(d.s) && isDigit(d.s[d.i]) {
		d.i++
	}
	return nil
}

// str decodes a string starting at its opening quote. A string with no
// escapes and valid UTF-8 is a substring of the record: no copy.
func (d *decoder) str() (string, error) {
	s, _, err := d.strPlain()
	return s, err
}

// strPlain is str that also reports whether the string was plain: a
// substring of the record, with no escapes and valid UTF-8, whose text is
// therefore already its canonical JSON spelling.
func (d *decoder) strPlain() (s string, plain bool, err error) {
	d.i++ // "
	start := d.i
	d.i = plainRun(d.s, d.i)
	for d.i < len(d.s) {
		c := d.s[d.i]
		switch {
		case c == '"':
			s := d.s[start:d.i]
			d.i++
			return s, true, nil
		case c == '\\':
			s, err := d.slowStr(start)
			return s, false, err
		case c < 0x20:
			return "", false, d.syntaxf("invalid character %s in string literal", quoteByte(c))
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(d.s[d.i:])
			if r == utf8.RuneError && size == 1 {
				s, err := d.slowStr(start)
				return s, false, err
			}
			d.i += size
			continue
		}
		d.i++
	}
	return "", false, errTruncated
}

// slowStr decodes a string that has escapes or non-ASCII bytes, with
// encoding/json's repairs: invalid UTF-8 and unpaired surrogates become
// U+FFFD.
func (d *decoder) slowStr(start int) (string, error) {
	buf := make([]byte, 0, d.i-start+16)
	buf = append(buf, d.s[start:d.i]...)
	for d.i < len(d.s) {
		c := d.s[d.i]
		switch {
		case c == '"':
			d.i++
			return string(buf), nil
		case c < 0x20:
			return "", d.syntaxf("invalid character %s in string literal", quoteByte(c))
		case c == '\\':
			if d.i+1 >= len(d.s) {
				return "", errTruncated
			}
			e := d.s[d.i+1]
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				d.i += 2
				r, err := d.hex4()
				if err != nil {
					return "", err
				}
				if utf16.IsSurrogate(r) {
					// A valid pair is two escapes; anything else leaves
					// U+FFFD and is read again as what it is.
					if d.i+1 < len(d.s) && d.s[d.i] == '\\' && d.s[d.i+1] == 'u' {
						save := d.i
						d.i += 2
						r2, err := d.hex4()
						if err != nil {
							return "", err
						}
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							buf = utf8.AppendRune(buf, dec)
							continue
						}
						d.i = save
					}
					r = utf8.RuneError
				}
				buf = utf8.AppendRune(buf, r)
				continue
			default:
				d.i++
				return "", d.syntaxf("invalid character %s in string escape code", quoteByte(e))
			}
			d.i += 2
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			d.i++
		default:
			r, size := utf8.DecodeRuneInString(d.s[d.i:])
			if r == utf8.RuneError && size == 1 {
				buf = append(buf, "\uFFFD"...)
			} else {
				buf = append(buf, d.s[d.i:d.i+size]...)
			}
			d.i += size
		}
	}
	return "", errTruncated
}

func (d *decoder) hex4() (rune, error) {
	var r rune
	for k := 0; k < 4; k++ {
		if d.i >= len(d.s) {
			return 0, errTruncated
		}
		c := d.s[d.i]
		switch {
		case isDigit(c):
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, d.syntaxf("invalid character %s in \\u hexadecimal character escape", quoteByte(c))
		}
		r = r<<4 | rune(c)
		d.i++
	}
	return r, nil
}

func quoteByte(c byte) string {
	switch {
	case c == '\'':
		return `'\''`
	case c == '"':
		return `'"'`
	case c < 0x20 || c >= utf8.RuneSelf:
		return fmt.Sprintf("'\\x%02x'", c)
	}
	return "'" + string(c) + "'"
}
