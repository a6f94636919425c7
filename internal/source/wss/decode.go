package wss

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
)

// recordKeys are the wrapper keys auto-detection accepts, in no priority
// order: the first one met in the body whose value is an array or null wins.
var recordKeys = []string{"data", "records", "auditLogs", "items", "results"}

// errorKeys mark an object that is an error report rather than data.
var errorKeys = []string{"error", "errorMessage", "message", "error_description", "errors"}

// maxKeysListed bounds the key list quoted in "no records array" errors.
const maxKeysListed = 20

// Decode streams the records of a WSS audit-log body from r, calling fn once
// per record with the record's raw JSON (valid JSON of any type; the slice
// is only valid until fn returns). It returns how many calls to fn returned
// nil.
//
// Accepted bodies: empty or whitespace-only, null, a JSON array of records,
// or an object holding that array. With recordsPath set ("data",
// "result.items") the array is found by walking that path (keys match
// exactly, else case-insensitively); with it empty the first key among data,
// records, auditLogs, items, results (any case) whose value is an array or
// null is used. Other keys are validated and skipped without buffering.
//
// A record longer than maxRecord bytes (<= 0 means DefaultMaxRecordBytes),
// anything that is not such a document, trailing data and truncation give a
// *BodyError. fn may have been called before the error surfaces: treat the
// attempt as failed as a whole. An error from fn stops decoding and is
// returned unchanged. (Fetch can step over records that are too large or
// too deep instead, see Handlers.)
func Decode(r io.Reader, recordsPath string, maxRecord int, fn func(raw []byte) error) (int, error) {
	n, err, _ := decode(r, recordsPath, maxRecord, 0, fn)
	return n, err
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, defaultBufSize); return &b }}

// decodeOptions are one decoding's limits and receivers.
type decodeOptions struct {
	path      string
	maxRecord int // bytes in one record; <= 0: DefaultMaxRecordBytes
	// maxDepth bounds a record's own nesting ({"a":1} is 1); <= 0: only the
	// JSON limit (maxDepth) applies to the whole body.
	maxDepth int
	bufSize  int // > 0 forces the initial buffer size (tests use tiny ones)
	record   func(raw []byte) error
	// skipped gets the records over maxRecord or maxDepth, read past in
	// constant memory; nil: such a record fails the body.
	skipped func(SkippedRecord) error
}

// decode is Decode that also tells whether err came from fn. bufSize > 0
// forces an initial buffer size (tests use tiny ones to hit every refill
// path).
func decode(r io.Reader, recordsPath string, maxRecord, bufSize int, fn func([]byte) error) (n int, err error, fromFn bool) {
	return decodeWith(r, decodeOptions{path: recordsPath, maxRecord: maxRecord, bufSize: bufSize, record: fn})
}

// decodeWith decodes with o; fromFn tells whether err came from a callback.
func decodeWith(r io.Reader, o decodeOptions) (n int, err error, fromFn bool) {
	if o.maxRecord <= 0 {
		o.maxRecord = DefaultMaxRecordBytes
	}
	if o.record == nil {
		o.record = func([]byte) error { return nil }
	}
	var buf []byte
	if o.bufSize > 0 {
		buf = make([]byte, o.bufSize)
	} else {
		p := bufPool.Get().(*[]byte)
		buf = *p
		// The original buffer goes back even if the scanner outgrew it:
		// grown buffers are rare and would pin megabytes in the pool.
		defer bufPool.Put(p)
	}
	d := &decoder{s: newScanner(r, buf, o.maxRecord), fn: o.record, skipped: o.skipped, maxDepth: o.maxDepth}
	if o.path != "" {
		d.path = strings.Split(o.path, ".")
	}
	err = d.document()
	if ce, ok := err.(*callbackError); ok {
		return d.n, ce.err, true
	}
	return d.n, err, false
}

// callbackError carries an error from fn through the decoder untouched.
type callbackError struct{ err error }

func (e *callbackError) Error() string { return e.err.Error() }

type decoder struct {
	s        *scanner
	fn       func([]byte) error
	skipped  func(SkippedRecord) error
	maxDepth int
	path     []string
	n        int // calls to fn that returned nil
	elems    int // records met, skipped ones included
}

func (d *decoder) document() error {
	s := d.s
	c, ok := s.skipSpace()
	if ok && c == 0xEF { // a UTF-8 byte order mark, as some servers send
		s.mark = s.pos
		if s.literal("\xEF\xBB\xBF", "in a byte order mark") != nil {
			s.pos, s.mark = s.mark, -1
			return d.notJSON()
		}
		s.mark = -1
		c, ok = s.skipSpace()
	}
	if !ok {
		if s.rerr != nil {
			return s.stopErr("before any JSON")
		}
		return nil // empty body: no records
	}
	var err error
	switch c {
	case '[':
		err = d.records(1)
	case '{':
		if d.path != nil {
			err = d.walk(1, 0)
		} else {
			err = d.detect()
		}
	case 'n':
		err = s.literal("null", "in the top-level null")
	case '<':
		return d.html()
	default:
		return d.notJSON()
	}
	if err != nil {
		return err
	}
	if c, ok := s.skipSpace(); ok {
		return s.syntaxErr(c, "after the top-level JSON value (trailing data)")
	}
	if s.rerr != nil {
		// The JSON was complete but the transfer was not: do not trust it.
		return s.stopErr("after the top-level JSON value")
	}
	return nil
}

// records streams the elements of the array at pos ('[') that sits at
// nesting depth depth-1, i.e. its elements are at depth depth.
func (d *decoder) records(depth int) error {
	s := d.s
	s.pos++ // '['
	c, ok := s.skipSpace()
	if !ok {
		return s.stopErr("inside the records array")
	}
	if c == ']' {
		s.pos++
		return nil
	}
	for {
		if err := d.record(depth); err != nil {
			return err
		}
		if c, ok = s.skipSpace(); !ok {
			return s.stopErr("inside the records array")
		}
		switch c {
		case ',':
			s.pos++
			if c, ok = s.skipSpace(); !ok {
				return s.stopErr("inside the records array")
			}
			if c == ']' {
				return s.syntaxErr(c, "after a comma in the records array")
			}
		case ']':
			s.pos++
			return nil
		default:
			return s.syntaxErr(c, "after a record in the records array")
		}
	}
}

// record consumes one element of the records array, at pos, and hands it
// to fn, or to skipped when it is over a limit.
func (d *decoder) record(depth int) error {
	s := d.s
	d.elems++
	s.mark, s.rec = s.pos, d.elems
	if d.maxDepth > 0 {
		s.depthMax = depth + d.maxDepth
	}
	err := s.value(depth, "")
	s.depthMax = maxDepth
	over := err == nil && s.pos-s.mark > s.limit
	if err != nil && !s.tooBig && !s.tooDeep {
		return err
	}
	if err != nil || over {
		if d.skipped == nil {
			if over {
				s.tooBig = true
				return s.stopErr("")
			}
			return err
		}
		sk, err := d.skipRecord()
		if err != nil {
			return err
		}
		s.rec = 0
		if err := d.skipped(sk); err != nil {
			return &callbackError{err}
		}
		return nil
	}
	raw := s.buf[s.mark:s.pos]
	s.mark, s.rec = -1, 0
	if err := d.fn(raw); err != nil {
		return &callbackError{err}
	}
	d.n++
	return nil
}

// key consumes an object key (pos at its quote) and the colon after it.
func (d *decoder) key() (string, error) {
	s := d.s
	c, _ := s.peek()
	if c != '"' {
		return "", s.syntaxErr(c, "looking for the beginning of an object key")
	}
	s.mark = s.pos
	s.pos++
	if err := s.str("inside an object key"); err != nil {
		s.mark = -1
		return "", err
	}
	raw := s.buf[s.mark:s.pos]
	s.mark = -1
	var k string
	if bytes.IndexByte(raw, '\\') < 0 {
		k = string(raw[1 : len(raw)-1])
	} else if err := json.Unmarshal(raw, &k); err != nil {
		return "", &BodyError{Msg: "invalid object key", Err: err}
	}
	c, ok := s.skipSpace()
	if !ok {
		return "", s.stopErr("after an object key")
	}
	if c != ':' {
		return "", s.syntaxErr(c, "after an object key")
	}
	s.pos++
	if _, ok := s.skipSpace(); !ok {
		return "", s.stopErr("after an object key")
	}
	return k, nil
}

// members walks the object at pos ('{', at depth depth), calling member
// for each key with pos at the start of its value; member must consume
// the value.
func (d *decoder) members(member func(key string) error) error {
	s := d.s
	s.pos++ // '{'
	c, ok := s.skipSpace()
	if !ok {
		return s.stopErr("inside an object")
	}
	if c == '}' {
		s.pos++
		return nil
	}
	for {
		k, err := d.key()
		if err != nil {
			return err
		}
		if err := member(k); err != nil {
			return err
		}
		if c, ok = s.skipSpace(); !ok {
			return s.stopErr("inside an object")
		}
		switch c {
		case ',':
			s.pos++
			if _, ok = s.skipSpace(); !ok {
				return s.stopErr("inside an object")
			}
		case '}':
			s.pos++
			return nil
		default:
			return s.syntaxErr(c, "after an object value")
		}
	}
}

// walk follows d.path[i:] from the object at pos, which sits at depth-1.
func (d *decoder) walk(depth, i int) error {
	s := d.s
	if depth > maxDepth {
		return &BodyError{Msg: "records_path is deeper than the JSON nesting limit"}
	}
	var seen []string
	found := false
	err := d.members(func(k string) error {
		seen = appendKey(seen, k)
		if found || !pathMatch(k, d.path[i]) {
			return s.value(depth, "inside a skipped value")
		}
		found = true
		c, _ := s.peek()
		last := i == len(d.path)-1
		switch {
		case c == 'n':
			return s.literal("null", "in a null")
		case last && c == '[':
			return d.records(depth + 1)
		case !last && c == '{':
			return d.walk(depth+1, i+1)
		}
		want := "an array"
		if !last {
			want = "an object"
		}
		return &BodyError{Msg: fmt.Sprintf("records_path %q: %q holds %s, not %s", strings.Join(d.path, "."), strings.Join(d.path[:i+1], "."), kindOf(c), want)}
	})
	if err != nil {
		return err
	}
	if !found {
		return &BodyError{Msg: fmt.Sprintf("records_path %q: no key %q in the object at %q (keys seen: %s)",
			strings.Join(d.path, "."), d.path[i], "."+strings.Join(d.path[:i], "."), listKeys(seen))}
	}
	return nil
}

// detect finds the records array in a top-level object without a path.
func (d *decoder) detect() error {
	s := d.s
	var (
		seen     []string
		found    bool
		notArray string // a candidate key whose value was not an array
		apiErr   string // the message of an error object
	)
	err := d.members(func(k string) error {
		seen = appendKey(seen, k)
		if !found && matchAny(k, recordKeys) {
			switch c, _ := s.peek(); c {
			case '[':
				found = true
				return d.records(2)
			case 'n':
				found = true
				return s.literal("null", "in a null")
			default:
				if notArray == "" {
					notArray = fmt.Sprintf("%q holds %s", k, kindOf(c))
				}
			}
		}
		if !found && apiErr == "" && matchAny(k, errorKeys) {
			start := s.pos
			s.mark = start
			err := s.value(1, "inside the error value")
			if err == nil {
				apiErr = errorText(s.buf[s.mark:s.pos])
			}
			s.mark = -1
			return err
		}
		return s.value(1, "inside a skipped value")
	})
	if err != nil {
		return err
	}
	switch {
	case found:
		return nil
	case apiErr != "":
		return &BodyError{Msg: "the WSS API answered with an error object: " + apiErr}
	case notArray != "":
		return &BodyError{Msg: fmt.Sprintf("no records array found: %s (keys seen: %s); set records_path", notArray, listKeys(seen))}
	}
	return &BodyError{Msg: fmt.Sprintf("no records array found in the JSON object (keys seen: %s); set records_path to the key holding the records", listKeys(seen))}
}

func pathMatch(k, want string) bool { return k == want || strings.EqualFold(k, want) }

func matchAny(k string, names []string) bool {
	for _, n := range names {
		if strings.EqualFold(k, n) {
			return true
		}
	}
	return false
}

func appendKey(seen []string, k string) []string {
	if len(seen) <= maxKeysListed {
		seen = append(seen, k)
	}
	return seen
}

func listKeys(seen []string) string {
	if len(seen) == 0 {
		return "none"
	}
	q := make([]string, 0, len(seen))
	for i, k := range seen {
		if i == maxKeysListed {
			q = append(q, "...")
			break
		}
		q = append(q, excerpt([]byte(fmt.Sprintf("%q", k)), 64))
	}
	return strings.Join(q, ", ")
}

func kindOf(c byte) string {
	switch c {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// errorText renders an error value (string, object ...) for a message.
func errorText(raw []byte) string {
	var s string
	if raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
		return excerpt([]byte(s), maxExcerpt)
	}
	if len(raw) > 4*maxExcerpt {
		raw = raw[:4*maxExcerpt]
	}
	return excerpt(raw, maxExcerpt)
}

func (d *decoder) html() error {
	s := d.s
	for s.end-s.pos < 4096 && s.fill() {
	}
	msg := "got HTML, not JSON (a proxy or login page?)"
	if ex := excerpt(s.buf[s.pos:s.end], 200); ex != "" {
		msg += ": " + ex
	}
	return &BodyError{Msg: msg}
}

// notJSON explains a body that is neither an array nor an object: a JSON
// scalar (short, so it is all here) or something else, such as CSV.
func (d *decoder) notJSON() error {
	s := d.s
	for s.end-s.pos < 4096 && s.fill() {
	}
	head := s.buf[s.pos:s.end]
	if s.eof && json.Valid(head) {
		return &BodyError{Msg: fmt.Sprintf("the body is a JSON scalar (%s), not an array of records or an object holding one", excerpt(head, 40))}
	}
	return &BodyError{Msg: fmt.Sprintf("the body is not JSON (it starts with %q)", excerpt(head, 40))}
}
