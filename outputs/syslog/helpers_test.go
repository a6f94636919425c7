package syslog

import (
	"testing"
	"time"

	"github.com/auditfwd/auditfwd/internal/event"
	"github.com/auditfwd/auditfwd/internal/simulator"
)

// simEvents maps n records of a simulated tenant into ECS events, the way
// the pipeline does; hostile is the share of records carrying the
// simulator's hostile strings (injection attempts, control characters,
// invalid UTF-8 stand-ins, huge values).
func simEvents(t testing.TB, n int, hostile float64, seed int64) []event.Event {
	t.Helper()
	start := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	sim, err := simulator.New(simulator.Config{
		Seed: seed, Start: start, End: start.Add(72 * time.Hour), Records: n,
		HostileRate: hostile, Schema: "mixed",
	})
	if err != nil {
		t.Fatal(err)
	}
	m := event.NewMapper(event.DefaultFields(), "tenant-a")
	ingested := start.Add(96 * time.Hour)
	evs := make([]event.Event, 0, n)
	for _, id := range sim.ValidIDs() {
		raw, _ := sim.RecordJSON(id)
		p, err := event.Parse(raw)
		if err != nil {
			t.Fatalf("record %s: %v", id, err)
		}
		e, err := m.Map(&p, ingested)
		if err != nil {
			t.Fatalf("record %s: %v", id, err)
		}
		evs = append(evs, e)
	}
	return evs
}

// mustNew builds an Output or fails the test.
func mustNew(t testing.TB, cfg Config) *Output {
	t.Helper()
	o, err := New("syslog-test", cfg)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// encodeOne returns the message for e (no framing).
func encodeOne(t testing.TB, o *Output, e event.Event) string {
	t.Helper()
	msg, _, err := o.enc.appendMessage(nil, &e)
	if err != nil {
		t.Fatal(err)
	}
	return string(msg)
}
