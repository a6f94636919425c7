package splunkhec

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/auditfwd/auditfwd/internal/event"
	"github.com/auditfwd/auditfwd/outputs"
)

// Paths of the HEC endpoints, after url.
const (
	pathEvent  = "/services/collector/event"
	pathAck    = "/services/collector/ack"
	pathHealth = "/services/collector/health"
)

// delivery is the state of one Write, shared by its requests in flight.
type delivery struct {
	mu         sync.Mutex
	perm       map[int]error
	retry      []int
	retryErr   error
	retryAfter time.Duration
	stop       bool            // a retryable failure: send nothing more
	acks       map[int64][]int // ackId -> the items it covers
}

// fail marks idx for retry with err; stop also ends the sending.
func (d *delivery) fail(idx []int, err error, after time.Duration, stop bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.retry = append(d.retry, idx...)
	if d.retryErr == nil {
		d.retryErr = err
	}
	d.retryAfter = max(d.retryAfter, after)
	d.stop = d.stop || stop
}

func (d *delivery) refuse(i int, err error) {
	d.mu.Lock()
	d.perm[i] = err
	d.mu.Unlock()
}

func (d *delivery) awaitAck(id int64, idx []int) {
	d.mu.Lock()
	d.acks[id] = append(d.acks[id], idx...)
	d.mu.Unlock()
}

func (d *delivery) stopped() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stop
}

// configCode tells the 400 codes that are not about the events (so
// splitting cannot help and dead-lettering would be wrong): 7 incorrect
// index, 10 data channel missing, 11 invalid data channel, 14 ack
// disabled, 16 query string authorization not enabled.
func configCode(code int) bool {
	switch code {
	case 7, 10, 11, 14, 16:
		return true
	}
	return false
}

// Write sends batch to HEC in requests of at most max_request_bytes,
// max_in_flight at once, and, with ack on, waits until the indexer has
// acknowledged every request (their ackIds polled together). See doc.go
// for how each answer is classified.
func (o *Output) Write(ctx context.Context, batch []event.Event) error {
	if len(batch) == 0 {
		return nil
	}
	d := &delivery{perm: map[int]error{}, acks: map[int64][]int{}}
	slots := make(chan struct{}, o.cfg.MaxInFlight)
	var wg sync.WaitGroup
	// launch sends req in its own goroutine once a slot is free. The
	// encoding goes on meanwhile, so at most max_in_flight bodies and the
	// one being filled are in memory, not the whole batch's.
	launch := func(req *request) {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			d.fail(req.idx, fmt.Errorf("splunk HEC: %w", ctx.Err()), 0, true)
			return
		}
		if d.stopped() {
			<-slots
			d.fail(req.idx, nil, 0, false)
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			o.send(ctx, d, req)
		}()
	}
	limit := o.cfg.MaxRequestBytes
	req := &request{}
	for i, e := range batch {
		if err := req.add(i, func(dst []byte) ([]byte, error) { return o.appendLine(dst, e) }); err != nil {
			d.refuse(i, fmt.Errorf("splunk HEC: event %s: %w", e.HashHex(), err))
			continue
		}
		if req.len() > 1 && req.size() > limit {
			// The line went over: it starts the next request.
			last := req.pop()
			launch(req)
			req = last
		}
	}
	if req.len() > 0 {
		launch(req)
	}
	wg.Wait()
	if o.cfg.Ack && len(d.acks) > 0 {
		o.waitAcks(ctx, d)
	}
	return d.result(len(batch))
}

func (d *delivery) result(n int) error {
	switch {
	case len(d.perm) == 0 && len(d.retry) == 0:
		return nil
	case len(d.perm) == 0 && len(d.retry) == n:
		if d.retryAfter > 0 {
			return &outputs.RetryAfterError{After: d.retryAfter, Err: d.retryErr}
		}
		return d.retryErr
	case n == 1 && len(d.perm) == 1:
		return outputs.Permanent(d.perm[0])
	}
	sort.Ints(d.retry)
	summary := d.retryErr
	if summary == nil {
		keys := make([]int, 0, len(d.perm))
		for k := range d.perm {
			keys = append(keys, k)
		}
		sort.Ints(keys)
		summary = d.perm[keys[0]]
	}
	return &outputs.BatchError{Retry: d.retry, Permanent: d.perm, RetryAfter: d.retryAfter, Err: summary}
}

// CopiesDocuments makes the output an outputs.Copier: Write copies the documents into its own request bodies and waits for every send (and acknowledgement) it starts.
func (*Output) CopiesDocuments() {}
