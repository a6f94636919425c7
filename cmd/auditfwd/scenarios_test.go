package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditfwd/auditfwd/internal/event"
	"github.com/auditfwd/auditfwd/internal/simulator"
)

// `auditfwd rules test` over the scenario tenant's events, as auditfwd
// writes them: every alert is explained by a scenario labelled with its
// rule, and every scenario fires each rule it is labelled with (but the
// two whose engine option `rules test` does not run yet). The ground truth
// file names the same event hashes the events carry.
func TestRulesTestOnScenarios(t *testing.T) {
	sim, err := simulator.New(simulator.ScenarioConfig(5, time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	truthPath := filepath.Join(dir, "truth.json")
	if err := writeGroundTruth(sim, truthPath); err != nil {
		t.Fatal(err)
	}
	var truth struct {
		Scenarios []struct {
			Scenario string   `json:"scenario"`
			Rules    []string `json:"rules"`
			Hashes   []string `json:"hashes"`
		} `json:"scenarios"`
	}
	raw, _ := os.ReadFile(truthPath)
	if err := json.Unmarshal(raw, &truth); err != nil {
		t.Fatal(err)
	}
	owner := map[string]int{}
	for k, s := range truth.Scenarios {
		for _, h := range s.Hashes {
			owner[h] = k
		}
	}

	mapper := event.NewMapper(event.Fields{}, "scenarios")
	var b strings.Builder
	planted := 0
	for _, id := range sim.ValidIDs() {
		rec, _ := sim.RecordJSON(id)
		p, err := event.ParseHashed(rec, event.Hash(rec))
		if err != nil {
			t.Fatal(err)
		}
		ev, err := mapper.Map(&p, sim.Config().Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := owner[ev.HashHex()]; ok {
			planted++
		}
		b.Write(ev.Doc)
		b.WriteByte('\n')
	}
	if planted != len(owner) {
		t.Fatalf("%d events carry a ground-truth hash, %d hashes in the file", planted, len(owner))
	}
	events := filepath.Join(dir, "events.ndjson")
	if err := os.WriteFile(events, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runBin(t, nil, "rules", "test", "--events", events)
	if code != 0 {
		t.Fatalf("rules test: exit %d\n%s", code, stderr)
	}
	fired := map[[2]string]bool{}
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(nil, 1<<20)
	alerts := 0
	for sc.Scan() {
		var a struct {
			Rule    struct{ ID, Name string } `json:"rule"`
			Related struct {
				Hash []string `json:"hash"`
			} `json:"related"`
		}
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatalf("alert line %q: %v", sc.Text(), err)
		}
		alerts++
		explained := false
		for _, h := range a.Related.Hash {
			if k, ok := owner[h]; ok && contains(truth.Scenarios[k].Rules, a.Rule.ID) {
				explained = true
				fired[[2]string{truth.Scenarios[k].Scenario, a.Rule.ID}] = true
			}
		}
		if !explained {
			t.Errorf("false positive: %s on %v", a.Rule.Name, a.Related.Hash)
		}
	}
	notRun := map[string]bool{} // every rule runs, the option rules too (rules test defaults to the scenarios' business hours)
	for _, s := range truth.Scenarios {
		for _, id := range s.Rules {
			if !fired[[2]string{s.Scenario, id}] && !notRun[id] {
				t.Errorf("scenario %s did not fire rule %s", s.Scenario, id)
			}
		}
	}
	t.Logf("%d events, %d alerts, %d scenarios", len(sim.ValidIDs()), alerts, len(truth.Scenarios))

	for _, args := range [][]string{{"simulate", "--scenarios", "--records", "5"}, {"simulate", "--truth", "x.json"}} {
		if code, _, stderr := runBin(t, nil, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, code, stderr)
		}
	}
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}
