package splunkhec

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
)

// request is the events of one POST: their indexes in the batch and their
// encoded lines end to end in buf, line k at buf[offs[k]:offs[k+1]].
// Halves share buf, so a split copies nothing.
type request struct {
	idx  []int
	buf  []byte
	offs []int
}

// add appends item i's line, which appendLine writes at the end of the
// buffer (no line is built apart and copied).
func (r *request) add(i int, appendLine func(dst []byte) ([]byte, error)) error {
	buf, err := appendLine(r.buf)
	if err != nil {
		return err
	}
	if len(r.offs) == 0 {
		r.offs = append(r.offs, 0)
	}
	r.buf = buf
	r.idx = append(r.idx, i)
	r.offs = append(r.offs, len(r.buf))
	return nil
}

// pop takes the last line off into a request of its own.
func (r *request) pop() *request {
	n := len(r.idx)
	from := r.offs[n-1]
	last := &request{idx: []int{r.idx[n-1]}, buf: bytes.Clone(r.buf[from:]), offs: []int{0, len(r.buf) - from}}
	r.idx, r.buf, r.offs = r.idx[:n-1], r.buf[:from], r.offs[:n]
	return last
}

func (r *request) len() int  { return len(r.idx) }
func (r *request) size() int { return len(r.buf) }

// body is the request's lines, uncompressed.
func (r *request) body() []byte { return r.buf[r.offs[0]:r.offs[len(r.idx)]] }

// half splits the request in two.
func (r *request) half() (*request, *request) {
	h := len(r.idx) / 2
	return &request{idx: r.idx[:h], buf: r.buf, offs: r.offs[:h+1]},
		&request{idx: r.idx[h:], buf: r.buf, offs: r.offs[h:]}
}

// send posts req and, on 400 or 413, halves it until the bad (or too
// large) events are alone. It runs beside the batch's other requests.
func (o *Output) send(ctx context.Context, d *delivery, req *request) {
	if d.stopped() {
		d.fail(req.idx, nil, 0, false)
		return
	}
	body := req.body()
	if o.cfg.Gzip {
		body = gzipped(body)
	}
	r, err := o.post(ctx, http.MethodPost, pathEvent, body, o.cfg.Gzip, true)
	if err != nil {
		d.fail(req.idx, err, 0, true)
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
			d.fail(req.idx, fmt.Errorf("%w: the reply has no ackId (%s); the events were accepted unconfirmed and will be resent", ErrAckDisabled, r.describe()), 0, true)
			return
		}
		d.awaitAck(*r.reply.AckID, req.idx)
	case r.status == http.StatusBadRequest && r.code() == 14:
		d.fail(req.idx, fmt.Errorf("%w (%s)", ErrAckDisabled, r.describe()), 0, true)
	case r.status == http.StatusBadRequest && configCode(r.code()):
		d.fail(req.idx, fmt.Errorf("splunk HEC refused the request, not the events (%s): check index, channel and the token's settings; the batch stays queued", r.describe()), 0, true)
	case r.status == http.StatusBadRequest || r.status == http.StatusRequestEntityTooLarge:
		if req.len() > 1 {
			a, b := req.half()
			o.send(ctx, d, a)
			o.send(ctx, d, b)
			return
		}
		what := "refused the event"
		if r.status == http.StatusRequestEntityTooLarge {
			what = "refused the event as too large (max_content_length)"
		}
		d.refuse(req.idx[0], fmt.Errorf("splunk HEC %s (%s)", what, r.describe()))
	case r.status == http.StatusUnauthorized || r.status == http.StatusForbidden:
		d.fail(req.idx, fmt.Errorf("%w (%s): check token/token_file and that the token is enabled; the batch stays queued", ErrToken, r.describe()), 0, true)
	case r.status == http.StatusTooManyRequests || r.status == http.StatusServiceUnavailable:
		d.fail(req.idx, fmt.Errorf("splunk HEC is busy (%s)", r.describe()), r.retryAfter, true)
	default:
		d.fail(req.idx, fmt.Errorf("splunk HEC answered %s", r.describe()), r.retryAfter, true)
	}
}
