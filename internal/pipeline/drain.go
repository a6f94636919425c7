package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
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
	p     *Pipeline
	name  string
	cfg   config.Output
	out   outputs.Output
	dl    *deadLetter
	log   *logrus.Entry
	stats *OutputStats
	next  int // round-robin position
	// slabs is the memory batches are read into when the output is a
	// Copier (nil otherwise): run passes it again only after deliver
	// returned, when nothing holds the last batch's documents.
	slabs *queue.Slabs

	// saveMu orders the saves of the target's state (the drainer's, and a
	// drop_oldest drop's from the polling goroutine): each reads the state
	// and commits it under the lock, so an older state never lands last.
	saveMu sync.Mutex

	mu     sync.Mutex
	queues []*outQueue   // grows when a reload adds a source
	wake   chan struct{} // a queue was added
	cancel func()        // stops run
	done   chan struct{} // closed when run returns
}

// outQueue is the queue of one (output, source) pair. A queue whose source
// left the config stays until the output has drained it.
type outQueue struct {
	source, key string
	q           *queue.Queue
}

// maxRetryAfter caps how long a target's Retry-After can hold an output.
const maxRetryAfter = 15 * time.Minute

func queueKey(output, source string) string { return output + "/" + source }

func newOutputRunner(p *Pipeline, oc config.Output, out outputs.Output) (*outputRunner, error) {
	o := &outputRunner{p: p, name: oc.Name, cfg: oc, out: out, log: p.log.WithField("output", oc.Name),
		stats: newOutputStats(oc.Name), wake: make(chan struct{}, 1)}
	if _, ok := out.(outputs.Copier); ok {
		o.slabs = new(queue.Slabs)
	}
	for _, sc := range p.cfg.Sources {
		if _, err := o.addQueue(sc.Name); err != nil {
			o.close()
			return nil, err
		}
	}
	// Events queued for a source since removed from the config still go out.
	dirs, _ := os.ReadDir(filepath.Join(p.cfg.StateDir, "queues", oc.Name))
	for _, d := range dirs {
		if !d.IsDir() || o.queueFor(d.Name()) != nil {
			continue
		}
		q, err := o.addQueue(d.Name())
		if err != nil {
			o.close()
			return nil, err
		}
		if q.Stats().Events > 0 {
			o.log.WithFields(logrus.Fields{"source": d.Name(), "queued": q.Stats().Events}).Warn("draining the queue of a source no longer in the config")
		}
	}
	dl, err := openDeadLetter(filepath.Join(p.cfg.StateDir, "deadletter-"+oc.Name+".ndjson"), -1)
	if err != nil {
		return nil, err
	}
	o.dl = dl
	if err := keepChannel(p, oc.Name, out); err != nil {
		return nil, err
	}
	if l, ok := out.(logged); ok {
		l.SetLogger(o.log)
	}
	if n := oc.Batch.MaxInFlight; n > 1 {
		c, ok := out.(outputs.Concurrent)
		_, stateful := out.(outputs.Stateful)
		if !ok || stateful {
			// Config refuses it by type; this guards an output built
			// some other way (a test's, a new type's).
			return nil, &SetupError{Err: fmt.Errorf("output %s: batch.max_in_flight %d: this output delivers one batch at a time (set 1)", oc.Name, n)}
		}
		c.SetConcurrency(n)
	}
	if sf, ok := out.(outputs.Stateful); ok {
		saved := p.store.Target(oc.Name)
		if err := sf.Restore(saved); err != nil {
			return nil, &SetupError{Err: fmt.Errorf("%s (output %s): cannot open its target: %w", outputPath(p.cfg, oc.Name), oc.Name, err)}
		}
		if now := sf.State(); !bytes.Equal(now, saved) {
			// A first start, another file than the saved one, a state of
			// an older version: save the target's state before the first
			// write, or a crash between that write and its delivery mark
			// would rewind to a state that does not describe the target.
			if err := p.store.SetTarget(oc.Name, now); err != nil {
				return nil, fmt.Errorf("output %s: %w", oc.Name, err)
			}
		}
	}
	return o, nil
}

// logged is an output that logs on its own (the file output's rotations).
type logged interface{ SetLogger(*logrus.Entry) }

// follower is a Stateful output whose target can move under it (a rotated
// or cut file). Follow, before each write, makes it write to the target as
// it is now and reports whether its state changed; that state is saved
// before the write, so a crash after the write rewinds the new target, and
// never a file the output no longer writes.
type follower interface {
	Follow() (changed bool, err error)
}

// saveTarget calls save with the output's current state (nil for outputs
// without one). A drop_oldest drop calls it from the polling goroutine:
// Stateful says State may run beside a Write.
func (o *outputRunner) saveTarget(save func(target []byte) error) error {
	o.saveMu.Lock()
	defer o.saveMu.Unlock()
	var target []byte
	if sf, ok := o.out.(outputs.Stateful); ok {
		target = sf.State()
	}
	return save(target)
}

// setTarget saves the target's state alone, without a mark.
func (o *outputRunner) setTarget() error {
	return o.saveTarget(func(target []byte) error {
		if target == nil {
			return nil
		}
		return o.p.store.SetTarget(o.name, target)
	})
}

// write follows a moving target, saving its state when it moved, then
// writes. Only a failure to save is fatal (errFatal); the others are the
// target's and are retried.
func (o *outputRunner) write(ctx context.Context, evs []event.Event) error {
	if f, ok := o.out.(follower); ok {
		changed, err := f.Follow()
		if err != nil {
			return err
		}
		if changed {
			if err := o.setTarget(); err != nil {
				return &errFatal{fmt.Errorf("save the state of output %s: %w", o.name, err)}
			}
		}
	}
	return o.out.Write(ctx, evs)
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

// addQueue opens the queue for source unless open already.
func (o *outputRunner) addQueue(source string) (*queue.Queue, error) {
	if q := o.queueFor(source); q != nil {
		return q, nil
	}
	key := queueKey(o.name, source)
	commit, delivered, err := o.p.store.QueueMarks(key)
	if err != nil {
		return nil, err
	}
	q, err := queue.Open(filepath.Join(o.p.cfg.StateDir, "queues", o.name, source), commit, delivered, int64(o.cfg.Queue.SegmentBytes))
	if err != nil {
		return nil, fmt.Errorf("output %s: %w: the queue's files do not hold what the state committed (a segment deleted, cut or damaged); see `auditfwd state verify --config FILE`, and `auditfwd state repair` to keep what is left (the rest is reported as lost)", o.name, err)
	}
	o.mu.Lock()
	o.queues = append(o.queues, &outQueue{source: source, key: key, q: q})
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
	return q, nil
}

func (o *outputRunner) queueFor(source string) *queue.Queue {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, oq := range o.queues {
		if oq.source == source {
			return oq.q
		}
	}
	return nil
}

func (o *outputRunner) snapshot() []*outQueue {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]*outQueue(nil), o.queues...)
}

// start runs the drainer in its own goroutine until stop.
func (o *outputRunner) start(base context.Context) {
	ctx, cancel := context.WithCancel(base)
	o.cancel, o.done = cancel, make(chan struct{})
	go func() {
		defer close(o.done)
		if n := o.cfg.Batch.MaxInFlight; n > 1 {
			o.runPipelined(ctx, n)
			return
		}
		o.run(ctx)
	}()
}

// stop ends the drainer and waits for it; a batch in flight stays queued.
func (o *outputRunner) stop() {
	if o.cancel != nil {
		o.cancel()
		<-o.done
	}
}

func (o *outputRunner) queueStats() queue.Stats {
	var s queue.Stats
	for _, oq := range o.snapshot() {
		qs := oq.q.Stats()
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
	for _, oq := range o.snapshot() {
		errs = append(errs, oq.q.Close())
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
		oq, ok := o.pick()
		if !ok {
			o.waitForData(ctx)
			continue
		}
		q := oq.q
		o.fillBatch(ctx, q)
		batch, err := q.ReadInto(o.slabs, o.cfg.Batch.MaxEvents, int64(o.cfg.Batch.MaxBytes))
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
		if err := o.deliver(ctx, oq, batch); err != nil {
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
func (o *outputRunner) pick() (*outQueue, bool) {
	qs := o.snapshot()
	for i := range qs {
		qi := (o.next + i) % len(qs)
		if qs[qi].q.Available() > 0 {
			o.next = qi + 1
			return qs[qi], true
		}
	}
	return nil, false
}

func (o *outputRunner) waitForData(ctx context.Context) { o.waitFor(ctx, true, nil) }

// waitFor waits until ctx ends, a batch of done completes (returned), or,
// with data, a queue may have committed events.
func (o *outputRunner) waitFor(ctx context.Context, data bool, done <-chan *flight) *flight {
	var merged chan struct{} // nil: never ready
	var wake <-chan struct{}
	if data {
		qs := o.snapshot()
		cases := make([]<-chan struct{}, len(qs))
		for i, oq := range qs {
			cases[i] = oq.q.Notify()
		}
		// Re-check after taking the channels: a commit may have come between.
		if _, ok := o.pick(); ok {
			return nil
		}
		merged = make(chan struct{})
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
		wake = o.wake
	}
	select {
	case <-ctx.Done():
	case <-merged:
	case <-wake:
	case f := <-done:
		return f
	}
	return nil
}

// fillBatch waits up to flush_interval for a batch to fill, so a trickle of
// small windows still goes out in few requests.
func (o *outputRunner) fillBatch(ctx context.Context, q *queue.Queue) {
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
func (o *outputRunner) deliver(ctx context.Context, oq *outQueue, batch []queue.Entry) error {
	r, err := o.send(ctx, oq, batch)
	if err != nil {
		return err
	}
	return o.settle(oq, []outcome{r})
}

// outcome is what became of one batch once its retries ended.
type outcome struct {
	end     int64    // End of the batch's last entry
	dead    [][]byte // dead-letter lines of the items refused for good
	dropped bool     // a drop_oldest drop took it while it was retried
	start   time.Time
}

// send writes one batch, retrying until every item is delivered or refused
// for good (or a drop_oldest drop took the batch). It makes nothing
// durable: settle does, in queue order. It returns only an error that
// retrying cannot fix, or ctx's.
func (o *outputRunner) send(ctx context.Context, oq *outQueue, batch []queue.Entry) (outcome, error) {
	q := oq.q
	res := outcome{end: batch[len(batch)-1].End, start: time.Now()}
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
	for len(pending) > 0 {
		evs = evs[:0]
		for _, i := range pending {
			evs = append(evs, batch[i].Event)
		}
		err := o.write(ctx, evs)
		var fatal *errFatal
		if errors.As(err, &fatal) {
			return res, err
		}
		if err == nil {
			o.stats.Delivered.Add(int64(len(pending)))
			break
		}
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		o.stats.failed(err)
		var wait time.Duration
		var be *outputs.BatchError
		var ra *outputs.RetryAfterError
		switch {
		case errors.As(err, &be):
			for idx, perr := range be.Permanent {
				e := batch[pending[idx]]
				hash := event.Event{Hash: e.Hash}.HashHex()
				res.dead = append(res.dead, outputDeadLine(o.name, perr.Error(), hash, e.Doc, time.Now()))
				o.log.WithFields(logrus.Fields{"source": oq.source, "hash": hash, "reason": perr.Error()}).Error("output refused an event for good: kept in its dead letter")
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
				hash := event.Event{Hash: e.Hash}.HashHex()
				res.dead = append(res.dead, outputDeadLine(o.name, err.Error(), hash, e.Doc, time.Now()))
				o.log.WithFields(logrus.Fields{"source": oq.source, "hash": hash, "reason": err.Error()}).Error("output refused an event for good: kept in its dead letter")
			}
			o.stats.DeadLettered.Add(int64(len(pending)))
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
		if q.Superseded(res.end) {
			// Counted as dropped by DropOldest; what this batch already
			// refused for good still goes to the dead letter.
			o.log.WithField("events", len(pending)).Warn("batch dropped by queue.policy drop_oldest while retrying")
			res.dropped = true
			return res, nil
		}
		o.stats.Retried.Add(int64(len(pending)))
		o.log.WithError(err).WithFields(logrus.Fields{"events": len(pending), "retry_in": wait.Round(time.Millisecond).String()}).Warn("delivery failed; retrying")
		if !sleep(ctx, wait) {
			return res, ctx.Err()
		}
	}
	return res, nil
}

// settle makes the outcomes of consecutive batches of oq durable, the
// first read first: their dead-letter lines are appended and fsynced, then
// one state transaction moves the delivery mark past the last and saves
// the target's state. A batch a drop_oldest drop took needs no mark (the
// drop moved it); its dead-letter lines are still kept.
func (o *outputRunner) settle(oq *outQueue, rs []outcome) error {
	var dead [][]byte
	delivered := 0
	for _, r := range rs {
		dead = append(dead, r.dead...)
		if !r.dropped {
			delivered++
		}
	}
	if len(dead) > 0 {
		if err := o.dl.write(dead, nil); err != nil {
			return err
		}
	}
	if delivered == 0 {
		return nil
	}
	o.stats.Batches.Add(int64(delivered))
	moved := false
	err := oq.q.AckTo(rs[len(rs)-1].end, func(mark int64) error {
		moved = true
		return o.saveTarget(func(target []byte) error { return o.p.store.Delivered(oq.key, mark, o.name, target) })
	})
	if err == nil && !moved {
		// A drop_oldest drop moved the mark past this batch while it was
		// written: the mark stays, the target's state must still follow
		// the write, or the next start cuts this batch off the file.
		err = o.setTarget()
	}
	if err != nil {
		return fmt.Errorf("save delivery mark: %w", err)
	}
	for _, r := range rs {
		if !r.dropped {
			o.stats.BatchSeconds.Observe(time.Since(r.start).Seconds())
		}
	}
	o.stats.mu.Lock()
	o.stats.lastError = ""
	o.stats.mu.Unlock()
	return nil
}
