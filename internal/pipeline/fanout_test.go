package pipeline

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditfwd/auditfwd/internal/event"
	"github.com/auditfwd/auditfwd/internal/simulator"
	"github.com/auditfwd/auditfwd/outputs"
)

// twoOutputs is a config with the file output and a test output "siem".
func (h *harness) twoOutputs(siemExtra string) string {
	return h.yaml("    poll_interval: 1s\n", fmt.Sprintf(
		"  - {name: local, type: file, path: %q, batch: {flush_interval: 10ms}}\n"+
			"  - {name: siem, type: stdout, batch: {max_events: 100, flush_interval: 10ms}, retry: {initial_interval: 10ms, max_interval: 100ms}%s}\n",
		h.eventsPath(), siemExtra))
}

// startDaemon runs the pipeline until the returned stop is called.
func (h *harness) startDaemon(c interface{}, p *Pipeline) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	return func() error {
		cancel()
		err := <-done
		if cerr := p.Close(); err == nil {
			err = cerr
		}
		return err
	}
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	// A ceiling, not an expectation: on a loaded 2-core machine a test
	// may take many times its idle duration; only a hang should fail.
	d = max(d, 3*time.Minute)
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// One output down for a while: the other gets everything at once, the dead
// one's queue holds everything, and it catches up in order with no gap.
func TestDeadOutputDoesNotBlockOthers(t *testing.T) {
	h := newHarness(t, nil)
	siem := newTestOutput("siem")
	siem.down.Store(true)
	c := h.config(h.twoOutputs(""))
	p, err := New(c, buildOuts(t, c, map[string]outputs.Output{"siem": siem}), quietLog(), Options{Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	stop := h.startDaemon(c, p)
	want := len(h.sim.ValidIDs())
	waitFor(t, "the file output to have every event", 30*time.Second, func() bool {
		return countLines(t, h.eventsPath()) == want
	})
	checkExactlyOnce(t, h.sim, readIDs(t, h.eventsPath()))
	if qs := p.QueueStats("siem"); qs.Events != int64(want) {
		t.Fatalf("dead output's queue holds %d events, want %d", qs.Events, want)
	}
	if qs := p.QueueStats("local"); qs.Events != 0 {
		t.Fatalf("live output's queue holds %d", qs.Events)
	}
	siem.down.Store(false)
	waitFor(t, "the dead output to catch up", 30*time.Second, func() bool { return p.QueueStats("siem").Events == 0 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	got := siem.deliveries()
	if len(got) != want {
		t.Fatalf("siem got %d distinct events, want %d", len(got), want)
	}
	for h, n := range got {
		if n != 1 {
			t.Fatalf("event %s delivered %d times", h[:8], n)
		}
	}
	// In order: queue order is the order the records were polled.
	local := hashesInFile(t, h.eventsPath())
	for i := range local {
		if siem.order[i] != local[i] {
			t.Fatalf("order differs at %d", i)
		}
	}
}

func hashesInFile(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var d struct {
			Event struct{ Hash string } `json:"event"`
		}
		json.Unmarshal([]byte(line), &d)
		out = append(out, d.Event.Hash)
	}
	return out
}

// Permanent refusals go to the output's dead letter and never block the
// queue; items the output asks to retry are retried alone; whole-batch
// failures are retried with back-off.
func TestPartialAndPermanentFailures(t *testing.T) {
	h := newHarness(t, func(c *simulator.Config) { c.Records = 1000 })
	siem := newTestOutput("siem")
	siem.failNext = 3
	refused := 0
	siem.permanent = func(e event.Event) bool { return e.Hash[0] < 8 } // about 3%
	retryCount := 0
	asked := map[string]bool{}
	siem.onWrite = func(batch []event.Event) {
		siem.mu.Lock()
		defer siem.mu.Unlock()
		for _, e := range batch {
			if e.Hash[1]%10 == 0 && !asked[e.HashHex()] {
				asked[e.HashHex()] = true
				siem.retryOnce[e.HashHex()] = true
				retryCount++
			}
		}
	}
	c := h.config(h.twoOutputs(""))
	p, err := h.runOnce(c, map[string]outputs.Output{"siem": siem})
	if err != nil {
		t.Fatal(err)
	}
	all := hashesInFile(t, h.eventsPath())
	got := siem.deliveries()
	for _, hh := range all {
		hb, _ := hex.DecodeString(hh)
		if len(hb) != 32 {
			t.Fatalf("bad hash %q", hh)
		}
		if hb[0] < 8 {
			refused++
			if got[hh] != 0 {
				t.Fatalf("refused event %s was delivered", hh[:8])
			}
			continue
		}
		if got[hh] != 1 {
			t.Fatalf("event %s delivered %d times", hh[:8], got[hh])
		}
	}
	if refused == 0 || retryCount == 0 {
		t.Fatalf("test did not exercise refusals (%d) and retries (%d)", refused, retryCount)
	}
	st := p.OutputStats("siem")
	if st.DeadLettered.Load() != int64(refused) {
		t.Fatalf("dead-lettered counter %d, want %d", st.DeadLettered.Load(), refused)
	}
	if st.Retried.Load() == 0 {
		t.Fatal("no retries counted")
	}
	dl := filepath.Join(h.dir, "state", "deadletter-siem.ndjson")
	if n := countLines(t, dl); n != refused {
		t.Fatalf("output dead letter has %d lines, want %d", n, refused)
	}
	data, _ := os.ReadFile(dl)
	if !strings.Contains(string(data), `"reason":"refused `) || !strings.Contains(string(data), `"event":{"@timestamp"`) {
		t.Fatalf("dead letter lines lack reason or event: %.300s", data)
	}
}

// queue.policy block: a dead output's full queue stops polling; nothing is
// lost; when the output returns, polling goes on.
func TestBackPressureBlock(t *testing.T) {
	h := newHarness(t, func(c *simulator.Config) { c.Records = 6000; c.HostileRate = 0 })
	siem := newTestOutput("siem")
	siem.down.Store(true)
	c := h.config(h.twoOutputs(", queue: {max_bytes: 1MiB, segment_bytes: 64KiB}"))
	c.Sources[0].Checkpoint = 200
	p, err := New(c, buildOuts(t, c, map[string]outputs.Output{"siem": siem}), quietLog(), Options{Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	stop := h.startDaemon(c, p)
	waitFor(t, "polling to block", 30*time.Second, func() bool { return p.SourceStats("t1").BlockedNow.Load() })
	time.Sleep(300 * time.Millisecond)
	qs := p.QueueStats("siem")
	if qs.Bytes > 1<<20+300*2048 {
		t.Fatalf("queue grew to %d bytes past its limit", qs.Bytes)
	}
	if n := countLines(t, h.eventsPath()); n >= len(h.sim.ValidIDs()) {
		t.Fatalf("polling did not stop: the file output has all %d events", n)
	}
	if r := p.Ready(time.Now()); r.Ready || !strings.Contains(r.Outputs["siem"], "queue at") || r.Outputs["local"] != "ok" {
		t.Fatalf("readiness with a full queue: %+v", r)
	}
	siem.down.Store(false)
	want := len(h.sim.ValidIDs())
	waitFor(t, "everything delivered after the output came back", 60*time.Second, func() bool {
		return countLines(t, h.eventsPath()) == want && p.QueueStats("siem").Events == 0
	})
	if r := p.Ready(time.Now()); !r.Ready {
		t.Fatalf("not ready after catching up: %+v", r)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, h.sim, readIDs(t, h.eventsPath()))
	if len(siem.deliveries()) != want {
		t.Fatalf("siem got %d of %d", len(siem.deliveries()), want)
	}
}

// queue.policy drop_oldest: polling goes on, the dead output's queue stays
// bounded, every dropped event is counted, the file output gets everything.
func TestBackPressureDropOldest(t *testing.T) {
	h := newHarness(t, func(c *simulator.Config) { c.Records = 6000; c.HostileRate = 0 })
	siem := newTestOutput("siem")
	siem.down.Store(true)
	c := h.config(h.twoOutputs(", queue: {max_bytes: 1MiB, policy: drop_oldest, segment_bytes: 64KiB}"))
	c.Sources[0].Checkpoint = 200
	p, err := New(c, buildOuts(t, c, map[string]outputs.Output{"siem": siem}), quietLog(), Options{Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	stop := h.startDaemon(c, p)
	want := len(h.sim.ValidIDs())
	waitFor(t, "the file output to have every event", 30*time.Second, func() bool {
		return countLines(t, h.eventsPath()) == want
	})
	dropped := p.OutputStats("siem").Dropped.Load()
	queued := p.QueueStats("siem").Events
	if dropped == 0 {
		t.Fatal("nothing dropped")
	}
	if qs := p.QueueStats("siem"); qs.Bytes > 1<<20+300*2048 {
		t.Fatalf("queue at %d bytes", qs.Bytes)
	}
	siem.down.Store(false)
	waitFor(t, "the queue to drain", 30*time.Second, func() bool { return p.QueueStats("siem").Events == 0 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	got := int64(len(siem.deliveries()))
	// Every event is either delivered or counted as dropped (an in-flight
	// batch can be both: counted, then delivered).
	if got+dropped < int64(want) || got < queued {
		t.Fatalf("delivered %d + dropped %d < %d polled (queued at recovery %d)", got, dropped, want, queued)
	}
}

// A hung output never holds up the others, and a stop does not wait past
// shutdown_timeout for it.
func TestHungOutputAndShutdownTimeout(t *testing.T) {
	h := newHarness(t, func(c *simulator.Config) { c.Records = 500 })
	siem := newTestOutput("siem")
	siem.hang = make(chan struct{})
	y := strings.Replace(h.twoOutputs(""), "shutdown_timeout: 20s", "shutdown_timeout: 1s", 1)
	c := h.config(y)
	p, err := New(c, buildOuts(t, c, map[string]outputs.Output{"siem": siem}), quietLog(), Options{Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	stop := h.startDaemon(c, p)
	want := len(h.sim.ValidIDs())
	waitFor(t, "the file output", 30*time.Second, func() bool { return countLines(t, h.eventsPath()) == want })
	t0 := time.Now()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	// The output hangs forever: only shutdown_timeout ends the stop. The
	// bound is loose so that a busy machine does not fail it.
	if d := time.Since(t0); d > 60*time.Second {
		t.Fatalf("stop took %s with shutdown_timeout 1s", d)
	}
	// Restart with the output healthy: the hung batch is delivered.
	siem2 := newTestOutput("siem")
	c = h.config(y)
	if _, err := h.runOnce(c, map[string]outputs.Output{"siem": siem2}); err != nil {
		t.Fatal(err)
	}
	if len(siem2.deliveries()) != want {
		t.Fatalf("after restart siem got %d of %d", len(siem2.deliveries()), want)
	}
}

// Retry-After from an output is waited for.
func TestOutputRetryAfter(t *testing.T) {
	h := newHarness(t, func(c *simulator.Config) { c.Records = 50 })
	siem := newTestOutput("siem")
	siem.failNext, siem.retryAfter = 1, 1500*time.Millisecond
	t0 := time.Now()
	if _, err := h.runOnce(h.config(h.twoOutputs("")), map[string]outputs.Output{"siem": siem}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d < 1400*time.Millisecond {
		t.Fatalf("finished after %s; Retry-After asked 1.5s", d)
	}
	if len(siem.deliveries()) != len(h.sim.ValidIDs()) {
		t.Fatal("not all delivered")
	}
}

type chanOutput struct {
	*testOutput
	ch string
}

func (c *chanOutput) GeneratedChannel() string { return c.ch }
func (c *chanOutput) SetChannel(s string) error {
	c.ch = s
	return nil
}

// A generated HEC channel is kept in state: a restart reuses it.
func TestGeneratedChannelKept(t *testing.T) {
	h := newHarness(t, nil)
	c := h.config(h.twoOutputs(""))
	first := &chanOutput{testOutput: newTestOutput("siem"), ch: "11111111-1111-4111-8111-111111111111"}
	p, err := New(c, buildOuts(t, c, map[string]outputs.Output{"siem": first}), quietLog(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	second := &chanOutput{testOutput: newTestOutput("siem"), ch: "22222222-2222-4222-8222-222222222222"}
	p, err = New(c, buildOuts(t, c, map[string]outputs.Output{"siem": second}), quietLog(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	if second.ch != first.ch {
		t.Fatalf("channel after restart %s, want the saved %s", second.ch, first.ch)
	}
}
