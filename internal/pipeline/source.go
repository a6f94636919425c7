package pipeline

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/sirupsen/logrus"

	"github.com/auditfwd/auditfwd/internal/config"
	"github.com/auditfwd/auditfwd/internal/dedup"
	"github.com/auditfwd/auditfwd/internal/event"
	"github.com/auditfwd/auditfwd/internal/queue"
	"github.com/auditfwd/auditfwd/internal/source/wss"
	"github.com/auditfwd/auditfwd/internal/state"
	"github.com/auditfwd/auditfwd/outputs"
)

// sourceRunner polls one source window after window.
type sourceRunner struct {
	p      *Pipeline
	cfg    config.Source
	client *wss.Client
	mapper *event.Mapper
	seen   *dedup.Set
	log    *logrus.Entry
	stats  *SourceStats
	sinks  []sink // set by Pipeline.wire while the source is stopped

	cancel   func()        // stops run
	done     chan struct{} // closed when run returns
	err      error         // run's result, once done is closed
	reported bool          // Run has seen done
	started  time.Time     // when the runner was made (readiness grace)

	cursor    time.Time
	hasCursor bool
	lastSweep time.Time
	// Said once each until the condition clears, so a daemon's log is
	// not flooded every poll interval.
	warnedStart, warnedAhead bool
	lastProgress             time.Time // last catch-up progress line

	det *detector // nil while detections are off

	access *accessSource // a wss_access source; nil for wss_audit

	bf     *BackfillProgress // set while backfilling a past range
	bfOpts *Backfill

	// onCheckpoint, when set (tests only), is called as a checkpoint
	// starts, with the dead-letter lines it is about to write.
	onCheckpoint func(deadLines int)
}

// det is the rule set to run (nil: detections off).
func newSourceRunner(p *Pipeline, sc config.Source, det *Detections) (*sourceRunner, error) {
	s := &sourceRunner{
		p: p, cfg: sc, stats: &SourceStats{Detect: newDetectStats()}, started: time.Now(),
		log: p.log.WithField("source", sc.Name),
	}
	var err error
	if sc.Access != nil {
		if s.access, err = newAccessSource(p, sc); err != nil {
			return nil, fmt.Errorf("source %s: %w", sc.Name, err)
		}
	} else {
		hc, err := httpClient(sc)
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", sc.Name, err)
		}
		wc := wssConfig(sc)
		wc.ProgressEvery = p.opts.ProgressEvery
		if s.client, err = wss.New(wc, hc); err != nil {
			return nil, fmt.Errorf("source %s: %w", sc.Name, err)
		}
		s.mapper = event.NewMapper(sc.Fields, sc.Name)
	}
	if s.seen, err = p.seenSet(sc.Name); err != nil {
		return nil, fmt.Errorf("source %s: %w", sc.Name, err)
	}
	s.cursor, s.hasCursor, err = p.store.Cursor(sc.Name)
	if err != nil {
		return nil, fmt.Errorf("source %s: read cursor: %w", sc.Name, err)
	}
	if det != nil {
		if err := s.newDetector(det); err != nil {
			return nil, fmt.Errorf("source %s: %w", sc.Name, err)
		}
	}
	// insecure_skip_verify is warned about with the other settings that
	// weaken security (config.Warnings), by run, check and validate.
	return s, nil
}

func wssConfig(sc config.Source) wss.Config {
	return wss.Config{
		BaseURL: sc.BaseURL, Path: sc.Path, Username: sc.Username, Password: wss.Secret(sc.Password.Value()),
		DateFormat: sc.DateFormat, StartParam: sc.Params.Start, EndParam: sc.Params.End,
		Format: sc.Format, FormatParam: sc.Params.Format,
		ObjectTypes: sc.ObjectTypes, OperationTypes: sc.OperationTypes,
		ObjectTypeParam: sc.Params.ObjectType, OperationTypeParam: sc.Params.OperationType,
		FilterStyle: sc.FilterStyle, RecordsPath: sc.RecordsPath, EndInclusiveDay: *sc.EndDayInclude,
		IdleTimeout: sc.Timeout.D(), WindowTimeout: sc.WindowTimeout.D(), MaxWindowRecords: sc.MaxWindowRecords,
		MaxRecordBytes: int(sc.MaxRecordBytes), MaxRecordDepth: sc.MaxRecordDepth,
	}
}

// httpClient builds the source's HTTP client: TLS verified unless the
// config says otherwise. There is no deadline for the whole response (a
// day of records can take minutes to stream, and back-pressure may pause
// it); the client fails when the server makes no progress for timeout.
func httpClient(sc config.Source) (*http.Client, error) {
	tc, err := TLSConfig(sc.TLS)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	tr.ResponseHeaderTimeout = sc.Timeout.D()
	return &http.Client{Transport: tr}, nil
}

// TLSConfig builds a client tls.Config from the source's keys.
func TLSConfig(t config.TLS) (*tls.Config, error) {
	return outputs.TLS{CAFile: t.CAFile, CertFile: t.CertFile, KeyFile: t.KeyFile,
		ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify}.Config()
}

// window returns the next window to poll at now. With whole-day dates the
// start is cut to its day, since the API returns the whole day anyway.
func (s *sourceRunner) window(now time.Time) (start, end time.Time) {
	if s.bf != nil {
		return s.windowFrom(s.bf.Next, minTime(s.bf.To, now))
	}
	start = s.cfg.StartTime
	if s.hasCursor {
		start = s.cursor
	} else if oldest := now.Add(-wss.Retention); start.Before(oldest) {
		// The API keeps one year: asking for more fetches nothing and
		// costs a year of empty windows. backfill clamps --from the same way.
		if !s.warnedStart {
			s.warnedStart = true
			s.log.WithFields(logrus.Fields{"start": start.Format(time.RFC3339), "clamped_to": oldest.Format(time.RFC3339)}).
				Warn("start is older than the WSS API's one-year retention: starting at the oldest time it keeps")
		}
		start = oldest
	}
	if g := s.cfg.Granularity(); g > 0 {
		start = start.UTC().Truncate(g)
	}
	end = start.Add(s.cfg.Window.D())
	if end.After(now) {
		end = now
	}
	return start, end
}

// errFatal marks errors after which the process must stop (the state store
// or a queue file failing): retrying would only hide them.
type errFatal struct{ err error }

func (e *errFatal) Error() string { return e.err.Error() }
func (e *errFatal) Unwrap() error { return e.err }

// run polls until ctx ends or, with Once, until the source has caught up.
func (s *sourceRunner) run(ctx context.Context) error {
	if s.access != nil {
		return s.runAccess(ctx)
	}
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval = s.cfg.Retry.InitialInterval.D()
	bo.MaxInterval = s.cfg.Retry.MaxInterval.D()
	bo.MaxElapsedTime = 0
	bo.Reset()
	attempts := 0
	for ctx.Err() == nil {
		now := s.p.opts.Now().UTC()
		start, end := s.window(now)
		if !end.After(start) {
			s.warnAhead(start, now)
			if s.p.opts.Once {
				return nil
			}
			sleep(ctx, s.cfg.PollInterval.D())
			continue
		}
		s.warnedAhead = false
		err := s.poll(ctx, start, end, now)
		if err == nil {
			bo.Reset()
			attempts = 0
			s.logProgress(end, now)
			if s.bf != nil {
				if s.bf.Finished() {
					return nil
				}
				continue
			}
			if !end.Before(now) { // caught up with the present
				if s.p.opts.Once {
					return nil
				}
				sleep(ctx, s.cfg.PollInterval.D())
			}
			continue
		}
		var fatal *errFatal
		if errors.As(err, &fatal) {
			// Even when ctx ended meanwhile (a reload or shutdown
			// stopping the source): a fatal error is the run's result.
			s.stats.failed(err)
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
		var rl *wss.RateLimitError
		if s.bf == nil || !errors.As(err, &rl) {
			// A backfill is a long run of requests: the API saying "slow
			// down" is expected, waited out, and not a failure.
			attempts++
		}
		s.stats.failed(err)
		wait, give := s.retryWait(err, bo)
		fields := logrus.Fields{"window": windowString(start, end), "attempt": attempts}
		if give && s.p.opts.Once {
			s.log.WithFields(fields).WithError(err).Error("window failed")
			return fmt.Errorf("source %s: %w", s.cfg.Name, err)
		}
		if s.p.opts.Once && attempts >= s.p.opts.OnceMaxAttempts {
			s.log.WithFields(fields).WithError(err).Error("window failed; giving up (--once)")
			return fmt.Errorf("source %s: window %s failed %d times: %w", s.cfg.Name, windowString(start, end), attempts, err)
		}
		lvl := s.log.WithFields(fields).WithError(err).WithField("retry_in", wait.Round(time.Millisecond).String())
		if give {
			lvl.Error("window failed; an operator must act: retrying slowly")
		} else {
			lvl.Warn("window failed; retrying")
		}
		t0 := time.Now()
		sleep(ctx, wait)
		s.stats.RetryWaits.Add(int64(time.Since(t0)))
	}
	return nil
}

// warnAhead says, once, that the cursor is ahead of the clock: nothing is
// polled until the clock reaches it, which looks like a silent agent.
func (s *sourceRunner) warnAhead(start, now time.Time) {
	if !start.After(now) || s.warnedAhead {
		return
	}
	s.warnedAhead = true
	s.log.WithFields(logrus.Fields{"cursor": start.Format(time.RFC3339), "now": now.Format(time.RFC3339), "ahead": start.Sub(now).Round(time.Second).String()}).
		Warn("the cursor is ahead of this machine's clock: nothing is polled until the clock reaches it; check the clock (NTP), or move the cursor with: auditfwd state set --config FILE --source " + s.cfg.Name + " TIME")
}

// retryWait decides how long to wait after err; give is true when the error
// needs an operator (bad credential, wrong path) and --once should stop.
func (s *sourceRunner) retryWait(err error, bo backoff.BackOff) (wait time.Duration, give bool) {
	var (
		ae *wss.AuthError
		re *wss.RateLimitError
		se *wss.StatusError
	)
	switch {
	case errors.As(err, &ae):
		s.stats.response(ae.Status)
		return s.cfg.Retry.AuthRetryInterval.D(), true
	case errors.As(err, &re):
		s.stats.response(re.Status)
		wait = re.RetryAfter
		if wait <= 0 {
			wait = bo.NextBackOff()
		}
		if max := s.cfg.Retry.MaxRetryAfter.D(); wait > max {
			wait = max
		}
		return wait, false
	case errors.As(err, &se):
		s.stats.response(se.Status)
		if !se.Temporary() {
			return s.cfg.Retry.AuthRetryInterval.D(), true
		}
	case !wss.Retryable(err):
		// An untrusted certificate, say: waiting will not fix it.
		return s.cfg.Retry.AuthRetryInterval.D(), true
	}
	return bo.NextBackOff(), false
}

func windowString(start, end time.Time) string {
	return start.UTC().Format(time.RFC3339) + "/" + end.UTC().Format(time.RFC3339)
}

// windowState is what one window holds in memory between checkpoints.
type windowState struct {
	seen      map[[32]byte]struct{} // hashes met since the last checkpoint
	pending   []dedup.Entry         // new events' and dead letters' hashes
	dead      [][]byte
	deadBytes int
	newest    time.Time
	extra     map[string][]byte // saved with the next checkpoint
	pollOK    bool              // the next checkpoint ends a poll (wss_access: no cursor move needed)
	// deadLogged counts the window's dead-lettered lines, to log only the
	// first few one by one.
	deadLogged int
	// verify, when set, runs before every checkpoint: a wss_access archive
	// proves the lines it is about to commit intact.
	verify func() error
}

// maxHeldDeadBytes bounds the dead-letter lines a window holds between
// checkpoints. checkpoint_records alone does not bound them in bytes: a
// bad record may be up to max_record_bytes (8 MiB), and its line larger
// still (escaped or base64), so 100 held lines could be gigabytes. A few
// MiB per checkpoint keeps its fsyncs rare for ordinary bad records.
const maxHeldDeadBytes = 4 << 20

// checkpointIfDue checkpoints (without the cursor) when the window holds
// checkpoint_records hashes, new events and dead letters alike, or
// maxHeldDeadBytes of dead-letter lines: the memory of a window is bounded
// whatever its records are (a day of records all bad after an upstream
// schema change must not be held whole).
func (s *sourceRunner) checkpointIfDue(ws *windowState) error {
	if len(ws.pending) < s.cfg.Checkpoint && ws.deadBytes < maxHeldDeadBytes {
		return nil
	}
	return s.checkpoint(ws, nil)
}

// poll fetches one window and commits it; on any error it rolls the
// source's queues back to their commit marks.
func (s *sourceRunner) poll(ctx context.Context, start, end, now time.Time) error {
	ws := &windowState{seen: make(map[[32]byte]struct{})}
	win := windowString(start, end)
	log := s.log.WithField("window", win)
	anchor := now.Unix()
	before := s.counts()
	docBuf := make([]byte, 0, 4096)
	var perr error // a pipeline error inside the callback
	n, err := s.client.FetchTo(ctx, start, end, wss.Handlers{Record: func(raw []byte) error {
		s.stats.Fetched.Add(1)
		// Hash first: a duplicate needs no decoding.
		h := event.Hash(raw)
		if _, dup := ws.seen[h]; dup {
			s.stats.Duplicate.Add(1)
			return nil
		}
		if s.seen.Has(h) {
			s.stats.Duplicate.Add(1)
			return nil
		}
		p, parseErr := event.ParseHashed(raw, h)
		if parseErr != nil {
			s.deadRecord(ws, log, win, parseErr, p.Hash, p.Raw, anchor)
			perr = s.checkpointIfDue(ws)
			return perr
		}
		// Into one reused buffer: enqueue copies the event into the queues
		// before the next record is mapped.
		ev, buf, mapErr := s.mapper.MapTo(docBuf[:0], &p, time.Now())
		if cap(buf) <= 1<<20 {
			docBuf = buf
		}
		if mapErr != nil {
			s.deadRecord(ws, log, win, mapErr, p.Hash, p.Raw, anchor)
			perr = s.checkpointIfDue(ws)
			return perr
		}
		a := anchor
		if t := ev.Time.Unix(); t > a {
			a = t // a record stamped in the future stays until windows pass it
		}
		if err := s.enqueue(ctx, ws, ev, dedup.Entry{Hash: p.Hash, Anchor: a}); err != nil {
			perr = err
			return err
		}
		if ev.Time.After(ws.newest) {
			ws.newest = ev.Time
		}
		s.stats.New.Add(1)
		perr = s.checkpointIfDue(ws)
		return perr
	}, Skipped: func(sk wss.SkippedRecord) error {
		// Too large or too deep to keep: dead-lettered like a malformed
		// record, and like one remembered by hash, so that re-polls do
		// not dead-letter it again.
		s.stats.Fetched.Add(1)
		if _, dup := ws.seen[sk.Hash]; dup || s.seen.Has(sk.Hash) {
			s.stats.Duplicate.Add(1)
			return nil
		}
		s.deadSkipped(ws, log, win, sk, anchor)
		perr = s.checkpointIfDue(ws) // a body of nothing else stays bounded too
		return perr
	}, Progress: func(pr wss.Progress) {
		log.WithFields(logrus.Fields{"records": pr.Records, "bytes": pr.Bytes, "elapsed": pr.Elapsed.Round(time.Second).String()}).
			Info("window response still being read")
	}})
	if err == nil && s.bf != nil {
		next, raw := s.backfillNext(start, end, s.counts().minus(before))
		ws.extra = map[string][]byte{backfillKey: raw}
		if err = s.checkpoint(ws, nil); err == nil {
			s.bf = &next
			s.stats.Windows.Add(1)
			s.stats.pollOK(time.Now(), ws.newest)
			s.stats.response(http.StatusOK)
			log.WithField("records", n).Debug("backfill window committed")
			if s.bfOpts.Progress != nil {
				s.bfOpts.Progress(next.clone())
			}
			return nil
		}
	}
	if err == nil && s.bf == nil {
		cursor := end
		if safe := now.Add(-s.cfg.Overlap.D()); safe.Before(cursor) {
			// Records up to max_lateness old may still appear: the next
			// window starts early enough to see them.
			cursor = safe
		}
		if s.hasCursor && cursor.Before(s.cursor) {
			cursor = s.cursor
		}
		if !s.hasCursor && cursor.Before(s.cfg.StartTime) {
			cursor = s.cfg.StartTime
		}
		if err = s.checkpoint(ws, &cursor); err == nil {
			s.cursor, s.hasCursor = cursor, true
			s.stats.Windows.Add(1)
			s.stats.pollOK(time.Now(), ws.newest)
			s.stats.response(http.StatusOK)
			log.WithFields(logrus.Fields{"records": n, "cursor": cursor.Format(time.RFC3339)}).Debug("window committed")
			s.sweep(log)
			return nil
		}
	}
	if perr != nil {
		err = perr
	}
	for _, sk := range s.sinks {
		if rerr := sk.q.Rollback(); rerr != nil {
			return &errFatal{fmt.Errorf("roll back queue after a failed window: %w", rerr)}
		}
	}
	if s.det != nil {
		if rerr := s.det.rollback(); rerr != nil {
			return rerr
		}
	}
	return err
}

func (s *sourceRunner) deadRecord(ws *windowState, log *logrus.Entry, win string, reason error, h [32]byte, raw []byte, anchor int64) {
	hash := event.Event{Hash: h}.HashHex()
	s.keepDead(ws, log, h, reason.Error(), anchor, sourceDeadLine(s.cfg.Name, win, reason.Error(), hash, raw, time.Now()))
}

// deadSkipped dead-letters a record the decoder read past without keeping
// it: its size and first bytes stand for it.
func (s *sourceRunner) deadSkipped(ws *windowState, log *logrus.Entry, win string, sk wss.SkippedRecord, anchor int64) {
	hash := event.Event{Hash: sk.Hash}.HashHex()
	s.keepDead(ws, log, sk.Hash, sk.Reason, anchor, skippedDeadLine(s.cfg.Name, win, hash, sk, time.Now()))
}

// keepDead queues a dead letter line with the window, and the record's
// hash with the seen-set, so that a re-poll does not dead-letter it again.
func (s *sourceRunner) keepDead(ws *windowState, log *logrus.Entry, h [32]byte, reason string, anchor int64, line []byte) {
	ws.seen[h] = struct{}{}
	ws.dead = append(ws.dead, line)
	ws.deadBytes += len(line) + 1
	ws.pending = append(ws.pending, dedup.Entry{Hash: h, Anchor: anchor})
	s.stats.DeadLettered.Add(1)
	if log == nil {
		return // the caller logs a summary
	}
	log.WithFields(logrus.Fields{"hash": event.Event{Hash: h}.HashHex(), "reason": reason}).Warn("record kept in the dead letter")
}

// sink is where the source puts events for one output.
type sink struct {
	o   *outputRunner
	q   *queue.Queue
	key string
}

// enqueue appends ev to every output's queue, applying each output's
// back-pressure policy first.
func (s *sourceRunner) enqueue(ctx context.Context, ws *windowState, ev event.Event, seen dedup.Entry) error {
	// Room first, for every output: a checkpoint taken by back-pressure must
	// not split this event (queued for some outputs, not others, its hash
	// not yet pending) across two commits.
	for _, sk := range s.sinks {
		if err := s.makeRoom(ctx, ws, sk); err != nil {
			return err
		}
	}
	now := time.Now()
	for _, sk := range s.sinks {
		if err := sk.q.Append(ev, now); err != nil {
			return &errFatal{fmt.Errorf("queue %s: %w", sk.o.name, err)}
		}
	}
	ws.seen[seen.Hash] = struct{}{}
	ws.pending = append(ws.pending, seen)
	if s.det != nil {
		return s.evaluate(ws, ev, seen.Anchor)
	}
	return nil
}

// makeRoom applies the output's policy when its queues are over
// queue.max_bytes. Both policies work with hysteresis (down to 90% of the
// limit) so a queue at its limit does not cost a commit per record.
//
// block: commit what this window queued so far (so the output can drain it),
// then wait. drop_oldest: skip the oldest events not yet handed to the
// output; a batch in flight is not counted, as it cannot be dropped.
func (s *sourceRunner) makeRoom(ctx context.Context, ws *windowState, sk sink) error {
	o, q := sk.o, sk.q
	limit := int64(o.cfg.Queue.MaxBytes)
	low := limit / 10 * 9
	// The checks before every append read the queues' sizes without
	// their locks (queue.Size): a drainer holds its queue's lock while it
	// persists its delivery mark, and polling need not wait for that.
	if o.cfg.Queue.Policy == "drop_oldest" {
		total := queuesSize(o, false)
		if total < limit {
			return nil
		}
		if q.Stats().Uncommitted > 0 {
			if err := s.checkpoint(ws, nil); err != nil {
				return err
			}
		}
		mine := q.Stats().Unread
		n, err := q.DropOldest(max(0, low-(total-mine)), func(mark int64) error {
			// The target's state goes with every mark move: a batch in
			// flight may be in the file already, and a start must not cut it.
			return o.saveTarget(func(target []byte) error { return s.p.store.Delivered(sk.key, mark, o.name, target) })
		})
		if err != nil {
			return &errFatal{err}
		}
		if n > 0 {
			o.stats.Dropped.Add(n)
			s.log.WithFields(logrus.Fields{"output": o.name, "dropped": n}).Error("queue full: dropped the oldest events (queue.policy: drop_oldest)")
		}
		return nil
	}
	if queuesSize(o, true) < limit {
		return nil
	}
	if err := s.checkpoint(ws, nil); err != nil {
		return err
	}
	s.log.WithFields(logrus.Fields{"output": o.name, "queue_bytes": o.queueStats().Bytes, "limit": limit}).Warn("queue full: polling stops until the output catches up (queue.policy: block)")
	s.stats.BlockedNow.Store(true)
	t0 := time.Now()
	defer func() {
		s.stats.BlockedNow.Store(false)
		s.stats.Blocked.Add(int64(time.Since(t0)))
	}()
	for o.queueStats().Bytes >= low {
		if !sleep(ctx, 100*time.Millisecond) {
			return ctx.Err()
		}
	}
	s.log.WithField("output", o.name).Info("queue below its limit again: polling goes on")
	return nil
}

// queuesSize sums the output's queues' bytes past the delivery mark
// (all) or past the read position.
func queuesSize(o *outputRunner, all bool) int64 {
	var n int64
	o.mu.Lock() // not snapshot(): no copy per record
	defer o.mu.Unlock()
	for _, oq := range o.queues {
		bytes, unread := oq.q.Size()
		if all {
			n += bytes
		} else {
			n += unread
		}
	}
	return n
}

// checkpoint makes the window's progress durable (see the package doc).
func (s *sourceRunner) checkpoint(ws *windowState, cursor *time.Time) error {
	if ws.verify != nil {
		if err := ws.verify(); err != nil {
			return err // a damaged archive: rolled back and asked again
		}
	}
	if s.onCheckpoint != nil {
		s.onCheckpoint(len(ws.dead))
	}
	marks := make(map[string]int64, len(s.sinks))
	for _, sk := range s.sinks {
		end, err := sk.q.Sync()
		if err != nil {
			return &errFatal{fmt.Errorf("fsync queue: %w", err)}
		}
		marks[sk.key] = end
	}
	// The window's hashes go into a new seen-set run, durable before the
	// transaction names it live.
	change, err := s.seen.Add(ws.pending)
	if err != nil {
		return &errFatal{err}
	}
	extra := map[string][]byte{state.KeySeenRuns: change.Live()}
	for k, v := range ws.extra {
		extra[k] = v
	}
	var detState []byte
	if s.det != nil {
		// The correlation state goes with the queue marks: a crash after
		// this transaction replays nothing it counted, one before it
		// replays the events and rebuilds the same alerts.
		detState = s.det.eng.State()
		extra[s.det.key] = detState
	}
	c := state.Commit{Source: s.cfg.Name, Cursor: cursor, Marks: marks, Extra: extra}
	if cursor != nil || ws.pollOK {
		now := time.Now()
		c.PollOK = &now
	}
	commit := func(dlLen int64) error {
		if dlLen >= 0 {
			c.DeadLetterLen = &dlLen
		}
		if err := s.p.store.Commit(c); err != nil {
			return &errFatal{fmt.Errorf("commit state: %w", err)}
		}
		return nil
	}
	if len(ws.dead) > 0 {
		err = s.p.dl.write(ws.dead, commit)
	} else {
		err = commit(-1)
	}
	if err != nil {
		change.Abort()
		var f *errFatal
		if !errors.As(err, &f) {
			err = &errFatal{err}
		}
		return err
	}
	change.Apply()
	if s.det != nil {
		s.det.committed = detState
	}
	s.seen.Trim()
	for _, sk := range s.sinks {
		sk.q.Commit(marks[sk.key])
	}
	ws.pending = ws.pending[:0]
	ws.dead, ws.deadBytes = nil, 0
	ws.extra = nil
	clear(ws.seen)
	return nil
}

// sweep forgets seen hashes no future window can return again, at most
// every SweepEvery.
func (s *sourceRunner) sweep(log *logrus.Entry) {
	if time.Since(s.lastSweep) < s.p.opts.SweepEvery {
		return
	}
	s.lastSweep = time.Now()
	cutoff := s.cursor.Add(-s.cfg.DedupHorizon.D()).Unix()
	change, err := s.seen.Expire(cutoff)
	if err != nil {
		log.WithError(err).Warn("seen-set expiry failed; it is tried again later")
	}
	if change == nil {
		return
	}
	before := s.seen.Count()
	if err := s.p.commitSeen(state.Commit{Source: s.cfg.Name}, change); err != nil {
		log.WithError(err).Warn("seen-set expiry failed; it is tried again later")
		return
	}
	log.WithField("expired", before-s.seen.Count()).Debug("seen-set expired old hashes")
}

var errCheckDone = errors.New("check: first record read")

// CheckSource asks the source's API for the last minute's records and stops
// at the first one: it proves the address, TLS, credential and body format
// without keeping anything.
func CheckSource(ctx context.Context, sc config.Source) error {
	if sc.Access != nil {
		return checkAccess(ctx, sc)
	}
	hc, err := httpClient(sc)
	if err != nil {
		return err
	}
	client, err := wss.New(wssConfig(sc), hc)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	// A record too large to keep proves the body format as well.
	_, err = client.FetchTo(ctx, now.Add(-time.Minute), now, wss.Handlers{
		Record:  func([]byte) error { return errCheckDone },
		Skipped: func(wss.SkippedRecord) error { return errCheckDone },
	})
	if errors.Is(err, errCheckDone) {
		return nil
	}
	return err
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// counts reads the record counters, to tell what one window added.
func (s *sourceRunner) counts() DayCount {
	return DayCount{Fetched: s.stats.Fetched.Load(), New: s.stats.New.Load(),
		Duplicate: s.stats.Duplicate.Load(), DeadLettered: s.stats.DeadLettered.Load()}
}

func (d DayCount) minus(o DayCount) DayCount {
	return DayCount{Fetched: d.Fetched - o.Fetched, New: d.New - o.New,
		Duplicate: d.Duplicate - o.Duplicate, DeadLettered: d.DeadLettered - o.DeadLettered}
}
