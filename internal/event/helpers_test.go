package event

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// testIngested is the fixed receive time of every mapping test.
var testIngested = time.Date(2026, 11, 24, 11, 0, 0, 500_000_000, time.UTC)

// mapDoc parses and maps raw, checks the document invariants every event
// must hold, and returns the event and its document decoded.
func mapDoc(t *testing.T, m *Mapper, raw string) (Event, map[string]any) {
	t.Helper()
	p, err := Parse([]byte(raw))
	if err != nil {
		t.Fatalf("Parse(%.200s): %v", raw, err)
	}
	ev, err := m.Map(&p, testIngested)
	if err != nil {
		t.Fatalf("Map(%.200s): %v", raw, err)
	}
	checkDoc(t, ev)
	return ev, decodeDoc(t, ev.Doc)
}

func checkDoc(t *testing.T, ev Event) {
	t.Helper()
	if !json.Valid(ev.Doc) {
		t.Fatalf("Doc is not valid JSON: %.500s", ev.Doc)
	}
	if bytes.ContainsAny(ev.Doc, "\n\r") {
		t.Fatalf("Doc contains a raw line break: %.500s", ev.Doc)
	}
}

func decodeDoc(t *testing.T, doc []byte) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decode doc: %v\n%.500s", err, doc)
	}
	return m
}

// get walks a dotted path of nested objects ("event.outcome"). The last
// element may itself contain dots when reached through wss.audit: use
// audit() for record keys.
func get(doc map[string]any, path string) any {
	var cur any = doc
	for _, seg := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		if cur, ok = m[seg]; !ok {
			return nil
		}
	}
	return cur
}

// audit returns wss.audit.
func audit(doc map[string]any) map[string]any {
	a, _ := get(doc, "wss.audit").(map[string]any)
	return a
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func canon(v any) string { return string(AppendCanonical(nil, v)) }
