package detect

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestAlertECS(t *testing.T) {
	f := newFeeder(t)
	fail := ev("login", "failure", "admin@example.com", "203.0.113.7")
	success := ev("login", "success", "admin@example.com", "203.0.113.7")
	for i := 0; i < 3; i++ {
		f.feed(fail, time.Duration(i)*time.Minute)
	}
	got := only(f.feed(success, 5*time.Minute), "brute")
	if len(got) != 1 {
		t.Fatalf("no brute alert: %v", ruleIDs(f.alerts))
	}
	a := got[0]
	raw := a.ECS()
	if bytes := raw; strings.ContainsAny(string(bytes), "\n") {
		t.Fatalf("ECS document is not one line: %s", raw)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("ECS document is not JSON: %v\n%s", err, raw)
	}
	get := func(path string) any {
		var v any = doc
		for _, p := range strings.Split(path, ".") {
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[p]
		}
		return v
	}
	strs := func(path string) []string {
		var out []string
		for _, x := range get(path).([]any) {
			out = append(out, x.(string))
		}
		return out
	}
	checks := map[string]any{
		"@timestamp":           "2026-11-24T10:05:00.000Z",
		"event.kind":           "alert",
		"event.severity":       4.0,
		"event.risk_score":     73.0,
		"event.hash":           a.Hash,
		"event.start":          "2026-11-24T10:02:00.000Z",
		"event.end":            "2026-11-24T10:05:00.000Z",
		"rule.id":              "brute",
		"rule.name":            "Success after burst",
		"rule.ruleset":         "auditfwd",
		"threat.framework":     "MITRE ATT&CK",
		"auditfwd.alert.type":  "temporal_ordered",
		"auditfwd.alert.count": 4.0,
		"ecs.version":          "8.11.0",
	}
	for path, want := range checks {
		if got := get(path); got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	for path, want := range map[string][]string{
		"related.hash":                     {"h1", "h2", "h3", "h4"},
		"related.user":                     {"admin@example.com"},
		"related.ip":                       {"203.0.113.7"},
		"threat.tactic.id":                 {"TA0006"},
		"threat.tactic.name":               {"Credential Access"},
		"threat.technique.id":              {"T1110"},
		"threat.technique.subtechnique.id": {"T1110.001"},
		"tags":                             {"attack.credential-access", "attack.t1110.001"},
	} {
		if got := strs(path); !slices.Equal(got, want) {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	msg := get("message").(string)
	if !strings.HasPrefix(msg, "Success after burst (high, temporal_ordered): 4 events from 2026-11-24T10:02:00.000Z to 2026-11-24T10:05:00.000Z for user.name=admin@example.com") {
		t.Errorf("message %q", msg)
	}
	if a.Hash != alertHash("brute", "admin@example.com", t0.Add(2*time.Minute)) {
		t.Errorf("hash is not sha256(rule id, group key, window start)")
	}
}

func TestSeverityAndThreat(t *testing.T) {
	for level, want := range map[string][2]int{"informational": {1, 1}, "low": {2, 21}, "medium": {3, 47}, "high": {4, 73}, "critical": {5, 99}, "": {3, 47}} {
		if s, r := Severity(level); s != want[0] || r != want[1] {
			t.Errorf("Severity(%q) = %d, %d", level, s, r)
		}
	}
	th := threatOf([]string{"attack.initial_access", "attack.t1078.004", "attack.t1078", "attack.g0016", "cve.2021-1234", "attack.persistence"})
	if th == nil || !slices.Equal(th.Tactic.ID, []string{"TA0001", "TA0003"}) || !slices.Equal(th.Technique.ID, []string{"T1078"}) ||
		!slices.Equal(th.Technique.Subtechnique.ID, []string{"T1078.004"}) || th.Technique.Subtechnique.Reference[0] != "https://attack.mitre.org/techniques/T1078/004/" {
		t.Errorf("threat %+v", th)
	}
	if threatOf([]string{"cve.2021-1234"}) != nil {
		t.Error("threat from no attack tag")
	}
}

// A single detection: the alert carries the event's hash, users and IPs.
func TestSingleDetectionAlert(t *testing.T) {
	e := newTestEngine(t, "title: Cred\nid: cred\nlevel: critical\ndescription: d\nreferences:\n    - https://example.com/r\nauthor: A, B\nmodified: 2026-01-02\n"+
		"logsource:\n    product: test\ndetection:\n    s:\n        wss.audit.object_type: apicredential\n    condition: s\n", Options{Ruleset: "wss-pack"})
	doc := []byte(`{"@timestamp":"2026-11-24T10:18:00.000Z","event":{"action":"edit","hash":"9cca"},"user":{"name":"admin@example.com","target":{"name":"siem"}},` +
		`"related":{"user":["admin@example.com","siem-audit-reader"]},"wss":{"audit":{"object_type":"ApiCredential"}}}`)
	as := e.Evaluate(doc, t0, "9cca")
	if len(as) != 1 {
		t.Fatalf("%d alerts", len(as))
	}
	a := as[0]
	if a.Type != "detection" || !slices.Equal(a.Hashes, []string{"9cca"}) || !slices.Equal(a.Users, []string{"admin@example.com", "siem-audit-reader"}) ||
		a.Version != "2026-01-02" || a.Ruleset != "wss-pack" || a.Hash != alertHash("cred", "9cca", t0) {
		t.Fatalf("alert %+v", a)
	}
	var d struct {
		Rule struct {
			Author    []string `json:"author"`
			Reference []string `json:"reference"`
			Version   string   `json:"version"`
		} `json:"rule"`
		Event struct {
			Severity int `json:"severity"`
		} `json:"event"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(a.ECS(), &d); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Rule.Author, []string{"A", "B"}) || d.Rule.Reference[0] != "https://example.com/r" || d.Event.Severity != 5 ||
		d.Message != "Cred (critical); user admin@example.com, siem-audit-reader" {
		t.Errorf("ECS %+v", d)
	}
}
