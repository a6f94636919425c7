package splunkhec

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auditfwd/auditfwd/internal/event"
	"github.com/auditfwd/auditfwd/internal/testpeer"
)

// inFlightConfig sends requests of about lines events each, max at once.
func inFlightConfig(t *testing.T, url string, evs []event.Event, lines, max int) Config {
	cfg := ackConfig(url)
	cfg.AckTimeout = Duration(5 * time.Second)
	o := newOutput(t, cfg)
	line, err := o.encode(evs[0])
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxRequestBytes = lines*len(line) + len(line)/2
	cfg.MaxInFlight = max
	return cfg
}

// A batch goes out in requests of at most max_request_bytes, max_in_flight
// of them at once (never more), and their acks are polled together: one
// /ack call carries every request's ackId.
func TestRequestsInFlight(t *testing.T) {
	f := newFakeHEC(t, false)
	f.ack = true
	f.ackAfterPolls = 1
	f.hold = 4
	evs := makeEvents(t, 64, start, time.Second)
	cfg := inFlightConfig(t, f.srv.URL, evs, 4, 4)
	o := newOutput(t, cfg)
	if err := o.Write(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	calls := f.calls()
	if len(calls) != 16 {
		t.Fatalf("%d requests for 64 events of 4 a request, want 16", len(calls))
	}
	for i, c := range calls {
		if len(c.body) > cfg.MaxRequestBytes {
			t.Errorf("request %d: %d bytes, max_request_bytes is %d", i, len(c.body), cfg.MaxRequestBytes)
		}
	}
	f.gateMu.Lock()
	most := f.maxInFlight
	f.gateMu.Unlock()
	if most != 4 {
		t.Errorf("at most %d requests in flight together, want max_in_flight 4", most)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.ackQueries) != 1 || len(f.ackQueries[0]) != 16 {
		t.Errorf("/ack calls %v: want one carrying the 16 ackIds", f.ackQueries)
	}
	if n := len(f.storedEvents0()); n != 64 {
		t.Errorf("%d events indexed, want 64", n)
	}
}

// Acks that come late, out of order, or never (lost by the indexer):
// Write returns only once every request is acknowledged or has timed out;
// exactly the items of the lost acks are retried; an item reported
// delivered was acknowledged before Write returned. Retrying as the
// pipeline does indexes every event, the lost ones twice (the documented
// duplicate window).
func TestAcksLostAndOutOfOrder(t *testing.T) {
	f := newFakeHEC(t, false)
	f.ack = true
	lost := map[int64]bool{2: true, 7: true}
	f.ackRule = func(id int64, polls int, _ time.Duration) bool {
		// later requests are acknowledged at earlier polls
		return !lost[id] && polls >= 1+int(9-id%10)%4
	}
	evs := makeEvents(t, 40, start, time.Second)
	cfg := inFlightConfig(t, f.srv.URL, evs, 4, 3)
	cfg.AckTimeout = Duration(3 * time.Second)
	o := newOutput(t, cfg)

	err := o.Write(context.Background(), evs)
	be := asBatchError(t, err)
	if !errors.Is(err, ErrAckTimeout) || len(be.Permanent) != 0 {
		t.Fatalf("want ErrAckTimeout for the lost acks only, got %v", err)
	}
	f.mu.Lock()
	acks := f.acks[o.Channel()]
	if len(acks) != 10 {
		f.mu.Unlock()
		t.Fatalf("%d ackIds, want 10 (40 events, 4 a request)", len(acks))
	}
	lostHashes := map[string]bool{}
	ackedHashes := map[string]bool{}
	for id, a := range acks {
		for _, h := range a.hashes {
			if lost[id] {
				lostHashes[h] = true
			} else if a.released {
				ackedHashes[h] = true
			}
		}
	}
	f.mu.Unlock()
	retried := map[string]bool{}
	for _, i := range be.Retry {
		retried[evs[i].HashHex()] = true
	}
	for i, e := range evs {
		h := e.HashHex()
		switch {
		case retried[h] != lostHashes[h]:
			t.Errorf("event %d: retried %t, its ack lost %t", i, retried[h], lostHashes[h])
		case !retried[h] && !ackedHashes[h]:
			t.Errorf("event %d reported delivered without its ack", i)
		}
	}
	if len(be.Retry) != 8 {
		t.Errorf("%d items retried, want the 8 of the two lost acks", len(be.Retry))
	}

	// The pipeline resends the retried items until they are acknowledged.
	pending := be.Retry
	for round := 0; len(pending) > 0; round++ {
		if round == 3 {
			t.Fatalf("still %d items unacknowledged after 3 resends", len(pending))
		}
		var again []event.Event
		for _, i := range pending {
			again = append(again, evs[i])
		}
		err := o.Write(context.Background(), again)
		if err == nil {
			break
		}
		be := asBatchError(t, err)
		next := make([]int, 0, len(be.Retry))
		for _, j := range be.Retry {
			next = append(next, pending[j])
		}
		pending = next
	}
	seen := map[string]int{}
	for _, s := range f.storedEvents() {
		seen[s["fields"].(map[string]any)["event.hash"].(string)]++
	}
	for i, e := range evs {
		want := 1
		if lostHashes[e.HashHex()] {
			want = 2
		}
		if seen[e.HashHex()] != want {
			t.Errorf("event %d indexed %d times, want %d", i, seen[e.HashHex()], want)
		}
	}
}

// A busy answer to one request of several: nothing more is sent, the
// items not indexed are retried with the server's Retry-After, and every
// item is either indexed or retried, never both.
func TestBusyInFlight(t *testing.T) {
	f := newFakeHEC(t, false)
	f.busy = func(n int) (int, string) {
		if n >= 3 {
			return 503, "5"
		}
		return 0, ""
	}
	evs := makeEvents(t, 40, start, time.Second)
	cfg := inFlightConfig(t, f.srv.URL, evs, 4, 2)
	cfg.Ack = false
	o := newOutput(t, cfg)
	be := asBatchError(t, o.Write(context.Background(), evs))
	if be.RetryAfter != 5*time.Second || len(be.Permanent) != 0 || !strings.Contains(be.Error(), "busy") {
		t.Fatalf("%+v", be)
	}
	stored := map[string]bool{}
	for _, s := range f.storedEvents() {
		stored[s["fields"].(map[string]any)["event.hash"].(string)] = true
	}
	for i, e := range evs {
		if slices.Contains(be.Retry, i) == stored[e.HashHex()] {
			t.Errorf("event %d: retried %t, indexed %t", i, slices.Contains(be.Retry, i), stored[e.HashHex()])
		}
	}
	// From the 3rd request on HEC is busy: the 3rd, and the one in flight
	// beside it, were the last sent.
	if n := len(f.calls()); n < 3 || n > 4 {
		t.Errorf("%d requests: sending went on after the server said busy", n)
	}
}

// Splunk forgot the channel (400 code 11 on /ack) while several requests
// awaited their acks: the whole batch is retried.
func TestChannelLostInFlight(t *testing.T) {
	f := newFakeHEC(t, false)
	f.ack = true
	f.ackAfterPolls = 2
	f.resetChannel = true
	evs := makeEvents(t, 20, start, time.Second)
	o := newOutput(t, inFlightConfig(t, f.srv.URL, evs, 4, 3))
	err := o.Write(context.Background(), evs)
	wholeBatchRetry(t, err)
	if !strings.Contains(err.Error(), "lost the acks") || len(f.calls()) != 5 {
		t.Errorf("%d requests, %v", len(f.calls()), err)
	}
}

// An event larger than max_request_bytes goes alone; the others are
// packed up to the limit.
func TestRequestSize(t *testing.T) {
	f := newFakeHEC(t, false)
	evs := makeEvents(t, 12, start, time.Second)
	big := testpeer.Events(t, 1, start, time.Second, strings.Repeat("long name ", 400)+"%d")[0]
	evs = slices.Insert(evs, 5, big)
	cfg := inFlightConfig(t, f.srv.URL, evs, 3, 2)
	cfg.Ack = false
	o := newOutput(t, cfg)
	if err := o.Write(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	total := 0
	for i, c := range f.calls() {
		total += len(c.lines)
		if len(c.body) > cfg.MaxRequestBytes && len(c.lines) != 1 {
			t.Errorf("request %d: %d bytes in %d events, over max_request_bytes %d", i, len(c.body), len(c.lines), cfg.MaxRequestBytes)
		}
	}
	if total != 13 || len(f.calls()) > 6 {
		t.Errorf("%d events in %d requests, want 13 in at most 6", total, len(f.calls()))
	}
}
