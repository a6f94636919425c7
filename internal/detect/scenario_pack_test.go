package detect_test

import (
	"sort"
	"testing"
	"time"

	"github.com/auditfwd/auditfwd/internal/detect"
	"github.com/auditfwd/auditfwd/internal/event"
	"github.com/auditfwd/auditfwd/internal/simulator"
	"github.com/auditfwd/auditfwd/rules"
)

// The shipped pack on planted attacks mixed into three weeks of benign
// admin work, through the pipeline's own path (record -> hash -> parse ->
// ECS mapping -> engine): every scenario fires every rule it names, and
// nothing else fires — no alert on the background, and none on a
// scenario's events from a rule the scenario does not name.
func TestPackOnScenarios(t *testing.T) {
	rs, err := detect.LoadFS(rules.FS, rules.Dir)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]string{} // rule id -> file name
	for _, r := range rs {
		byID[r.ID] = detect.RuleKeys(r)[1]
	}
	start := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC) // a Monday
	eng, err := detect.New(rs, detect.Options{Now: func() time.Time { return start.Add(60 * 24 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	type rec struct {
		raw      []byte
		at       time.Time
		scenario int // -1: background
	}
	var all []rec
	for _, raw := range simulator.Background(7, start, 21) {
		all = append(all, rec{raw: raw, scenario: -1})
	}
	// After the 14 days new_value learns, on a Tuesday.
	scen := simulator.AttackScenarios(start.Add(15 * 24 * time.Hour))
	for i, s := range scen {
		for _, raw := range s.Records {
			all = append(all, rec{raw: raw, scenario: i})
		}
	}
	m := event.NewMapper(event.Fields{}, "scenarios")
	hashOf := map[string]int{} // event.hash -> scenario
	type evt struct {
		doc  []byte
		t    time.Time
		hash string
	}
	var evs []evt
	for _, r := range all {
		p, err := event.ParseHashed(r.raw, event.Hash(r.raw))
		if err != nil {
			t.Fatalf("record does not parse: %v: %s", err, r.raw)
		}
		ev, _, err := m.MapTo(nil, &p, start)
		if err != nil {
			t.Fatalf("record does not map: %v: %s", err, r.raw)
		}
		h := ev.HashHex()
		hashOf[h] = r.scenario
		evs = append(evs, evt{ev.Doc, ev.Time, h})
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].t.Before(evs[j].t) })

	fired := map[[2]string]bool{} // scenario name, rule file -> an alert on its events
	var falsePos []string
	total := 0
	for _, e := range evs {
		for _, a := range eng.Evaluate(e.doc, e.t, e.hash) {
			total++
			rule := byID[a.RuleID]
			explained := false
			for _, h := range a.Hashes {
				si, ok := hashOf[h]
				if !ok || si < 0 {
					continue
				}
				for _, want := range scen[si].Rules {
					if want == rule {
						fired[[2]string{scen[si].Name, rule}] = true
						explained = true
					}
				}
			}
			if !explained {
				falsePos = append(falsePos, rule+": "+a.MessageLine())
			}
		}
	}
	want, hit := 0, 0
	for _, s := range scen {
		for _, r := range s.Rules {
			want++
			if fired[[2]string{s.Name, r}] {
				hit++
			} else {
				t.Errorf("scenario %q: rule %s did not fire", s.Name, r)
			}
		}
	}
	for _, fp := range falsePos {
		t.Errorf("false positive: %s", fp)
	}
	precision := 1.0
	if total > 0 {
		precision = float64(total-len(falsePos)) / float64(total)
	}
	t.Logf("%d events (%d background), %d scenarios, %d (scenario, rule) pairs: recall %d/%d = %.2f; %d alerts, %d false positives: precision %.2f",
		len(evs), len(evs)-countPlanted(scen), len(scen), want, hit, want, float64(hit)/float64(want), total, len(falsePos), precision)
}

func countPlanted(s []simulator.Scenario) int {
	n := 0
	for _, x := range s {
		n += len(x.Records)
	}
	return n
}
