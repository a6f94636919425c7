package detect

import (
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// kind is the JSON type of one value found in an event.
type kind uint8

const (
	kString kind = iota
	kNumber
	kBool
	kNull
	kObject // an object or an array nested in an array: present, not comparable
)

// value is one scalar of an event field. text is the string's content, the
// number as written, or "true"/"false". It may point into the document
// being evaluated, so nothing outside one Evaluate call may keep it
// (copy with strings.Clone).
type value struct {
	kind  kind
	text  string
	fbuf  *[]byte // the scanner's buffer for folded text
	lower string  // text folded, once computed
	num   float64
	state uint8 // bit 1: lower computed; bit 2: num computed; bit 4: num valid
}

// folded returns text case-folded. ASCII text is folded into fbuf, the
// scanner's per-event buffer (a folded string never outlives Evaluate).
func (v *value) folded() string {
	if v.state&1 == 0 {
		v.lower = foldInto(v.fbuf, v.text)
		v.state |= 1
	}
	return v.lower
}

func foldInto(buf *[]byte, s string) string {
	upper := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return strings.ToLower(s)
		}
		if 'A' <= c && c <= 'Z' {
			upper = true
		}
	}
	if !upper {
		return s
	}
	b := *buf
	if cap(b)-len(b) < len(s) {
		// A new array: strings already folded into the old one stay valid.
		b = make([]byte, 0, max(2*cap(b), len(s), 1024))
	}
	start := len(b)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	*buf = b
	return unsafe.String(&b[start], len(s))
}

func (v *value) number() (float64, bool) {
	if v.state&2 == 0 {
		v.state |= 2
		if v.kind == kNumber || v.kind == kString {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v.text), 64); err == nil {
				v.num = f
				v.state |= 4
			}
		}
	}
	return v.num, v.state&4 != 0
}

// field is what an event holds at one dotted path: absent, null, one
// scalar, or an array (vals holds its elements; null elements are dropped,
// nested objects and arrays kept as kObject).
type field struct {
	present bool
	null    bool // present and JSON null
	object  bool // present and an object
	vals    []value
}

func (f *field) reset() {
	f.present, f.null, f.object = false, false, false
	f.vals = f.vals[:0]
}

// key is the field's value as one string, for group-by keys and
// value_count: array elements joined by a comma.
func (f *field) key() (string, bool) {
	switch {
	case !f.present || f.null || len(f.vals) == 0:
		return "", false
	case len(f.vals) == 1:
		return f.vals[0].text, true
	}
	var b strings.Builder
	for i := range f.vals {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(f.vals[i].text)
	}
	return b.String(), true
}

// strings returns copies of the field's string values (for alerts).
func (f *field) strings() []string {
	var out []string
	for i := range f.vals {
		if f.vals[i].kind == kString && f.vals[i].text != "" {
			out = append(out, strings.Clone(f.vals[i].text))
		}
	}
	return out
}
