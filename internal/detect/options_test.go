package detect

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// optRule is a detection rule (lines 1-8) with custom text from line 9.
func optRule(custom string) string {
	return detRuleYAML("r", "s:\n    f: x\ncondition: s") + custom
}

// The engine options are read at load; a typo anywhere under
// custom.auditfwd is refused with its file and line, never left to turn
// the rule into a plain one that fires on every match.
func TestEngineOptionRefusals(t *testing.T) {
	nv := func(body string) string {
		return optRule("custom:\n    auditfwd:\n        new_value:\n" + indent(body, "            ") + "\n")
	}
	cases := []struct{ name, yaml, want string }{
		{"unknown option", optRule("custom:\n    auditfwd:\n        outside_buisness_hours: true\n"),
			"test.yml:11: unknown engine option custom.auditfwd.outside_buisness_hours (new_value, outside_business_hours)"},
		{"auditfwd not a map", optRule("custom:\n    auditfwd: new_value\n"), "test.yml:10: custom.auditfwd must be a map"},
		{"option twice", optRule("custom:\n    auditfwd:\n        outside_business_hours: true\n        outside_business_hours: false\n"),
			"test.yml:12: outside_business_hours appears twice"},
		{"business hours not a bool", optRule("custom:\n    auditfwd:\n        outside_business_hours: yes please\n"),
			"test.yml:11: outside_business_hours must be true or false"},
		{"new_value not a map", optRule("custom:\n    auditfwd:\n        new_value: source.ip\n"), "test.yml:11: new_value must be a map"},
		{"unknown new_value key", nv("field: source.ip\nlearn: 1d\ngroupby: [user.name]"),
			`test.yml:14: unknown new_value option "groupby" (field, group-by, learn, history)`},
		{"no field", nv("learn: 1d"), "test.yml:12: new_value needs the field"},
		{"no learn", nv("field: source.ip"), "test.yml:12: new_value needs learn"},
		{"bad learn", nv("field: source.ip\nlearn: 2w"), `test.yml:13: new_value learn: timespan "2w"`},
		{"bad history", nv("field: source.ip\nlearn: 1d\nhistory: 0d"), `test.yml:14: new_value history: timespan "0d" must be more than zero`},
		{"history shorter than learn", nv("field: source.ip\nlearn: 14d\nhistory: 7d"), "test.yml:14: new_value history (168h0m0s) is shorter than learn (336h0m0s)"},
		{"learn past the default history", nv("field: source.ip\nlearn: 100d"), "test.yml:13: new_value history (2160h0m0s) is shorter than learn"},
		{"field in group-by", nv("field: source.ip\nlearn: 1d\ngroup-by: [source.ip]"), "test.yml:12: new_value: field source.ip is also in group-by"},
		{"group-by not a list", nv("field: source.ip\nlearn: 1d\ngroup-by: {a: b}"), "test.yml:14: group-by must be a list"},
		{"on a correlation", corr("event_count", "    condition:\n        gte: 2\ncustom:\n    auditfwd:\n        outside_business_hours: true\n"),
			"test.yml:12: custom.auditfwd engine options apply to detection rules, not correlations"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseFile("test.yml", []byte(c.yaml))
			if err == nil {
				t.Fatalf("loaded; want refusal %q\n%s", c.want, c.yaml)
			}
			var le *LoadError
			if !strings.Contains(err.Error(), c.want) || !errors.As(err, &le) || le.File != "test.yml" {
				t.Fatalf("error %q\nwant a *LoadError containing %q\n%s", err, c.want, c.yaml)
			}
		})
	}
}

func TestEngineOptionsParsed(t *testing.T) {
	rules, err := ParseFile("test.yml", []byte(optRule("custom:\n    other_tool: {x: 1}\n    auditfwd:\n        outside_business_hours: true\n"+
		"        new_value:\n            field: source.ip\n            group-by: [user.name, organization.id]\n            learn: 14d\n")))
	if err != nil {
		t.Fatal(err)
	}
	r := rules[0]
	want := NewValue{Field: "source.ip", GroupBy: []string{"user.name", "organization.id"}, Learn: 14 * 24 * time.Hour, History: DefaultHistory}
	if !r.OutsideBusinessHours || r.NewValue == nil || r.NewValue.Field != want.Field || !slices.Equal(r.NewValue.GroupBy, want.GroupBy) ||
		r.NewValue.Learn != want.Learn || r.NewValue.History != want.History {
		t.Fatalf("options: hours %v, new_value %+v; want %+v", r.OutsideBusinessHours, r.NewValue, want)
	}
	if _, ok := r.Option("new_value"); !ok || r.Custom["other_tool"] == nil {
		t.Errorf("Custom not kept: %v", r.Custom)
	}
}
