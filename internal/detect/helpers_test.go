package detect

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// testLogsources maps the test logsource to every event, so test
// documents need no event.dataset.
var testLogsources = []LogsourceMapping{{Product: "test"}}

// detRuleYAML wraps a detection section into a complete rule.
func detRuleYAML(id, detection string) string {
	return fmt.Sprintf("title: test %s\nid: %s\nlogsource:\n    product: test\ndetection:\n%s\n", id, id, indent(detection, "    "))
}

func indent(s, pfx string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = pfx + l
		}
	}
	return strings.Join(lines, "\n")
}

// newTestEngine loads YAML rule text (documents separated by ---).
func newTestEngine(t testing.TB, yamlText string, opts Options) *Engine {
	t.Helper()
	rules, err := ParseFile("test.yml", []byte(yamlText))
	if err != nil {
		t.Fatalf("ParseFile: %v\n%s", err, yamlText)
	}
	if opts.Logsources == nil {
		opts.Logsources = testLogsources
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) }
	}
	e, err := New(rules, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

var t0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

// ruleIDs lists the rule ids of alerts.
func ruleIDs(as []Alert) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.RuleID)
	}
	return out
}
