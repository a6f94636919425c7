package splunkhec

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// Concurrent Writes on one output and one channel (the pipeline's
// batch.max_in_flight): the indexer acknowledges nothing until all four
// batches are in, so the Writes overlap; the ack of the first request is
// lost. Each Write polls and answers for its own requests only: the one
// whose ack was lost is retried, the others are delivered, and every
// event is indexed once.
func TestConcurrentWrites(t *testing.T) {
	const writers, per = 4, 10
	f := newFakeHEC(t, false)
	f.ack = true
	f.ackRule = func(id int64, _ int, _ time.Duration) bool {
		var accepted int64
		for _, n := range f.nextAck { // f.mu is held
			accepted += n
		}
		return id != 0 && accepted >= writers
	}
	cfg := ackConfig(f.srv.URL)
	cfg.AckTimeout = Duration(5 * time.Second)
	o := newOutput(t, cfg)
	o.SetConcurrency(writers)
	evs := makeEvents(t, writers*per, start, time.Second)
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = o.Write(context.Background(), evs[w*per:(w+1)*per])
		}()
	}
	wg.Wait()

	// The lost ack's request carries one Write's batch (10 events fit in
	// one request): that Write, and only it, must retry.
	f.mu.Lock()
	lost := f.acks[o.Channel()][0]
	f.mu.Unlock()
	if lost == nil || len(lost.hashes) != per {
		t.Fatalf("request 0: %+v; want one batch of %d events", lost, per)
	}
	loser := -1
	for w := 0; w < writers; w++ {
		if evs[w*per].HashHex() == lost.hashes[0] {
			loser = w
		}
	}
	for w, err := range errs {
		switch {
		case w == loser && !errors.Is(err, ErrAckTimeout):
			t.Errorf("write %d (its ack lost): %v; want ErrAckTimeout", w, err)
		case w != loser && err != nil:
			t.Errorf("write %d: %v; want nil (acknowledged)", w, err)
		}
	}
	seen := map[string]int{}
	for _, e := range f.storedEvents() {
		seen[e["fields"].(map[string]any)["event.hash"].(string)]++
	}
	for i, e := range evs {
		if seen[e.HashHex()] != 1 {
			t.Errorf("event %d indexed %d times; want once", i, seen[e.HashHex()])
		}
	}
}
