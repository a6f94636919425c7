package kafka

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/auditfwd/auditfwd/internal/event"
)

func TestLookup(t *testing.T) {
	doc := `{"@timestamp":"2026-11-24T10:15:02.123Z","message":"a \"quoted\" } { , value",` +
		`"event":{"kind":"event","category":["configuration"],"id":"7","original":"{\"x\":[1,{\"y\":\"}\"}]}\\\\","dataset":"wss.audit","n":12.5,"ok":true,"nothing":null},` +
		`"labels":{"source":"tenant-a"},"esc\"aped":{"k\u0065y":"v\u00e9"},"empty":{},"deep":{"a":{"b":{"c":"d"}}}}`
	cases := []struct {
		path string
		val  string
		kind valueKind
	}{
		{"event.dataset", "wss.audit", kindScalar},
		{"labels.source", "tenant-a", kindScalar},
		{"message", `a "quoted" } { , value`, kindScalar},
		{"event.n", "12.5", kindScalar},
		{"event.ok", "true", kindScalar},
		{"event.nothing", "", kindNull},
		{"event.category", "", kindArray},
		{"event", "", kindObject},
		{"esc\"aped.key", "vé", kindScalar},
		{"deep.a.b.c", "d", kindScalar},
		{"@timestamp", "2026-11-24T10:15:02.123Z", kindScalar},
		{"event.module", "", kindMissing},
		{"labels.source.x", "", kindMissing},
		{"empty.x", "", kindMissing},
		{"nope", "", kindMissing},
		{"deep.a.x", "", kindMissing},
	}
	for _, tc := range cases {
		val, kind, err := lookup([]byte(doc), strings.Split(tc.path, "."))
		if err != nil || val != tc.val || kind != tc.kind {
			t.Errorf("%s: %q %v %v, want %q %v", tc.path, val, kind, err, tc.val, tc.kind)
		}
	}
	// lookup is not a validator (it does not check what it skips), but it
	// never mistakes a broken document for an answer.
	for _, bad := range []string{``, `[]`, `{"a" {}}`, `{"b":"x`, `{"b":1 "a":{"b":1}}`, `{"b":{"c":[1,2}`, `{"a":{"b":"x}}`, `{"a":{"b":tru}}`, `{"a":{"b":1.2.3}}`} {
		if val, kind, err := lookup([]byte(bad), []string{"a", "b"}); err == nil {
			t.Errorf("%q: %q %v, want an error", bad, val, kind)
		}
	}
}

// lookup agrees with encoding/json on every valid document it is given.
func FuzzLookup(f *testing.F) {
	f.Add(`{"event":{"dataset":"wss.audit"},"labels":{"source":"a"}}`, "event.dataset")
	f.Add(`{"a":{"b":"\u00e9\"\\"},"a":{"b":2}}`, "a.b")
	f.Add(`{"x":[{"a":1}],"a":1e3}`, "a")
	f.Add(`{"a\\u0062":{"c":null}}`, "ab.c")
	f.Fuzz(func(t *testing.T, doc, path string) {
		if path == "" || !json.Valid([]byte(doc)) || !utf8.ValidString(doc) || !utf8.ValidString(path) {
			return // documents are valid UTF-8; encoding/json rewrites invalid bytes
		}
		parts := strings.Split(path, ".")
		val, kind, err := lookup([]byte(doc), parts)
		var v any
		dec := json.NewDecoder(strings.NewReader(doc))
		dec.UseNumber()
		if dec.Decode(&v) != nil {
			return
		}
		if _, isObj := v.(map[string]any); !isObj {
			if err == nil {
				t.Fatalf("%s: no error for a non-object document", doc)
			}
			return
		}
		if hasDuplicateKeys(doc) {
			return // encoding/json keeps the last, lookup the first: both are JSON
		}
		if err != nil {
			t.Fatalf("%s %s: %v", doc, path, err)
		}
		want, wantKind := walkJSON(v, parts)
		if kind != wantKind || (kind == kindScalar && val != want) {
			t.Fatalf("%s %s: %q %v, want %q %v", doc, path, val, kind, want, wantKind)
		}
	})
}

func walkJSON(v any, path []string) (string, valueKind) {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return "", kindMissing
		}
		if v, ok = m[p]; !ok {
			return "", kindMissing
		}
	}
	switch x := v.(type) {
	case nil:
		return "", kindNull
	case map[string]any:
		return "", kindObject
	case []any:
		return "", kindArray
	case string:
		return x, kindScalar
	case bool:
		if x {
			return "true", kindScalar
		}
		return "false", kindScalar
	case json.Number:
		return string(x), kindScalar // numbers keep their text
	}
	return "", kindMissing
}

// hasDuplicateKeys reports whether any object in doc repeats a key.
func hasDuplicateKeys(doc string) bool {
	dec := json.NewDecoder(strings.NewReader(doc))
	type frame struct {
		obj  bool
		keys map[string]bool
		key  bool // next token in an object is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.obj && top.key {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				continue
			}
			k := tok.(string)
			if top.keys[k] {
				return true
			}
			top.keys[k] = true
			top.key = false
			continue
		}
		switch d := tok.(type) {
		case json.Delim:
			switch d {
			case '{':
				if top != nil && top.obj {
					top.key = true
				}
				stack = append(stack, &frame{obj: true, keys: map[string]bool{}, key: true})
				continue
			case '[':
				if top != nil && top.obj {
					top.key = true
				}
				stack = append(stack, &frame{})
				continue
			case '}', ']':
				stack = stack[:len(stack)-1]
				continue
			}
		}
		if top != nil && top.obj {
			top.key = true
		}
	}
}

func TestTemplateRender(t *testing.T) {
	ev := makeEvents(t, 1, "tenant-a", 1)[0]
	cases := []struct {
		tmpl, want, err string
	}{
		{"wss-%{event.dataset}", "wss-wss.audit", ""},
		{"%{labels.source}-%{event.module}-%{event.dataset}", "tenant-a-wss-wss.audit", ""},
		{"%{event.hash}", ev.HashHex(), ""},
		{"static", "static", ""},
		{"x-%{event.nope}", "", "field event.nope is missing from the event"},
		{"x-%{event.category}", "", "field event.category is an array, not a string, number or bool"},
		{"x-%{event}", "", "field event is an object"},
	}
	for _, tc := range cases {
		tm, err := parseTemplate(tc.tmpl)
		if err != nil {
			t.Fatalf("%s: %v", tc.tmpl, err)
		}
		var fc fieldCache
		fc.reset(&ev)
		got, err := tm.render(nil, &fc)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: error %v, want %q", tc.tmpl, err, tc.err)
		case tc.err == "" && (err != nil || string(got) != tc.want):
			t.Errorf("%s: %q %v, want %q", tc.tmpl, got, err, tc.want)
		}
	}

	// The record hash comes from the Event, even if the document lies.
	liar := ev
	liar.Doc = []byte(strings.Replace(string(ev.Doc), ev.HashHex(), strings.Repeat("0", 64), 1))
	var fc fieldCache
	fc.reset(&liar)
	if v, err := fc.get(hashField, []string{"event", "hash"}); err != nil || v != ev.HashHex() {
		t.Errorf("event.hash: %q %v", v, err)
	}
	// An empty value is no topic.
	empty := withField(t, ev, "labels", map[string]any{"source": ""})
	tm, _ := parseTemplate("wss-%{labels.source}")
	fc.reset(&empty)
	if _, err := tm.render(nil, &fc); err == nil || !strings.Contains(err.Error(), "labels.source is empty") {
		t.Errorf("empty field: %v", err)
	}
}

func withField(t testing.TB, e event.Event, field string, v any) event.Event {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(e.Doc, &doc); err != nil {
		t.Fatal(err)
	}
	doc[field] = v
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	e.Doc = b
	return e
}

func BenchmarkLookup(b *testing.B) {
	ev := makeEvents(b, 1, "tenant-a", 1)[0]
	path := []string{"labels", "source"} // after event.original: the far end
	b.SetBytes(int64(len(ev.Doc)))
	b.ReportAllocs()
	for b.Loop() {
		if v, _, err := lookup(ev.Doc, path); err != nil || v != "tenant-a" {
			b.Fatal(v, err)
		}
	}
}
