package pipeline

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/auditfwd/auditfwd/internal/event"
	"github.com/auditfwd/auditfwd/internal/simulator"
	"github.com/auditfwd/auditfwd/outputs"
	"github.com/auditfwd/auditfwd/outputs/file"
)

// gatedFile is the real file output with hooks: Write can wait before or
// after the real write (until released or until the drainer stops), and
// beforeFollow runs before the pipeline's Follow call n.
type gatedFile struct {
	*file.Output
	gate         func(n int64, after bool) <-chan struct{} // nil: go on
	beforeFollow func(n int64)
	writes       atomic.Int64
	follows      atomic.Int64
	parked       atomic.Int64 // the Write waiting now (0: none)
}

func (g *gatedFile) Follow() (bool, error) {
	if n := g.follows.Add(1); g.beforeFollow != nil {
		g.beforeFollow(n)
	}
	return g.Output.Follow()
}

func (g *gatedFile) Write(ctx context.Context, batch []event.Event) error {
	n := g.writes.Add(1)
	if err := g.wait(ctx, n, false); err != nil {
		return err
	}
	if err := g.Output.Write(ctx, batch); err != nil {
		return err
	}
	return g.wait(ctx, n, true)
}

func (g *gatedFile) wait(ctx context.Context, n int64, after bool) error {
	var ch <-chan struct{}
	if g.gate != nil {
		ch = g.gate(n, after)
	}
	if ch == nil {
		return nil
	}
	g.parked.Store(n)
	defer g.parked.Store(0)
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *harness) gatedFileOutput(t *testing.T) *gatedFile {
	t.Helper()
	o, err := file.New("local", file.Config{Path: h.eventsPath()})
	if err != nil {
		t.Fatal(err)
	}
	return &gatedFile{Output: o}
}

// fileOnly is a config with one file output (its batch and further keys)
// and a short shutdown_timeout (a parked Write is abandoned after it).
func (h *harness) fileOnly(batch, extra string) string {
	y := h.yaml("    poll_interval: 1s\n", fmt.Sprintf("  - {name: local, type: file, path: %q, batch: {%s}%s}\n", h.eventsPath(), batch, extra))
	return strings.Replace(y, "shutdown_timeout: 20s", "shutdown_timeout: 1s", 1)
}

// A file rotated (renamed) between two batches: the state naming the new
// file is saved before the output writes there, so a crash after that
// write cuts the new file back, and every record is once in the old file
// or the new one.
func TestRotationStateSavedBeforeWriting(t *testing.T) {
	h := newHarness(t, func(c *simulator.Config) { c.Records = 600; c.HostileRate = 0 })
	c := h.config(h.fileOnly("max_events: 50, flush_interval: 10ms", ""))
	c.Sources[0].Checkpoint = 100
	g := h.gatedFileOutput(t)
	var rotateErr error
	var once sync.Once
	g.beforeFollow = func(n int64) {
		if n == 2 {
			once.Do(func() { rotateErr = os.Rename(h.eventsPath(), h.eventsPath()+".1") })
		}
	}
	never := make(chan struct{})
	g.gate = func(n int64, after bool) <-chan struct{} {
		if n == 2 && after {
			return never // written to the new file, never acknowledged
		}
		return nil
	}
	p, err := New(c, []outputs.Output{g}, quietLog(), Options{Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	stop := h.startDaemon(c, p)
	waitFor(t, "the second batch to be written", 60*time.Second, func() bool { return g.parked.Load() == 2 || g.writes.Load() > 2 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if g.follows.Load() < 2 || rotateErr != nil {
		t.Fatalf("the pipeline called Follow %d times before the writes (rotation: %v): a rotated file is not looked at before writing", g.follows.Load(), rotateErr)
	}

	if _, err := h.runOnce(h.config(h.fileOnly("max_events: 50, flush_interval: 10ms", "")), nil); err != nil {
		t.Fatal(err)
	}
	ids := readIDs(t, h.eventsPath()+".1")
	for id, n := range readIDs(t, h.eventsPath()) {
		ids[id] += n
	}
	checkExactlyOnce(t, h.sim, ids)
}

// A file output's file found shorter than it left it is counted in
// auditfwd_output_file_missing_bytes_total, not accepted in silence.
func TestFileMissingBytesMetric(t *testing.T) {
	h := newHarness(t, func(c *simulator.Config) { c.Records = 300 })
	if _, err := h.runOnce(h.config(h.yaml("", "")), nil); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(h.eventsPath())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(h.eventsPath(), fi.Size()-10); err != nil { // someone cut it
		t.Fatal(err)
	}
	c := h.config(h.yaml("", ""))
	p, err := New(c, buildOuts(t, c, nil), quietLog(), Options{Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(p))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "auditfwd_output_file_missing_bytes_total" {
			if v := mf.GetMetric()[0].GetCounter().GetValue(); v != 10 {
				t.Fatalf("missing bytes %v, want 10", v)
			}
			return
		}
	}
	t.Fatal("no auditfwd_output_file_missing_bytes_total")
}
