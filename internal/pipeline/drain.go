package pipeline

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/sirupsen/logrus"

	"github.com/auditfwd/auditfwd/internal/config"
	"github.com/auditfwd/auditfwd/internal/event"
	"github.com/auditfwd/auditfwd/internal/queue"
	"github.com/auditfwd/auditfwd/outputs"
)

// outputRunner drains one output's queues (one per source) into it.
type outputRunner struct {
	p      *Pipeline
	name   string
	cfg    config.Output
	out    outputs.Output
	queues []*queue.Queue // index = source index in cfg.Sources
	keys   []string
	dl     *deadLetter
	log    *logrus.Entry
	stats  OutputStats
	next   int // round-robin position
}

// maxRetryAfter caps how long a target's Retry-After can hold an output.
const maxRetryAfter = 15 * time.Minute

func queueKey(output, source string) string { return output + "/" + source }

func newOutputRunner(p *Pipeline, oc config.Output, out outputs.Output) (*outputRunner, error) {
	o := &outputRunner{p: p, name: oc.Name, cfg: oc, out: out, log: p.log.WithField("output", oc.Name)}
	for _, sc := range p.cfg.Sources {
		key := queueKey(oc.Name, sc.Name)
		commit, delivered, err := p.store.QueueMarks(key)
		if err != nil {
			return nil, err
		}
		q, err := queue.Open(filepath.Join(p.cfg.StateDir, "queues", oc.Name, sc.Name), commit, delivered, int64(oc.Queue.SegmentBytes))
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", oc.Name, err)
		}
		o.queues = append(o.queues, q)
		o.keys = append(o.keys, key)
	}
	dl, err := openDeadLetter(filepath.Join(p.cfg.StateDir, "deadletter-"+oc.Name+".ndjson"), -1)
	if err != nil {
		return nil, err
	}
	o.dl = dl
	if err := keepChannel(p, oc.Name, out); err != nil {
		return nil, err
	}
	if sf, ok := out.(outputs.Stateful); ok {
		saved := p.store.Target(oc.Name)
		if err := sf.Restore(saved); err != nil {
			return nil, fmt.Errorf("output %s: restore: %w", oc.Name, err)
		}
		if saved == nil {
			// First start: save the target's state before the first write,
			// or a crash between that write and its delivery mark would
			// leave nothing to rewind to.
			if err := p.store.SetTarget(oc.Name, sf.State()); err != nil {
				return nil, fmt.Errorf("output %s: %w", oc.Name, err)
			}
		}
	}
	return o, nil
}

// channeled is an output with a generated channel id the receiver tracks
// (Splunk HEC indexer acknowledgement): the id is kept across restarts.
type channeled interface {
	GeneratedChannel() string
	SetChannel(string) error
}

func keepChannel(p *Pipeline, name string, out outputs.Output) error {
	c, ok := out.(channeled)
	if !ok || c.GeneratedChannel() == "" {
		return nil
	}
	key := "channel/" + name
	if saved := p.store.GetMisc(key); saved != nil {
		return c.SetChannel(string(saved))
	}
	return p.store.PutMisc(key, []byte(c.GeneratedChannel()))
}

func (o *outputRunner) queueStats() queue.Stats {
	var s queue.Stats
	for _, q := range o.queues {
		qs := q.Stats()
		s.Events += qs.Events
		s.Bytes += qs.Bytes
		s.Unread += qs.Unread
		s.Uncommitted += qs.Uncommitted
		if !qs.Oldest.IsZero() && (s.Oldest.IsZero() || qs.Oldest.Before(s.Oldest)) {
			s.Oldest = qs.Oldest
		}
	}
	return s
}

func (o *outputRunner) close() error {
	var errs []error
	for _, q := range o.queues {
		errs = append(errs, q.Close())
	}
	if o.dl != nil {
		errs = append(errs, o.dl.close())
	}
	errs = append(errs, o.out.Close())
	return errors.Join(errs...)
}

// run drains until ctx ends. A batch being retried when ctx ends is left
// unacknowledged: it is read again from the queue on the next start.
func (o *outputRunner) run(ctx context.Context) {
	for ctx.Err() == nil {
		qi, ok := o.pick()
		if !ok {
			o.waitForData(ctx)
			continue
		}
		o.fillBatch(ctx, qi)
		q := o.queues[qi]
		batch, err := q.Read(o.cfg.Batch.MaxEvents, int64(o.cfg.Batch.MaxBytes))
		if err != nil {
			// A corrupt queue file cannot heal by retrying; stop this
			// output loudly rather than skip data.
			o.log.WithError(err).Error("queue unreadable: this output stops; other outputs go on")
			o.stats.failed(err)
			<-ctx.Done()
			return
		}
		if len(batch) == 0 {
			continue
		}
		if err := o.deliver(ctx, q, o.keys[qi], batch); err != nil {
			if ctx.Err() == nil {
				o.log.WithError(err).Error("output stopped")
				o.stats.failed(err)
				<-ctx.Done()
			}
			return
		}
	}
}

// pick chooses the next queue with committed events, round-robin, so one
// busy source cannot starve another.
func (o *outputRunner) pick() (int, bool) {
	for i := range o.queues {
		qi := (o.next + i) % len(o.queues)
		if o.queues[qi].Available() > 0 {
			o.next = qi + 1
			return qi, true
		}
	}
	return 0, false
}

func (o *outputRunner) waitForData(ctx context.Context) {
	cases := make([]<-chan struct{}, len(o.queues))
	for i, q := range o.queues {
		cases[i] = q.Notify()
	}
	// Re-check after taking the channels: a commit may have come between.
	if _, ok := o.pick(); ok {
		return
	}
	merged := make(chan struct{})
	stop := make(chan struct{})
	defer close(stop)
	for _, c := range cases {
		go func() {
			select {
			case <-c:
				select {
				case merged <- struct{}{}:
				case <-stop:
				}
			case <-stop:
			}
		}()
	}
	select {
	case <-ctx.Done():
	case <-merged:
	}
}

// fillBatch waits up to flush_interval for a batch to fill, so a trickle of
// small windows still goes out in few requests.
func (o *outputRunner) fillBatch(ctx context.Context, qi int) {
	q := o.queues[qi]
	if q.Available() >= int64(o.cfg.Batch.MaxEvents) || o.cfg.Batch.FlushInterval <= 0 {
		return
	}
	st := q.Stats()
	wait := o.cfg.Batch.FlushInterval.D() - time.Since(st.Oldest)
	if st.Oldest.IsZero() || wait <= 0 {
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	for q.Available() < int64(o.cfg.Batch.MaxEvents) {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			return
		case <-q.Notify():
		}
	}
}

// deliver sends one batch until every item is delivered or dead-lettered,
// then makes the delivery mark durable. It returns only an error that
// retrying cannot fix (the state store failing), or ctx's.
func (o *outputRunner) deliver(ctx context.Context, q *queue.Queue, key string, batch []queue.Entry) error {
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval = o.cfg.Retry.InitialInterval.D()
	bo.MaxInterval = o.cfg.Retry.MaxInterval.D()
	bo.MaxElapsedTime = 0 // retry until delivered: the queue holds it meanwhile
	bo.Reset()

	pending := make([]int, len(batch))
	for i := range pending {
		pending[i] = i
	}
	evs := make([]event.Event, 0, len(batch))
	var dead [][]byte
	for len(pending) > 0 {
		evs = evs[:0]
		for _, i := range pending {
			evs = append(evs, batch[i].Event)
		}
		err := o.out.Write(ctx, evs)
		if err == nil {
			o.stats.Delivered.Add(int64(len(pending)))
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		o.stats.failed(err)
		var wait time.Duration
		var be *outputs.BatchError
		var ra *outputs.RetryAfterError
		switch {
		case errors.As(err, &be):
			for idx, perr := range be.Permanent {
				e := batch[pending[idx]]
				dead = append(dead, outputDeadLine(o.name, perr.Error(), event.Event{Hash: e.Hash}.HashHex(), e.Doc, time.Now()))
			}
			retry := make([]int, 0, len(be.Retry))
			for _, idx := range be.Retry {
				retry = append(retry, pending[idx])
			}
			o.stats.Delivered.Add(int64(len(pending) - len(retry) - len(be.Permanent)))
			o.stats.DeadLettered.Add(int64(len(be.Permanent)))
			pending = retry
			wait = be.RetryAfter
		case outputs.IsPermanent(err):
			for _, i := range pending {
				e := batch[i]
				dead = append(dead, outputDeadLine(o.name, err.Error(), event.Event{Hash: e.Hash}.HashHex(), e.Doc, time.Now()))
			}
			o.stats.DeadLettered.Add(int64(len(pending)))
			o.log.WithError(err).WithField("events", len(pending)).Error("output refused events for good: kept in its dead letter")
			pending = nil
		case errors.As(err, &ra):
			wait = ra.After
		}
		if len(pending) == 0 {
			break
		}
		if next := bo.NextBackOff(); wait < next {
			wait = next
		}
		if wait > maxRetryAfter && wait > o.cfg.Retry.MaxInterval.D() {
			wait = maxRetryAfter // a server's Retry-After is honoured, within reason
		}
		if q.Superseded(batch[len(batch)-1].End) {
			// Counted as dropped by DropOldest; what this batch already
			// refused for good still goes to the dead letter.
			o.log.WithField("events", len(pending)).Warn("batch dropped by queue.policy drop_oldest while retrying")
			if len(dead) > 0 {
				return o.dl.write(dead, nil)
			}
			return nil
		}
		o.stats.Retried.Add(int64(len(pending)))
		o.log.WithError(err).WithFields(logrus.Fields{"events": len(pending), "retry_in": wait.Round(time.Millisecond).String()}).Warn("delivery failed; retrying")
		if !sleep(ctx, wait) {
			return ctx.Err()
		}
	}
	if len(dead) > 0 {
		if err := o.dl.write(dead, nil); err != nil {
			return err
		}
	}
	o.stats.Batches.Add(1)
	var target []byte
	if sf, ok := o.out.(outputs.Stateful); ok {
		target = sf.State()
	}
	err := q.AckAll(func(mark int64) error {
		return o.p.store.Delivered(key, mark, o.name, target)
	})
	if err != nil {
		return fmt.Errorf("save delivery mark: %w", err)
	}
	o.stats.mu.Lock()
	o.stats.lastError = ""
	o.stats.mu.Unlock()
	return nil
}
