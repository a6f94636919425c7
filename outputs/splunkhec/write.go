package splunkhec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
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

// hecEvent is one event object of the /event body.
type hecEvent struct {
	Time       json.Number       `json:"time,omitempty"`
	Host       string            `json:"host,omitempty"`
	Source     string            `json:"source,omitempty"`
	Sourcetype string            `json:"sourcetype,omitempty"`
	Index      string            `json:"index,omitempty"`
	Event      json.RawMessage   `json:"event"`
	Fields     map[string]string `json:"fields,omitempty"`
}

// epochMillis is t as epoch seconds with three decimals, as HEC wants it.
func epochMillis(t time.Time) json.Number {
	if t.IsZero() {
		return "" // HEC stamps it with the receive time
	}
	ms := t.UnixMilli()
	if ms < 0 {
		return json.Number(strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64))
	}
	return json.Number(fmt.Sprintf("%d.%03d", ms/1000, ms%1000))
}

// encode makes the HEC event object of e: one line with its newline.
func (o *Output) encode(e event.Event) ([]byte, error) {
	ev := hecEvent{
		Time:       epochMillis(e.Time),
		Host:       o.cfg.Host,
		Source:     o.cfg.Source,
		Sourcetype: o.cfg.Sourcetype,
		Index:      o.cfg.Index,
		Event:      json.RawMessage(e.Doc),
	}
	if !json.Valid(e.Doc) {
		return nil, errors.New("the event's document is not valid JSON")
	}
	if o.fields {
		var meta struct {
			Event struct {
				Action  any `json:"action"`
				Outcome any `json:"outcome"`
			} `json:"event"`
			Labels struct {
				Source any `json:"source"`
			} `json:"labels"`
		}
		_ = json.Unmarshal(e.Doc, &meta) // not an object: no fields but the hash
		ev.Fields = map[string]string{"event.hash": e.HashHex()}
		for k, v := range map[string]any{"event.action": meta.Event.Action, "event.outcome": meta.Event.Outcome, "labels.source": meta.Labels.Source} {
			if s, ok := v.(string); ok && s != "" {
				ev.Fields[k] = s
			}
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // the document goes as it is
	if err := enc.Encode(ev); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// delivery is the state of one Write.
type delivery struct {
	lines      [][]byte
	perm       map[int]error
	retry      []int
	retryErr   error
	retryAfter time.Duration
	stop       bool            // a retryable failure: send nothing more
	acks       map[int64][]int // ackId -> the items it covers
}

// fail marks idx for retry with err.
func (d *delivery) fail(idx []int, err error, after time.Duration) {
	d.retry = append(d.retry, idx...)
	if d.retryErr == nil {
		d.retryErr = err
	}
	d.retryAfter = max(d.retryAfter, after)
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

// Write sends batch to HEC and, with ack on, waits for the indexer to
// acknowledge it. See doc.go for how each answer is classified.
func (o *Output) Write(ctx context.Context, batch []event.Event) error {
	if len(batch) == 0 {
		return nil
	}
	d := &delivery{lines: make([][]byte, len(batch)), perm: map[int]error{}, acks: map[int64][]int{}}
	idx := make([]int, 0, len(batch))
	for i, e := range batch {
		line, err := o.encode(e)
		if err != nil {
			d.perm[i] = fmt.Errorf("splunk HEC: event %s: %w", e.HashHex(), err)
			continue
		}
		d.lines[i] = line
		idx = append(idx, i)
	}
	if len(idx) > 0 {
		o.send(ctx, d, idx)
	}
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

// send posts the items idx in one request and, on 400 or 413, halves
// them until the bad (or too large) events are alone.
func (o *Output) send(ctx context.Context, d *delivery, idx []int) {
	if d.stop {
		d.retry = append(d.retry, idx...)
		return
	}
	var body []byte
	for _, i := range idx {
		body = append(body, d.lines[i]...)
	}
	if o.cfg.Gzip {
		body = gzipped(body)
	}
	r, err := o.post(ctx, http.MethodPost, pathEvent, body, o.cfg.Gzip, true)
	if err != nil {
		d.fail(idx, err, 0)
		d.stop = true
		return
	}
	switch {
	case r.status == http.StatusOK:
		if !o.cfg.Ack {
			return
		}
		if r.reply.AckID == nil {
			// Splunk answers so when the token has acknowledgement off:
			// the events were indexed, but nothing can confirm it. Each
			// resend indexes them again, until ack or the token is fixed.
			d.fail(idx, fmt.Errorf("%w: the reply has no ackId (%s); the events were accepted unconfirmed and will be resent", ErrAckDisabled, r.describe()), 0)
			d.stop = true
			return
		}
		d.acks[*r.reply.AckID] = append(d.acks[*r.reply.AckID], idx...)
	case r.status == http.StatusBadRequest && r.code() == 14:
		d.fail(idx, fmt.Errorf("%w (%s)", ErrAckDisabled, r.describe()), 0)
		d.stop = true
	case r.status == http.StatusBadRequest && configCode(r.code()):
		d.fail(idx, fmt.Errorf("splunk HEC refused the request, not the events (%s): check index, channel and the token's settings; the batch stays queued", r.describe()), 0)
		d.stop = true
	case r.status == http.StatusBadRequest || r.status == http.StatusRequestEntityTooLarge:
		if len(idx) > 1 {
			h := len(idx) / 2
			o.send(ctx, d, idx[:h])
			o.send(ctx, d, idx[h:])
			return
		}
		what := "refused the event"
		if r.status == http.StatusRequestEntityTooLarge {
			what = "refused the event as too large (max_content_length)"
		}
		d.perm[idx[0]] = fmt.Errorf("splunk HEC %s (%s)", what, r.describe())
	case r.status == http.StatusUnauthorized || r.status == http.StatusForbidden:
		d.fail(idx, fmt.Errorf("%w (%s): check token/token_file and that the token is enabled; the batch stays queued", ErrToken, r.describe()), 0)
		d.stop = true
	case r.status == http.StatusTooManyRequests || r.status == http.StatusServiceUnavailable:
		d.fail(idx, fmt.Errorf("splunk HEC is busy (%s)", r.describe()), r.retryAfter)
		d.stop = true
	default:
		d.fail(idx, fmt.Errorf("splunk HEC answered %s", r.describe()), r.retryAfter)
		d.stop = true
	}
}

// waitAcks polls /ack until every ackId of d is acknowledged, or
// ack_timeout passes: the items of the ids still pending are then retried
// (and may be indexed twice, if the indexer was only slow).
func (o *Output) waitAcks(ctx context.Context, d *delivery) {
	deadline := time.Now().Add(time.Duration(o.cfg.AckTimeout))
	poll := time.Duration(o.cfg.AckPollInterval)
	var lastErr error
	failAll := func(err error) {
		for _, id := range sortedIDs(d.acks) {
			d.fail(d.acks[id], err, 0)
		}
		d.acks = nil
	}
	for len(d.acks) > 0 {
		timer := time.NewTimer(min(poll, max(0, time.Until(deadline))))
		select {
		case <-ctx.Done():
			timer.Stop()
			failAll(fmt.Errorf("splunk HEC: waiting for indexer acknowledgement: %w", ctx.Err()))
			return
		case <-timer.C:
		}
		ids := sortedIDs(d.acks)
		body, _ := json.Marshal(map[string][]int64{"acks": ids})
		r, err := o.post(ctx, http.MethodPost, pathAck, body, false, true)
		switch {
		case err != nil:
			lastErr = err
		case r.status == http.StatusOK:
			for _, id := range ids {
				if r.reply.Acks[strconv.FormatInt(id, 10)] {
					delete(d.acks, id)
				}
			}
		case r.status == http.StatusBadRequest && r.code() == 14:
			failAll(fmt.Errorf("%w (%s)", ErrAckDisabled, r.describe()))
			return
		case r.status == http.StatusBadRequest && (r.code() == 10 || r.code() == 11):
			failAll(fmt.Errorf("splunk HEC lost the acks of channel %s (%s): resending", o.Channel(), r.describe()))
			return
		case r.status == http.StatusUnauthorized || r.status == http.StatusForbidden:
			failAll(fmt.Errorf("%w on /ack (%s)", ErrToken, r.describe()))
			return
		default:
			lastErr = fmt.Errorf("/ack answered %s", r.describe())
		}
		if len(d.acks) > 0 && !time.Now().Before(deadline) {
			err := fmt.Errorf("%w within ack_timeout %s for %d request(s) on channel %s: resending (events may be indexed twice)",
				ErrAckTimeout, time.Duration(o.cfg.AckTimeout), len(d.acks), o.Channel())
			if lastErr != nil {
				err = fmt.Errorf("%w; last error: %v", err, lastErr)
			}
			failAll(err)
			return
		}
	}
}

func sortedIDs(m map[int64][]int) []int64 {
	ids := make([]int64, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(a, b int) bool { return ids[a] < ids[b] })
	return ids
}
