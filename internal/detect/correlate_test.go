package detect

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// The rule set of the correlation tests: single events, and the
// correlations over them (the specification's brute-force example among
// them: a burst of failures, then a success, by one user). brute says
// generate: true, so burst and ok alert on their own too; fail, used by
// burst only, does not.
const corrRules = `title: Failed login
id: fail
name: failed_login
logsource:
    product: test
detection:
    s:
        event.action: login
        event.outcome: failure
    condition: s
---
title: Successful login
id: ok
name: successful_login
logsource:
    product: test
detection:
    s:
        event.action: login
        event.outcome: success
    condition: s
---
title: Policy deleted
id: del
logsource:
    product: test
detection:
    s:
        event.action: delete
    condition: s
---
title: Failed login burst
id: burst
name: failed_burst
level: medium
correlation:
    type: event_count
    rules:
        - failed_login
    group-by:
        - user.name
    timespan: 10m
    condition:
        gte: 3
---
title: Many source IPs
id: ips
correlation:
    type: value_count
    rules:
        - ok
    group-by:
        - user.name
    timespan: 10m
    condition:
        field: source.ip
        gte: 3
---
title: Login and delete
id: both
correlation:
    type: temporal
    rules:
        - ok
        - del
    group-by:
        - user.name
    timespan: 5m
---
title: Success after burst
id: brute
level: high
generate: true
tags:
    - attack.credential-access
    - attack.t1110.001
correlation:
    type: temporal_ordered
    rules:
        - failed_burst
        - successful_login
    group-by:
        - user.name
    timespan: 10m
`

func ev(action, outcome, user, ip string) []byte {
	doc := fmt.Sprintf(`{"event":{"action":%q,"outcome":%q}`, action, outcome)
	if user != "" {
		doc += fmt.Sprintf(`,"user":{"name":%q}`, user)
	}
	if ip != "" {
		doc += fmt.Sprintf(`,"source":{"ip":%q},"related":{"ip":[%q]}`, ip, ip)
	}
	return []byte(doc + "}")
}

// feeder runs events through an engine, naming each event's hash after
// its position, and keeps the alerts.
type feeder struct {
	t      *testing.T
	e      *Engine
	n      int
	alerts []Alert
}

func (f *feeder) feed(doc []byte, at time.Duration) []Alert {
	f.n++
	got := f.e.Evaluate(doc, t0.Add(at), fmt.Sprintf("h%d", f.n))
	f.alerts = append(f.alerts, got...)
	return got
}

func (f *feeder) ids(doc []byte, at time.Duration) []string { return ruleIDs(f.feed(doc, at)) }

// only keeps the alerts of one rule.
func only(as []Alert, id string) []Alert {
	var out []Alert
	for _, a := range as {
		if a.RuleID == id {
			out = append(out, a)
		}
	}
	return out
}

func newFeeder(t *testing.T) *feeder {
	return &feeder{t: t, e: newTestEngine(t, corrRules, Options{})}
}

func TestEventCountFiresOnceThenNeedsNewThreshold(t *testing.T) {
	f := newFeeder(t)
	fail := ev("login", "failure", "admin", "10.0.0.1")
	if got := f.ids(fail, 0); got != nil {
		t.Fatalf("1st failure: %v (a rule a correlation uses does not alert alone)", got)
	}
	f.ids(fail, time.Minute)
	got := f.feed(fail, 2*time.Minute)
	if len(got) != 1 || got[0].RuleID != "burst" {
		t.Fatalf("3rd failure: %v, want burst", ruleIDs(got))
	}
	a := got[0]
	if a.Count != 3 || !slices.Equal(a.Hashes, []string{"h1", "h2", "h3"}) || !a.Start.Equal(t0) || !a.Time.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("alert: count %d hashes %v start %v time %v", a.Count, a.Hashes, a.Start, a.Time)
	}
	if len(a.Group) != 1 || a.Group[0] != (GroupValue{"user.name", "admin"}) || !slices.Equal(a.Users, []string{"admin"}) || !slices.Equal(a.IPs, []string{"10.0.0.1"}) {
		t.Errorf("alert group %v users %v ips %v", a.Group, a.Users, a.IPs)
	}
	// The burst goes on: the counter restarted, so the 4th and 5th do
	// not fire and the 6th (a new full threshold) does.
	if got := f.ids(fail, 3*time.Minute); got != nil {
		t.Fatalf("4th failure: %v", got)
	}
	if got := f.ids(fail, 4*time.Minute); got != nil {
		t.Fatalf("5th failure: %v", got)
	}
	got = f.feed(fail, 5*time.Minute)
	if len(got) != 1 || !slices.Equal(got[0].Hashes, []string{"h4", "h5", "h6"}) {
		t.Fatalf("6th failure: %v", got)
	}
	if got[0].Hash == a.Hash {
		t.Error("two windows gave one alert hash")
	}
}

func TestEventCountSlidingWindow(t *testing.T) {
	f := newFeeder(t)
	fail := ev("login", "failure", "admin", "")
	// 0, 6 and 12 minutes: never three within 10 minutes.
	for _, m := range []int{0, 6, 12} {
		if got := f.ids(fail, time.Duration(m)*time.Minute); got != nil {
			t.Fatalf("failure at %dm: %v", m, got)
		}
	}
	// 14 minutes: 6, 12 and 14 are within 10 minutes (a sliding window,
	// not fixed 10-minute buckets).
	got := f.feed(fail, 14*time.Minute)
	if len(got) != 1 || !got[0].Start.Equal(t0.Add(6*time.Minute)) || !slices.Equal(got[0].Hashes, []string{"h2", "h3", "h4"}) {
		t.Fatalf("failure at 14m: %+v", got)
	}
	// Exactly the timespan apart still counts.
	f2 := newFeeder(t)
	f2.feed(fail, 0)
	f2.feed(fail, 5*time.Minute)
	if got := f2.ids(fail, 10*time.Minute); !slices.Equal(got, []string{"burst"}) {
		t.Fatalf("three within exactly 10m: %v", got)
	}
}

func TestEventCountGroups(t *testing.T) {
	f := newFeeder(t)
	f.feed(ev("login", "failure", "alice", ""), 0)
	f.feed(ev("login", "failure", "bob", ""), time.Second)
	f.feed(ev("login", "failure", "alice", ""), 2*time.Second)
	f.feed(ev("login", "failure", "bob", ""), 3*time.Second)
	// No user.name: not in any group, counted.
	f.feed(ev("login", "failure", "", ""), 4*time.Second)
	f.feed(ev("login", "failure", "", ""), 5*time.Second)
	f.feed(ev("login", "failure", "", ""), 6*time.Second)
	if len(f.alerts) != 0 {
		t.Fatalf("alerts across groups: %v", ruleIDs(f.alerts))
	}
	if s := f.e.Stats(); s.Ungrouped != 3 || s.Groups != 2 {
		t.Fatalf("stats %+v, want 3 ungrouped, 2 groups", s)
	}
	if got := f.ids(ev("login", "failure", "alice", ""), 7*time.Second); !slices.Equal(got, []string{"burst"}) {
		t.Fatalf("alice's third: %v", got)
	}
}

// Events arrive out of order: a late event within the timespan still
// correlates, with the window its own time says.
func TestLateEventsCorrelate(t *testing.T) {
	f := newFeeder(t)
	fail := ev("login", "failure", "admin", "")
	f.feed(fail, 5*time.Minute)
	f.feed(fail, 6*time.Minute)
	got := f.feed(fail, 0) // late, 6 minutes behind the newest
	if len(got) != 1 {
		t.Fatalf("late failure: %v", ruleIDs(got))
	}
	if !got[0].Start.Equal(t0) || !got[0].Time.Equal(t0.Add(6*time.Minute)) || !slices.Equal(got[0].Hashes, []string{"h3", "h1", "h2"}) {
		t.Errorf("alert start %v time %v hashes %v (want time order)", got[0].Start, got[0].Time, got[0].Hashes)
	}

	// A late event 8 minutes behind does not join a window it is
	// outside of: 0, 9, 10 -> 0 is 10 minutes from 10 (in), so fires;
	// but 0 with 11 and 12 spans 12 minutes and does not.
	f2 := newFeeder(t)
	f2.feed(fail, 11*time.Minute)
	f2.feed(fail, 12*time.Minute)
	if got := f2.ids(fail, 0); got != nil {
		t.Fatalf("late failure outside the window fired: %v", got)
	}
}

func TestTooLateAndExpiry(t *testing.T) {
	f := newFeeder(t) // timespan 10m, MaxLateness 15m: kept 25m behind the newest event
	fail := ev("login", "failure", "admin", "")
	f.feed(fail, 0)
	f.feed(fail, time.Minute)
	// Other users' events move event time on by 40 minutes.
	for i := 0; i < 40; i++ {
		f.feed(ev("login", "failure", fmt.Sprintf("u%d", i), ""), time.Duration(2+i)*time.Minute)
	}
	// admin's two failures expired: a third does not complete them, and
	// neither do the groups of u0..u13 (older than 25 minutes) linger.
	if got := f.ids(fail, 41*time.Minute); got != nil {
		t.Fatalf("failure after expiry: %v", got)
	}
	s := f.e.Stats()
	if s.Groups > 28 {
		t.Errorf("%d groups open; expired groups are not dropped", s.Groups)
	}
	// 30 minutes behind the newest (41m): past retention, not correlated, counted.
	before := s.TooLate
	f.feed(fail, 11*time.Minute)
	if got := f.e.Stats().TooLate; got != before+1 {
		t.Errorf("TooLate %d, want %d", got, before+1)
	}
	// Time moves on with no event of any group: every group is dropped.
	f.feed(ev("logout", "success", "x", ""), 3*time.Hour)
	if g := f.e.Stats().Groups; g != 0 {
		t.Errorf("%d groups open 3 hours later", g)
	}
}

func TestValueCount(t *testing.T) {
	f := newFeeder(t)
	ok := func(ip string) []byte { return ev("login", "success", "admin", ip) }
	f.feed(ok("10.0.0.1"), 0)
	f.feed(ok("10.0.0.1"), time.Minute)
	f.feed(ok("10.0.0.2"), 2*time.Minute)
	if len(only(f.alerts, "ips")) != 0 {
		t.Fatalf("two distinct IPs fired: %v", ruleIDs(f.alerts))
	}
	f.feed(ev("login", "success", "other", "10.0.0.3"), 3*time.Minute) // another user's IP does not count
	got := only(f.feed(ok("10.0.0.3"), 4*time.Minute), "ips")
	if len(got) != 1 || !slices.Equal(got[0].IPs, []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"}) {
		t.Fatalf("third distinct IP: %+v", got)
	}
	// Missing field: not counted.
	f.feed(ev("login", "success", "admin", ""), 5*time.Minute)
	if s := f.e.Stats(); s.Ungrouped != 1 {
		t.Errorf("Ungrouped %d, want 1 (no source.ip)", s.Ungrouped)
	}
}

func TestTemporal(t *testing.T) {
	f := newFeeder(t)
	// Any order: the delete first, then the login.
	f.feed(ev("delete", "success", "admin", ""), 0)
	got := f.ids(ev("login", "success", "admin", "10.0.0.1"), 4*time.Minute)
	if !slices.Contains(got, "both") {
		t.Fatalf("delete then login within 5m: %v", got)
	}
	// Too far apart.
	f2 := newFeeder(t)
	f2.feed(ev("delete", "success", "admin", ""), 0)
	if got := f2.ids(ev("login", "success", "admin", "10.0.0.1"), 6*time.Minute); slices.Contains(got, "both") {
		t.Fatalf("6 minutes apart fired: %v", got)
	}
	// Two of the same rule are not two rules.
	f3 := newFeeder(t)
	f3.feed(ev("delete", "success", "admin", ""), 0)
	if got := f3.ids(ev("delete", "success", "admin", ""), time.Minute); slices.Contains(got, "both") {
		t.Fatalf("two deletes fired temporal: %v", got)
	}
}

// The specification's example: an event_count correlation chained into a
// temporal_ordered one.
func TestTemporalOrderedChain(t *testing.T) {
	fail := ev("login", "failure", "admin", "10.0.0.9")
	success := ev("login", "success", "admin", "10.0.0.9")

	// Success first, then the burst: wrong order, no alert.
	f := newFeeder(t)
	f.feed(success, 0)
	for i := 1; i <= 3; i++ {
		f.feed(fail, time.Duration(i)*time.Minute)
	}
	for _, a := range f.alerts {
		if a.RuleID == "brute" {
			t.Fatalf("success before the burst fired brute")
		}
	}
	// brute's generate: true lets burst alert on its own; fail, used
	// only by burst (no generate), never does.
	if !slices.Equal(ruleIDs(f.alerts), []string{"ok", "burst"}) {
		t.Fatalf("alerts %v, want ok (alone) then burst", ruleIDs(f.alerts))
	}

	// Burst, then success.
	f = newFeeder(t)
	for i := 0; i < 3; i++ {
		f.feed(fail, time.Duration(i)*time.Minute)
	}
	got := f.feed(success, 5*time.Minute)
	if !slices.Equal(ruleIDs(got), []string{"ok", "brute"}) {
		t.Fatalf("burst then success: %v", ruleIDs(got))
	}
	a := got[1]
	if !slices.Equal(a.Hashes, []string{"h1", "h2", "h3", "h4"}) || a.Count != 4 || !a.Start.Equal(t0.Add(2*time.Minute)) || !a.Time.Equal(t0.Add(5*time.Minute)) {
		t.Errorf("brute alert: hashes %v count %d start %v time %v", a.Hashes, a.Count, a.Start, a.Time)
	}
	if a.Level != "high" || a.Type != "temporal_ordered" {
		t.Errorf("brute alert level %q type %q", a.Level, a.Type)
	}

	// The success arrives before the burst's last failure, but its event
	// time is after it: event time decides the order.
	f = newFeeder(t)
	f.feed(fail, 0)
	f.feed(fail, time.Minute)
	f.feed(success, 5*time.Minute)
	got = f.feed(fail, 2*time.Minute)
	if !slices.Equal(ruleIDs(got), []string{"burst", "brute"}) {
		t.Fatalf("late last failure: %v", ruleIDs(got))
	}
}

func TestGenerateKeepsReferencedRulesAlerting(t *testing.T) {
	rules := detRuleYAML("a1", "s:\n    event.action: login\ncondition: s") + "---\n" +
		"title: c\nid: c1\ngenerate: true\ncorrelation:\n    type: event_count\n    rules:\n        - a1\n    group-by:\n        - user.name\n    timespan: 1m\n    condition:\n        gte: 2\n"
	e := newTestEngine(t, rules, Options{})
	doc := ev("login", "success", "u", "")
	if got := ruleIDs(e.Evaluate(doc, t0, "h1")); !slices.Equal(got, []string{"a1"}) {
		t.Fatalf("first: %v", got)
	}
	if got := ruleIDs(e.Evaluate(doc, t0, "h2")); !slices.Equal(got, []string{"a1", "c1"}) {
		t.Fatalf("second: %v", got)
	}
}

// Replaying the same events gives the same alerts with the same hashes.
func TestAlertHashDeterministic(t *testing.T) {
	run := func() []string {
		f := newFeeder(t)
		for i := 0; i < 7; i++ {
			f.feed(ev("login", "failure", "admin", ""), time.Duration(i)*time.Minute)
		}
		f.feed(ev("delete", "success", "admin", ""), 8*time.Minute)
		var hs []string
		for _, a := range f.alerts {
			hs = append(hs, a.Hash)
		}
		return hs
	}
	a, b := run(), run()
	if len(a) != 2 || !slices.Equal(a, b) { // burst twice (6 of 7 failures); del alone is quiet
		t.Fatalf("runs gave %v and %v", a, b)
	}
}

// The O(1) tail path of value_count and temporal gives the alerts the
// general search gives, on seeded random sequences with late arrivals.
func TestTailPathMatchesGeneral(t *testing.T) {
	run := func(seed uint64, general bool) []string {
		generalOnly = general
		defer func() { generalOnly = false }()
		f := newFeeder(t)
		r := seed
		next := func(n uint64) uint64 { // xorshift: deterministic, no import
			r ^= r << 13
			r ^= r >> 7
			r ^= r << 17
			return r % n
		}
		at := time.Duration(0)
		for i := 0; i < 300; i++ {
			at += time.Duration(next(90)) * time.Second
			when := at
			if next(5) == 0 {
				when -= time.Duration(next(600)) * time.Second // late by up to 10 minutes
			}
			user := fmt.Sprintf("u%d", next(3))
			if next(2) == 0 {
				f.feed(ev("delete", "success", user, ""), when)
			} else {
				f.feed(ev("login", "success", user, fmt.Sprintf("10.0.0.%d", next(6))), when)
			}
		}
		var out []string
		for _, a := range f.alerts {
			if a.RuleID == "ips" || a.RuleID == "both" {
				out = append(out, a.RuleID+":"+a.Hash+":"+fmt.Sprint(a.Hashes))
			}
		}
		return out
	}
	total := 0
	for seed := uint64(1); seed <= 20; seed++ {
		fast, slow := run(seed*7919, false), run(seed*7919, true)
		if !slices.Equal(fast, slow) {
			t.Fatalf("seed %d: tail path %v\ngeneral %v", seed, fast, slow)
		}
		total += len(fast)
	}
	if total < 50 {
		t.Fatalf("only %d alerts over all seeds: the test does not exercise the paths", total)
	}
}

func TestValueCountLate(t *testing.T) {
	f := newFeeder(t)
	ok := func(ip string) []byte { return ev("login", "success", "admin", ip) }
	f.feed(ok("10.0.0.1"), 5*time.Minute)
	f.feed(ok("10.0.0.2"), 6*time.Minute)
	got := only(f.feed(ok("10.0.0.3"), 0), "ips") // late
	if len(got) != 1 || !got[0].Start.Equal(t0) || !slices.Equal(got[0].Hashes, []string{"h3", "h1", "h2"}) {
		t.Fatalf("late third IP: %+v", got)
	}
}
