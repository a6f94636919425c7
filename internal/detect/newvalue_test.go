package detect

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

const day = 24 * time.Hour

// nvRule alerts on a sign-in from an address new for the user, learning
// for a day and remembering for ten.
func nvRule(extra string) string {
	return detRuleYAML("nv", "s:\n    event.action: login\ncondition: s") +
		"custom:\n    auditfwd:\n        new_value:\n            field: source.ip\n            group-by: [user.name]\n            learn: 1d\n            history: 10d\n" + extra
}

func nvFeeder(t *testing.T, opts Options) *feeder {
	return &feeder{t: t, e: newTestEngine(t, nvRule(""), opts)}
}

func login(user, ip string) []byte { return ev("login", "success", user, ip) }

func TestNewValueLearnsThenAlerts(t *testing.T) {
	f := nvFeeder(t, Options{})
	// Learning: the first day from the first sign-in, whatever is new.
	for _, e := range []struct {
		user, ip string
		at       time.Duration
	}{{"alice", "10.0.0.1", 0}, {"alice", "10.0.0.2", time.Hour}, {"bob", "10.0.0.9", day - time.Second}} {
		if got := f.feed(login(e.user, e.ip), e.at); got != nil {
			t.Fatalf("%s from %s at %v, learning: %v", e.user, e.ip, e.at, ruleIDs(got))
		}
	}
	// Learned values stay quiet after learning.
	if got := f.feed(login("alice", "10.0.0.1"), day); got != nil {
		t.Fatalf("a learned address: %v", ruleIDs(got))
	}
	// A new address, exactly when learning ends.
	got := f.feed(login("alice", "10.0.0.3"), day)
	if len(got) != 1 {
		t.Fatalf("a new address after learning: %d alerts", len(got))
	}
	a := got[0]
	wantGroup := []GroupValue{{"user.name", "alice"}, {"source.ip", "10.0.0.3"}}
	if a.RuleID != "nv" || a.Type != "new_value" || !slices.Equal(a.Group, wantGroup) || !a.Time.Equal(t0.Add(day)) ||
		a.Hash != alertHash("nv", "alice\x1f10.0.0.3", t0.Add(day)) || !slices.Equal(a.Hashes, []string{"h5"}) || !slices.Equal(a.IPs, []string{"10.0.0.3"}) {
		t.Errorf("alert %+v", a)
	}
	if !strings.Contains(a.MessageLine(), "for user.name=alice, source.ip=10.0.0.3") {
		t.Errorf("message %q", a.MessageLine())
	}
	// The same value again: nothing.
	if got := f.feed(login("alice", "10.0.0.3"), day+time.Minute); got != nil {
		t.Fatalf("the same new address twice: %v", ruleIDs(got))
	}
	// Another user's known address is new for this user.
	if got := f.feed(login("bob", "10.0.0.1"), day+2*time.Minute); len(got) != 1 {
		t.Fatalf("bob from alice's address: %d alerts", len(got))
	}
	// A user never seen (a new admin) alerts after learning too.
	if got := f.feed(login("carol", "10.0.0.1"), day+3*time.Minute); len(got) != 1 {
		t.Fatalf("a new user: %d alerts", len(got))
	}
	if s := f.e.Stats(); s.NewValues != 6 || s.Alerts != 3 {
		t.Errorf("stats %+v", s)
	}
}

// Learning runs from the first event the rule judged (event time), not
// from when the engine started or another rule's events.
func TestNewValueLearningStartsAtFirstMatch(t *testing.T) {
	f := nvFeeder(t, Options{})
	f.feed(ev("logout", "success", "alice", "10.0.0.1"), 0) // not the rule's
	f.feed(login("alice", "10.0.0.1"), 5*day)
	if got := f.feed(login("alice", "10.0.0.2"), 6*day-time.Second); got != nil {
		t.Fatalf("within a day of the first sign-in: %v", ruleIDs(got))
	}
	if got := f.feed(login("alice", "10.0.0.3"), 6*day); len(got) != 1 {
		t.Fatalf("a day after the first sign-in: %d alerts", len(got))
	}
}

// Alerts go by event time: an older event of a value already alerted on
// arriving later does not alert again; a new value arriving late alerts
// with its own time.
func TestNewValueOutOfOrder(t *testing.T) {
	f := nvFeeder(t, Options{})
	f.feed(login("alice", "10.0.0.1"), 0)
	if got := f.feed(login("alice", "10.0.0.4"), 3*day); len(got) != 1 {
		t.Fatalf("new address: %d alerts", len(got))
	}
	if got := f.feed(login("alice", "10.0.0.4"), 2*day); got != nil {
		t.Fatalf("an older sign-in of the same address, later: %v", ruleIDs(got))
	}
	got := f.feed(login("alice", "10.0.0.5"), 2*day)
	if len(got) != 1 || !got[0].Time.Equal(t0.Add(2*day)) || got[0].Hash != alertHash("nv", "alice\x1f10.0.0.5", t0.Add(2*day)) {
		t.Fatalf("a late new address: %+v", got)
	}
}

// A value not seen for the history is forgotten (and alerts as new); an
// event older than the history behind the newest is not judged, and is
// counted.
func TestNewValueHistoryForgets(t *testing.T) {
	f := nvFeeder(t, Options{})
	f.feed(login("alice", "10.0.0.1"), 0)
	f.feed(login("alice", "10.0.0.2"), 0)
	if got := f.feed(login("alice", "10.0.0.1"), 10*day); got != nil {
		t.Fatalf("seen exactly the history ago: %v", ruleIDs(got))
	}
	if got := f.feed(login("alice", "10.0.0.2"), 10*day+time.Second); len(got) != 1 {
		t.Fatalf("not seen for longer than the history: %d alerts", len(got))
	}
	if s := f.e.Stats(); s.NewValues != 2 {
		t.Errorf("remembered %d pairs, want 2 (10.0.0.1 and 10.0.0.2 again)", s.NewValues)
	}
	if got := f.feed(login("alice", "10.0.0.7"), -time.Second); got != nil || f.e.Stats().TooLate != 1 {
		t.Fatalf("older than the history: %v, stats %+v", ruleIDs(got), f.e.Stats())
	}
	if got := f.feed(login("", "10.0.0.8"), 11*day); got != nil || f.e.Stats().Ungrouped != 1 {
		t.Fatalf("no user.name: %v, stats %+v", ruleIDs(got), f.e.Stats())
	}
}

// The remembered pairs are capped; when full, the least recently seen is
// forgotten (and counted), however old it was first seen.
func TestNewValueEvictsLeastRecentlySeen(t *testing.T) {
	f := nvFeeder(t, Options{NewValueLimit: 3})
	f.feed(login("alice", "10.0.0.1"), 0)
	f.feed(login("alice", "10.0.0.2"), time.Minute)
	f.feed(login("alice", "10.0.0.3"), 2*time.Minute)
	f.feed(login("alice", "10.0.0.1"), 3*time.Minute) // seen again: now the newest
	f.feed(login("alice", "10.0.0.4"), 4*time.Minute) // evicts .2
	if s := f.e.Stats(); s.NewValues != 3 || s.Evicted != 1 {
		t.Fatalf("stats %+v, want 3 remembered, 1 evicted", s)
	}
	if got := f.feed(login("alice", "10.0.0.1"), day); got != nil {
		t.Fatalf("kept address: %v", ruleIDs(got))
	}
	if got := f.feed(login("alice", "10.0.0.2"), day); len(got) != 1 {
		t.Fatalf("evicted address seen again: %d alerts, want 1 (it is new again)", len(got))
	}
	if s := f.e.Stats(); s.NewValues != 3 || s.Evicted != 2 {
		t.Fatalf("stats %+v", s)
	}
}

// What a new_value rule learned is part of State: after a Restore the
// learned values still suppress, learning still ends when it would have,
// and a new value gives the alert (same hash) an uninterrupted engine
// gives.
func TestNewValueStateRoundTrip(t *testing.T) {
	events := []struct {
		user, ip string
		at       time.Duration
	}{
		{"alice", "10.0.0.1", 0}, {"bob", "10.0.0.2", time.Hour}, {"alice", "10.0.0.3", 20 * time.Hour},
		{"alice", "10.0.0.4", 23 * time.Hour}, {"alice", "10.0.0.1", 25 * time.Hour}, {"bob", "10.0.0.2", 26 * time.Hour},
		{"alice", "10.0.0.5", 27 * time.Hour}, {"alice", "10.0.0.5", 28 * time.Hour}, {"bob", "10.0.0.1", 29 * time.Hour},
	}
	whole := nvFeeder(t, Options{})
	for _, e := range events {
		whole.feed(login(e.user, e.ip), e.at)
	}
	if len(whole.alerts) != 2 {
		t.Fatalf("uninterrupted: %d alerts, want 2 (alice .5, bob .1)", len(whole.alerts))
	}
	for stop := 1; stop < len(events); stop++ {
		first := nvFeeder(t, Options{})
		for _, e := range events[:stop] {
			first.feed(login(e.user, e.ip), e.at)
		}
		saved := first.e.State()
		second := nvFeeder(t, Options{})
		rep, err := second.e.Restore(saved)
		if err != nil || rep.DroppedValues != 0 || rep.ResetRules != nil || rep.UnknownRules != nil {
			t.Fatalf("stop %d: Restore: %+v, %v", stop, rep, err)
		}
		if !bytes.Equal(second.e.State(), saved) {
			t.Fatalf("stop %d: State after Restore differs:\n%s\n%s", stop, second.e.State(), saved)
		}
		second.n = stop
		for _, e := range events[stop:] {
			second.feed(login(e.user, e.ip), e.at)
		}
		got := append(first.alerts, second.alerts...)
		if len(got) != len(whole.alerts) {
			t.Fatalf("stop %d: %d alerts across the restart, want %d", stop, len(got), len(whole.alerts))
		}
		for i := range got {
			if got[i].Hash != whole.alerts[i].Hash || !bytes.Equal(got[i].ECS(), whole.alerts[i].ECS()) {
				t.Errorf("stop %d: alert %d differs:\n%s\n%s", stop, i, got[i].ECS(), whole.alerts[i].ECS())
			}
		}
	}
}

// A Restore into a rule set that changed: what no longer applies is
// dropped and reported, not silently reused.
func TestNewValueRestoreReports(t *testing.T) {
	f := nvFeeder(t, Options{})
	for i := range 4 {
		f.feed(login("alice", fmt.Sprintf("10.0.0.%d", i)), time.Duration(i)*time.Minute)
	}
	saved := f.e.State()

	// The group-by changed: learning starts again.
	changed := newTestEngine(t, strings.Replace(nvRule(""), "group-by: [user.name]", "group-by: [organization.id]", 1), Options{})
	rep, err := changed.Restore(saved)
	if err != nil || !slices.Equal(rep.ResetRules, []string{"nv"}) || rep.DroppedValues != 4 {
		t.Fatalf("changed rule: %+v, %v", rep, err)
	}
	if s := changed.Stats(); s.NewValues != 0 {
		t.Errorf("changed rule kept %d values", s.NewValues)
	}
	// The rule is gone.
	gone := newTestEngine(t, detRuleYAML("other", "s:\n    f: x\ncondition: s"), Options{})
	if rep, err := gone.Restore(saved); err != nil || !slices.Equal(rep.UnknownRules, []string{"nv"}) || rep.DroppedValues != 4 {
		t.Fatalf("removed rule: %+v, %v", rep, err)
	}
	// A smaller limit keeps the most recently seen.
	small := nvFeeder(t, Options{NewValueLimit: 2})
	if rep, err := small.e.Restore(saved); err != nil || rep.DroppedValues != 2 {
		t.Fatalf("smaller limit: %+v, %v", rep, err)
	}
	if got := small.feed(login("alice", "10.0.0.3"), day); got != nil {
		t.Fatalf("most recent value kept: %v", ruleIDs(got))
	}
	if got := small.feed(login("alice", "10.0.0.0"), day); len(got) != 1 {
		t.Fatalf("oldest value dropped: %d alerts", len(got))
	}
	// A state of version 1 (before new_values) still restores.
	if _, err := f.e.Restore([]byte(`{"version":1,"watermark":5,"rules":{}}`)); err != nil {
		t.Fatalf("version 1: %v", err)
	}
}
