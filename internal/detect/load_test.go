package detect

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
)

// Every refused rule names its file and line and says why.
func TestLoadRefusals(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       string // file:line: and a part of the message
	}{
		{"unsupported modifier", detRuleYAML("r", "s:\n    f|windash: '-x'\ncondition: s"),
			"test.yml:7: f|windash: modifier windash"},
		{"unknown modifier", detRuleYAML("r", "s:\n    f|startwith: x\ncondition: s"),
			`test.yml:7: f|startwith: unknown modifier "startwith"`},
		{"utf16", detRuleYAML("r", "s:\n    f|wide|base64: x\ncondition: s"), "test.yml:7: f|wide|base64: modifier wide"},
		{"unknown identifier", detRuleYAML("r", "s:\n    f: x\ncondition: s and filter"),
			`test.yml:8: condition: condition names "filter"`},
		{"pattern matching nothing", detRuleYAML("r", "s:\n    f: x\ncondition: 1 of filter*"),
			`test.yml:8: condition: "1 of filter*" matches no search identifier`},
		{"aggregation", detRuleYAML("r", "s:\n    f: x\ncondition: s | count() > 5"), "test.yml:8: condition: aggregation"},
		{"timeframe", detRuleYAML("r", "s:\n    f: x\ntimeframe: 5m\ncondition: s"), "test.yml:8: timeframe"},
		{"bad regex", detRuleYAML("r", "s:\n    f|re: '(?<=a)b'\ncondition: s"), "test.yml:7: f|re: modifier re:"},
		{"bad cidr", detRuleYAML("r", "s:\n    f|cidr: 10.0.0.0/33\ncondition: s"), "test.yml:7: f|cidr: modifier cidr:"},
		{"numeric modifier on text", detRuleYAML("r", "s:\n    f|gt: ten\ncondition: s"), "test.yml:7: f|gt: modifier gt needs a number"},
		{"all with one value", detRuleYAML("r", "s:\n    f|contains|all: x\ncondition: s"), "test.yml:7: f|contains|all: modifier all needs a list"},
		{"re sub-modifier alone", detRuleYAML("r", "s:\n    f|i: x\ncondition: s"), `test.yml:7: f|i: modifier "i" is a sub-modifier of re`},
		{"two operators", detRuleYAML("r", "s:\n    f|contains|endswith: x\ncondition: s"), `cannot be combined`},
		{"base64 after contains", detRuleYAML("r", "s:\n    f|contains|base64: x\ncondition: s"), `must come before`},
		{"exists not bool", detRuleYAML("r", "s:\n    f|exists: yes please\ncondition: s"), "test.yml:7: f|exists: exists takes true or false"},
		{"nested map value", detRuleYAML("r", "s:\n    f:\n        g: x\ncondition: s"), "test.yml:8: f: a value must be"},
		{"no condition", detRuleYAML("r", "s:\n    f: x"), "test.yml:5: detection has no condition"},
		{"missing id", "title: x\nlogsource:\n    product: test\ndetection:\n    s:\n        f: x\n    condition: s\n", "test.yml:1: id is missing"},
		{"bad level", "title: x\nid: r\nlevel: severe\nlogsource:\n    product: test\ndetection:\n    s:\n        f: x\n    condition: s\n", `test.yml:3: level "severe"`},
		{"v1 collection", "action: global\ntitle: x\nid: r\n", "test.yml:1: action"},
		{"yaml syntax", "title: x\nid: r\ndetection:\n  s: [a\n", "test.yml:"},
		{"correlation type", corr("value_sum", "    condition:\n        gte: 2\n"), "test.yml:4: correlation type value_sum is not supported"},
		{"correlation upper bound", corr("event_count", "    condition:\n        lt: 2\n"), "test.yml:10: correlation condition lt is not supported"},
		{"correlation expression condition", corr("temporal", "    condition: a and b\n"), "test.yml:9: a correlation condition must be a map"},
		{"correlation timespan", strings.Replace(corr("event_count", "    condition:\n        gte: 2\n"), "10m", "10w", 1), `test.yml:8: timespan "10w"`},
		{"timespan past int64 nanoseconds", strings.Replace(corr("event_count", "    condition:\n        gte: 2\n"), "10m", "999999999d", 1), `test.yml:8: timespan "999999999d" is too long`},
		{"value_count without field", corr("value_count", "    condition:\n        gte: 2\n"), "test.yml:10: value_count needs the field"},
		{"aliases", corr("temporal", "    aliases:\n        x:\n            a: b\n"), "test.yml:9: correlation aliases are not supported"},
		{"complex key in a selection", detRuleYAML("r", "s:\n    ? [a, b]\n    : x\ncondition: s"), "test.yml:7: a field name must be a plain string"},
		{"complex search identifier", detRuleYAML("r", "? [a]\n: {f: x}\ncondition: s"), "test.yml:6: a search identifier name must be a plain string"},
		{"rule listed twice", strings.Replace(corr("temporal", ""), "- b1", "- a1", 1), `test.yml:7: rule "a1" is listed twice`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseFile("test.yml", []byte(c.yaml))
			if err == nil {
				t.Fatalf("loaded; want refusal %q\n%s", c.want, c.yaml)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q\nwant it to contain %q\n%s", err, c.want, c.yaml)
			}
			var le *LoadError
			if !errors.As(err, &le) || le.File != "test.yml" {
				t.Fatalf("error %T %v is not a *LoadError for test.yml", err, err)
			}
		})
	}
}

// corr is a correlation rule over rules a1 and b1 (lines: 1 title, 2 id,
// 3 correlation, 4 type, 5 rules, 6 a1, 7 b1, 8 timespan, 9 group-by ...).
func corr(typ, extra string) string {
	return "title: c\nid: c1\ncorrelation:\n    type: " + typ + "\n    rules:\n        - a1\n        - b1\n    timespan: 10m\n" + extra
}

// Refusals that need the whole rule set: New checks them, also with
// file and line.
func TestNewRefusals(t *testing.T) {
	base := detRuleYAML("a1", "s:\n    f: x\ncondition: s")
	cases := []struct {
		name, yaml string
		opts       Options
		want       string
	}{
		{"unknown reference", base + "---\n" + corr("temporal", "    group-by:\n        - user.name\n"), Options{},
			`test.yml:16: correlation refers to rule "b1", which is not loaded`},
		{"duplicate id", base + "---\n" + detRuleYAML("a1", "s:\n    f: y\ncondition: s"), Options{},
			`test.yml:10: id or name "a1" is also used by test.yml:1`},
		{"unknown logsource", strings.Replace(base, "product: test", "product: windows", 1), Options{},
			"test.yml:1: logsource {product: windows} is not one this engine reads (known: {product: test})"},
		{"cycle", "title: c\nid: c1\ncorrelation:\n    type: temporal\n    rules:\n        - c2\n        - a1\n    timespan: 1m\n---\n" +
			"title: c\nid: c2\ncorrelation:\n    type: temporal\n    rules:\n        - c1\n        - a1\n    timespan: 1m\n---\n" + base, Options{},
			"cycle: c1 -> c2 -> c1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rules, err := ParseFile("test.yml", []byte(c.yaml))
			if err != nil {
				t.Fatalf("ParseFile: %v", err)
			}
			if c.opts.Logsources == nil {
				c.opts.Logsources = testLogsources
			}
			_, err = New(rules, c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New: %v\nwant an error containing %q", err, c.want)
			}
		})
	}
}

func TestLoadFSAndCustom(t *testing.T) {
	fsys := fstest.MapFS{
		"rules/b.yml": {Data: []byte("title: B\nid: b\nlevel: high\ntags:\n    - attack.t1078\nlogsource:\n    product: broadcom_wss\n    service: audit\n" +
			"detection:\n    s:\n        event.action: login\n    condition: s\ncustom:\n    auditfwd:\n        outside_business_hours: false\n    other_tool: {x: 1}\nx_note: kept\n")},
		"rules/a.yaml":    {Data: []byte(detRuleYAML("a", "s:\n    f: x\ncondition: s"))},
		"rules/README.md": {Data: []byte("not a rule")},
		"rules/bad/c.yml": {Data: []byte("title: C\nid: c\n")},
		"rules/bad/d.yml": {Data: []byte(detRuleYAML("d", "s:\n    f|windash: x\ncondition: s"))},
		"rules/sub/e.yml": {Data: []byte("")},
	}
	rules, err := LoadFS(fsys, "rules")
	if err == nil {
		t.Fatal("LoadFS accepted rules/bad")
	}
	for _, want := range []string{"rules/bad/c.yml:1: detection is missing", "rules/bad/d.yml:7:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("LoadFS error %q lacks %q", err, want)
		}
	}
	if len(rules) != 2 || rules[0].ID != "a" || rules[1].ID != "b" {
		t.Fatalf("loaded %d rules (want a, b in file order): %+v", len(rules), rules)
	}
	b := rules[1]
	if v, ok := b.Option("outside_business_hours"); !ok || v != false || b.OutsideBusinessHours || b.Custom["other_tool"] == nil {
		t.Errorf("Option(outside_business_hours) = %v, %v; OutsideBusinessHours %v; Custom %v", v, ok, b.OutsideBusinessHours, b.Custom)
	}
	if b.Extra["x_note"] != "kept" {
		t.Errorf("Extra = %v", b.Extra)
	}
	if b.File != "rules/b.yml" || b.Line != 1 || b.Level != "high" || b.Tags[0] != "attack.t1078" {
		t.Errorf("rule b = %+v", b)
	}
	// The default logsource mapping reads broadcom_wss/audit as event.dataset wss.audit.
	e, err := New(rules[1:], Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Evaluate([]byte(`{"event":{"dataset":"wss.audit","action":"login"}}`), t0, "h"); len(got) != 1 {
		t.Errorf("wss.audit login: %d alerts", len(got))
	}
	if got := e.Evaluate([]byte(`{"event":{"dataset":"wss.access","action":"login"}}`), t0, "h"); len(got) != 0 {
		t.Errorf("other dataset: %d alerts", len(got))
	}
}
