package syslog

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A JSON payload over max_message_bytes is shortened as JSON, never cut as
// bytes: a SIEM that parses the payload (rsyslog's mmjsonparse, Sentinel,
// QRadar) drops or mangles a broken document, and with it the hash that
// lets it deduplicate. In order, until the document fits:
//
//  1. event.original (the raw record: the largest field, and a copy of the
//     rest) is dropped;
//  2. the longest strings are shortened, all to one common length (cut
//     where no rune and no escape is split, ending in "…"), but not below
//     minStringKept bytes;
//  3. members and array elements are dropped from the end of the document
//     backwards (the vendor's extra fields, wss.audit.*, come last).
//
// @timestamp, event.hash, event.action and event.outcome are never changed
// (keptWhole). The result ends with the member
// "auditfwd":{"truncated":true,"truncated_bytes":N}, N the bytes the
// document lost. A document that is not a JSON object, or whose kept fields
// alone do not fit, cannot be truncated: the message is refused instead.

// minStringKept is how short step 2 makes a string at most: below it a value
// says nothing, and dropping whole fields from the end serves better.
const minStringKept = 16

// keptWhole are the paths that truncation never changes.
var keptWhole = [][]string{{"@timestamp"}, {"event", "hash"}, {"event", "action"}, {"event", "outcome"}}

const (
	ellipsis     = "…"
	markerPrefix = `"auditfwd":{"truncated":true,"truncated_bytes":`
)

var errNotObject = errors.New("the JSON payload is not a JSON object")

// jnode is one value of the document, kept as written.
type jnode struct {
	kind  byte      // '{', '[', '"' or 'v' (number, true, false, null)
	text  string    // '"': the string's text between the quotes, escapes as written; 'v': the literal
	cut   int       // '"': bytes of text kept, "…" following; -1: whole
	kids  []jmember // '{', '['
	live  int       // kids not dropped
	keep  bool      // a kept-whole value: never dropped, never shortened
	holds bool      // keep, or holds a kept-whole value: never dropped
}

type jmember struct {
	key     string // '{' only: the key as written, quotes included
	val     *jnode
	dropped bool
}

// jsonDoc is a document being truncated; size is its length as written now.
type jsonDoc struct {
	root     *jnode
	orig     int // the document's length before truncation
	size     int
	markerSz int // the marker member and its comma, at most
}

// parseJSONDoc reads doc, which must be one JSON object (appendJSONLine's
// output: valid UTF-8, no raw control characters).
func parseJSONDoc(doc string) (*jsonDoc, error) {
	if !json.Valid([]byte(doc)) {
		return nil, errNotObject
	}
	p := jparser{s: doc}
	p.space()
	if p.i >= len(p.s) || p.s[p.i] != '{' {
		return nil, errNotObject
	}
	root := p.value()
	d := &jsonDoc{root: root, orig: len(doc)}
	// Our own marker goes last; one in the document would be a second
	// "auditfwd" member, which readers resolve differently.
	for i := range root.kids {
		if keyName(root.kids[i].key) == "auditfwd" {
			root.kids[i].dropped = true
			root.live--
		}
	}
	markKept(root)
	d.size = nodeSize(root)
	d.markerSz = 1 + len(markerPrefix) + len(strconv.Itoa(len(doc))) + 1
	return d, nil
}

type jparser struct {
	s string
	i int
}

func (p *jparser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

// value reads the value at p.i; the text is known to be valid JSON.
func (p *jparser) value() *jnode {
	p.space()
	switch c := p.s[p.i]; c {
	case '{', '[':
		n := &jnode{kind: c}
		p.i++
		for {
			p.space()
			if p.s[p.i] == '}' || p.s[p.i] == ']' {
				p.i++
				n.live = len(n.kids)
				return n
			}
			if p.s[p.i] == ',' {
				p.i++
				p.space()
			}
			var m jmember
			if c == '{' {
				m.key = `"` + p.str() + `"`
				p.space()
				p.i++ // :
			}
			m.val = p.value()
			n.kids = append(n.kids, m)
		}
	case '"':
		return &jnode{kind: '"', text: p.str(), cut: -1}
	default:
		start := p.i
		for p.i < len(p.s) && !isJSONDelim(p.s[p.i]) {
			p.i++
		}
		return &jnode{kind: 'v', text: p.s[start:p.i]}
	}
}

// str reads a string at its opening quote and returns its text as written.
func (p *jparser) str() string {
	p.i++
	start := p.i
	for p.s[p.i] != '"' {
		if p.s[p.i] == '\\' {
			p.i++
		}
		p.i++
	}
	p.i++
	return p.s[start : p.i-1]
}

func isJSONDelim(c byte) bool {
	return c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// keyName is a key as written ("…", quotes included) decoded.
func keyName(key string) string {
	if !strings.Contains(key, `\`) {
		return key[1 : len(key)-1]
	}
	var s string
	if json.Unmarshal([]byte(key), &s) != nil {
		return key
	}
	return s
}

// markKept flags the values on the keptWhole paths (one or two keys from
// the root) and the objects that hold them.
func markKept(root *jnode) {
	for i := range root.kids {
		m := &root.kids[i]
		name := keyName(m.key)
		for _, path := range keptWhole {
			switch {
			case path[0] != name:
			case len(path) == 1:
				m.val.holds, m.val.keep = true, true
			case m.val.kind == '{':
				for j := range m.val.kids {
					if k := &m.val.kids[j]; keyName(k.key) == path[1] {
						m.val.holds = true
						k.val.holds, k.val.keep = true, true
					}
				}
			}
		}
	}
}

// nodeSize is n's length as written now.
func nodeSize(n *jnode) int {
	switch n.kind {
	case '"':
		if n.cut >= 0 {
			return n.cut + len(ellipsis) + 2
		}
		return len(n.text) + 2
	case 'v':
		return len(n.text)
	}
	size := 2 + max(n.live-1, 0)
	for _, m := range n.kids {
		if !m.dropped {
			size += memberSize(m)
		}
	}
	return size
}

func memberSize(m jmember) int {
	if m.key != "" {
		return len(m.key) + 1 + nodeSize(m.val)
	}
	return nodeSize(m.val)
}

// minSize is the length of the smallest document truncation can make: the
// kept-whole values, their containers and the marker.
func (d *jsonDoc) minSize() int { return keptSize(d.root) + d.markerSz }

func keptSize(n *jnode) int {
	if n.keep || n.kind != '{' {
		return nodeSize(n)
	}
	size, k := 2, 0
	for _, m := range n.kids {
		if m.dropped || !m.val.holds {
			continue
		}
		if k > 0 {
			size++ // comma
		}
		k++
		size += len(m.key) + 1 + keptSize(m.val)
	}
	return size
}

func (d *jsonDoc) fits(room int) bool { return d.size+d.markerSz <= room }

// fit shortens the document to room bytes, the marker included, and
// reports whether it could.
func (d *jsonDoc) fit(room int) bool {
	if d.fits(room) {
		return true
	}
	d.dropOriginal()
	if d.fits(room) {
		return true
	}
	d.shortenStrings(d.size + d.markerSz - room)
	if d.fits(room) {
		return true
	}
	d.dropFromEnd(room)
	return d.fits(room)
}

func (d *jsonDoc) dropOriginal() {
	for _, m := range d.root.kids {
		if m.dropped || keyName(m.key) != "event" || m.val.kind != '{' {
			continue
		}
		ev := m.val
		for i := range ev.kids {
			if k := &ev.kids[i]; !k.dropped && !k.val.holds && keyName(k.key) == "original" {
				d.drop(ev, k)
			}
		}
	}
}

// drop removes member k of parent. Its value's size is taken as it is now:
// dropFromEnd reaches a container only after all its members.
func (d *jsonDoc) drop(parent *jnode, k *jmember) {
	d.size -= memberSize(*k)
	if parent.live > 1 {
		d.size-- // its comma
	}
	k.dropped = true
	parent.live--
}

// shortenStrings cuts the longest strings that are not kept whole to one
// length, the largest that saves need bytes, or to minStringKept if none
// does.
func (d *jsonDoc) shortenStrings(need int) {
	var strs []*jnode
	longest := 0
	var walk func(n *jnode)
	walk = func(n *jnode) {
		if n.keep {
			return
		}
		if n.kind == '"' && len(n.text) > minStringKept {
			strs = append(strs, n)
			longest = max(longest, len(n.text))
		}
		for _, m := range n.kids {
			if !m.dropped {
				walk(m.val)
			}
		}
	}
	walk(d.root)
	if len(strs) == 0 {
		return
	}
	saved := func(limit int) int {
		total := 0
		for _, s := range strs {
			if c := cutString(s.text, limit); c >= 0 {
				total += len(s.text) - c - len(ellipsis)
			}
		}
		return total
	}
	limit := minStringKept
	if saved(limit) >= need {
		lo, hi := minStringKept, longest // saved(lo) >= need
		for lo < hi {
			mid := (lo + hi + 1) / 2
			if saved(mid) >= need {
				lo = mid
			} else {
				hi = mid - 1
			}
		}
		limit = lo
	}
	for _, s := range strs {
		if c := cutString(s.text, limit); c >= 0 {
			d.size -= len(s.text) - c - len(ellipsis)
			s.cut = c
		}
	}
}

// cutString returns where to cut the string text (as written) to keep at
// most limit bytes of it: the end of the last whole rune or escape (a
// surrogate pair's two escapes count as one), or -1 when cutting would not
// make the string shorter, the "…" included.
func cutString(text string, limit int) int {
	if len(text) <= limit {
		return -1
	}
	i := 0
	for i < len(text) {
		n := unitLen(text, i)
		if i+n > limit {
			break
		}
		i += n
	}
	if i+len(ellipsis) >= len(text) {
		return -1
	}
	return i
}

// unitLen is the length of the rune or escape at text[i].
func unitLen(text string, i int) int {
	c := text[i]
	switch {
	case c == '\\' && i+1 < len(text) && text[i+1] == 'u':
		if i+12 <= len(text) && isHighSurrogate(text[i+2:i+6]) && text[i+6] == '\\' && text[i+7] == 'u' {
			return 12
		}
		return 6
	case c == '\\':
		return 2
	case c < utf8.RuneSelf:
		return 1
	}
	_, n := utf8.DecodeRuneInString(text[i:])
	return n
}

func isHighSurrogate(hex string) bool {
	v, err := strconv.ParseUint(hex, 16, 16)
	return err == nil && v >= 0xd800 && v <= 0xdbff
}

// dropFromEnd drops members and elements, last first and the inner before
// the outer, until the document fits room; kept-whole values stay.
func (d *jsonDoc) dropFromEnd(room int) {
	type ref struct {
		parent *jnode
		i      int
	}
	var order []ref
	var walk func(n *jnode)
	walk = func(n *jnode) {
		if n.keep {
			return // nothing inside a kept value is dropped either
		}
		for i := range n.kids {
			if n.kids[i].dropped {
				continue
			}
			order = append(order, ref{n, i})
			walk(n.kids[i].val)
		}
	}
	walk(d.root)
	for k := len(order) - 1; k >= 0 && !d.fits(room); k-- {
		r := order[k]
		if m := &r.parent.kids[r.i]; !m.val.holds {
			d.drop(r.parent, m)
		}
	}
}

// appendTo writes the document and its marker to dst.
func (d *jsonDoc) appendTo(dst []byte) []byte {
	start := len(dst)
	dst = appendNode(dst, d.root)
	removed := d.orig - (len(dst) - start)
	dst = dst[:len(dst)-1] // the root's '}'
	if d.root.live > 0 {
		dst = append(dst, ',')
	}
	dst = append(dst, markerPrefix...)
	dst = strconv.AppendInt(dst, int64(removed), 10)
	return append(dst, '}', '}')
}

func appendNode(dst []byte, n *jnode) []byte {
	switch n.kind {
	case '"':
		dst = append(dst, '"')
		if n.cut >= 0 {
			dst = append(dst, n.text[:n.cut]...)
			dst = append(dst, ellipsis...)
		} else {
			dst = append(dst, n.text...)
		}
		return append(dst, '"')
	case 'v':
		return append(dst, n.text...)
	}
	open, end := byte('{'), byte('}')
	if n.kind == '[' {
		open, end = '[', ']'
	}
	dst = append(dst, open)
	first := true
	for _, m := range n.kids {
		if m.dropped {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		if m.key != "" {
			dst = append(dst, m.key...)
			dst = append(dst, ':')
		}
		dst = appendNode(dst, m.val)
	}
	return append(dst, end)
}
