package main

import (
	"math/rand"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/auditfwd/auditfwd/internal/simulator"
)

// syncFront stands before the Sync API simulator and gives the crash test
// its moments: some answers stream slowly (small chunks, each flushed,
// with pauses), so a kill can land while the binary spools an archive; a
// request for the page after a committed "more" page can be held, so a
// kill lands between pages; and faults are queued here, one per request,
// so the test can clear them (the simulator cannot).
type syncFront struct {
	sim *simulator.SyncSimulator

	mu      sync.Mutex
	rng     *rand.Rand
	faults  []simulator.SyncFault
	slow    float64 // fraction of answers streamed slowly
	hold    *pageHold
	current *download
}

// download is one answer as the front writes it.
type download struct {
	slow     bool
	written  atomic.Int64
	failed   atomic.Bool   // a write failed: the client went away mid-body
	complete atomic.Bool   // every byte was written
	finished chan struct{} // closed when the handler returns
}

// pageHold catches the next request that asks for the page after a
// committed "more" page.
type pageHold struct {
	held    chan struct{} // closed when such a request arrived
	release chan struct{} // closed by the test
}

// slowChunk and slowPause pace a slow answer: a 600-line page (~80 KB)
// takes about 20 chunks, a few hundred ms, so a kill can wait for a
// condition and still land mid-body on a busy machine.
const (
	slowChunk = 4 << 10
	slowPause = 15 * time.Millisecond
)

func newSyncFront(sim *simulator.SyncSimulator, seed int64) *syncFront {
	return &syncFront{sim: sim, rng: rand.New(rand.NewSource(seed)), slow: 0.5}
}

// setFaults replaces the fault schedule (nil clears it).
func (f *syncFront) setFaults(faults []simulator.SyncFault) {
	f.mu.Lock()
	f.faults = faults
	f.mu.Unlock()
}

// armHold makes the next request for a page after a committed "more" page
// wait until the hold is released or its client dies.
func (f *syncFront) armHold() *pageHold {
	h := &pageHold{held: make(chan struct{}), release: make(chan struct{})}
	f.mu.Lock()
	f.hold = h
	f.mu.Unlock()
	return h
}

// disarm withdraws an armed hold that caught nothing and releases it.
func (f *syncFront) disarm(h *pageHold) {
	f.mu.Lock()
	if f.hold == h {
		f.hold = nil
	}
	f.mu.Unlock()
	close(h.release)
}

// download is the answer being written, or the last one.
func (f *syncFront) download() *download {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.current
}

// nextPage: the request asks, with the token of the last answer, for the
// page after it, and that answer was a whole "more" page with lines. The
// binary only sends that token once the page is committed, so a kill now
// lands between two committed pages.
func (f *syncFront) nextPage(r *http.Request) bool {
	tok := r.URL.Query().Get("token")
	reqs := f.sim.Requests()
	if tok == "none" || len(reqs) == 0 {
		return false
	}
	last := reqs[len(reqs)-1]
	return last.Status == http.StatusOK && last.SyncStatus == "more" && last.Fault == "" &&
		last.End > last.Begin && last.Token == tok
}

func (f *syncFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	if h := f.hold; h != nil && f.nextPage(r) {
		f.hold = nil
		f.mu.Unlock()
		close(h.held)
		select {
		case <-h.release:
		case <-r.Context().Done():
		}
		if r.Context().Err() != nil {
			return // killed between pages: nothing served, no fault used
		}
		f.mu.Lock()
	}
	if len(f.faults) > 0 {
		f.sim.InjectFault(f.faults[0]) // the simulator uses it for this very request
		f.faults = f.faults[1:]
	}
	d := &download{slow: f.rng.Float64() < f.slow, finished: make(chan struct{})}
	f.current = d
	f.mu.Unlock()
	defer close(d.finished)
	f.sim.ServeHTTP(&pacedWriter{ResponseWriter: w, d: d}, r)
	if !d.failed.Load() {
		d.complete.Store(true)
	}
}

// pacedWriter writes a slow answer in flushed chunks with pauses: the
// pause is the server's pace, not a synchronisation.
type pacedWriter struct {
	http.ResponseWriter
	d *download
}

func (p *pacedWriter) Write(b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		c := len(b)
		if p.d.slow {
			c = min(c, slowChunk)
		}
		m, err := p.ResponseWriter.Write(b[:c])
		n += m
		p.d.written.Add(int64(m))
		if err == nil && p.d.slow {
			if fl, ok := p.ResponseWriter.(http.Flusher); ok {
				fl.Flush()
			}
			time.Sleep(slowPause)
		}
		if err != nil {
			p.d.failed.Store(true)
			return n, err
		}
		b = b[c:]
	}
	return n, nil
}
