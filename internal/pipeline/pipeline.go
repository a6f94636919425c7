// Package pipeline runs auditfwd: one poller per source, one drainer per
// output, and between them one on-disk queue per (output, source) pair.
//
// # The order of durable writes
//
// Three things are durable: the state store (package state: cursor and
// seen-set per source; commit and delivery mark per queue; per output the
// state of its target), the queues (package queue), and the targets.
//
// Polling a window [start, end):
//  1. Stream the records. For each: hash it; skip it when the seen-set or
//     this window already has the hash. A record that is not an object or
//     has no usable time becomes a dead-letter line (held in memory).
//     Otherwise normalize it once and append it to the queue of every output.
//  2. Checkpoint: fsync every queue of the source, append and fsync the held
//     dead-letter lines, then in ONE state transaction add the window's
//     hashes to the seen-set, move every queue's commit mark to its end and
//     the dead letter's committed length to its end, and (last checkpoint of
//     the window only) move the cursor. Only then do drainers see the events.
//     A checkpoint also runs, without moving the cursor, whenever the
//     window holds checkpoint_records hashes (new events and dead-letter
//     lines alike) or a few MiB of dead-letter lines, which keeps memory
//     bounded on huge windows, bad records or not.
//  3. A failed window (HTTP error, truncated body ...) cuts every queue and
//     nothing else back to its commit mark, and is polled again.
//
// Crash recovery: on start every queue and the source dead letter are cut
// back to their committed lengths. A crash before a checkpoint's
// transaction leaves nothing that the state counts: the window is polled
// again and the same records are new again, once. A crash after it leaves
// the seen-set holding exactly the hashes whose events are queued.
//
// Draining an output: read a batch from the delivery mark up to the commit
// mark, Write it, retry what the output says to retry with back-off, write
// what it refuses for good to the output's dead letter (fsync), then in one
// state transaction move the delivery mark and save the target's state.
// With batch.max_in_flight above 1 (splunk_hec) several batches are
// written at once, and their outcomes are made durable in queue order over
// the prefix that is done, never past a batch still in flight (see
// drain_pipelined.go).
// Every other move of the mark (a drop_oldest drop) saves that state too,
// and a target that moved under the output (a rotated file) has its new
// state saved before anything is written to it.
// Exactly-once targets (the file output) rewind to that state on start;
// the others are at-least-once between a Write and its mark, and carry the
// event hash so the receiver can drop repeats.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/auditfwd/auditfwd/internal/config"
	"github.com/auditfwd/auditfwd/internal/dedup"
	"github.com/auditfwd/auditfwd/internal/fsutil"
	"github.com/auditfwd/auditfwd/internal/queue"
	"github.com/auditfwd/auditfwd/internal/state"
	"github.com/auditfwd/auditfwd/outputs"
)

// Options are the parts of a run the command line decides.
type Options struct {
	Once bool             // catch up, drain, exit
	Now  func() time.Time // clock; default time.Now
	// OnceMaxAttempts bounds retries of one window with --once, so a
	// broken API makes cron see a failure instead of a hang.
	OnceMaxAttempts int
	// SweepEvery is how often seen-set expiry runs (default 10 minutes).
	SweepEvery time.Duration
	// Backfill, when set, runs only that source over a past range, and
	// implies Once.
	Backfill *Backfill
	// ProgressEvery is how often a window response still being read is
	// logged (default 30 s).
	ProgressEvery time.Duration
	// Detections are the rules cfg names, already loaded (by cmd, which
	// reports their errors); nil loads them here.
	Detections *Detections
}

// Pipeline is a configured, opened run.
type Pipeline struct {
	opts  Options
	log   *logrus.Logger
	store *state.Store
	dl    *deadLetter
	det   *Detections // nil while detections are off

	// mu guards cfg, srcs and outs, which a reload replaces while
	// metrics read them. Only Run's goroutine writes them.
	mu   sync.RWMutex
	cfg  *config.Config
	srcs []*sourceRunner
	outs []*outputRunner

	seenMu sync.Mutex
	seen   map[string]*dedup.Set // per source, kept across reloads

	reloads  chan reloadRequest
	srcExit  chan struct{} // a source's run returned
	pollDone chan struct{} // closed when Run stops polling
}

// New opens the state, the queues and the dead letters, and cuts each back
// to its committed length. outs are built by the caller (an explicit switch
// on the type, in cmd), in the order of cfg.Outputs.
func New(cfg *config.Config, outs []outputs.Output, log *logrus.Logger, opts Options) (*Pipeline, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SweepEvery == 0 {
		opts.SweepEvery = 10 * time.Minute
	}
	if opts.OnceMaxAttempts == 0 {
		opts.OnceMaxAttempts = 8
	}
	if opts.Backfill != nil {
		opts.Once = true
	}
	// 0700: the state_dir holds raw audit records (queues, dead letters).
	if err := fsutil.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("state_dir: %w", err)
	}
	st, err := state.Open(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	fresh, err := st.Fresh()
	if err != nil {
		st.Close()
		return nil, err
	}
	if fresh {
		if found := Leftovers(cfg.StateDir); len(found) > 0 {
			st.Close()
			return nil, leftoversError(cfg.StateDir, found)
		}
	}
	if err := st.CheckInstance(); err != nil {
		st.Close()
		return nil, err
	}
	if w := st.Warning(); w != "" {
		// Said before the queue checks that may refuse the older state.
		log.Warn(w)
	}
	p := &Pipeline{cfg: cfg, opts: opts, log: log, store: st, seen: map[string]*dedup.Set{},
		reloads: make(chan reloadRequest), srcExit: make(chan struct{}, 1), pollDone: make(chan struct{})}
	fail := func(err error) (*Pipeline, error) {
		p.Close()
		return nil, err
	}
	if p.det = opts.Detections; p.det == nil {
		if p.det, err = LoadDetections(cfg); err != nil {
			return fail(&SetupError{fmt.Errorf("detections: %w", err)})
		}
	}
	p.dl, err = openDeadLetter(filepath.Join(cfg.StateDir, "deadletter.ndjson"), st.DeadLetterLen())
	if err != nil {
		return fail(err)
	}
	for i, oc := range cfg.Outputs {
		or, err := newOutputRunner(p, oc, outs[i])
		if err != nil {
			return fail(err)
		}
		p.outs = append(p.outs, or)
	}
	for _, sc := range cfg.Sources {
		sr, err := newSourceRunner(p, sc, p.det)
		if err != nil {
			return fail(err)
		}
		p.srcs = append(p.srcs, sr)
	}
	if bf := opts.Backfill; bf != nil {
		var found bool
		for _, s := range p.srcs {
			if s.cfg.Name == bf.Source {
				found = true
				if s.access != nil {
					return fail(fmt.Errorf("backfill: source %s is %s: the Sync API has no time windows to fetch again; to read it again from an hour, move its cursor with `auditfwd state set` (the next run restarts there with token=none, and dedup drops what was delivered)", s.cfg.Name, config.TypeAccess))
				}
				if err := s.startBackfill(bf); err != nil {
					return fail(fmt.Errorf("source %s: %w", s.cfg.Name, err))
				}
			}
		}
		if !found {
			return fail(fmt.Errorf("backfill: no source %q in the config", bf.Source))
		}
	}
	return p, nil
}

// Store is the state store (for state tools and tests).
func (p *Pipeline) Store() *state.Store { return p.store }

// runners returns the current sources and outputs.
func (p *Pipeline) runners() ([]*sourceRunner, []*outputRunner) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.srcs, p.outs
}

// SourceStats returns the named source's counters.
func (p *Pipeline) SourceStats(name string) *SourceStats {
	srcs, _ := p.runners()
	for _, s := range srcs {
		if s.cfg.Name == name {
			return s.stats
		}
	}
	return nil
}

// OutputStats returns the named output's counters.
func (p *Pipeline) OutputStats(name string) *OutputStats {
	_, outs := p.runners()
	for _, o := range outs {
		if o.name == name {
			return o.stats
		}
	}
	return nil
}

// QueueStats sums an output's queues.
func (p *Pipeline) QueueStats(name string) queue.Stats {
	_, outs := p.runners()
	for _, o := range outs {
		if o.name == name {
			return o.queueStats()
		}
	}
	return queue.Stats{}
}

// Summary logs every source's and output's counters (at exit).
func (p *Pipeline) Summary() {
	srcs, outs := p.runners()
	for _, s := range srcs {
		st := s.stats
		s.log.WithFields(logrus.Fields{"fetched": st.Fetched.Load(), "new": st.New.Load(),
			"duplicate": st.Duplicate.Load(), "dead_lettered": st.DeadLettered.Load(), "windows": st.Windows.Load()}).Info("source summary")
	}
	for _, o := range outs {
		st := o.stats
		o.log.WithFields(logrus.Fields{"delivered": st.Delivered.Load(), "dead_lettered": st.DeadLettered.Load(),
			"dropped": st.Dropped.Load(), "queued": o.queueStats().Events}).Info("output summary")
	}
}

// wire points the source at its queue in every output (opening the queue
// when the output has none for it yet). The source must not be running.
func (p *Pipeline) wire(s *sourceRunner) error {
	s.sinks = s.sinks[:0]
	for _, o := range p.outs {
		q, err := o.addQueue(s.cfg.Name)
		if err != nil {
			return err
		}
		s.sinks = append(s.sinks, sink{o: o, q: q, key: queueKey(o.name, s.cfg.Name)})
	}
	if s.det != nil {
		s.det.sinks = s.det.sinks[:0]
		for _, sk := range s.sinks {
			if s.det.rules.wants(sk.o.name) {
				s.det.sinks = append(s.det.sinks, sk)
			}
		}
	}
	return nil
}

// startSource runs s in its own goroutine. s's previous result, if any,
// must have been reaped by Run: it is reset here.
func (p *Pipeline) startSource(base context.Context, s *sourceRunner) {
	ctx, cancel := context.WithCancel(base)
	s.cancel, s.done, s.err, s.reported = cancel, make(chan struct{}), nil, false
	go func() {
		s.err = s.run(ctx)
		close(s.done)
		select {
		case p.srcExit <- struct{}{}:
		default:
		}
	}()
}

// stopSource ends s's run and waits: a window in flight is rolled back
// and polled again when it starts again.
func (s *sourceRunner) stopSource() {
	if s.cancel != nil {
		s.cancel()
		<-s.done
	}
}

// Run polls and delivers until ctx ends (daemon) or, with Once, until every
// source has caught up and every queue is empty. After ctx ends it stops
// polling at once (a window in flight is rolled back and polled again next
// time) and gives the drainers shutdown_timeout to empty the queues.
func (p *Pipeline) Run(ctx context.Context) error {
	drainCtx, stopDrain := context.WithCancel(context.Background())
	defer stopDrain()
	for _, o := range p.outs {
		o.start(drainCtx)
	}

	// A daemon's source returns only on a fatal error (the state store or a
	// queue failing): then everything stops and the process exits 1, for
	// the supervisor to restart it, rather than run on without a source.
	pollCtx, stopPoll := context.WithCancel(ctx)
	defer stopPoll()
	var errs []error
	// reap takes the result of a source whose run has returned, once.
	reap := func(s *sourceRunner) {
		s.reported = true
		if s.err == nil {
			return
		}
		errs = append(errs, s.err)
		if !p.opts.Once {
			s.log.WithError(s.err).Error("source failed: stopping auditfwd")
			stopPoll()
		}
	}
	for _, s := range p.srcs {
		if p.opts.Backfill != nil && s.bf == nil {
			continue // a backfill runs its one source only
		}
		if err := p.wire(s); err != nil {
			stopPoll()
			errs = append(errs, &errFatal{err})
			break
		}
		p.startSource(pollCtx, s)
	}
	for {
		running := 0
		for _, s := range p.srcs {
			if s.done == nil || s.reported {
				continue
			}
			select {
			case <-s.done:
				reap(s)
			default:
				running++
			}
		}
		if running == 0 {
			break
		}
		select {
		case <-p.srcExit:
		case req := <-p.reloads:
			err := p.apply(pollCtx, drainCtx, req, reap)
			var fatal *errFatal
			if errors.As(err, &fatal) {
				p.log.WithError(err).Error("reload failed half-way: stopping auditfwd")
				errs = append(errs, err)
				stopPoll()
			}
			req.reply <- err
		}
	}
	close(p.pollDone)
	srcErr := errors.Join(errs...)

	// Polling has stopped: let the drainers empty what is committed.
	timeout := p.cfg.ShutdownTimeout.D()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var hardStop <-chan struct{}
	if p.opts.Once {
		hardStop = ctx.Done()
	}
wait:
	for !p.drained() {
		select {
		case <-deadline.C:
			break wait
		case <-hardStop:
			break wait
		case <-tick.C:
		}
	}
	stopDrain()
	for _, o := range p.outs {
		o.stop()
	}

	var left []string
	for _, o := range p.outs {
		if st := o.queueStats(); st.Events > 0 {
			left = append(left, fmt.Sprintf("%s: %d events", o.name, st.Events))
			o.log.WithField("queued", st.Events).Warn("events still queued at exit; they are delivered on the next start")
		}
	}
	if srcErr != nil {
		return srcErr
	}
	if p.opts.Once && len(left) > 0 {
		return fmt.Errorf("not every event was delivered within shutdown_timeout (%s): %v; they stay queued for the next run", timeout, left)
	}
	return nil
}

func (p *Pipeline) drained() bool {
	for _, o := range p.outs {
		if o.queueStats().Events > 0 {
			return false
		}
	}
	return true
}

// Close closes the queues, outputs, dead letters and state.
func (p *Pipeline) Close() error {
	var errs []error
	for _, o := range p.outs {
		errs = append(errs, o.close())
	}
	if p.dl != nil {
		errs = append(errs, p.dl.close())
	}
	for _, set := range p.seen {
		errs = append(errs, set.Close())
	}
	if p.store != nil {
		errs = append(errs, p.store.Close())
	}
	return errors.Join(errs...)
}

// sleep waits d or until ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// SeenCount is the number of hashes in a source's seen-set.
func (p *Pipeline) SeenCount(source string) int64 {
	p.seenMu.Lock()
	defer p.seenMu.Unlock()
	if set := p.seen[source]; set != nil {
		return set.Count()
	}
	return 0
}

// SeenDir is where a source's seen-set runs live.
func SeenDir(stateDir, source string) string { return filepath.Join(stateDir, "seen", source) }

// OpenSeen opens a source's seen-set as the state names it.
func OpenSeen(st *state.Store, stateDir, source string) (*dedup.Set, error) {
	live, err := dedup.DecodeList(st.SourceValue(source, state.KeySeenRuns))
	if err != nil {
		return nil, err
	}
	set, err := dedup.Open(SeenDir(stateDir, source), live)
	if err != nil {
		return nil, fmt.Errorf("%w; see `auditfwd state verify --config FILE`, and `auditfwd state repair` to forget the damaged run (its records may then be sent again)", err)
	}
	return set, nil
}

// commitSeen commits c with the seen-set change's live runs, then switches
// the set to them (or drops the change's files when the commit fails). The
// checkpoint does the same inside its own, longer, sequence.
func (p *Pipeline) commitSeen(c state.Commit, change *dedup.Change) error {
	c.Extra = map[string][]byte{state.KeySeenRuns: change.Live()}
	if err := p.store.Commit(c); err != nil {
		change.Abort()
		return err
	}
	change.Apply()
	return nil
}

// seenSet returns the source's seen-set, opening it (and moving a seen-set
// of the old bbolt layout into it) on first use.
func (p *Pipeline) seenSet(source string) (*dedup.Set, error) {
	p.seenMu.Lock()
	defer p.seenMu.Unlock()
	if set := p.seen[source]; set != nil {
		return set, nil
	}
	set, err := OpenSeen(p.store, p.cfg.StateDir, source)
	if err != nil {
		return nil, err
	}
	old, err := p.store.LegacySeenSet(source)
	if err != nil {
		set.Close()
		return nil, err
	}
	if len(old) > 0 {
		es := make([]dedup.Entry, len(old))
		for i, e := range old {
			es[i] = dedup.Entry{Hash: e.Hash, Anchor: e.Anchor}
		}
		change, err := set.Add(es)
		if err != nil {
			set.Close()
			return nil, err
		}
		if err := p.commitSeen(state.Commit{Source: source, DropLegacySeen: true}, change); err != nil {
			set.Close()
			return nil, fmt.Errorf("move the seen-set to its new layout: %w", err)
		}
		p.log.WithFields(logrus.Fields{"source": source, "hashes": len(old)}).Info("seen-set moved to its new on-disk layout")
	}
	p.seen[source] = set
	return set, nil
}
