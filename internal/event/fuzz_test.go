package event

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzParse: for any bytes, Parse and Map never panic, every error is a
// *RecordError, Hash is always set and stable under re-canonicalization, and
// every document is valid one-line JSON.
func FuzzParse(f *testing.F) {
	f.Add(benchRecord)
	f.Add([]byte(`{"time":1763979302123,"user":"b","ip":"1.2.3.4:55, 5.6.7.8","status":{"x":1},"raw":[]}`))
	f.Add([]byte(`{"timestamp":"2026-11-24 10:15:02","UserName":"a\u0000\n\"b","objectType":"User","objectName":"\ud83d"}`))
	f.Add([]byte("{\"date\":\"2026-11-24\",\"\xff\":\"\xfe\"}"))
	f.Add([]byte(`[1,2]`))
	f.Add([]byte(`{"a":`))
	m := NewMapper(Fields{User: []string{"actor.name", "userName"}}, "fuzz")
	ingested := time.Date(2026, 11, 24, 11, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if p.Hash == ([32]byte{}) {
			t.Fatal("Hash not set")
		}
		if err != nil {
			var re *RecordError
			if !errors.As(err, &re) || re.Reason == "" {
				t.Fatalf("Parse error %v (%T) is not a RecordError with a reason", err, err)
			}
			if !json.Valid(bytes.TrimSpace(data)) && p.Hash != sha256.Sum256(bytes.TrimSpace(data)) {
				t.Fatal("invalid JSON not hashed as its trimmed bytes")
			}
		}
		if p.Obj == nil {
			if err == nil {
				t.Fatal("no error and no object")
			}
			return
		}
		// Re-canonicalizing the decoded record gives the same hash.
		c := AppendCanonical(nil, p.Obj)
		p2, err := Parse(c)
		if err != nil {
			t.Fatalf("canonical form does not parse: %v\n%q", err, c)
		}
		if p2.Hash != p.Hash {
			t.Fatalf("hash changed under re-canonicalization\n%q\n%q", data, c)
		}
		if c2 := AppendCanonical(nil, p2.Obj); !bytes.Equal(c, c2) {
			t.Fatalf("canonical form not idempotent\n%q\n%q", c, c2)
		}

		ev, err := m.Map(&p, ingested)
		if ev.Hash != p.Hash {
			t.Fatal("Event.Hash differs from Parsed.Hash")
		}
		if err != nil {
			var re *RecordError
			if !errors.As(err, &re) || re.Reason == "" {
				t.Fatalf("Map error %v (%T) is not a RecordError with a reason", err, err)
			}
			return
		}
		if !json.Valid(ev.Doc) {
			t.Fatalf("invalid document: %q", ev.Doc)
		}
		if bytes.ContainsAny(ev.Doc, "\n\r") {
			t.Fatalf("raw line break in document: %q", ev.Doc)
		}
		if ev.Time.Location() != time.UTC || ev.Time.Before(minTime) {
			t.Fatalf("Event.Time = %v", ev.Time)
		}
		checkNoKeyLost(t, m, p.Obj, ev.Doc)
	})
}

// checkNoKeyLost: every record key is either a candidate of some fact (and
// may have become an ECS field) or is kept, with its value, under wss.audit
// or, by the collision rule, under wss.audit.raw.
func checkNoKeyLost(t *testing.T, m *Mapper, obj map[string]any, doc []byte) {
	t.Helper()
	var d map[string]any
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&d); err != nil {
		t.Fatal(err)
	}
	for k, v := range obj {
		where := audit(d)
		if isReservedAudit(k) {
			where, _ = where["raw"].(map[string]any)
		}
		if got, ok := where[k]; ok {
			if canon(got) != canon(v) {
				t.Fatalf("key %q kept as %s, record has %s", k, canon(got), canon(v))
			}
			continue
		}
		if !isCandidate(m, k) {
			t.Fatalf("key %q lost from %s", k, doc)
		}
	}
}

func isCandidate(m *Mapper, key string) bool {
	for _, cands := range m.facts {
		for _, c := range cands {
			if strings.EqualFold(c.key, key) {
				return true
			}
		}
	}
	return false
}

// FuzzParseTime: ParseTime never panics, and what it accepts is UTC, in
// bounds, and parses back to itself from its RFC 3339 form.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{
		"2026-11-24T10:15:02.123Z", "2026-11-24 10:15:02", "2026-11-24", "1763979302123",
		"1763979302.5", "1.7e12", "2026-11-24T10:15:02+01:00", "Tue, 24 Nov 2026 10:15:02 GMT",
		"2026/11/24 10:15:02.1 UTC", "-1", "", "9999999999999999999999",
	} {
		f.Add(s)
	}
	latest := time.Date(2027, 11, 24, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		for _, v := range []any{s, json.Number(s)} {
			got, err := parseTime(v, latest)
			if err != nil {
				continue
			}
			if got.Location() != time.UTC || got.Before(minTime) || got.After(latest) {
				t.Fatalf("parseTime(%q) = %v: not UTC or out of bounds", s, got)
			}
			back, err := parseTime(got.Format(time.RFC3339Nano), latest)
			if err != nil || !back.Equal(got) {
				t.Fatalf("parseTime(%q) = %v, which reparses as %v, %v", s, got, back, err)
			}
		}
	})
}

// FuzzDecodeMatchesStdlib holds the hand-written decoder to encoding/json:
// same inputs accepted, same values decoded.
func FuzzDecodeMatchesStdlib(f *testing.F) {
	for _, s := range []string{
		string(benchRecord), `{"a":[1,{"b":null}],"c":"\u00e9\ud83d\ude00\ud83d"}`, `"\ud83d\u0041"`,
		"\"\xff\"", `[1e5,-0.5E-3,0]`, `{"a":1,"a":2}`, `{"a":01}`, `[`, `{"x":"\u12`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecodeMatches(t, data)
	})
}
