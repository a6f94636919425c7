package detect

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the DST cases must not depend on the host's zoneinfo
)

func mustHours(t *testing.T, tz string, days []string, hours string) *BusinessHours {
	t.Helper()
	b, err := ParseBusinessHours(tz, days, hours)
	if err != nil {
		t.Fatalf("ParseBusinessHours(%q, %q, %q): %v", tz, days, hours, err)
	}
	return b
}

func TestParseBusinessHours(t *testing.T) {
	for _, c := range []struct {
		tz    string
		days  []string
		hours string
		want  string
	}{
		{"", nil, "", "mon-fri 08:00-18:00 UTC"},
		{"Europe/Berlin", []string{"Mon-Thu", "sat"}, "7:30-24:00", "mon-thu,sat 07:30-24:00 Europe/Berlin"},
		{"UTC", []string{"fri-mon"}, "22:00-06:00", "mon,fri-sun 22:00-06:00 UTC"},
		{"UTC", []string{"tuesday, Wednesday", "sun"}, "00:00-24:00", "tue-wed,sun 00:00-24:00 UTC"},
		{"UTC", []string{"sun-sat"}, "09:00-17:00", "mon-sun 09:00-17:00 UTC"},
	} {
		if got := mustHours(t, c.tz, c.days, c.hours).String(); got != c.want {
			t.Errorf("ParseBusinessHours(%q, %q, %q) = %s, want %s", c.tz, c.days, c.hours, got, c.want)
		}
	}
	for _, c := range []struct {
		tz    string
		days  []string
		hours string
		want  string
	}{
		{"Mars/Olympus", nil, "", `unknown time zone "Mars/Olympus"`},
		{"", []string{"mon-fry"}, "", `unknown day "fry" in "mon-fry"`},
		{"", []string{"weekdays"}, "", `unknown day "weekdays"`},
		{"", []string{""}, "", `unknown day ""`},
		{"", nil, "8-18", `business hours "8-18": start: "8" is not HH:MM`},
		{"", nil, "08:00", `want HH:MM-HH:MM`},
		{"", nil, "08:00-25:00", `end: "25:00" is not a time of day`},
		{"", nil, "08:60-18:00", `start: "08:60" is not a time of day`},
		{"", nil, "24:00-06:00", `start: "24:00" is not a time of day`},
		{"", nil, "08:00-08:00", "an empty period; for the whole day give 00:00-24:00"},
		{"", nil, "-1:00-08:00", `is not HH:MM`},
	} {
		_, err := ParseBusinessHours(c.tz, c.days, c.hours)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseBusinessHours(%q, %q, %q): %v, want an error containing %q", c.tz, c.days, c.hours, err, c.want)
		}
	}
}

func TestBusinessHoursContains(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	std := mustHours(t, "", nil, "")
	night := mustHours(t, "UTC", []string{"mon-fri"}, "22:00-06:00")
	ber := mustHours(t, "Europe/Berlin", nil, "08:00-18:00")
	allDay := mustHours(t, "UTC", []string{"sat"}, "00:00-24:00")
	for _, c := range []struct {
		name string
		b    *BusinessHours
		t    time.Time
		want bool
	}{
		// 2026-11-24 is a Tuesday.
		{"inside", std, utc("2026-11-24T10:00:00Z"), true},
		{"start is inside", std, utc("2026-11-24T08:00:00Z"), true},
		{"before start", std, utc("2026-11-24T07:59:59Z"), false},
		{"end is outside", std, utc("2026-11-24T18:00:00Z"), false},
		{"just before end", std, utc("2026-11-24T17:59:59.999Z"), true},
		{"Saturday", std, utc("2026-11-28T10:00:00Z"), false},
		{"Sunday", std, utc("2026-11-29T10:00:00Z"), false},
		{"other zone, same instant", std, utc("2026-11-24T10:00:00Z").In(berlin), true},
		// Crossing midnight: periods start Monday to Friday at 22:00.
		{"night, Tuesday evening", night, utc("2026-11-24T23:00:00Z"), true},
		{"night, Wednesday morning", night, utc("2026-11-25T05:59:00Z"), true},
		{"night, Wednesday at the end", night, utc("2026-11-25T06:00:00Z"), false},
		{"night, Tuesday noon", night, utc("2026-11-24T12:00:00Z"), false},
		{"night, Monday morning (Sunday's period)", night, utc("2026-11-23T03:00:00Z"), false},
		{"night, Saturday morning (Friday's period)", night, utc("2026-11-28T03:00:00Z"), true},
		{"night, Saturday evening", night, utc("2026-11-28T23:00:00Z"), false},
		// Europe/Berlin: CET (UTC+1) until 2026-03-29, CEST (UTC+2) after.
		{"winter 07:30 UTC is 08:30 local", ber, utc("2026-03-23T07:30:00Z"), true},
		{"winter 06:30 UTC is 07:30 local", ber, utc("2026-03-23T06:30:00Z"), false},
		{"summer 06:30 UTC is 08:30 local", ber, utc("2026-03-30T06:30:00Z"), true},
		{"summer 16:30 UTC is 18:30 local", ber, utc("2026-03-30T16:30:00Z"), false},
		{"winter 16:30 UTC is 17:30 local", ber, utc("2026-03-23T16:30:00Z"), true},
		{"Friday 23:30 UTC is Saturday in Berlin", mustHours(t, "Europe/Berlin", []string{"fri"}, "00:00-24:00"), utc("2026-11-27T23:30:00Z"), false},
		{"all day Saturday, last instant", allDay, utc("2026-11-28T23:59:59.999Z"), true},
		{"all day Saturday, Sunday midnight", allDay, utc("2026-11-29T00:00:00Z"), false},
	} {
		if got := c.b.Contains(c.t); got != c.want {
			t.Errorf("%s: %s contains %s: %v, want %v", c.name, c.b, c.t, got, c.want)
		}
	}
}

const offHoursRule = "custom:\n    auditfwd:\n        outside_business_hours: true\n"

// The rule fires only outside the business hours; without configured
// hours the standard ones apply and the engine says so.
func TestOutsideBusinessHoursRule(t *testing.T) {
	yml := detRuleYAML("off", "s:\n    event.action: login\ncondition: s") + offHoursRule
	e := newTestEngine(t, yml, Options{})
	if !e.DefaultBusinessHours() || e.BusinessHours().String() != "mon-fri 08:00-18:00 UTC" {
		t.Fatalf("default hours: %v %s", e.DefaultBusinessHours(), e.BusinessHours().String())
	}
	doc := login("alice", "10.0.0.1")
	if got := e.Evaluate(doc, t0, "h1"); got != nil { // Tuesday 10:00 UTC
		t.Fatalf("inside: %v", ruleIDs(got))
	}
	got := e.Evaluate(doc, t0.Add(12*time.Hour), "h2")
	if len(got) != 1 || got[0].Type != "detection" || got[0].Hash != alertHash("off", "h2", t0.Add(12*time.Hour)) {
		t.Fatalf("outside: %+v", got)
	}

	b := mustHours(t, "UTC", []string{"mon-sun"}, "00:00-24:00")
	e = newTestEngine(t, yml, Options{BusinessHours: b})
	b.Days = [7]bool{} // the engine keeps its own copy
	if e.DefaultBusinessHours() {
		t.Error("configured hours reported as the default")
	}
	if got := e.Evaluate(doc, t0.Add(12*time.Hour), "h3"); got != nil {
		t.Fatalf("every hour is a business hour: %v", ruleIDs(got))
	}
	// No rule uses them: nothing to warn about.
	if e := newTestEngine(t, detRuleYAML("plain", "s:\n    f: x\ncondition: s"), Options{}); e.DefaultBusinessHours() {
		t.Error("default hours reported without a rule using them")
	}
	// Hours built by hand are checked by New.
	rules, _ := ParseFile("test.yml", []byte(yml))
	if _, err := New(rules, Options{Logsources: testLogsources, BusinessHours: &BusinessHours{Start: 8 * time.Hour, End: 18 * time.Hour}}); err == nil || !strings.Contains(err.Error(), "detections.business_hours: business hours: no day") {
		t.Fatalf("New with no business day: %v", err)
	}
}

// Both options on one rule: only events outside business hours are
// learned and judged new.
func TestOutsideBusinessHoursWithNewValue(t *testing.T) {
	e := newTestEngine(t, nvRule("        outside_business_hours: true\n"), Options{})
	// t0 is a Tuesday, 10:00 UTC.
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	e.Evaluate(login("alice", "10.0.0.1"), at(12*time.Hour), "h1") // 22:00: learned
	if got := e.Evaluate(login("alice", "10.0.0.2"), at(day+time.Hour), "h2"); got != nil {
		t.Fatalf("inside business hours: %v", ruleIDs(got))
	}
	if got := e.Evaluate(login("alice", "10.0.0.1"), at(day+12*time.Hour), "h3"); got != nil {
		t.Fatalf("learned address outside: %v", ruleIDs(got))
	}
	if got := e.Evaluate(login("alice", "10.0.0.2"), at(day+13*time.Hour), "h4"); len(got) != 1 {
		t.Fatalf("address seen only inside business hours, now outside: %d alerts", len(got))
	}
}
