package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func signIn(t0 time.Time, i int, user, outcome string) string {
	return fmt.Sprintf(`{"@timestamp":%q,"event":{"kind":"event","category":["authentication"],"type":["start"],"action":"login","outcome":%q,"dataset":"wss.audit","hash":"h%03d"},"user":{"name":%q},"source":{"ip":"203.0.113.7"}}`,
		t0.Add(time.Duration(i)*time.Minute).Format(time.RFC3339), outcome, i, user)
}

// rules list/validate/test over the built-in pack: a burst of failed
// sign-ins and a success after it fire their correlations, once each;
// another admin's single failure fires nothing; a broken rule is named
// with its file and line.
func TestRulesCommands(t *testing.T) {
	code, stdout, stderr := runBin(t, nil, "rules", "list")
	if code != 0 || strings.Count(stdout, "wss_audit/") < 15 || strings.Count(stdout, "wss_access/") < 5 {
		t.Fatalf("rules list: exit %d\n%s%s", code, stdout, stderr)
	}
	dir := t.TempDir()
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	var lines []string
	for i := 0; i < 6; i++ {
		lines = append(lines, signIn(t0, i, "alice@example.com", "failure"))
	}
	lines = append(lines, signIn(t0, 6, "alice@example.com", "success"), signIn(t0, 7, "bob@example.com", "failure"), "not json")
	events := filepath.Join(dir, "events.ndjson")
	os.WriteFile(events, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
	code, stdout, stderr = runBin(t, nil, "rules", "test", "--events", events)
	if code != 0 {
		t.Fatalf("rules test: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"WSS Admin Portal Burst of Failed Sign-Ins", "WSS Admin Portal Sign-In Succeeded After a Burst of Failures"} {
		if n := strings.Count(stdout, `"name":"`+want+`"`); n != 1 {
			t.Errorf("%d alerts of %q, want 1:\n%s", n, want, stdout)
		}
	}
	if strings.Count(stdout, `"kind":"alert"`) != 2 || strings.Contains(stdout, "bob@example.com") {
		t.Errorf("other alerts:\n%s", stdout)
	}
	if !strings.Contains(stderr, "8 events (1 lines skipped), 2 alerts") {
		t.Errorf("summary:\n%s", stderr)
	}

	os.WriteFile(filepath.Join(dir, "bad.yml"), []byte("title: broken\nid: 11111111-2222-4333-8444-555555555555\nlogsource: {product: broadcom_wss, service: audit}\ndetection:\n  selection:\n    user.name|frobnicate: x\n  condition: selection\n"), 0o600)
	code, _, stderr = runBin(t, nil, "rules", "validate", dir)
	if code != 2 || !strings.Contains(stderr, "bad.yml:6") {
		t.Fatalf("rules validate: exit %d\n%s", code, stderr)
	}
	if code, stdout, _ := runBin(t, nil, "rules", "validate", filepath.Join("..", "..", "rules", "wss_audit")); code != 0 || !strings.Contains(stdout, "ok (21 rules)") {
		t.Fatalf("the shipped pack: exit %d %s", code, stdout)
	}
}

// The pack's two engine-option rules run in rules test: a sign-in from a
// new address after the 14 days of learning, and a change on a Saturday
// night; --tz/--days/--hours move the business hours.
func TestRulesTestEngineOptions(t *testing.T) {
	code, stdout, stderr := runBin(t, nil, "rules", "list")
	if code != 0 || strings.Contains(stdout, "not run") {
		t.Fatalf("rules list: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{"detection, new_value", "detection, outside_business_hours"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("rules list lacks %q:\n%s", want, stdout)
		}
	}
	dir := t.TempDir()
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC) // a Tuesday
	change := `{"@timestamp":"2026-11-28T03:00:00Z","event":{"kind":"event","category":["configuration"],"type":["change"],"action":"modify","outcome":"success","dataset":"wss.audit","hash":"c001"},"user":{"name":"alice@example.com"}}`
	newIP := strings.Replace(signIn(t0.Add(15*24*time.Hour), 1, "alice@example.com", "success"), "203.0.113.7", "198.51.100.1", 1)
	lines := []string{signIn(t0, 0, "alice@example.com", "success"), change, signIn(t0.Add(15*24*time.Hour), 0, "alice@example.com", "success"), newIP}
	events := filepath.Join(dir, "events.ndjson")
	os.WriteFile(events, []byte(strings.Join(lines, "\n")+"\n"), 0o600)

	const newIPRule, offHoursRule = "WSS Admin Signed In From a Source Address Never Seen for That Admin", "WSS Admin Activity Outside Business Hours"
	code, stdout, stderr = runBin(t, nil, "rules", "test", "--events", events)
	if code != 0 {
		t.Fatalf("rules test: exit %d\n%s", code, stderr)
	}
	if n := strings.Count(stdout, `"name":"`+newIPRule+`"`); n != 1 || !strings.Contains(stdout, `"value":"198.51.100.1"`) {
		t.Errorf("%d alerts of the new-address rule, want 1 for 198.51.100.1:\n%s", n, stdout)
	}
	if n := strings.Count(stdout, `"name":"`+offHoursRule+`"`); n != 1 || !strings.Contains(stdout, `"@timestamp":"2026-11-28T03:00:00.000Z"`) {
		t.Errorf("%d alerts of the off-hours rule, want 1:\n%s", n, stdout)
	}
	if !strings.Contains(stderr, "business hours: mon-fri 08:00-18:00 UTC") {
		t.Errorf("summary lacks the business hours:\n%s", stderr)
	}
	// Saturday 12:00 in Tokyo is within business hours there (the
	// sign-ins, 19:00 there, are not).
	code, stdout, stderr = runBin(t, nil, "rules", "test", "--events", events, "--tz", "Asia/Tokyo", "--days", "mon-sat", "--hours", "09:00-17:00")
	if code != 0 || strings.Contains(stdout, `"@timestamp":"2026-11-28T03:00:00.000Z"`) || strings.Count(stdout, `"name":"`+offHoursRule+`"`) != 3 || !strings.Contains(stderr, "business hours: mon-sat 09:00-17:00 Asia/Tokyo") {
		t.Fatalf("rules test in Tokyo: exit %d\n%s%s", code, stdout, stderr)
	}
	code, _, stderr = runBin(t, nil, "rules", "test", "--events", events, "--tz", "Mars/Olympus")
	if code != 2 || !strings.Contains(stderr, `unknown time zone "Mars/Olympus"`) {
		t.Fatalf("bad --tz: exit %d\n%s", code, stderr)
	}
}

// A rule that does not load is a configuration error for the commands
// that run or judge rules (with its file and line), and none for the
// state commands: a rule typo must not keep an operator from the state.
func TestRuleErrorsBlockRunNotState(t *testing.T) {
	dir := t.TempDir()
	rulesDir := filepath.Join(dir, "myrules")
	os.MkdirAll(rulesDir, 0o700)
	os.WriteFile(filepath.Join(rulesDir, "bad.yml"), []byte("title: Bad\nid: 0b0b0b0b-0000-4000-8000-000000000001\nlogsource: {product: broadcom_wss, service: audit}\ndetection:\n    sel: {event.action: x}\n    condition: sel and nope\nlevel: low\n"), 0o600)
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`state_dir: %q
sources:
  - {name: s, base_url: "https://127.0.0.1:1", username: u, password: p}
outputs:
  - {name: o, type: file, path: %q}
detections:
  rules: [%q]
`, filepath.Join(dir, "state"), filepath.Join(dir, "out.ndjson"), rulesDir)), 0o600)
	code, _, stderr := runBin(t, nil, "validate", "--config", cfg)
	if code != exitUsage || !strings.Contains(stderr, "bad.yml") {
		t.Fatalf("validate: exit %d, want 2 naming bad.yml:\n%s", code, stderr)
	}
	code, stdout, stderr := runBin(t, nil, "state", "show", "--config", cfg)
	if strings.Contains(stderr, "rule error") || strings.Contains(stderr, "bad.yml") {
		t.Fatalf("state show refused over a rule error: exit %d\n%s%s", code, stdout, stderr)
	}
}
