package detect

import (
	"strings"
	"testing"

	"github.com/auditfwd/auditfwd/rules"
)

// The shipped rule pack loads into the engine: every modifier, condition
// and correlation it uses is one the engine supports.
func TestShippedPackLoads(t *testing.T) {
	rs, err := LoadFS(rules.FS, rules.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) < 15 {
		t.Fatalf("%d rules", len(rs))
	}
	if _, err := New(rs, Options{}); err != nil {
		t.Fatal(err)
	}
}

// A key given twice in a correlation, or an unknown logsource attribute,
// is refused with its line (found by review: the last `rules:` silently won).
func TestDuplicateKeysAndUnknownLogsourceRefused(t *testing.T) {
	for _, tc := range []struct{ name, yml, want string }{
		{"rules twice", "title: c\nid: 11111111-2222-4333-8444-555555555555\ncorrelation:\n  type: event_count\n  rules: [a]\n  rules: [b]\n  timespan: 1m\n  condition: {gte: 2}\n", "x.yml:6: rules appears twice"},
		{"logsource typo", "title: d\nid: 11111111-2222-4333-8444-555555555556\nlogsource: {product: broadcom_wss, servcie: audit}\ndetection:\n  sel: {user.name: x}\n  condition: sel\n", `x.yml:3: unknown logsource attribute "servcie"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseFile("x.yml", []byte(tc.yml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}
