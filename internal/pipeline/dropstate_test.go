package pipeline

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/auditfwd/auditfwd/internal/simulator"
	"github.com/auditfwd/auditfwd/outputs"
)

// queue.policy drop_oldest moves the delivery mark of a batch the file
// output is writing. The file's state must be saved with that move (and
// with the acknowledgement that follows it, which then moves nothing), or
// the next start cuts a batch that is already in the file.
func TestDropOldestSavesTheFileState(t *testing.T) {
	never := make(chan struct{})
	for _, tc := range []struct {
		name string
		// gate for Write n; release is closed once polling is over.
		gate func(release chan struct{}) func(n int64, after bool) <-chan struct{}
		// wait until the batch is in the file and the crash may come
		ready func(g *gatedFile) bool
	}{
		{"drop while the batch is written, crash before its Write returns",
			func(chan struct{}) func(int64, bool) <-chan struct{} {
				return func(n int64, after bool) <-chan struct{} {
					if n == 1 && after {
						return never
					}
					return nil
				}
			},
			func(g *gatedFile) bool { return g.parked.Load() == 1 }},
		{"drop before the batch is written, crash after its acknowledgement",
			func(release chan struct{}) func(int64, bool) <-chan struct{} {
				return func(n int64, after bool) <-chan struct{} {
					switch {
					case n == 1 && !after:
						return release
					case n == 2 && !after:
						return never
					}
					return nil
				}
			},
			func(g *gatedFile) bool { return g.parked.Load() == 2 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *simulator.Config) { c.Records = 6000; c.HostileRate = 0 })
			c := h.config(h.fileOnly("flush_interval: 10ms", ", queue: {max_bytes: 1MiB, policy: drop_oldest, segment_bytes: 64KiB}"))
			c.Sources[0].Checkpoint = 200
			g := h.gatedFileOutput(t)
			release := make(chan struct{})
			g.gate = tc.gate(release)
			p, err := New(c, []outputs.Output{g}, quietLog(), Options{Now: h.clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			stop := h.startDaemon(c, p)
			want := int64(len(h.sim.ValidIDs()))
			// Batch 1 is held while polling fills the queue past its
			// limit: the drop moves the mark past batch 1. Then polling
			// ends, so no later drop can save the state by chance.
			waitFor(t, "the first batch to be held", 60*time.Second, func() bool { return g.parked.Load() == 1 })
			waitFor(t, "polling to queue every record", 60*time.Second, func() bool { return p.SourceStats("t1").New.Load() == want })
			if p.OutputStats("local").Dropped.Load() == 0 {
				t.Fatal("nothing dropped: the test did not reach its case")
			}
			close(release)
			waitFor(t, "the batch to be in the file", 60*time.Second, func() bool { return tc.ready(g) })
			written, err := os.ReadFile(h.eventsPath())
			if err != nil || len(written) == 0 {
				t.Fatalf("file after the first batch: %d bytes, %v", len(written), err)
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}

			// The next start must keep what is written.
			p2, err := New(c, buildOuts(t, c, nil), quietLog(), Options{Now: h.clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			p2.Close()
			after, _ := os.ReadFile(h.eventsPath())
			if !strings.HasPrefix(string(after), string(written)) {
				t.Fatalf("the start cut the file from %d to %d bytes: a batch already written is gone", len(written), len(after))
			}
		})
	}
}
