package detect

import (
	"errors"
	"strings"
	"testing"
)

// overrideRules: noisy (file rules/noisy.yml) and quiet, low, in
// rules/pack.yml, with a correlation over quiet.
func overrideRules(t *testing.T) []*Rule {
	t.Helper()
	noisy, err := ParseFile("rules/noisy.yml", []byte(detRuleYAML("noisy-id", "s:\n    event.action: login\ncondition: s")))
	if err != nil {
		t.Fatal(err)
	}
	pack := "title: quiet\nid: quiet-id\nlevel: low\nlogsource:\n    product: test\ndetection:\n    s:\n        event.action: logout\n    condition: s\n---\n" +
		"title: many logouts\nid: many\ncorrelation:\n    type: event_count\n    rules:\n        - quiet-id\n    timespan: 1m\n    condition:\n        gte: 2\n"
	rest, err := ParseFile("rules/pack.yml", []byte(pack))
	if err != nil {
		t.Fatal(err)
	}
	return append(noisy, rest...)
}

func overrideEngine(t *testing.T, opts Options) (*Engine, error) {
	opts.Logsources = testLogsources
	return New(overrideRules(t), opts)
}

func TestDisabledRules(t *testing.T) {
	for _, key := range []string{"noisy-id", "noisy"} {
		e, err := overrideEngine(t, Options{Disabled: map[string]bool{key: true}})
		if err != nil {
			t.Fatalf("disable %s: %v", key, err)
		}
		if got := e.Evaluate(login("alice", ""), t0, "h1"); got != nil {
			t.Errorf("disabled by %s, still fires: %v", key, ruleIDs(got))
		}
		for _, r := range e.Rules() {
			if r.ID == "noisy-id" {
				t.Errorf("disabled by %s, still in Rules", key)
			}
		}
	}
	// false changes nothing.
	e, err := overrideEngine(t, Options{Disabled: map[string]bool{"noisy": false}})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Evaluate(login("alice", ""), t0, "h1"); len(got) != 1 {
		t.Errorf("disabled: false: %d alerts", len(got))
	}
	// A correlation and its rule disabled together (by file name).
	if _, err := overrideEngine(t, Options{Disabled: map[string]bool{"pack": true}}); err != nil {
		t.Errorf("disabling a rule with its correlation: %v", err)
	}
}

func TestLevelOverride(t *testing.T) {
	rules := overrideRules(t)
	e, err := New(rules, Options{Logsources: testLogsources, Levels: map[string]string{"noisy": "critical", "quiet-id": "high", "pack": "informational"}})
	if err != nil {
		t.Fatal(err)
	}
	a := e.Evaluate(login("alice", ""), t0, "h1")
	if len(a) != 1 || a[0].Level != "critical" || !strings.Contains(string(a[0].ECS()), `"severity":5,"risk_score":99`) {
		t.Fatalf("noisy at critical: %+v", a)
	}
	// The id wins over the file name; the correlation takes the file's.
	logout := ev("logout", "success", "alice", "")
	e.Evaluate(logout, t0, "h2")
	a = e.Evaluate(logout, t0, "h3")
	if len(a) != 1 || a[0].RuleID != "many" || a[0].Level != "informational" {
		t.Fatalf("correlation at informational: %+v", a)
	}
	for _, r := range e.Rules() {
		if r.ID == "quiet-id" && r.Level != "high" {
			t.Errorf("Rules shows quiet at %s", r.Level)
		}
	}
	if rules[0].Level != "" || rules[1].Level != "low" {
		t.Errorf("the caller's rules changed: %q %q", rules[0].Level, rules[1].Level)
	}
}

// A typo in an override is an error, never a noisy rule silently left on;
// so is a correlation left without its rule.
func TestOverrideRefusals(t *testing.T) {
	for _, c := range []struct {
		name string
		opts Options
		want []string
	}{
		{"unknown disabled", Options{Disabled: map[string]bool{"noisy.yml": true, "nosiy": true}},
			[]string{`detections.disabled: "noisy.yml" is neither the id nor the file name`, `detections.disabled: "nosiy"`}},
		{"unknown level key", Options{Levels: map[string]string{"Noisy-ID": "low"}}, []string{`detections.level: "Noisy-ID" is neither`}},
		{"bad level", Options{Levels: map[string]string{"noisy": "severe"}}, []string{`detections.level: noisy: level "severe" must be informational`}},
		{"correlation on a disabled rule", Options{Disabled: map[string]bool{"quiet-id": true}},
			[]string{`rules/pack.yml:16: correlation many refers to rule "quiet-id" (rules/pack.yml), which detections.disabled turns off: disable pack too`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := overrideEngine(t, c.opts)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	_, err := overrideEngine(t, Options{Disabled: map[string]bool{"quiet-id": true}})
	var le *LoadError
	if !errors.As(err, &le) || le.File != "rules/pack.yml" || le.Line != 16 {
		t.Errorf("correlation refusal %T %v is not a *LoadError at rules/pack.yml:16", err, err)
	}
}
