package pipeline

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/auditfwd/auditfwd/internal/simulator"
	"github.com/auditfwd/auditfwd/internal/source/wss"
)

func warnings(hook *logtest.Hook, substr string) int {
	n := 0
	for _, e := range hook.AllEntries() {
		if e.Level == logrus.WarnLevel && strings.Contains(e.Message, substr) {
			n++
		}
	}
	return n
}

// A cursor ahead of the clock (a clock set back, a cursor moved by hand)
// polls nothing until the clock catches up: it must say so, once, with
// the way out, rather than exit 0 in silence.
func TestCursorAheadOfClockWarns(t *testing.T) {
	h := newHarness(t, func(c *simulator.Config) { c.Records = 200 })
	c := h.config(h.yaml("", ""))
	if _, err := h.runOnce(c, nil); err != nil {
		t.Fatal(err)
	}
	h.clock.Set(t0.Add(-48 * time.Hour))
	log, hook := logtest.NewNullLogger()
	p, err := New(c, buildOuts(t, c, nil), log, Options{Once: true, Now: h.clock.Now, OnceMaxAttempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	requests := len(h.sim.Requests())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	p.Close()
	if n := len(h.sim.Requests()) - requests; n != 0 {
		t.Fatalf("%d requests with the cursor ahead of the clock", n)
	}
	if n := warnings(hook, "ahead of this machine's clock"); n != 1 {
		t.Fatalf("%d warnings about the cursor ahead of the clock, want 1: %v", n, hook.AllEntries())
	}
	for _, e := range hook.AllEntries() {
		if strings.Contains(e.Message, "ahead") && !strings.Contains(e.Message, "auditfwd state set") {
			t.Errorf("the warning does not say how to fix it: %s", e.Message)
		}
	}
}

// run and backfill share one rule for a start past the API's retention:
// clamp to the oldest time it keeps, with a warning.
func TestStartOlderThanRetentionIsClamped(t *testing.T) {
	h := newHarness(t, nil)
	y := strings.Replace(h.yaml("", ""), "start: "+h.sc.Start.Format(time.RFC3339), "start: 400d", 1)
	c := h.config(y)
	log, hook := logtest.NewNullLogger()
	p, err := New(c, buildOuts(t, c, nil), log, Options{Once: true, Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	now := h.clock.Now()
	start, _ := p.srcs[0].window(now)
	if oldest := now.Add(-wss.Retention).Truncate(24 * time.Hour); start.Before(oldest) {
		t.Fatalf("first window starts %s, before the retention's %s", start, oldest)
	}
	p.srcs[0].window(now)
	if n := warnings(hook, "one-year retention"); n != 1 {
		t.Fatalf("%d retention warnings, want 1", n)
	}
}

// A long catch-up logs where it is at info level (every progressEvery;
// shortened here), with the counts so far.
func TestCatchUpLogsProgress(t *testing.T) {
	old := progressEvery
	progressEvery = time.Nanosecond
	defer func() { progressEvery = old }()
	h := newHarness(t, func(c *simulator.Config) { c.Records = 300 })
	c := h.config(h.yaml("", ""))
	log, hook := logtest.NewNullLogger()
	p, err := New(c, buildOuts(t, c, nil), log, Options{Once: true, Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.Close()
	n := 0
	for _, e := range hook.AllEntries() {
		if e.Level == logrus.InfoLevel && e.Message == "catching up" && e.Data["polled_up_to"] != nil && e.Data["new"] != nil {
			n++
		}
	}
	if n == 0 {
		t.Fatal("no progress line over a catch-up of several windows")
	}
}
