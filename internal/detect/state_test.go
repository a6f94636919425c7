package detect

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// A crash mid-burst: the state saved with the checkpoint after two of
// three failures is restored into a new engine; the third failure then
// fires exactly once, with the alert an uninterrupted engine gives.
func TestStateRestoreMidBurst(t *testing.T) {
	fail := ev("login", "failure", "admin", "10.0.0.1")
	events := []time.Duration{0, time.Minute, 2 * time.Minute, 3 * time.Minute, 4 * time.Minute, 5 * time.Minute}

	whole := newFeeder(t)
	for _, at := range events {
		whole.feed(fail, at)
	}
	want := only(whole.alerts, "burst")
	if len(want) != 2 {
		t.Fatalf("uninterrupted run: %d burst alerts, want 2", len(want))
	}

	// Stop after each event in turn, restore, and run the rest.
	for stop := 1; stop < len(events); stop++ {
		first := newFeeder(t)
		for _, at := range events[:stop] {
			first.feed(fail, at)
		}
		saved := first.e.State()

		second := newFeeder(t)
		rep, err := second.e.Restore(saved)
		if err != nil || rep.DroppedEntries != 0 || rep.UnknownRules != nil {
			t.Fatalf("stop %d: Restore: %+v, %v", stop, rep, err)
		}
		if !bytes.Equal(second.e.State(), saved) {
			t.Fatalf("stop %d: State after Restore differs:\n%s\n%s", stop, second.e.State(), saved)
		}
		second.n = stop // the same event hashes as the uninterrupted run
		for _, at := range events[stop:] {
			second.feed(fail, at)
		}
		got := append(only(first.alerts, "burst"), only(second.alerts, "burst")...)
		if len(got) != len(want) {
			t.Fatalf("stop %d: %d burst alerts across the restart, want %d", stop, len(got), len(want))
		}
		for i := range got {
			if got[i].Hash != want[i].Hash || !slices.Equal(got[i].Hashes, want[i].Hashes) {
				t.Errorf("stop %d: alert %d is %v %v, want %v %v", stop, i, got[i].Hash, got[i].Hashes, want[i].Hash, want[i].Hashes)
			}
		}
	}
}

// A crash after an alert fired but before the checkpoint: the restored
// (older) state and the replayed events fire it again with the same hash,
// which the outputs' dedup turns into one delivery.
func TestStateReplayGivesSameAlert(t *testing.T) {
	fail := ev("login", "failure", "admin", "")
	a := newFeeder(t)
	a.feed(fail, 0)
	a.feed(fail, time.Minute)
	checkpoint := a.e.State()
	first := only(a.feed(fail, 2*time.Minute), "burst")

	b := newFeeder(t)
	if _, err := b.e.Restore(checkpoint); err != nil {
		t.Fatal(err)
	}
	b.n = 2
	again := only(b.feed(fail, 2*time.Minute), "burst")
	if len(first) != 1 || len(again) != 1 || first[0].Hash != again[0].Hash || !bytes.Equal(first[0].ECS(), again[0].ECS()) {
		t.Fatalf("replay: %+v vs %+v", first, again)
	}
}

func TestRestoreRefusesAndReports(t *testing.T) {
	f := newFeeder(t)
	f.feed(ev("login", "failure", "admin", ""), 0)
	before := f.e.State()
	for _, bad := range []string{"{", `{"version":3}`, `{"version":0}`, `{"version":1,"rules":{"burst":{"k":{"e":"x"}}}}`} {
		if _, err := f.e.Restore([]byte(bad)); err == nil {
			t.Errorf("Restore(%s) accepted", bad)
		}
		if !bytes.Equal(f.e.State(), before) {
			t.Fatalf("a refused Restore changed the state")
		}
	}
	// A state from a rule set that had other rules: what cannot be taken
	// back is reported, the rest restored.
	st := `{"version":1,"watermark":1,"rules":{"gone":{"k":{"e":[{"t":1,"h":["x"]},{"t":2,"h":["y"]}]}},` +
		`"brute":{"admin":{"e":[{"t":1,"p":7,"h":["z"]},{"t":2,"p":1,"h":["w"]}]}}}}`
	rep, err := f.e.Restore([]byte(st))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.UnknownRules, []string{"gone"}) || rep.DroppedEntries != 3 {
		t.Fatalf("report %+v, want gone and 3 dropped", rep)
	}
	if s := f.e.Stats(); s.Groups != 1 {
		t.Fatalf("%d groups after restore, want 1", s.Groups)
	}
	if _, err := f.e.Restore(nil); err != nil || f.e.Stats().Groups != 0 {
		t.Fatalf("Restore(nil) did not reset: %v", err)
	}
}

// State stays bounded: a long run of distinct users leaves only the
// groups within retention.
func TestStateBounded(t *testing.T) {
	f := newFeeder(t)
	for i := 0; i < 2000; i++ {
		f.feed(ev("login", "failure", fmt.Sprintf("u%d", i), ""), time.Duration(i)*time.Minute)
	}
	// Retention is timespan 10m + lateness 15m; sweeps run each minute of
	// event time, so at most ~27 one-event groups stay.
	if g := f.e.Stats().Groups; g > 30 {
		t.Fatalf("%d groups open", g)
	}
	if n := strings.Count(string(f.e.State()), `"t":`); n > 30 {
		t.Fatalf("%d entries in the state", n)
	}
}

func TestMalformedDocumentCounted(t *testing.T) {
	e := newTestEngine(t, detRuleYAML("r1", "s:\n    f|exists: false\ncondition: s"), Options{})
	for _, doc := range []string{``, `[]`, `{"f":`, `{"a":1}x`, `{"a":tru}`, `"x"`} {
		if got := e.Evaluate([]byte(doc), t0, "h"); got != nil {
			t.Errorf("%q: alerts %v from a malformed document", doc, ruleIDs(got))
		}
	}
	if s := e.Stats(); s.Malformed != 6 || s.Events != 0 {
		t.Fatalf("stats %+v, want 6 malformed", s)
	}
	if got := e.Evaluate([]byte(`{"a":1}`), t0, "h"); len(got) != 1 {
		t.Fatalf("a valid document after malformed ones: %d alerts", len(got))
	}
}
