package event

import (
	"encoding/hex"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// ECSVersion is the ECS release the documents follow.
const ECSVersion = "8.11.0"

// Event is one normalized event, ready for the queues.
type Event struct {
	Hash [32]byte
	Time time.Time // @timestamp, UTC
	Doc  []byte    // the ECS document: one line of JSON, no trailing newline
}

// HashHex is the hash as lower-case hex, the form used in event.hash and as
// a document id.
func (e Event) HashHex() string { return hex.EncodeToString(e.Hash[:]) }

// Mapper turns parsed records into ECS events. It holds only configuration,
// so one Mapper is safe for concurrent use.
type Mapper struct {
	source string
	facts  [numFacts][]candidate
	fold   map[string][]foldHit // lower-cased candidate key -> where it is a candidate
	tried  string               // the time candidates, for the "no time field" reason
}

// NewMapper builds a Mapper. source is the configured source (tenant) name,
// written to labels.source so that one SIEM index can hold several tenants.
func NewMapper(f Fields, source string) *Mapper {
	m := &Mapper{source: source}
	defaults := DefaultFields().lists()
	for i, keys := range f.lists() {
		if len(keys) == 0 {
			keys = defaults[i]
		}
		m.facts[i] = newCandidates(keys)
	}
	m.fold = buildFoldIndex(&m.facts)
	names := make([]string, len(m.facts[factTime]))
	for i, c := range m.facts[factTime] {
		names[i] = c.key
	}
	m.tried = strings.Join(names, ", ")
	return m
}

// found is what a record says about one fact.
type found struct {
	val string // trimmed, stringified value; "" when absent
	key string // the top-level key it consumed; "" when none
}

// mapped is the per-record state between finding the facts and writing
// them. It lives on Map's stack: its small sets hold a typical record's
// members without allocating, and no slice in it points into itself (which
// would force it onto the heap, with a write barrier on every field).
type mapped struct {
	obj       map[string]any
	time      time.Time
	facts     [numFacts]found
	consumed  [numFacts]string // top-level keys that became ECS fields
	nConsumed int

	foldReady bool
	fold      foldMatches

	object objectInfo // classifyObject of the object type, taken once
	action string     // event.action
	verb   verb       // what the action does

	userEmail, targetName, targetEmail string
	ruleName, ruleset, hostName        string
	groupName, reason                  string
	sourceIP                           netip.Addr
	sourcePort                         uint16
	rawSourceIP                        string // the source value when it is not one clean address
	relatedIP, relatedUser             stringSet
}

// Map builds the ECS document for p. read is when auditfwd read the record
// from the API (event.created; zero means now); it also bounds how far in
// the future the record's time may be (one year), which keeps Map a pure
// function of its arguments.
//
// event.ingested is deliberately not written: ECS defines it as the time the
// event reached the data store, and Elastic's rules that run with
// timestamp_override: event.ingested would miss an event that waited in the
// disk queue through an outage if it carried the read time. The
// elasticsearch output's template installs an ingest pipeline that sets it.
//
// The error is a *RecordError when the record is not an object, has no time
// field, or its time cannot be parsed. The returned Event carries p.Hash even
// then, for the dead letter.
func (m *Mapper) Map(p *Parsed, read time.Time) (Event, error) {
	bp := docBufs.Get().(*[]byte)
	ev, doc, err := m.MapTo((*bp)[:0], p, read)
	if err == nil {
		ev.Doc = append(make([]byte, 0, len(doc)), doc...)
	}
	if cap(doc) <= 256<<10 { // a huge record's buffer is not worth pinning
		*bp = doc[:0]
		docBufs.Put(bp)
	}
	return ev, err
}

// MapTo is Map writing the document into dst (appended) instead of a new
// slice: ev.Doc aliases the returned buffer, so it is valid only until the
// caller reuses that buffer. The poller copies each event into the queues
// at once and maps the next record into the same buffer.
func (m *Mapper) MapTo(dst []byte, p *Parsed, read time.Time) (Event, []byte, error) {
	ev := Event{Hash: p.Hash}
	if p.Obj == nil {
		return ev, dst, recordErr("record is not a JSON object")
	}
	if read.IsZero() {
		read = time.Now()
	}
	read = read.UTC()

	var r mapped
	r.obj = p.Obj
	if err := m.findTime(&r, read.Add(maxAhead)); err != nil {
		return ev, dst, err
	}
	for f := factID; f < numFacts; f++ {
		r.facts[f] = r.findScalar(m, f)
		if f != factRuleCategory { // consumed only when it becomes rule.ruleset
			r.consume(r.facts[f].key)
		}
	}
	r.object = classifyObject(r.facts[factObjectType].val)
	r.action = actionName(r.facts[factOperation].val)
	r.verb = verbOf(r.action)
	m.collectRelated(&r)
	r.collectEntities()

	doc := m.appendDoc(dst, &r, p, read)
	ev.Time = r.time
	ev.Doc = doc[len(dst):]
	return ev, doc, nil
}

var docBufs = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// findTime takes the first time candidate that parses. Going on past an
// unparseable one is deliberate: a record with a garbled "time" but a good
// "eventTime" is still an event, and the garbled key stays under wss.audit.
// Only when none parses is the first failure the reason.
func (m *Mapper) findTime(r *mapped, latest time.Time) error {
	var firstErr *RecordError
	done := false
	r.each(m, factTime, func(v any, top, name string) bool {
		if v == nil {
			return false
		}
		t, err := parseTime(v, latest)
		if err == nil {
			r.time = t
			r.consume(top)
			done = true
			return true
		}
		if firstErr == nil {
			firstErr = recordErr("unparseable time " + quoteShort(v) + " in field " + name + ": " + err.Error())
		}
		return false
	})
	switch {
	case done:
		return nil
	case firstErr != nil:
		return firstErr
	}
	return recordErr("no time field (tried " + m.tried + ")")
}

// quoteShort renders a value for an error reason, cut so that a 1 MB field
// does not become a 1 MB log line.
func quoteShort(v any) string {
	const limit = 64
	b := AppendCanonical(nil, v)
	if len(b) > limit {
		return strings.ToValidUTF8(string(b[:limit]), "") + "..."
	}
	return string(b)
}

// consume marks a top-level key as turned into an ECS field, so that it is
// not repeated under wss.audit. "" means nothing to consume (the value came
// from inside a nested object, which is kept whole); so a record's empty key
// is always kept too, even if configured as a candidate.
func (r *mapped) consume(key string) {
	if key == "" || r.isConsumed(key) {
		return
	}
	r.consumed[r.nConsumed] = key
	r.nConsumed++
}

func (r *mapped) isConsumed(key string) bool {
	for _, k := range r.consumed[:r.nConsumed] {
		if k == key {
			return true
		}
	}
	return false
}
