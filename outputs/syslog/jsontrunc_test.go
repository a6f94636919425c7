package syslog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/auditfwd/auditfwd/internal/event"
)

// hostileDoc builds an ECS-shaped document with the protected fields set
// and the rest from fill.
func hostileDoc(t testing.TB, fill func(doc map[string]any, ev map[string]any)) event.Event {
	t.Helper()
	ev := map[string]any{
		"kind": "event", "category": []string{"configuration"}, "action": "delete", "outcome": "failure",
		"hash": strings.Repeat("ab", 32), "ingested": "2026-11-24T11:00:00.500Z",
	}
	doc := map[string]any{"@timestamp": "2026-11-24T10:15:02.123Z", "event": ev}
	fill(doc, ev)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		t.Fatal(err)
	}
	var e event.Event
	copy(e.Hash[:], bytes.Repeat([]byte{0xab}, 32))
	e.Time = time.Date(2026, 11, 24, 10, 15, 2, 123e6, time.UTC)
	e.Doc = bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	return e
}

// hostileJSONEvents are documents that cannot fit in a small message:
// one huge string, huge strings of multi-byte UTF-8 and escapes, many
// fields, deep nesting, big arrays.
func hostileJSONEvents(t testing.TB) map[string]event.Event {
	utf := strings.Repeat("é日😀\u2028", 3000)
	esc := strings.Repeat("\"\\\n\t\x00\x1f/<>", 3000)
	return map[string]event.Event{
		"huge original and message": hostileDoc(t, func(d, ev map[string]any) {
			ev["original"] = strings.Repeat(`{"k":"v"}`, 20000)
			d["message"] = strings.Repeat("m", 100000)
		}),
		"multi-byte UTF-8 everywhere": hostileDoc(t, func(d, ev map[string]any) {
			ev["original"] = utf
			d["message"] = utf
			d["user"] = map[string]any{"name": utf[:9001]}
			d["wss"] = map[string]any{"audit": map[string]any{"object_name": utf, "note": "ü"}}
		}),
		"escapes everywhere": hostileDoc(t, func(d, ev map[string]any) {
			ev["original"] = esc
			d["message"] = esc
			d["wss"] = map[string]any{"audit": map[string]any{"a": esc, "b": esc[:5000], "c": []any{esc, esc}}}
		}),
		"many fields": hostileDoc(t, func(d, ev map[string]any) {
			audit := map[string]any{}
			for i := 0; i < 3000; i++ {
				audit[fmt.Sprintf("field_%04d", i)] = i
				audit[fmt.Sprintf("str_%04d", i)] = "value é " + fmt.Sprint(i)
			}
			d["message"] = "many fields"
			d["wss"] = map[string]any{"audit": audit}
		}),
		"deep nesting and arrays": hostileDoc(t, func(d, ev map[string]any) {
			var v any = "leaf " + strings.Repeat("x", 3000)
			for i := 0; i < 200; i++ {
				v = map[string]any{"n": v, "a": []any{i, true, nil, "s"}}
			}
			d["wss"] = map[string]any{"audit": v}
			arr := make([]any, 4000)
			for i := range arr {
				arr[i] = i
			}
			d["related"] = map[string]any{"ip": arr}
		}),
		"a realistic document with a huge object name": simHuge(t),
	}
}

// simHuge is a mapped simulator record whose object name is 50 KB.
func simHuge(t testing.TB) event.Event {
	raw := `{"id":"d3","timestamp":"2026-11-24T10:27:00Z","userName":"analyst@example.com","objectType":"log",` +
		`"objectName":"` + strings.Repeat("Ü-name ", 7000) + `","operationType":"Download","status":"Success"}`
	p, err := event.Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	e, err := event.NewMapper(event.DefaultFields(), "tenant-a").Map(&p, time.Date(2026, 11, 24, 11, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// payloadOf returns the MSG of an RFC 5424 or 3164 message.
func payloadOf(t testing.TB, format string, msg []byte) string {
	t.Helper()
	if format == "rfc3164" {
		m, err := parse3164(string(msg))
		if err != nil {
			t.Fatal(err)
		}
		return m.msg
	}
	m, err := parse5424(string(msg))
	if err != nil {
		t.Fatal(err)
	}
	return m.msg
}

// protectedFields are the values a truncated JSON payload keeps whole.
var protectedFields = [][]string{{"@timestamp"}, {"event", "hash"}, {"event", "action"}, {"event", "outcome"}}

func lookupPath(doc map[string]any, path []string) (any, bool) {
	var v any = doc
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

// checkTruncatedJSON checks a truncated JSON payload against the document
// it came from: a valid JSON object, its protected fields as they were,
// the marker, and the number of bytes removed.
func checkTruncatedJSON(t testing.TB, payload string, orig []byte) {
	t.Helper()
	if strings.Contains(payload, "…[truncated") {
		t.Fatalf("the old byte-cut marker in a JSON payload: %.200q", payload)
	}
	if !utf8.ValidString(payload) {
		t.Fatalf("invalid UTF-8: a cut split a rune")
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(payload), &got); err != nil {
		t.Fatalf("truncated payload is not a JSON object: %v\n%.300q…%.300q", err, payload, payload[max(0, len(payload)-300):])
	}
	var want map[string]any
	if err := json.Unmarshal(appendJSONLine(nil, orig), &want); err != nil {
		t.Fatalf("original: %v", err)
	}
	for _, p := range protectedFields {
		w, ok := lookupPath(want, p)
		if !ok {
			continue
		}
		if g, _ := lookupPath(got, p); fmt.Sprint(g) != fmt.Sprint(w) {
			t.Errorf("%s = %.80v, want %.80v", strings.Join(p, "."), g, w)
		}
	}
	if tr, _ := lookupPath(got, []string{"auditfwd", "truncated"}); tr != true {
		t.Errorf("auditfwd.truncated = %v, want true", tr)
	}
	n, _ := lookupPath(got, []string{"auditfwd", "truncated_bytes"})
	// The marker is the last member; the bytes removed are what the
	// document lost, the marker itself not counted.
	i := strings.LastIndex(payload, `"auditfwd":{`)
	if i < 0 {
		t.Fatalf("no auditfwd member at the end")
	}
	without := strings.TrimSuffix(payload[:i], ",") + "}"
	if want := float64(len(appendJSONLine(nil, orig)) - len(without)); n != want {
		t.Errorf("auditfwd.truncated_bytes = %v, want %v", n, want)
	}
}

func TestTruncateJSONPayload(t *testing.T) {
	for name, e := range hostileJSONEvents(t) {
		for _, format := range []string{"rfc5424", "rfc3164"} {
			for _, max := range []int{1024, 1500, 2048, 4096, 8192} {
				t.Run(fmt.Sprintf("%s/%s/%d", name, format, max), func(t *testing.T) {
					enc := fixedEncoder(t, Config{Format: format, MaxMessageBytes: max})
					msg, truncated, err := enc.appendMessage(nil, &e)
					if err != nil {
						t.Fatalf("err %v", err)
					}
					if !truncated {
						t.Fatalf("a %d-byte document not truncated to %d", len(e.Doc), max)
					}
					if len(msg) > max {
						t.Fatalf("%d bytes > max_message_bytes %d", len(msg), max)
					}
					p := payloadOf(t, format, msg)
					checkTruncatedJSON(t, p, e.Doc)
					if strings.Contains(p, `"original":`) {
						t.Errorf("event.original kept in a truncated payload")
					}
					if format == "rfc5424" {
						m, _ := parse5424(string(msg))
						if h, _ := m.param("hash"); h != e.HashHex() {
							t.Errorf("SD hash %q", h)
						}
					}
				})
			}
		}
	}
}

// A big document keeps as much as fits: event.original goes first, then the
// longest strings are shortened, each ending in "…", the short ones whole.
func TestTruncateJSONShortensLongestFirst(t *testing.T) {
	e := hostileDoc(t, func(d, ev map[string]any) {
		ev["original"] = strings.Repeat("o", 5000)
		d["message"] = strings.Repeat("m", 5000)
		d["user"] = map[string]any{"name": "jane@example.com"}
		d["wss"] = map[string]any{"audit": map[string]any{"details": strings.Repeat("d", 3000), "portal": "portal.example"}}
	})
	enc := fixedEncoder(t, Config{MaxMessageBytes: 4096})
	msg, truncated, err := enc.appendMessage(nil, &e)
	if err != nil || !truncated {
		t.Fatalf("truncated %v, err %v", truncated, err)
	}
	if len(msg) > 4096 || len(msg) < 4096-64 {
		t.Errorf("%d bytes, want just under 4096", len(msg))
	}
	p := payloadOf(t, "rfc5424", msg)
	checkTruncatedJSON(t, p, e.Doc)
	var got struct {
		Message string `json:"message"`
		User    struct {
			Name string `json:"name"`
		} `json:"user"`
		WSS struct {
			Audit struct{ Details, Portal string } `json:"audit"`
		} `json:"wss"`
	}
	json.Unmarshal([]byte(p), &got)
	if got.User.Name != "jane@example.com" || got.WSS.Audit.Portal != "portal.example" {
		t.Errorf("short strings were touched: %+v", got)
	}
	for _, s := range []string{got.Message, got.WSS.Audit.Details} {
		if !strings.HasSuffix(s, "…") || len(s) < 1000 {
			t.Errorf("long string %.40q… (%d bytes): want it cut to about the same length, ending in …", s, len(s))
		}
	}
	if d := len(got.Message) - len(got.WSS.Audit.Details); d > 8 || d < -8 {
		t.Errorf("message %d bytes, details %d: the longest is cut first, to one length", len(got.Message), len(got.WSS.Audit.Details))
	}
}

// When the fields kept whole cannot fit, the event is refused for good (the
// pipeline dead-letters it) with a reason, never sent as broken JSON.
func TestTruncateJSONCannotFit(t *testing.T) {
	huge := hostileDoc(t, func(d, ev map[string]any) { ev["action"] = strings.Repeat("a", 3000) })
	notJSON := event.Event{Time: fuzzTime, Doc: []byte(`{"message":"` + strings.Repeat("x", 3000))}
	array := event.Event{Time: fuzzTime, Doc: []byte(`["` + strings.Repeat("x", 3000) + `"]`)}
	for _, tc := range []struct {
		name, format, why string
		e                 event.Event
	}{
		{"huge action", "rfc5424", "kept whole", huge},
		{"huge action 3164", "rfc3164", "kept whole", huge},
		{"not JSON", "rfc5424", "not a JSON object", notJSON},
		{"an array", "rfc5424", "not a JSON object", array},
	} {
		enc := fixedEncoder(t, Config{Format: tc.format, MaxMessageBytes: 1024})
		msg, truncated, err := enc.appendMessage([]byte("prefix"), &tc.e)
		var oe *oversizeError
		if !errors.As(err, &oe) || !strings.Contains(err.Error(), tc.why) || !strings.Contains(err.Error(), "max_message_bytes 1024") {
			t.Errorf("%s: err %v, want an oversize error saying %q", tc.name, err, tc.why)
		}
		if truncated || string(msg) != "prefix" {
			t.Errorf("%s: appended %q", tc.name, msg)
		}
	}
}

// The SD gives way to the fields kept whole: a message whose SD values are
// all long still carries a valid JSON payload with them.
func TestTruncateJSONShrinksSD(t *testing.T) {
	long := strings.Repeat(`"]\`, 200)
	e := hostileDoc(t, func(d, ev map[string]any) {
		ev["action"], ev["outcome"] = long[:150], long[:120]
		d["user"] = map[string]any{"name": long}
		d["source"] = map[string]any{"ip": long}
		d["labels"] = map[string]any{"source": long}
		d["wss"] = map[string]any{"audit": map[string]any{"object_type": long}}
		d["message"] = strings.Repeat("m", 3000)
	})
	enc := fixedEncoder(t, Config{MaxMessageBytes: 1024})
	msg, truncated, err := enc.appendMessage(nil, &e)
	if err != nil || !truncated || len(msg) > 1024 {
		t.Fatalf("truncated %v, err %v, %d bytes", truncated, err, len(msg))
	}
	checkTruncatedJSON(t, payloadOf(t, "rfc5424", msg), e.Doc)
}

// The output refuses an event that cannot be truncated as a permanent item
// error (the pipeline's dead letter), counted as oversize.
func TestTruncateJSONRefusedInBatch(t *testing.T) {
	o := mustNew(t, Config{Address: "127.0.0.1:1", Network: "udp", MaxMessageBytes: 1024})
	defer o.Close()
	huge := hostileDoc(t, func(d, ev map[string]any) { ev["action"] = strings.Repeat("a", 3000) })
	o.encode([]event.Event{huge, hostileJSONEvents(t)["many fields"]})
	if err := o.perm[0]; err == nil || !strings.Contains(err.Error(), "kept whole") {
		t.Errorf("item 0: %v, want a permanent error with the reason", err)
	}
	if _, bad := o.perm[1]; bad {
		t.Errorf("item 1 refused: %v", o.perm[1])
	}
	if st := o.Stats(); st.Oversize != 1 || st.Truncated != 1 {
		t.Errorf("stats %+v, want 1 oversize, 1 truncated", st)
	}
}

// FuzzTruncateJSON holds the JSON truncation to its contract on any
// document and any room smaller than it: a JSON object is shortened to a
// valid JSON object within room, its kept-whole fields unchanged, with the
// marker, exactly when its kept-whole fields fit; anything else is refused.
func FuzzTruncateJSON(f *testing.F) {
	for _, e := range hostileJSONEvents(f) {
		if len(e.Doc) < 20000 {
			f.Add(e.Doc, uint16(len(e.Doc)/3))
		}
	}
	for _, s := range []string{
		`{"@timestamp":"2026-11-24T10:15:02.123Z","event":{"action":"x","outcome":"success","hash":"ab","original":"{\"a\":1}"},"message":"` +
			strings.Repeat(`\ud83d\ude00é\n\"`, 20) + `"}`,
		`{"message":"` + strings.Repeat(`\u00e9`, 30) + `","a":[1,2,3,{"b":"` + strings.Repeat("日", 20) + `"}]}`,
		`{"event":"not an object","event":{"hash":"h","hash":"` + strings.Repeat("x", 40) + `"},"auditfwd":{"truncated":false}}`,
		`{"@timestamp":{"nested":"` + strings.Repeat("t", 50) + `"},"x":"` + strings.Repeat("y", 50) + `"}`,
		`{ "a" : "` + strings.Repeat("a", 40) + `" , "b" : [ ] , "c" : { } }`,
		`{}`, `[]`, `"str"`, `{"a":1`, "{\"a\":\"\xff\xfe\tb\"}",
	} {
		f.Add([]byte(s), uint16(40))
	}
	f.Fuzz(func(t *testing.T, doc []byte, roomSel uint16) {
		clean := appendJSONLine(nil, doc)
		d, err := parseJSONDoc(string(clean))
		if err != nil {
			var v any
			if json.Unmarshal(clean, &v) == nil {
				if _, isObj := v.(map[string]any); isObj {
					t.Fatalf("a JSON object refused: %v", err)
				}
			}
			return
		}
		if len(clean) == 0 {
			return
		}
		room := int(roomSel) % len(clean) // always smaller than the document
		minSize := d.minSize()
		if !d.fit(room) {
			if minSize <= room {
				t.Fatalf("refused with room %d though the kept fields need %d", room, minSize)
			}
			return
		}
		if minSize > room {
			t.Fatalf("fit with room %d below the minimum %d", room, minSize)
		}
		out := d.appendTo(nil)
		if len(out) > room {
			t.Fatalf("%d bytes > room %d: %s", len(out), room, out)
		}
		checkTruncatedJSON(t, string(out), doc)
	})
}
