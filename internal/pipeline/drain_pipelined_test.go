package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/auditfwd/auditfwd/internal/config"
	"github.com/auditfwd/auditfwd/internal/event"
	"github.com/auditfwd/auditfwd/outputs"
	"github.com/auditfwd/auditfwd/outputs/splunkhec"
)

// ackHEC is a Splunk HEC stand-in with indexer acknowledgement whose acks
// the test hands out: /event answers every request with the next ackId,
// /ack answers true for a request only once ackIf says so.
type ackHEC struct {
	srv *httptest.Server

	mu   sync.Mutex
	reqs []*hecReq // by ackId
	// ackIf decides, at each poll, whether a request is indexed.
	ackIf func(r *hecReq) bool
	// gated ackIds: a poll asking for one waits until gate is closed and
	// then answers false for it (the ack is lost).
	gated map[int64]bool
	gate  chan struct{}
}

type hecReq struct {
	id     int64
	at     time.Time // when it was accepted
	hashes []string  // event.hash of each event, in order
	acked  bool
}

func newAckHEC(t testing.TB) *ackHEC {
	f := &ackHEC{ackIf: func(*hecReq) bool { return false }, gated: map[int64]bool{}}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *ackHEC) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/services/collector/event":
		req := &hecReq{}
		dec := json.NewDecoder(bytes.NewReader(body))
		for {
			var line struct {
				Fields map[string]string `json:"fields"`
			}
			if err := dec.Decode(&line); err == io.EOF {
				break
			} else if err != nil {
				w.WriteHeader(400)
				io.WriteString(w, `{"text":"Invalid data format","code":6}`)
				return
			}
			req.hashes = append(req.hashes, line.Fields["event.hash"])
		}
		f.mu.Lock()
		req.id, req.at = int64(len(f.reqs)), time.Now()
		f.reqs = append(f.reqs, req)
		f.mu.Unlock()
		fmt.Fprintf(w, `{"text":"Success","code":0,"ackId":%d}`, req.id)
	case "/services/collector/ack":
		var q struct {
			Acks []int64 `json:"acks"`
		}
		json.Unmarshal(body, &q)
		f.mu.Lock()
		gate := f.gate
		wait := false
		for _, id := range q.Acks {
			wait = wait || f.gated[id]
		}
		f.mu.Unlock()
		if wait {
			select {
			case <-gate:
			case <-r.Context().Done(): // the output stopped: let the server close
				return
			}
		}
		f.mu.Lock()
		out := map[string]bool{}
		for _, id := range q.Acks {
			ok := false
			if id >= 0 && id < int64(len(f.reqs)) && !f.gated[id] {
				rq := f.reqs[id]
				ok = !rq.acked && f.ackIf(rq)
				rq.acked = rq.acked || ok
			}
			out[strconv.FormatInt(id, 10)] = ok
		}
		f.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{"acks": out})
	default:
		w.WriteHeader(404)
	}
}

func (f *ackHEC) setAckIf(fn func(*hecReq) bool) {
	f.mu.Lock()
	f.ackIf = fn
	f.mu.Unlock()
}

// requests returns copies of the requests received so far.
func (f *ackHEC) requests() []hecReq {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]hecReq, len(f.reqs))
	for i, r := range f.reqs {
		out[i] = *r
	}
	return out
}

// pipelinedHEC is a pipeline whose one output is splunk_hec with ack and
// max_in_flight batches of 100 events, against f, its queue holding
// batches of 100 events; no source runs: the test fills the queue.
type pipelinedHEC struct {
	t      testing.TB
	dir    string
	p      *Pipeline
	o      *outputRunner
	oq     *outQueue
	evs    []event.Event
	idx    map[string]int // event hash -> position in evs
	ends   []int64        // queue position after batch k
	cancel context.CancelFunc
}

const hecBatch = 100

func hecEvents(n int) ([]event.Event, map[string]int) {
	evs := make([]event.Event, n)
	idx := map[string]int{}
	for i := range evs {
		doc := []byte(fmt.Sprintf(`{"@timestamp":"2026-11-24T12:00:00Z","event":{"id":"e%d","action":"login","outcome":"success"}}`, i))
		evs[i] = event.Event{Hash: sha256.Sum256(doc), Time: t0.Add(time.Duration(i) * time.Millisecond), Doc: doc}
		idx[evs[i].HashHex()] = i
	}
	return evs, idx
}

// hecOpts are the keys a test or benchmark varies.
type hecOpts struct {
	batch, inFlight int
	ackTimeout      time.Duration
	poll            time.Duration // ack_poll_interval
}

var testHEC = hecOpts{batch: hecBatch, inFlight: 4, ackTimeout: 10 * time.Minute, poll: 5 * time.Millisecond}

func hecConfig(tb testing.TB, dir, url string, o hecOpts) *config.Config {
	y := fmt.Sprintf(`state_dir: %q
sources:
  - {name: t1, base_url: "http://127.0.0.1:9", username: u, password: p, start: %s}
outputs:
  - name: hec
    type: splunk_hec
    url: %s
    token: tok
    ack: true
    ack_poll_interval: %s
    ack_timeout: %s
    batch: {max_events: %d, max_in_flight: %d, flush_interval: 1ms}
    retry: {initial_interval: 5ms, max_interval: 20ms}
`, filepath.Join(dir, "state"), t0.Add(-time.Hour).Format(time.RFC3339), url, o.poll, o.ackTimeout, o.batch, o.inFlight)
	c, err := config.Parse([]byte(y), t0)
	if err != nil {
		tb.Fatalf("config: %v\n%s", err, y)
	}
	return c
}

// openPipelinedHEC opens the pipeline in dir against url; fill > 0
// queues that many batches of hecBatch events first.
func openPipelinedHEC(tb testing.TB, dir, url string, fill int, o hecOpts) *pipelinedHEC {
	tb.Helper()
	c := hecConfig(tb, dir, url, o)
	out, err := splunkhec.New("hec", *c.Outputs[0].SplunkHEC)
	if err != nil {
		tb.Fatal(err)
	}
	p, err := New(c, []outputs.Output{out}, quietLog(), Options{Now: func() time.Time { return t0 }})
	if err != nil {
		tb.Fatal(err)
	}
	h := &pipelinedHEC{t: tb, dir: dir, p: p, o: p.outs[0], oq: p.outs[0].snapshot()[0]}
	h.evs, h.idx = hecEvents(fill * hecBatch)
	for k := 0; k < fill; k++ {
		for _, e := range h.evs[k*hecBatch : (k+1)*hecBatch] {
			if err := h.oq.q.Append(e, t0); err != nil {
				tb.Fatal(err)
			}
		}
		end, err := h.oq.q.Sync()
		if err != nil {
			tb.Fatal(err)
		}
		h.ends = append(h.ends, end)
	}
	if fill > 0 {
		// What a source's checkpoint does: the commit mark, then publish.
		end := h.ends[len(h.ends)-1]
		if err := p.store.SetQueueMarks(h.oq.key, end, 0); err != nil {
			tb.Fatal(err)
		}
		h.oq.q.Commit(end)
	}
	return h
}

func (h *pipelinedHEC) start() { h.o.start(context.Background()) }

// crash stops the drainer with whatever is in flight and closes all.
func (h *pipelinedHEC) crash() {
	h.o.stop()
	if err := h.p.Close(); err != nil {
		h.t.Fatal(err)
	}
}

func (h *pipelinedHEC) mark() int64 {
	_, delivered, err := h.p.store.QueueMarks(h.oq.key)
	if err != nil {
		h.t.Fatal(err)
	}
	return delivered
}

// batchOf is the batch (from 0) whose events r carries; -1 if mixed.
func (h *pipelinedHEC) batchOf(r hecReq) int {
	k := -1
	for _, hash := range r.hashes {
		i, ok := h.idx[hash]
		if !ok {
			h.t.Fatalf("HEC got an event that was never queued: %s", hash)
		}
		if k >= 0 && i/hecBatch != k {
			return -1
		}
		k = i / hecBatch
	}
	return k
}

// batchesSent counts the requests per batch.
func (h *pipelinedHEC) batchesSent(f *ackHEC) map[int]int {
	m := map[int]int{}
	for _, r := range f.requests() {
		m[h.batchOf(r)]++
	}
	return m
}

// acked counts, per event index, the requests that carried it and were
// acknowledged, and sent the requests that carried it at all.
func (h *pipelinedHEC) counts(f *ackHEC) (acked, sent map[int]int) {
	acked, sent = map[int]int{}, map[int]int{}
	for _, r := range f.requests() {
		for _, hash := range r.hashes {
			sent[h.idx[hash]]++
			if r.acked {
				acked[h.idx[hash]]++
			}
		}
	}
	return acked, sent
}

// With max_in_flight 4, four batches go out before any ack comes back, and
// the delivery mark waits for batch 1 though batches 2..5 are acknowledged
// first; once batch 1 is, the mark covers all, each event once. (One batch
// at a time, batch 2 went out only after batch 1's ack.)
func TestPipelinedAcksMoveTheMarkInOrder(t *testing.T) {
	f := newAckHEC(t)
	h := openPipelinedHEC(t, t.TempDir(), f.srv.URL, 5, testHEC)
	h.start()
	defer h.crash()

	waitFor(t, "4 batches sent before any ack", time.Minute, func() bool { return len(h.batchesSent(f)) >= 4 })
	if sent := h.batchesSent(f); len(sent) != 4 || sent[4] != 0 {
		t.Fatalf("batches sent with none acknowledged: %v; want batches 0-3, max_in_flight 4", sent)
	}
	f.setAckIf(func(r *hecReq) bool { return h.batchOf(*r) != 0 })
	// Batch 5 goes out once a later batch's ack freed a slot, which the
	// drainer settles before it reads again.
	waitFor(t, "batch 5 sent after the ack of a later batch", time.Minute, func() bool { return h.batchesSent(f)[4] > 0 })
	waitFor(t, "batches 2-5 delivered", time.Minute, func() bool { return h.o.stats.Delivered.Load() == 4*hecBatch })
	if m := h.mark(); m != 0 {
		t.Fatalf("delivery mark at %d while batch 1 awaits its ack; want 0", m)
	}
	f.setAckIf(func(*hecReq) bool { return true })
	final := h.ends[len(h.ends)-1]
	waitFor(t, "the mark past every batch", time.Minute, func() bool { return h.mark() == final })
	acked, sent := h.counts(f)
	for i := range h.evs {
		if acked[i] != 1 || sent[i] != 1 {
			t.Fatalf("event %d: sent %d times, acknowledged %d times; want once", i, sent[i], acked[i])
		}
	}
}

// A lost ack on batch 1 holds only batch 1: batches 2..5 are sent and
// acknowledged meanwhile, the mark waits, and once batch 1 is resent (after
// ack_timeout) the mark covers all; only batch 1's events went twice.
func TestPipelinedLostAckDoesNotStopOthers(t *testing.T) {
	f := newAckHEC(t)
	lost := testHEC
	lost.ackTimeout = 3 * time.Second
	h := openPipelinedHEC(t, t.TempDir(), f.srv.URL, 5, lost)
	// Batch 1's first request is the one whose ack is lost: its first
	// poll gates its ackId, the next ones wait on gate, and from then on
	// it answers false until the output gives up (ack_timeout).
	f.mu.Lock()
	f.gate = make(chan struct{})
	f.ackIf = func(r *hecReq) bool {
		if h.batchOf(*r) == 0 && len(f.gated) == 0 {
			f.gated[r.id] = true // mu is held
			return false
		}
		return true
	}
	f.mu.Unlock()
	h.start()
	defer h.crash()

	waitFor(t, "batches 2-5 acknowledged while batch 1's ack is lost", time.Minute, func() bool {
		acked := map[int]bool{}
		for _, r := range f.requests() {
			if r.acked {
				acked[h.batchOf(r)] = true
			}
		}
		return acked[1] && acked[2] && acked[3] && acked[4]
	})
	if m := h.mark(); m != 0 {
		t.Fatalf("delivery mark at %d while batch 1's ack is lost; want 0", m)
	}
	if n := h.batchesSent(f)[0]; n != 1 {
		t.Fatalf("batch 1 sent %d times before its ack_timeout; want 1", n)
	}
	close(f.gate)
	final := h.ends[len(h.ends)-1]
	waitFor(t, "the mark past every batch after batch 1's resend", time.Minute, func() bool { return h.mark() == final })
	acked, sent := h.counts(f)
	for i := range h.evs {
		want := 1
		if i < hecBatch {
			want = 2 // batch 1: the lost ack and the resend
		}
		if acked[i] != 1 || sent[i] != want {
			t.Fatalf("event %d: sent %d times, acknowledged %d times; want sent %d, acknowledged once", i, sent[i], acked[i], want)
		}
	}
}

// A stop (a crash, for the HEC) with batches 2..4 acknowledged and batch 1
// not: the mark stays before batch 1, and the next start delivers every
// event again from there; nothing is lost.
func TestPipelinedCrashResendsFromTheMark(t *testing.T) {
	dir := t.TempDir()
	f := newAckHEC(t)
	h := openPipelinedHEC(t, dir, f.srv.URL, 5, testHEC)
	f.setAckIf(func(r *hecReq) bool { b := h.batchOf(*r); return b >= 1 && b <= 3 })
	h.start()
	waitFor(t, "batches 2-4 delivered", time.Minute, func() bool { return h.o.stats.Delivered.Load() == 3*hecBatch })
	h.crash()

	f2 := newAckHEC(t)
	f2.setAckIf(func(*hecReq) bool { return true })
	h2 := openPipelinedHEC(t, dir, f2.srv.URL, 0, testHEC)
	h2.evs, h2.idx, h2.ends = h.evs, h.idx, h.ends
	if m := h2.mark(); m != 0 {
		t.Fatalf("after the crash the mark is at %d; want 0 (batch 1 was never acknowledged)", m)
	}
	h2.start()
	defer h2.crash()
	final := h.ends[len(h.ends)-1]
	waitFor(t, "the mark past every batch after the restart", time.Minute, func() bool { return h2.mark() == final })
	acked, _ := h2.counts(f2)
	for i := range h.evs {
		if acked[i] != 1 {
			t.Fatalf("event %d acknowledged %d times after the restart; want once", i, acked[i])
		}
	}
}
