package syslog

import (
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/auditfwd/auditfwd/internal/event"
)

// Caps on the parts of a message that come from the event and sit before the
// payload body, so that a truncated message always keeps its whole header:
// bytes as written, escapes included; a capped value ends in "…".
const (
	maxSDValue  = 256 // each SD-PARAM value
	maxCEFName  = 128 // CEF Name
	maxEventID  = 64  // CEF Signature ID, LEEF EventID
	maxTag3164  = 32  // RFC 3164 TAG, without [pid]
	maxMsgID    = 32  // RFC 5424 MSGID
	maxAppName  = 48  // RFC 5424 APP-NAME
	maxHostname = 255 // RFC 5424 HOSTNAME
	maxProcID   = 128 // RFC 5424 PROCID
)

// oversizeError refuses a message longer than max_message_bytes: with
// oversize: dead_letter, or with truncate when a JSON payload cannot be
// truncated as JSON (why says why).
type oversizeError struct {
	size, max int
	why       string
}

func (e *oversizeError) Error() string {
	if e.why != "" {
		return fmt.Sprintf("syslog message of %d bytes is over max_message_bytes %d and cannot be truncated: %s", e.size, e.max, e.why)
	}
	return fmt.Sprintf("syslog message of %d bytes is over max_message_bytes %d (oversize: dead_letter)", e.size, e.max)
}

// encoder turns events into syslog messages (without framing). It is not
// safe for concurrent use: it keeps a scratch buffer.
type encoder struct {
	s        settings
	appName  string // as written in the RFC 5424 header
	hostname string
	procID   string
	tag      string // RFC 3164: TAG[pid]:
	cefHead  []byte // CEF:0|Vendor|Product|Version|
	leefHead []byte // LEEF:2.0|Vendor|Product|Version|
	head     []byte // scratch: the payload's own header
	marks    []pairMark
}

// pairMark is where a CEF or LEEF key=value pair starts and where its value
// starts, in the message being built.
type pairMark struct{ key, value int }

func newEncoder(s settings) *encoder {
	enc := &encoder{
		s:        s,
		appName:  printASCII(s.appName, maxAppName),
		hostname: printASCII(s.hostname, maxHostname),
		procID:   printASCII(s.procID, maxProcID),
	}
	enc.tag = tag3164(s.appName) + "[" + enc.procID + "]:"
	enc.cefHead = appendDevice(append([]byte(nil), "CEF:0|"...), s.cef, cefHeader)
	enc.leefHead = appendDevice(append([]byte(nil), "LEEF:2.0|"...), s.leef, leefHeader)
	return enc
}

func appendDevice(dst []byte, d Device, t *escapes) []byte {
	for _, v := range []string{d.Vendor, d.Product, d.Version} {
		dst = appendEscaped(dst, v, t)
		dst = append(dst, '|')
	}
	return dst
}

// tag3164 makes the RFC 3164 TAG: at most 32 characters, none of which ends
// a TAG for the parsers that read it ('[', ']', ':', space, non-ASCII).
func tag3164(app string) string {
	b := []byte(printASCII(app, maxTag3164))
	for i, c := range b {
		if c == '[' || c == ']' || c == ':' {
			b[i] = '_'
		}
	}
	return string(b)
}

// markerLen is the length of the truncation marker for n removed bytes.
func markerLen(n int) int { return len("…[truncated ") + len(strconv.Itoa(n)) + len(" bytes]") }

func appendMarker(dst []byte, n int) []byte {
	dst = append(dst, "…[truncated "...)
	dst = strconv.AppendInt(dst, int64(n), 10)
	return append(dst, " bytes]"...)
}

// appendMessage appends e's syslog message to dst. A message over
// max_message_bytes is truncated: a CEF or LEEF body is cut, at a point that
// splits no rune and no escape, and the marker appended; a JSON payload is
// shortened as JSON (jsontrunc.go). With oversize: dead_letter, or when a
// JSON payload cannot be shortened enough, nothing is appended and the
// message is refused with an *oversizeError.
func (enc *encoder) appendMessage(dst []byte, e *event.Event) (_ []byte, truncated bool, err error) {
	f := factsOf(e)
	return enc.appendFacts(dst, e, &f)
}

// appendFacts is appendMessage with the facts already read (the fuzz tests
// give them directly, invalid UTF-8 included).
func (enc *encoder) appendFacts(dst []byte, e *event.Event, f *facts) (_ []byte, truncated bool, err error) {
	sev := syslogSeverity(enc.s.severity, f.Event.Outcome)
	pri := enc.s.facility*8 + sev

	enc.head = enc.appendPayloadHead(enc.head[:0], f, sev)
	// Room kept after the headers for the marker, whatever it says, and
	// for the first bytes of the body, so that a cut never falls before
	// the first CEF or LEEF value.
	reserve := markerLen(1<<40) + 64
	enc.marks = enc.marks[:0]

	start := len(dst)
	dst = enc.appendPrefix(dst, e, f, pri, len(enc.head)+1+reserve)
	dst = append(dst, enc.head...)
	bodyStart := len(dst)
	dst = enc.appendPayloadBody(dst, e, f, sev)

	size := len(dst) - start
	if size <= enc.s.max {
		return dst, false, nil
	}
	if enc.s.oversize == "dead_letter" {
		return dst[:start], false, &oversizeError{size: size, max: enc.s.max}
	}
	if enc.s.payload == "json" {
		return enc.truncateJSON(dst, start, bodyStart, e, f, pri)
	}
	cut := enc.cutAt(dst, start+enc.s.max-markerLen(size))
	cut = max(safeCut(dst, cut), bodyStart)
	removed := len(dst) - cut
	return appendMarker(dst[:cut], removed), true, nil
}

// appendPrefix appends PRI and the header, and in RFC 5424 the structured
// data and the space after it: the SD takes what is left of max_message_bytes
// after the header and after keep bytes kept free for the payload.
func (enc *encoder) appendPrefix(dst []byte, e *event.Event, f *facts, pri, keep int) []byte {
	start := len(dst)
	dst = append(dst, '<')
	dst = strconv.AppendInt(dst, int64(pri), 10)
	dst = append(dst, '>')
	if enc.s.format == "rfc3164" {
		return enc.append3164Header(dst, e)
	}
	dst = enc.append5424Header(dst, e, f)
	dst = enc.appendSD(dst, f, enc.s.max-(len(dst)-start)-keep)
	return append(dst, ' ')
}

// truncateJSON replaces the JSON payload at dst[bodyStart:] (the message
// starting at start is over max_message_bytes) with the document shortened
// as JSON. If the fields it keeps whole do not fit beside the header, the
// structured data gives way first; if they still do not, the message is
// refused: a JSON payload is never sent broken.
func (enc *encoder) truncateJSON(dst []byte, start, bodyStart int, e *event.Event, f *facts, pri int) (_ []byte, truncated bool, err error) {
	size := len(dst) - start
	body := string(dst[bodyStart:]) // a copy: dst is rewritten below
	doc, err := parseJSONDoc(body)
	if err != nil {
		return dst[:start], false, &oversizeError{size: size, max: enc.s.max, why: err.Error()}
	}
	if bodyStart-start+doc.minSize() > enc.s.max {
		dst = enc.appendPrefix(dst[:start], e, f, pri, 1+doc.minSize())
		bodyStart = len(dst)
	}
	room := enc.s.max - (bodyStart - start)
	if len(body) <= room { // the structured data made room enough
		return append(dst[:bodyStart], body...), false, nil
	}
	if !doc.fit(room) {
		return dst[:start], false, &oversizeError{size: size, max: enc.s.max, why: fmt.Sprintf(
			"the header and the JSON fields kept whole (@timestamp, event.hash, event.action, event.outcome) need %d bytes",
			bodyStart-start+doc.minSize())}
	}
	return doc.appendTo(dst[:bodyStart]), true, nil
}

// cutAt moves a cut that falls in a CEF or LEEF key, or right after its '=',
// back to the end of the value before, so the marker ends a value and no
// key is left half-written.
func (enc *encoder) cutAt(dst []byte, cut int) int {
	for i := len(enc.marks) - 1; i >= 0; i-- {
		m := enc.marks[i]
		if m.key > cut {
			continue
		}
		if cut > m.value || i == 0 {
			return max(cut, m.value)
		}
		return m.key - 1 // before the separator
	}
	return cut
}

// append5424Header appends "1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID ".
func (enc *encoder) append5424Header(dst []byte, e *event.Event, f *facts) []byte {
	dst = append(dst, "1 "...)
	if writableTime(e.Time) {
		dst = e.Time.UTC().AppendFormat(dst, "2006-01-02T15:04:05.000Z07:00")
	} else {
		dst = append(dst, '-')
	}
	dst = append(dst, ' ')
	dst = append(dst, enc.hostname...)
	dst = append(dst, ' ')
	dst = append(dst, enc.appName...)
	dst = append(dst, ' ')
	dst = append(dst, enc.procID...)
	dst = append(dst, ' ')
	msgID := enc.s.msgID
	if msgID == "" {
		msgID = f.Event.Action
	}
	dst = appendPrintASCII(dst, msgID, maxMsgID)
	return append(dst, ' ')
}

// writableTime reports whether t fits the header's four-digit year (the
// zero Time, which the mapper never makes, does not count).
func writableTime(t time.Time) bool {
	y := t.UTC().Year()
	return !t.IsZero() && y >= 1 && y <= 9999
}

// sdParams are the structured-data parameters, most important first: when
// the budget is short, the last ones are left out.
var sdParams = []struct {
	name string
	val  func(f *facts) string
}{
	{"hash", func(f *facts) string { return f.hash }},
	{"action", func(f *facts) string { return f.Event.Action }},
	{"outcome", func(f *facts) string { return f.Event.Outcome }},
	{"user", func(f *facts) string { return f.User.Name }},
	{"src_ip", func(f *facts) string { return f.Source.IP }},
	{"object_type", func(f *facts) string { return f.WSS.Audit.ObjectType }},
	{"source", func(f *facts) string { return f.Labels.Source }},
}

// appendSD appends the SD-ELEMENT with the facts that fit in budget bytes;
// an empty fact is left out. With no room even for the hash it appends the
// NILVALUE.
func (enc *encoder) appendSD(dst []byte, f *facts, budget int) []byte {
	start := len(dst)
	dst = append(dst, '[')
	dst = append(dst, enc.s.sdID...)
	for _, p := range sdParams {
		v := p.val(f)
		if v == "" {
			continue
		}
		mark := len(dst)
		dst = append(dst, ' ')
		dst = appendSDName(dst, p.name)
		dst = append(dst, '=', '"')
		dst = appendEscapedMax(dst, v, sdValue, maxSDValue)
		dst = append(dst, '"')
		if len(dst)-start+1 > budget {
			dst = dst[:mark]
		}
	}
	dst = append(dst, ']')
	if len(dst)-start > budget || len(dst)-start == len(enc.s.sdID)+2 {
		return append(dst[:start], '-')
	}
	return dst
}

// appendSDName appends a PARAM-NAME: 1..32 PRINTUSASCII except '=', ' ',
// ']' and '"', each other character replaced by '_'.
func appendSDName(dst []byte, name string) []byte {
	start := len(dst)
	dst = appendPrintASCII(dst, name, 32)
	for i := start; i < len(dst); i++ {
		switch dst[i] {
		case '=', ']', '"':
			dst[i] = '_'
		}
	}
	return dst
}

// append3164Header appends "Mmm dd hh:mm:ss HOSTNAME TAG[pid]: ". RFC 3164
// has no zone and no year: the time is UTC (the payload keeps the exact
// @timestamp).
func (enc *encoder) append3164Header(dst []byte, e *event.Event) []byte {
	t := e.Time.UTC()
	if !writableTime(t) {
		t = time.Unix(0, 0).UTC() // RFC 3164 has no NILVALUE; the payload has no time either
	}
	dst = t.AppendFormat(dst, "Jan _2 15:04:05")
	dst = append(dst, ' ')
	dst = append(dst, enc.hostname...)
	dst = append(dst, ' ')
	dst = append(dst, enc.tag...)
	return append(dst, ' ')
}

// appendPayloadHead appends the CEF or LEEF header (nothing for json).
func (enc *encoder) appendPayloadHead(dst []byte, f *facts, sev int) []byte {
	id := f.Event.Action
	if id == "" {
		id = "unknown"
	}
	switch enc.s.payload {
	case "cef":
		dst = append(dst, enc.cefHead...)
		dst = appendEscapedMax(dst, id, cefHeader, maxEventID)
		dst = append(dst, '|')
		name := f.Message
		if name == "" {
			name = id
		}
		dst = appendEscapedMax(dst, name, cefHeader, maxCEFName)
		dst = append(dst, '|')
		dst = strconv.AppendInt(dst, int64(cefSeverity[sev]), 10)
		dst = append(dst, '|')
	case "leef":
		dst = append(dst, enc.leefHead...)
		dst = appendEscapedMax(dst, id, leefHeader, maxEventID)
		dst = append(dst, "|x09|"...)
	}
	return dst
}

// appendPayloadBody appends the JSON document, or the CEF extension, or the
// LEEF attributes.
func (enc *encoder) appendPayloadBody(dst []byte, e *event.Event, f *facts, sev int) []byte {
	switch enc.s.payload {
	case "cef":
		return appendCEFExtension(dst, e, f, &enc.marks)
	case "leef":
		return appendLEEFAttributes(dst, e, f, cefSeverity[sev], &enc.marks)
	default:
		return appendJSONLine(dst, e.Doc)
	}
}

// appendJSONLine appends a JSON document so that it stays one line of valid
// UTF-8 whatever it holds. The mapper's documents already are (JSON escapes
// every control character in strings), so this is a check; a raw control
// character can only be whitespace in valid JSON and becomes a space, and
// invalid UTF-8 becomes U+FFFD.
func appendJSONLine(dst []byte, doc []byte) []byte {
	clean := true
	for _, c := range doc {
		if c < 0x20 || c >= utf8.RuneSelf {
			clean = false
			break
		}
	}
	if clean || (utf8.Valid(doc) && !hasControl(doc)) {
		return append(dst, doc...)
	}
	for i := 0; i < len(doc); {
		c := doc[i]
		if c < utf8.RuneSelf {
			if c < 0x20 {
				c = ' '
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(doc[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, replacement...)
		} else {
			dst = append(dst, doc[i:i+n]...)
		}
		i += n
	}
	return dst
}

func hasControl(b []byte) bool {
	for _, c := range b {
		if c < 0x20 {
			return true
		}
	}
	return false
}
