package detect

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// fieldSet is the set of dotted paths the loaded rules read, as a trie of
// path segments. The scanner keeps only those: objects off every path are
// skipped without decoding anything in them, which is most of an event
// (event.original above all).
type fieldSet struct {
	root  trieNode
	names []string
}

// trieNode is one path segment. Its children are few (an ECS object has
// a handful of the keys rules read), so a linear search over them is
// cheaper than hashing the key.
type trieNode struct {
	field    int // field number, or -1 when no rule reads this path itself
	children []trieChild
}

type trieChild struct {
	key  string
	node *trieNode
}

func newFieldSet() *fieldSet {
	return &fieldSet{root: trieNode{field: -1}}
}

// add returns the number of path, adding it if new.
func (fs *fieldSet) add(path string) int {
	n := &fs.root
	for _, seg := range strings.Split(path, ".") {
		n = n.child(seg, true)
	}
	if n.field < 0 {
		n.field = len(fs.names)
		fs.names = append(fs.names, path)
	}
	return n.field
}

func (n *trieNode) child(key string, create bool) *trieNode {
	for i := range n.children {
		if n.children[i].key == key {
			return n.children[i].node
		}
	}
	if !create {
		return nil
	}
	c := &trieNode{field: -1}
	n.children = append(n.children, trieChild{key, c})
	return c
}

// lookup finds the node of an object member's key under n. A key holding
// dots ("a.b") is the path a then b, so a rule's dotted field reads both
// nested objects and flattened keys.
func (n *trieNode) lookup(key string) *trieNode {
	if c := n.child(key, false); c != nil {
		return c
	}
	if strings.IndexByte(key, '.') < 0 {
		return nil
	}
	for _, seg := range strings.Split(key, ".") {
		if n = n.child(seg, false); n == nil {
			return nil
		}
	}
	return n
}

var errSyntax = errors.New("detect: event is not valid JSON")

// scanner reads one JSON document in a single pass, filling fields for the
// paths of set. It refuses what encoding/json refuses, except inside the
// strings it skips (see skipStr); its buffers are reused across events.
type scanner struct {
	set    *fieldSet
	fields []field
	data   []byte
	pos    int
	depth  int
	fold   []byte // folded text of this event's values (value.folded)
}

const maxDepth = 10000

func (s *scanner) scan(doc []byte) error {
	for i := range s.fields {
		s.fields[i].reset()
	}
	s.data, s.pos, s.depth, s.fold = doc, 0, 0, s.fold[:0]
	s.ws()
	if s.pos >= len(s.data) || s.data[s.pos] != '{' {
		return errSyntax
	}
	if err := s.object(&s.set.root); err != nil {
		return err
	}
	s.ws()
	if s.pos != len(s.data) {
		return errSyntax
	}
	return nil
}

func (s *scanner) ws() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// object reads an object at trie node n.
func (s *scanner) object(n *trieNode) error {
	s.depth++
	if s.depth > maxDepth {
		return errSyntax
	}
	defer func() { s.depth-- }()
	s.pos++ // '{'
	s.ws()
	if s.pos < len(s.data) && s.data[s.pos] == '}' {
		s.pos++
		return nil
	}
	for {
		s.ws()
		if s.pos >= len(s.data) || s.data[s.pos] != '"' {
			return errSyntax
		}
		key, err := s.str()
		if err != nil {
			return err
		}
		s.ws()
		if s.pos >= len(s.data) || s.data[s.pos] != ':' {
			return errSyntax
		}
		s.pos++
		s.ws()
		c := n.lookup(key)
		switch {
		case c == nil:
			err = s.skip()
		case c.field >= 0:
			err = s.capture(&s.fields[c.field], c)
		case len(c.children) > 0 && s.pos < len(s.data) && s.data[s.pos] == '{':
			err = s.object(c)
		default:
			err = s.skip()
		}
		if err != nil {
			return err
		}
		s.ws()
		if s.pos >= len(s.data) {
			return errSyntax
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return nil
		default:
			return errSyntax
		}
	}
}

// capture reads the value of a wanted field. A path reached twice (a key
// given twice, or "a.b" both as one key and as "a" holding "b") holds the
// values of both: a rule sees everything the document says there.
func (s *scanner) capture(f *field, n *trieNode) error {
	f.present = true
	if s.pos >= len(s.data) {
		return errSyntax
	}
	switch s.data[s.pos] {
	case '{':
		f.object = true
		if len(n.children) > 0 {
			return s.object(n)
		}
		return s.skip()
	case '[':
		return s.array(f)
	case 'n':
		if err := s.lit("null"); err != nil {
			return err
		}
		f.null = true
		return nil
	}
	v, err := s.scalar()
	if err != nil {
		return err
	}
	f.vals = append(f.vals, v)
	return nil
}

func (s *scanner) array(f *field) error {
	s.pos++ // '['
	s.ws()
	if s.pos < len(s.data) && s.data[s.pos] == ']' {
		s.pos++
		return nil
	}
	for {
		s.ws()
		if s.pos >= len(s.data) {
			return errSyntax
		}
		switch s.data[s.pos] {
		case '{', '[':
			if err := s.skip(); err != nil {
				return err
			}
			f.vals = append(f.vals, value{kind: kObject})
		case 'n':
			if err := s.lit("null"); err != nil {
				return err
			}
		default:
			v, err := s.scalar()
			if err != nil {
				return err
			}
			f.vals = append(f.vals, v)
		}
		s.ws()
		if s.pos >= len(s.data) {
			return errSyntax
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return nil
		default:
			return errSyntax
		}
	}
}

func (s *scanner) scalar() (value, error) {
	switch c := s.data[s.pos]; {
	case c == '"':
		t, err := s.str()
		return value{kind: kString, text: t, fbuf: &s.fold}, err
	case c == 't':
		return value{kind: kBool, text: "true", fbuf: &s.fold}, s.lit("true")
	case c == 'f':
		return value{kind: kBool, text: "false", fbuf: &s.fold}, s.lit("false")
	case c == '-' || ('0' <= c && c <= '9'):
		start := s.pos
		if err := s.number(); err != nil {
			return value{}, err
		}
		return value{kind: kNumber, text: bstr(s.data[start:s.pos]), fbuf: &s.fold}, nil
	}
	return value{}, errSyntax
}

func (s *scanner) lit(w string) error {
	if len(s.data)-s.pos < len(w) || string(s.data[s.pos:s.pos+len(w)]) != w {
		return errSyntax
	}
	s.pos += len(w)
	return nil
}

// number checks the JSON number grammar.
func (s *scanner) number() error {
	d := s.data
	if s.pos < len(d) && d[s.pos] == '-' {
		s.pos++
	}
	if s.pos >= len(d) {
		return errSyntax
	}
	if d[s.pos] == '0' {
		s.pos++
	} else if d[s.pos] >= '1' && d[s.pos] <= '9' {
		for s.pos < len(d) && d[s.pos] >= '0' && d[s.pos] <= '9' {
			s.pos++
		}
	} else {
		return errSyntax
	}
	if s.pos < len(d) && d[s.pos] == '.' {
		s.pos++
		n := s.pos
		for s.pos < len(d) && d[s.pos] >= '0' && d[s.pos] <= '9' {
			s.pos++
		}
		if s.pos == n {
			return errSyntax
		}
	}
	if s.pos < len(d) && (d[s.pos] == 'e' || d[s.pos] == 'E') {
		s.pos++
		if s.pos < len(d) && (d[s.pos] == '+' || d[s.pos] == '-') {
			s.pos++
		}
		n := s.pos
		for s.pos < len(d) && d[s.pos] >= '0' && d[s.pos] <= '9' {
			s.pos++
		}
		if s.pos == n {
			return errSyntax
		}
	}
	return nil
}

// str reads a string at s.pos (on its quote). Without escapes the result
// points into the document; with escapes it is decoded into a new string.
// Bytes that are not UTF-8 are kept as they are (encoding/json's Valid
// accepts them too); matching compares bytes.
func (s *scanner) str() (string, error) {
	d := s.data
	s.pos++
	start := s.pos
	s.plain()
	for s.pos < len(d) {
		c := d[s.pos]
		switch {
		case c == '"':
			out := bstr(d[start:s.pos])
			s.pos++
			return out, nil
		case c == '\\':
			return s.strSlow(start)
		case c < 0x20:
			return "", errSyntax
		default:
			s.pos++
		}
	}
	return "", errSyntax
}

func (s *scanner) strSlow(start int) (string, error) {
	d := s.data
	b := append([]byte(nil), d[start:s.pos]...)
	for s.pos < len(d) {
		c := d[s.pos]
		switch {
		case c == '"':
			s.pos++
			return string(b), nil
		case c < 0x20:
			return "", errSyntax
		case c != '\\':
			b = append(b, c)
			s.pos++
			continue
		}
		s.pos++
		if s.pos >= len(d) {
			return "", errSyntax
		}
		e := d[s.pos]
		s.pos++
		switch e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := s.hex4()
			if !ok {
				return "", errSyntax
			}
			if utf16.IsSurrogate(r) {
				// A pair, or else the replacement character as encoding/json does.
				if s.pos+1 < len(d) && d[s.pos] == '\\' && d[s.pos+1] == 'u' {
					save := s.pos
					s.pos += 2
					r2, ok := s.hex4()
					if !ok {
						return "", errSyntax
					}
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						r = dec
					} else {
						s.pos = save
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			b = utf8.AppendRune(b, r)
		default:
			return "", errSyntax
		}
	}
	return "", errSyntax
}

func (s *scanner) hex4() (rune, bool) {
	if len(s.data)-s.pos < 4 {
		return 0, false
	}
	n, err := strconv.ParseUint(bstr(s.data[s.pos:s.pos+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	s.pos += 4
	return rune(n), true
}

// skip passes over one value, checking its syntax.
func (s *scanner) skip() error {
	if s.pos >= len(s.data) {
		return errSyntax
	}
	switch c := s.data[s.pos]; {
	case c == '"':
		return s.skipStr()
	case c == '{':
		s.depth++
		defer func() { s.depth-- }()
		if s.depth > maxDepth {
			return errSyntax
		}
		s.pos++
		s.ws()
		if s.pos < len(s.data) && s.data[s.pos] == '}' {
			s.pos++
			return nil
		}
		for {
			s.ws()
			if s.pos >= len(s.data) || s.data[s.pos] != '"' {
				return errSyntax
			}
			if err := s.skipStr(); err != nil {
				return err
			}
			s.ws()
			if s.pos >= len(s.data) || s.data[s.pos] != ':' {
				return errSyntax
			}
			s.pos++
			s.ws()
			if err := s.skip(); err != nil {
				return err
			}
			s.ws()
			if s.pos >= len(s.data) {
				return errSyntax
			}
			if s.data[s.pos] == '}' {
				s.pos++
				return nil
			}
			if s.data[s.pos] != ',' {
				return errSyntax
			}
			s.pos++
		}
	case c == '[':
		s.depth++
		defer func() { s.depth-- }()
		if s.depth > maxDepth {
			return errSyntax
		}
		s.pos++
		s.ws()
		if s.pos < len(s.data) && s.data[s.pos] == ']' {
			s.pos++
			return nil
		}
		for {
			s.ws()
			if err := s.skip(); err != nil {
				return err
			}
			s.ws()
			if s.pos >= len(s.data) {
				return errSyntax
			}
			if s.data[s.pos] == ']' {
				s.pos++
				return nil
			}
			if s.data[s.pos] != ',' {
				return errSyntax
			}
			s.pos++
		}
	case c == 'n':
		return s.lit("null")
	default:
		_, err := s.scalar()
		return err
	}
}

// skipStr passes over a string nobody reads (event.original above all)
// by jumping from quote to quote: a quote ends the string unless an odd
// run of backslashes precedes it. The bytes between are not checked: the
// documents are the normalizer's, always valid JSON, and this keeps a long
// skipped string at memchr speed. Everything the rules read is checked.
func (s *scanner) skipStr() error {
	d := s.data
	p := s.pos + 1
	for {
		q := bytes.IndexByte(d[p:], '"')
		if q < 0 {
			return errSyntax
		}
		q += p
		n := 0
		for k := q - 1; k > s.pos && d[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			s.pos = q + 1
			return nil
		}
		p = q + 1
	}
}

// plain moves s.pos past string bytes that need no look (not a quote, a
// backslash or a control character), eight at a time: the bit tricks
// tell whether any byte of a word is zero after xor with '"' or '\\', or
// below 0x20.
func (s *scanner) plain() {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	d := s.data
	for s.pos+8 <= len(d) {
		w := binary.LittleEndian.Uint64(d[s.pos:])
		q := w ^ (ones * '"')
		b := w ^ (ones * '\\')
		if ((q-ones)&^q|(b-ones)&^b|(w-ones*0x20)&^w)&highs != 0 {
			return
		}
		s.pos += 8
	}
}

// bstr views b as a string without copying; see value.
func bstr(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
