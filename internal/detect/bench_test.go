package detect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// goldenDocs are the normalizer's golden ECS documents, compact, as the
// pipeline hands them over.
func goldenDocs(tb testing.TB) [][]byte {
	files, err := filepath.Glob("../event/testdata/golden/*.golden.json")
	if err != nil || len(files) == 0 {
		tb.Fatalf("no golden documents: %v", err)
	}
	var docs [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		var c bytes.Buffer
		if err := json.Compact(&c, b); err != nil {
			tb.Fatalf("%s: %v", f, err)
		}
		docs = append(docs, c.Bytes())
	}
	return docs
}

func benchEngine(tb testing.TB) *Engine { return benchEngineWith(tb, nil) }

// allDay are business hours around the clock: the off-hours rule judges
// its events and never fires.
func allDay(tb testing.TB) *BusinessHours {
	b, err := ParseBusinessHours("UTC", []string{"mon-sun"}, "00:00-24:00")
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func benchEngineWith(tb testing.TB, hours *BusinessHours) *Engine {
	data, err := os.ReadFile("testdata/bench_rules.yml")
	if err != nil {
		tb.Fatal(err)
	}
	rules, err := ParseFile("testdata/bench_rules.yml", data)
	if err != nil {
		tb.Fatal(err)
	}
	e, err := New(rules, Options{Now: func() time.Time { return t0.Add(1000 * time.Hour) }, BusinessHours: hours})
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// The pack fires on the golden documents it was written for.
func TestBenchPackFires(t *testing.T) {
	e := benchEngine(t)
	fired := map[string]int{}
	for i, d := range goldenDocs(t) {
		for _, a := range e.Evaluate(d, t0.Add(time.Duration(i)*time.Second), fmt.Sprint(i)) {
			fired[a.RuleID]++
		}
	}
	for _, id := range []string{"b-cred-never", "b-cred-audit", "b-policy", "b-report", "b-role", "b-agent", "b-locked", "b-admin-del"} {
		if fired[id] == 0 {
			t.Errorf("rule %s fired on no golden document (fired: %v)", id, fired)
		}
	}
	if s := e.Stats(); s.Malformed != 0 {
		t.Errorf("%d golden documents did not scan", s.Malformed)
	}
}

// BenchmarkEvaluate: the per-event cost of the whole pack over the golden
// documents in turn, each a new event one second after the last: "golden"
// all of them (most fire a rule: they were written to show mapping
// cases), "quiet" those that fire nothing, the common case of a live
// stream. The new_value rule learns throughout (its 14 days of learning
// outlast the run); "quiet" runs with business hours around the clock,
// so the off-hours rule judges its events (a time-zone conversion) and
// stays quiet.
func BenchmarkEvaluate(b *testing.B) {
	docs := goldenDocs(b)
	e := benchEngineWith(b, allDay(b))
	var quiet [][]byte
	for i, d := range docs {
		if len(e.Evaluate(d, t0.Add(time.Duration(i)*time.Hour), fmt.Sprint(i))) == 0 {
			quiet = append(quiet, d)
		}
	}
	hashes := make([]string, 4096)
	for i := range hashes {
		hashes[i] = fmt.Sprintf("%064x", i)
	}
	for _, set := range []struct {
		name  string
		docs  [][]byte
		hours *BusinessHours
	}{{"golden", docs, nil}, {"quiet", quiet, allDay(b)}} {
		b.Run(set.name, func(b *testing.B) {
			e := benchEngineWith(b, set.hours)
			var size int
			for _, d := range set.docs {
				size += len(d)
			}
			b.SetBytes(int64(size / len(set.docs)))
			b.ReportAllocs()
			b.ResetTimer()
			alerts := 0
			for i := 0; i < b.N; i++ {
				alerts += len(e.Evaluate(set.docs[i%len(set.docs)], t0.Add(time.Duration(i)*time.Second), hashes[i%len(hashes)]))
			}
			b.ReportMetric(float64(alerts)/float64(b.N), "alerts/event")
		})
	}
}
