package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/auditfwd/auditfwd/internal/event"
	"github.com/auditfwd/auditfwd/internal/simulator"
	"github.com/auditfwd/auditfwd/outputs"
)

// keepingOutput keeps every document it is handed, as handed (no copy),
// with a copy taken at the time, and checks at each Write that every
// document is its event's: the document names its own event.hash.
type keepingOutput struct {
	*testOutput
	kmu      sync.Mutex
	kept     [][2][]byte
	mismatch int
}

func (o *keepingOutput) Write(ctx context.Context, batch []event.Event) error {
	o.kmu.Lock()
	for _, e := range batch {
		if !bytes.Contains(e.Doc, []byte(`"hash":"`+e.HashHex()+`"`)) {
			o.mismatch++
		}
		o.kept = append(o.kept, [2][]byte{e.Doc, bytes.Clone(e.Doc)})
	}
	o.kmu.Unlock()
	return o.testOutput.Write(ctx, batch)
}

// overwritten counts the kept documents whose memory changed after Write.
func (o *keepingOutput) overwritten() int {
	o.kmu.Lock()
	defer o.kmu.Unlock()
	n := 0
	for _, k := range o.kept {
		if !bytes.Equal(k[0], k[1]) {
			n++
		}
	}
	return n
}

// copyingOutput says it keeps nothing (outputs.Copier), and still keeps
// documents only to see that their memory is reused.
type copyingOutput struct{ *keepingOutput }

func (copyingOutput) CopiesDocuments() {}

var _ outputs.Copier = copyingOutput{}

// TestBatchMemoryIsReusedOnlyForCopiers: an output that says it copies
// what it keeps has the next batch read into the memory of the last, once
// the last is settled (retries included); any other output may keep its
// documents for ever.
func TestBatchMemoryIsReusedOnlyForCopiers(t *testing.T) {
	h := newHarness(t, func(c *simulator.Config) { c.Records = 2000; c.MalformedRate = 0 })
	keeper := &keepingOutput{testOutput: newTestOutput("keeper")}
	copier := copyingOutput{&keepingOutput{testOutput: newTestOutput("copier")}}
	copier.failNext = 5 // retried batches must keep their documents until settled
	out := func(name string) string {
		return fmt.Sprintf("  - {name: %s, type: stdout, batch: {max_events: 7, flush_interval: 1ms}, retry: {initial_interval: 1ms, max_interval: 5ms}}\n", name)
	}
	c := h.config(h.yaml("    poll_interval: 1s\n", out("keeper")+out("copier")))
	if _, err := h.runOnce(c, map[string]outputs.Output{"keeper": keeper, "copier": copier}); err != nil {
		t.Fatal(err)
	}
	want := keeper.deliveries()
	if len(want) < 1000 {
		t.Fatalf("keeper got %d events, want the simulator's ~2000", len(want))
	}
	got := copier.deliveries()
	for h, n := range want {
		if n != 1 || got[h] != 1 {
			t.Fatalf("event %s: keeper %d, copier %d deliveries", h[:8], n, got[h])
		}
	}
	if len(got) != len(want) {
		t.Fatalf("copier got %d events, keeper %d", len(got), len(want))
	}
	if keeper.mismatch+copier.mismatch > 0 {
		t.Fatalf("documents not their event's at Write: keeper %d, copier %d", keeper.mismatch, copier.mismatch)
	}
	if n := keeper.overwritten(); n > 0 {
		t.Fatalf("%d documents an output kept were overwritten: only a Copier's memory may be reused", n)
	}
	if copier.overwritten() == 0 {
		t.Fatal("no batch was read into the memory of an earlier one: the Copier path is not taken")
	}
}
