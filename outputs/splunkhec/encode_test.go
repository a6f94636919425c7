package splunkhec

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/auditfwd/auditfwd/internal/event"
)

// refLine is the event line as encoding/json wrote it before the line was
// written by hand: the hand-written one must say the same.
func refLine(t *testing.T, o *Output, e event.Event) []byte {
	t.Helper()
	type hecEvent struct {
		Time       json.Number       `json:"time,omitempty"`
		Host       string            `json:"host,omitempty"`
		Source     string            `json:"source,omitempty"`
		Sourcetype string            `json:"sourcetype,omitempty"`
		Index      string            `json:"index,omitempty"`
		Event      json.RawMessage   `json:"event"`
		Fields     map[string]string `json:"fields,omitempty"`
	}
	ev := hecEvent{Time: json.Number(epochMillis(e.Time)), Host: o.cfg.Host, Source: o.cfg.Source,
		Sourcetype: o.cfg.Sourcetype, Index: o.cfg.Index, Event: json.RawMessage(e.Doc)}
	if o.fields {
		var meta struct {
			Event struct {
				Action  any `json:"action"`
				Outcome any `json:"outcome"`
			} `json:"event"`
			Labels struct {
				Source any `json:"source"`
			} `json:"labels"`
		}
		_ = json.Unmarshal(e.Doc, &meta)
		ev.Fields = map[string]string{"event.hash": e.HashHex()}
		for k, v := range map[string]any{"event.action": meta.Event.Action, "event.outcome": meta.Event.Outcome, "labels.source": meta.Labels.Source} {
			if s, ok := v.(string); ok && s != "" {
				ev.Fields[k] = s
			}
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(ev); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestEncodeLine(t *testing.T) {
	real := makeEvents(t, 3, start, time.Second)
	docs := []string{
		`{"event":{"action":"<login> & \"co\"","outcome":"success"},"labels":{"source":"t\u00e9nant \u2028"}}`,
		`{"event":{"action":"","outcome":7},"labels":{"source":null}}`,
		`{"event":"not an object","labels":[1,2]}`,
		"{\n  \"event\": {\"action\": \"spaced\"},\r\n  \"message\": \"a\\nb\"\n}",
		`[1,2,3]`,
		`"just a string"`,
	}
	evs := append([]event.Event(nil), real...)
	for i, d := range docs {
		e := real[i%len(real)]
		e.Doc = []byte(d)
		evs = append(evs, e)
	}
	evs[len(evs)-1].Time = time.Time{}
	evs[len(evs)-2].Time = time.Date(1969, 12, 31, 23, 59, 58, 500_000_000, time.UTC)
	no := false
	for _, cfg := range []Config{
		{URL: "https://h:8088", Token: "t", Host: "fwd <1>", Index: "wss"},
		{URL: "https://h:8088", Token: "t", Host: "fwd-1", Fields: &no},
	} {
		o := newOutput(t, cfg)
		for i, e := range evs {
			got, err := o.encode(e)
			if err != nil {
				t.Fatalf("event %d: %v", i, err)
			}
			want := refLine(t, o, e)
			if i < len(real) && !bytes.Equal(got, want) {
				t.Errorf("event %d:\n got %s\nwant %s", i, got, want)
			}
			if bytes.Count(got, []byte("\n")) != 1 || got[len(got)-1] != '\n' {
				t.Errorf("event %d: not one line: %q", i, got)
			}
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatalf("event %d: %v in %s", i, err, got)
			}
			json.Unmarshal(want, &w)
			if !reflect.DeepEqual(g, w) {
				t.Errorf("event %d:\n got %s\nwant %s", i, got, want)
			}
		}
		for _, bad := range []string{`{"a":`, `{"event":{"action":"x"}} trailing`, ``} {
			e := real[0]
			e.Doc = []byte(bad)
			if line, err := o.appendLine([]byte("kept"), e); err == nil || string(line) != "kept" {
				t.Errorf("%q: %q, %v; want the invalid-document error and dst unchanged", bad, line, err)
			}
		}
	}
}
