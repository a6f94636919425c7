package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/sirupsen/logrus"

	"github.com/auditfwd/auditfwd/internal/config"
	"github.com/auditfwd/auditfwd/internal/dedup"
	"github.com/auditfwd/auditfwd/internal/event"
	"github.com/auditfwd/auditfwd/internal/source/wss"
	"github.com/auditfwd/auditfwd/internal/source/wssaccess"
	"github.com/auditfwd/auditfwd/internal/state"
)

// A wss_access source reads the access-log Sync API (package wssaccess):
// a server-side token instead of time windows. Its delivery follows the
// package doc's order of durable writes, with the archive as the window:
//
//  1. Fetch spools one answer (a ZIP of gzipped ELFF files and a trailer
//     naming the next token). Verify reads the whole ZIP once, checksums
//     included, so that no line of a damaged archive is ever queued.
//  2. Each line is hashed (SHA-256 of the raw line: the dedup key), dropped
//     when seen, dead-lettered when it does not parse, else mapped and
//     appended to every output's queue. Checkpoints every
//     checkpoint_records move the queues' commit marks and the seen-set,
//     never the token: a crash repeats the request with the token the
//     archive was asked with, and dedup drops what was committed.
//  3. After the last line, one transaction commits the rest with the new
//     token and the hour of the newest line delivered (the cursor).
//
// A 410 (token expired or outside the dates) or a partial ZIP restarts with
// token=none from the cursor less restartLookback: the lines that come
// again are dropped by dedup. The seen-set keeps a line while a restart
// can still reach it (see accessHorizon), not for a day, so that a tenant
// of 100 M lines a day keeps it small.

// accessKey is the source key of the Sync API state (JSON accessState).
const accessKey = state.KeySync

// restartLookback is how far before the hour of the newest delivered line
// a restart begins: Broadcom does not promise the last ~2 hours complete and
// lines arrive out of order, so a restart from that very hour could miss
// late lines of the hours before it that the expired token would still
// have brought.
const restartLookback = 2 * time.Hour

// accessHorizon is how far before a restart's start the seen-set keeps
// hashes: an answer starting at an hour may hold lines stamped a little
// before it (files group lines by arrival).
const accessHorizon = restartLookback + time.Hour

// retentionMargin: a token whose startDate is this close to the end of
// retention is replaced by a restart before the API refuses the date.
const retentionMargin = 24 * time.Hour

// futureSlack bounds how far ahead of the clock a line's time may move the
// cursor: a hostile or broken timestamp must not send a restart into the
// future (a 400 the source cannot get out of).
const accessFutureSlack = time.Hour

// accessState is what a wss_access source commits with its queue marks.
type accessState struct {
	Token      string    `json:"token,omitempty"` // "" is none
	TokenStart time.Time `json:"token_start"`     // the startDate the token was issued for
}

// accessSource is the wss_access half of a sourceRunner.
type accessSource struct {
	cfg    wssaccess.Config
	client *wssaccess.Client
	mapper wssaccess.Mapper
	st     accessState
	// newest is the newest line time this process committed: the lines
	// of the next archive arrived after it (see deliverArchive's anchor).
	newest time.Time
	// sweptTo is the cutoff of the last seen-set sweep (see sweepAccess).
	sweptTo time.Time
}

// sweepStep is how far the seen-set cutoff moves before a sweep that
// SweepEvery has not asked for yet.
const sweepStep = time.Hour

func newAccessSource(p *Pipeline, sc config.Source) (*accessSource, error) {
	client, err := wssaccess.New(*sc.Access, nil, filepath.Join(p.cfg.StateDir, "spool", sc.Name))
	if err != nil {
		return nil, err
	}
	client.Now = p.opts.Now // the retention check and the pace follow the run's clock
	return &accessSource{cfg: sc.Access.WithDefaults(), client: client,
		mapper: wssaccess.Mapper{KeepOriginal: sc.Access.KeepOriginal, Source: sc.Name}}, nil
}

// loadAccess reads the committed token and cursor. Without a token (a new
// source, or `state set` moved the cursor) the next request is token=none
// from the cursor, or from start.
func (s *sourceRunner) loadAccess(now time.Time) error {
	a := s.access
	a.st = accessState{}
	if raw := s.p.store.SourceValue(s.cfg.Name, accessKey); raw != nil {
		if err := json.Unmarshal(raw, &a.st); err != nil {
			// Only the token is lost: a restart from the cursor brings the
			// lines again and dedup drops those delivered.
			s.log.WithError(err).Error("the saved Sync API token is unreadable: restarting from the cursor with token=none")
			a.st = accessState{}
		}
	}
	if a.st.Token == "" && a.st.TokenStart.IsZero() {
		a.st.TokenStart = s.restartHour(now)
	}
	return nil
}

// AccessRestartAt is the Sync API state that makes a wss_access source's
// next request token=none from t's hour (for `auditfwd state set`).
func AccessRestartAt(t time.Time) []byte {
	b, _ := json.Marshal(accessState{TokenStart: t.UTC().Truncate(time.Hour)})
	return b
}

// checkAccess asks the Sync API for one minute of an hour ago: it proves
// the address, TLS, credential and answer format, keeping nothing.
func checkAccess(ctx context.Context, sc config.Source) error {
	dir, err := os.MkdirTemp("", "auditfwd-check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	client, err := wssaccess.New(*sc.Access, nil, dir)
	if err != nil {
		return err
	}
	start := time.Now().UTC().Truncate(time.Hour).Add(-time.Hour)
	resp, err := client.Fetch(ctx, wssaccess.Request{Start: start, End: start.Add(time.Minute)})
	if err != nil {
		return err
	}
	defer resp.Close()
	if resp.ZipSize == 0 {
		return nil
	}
	arc, err := wssaccess.OpenArchive(resp.Archive(), resp.ZipSize)
	if err != nil {
		return err
	}
	return arc.Verify()
}

// restartHour is where a request without a token starts: the cursor less
// restartLookback (the configured start when there is no cursor yet),
// within the API's retention and not past the current hour.
func (s *sourceRunner) restartHour(now time.Time) time.Time {
	h := s.cfg.StartTime
	if s.hasCursor {
		h = s.cursor.Add(-restartLookback)
	}
	h = h.UTC().Truncate(time.Hour)
	if oldest := now.Add(-s.access.cfg.Retention.D() + retentionMargin).UTC().Truncate(time.Hour).Add(time.Hour); h.Before(oldest) {
		h = oldest
	}
	if cur := now.UTC().Truncate(time.Hour); h.After(cur) {
		h = cur
	}
	return h
}

// runAccess fetches until ctx ends or, with Once, until the API says done.
func (s *sourceRunner) runAccess(ctx context.Context) error {
	a := s.access
	if err := s.loadAccess(s.p.opts.Now()); err != nil {
		return err
	}
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval = s.cfg.Retry.InitialInterval.D()
	bo.MaxInterval = s.cfg.Retry.MaxInterval.D()
	bo.MaxElapsedTime = 0
	bo.Reset()
	attempts := 0
	for ctx.Err() == nil {
		now := s.p.opts.Now().UTC()
		if a.st.Token != "" && a.st.TokenStart.Before(now.Add(-a.cfg.Retention.D()+retentionMargin)) {
			s.log.WithField("token_start", a.st.TokenStart.Format(time.RFC3339)).
				Info("the Sync API token's start nears the end of retention: restarting from the cursor with token=none")
			a.st = accessState{TokenStart: s.restartHour(now)}
		}
		more, err := s.fetchArchive(ctx, now)
		if err == nil {
			bo.Reset()
			attempts = 0
			if more {
				continue // the API has more: at once (the client keeps min_request_interval)
			}
			if s.p.opts.Once {
				return nil
			}
			sleep(ctx, a.cfg.PollInterval.D())
			continue
		}
		var fatal *errFatal
		if errors.As(err, &fatal) {
			s.stats.failed(err)
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
		s.stats.failed(err)
		act, wait := wssaccess.Advise(err)
		var de *wssaccess.DateError
		if errors.As(err, &de) && a.st.Token != "" {
			// Dates refused with a token: the token's own startDate may be
			// what the server no longer takes. Without a token, from the
			// cursor, is worth one try before an operator is needed.
			act, wait = wssaccess.Restart, 0
		}
		fields := logrus.Fields{"token_start": a.st.TokenStart.Format(time.RFC3339), "action": act.String()}
		switch act {
		case wssaccess.Stop:
			return nil
		case wssaccess.Restart:
			restart := s.restartHour(now)
			fields["restart_from"] = restart.Format(time.RFC3339)
			s.log.WithFields(fields).WithError(err).Warn("the Sync API token cannot go on: restarting with token=none (lines delivered already are dropped by dedup)")
			a.st = accessState{TokenStart: restart}
			s.stats.Restarts.Add(1)
		case wssaccess.Fatal:
			s.statusOf(err)
			if s.p.opts.Once {
				s.log.WithFields(fields).WithError(err).Error("Sync API request failed")
				return fmt.Errorf("source %s: %w", s.cfg.Name, err)
			}
			wait = s.cfg.Retry.AuthRetryInterval.D()
			s.log.WithFields(fields).WithError(err).WithField("retry_in", wait.String()).Error("Sync API request failed; an operator must act: retrying slowly")
			sleep(ctx, wait)
			continue
		}
		s.statusOf(err)
		var busy *wssaccess.BusyError
		var rl *wss.RateLimitError
		if !errors.As(err, &busy) && !errors.As(err, &rl) {
			// A transport error or a broken answer: back off on top. Busy
			// and rate-limit answers come with their own waits.
			wait = max(wait, bo.NextBackOff())
		}
		attempts++ // with --once, a server busy for good fails the run too
		if max := s.cfg.Retry.MaxRetryAfter.D(); wait > max {
			wait = max
		}
		if s.p.opts.Once && attempts >= s.p.opts.OnceMaxAttempts {
			s.log.WithFields(fields).WithError(err).Error("Sync API request failed; giving up (--once)")
			return fmt.Errorf("source %s: Sync API request failed %d times: %w", s.cfg.Name, attempts, err)
		}
		s.log.WithFields(fields).WithError(err).WithFields(logrus.Fields{"attempt": attempts, "retry_in": wait.Round(time.Millisecond).String()}).Warn("Sync API request failed; retrying")
		t0 := time.Now()
		sleep(ctx, wait)
		s.stats.RetryWaits.Add(int64(time.Since(t0)))
	}
	return nil
}

// statusOf counts the HTTP status an error carries.
func (s *sourceRunner) statusOf(err error) {
	var (
		ae *wss.AuthError
		re *wss.RateLimitError
		se *wss.StatusError
		be *wssaccess.BusyError
		te *wssaccess.TokenExpiredError
		de *wssaccess.DateError
	)
	switch {
	case errors.As(err, &ae):
		s.stats.response(ae.Status)
	case errors.As(err, &re):
		s.stats.response(re.Status)
	case errors.As(err, &se):
		s.stats.response(se.Status)
	case errors.As(err, &be):
		s.stats.response(be.Status)
	case errors.As(err, &te):
		s.stats.response(http.StatusGone)
	case errors.As(err, &de):
		s.stats.response(http.StatusBadRequest)
	}
}

// fetchArchive runs one request and delivers its archive; more is the
// trailer's "more". On any error the queues are back at their marks.
func (s *sourceRunner) fetchArchive(ctx context.Context, now time.Time) (more bool, err error) {
	a := s.access
	req := wssaccess.Request{Start: a.st.TokenStart, Token: a.st.Token}
	resp, err := a.client.Fetch(ctx, req)
	if err != nil {
		return false, err
	}
	defer resp.Close()
	next := accessState{Token: resp.Token, TokenStart: a.st.TokenStart}
	if next.Token == wssaccess.NoToken {
		next.Token = ""
	}
	log := s.log.WithField("sync_status", string(resp.Status))
	ws := &windowState{seen: make(map[[32]byte]struct{})}
	var lines int64
	if resp.ZipSize > 0 {
		if lines, err = s.deliverArchive(ctx, ws, resp, now, log); err != nil {
			return false, s.rollbackAccess(err)
		}
	}
	if lines == 0 && next == a.st && len(ws.pending) == 0 {
		// The same token and no lines: nothing new, nothing to commit. A
		// "more" like that would only spin, so it counts as done.
		if resp.Status == wssaccess.StatusMore {
			log.Warn("the Sync API said more but sent no lines and the same token: polling again after poll_interval")
		}
		s.accessOK(ws)
		return false, nil
	}
	raw, _ := json.Marshal(next)
	ws.extra = map[string][]byte{accessKey: raw}
	ws.pollOK = true
	var cursor *time.Time
	if !ws.newest.IsZero() {
		c := ws.newest.UTC().Truncate(time.Hour)
		if !s.hasCursor || c.After(s.cursor) {
			cursor = &c
		}
	}
	if err := s.checkpoint(ws, cursor); err != nil {
		return false, s.rollbackAccess(err)
	}
	a.st = next
	s.stats.ArchiveBytes.Add(resp.ZipSize)
	if ws.newest.After(a.newest) {
		a.newest = ws.newest
	}
	if cursor != nil {
		s.cursor, s.hasCursor = *cursor, true
	}
	s.accessOK(ws)
	fields := logrus.Fields{"lines": lines, "archive_bytes": resp.ZipSize}
	if ws.deadLogged > maxDeadLogged {
		fields["dead_lettered"] = ws.deadLogged
		log.WithFields(fields).Warnf("%d lines of this archive were kept in the dead letter (the first %d logged one by one)", ws.deadLogged, maxDeadLogged)
	}
	log.WithFields(fields).Debug("Sync API archive committed")
	s.sweepAccess(log, now)
	return resp.Status == wssaccess.StatusMore, nil
}

func (s *sourceRunner) accessOK(ws *windowState) {
	s.stats.Windows.Add(1)
	s.stats.pollOK(time.Now(), ws.newest)
	s.stats.response(http.StatusOK)
}

// rollbackAccess cuts the queues back to their marks after a failed
// archive; the request is repeated (or restarted) with the committed token.
func (s *sourceRunner) rollbackAccess(err error) error {
	for _, sk := range s.sinks {
		if rerr := sk.q.Rollback(); rerr != nil {
			return &errFatal{fmt.Errorf("roll back queue after a failed archive: %w", rerr)}
		}
	}
	if s.det != nil {
		if rerr := s.det.rollback(); rerr != nil {
			return rerr
		}
	}
	return err
}

// deliverArchive queues every new line of the answer's archive.
func (s *sourceRunner) deliverArchive(ctx context.Context, ws *windowState, resp *wssaccess.Response, now time.Time, log *logrus.Entry) (int64, error) {
	a := s.access
	arc, err := wssaccess.OpenArchive(resp.Archive(), resp.ZipSize)
	if err != nil {
		return 0, err
	}
	// A gzip or ZIP checksum is known only at the end of its entry, and a
	// damaged entry may hand out lines first: none may be committed. Every
	// entry before the current one has been read to its end (Current), so
	// checkpoints wait for an entry boundary, and one that cannot wait (a
	// huge entry, back-pressure) checks the current entry to its end first.
	// This spares the archive a second decompression (about 2.5 us a line).
	verified, last := -1, -1
	ws.verify = func() error {
		if last > verified {
			if err := arc.VerifyEntry(last); err != nil {
				return err
			}
			verified = last
		}
		return nil
	}
	defer func() { ws.verify = nil }()
	due := func(factor int) bool {
		return len(ws.pending) >= factor*s.cfg.Checkpoint || ws.deadBytes >= maxHeldDeadBytes
	}
	dec := wssaccess.NewDecoder(arc)
	read := time.Now().UTC()
	// A line's hash is kept while a restart can bring it again, that is
	// until the cursor, less the restart reach, has passed the hour the
	// line arrived in. Lines come in the order they arrived, so a line
	// arrived no earlier than the newest line before it: its anchor is its
	// own time or, when earlier (a dead-lettered line has none, a late or
	// hostile one an old one), the newest line time before it, the
	// cursor's hour at least. The restart hour at delivery is not enough:
	// it lies the lookback before the cursor, so expiry forgot such a line
	// about an hour later while restarts from a later cursor still
	// replayed it (a dead letter kept twice).
	floor := s.restartHour(now).Unix()
	if s.hasCursor {
		floor = max(floor, s.cursor.Unix())
	}
	if !a.newest.IsZero() {
		floor = max(floor, a.newest.Unix())
	}
	limit := now.Add(accessFutureSlack)
	win := "sync " + a.st.TokenStart.Format(time.RFC3339)
	docBuf := make([]byte, 0, 4096)
	var lines int64
	for {
		if err := ctx.Err(); err != nil {
			return lines, err
		}
		rec, err := dec.Next()
		if err == io.EOF {
			return lines, nil
		}
		if cur := arc.Current(); cur > last {
			verified = max(verified, cur-1) // read to its end by Next
			if due(1) {
				// Only lines of finished entries are pending: commit them
				// before the first line of this one joins them.
				if err := s.checkpoint(ws, nil); err != nil {
					return lines, err
				}
			}
			last = cur
		}
		if err != nil {
			var le *wssaccess.LineError
			if !errors.As(err, &le) {
				return lines, err // damaged: the whole answer is repeated
			}
			lines++
			s.stats.Fetched.Add(1)
			if s.knownHash(ws, le.Hash) {
				continue
			}
			s.deadLine(ws, log, win, le, max(floor, ws.newest.Unix()), read)
			if due(maxEntryHold) {
				if err := s.checkpoint(ws, nil); err != nil {
					return lines, err
				}
			}
			continue
		}
		lines++
		s.stats.Fetched.Add(1)
		if s.knownHash(ws, rec.Hash) {
			continue
		}
		ev, buf, mapErr := a.mapper.MapTo(docBuf[:0], rec, read)
		if cap(buf) <= 1<<20 {
			docBuf = buf
		}
		if mapErr != nil {
			var le *wssaccess.LineError
			if !errors.As(mapErr, &le) {
				le = &wssaccess.LineError{Entry: rec.Entry, Num: rec.Num, Reason: mapErr.Error(), Raw: rec.Raw, Hash: rec.Hash, Size: len(rec.Raw)}
			}
			s.deadLine(ws, log, win, le, max(floor, ws.newest.Unix()), read)
			if due(maxEntryHold) {
				if err := s.checkpoint(ws, nil); err != nil {
					return lines, err
				}
			}
			continue
		}
		anchor := max(ev.Time.Unix(), floor, ws.newest.Unix())
		if err := s.enqueue(ctx, ws, ev, dedup.Entry{Hash: rec.Hash, Anchor: anchor}); err != nil {
			return lines, err
		}
		if ev.Time.After(ws.newest) && !ev.Time.After(limit) {
			ws.newest = ev.Time
		}
		s.stats.New.Add(1)
		if due(maxEntryHold) {
			if err := s.checkpoint(ws, nil); err != nil {
				return lines, err
			}
		}
	}
}

// knownHash reports (and counts) a line already queued.
func (s *sourceRunner) knownHash(ws *windowState, h [32]byte) bool {
	if _, dup := ws.seen[h]; dup || s.seen.Has(h) {
		s.stats.Duplicate.Add(1)
		return true
	}
	return false
}

// deadLine dead-letters a line that does not parse or has no usable time.
func (s *sourceRunner) deadLine(ws *windowState, log *logrus.Entry, win string, le *wssaccess.LineError, floor int64, now time.Time) {
	hash := event.Event{Hash: le.Hash}.HashHex()
	reason := fmt.Sprintf("%s (line %d of %s)", le.Reason, le.Num, le.Entry)
	var line []byte
	if le.Raw != nil {
		line = sourceDeadLine(s.cfg.Name, win, reason, hash, le.Raw, now)
	} else {
		line = skippedDeadLine(s.cfg.Name, win, hash, wss.SkippedRecord{Reason: reason, Size: int64(le.Size), Hash: le.Hash, Excerpt: le.Head}, now)
	}
	if ws.deadLogged++; ws.deadLogged > maxDeadLogged {
		log = nil // counted in the archive's summary line instead
	}
	s.keepDead(ws, log, le.Hash, reason, floor, line)
}

// maxEntryHold bounds, in checkpoint_records, what a checkpoint waiting
// for the end of an entry may hold (in memory: ~100 bytes a line); past it
// the entry is verified to its end and the checkpoint runs.
const maxEntryHold = 4

// maxDeadLogged is how many dead-lettered lines of one archive are logged
// one by one: at proxy volume a format change could bring millions.
const maxDeadLogged = 20

// sweepAccess forgets the hashes no restart can bring again: every
// SweepEvery, and also whenever the cutoff has moved a sweepStep since the
// last sweep. A catch-up moves the cursor by hours a minute; with the time
// throttle alone, every hash of a backlog would be held (and looked up in
// every run) until the next sweep. A step is an hour of lines, so the
// rewrites Expire does stay a small part of the work.
func (s *sourceRunner) sweepAccess(log *logrus.Entry, now time.Time) {
	if !s.hasCursor {
		return
	}
	cutoff := s.restartHour(now).Add(-(accessHorizon - restartLookback))
	if time.Since(s.lastSweep) < s.p.opts.SweepEvery && cutoff.Sub(s.access.sweptTo) < sweepStep {
		return
	}
	s.lastSweep = time.Now()
	s.access.sweptTo = cutoff
	change, err := s.seen.Expire(cutoff.Unix())
	if err != nil || change == nil {
		if err != nil {
			log.WithError(err).Warn("seen-set expiry failed; it is tried again later")
		}
		return
	}
	before := s.seen.Count()
	if err := s.p.commitSeen(state.Commit{Source: s.cfg.Name}, change); err != nil {
		log.WithError(err).Warn("seen-set expiry failed; it is tried again later")
		return
	}
	log.WithField("expired", before-s.seen.Count()).Debug("seen-set expired old hashes")
}
