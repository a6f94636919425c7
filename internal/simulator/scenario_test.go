package simulator

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

var scenarioStart = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC) // a Monday

func TestScenarioConfigRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"records", func(c *Config) { c.Records = 10 }, "Records must be 0 with Scenarios"},
		{"hostile", func(c *Config) { c.HostileRate = 0.1 }, "HostileRate must be 0 with Scenarios"},
		{"short", func(c *Config) { c.End = c.Start.Add(10 * 24 * time.Hour) }, "End must be at least 2026-11-26T00:00:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ScenarioConfig(1, scenarioStart)
			tc.edit(&cfg)
			if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// The scenario tenant is a function of (seed, start); its labels name
// records that exist, inside the span, in the attack week; nothing but the
// planted records lies outside business hours.
func TestScenarioTenant(t *testing.T) {
	s, err := New(ScenarioConfig(1, scenarioStart.Add(3*time.Hour))) // the span starts at the next midnight
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Config().Start; !got.Equal(scenarioStart.Add(24 * time.Hour)) {
		t.Fatalf("Start %v", got)
	}
	again, _ := New(ScenarioConfig(1, scenarioStart.Add(3*time.Hour)))
	if !reflect.DeepEqual(s.ValidIDs(), again.ValidIDs()) || !reflect.DeepEqual(s.Labels(), again.Labels()) {
		t.Fatal("the same seed gave another tenant")
	}
	other, _ := New(ScenarioConfig(2, scenarioStart.Add(3*time.Hour)))
	if reflect.DeepEqual(s.ValidIDs(), other.ValidIDs()) {
		t.Fatal("another seed gave the same tenant")
	}

	cfg := s.Config()
	planted := map[string]string{}
	labels := s.Labels()
	if len(labels) < 16 {
		t.Fatalf("%d scenarios", len(labels))
	}
	attackWeek := cfg.Start.Add(ScenarioLearnDays * 24 * time.Hour)
	for _, l := range labels {
		if len(l.Rules) == 0 || len(l.RecordIDs) == 0 || l.Description == "" {
			t.Fatalf("incomplete label %+v", l)
		}
		if l.Start.Before(attackWeek) || l.End.After(cfg.End) {
			t.Errorf("%s: %v..%v outside the attack week %v..%v", l.Scenario, l.Start, l.End, attackWeek, cfg.End)
		}
		for _, id := range l.RecordIDs {
			f, ok := s.Fact(id)
			if !ok {
				t.Fatalf("%s: record %s unknown", l.Scenario, id)
			}
			if f.Time.Before(l.Start) || f.Time.After(l.End) {
				t.Errorf("%s: record at %v outside %v..%v", l.Scenario, f.Time, l.Start, l.End)
			}
			if prev, dup := planted[id]; dup {
				t.Errorf("record %s planted by %s and %s", id, prev, l.Scenario)
			}
			planted[id] = l.Scenario
		}
	}

	var prev time.Time
	n, bg := 0, map[string]int{}
	for f := range s.Facts() {
		n++
		if f.Time.Before(prev) {
			t.Fatalf("record %s at %v before %v", f.ID, f.Time, prev)
		}
		prev = f.Time
		if f.Time.Before(cfg.Start) || !f.Time.Before(cfg.End) {
			t.Fatalf("record %s at %v outside [%v, %v)", f.ID, f.Time, cfg.Start, cfg.End)
		}
		if f.Hostile {
			t.Fatalf("record %s hostile", f.ID)
		}
		if _, ok := planted[f.ID]; ok {
			continue
		}
		bg[f.OperationType+" "+f.Status]++
		wd, hm := f.Time.Weekday(), f.Time.Format("15:04")
		if wd == time.Saturday || wd == time.Sunday || hm < "08:00" || hm >= "18:00" {
			t.Errorf("background record %s at %v is outside business hours", f.ID, f.Time)
		}
	}
	if n != cfg.Records || n != len(s.ValidIDs()) {
		t.Fatalf("%d facts, Records %d", n, cfg.Records)
	}
	t.Logf("%d records, %d planted; background by operation: %v", n, len(planted), bg)
}

// Scenario records are served like generated ones: in every schema, every
// record once in a window covering the span, its fields as Fact says.
func TestScenarioRecordsServed(t *testing.T) {
	for _, schema := range schemas {
		t.Run(schema, func(t *testing.T) {
			cfg := ScenarioConfig(3, scenarioStart)
			cfg.Username, cfg.Password = "user", "pass"
			cfg.Schema = schema
			s, srv := startSim(t, cfg)
			_, body := get(t, srv, days(cfg.Start, cfg.End.Add(-time.Hour)))
			got := validEntries(t, "array", body)
			if len(got) != s.Config().Records {
				t.Fatalf("%d records served, want %d", len(got), s.Config().Records)
			}
			for _, d := range got {
				f, ok := s.Fact(d.id)
				if !ok {
					t.Fatalf("served id %q unknown to Fact", d.id)
				}
				if !d.time.Equal(f.Time) {
					t.Fatalf("%s: served time %v, fact %v", d.id, d.time, f.Time)
				}
				for _, c := range []struct {
					keys []string
					want string
				}{
					{actorKeys, f.UserName}, {ipKeys, f.SourceIP}, {objTypeKeys, f.ObjectType},
					{objNameKeys, f.ObjectName}, {opKeys, f.OperationType}, {statusKeys, f.Status},
					{messageKeys, f.Description},
				} {
					if v := firstOf(d.m, c.keys); v != c.want {
						t.Fatalf("%s: %v = %.80q, want %.80q", d.id, c.keys, v, c.want)
					}
				}
			}
		})
	}
}

func TestWriteGroundTruth(t *testing.T) {
	s, err := New(ScenarioConfig(1, scenarioStart))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := s.WriteGroundTruth(&b, func(raw []byte) string { return "h" + string(raw[:2]) }); err != nil {
		t.Fatal(err)
	}
	var gt groundTruth
	if err := json.Unmarshal(b.Bytes(), &gt); err != nil {
		t.Fatal(err)
	}
	if gt.Records != s.Config().Records || len(gt.Scenarios) != len(s.Labels()) || gt.BusinessHours.From != "08:00" {
		t.Fatalf("ground truth %+v", gt)
	}
	for k, l := range gt.Scenarios {
		if !reflect.DeepEqual(l.RecordIDs, s.Labels()[k].RecordIDs) || len(l.Hashes) != len(l.RecordIDs) || l.Hashes[0] != `h{"` {
			t.Fatalf("scenario %d: %+v", k, l)
		}
	}
	plain, _ := New(ScenarioConfig(1, scenarioStart))
	plain.table = nil
	if err := plain.WriteGroundTruth(&b, nil); err == nil {
		t.Fatal("ground truth written without scenarios")
	}
}
