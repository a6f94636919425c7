package wssaccess

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// MaxColumns bounds a #Fields header: Broadcom's full access-log field list
// has about 120 columns, and the ECS mapper's bookkeeping is sized for this.
const MaxColumns = 512

// LineError is a bad line: it goes to the dead letter with its reason, and
// reading goes on. Raw and Hash identify it (Hash is the dedup key, as for a
// good line); Raw aliases the reader's buffer (valid until the next Next),
// and is nil for a line over the length limit, which keeps Size and Head.
type LineError struct {
	Entry  string
	Num    int64
	Reason string
	Raw    []byte
	Hash   [32]byte
	Size   int    // the line's length in bytes
	Head   []byte // the first bytes of an oversized line (a copy)
}

func (e *LineError) Error() string {
	return fmt.Sprintf("wss_access: bad line %d of %q: %s", e.Num, e.Entry, e.Reason)
}

// Schema is one #Fields header: the columns, their JSON keys under
// wss.access and where the columns the ECS mapper knows sit. Schemas are
// shared by every line (and file) with the same header; they are read-only.
type Schema struct {
	Names []string // as written in #Fields
	Keys  []string // sanitised for wss.access: see sanitizeKey; unique

	member [][]byte          // `"key":` per column, ready to append
	col    []column          // the known column at each index, colNone if none
	at     [numColumns]int16 // the first index of each known column, -1 if absent
}

// Index returns the position of the column named name (case-insensitive),
// or -1.
func (s *Schema) Index(name string) int {
	for i, n := range s.Names {
		if strings.EqualFold(n, name) {
			return i
		}
	}
	return -1
}

func newSchema(names []string) *Schema {
	s := &Schema{Names: names, Keys: make([]string, len(names)),
		member: make([][]byte, len(names)), col: make([]column, len(names))}
	for i := range s.at {
		s.at[i] = -1
	}
	used := make(map[string]bool, len(names))
	for i, n := range names {
		k := sanitizeKey(n)
		if k == "" {
			k = "column_" + strconv.Itoa(i+1)
		}
		if used[k] {
			// Two columns with one key would be a duplicate JSON key, which
			// Elasticsearch refuses: the later one gets a suffix.
			base := k
			for j := 2; used[k]; j++ {
				k = base + "_" + strconv.Itoa(j)
			}
		}
		used[k] = true
		s.Keys[i] = k
		s.member[i] = []byte(`"` + k + `":`)
		c := columnOf(n)
		if c != colNone && s.at[c] < 0 {
			s.at[c] = int16(i)
			s.col[i] = c
		} // a repeated known column is kept under wss.access only
	}
	return s
}

// sanitizeKey makes a column name a JSON key that needs no escaping and
// holds no dot (a dot would nest objects in Elasticsearch): ASCII letters
// lower-cased, digits kept, every run of other bytes one underscore, no
// underscore at either end. cs(Referer) -> cs_referer, x-virus-id ->
// x_virus_id, x-cs(referer)-uri-categories -> x_cs_referer_uri_categories.
func sanitizeKey(name string) string {
	b := make([]byte, 0, len(name))
	gap := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		default:
			gap = true
			continue
		}
		if gap && len(b) > 0 {
			b = append(b, '_')
		}
		gap = false
		b = append(b, c)
	}
	return string(b)
}

// Record is one parsed line. Values[i] is the value of Schema.Names[i]: a
// slice of Raw (or of a scratch buffer when a quoted value held doubled
// quotes), empty for "-". A Record is reused line after line: nothing in it
// survives the next Parse.
type Record struct {
	Schema *Schema
	Values [][]byte
	Raw    []byte   // the line without its terminator
	Hash   [32]byte // SHA-256 of Raw: the dedup key
	Entry  string
	Num    int64

	scratch []byte
	plain   bool // every value is a JSON string as it is: see linePlain

	times     timeCache
	createdAt time.Time // the read time event.created was formatted for
	created   []byte
}

// Value returns the value of the named column (case-insensitive) and
// whether the column exists. For tests and tools: the mapper uses indexes.
func (r *Record) Value(name string) ([]byte, bool) {
	if r.Schema == nil {
		return nil, false
	}
	i := r.Schema.Index(name)
	if i < 0 {
		return nil, false
	}
	return r.Values[i], true
}

// Parser turns the lines of an Archive into Records, keeping the #Fields
// header of the entry being read. One Parser per reading goroutine.
type Parser struct {
	schema *Schema
	entry  int // the EntryIndex schema belongs to
	seen   bool
	cache  map[string]*Schema // #Fields text -> schema, shared across entries
}

// maxSchemas bounds the header cache: tenants have a handful of formats.
const maxSchemas = 64

// Parse reads one line into rec. It returns true for a record; false with a
// nil error for a directive (#Fields, #Software, #Version, #Date, #Remark,
// any other # line), which is consumed; and a *LineError for a bad line: a
// record before any #Fields line of its entry, a value count that does not
// match the fields, an unterminated quoted value, or an unusable #Fields.
//
// The value grammar: values are separated by runs of spaces or tabs; "-" is
// an empty value; a value starting with a double quote runs to the next
// quote that is followed by a separator or the end of the line, and inside
// it two quotes stand for one (the W3C draft's escape). A lone quote inside
// that is followed by anything else is kept as it is: ProxySG does not
// escape quotes inside quoted values (public parsers split on `" `), and a
// tolerant reading loses nothing. Backslashes are plain bytes.
func (p *Parser) Parse(l Line, rec *Record) (bool, error) {
	if !p.seen || l.EntryIndex != p.entry {
		p.schema, p.entry, p.seen = nil, l.EntryIndex, true // each file states its own columns
	}
	b := l.Bytes
	if len(b) > 0 && b[0] == '#' {
		return false, p.directive(l)
	}
	rec.Raw, rec.Entry, rec.Num = b, l.Entry, l.Num
	rec.Hash = sha256.Sum256(b)
	if p.schema == nil {
		return false, p.bad(l, rec, "a record before any #Fields header in its file")
	}
	rec.Schema = p.schema
	if reason := splitValues(b, len(p.schema.Names), rec); reason != "" {
		return false, p.bad(l, rec, reason)
	}
	return true, nil
}

func (p *Parser) bad(l Line, rec *Record, reason string) *LineError {
	return &LineError{Entry: l.Entry, Num: l.Num, Reason: reason, Raw: l.Bytes, Hash: rec.Hash, Size: len(l.Bytes)}
}

func (p *Parser) directive(l Line) error {
	const tag = "#fields:"
	b := l.Bytes
	if len(b) < len(tag) || !bytes.EqualFold(b[:len(tag)], []byte(tag)) {
		return nil // #Software, #Version, #Date, #Remark, ...: nothing to keep
	}
	text := b[len(tag):]
	if s, ok := p.cache[string(text)]; ok { // the lookup does not allocate
		p.schema = s
		return nil
	}
	names := strings.Fields(string(text))
	p.schema = nil // a bad header leaves the file's records without columns
	switch {
	case len(names) == 0:
		return &LineError{Entry: l.Entry, Num: l.Num, Reason: "#Fields header names no column", Raw: b, Hash: sha256.Sum256(b), Size: len(b)}
	case len(names) > MaxColumns:
		return &LineError{Entry: l.Entry, Num: l.Num, Reason: fmt.Sprintf("#Fields header names %d columns, over the limit of %d", len(names), MaxColumns),
			Raw: b, Hash: sha256.Sum256(b), Size: len(b)}
	}
	s := newSchema(names)
	if p.cache == nil || len(p.cache) >= maxSchemas {
		p.cache = make(map[string]*Schema)
	}
	p.cache[string(text)] = s
	p.schema = s
	return nil
}

func isSep(c byte) bool { return c == ' ' || c == '\t' }

// nextSep returns the index of the first space or tab at or after i, or
// len(line). Eight bytes at a time: values average a dozen bytes and this
// loop runs over every byte of every line.
func nextSep(line []byte, i int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(line); i += 8 {
		x := binary.LittleEndian.Uint64(line[i:])
		sp, tab := x^(ones*' '), x^(ones*'\t')
		// The lowest marked byte is exact (a borrow only marks bytes above a
		// real zero), which is the only one used.
		if m := ((sp-ones)&^sp | (tab-ones)&^tab) & highs; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(line); i++ {
		if isSep(line[i]) {
			return i
		}
	}
	return i
}

// splitValues fills rec.Values from line, expecting want values; it returns
// the reason the line is bad, or "".
func splitValues(line []byte, want int, rec *Record) string {
	vals := rec.Values[:0]
	if cap(rec.scratch) < len(line) {
		// Unescaped values only ever shrink, so one line's worth of room
		// means the scratch buffer never moves under the slices into it.
		rec.scratch = make([]byte, 0, len(line)+len(line)/4)
	}
	scratch := rec.scratch[:0]
	n, quoted := 0, 0
	rec.plain = false
	for i := 0; ; {
		for i < len(line) && isSep(line[i]) {
			i++
		}
		if i >= len(line) {
			break
		}
		var v []byte
		if line[i] == '"' {
			quoted++
			end, doubled := quotedEnd(line, i+1, true)
			if end < 0 {
				// Doubled quotes that were not meant as escapes ("say "hi""):
				// read again with the first quote before a separator closing.
				end, doubled = quotedEnd(line, i+1, false)
			}
			if end < 0 {
				rec.Values = vals
				return fmt.Sprintf("unterminated quoted value in column %d", n+1)
			}
			v = line[i+1 : end]
			if doubled {
				start := len(scratch)
				scratch = unquote(scratch, v)
				v = scratch[start:len(scratch):len(scratch)]
			}
			i = end + 1
		} else {
			j := nextSep(line, i)
			v = line[i:j]
			if len(v) == 1 && v[0] == '-' {
				v = v[:0]
			}
			i = j
		}
		n++
		if n <= want {
			vals = append(vals, v)
		}
	}
	rec.Values = vals
	rec.scratch = scratch
	if n != want {
		return fmt.Sprintf("%d values for %d fields", n, want)
	}
	// Each quoted value holds at least its two quotes: as many quotes in
	// the line as that means none is inside a value.
	plain, quotes := linePlain(line)
	rec.plain = plain && quotes == 2*quoted
	return ""
}

// quotedEnd finds the closing quote of a value opened just before from: the
// first quote followed by a separator or the end of the line that is not
// (with pairs) half of a doubled quote. doubled says whether a doubled
// quote was skipped.
func quotedEnd(line []byte, from int, pairs bool) (end int, doubled bool) {
	for i := from; i < len(line); {
		q := bytes.IndexByte(line[i:], '"')
		if q < 0 {
			return -1, doubled
		}
		q += i
		switch {
		case q+1 == len(line) || isSep(line[q+1]):
			return q, doubled
		case pairs && line[q+1] == '"':
			doubled = true
			i = q + 2
		default:
			i = q + 1 // a lone quote inside the value
		}
	}
	return -1, doubled
}

// unquote appends v with each doubled quote made one.
func unquote(dst, v []byte) []byte {
	for {
		q := bytes.Index(v, []byte(`""`))
		if q < 0 {
			return append(dst, v...)
		}
		dst = append(dst, v[:q+1]...)
		v = v[q+2:]
	}
}

// Decoder is Archive plus Parser: the records of an archive, one at a time.
type Decoder struct {
	a   *Archive
	p   Parser
	rec Record
}

// NewDecoder reads records from a.
func NewDecoder(a *Archive) *Decoder { return &Decoder{a: a} }

// Next returns the next record, which is valid until the next call. Its
// errors: a *LineError for a bad line (dead-letter it and call Next again),
// a *DamagedArchiveError (final: repeat the request), io.EOF at the clean end.
func (d *Decoder) Next() (*Record, error) {
	for {
		l, err := d.a.Next()
		if err != nil {
			return nil, err
		}
		ok, err := d.p.Parse(l, &d.rec)
		if err != nil {
			return nil, err
		}
		if ok {
			return &d.rec, nil
		}
	}
}

// Archive returns the archive the decoder reads, for its Stats.
func (d *Decoder) Archive() *Archive { return d.a }
