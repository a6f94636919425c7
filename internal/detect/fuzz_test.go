package detect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzCondition: the condition parser never panics; what it accepts
// prints (String) to a condition that parses to the same tree; compiling
// and evaluating any accepted condition never panics.
func FuzzCondition(f *testing.F) {
	for _, s := range []string{
		"a", "a and b", "a or b and not c", "(a or b) and c", "1 of sel*", "all of them",
		"1 of selection* and not 1 of filter*", "not not a", "a and (b and c)", "((a))",
		"A AND b OR NOT c", "sel | count() > 5", "2 of x", "1 of", "(", ")", "not", "them",
	} {
		f.Add(s)
	}
	names := []string{"a", "b", "c", "sel1", "sel2", "_x", "filter"}
	tests := map[string]test{}
	for i, n := range names {
		i := i
		tests[n] = func(ev []field) bool { return len(ev) > i%2 }
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseCondition(s)
		if err != nil {
			return
		}
		s1 := c.String()
		c2, err := parseCondition(s1)
		if err != nil {
			t.Fatalf("%q printed as %q, which does not parse: %v", s, s1, err)
		}
		if s2 := c2.String(); s2 != s1 {
			t.Fatalf("%q printed as %q, then as %q", s, s1, s2)
		}
		if fn, err := compileCondition(c, names, tests); err == nil {
			fn(make([]field, 1))
		}
	})
}

// FuzzRule: the rule loader never panics on any bytes, and an engine built
// from whatever it accepts evaluates events without panicking.
func FuzzRule(f *testing.F) {
	f.Add([]byte(detRuleYAML("r1", "s:\n    f|contains|all:\n        - a\n        - b\n    g|re|i: '^x'\ncondition: s and not 1 of f*\nf1:\n    h: null")))
	f.Add([]byte(corrRules))
	f.Add([]byte("title: x\nid: y\ncorrelation:\n    type: value_count\n    rules: [a]\n    timespan: 5m\n    condition: {field: f, gt: 2}\n"))
	f.Add([]byte(nvRule("        outside_business_hours: true\n")))
	f.Add([]byte(detRuleYAML("r2", "s:\n    event.action: login\ncondition: s") + "custom:\n    auditfwd:\n        new_value: {field: source.ip, learn: 1s}\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("title: [\n"))
	docs := [][]byte{
		ev("login", "failure", "admin", "10.0.0.1"),
		ev("login", "success", "admin", "10.0.0.2"),
		[]byte(`{"f":"ab","g":"X","h":null,"message":"m"}`),
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, err := ParseFile("f.yml", data)
		if err != nil {
			var sb strings.Builder
			sb.WriteString(err.Error()) // every error must render
			return
		}
		e, err := New(rules, Options{Logsources: testLogsources, NewValueLimit: 2})
		if err != nil {
			return
		}
		for i, d := range docs {
			e.Evaluate(d, t0.Add(time.Duration(i)*time.Hour), fmt.Sprint(i))
		}
		if _, err := e.Restore(e.State()); err != nil {
			t.Fatalf("Restore(State()): %v", err)
		}
	})
}

// FuzzScan holds the scanner to encoding/json: it accepts every JSON
// object json.Valid accepts, and (on a document without duplicate keys)
// finds at each path the values a decoded map holds there.
func FuzzScan(f *testing.F) {
	for _, s := range []string{
		`{"a":{"b":"x","c":[1,"y",null,{"d":1}]},"a.b":"z","e":true,"msg":"q\"\\\u00e9\ud83d\ude00"}`,
		`{"a":1,"a":{"b":2}}`, `{}`, `[]`, `{"a":}`, `{"a":1e5,"b":-0.5,"c":01}`, `{"a":"\ud800"}`, ` {"x":[[]]} `,
		`{"a":{"b":{"c":"deep"}},"event":{"category":["iam","x"]}}`,
	} {
		f.Add([]byte(s))
	}
	paths := []string{"a", "a.b", "a.b.c", "a.c", "e", "msg", "event.category", "x"}
	f.Fuzz(func(t *testing.T, doc []byte) {
		fs := newFieldSet()
		for _, p := range paths {
			fs.add(p)
		}
		sc := scanner{set: fs, fields: make([]field, len(fs.names))}
		err := sc.scan(doc)
		valid := json.Valid(doc) && bytes.HasPrefix(bytes.TrimLeft(doc, " \t\r\n"), []byte("{"))
		// The scanner may accept a document invalid only inside a string
		// it skips (skipStr), never refuse a valid one.
		if valid && err != nil {
			t.Fatalf("scan error %v on a valid object: %q", err, doc)
		}
		if !valid || !utf8.Valid(doc) {
			return
		}
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(doc))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("decode: %v", err)
		}
		canon, _ := json.Marshal(m) // no duplicate keys any more
		if err := sc.scan(canon); err != nil {
			t.Fatalf("scan of re-encoded %s: %v", canon, err)
		}
		for i, p := range paths {
			want := refLookup(m, p)
			got := describe(&sc.fields[i])
			if !slices.Equal(got, want) {
				t.Fatalf("%s in %s: scanner %v, encoding/json %v", p, canon, got, want)
			}
		}
	})
}

// describe lists what a field holds, sorted, for comparison.
func describe(f *field) []string {
	var out []string
	if f.null {
		out = append(out, "<null>")
	}
	if f.object {
		out = append(out, "<object>")
	}
	for _, v := range f.vals {
		if v.kind == kObject {
			out = append(out, "<nested>")
		} else {
			out = append(out, fmt.Sprintf("%d:%s", v.kind, v.text))
		}
	}
	slices.Sort(out)
	return out
}

// refLookup is describe for a decoded map: every way of splitting path at
// dots into keys of nested objects.
func refLookup(m map[string]any, path string) []string {
	var out []string
	var walk func(m map[string]any, rest string)
	walk = func(m map[string]any, rest string) {
		for i := 0; i <= len(rest); i++ {
			if i < len(rest) && rest[i] != '.' {
				continue
			}
			v, ok := m[rest[:i]]
			if !ok {
				continue
			}
			if i == len(rest) {
				out = append(out, refValue(v)...)
			} else if sub, ok := v.(map[string]any); ok {
				walk(sub, rest[i+1:])
			}
		}
	}
	walk(m, path)
	slices.Sort(out)
	return out
}

func refValue(v any) []string {
	scalar := func(v any) string {
		switch v := v.(type) {
		case string:
			return fmt.Sprintf("%d:%s", kString, v)
		case json.Number:
			return fmt.Sprintf("%d:%s", kNumber, v)
		case bool:
			return fmt.Sprintf("%d:%v", kBool, v)
		}
		return "<nested>"
	}
	switch v := v.(type) {
	case nil:
		return []string{"<null>"}
	case map[string]any:
		return []string{"<object>"}
	case []any:
		var out []string
		for _, e := range v {
			if e != nil {
				out = append(out, scalar(e))
			}
		}
		return out
	}
	return []string{scalar(v)}
}

// FuzzBusinessHours: what parses prints as what parses back the same,
// and Contains answers for any instant.
func FuzzBusinessHours(f *testing.F) {
	f.Add("UTC", "mon-fri", "08:00-18:00")
	f.Add("Europe/Berlin", "fri-mon,wed", "22:00-06:00")
	f.Add("", "", "00:00-24:00")
	f.Add("America/New_York", "Sunday", "7:05-7:06")
	f.Fuzz(func(t *testing.T, tz, days, hours string) {
		var dl []string
		if days != "" {
			dl = []string{days}
		}
		b, err := ParseBusinessHours(tz, dl, hours)
		if err != nil {
			return
		}
		s := b.String()
		parts := strings.Fields(s)
		if len(parts) != 3 {
			t.Fatalf("%q prints as %q", []string{tz, days, hours}, s)
		}
		b2, err := ParseBusinessHours(parts[2], []string{parts[0]}, parts[1])
		if err != nil || b2.String() != s || b2.Days != b.Days || b2.Start != b.Start || b2.End != b.End {
			t.Fatalf("%q prints as %q, which parses back as %v, %v", []string{tz, days, hours}, s, b2, err)
		}
		for _, at := range []time.Time{t0, t0.Add(7 * time.Hour), t0.Add(-13 * time.Hour), time.Unix(0, 0)} {
			b.Contains(at)
		}
	})
}
