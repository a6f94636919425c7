package simulator

import (
	"context"
	"net/url"
	"strings"
	"time"
)

// Fault is an injected misbehaviour for the next Times requests to Path.
// Status/Body faults replace the answer; ResetAfter and Truncate corrupt an
// otherwise normal answer; Delay delays whatever is answered. A Fault with
// only Times answers normally: it spaces out the faults queued after it.
type Fault struct {
	Status     int           // e.g. 401, 403, 429, 500, 503; 0 = none
	RetryAfter string        // Retry-After header value ("2" or an HTTP date)
	Body       string        // body for Status (default a JSON error); alone it is served with 200
	ResetAfter int           // status 200, stream this many records, then reset the connection
	Truncate   bool          // status 200, body cut mid-record, then a clean end of response
	Delay      time.Duration // sleep (real time) before answering; a client that gives up is noticed
	Times      int           // apply to this many requests (default 1)

	// Hostile answers (see hostile.go). HugeRecord and DeepRecord insert
	// one record, the same bytes on every request, after At elements of
	// the records array (at its end if it has fewer); all but RedirectTo
	// apply to JSON bodies only.
	HugeRecord int           // a record of this many bytes (a long string), streamed, never held
	DeepRecord int           // a record nested this many levels deep
	At         int           // where HugeRecord or DeepRecord goes
	Endless    bool          // after the window's records, new valid ones forever, until the client goes away
	SlowBody   time.Duration // the body goes out one byte per SlowBody
	RedirectTo string        // answer 302 to this URL, the request's query appended
}

func (f Fault) kind() string {
	var parts []string
	if f.Delay > 0 {
		parts = append(parts, "delay")
	}
	switch {
	case f.RedirectTo != "":
		parts = append(parts, "redirect")
	case f.Status != 0 || f.Body != "":
		parts = append(parts, "status")
	case f.ResetAfter > 0:
		parts = append(parts, "reset")
	case f.Truncate:
		parts = append(parts, "truncate")
	}
	for _, h := range []struct {
		on   bool
		name string
	}{{f.HugeRecord > 0, "huge"}, {f.DeepRecord > 0, "deep"}, {f.Endless, "endless"}, {f.SlowBody > 0, "slow"}} {
		if h.on {
			parts = append(parts, h.name)
		}
	}
	return strings.Join(parts, "+")
}

// InjectFault queues f. Queued faults apply in order, each to its next
// Times requests to Path.
func (s *Simulator) InjectFault(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	s.mu.Lock()
	s.faults = append(s.faults, f)
	s.mu.Unlock()
}

// ClearFaults drops every queued fault.
func (s *Simulator) ClearFaults() {
	s.mu.Lock()
	s.faults = nil
	s.mu.Unlock()
}

func (s *Simulator) takeFault() (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults) == 0 {
		return Fault{}, false
	}
	f := s.faults[0]
	s.faults[0].Times--
	if s.faults[0].Times <= 0 {
		s.faults = s.faults[1:]
	}
	return f, true
}

// sleepCtx waits d, or less if ctx ends first; it reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Request is one logged request and what the simulator answered.
type Request struct {
	Time       time.Time  // sim clock when it arrived
	Method     string     //
	Path       string     //
	Start, End string     // raw start/end parameter values
	Query      url.Values // all query parameters
	Status     int        // status sent; 0 if the client gave up during a Delay
	Records    int        // valid record entries written, in-response duplicates included
	Duplicates int        // of which repeats within this response
	Malformed  int        // malformed entries written
	Fault      string     // "", or the injected fault kinds joined by "+": "delay", "redirect", "status", "reset", "truncate", "huge", "deep", "endless", "slow"
	Aborted    bool       // connection reset on purpose (ResetAfter)
	Truncated  bool       // body cut mid-record on purpose (Truncate)
}

const maxLoggedRequests = 100_000

func (s *Simulator) logRequest(r Request) {
	s.mu.Lock()
	if len(s.requests) >= maxLoggedRequests { // keep the newest half
		s.requests = append(s.requests[:0], s.requests[len(s.requests)/2:]...)
	}
	s.requests = append(s.requests, r)
	s.mu.Unlock()
}

// Requests returns a copy of the request log, oldest first.
func (s *Simulator) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}
