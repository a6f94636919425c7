package syslog

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/auditfwd/auditfwd/internal/event"
	"github.com/auditfwd/auditfwd/outputs"
)

// Output is the syslog output.
type Output struct {
	name string
	s    settings
	tc   *tls.Config

	mu     sync.Mutex // one Write, Check or Close at a time
	enc    *encoder
	stream *stream  // tcp, tls: nil until the first Write, and after a failure
	dialed bool     // a stream was opened before
	udp    net.Conn // udp
	buf    []byte   // the batch's framed messages
	msg    []byte   // one message, before framing
	ends   []int    // ends[i]: end of item i in buf
	perm   map[int]error
	wbuf   []byte // replay + buf

	sent       history // recently delivered, for replay
	replay     []byte  // to send first on the next connection
	replayMsgs int

	truncated  atomic.Int64
	oversize   atomic.Int64
	reconnects atomic.Int64
	replayed   atomic.Int64
}

// Stats are the output's own counters. Items refused for being oversize are
// also counted by the pipeline's dead letter.
type Stats struct {
	Truncated  int64 // messages cut to max_message_bytes (oversize: truncate)
	Oversize   int64 // messages refused: oversize: dead_letter, or a JSON payload that cannot be truncated
	Reconnects int64 // connections opened after the first
	Replayed   int64 // messages sent again after a connection ended (see replay.go)
}

// New builds the output. It does no network I/O: the connection is opened
// by the first Write. It reads tls.ca_file and the client certificate, so
// that a bad path fails at start.
func New(name string, cfg Config) (*Output, error) {
	s, err := resolve(cfg)
	if err != nil {
		return nil, err
	}
	o := &Output{name: name, s: s, enc: newEncoder(s)}
	if s.network == "tls" {
		if o.tc, err = cfg.TLS.Config(); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// Name is the configured output name.
func (o *Output) Name() string { return o.name }

// Stats returns the counters.
func (o *Output) Stats() Stats {
	return Stats{Truncated: o.truncated.Load(), Oversize: o.oversize.Load(),
		Reconnects: o.reconnects.Load(), Replayed: o.replayed.Load()}
}

// Write sends the batch, one message per event, in order.
//
// On tcp and tls it returns nil once the collector's TCP has acknowledged
// every byte (on Linux; elsewhere once written). On a failure, the items
// known to be acknowledged are delivered and the others are to be retried;
// the connection is dropped and the next Write dials again, and first sends
// again what was delivered shortly before (replay.go). On udp an item is
// delivered once the kernel has taken its datagram. An item over
// max_message_bytes with oversize: dead_letter, or whose JSON payload cannot
// be truncated to fit, is refused for good.
func (o *Output) Write(ctx context.Context, batch []event.Event) error {
	if len(batch) == 0 {
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.encode(batch)
	if o.s.network == "udp" {
		return o.writeUDP(ctx, len(batch))
	}
	return o.writeStream(ctx, len(batch))
}

// encode fills buf, ends and perm.
func (o *Output) encode(batch []event.Event) {
	o.buf, o.ends, o.perm = o.buf[:0], o.ends[:0], nil
	octets := o.s.network != "udp" && o.s.framing == "octet_counting"
	lf := o.s.network != "udp" && o.s.framing == "lf"
	for i := range batch {
		msg, truncated, err := o.enc.appendMessage(o.msg[:0], &batch[i])
		o.msg = msg
		switch {
		case err != nil:
			o.oversize.Add(1)
			if o.perm == nil {
				o.perm = map[int]error{}
			}
			o.perm[i] = outputs.Permanent(err)
			o.ends = append(o.ends, len(o.buf))
			continue
		case truncated:
			o.truncated.Add(1)
		}
		if lf {
			// The encoders never write a line break (the fuzz tests
			// hold them to it); this keeps a future slip from
			// splitting a message in two.
			for j := bytes.IndexByte(msg, '\n'); j >= 0; j = bytes.IndexByte(msg, '\n') {
				msg[j] = ' '
			}
		}
		if octets {
			o.buf = strconv.AppendInt(o.buf, int64(len(msg)), 10)
			o.buf = append(o.buf, ' ')
		}
		o.buf = append(o.buf, msg...)
		if lf {
			o.buf = append(o.buf, '\n')
		}
		o.ends = append(o.ends, len(o.buf))
	}
}

// deadline is now + write_timeout, or ctx's deadline if earlier.
func (o *Output) deadline(ctx context.Context) time.Time {
	d := time.Now().Add(o.s.timeout)
	if cd, ok := ctx.Deadline(); ok && cd.Before(d) {
		return cd
	}
	return d
}

func (o *Output) writeStream(ctx context.Context, n int) error {
	if len(o.buf) == 0 {
		return o.result(n, func(int) bool { return false }, nil)
	}
	if o.stream != nil && o.stream.ended() {
		o.dropStream(o.stream.at)
	}
	if o.stream == nil {
		st, err := dialStream(ctx, &o.s, o.tc)
		if err != nil {
			return o.result(n, func(int) bool { return false }, fmt.Errorf("connect: %w", err))
		}
		if o.dialed {
			o.reconnects.Add(1)
		}
		o.dialed = true
		o.stream = st
	}
	st := o.stream
	out, pre := o.buf, len(o.replay)
	if pre > 0 {
		o.wbuf = append(append(o.wbuf[:0], o.replay...), o.buf...)
		out = o.wbuf
	}
	deadline := o.deadline(ctx)
	st.conn.SetWriteDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { st.conn.SetWriteDeadline(time.Unix(1, 0)) })
	written, err := st.conn.Write(out)
	stop()
	acked := 0
	if err == nil {
		acked, err = st.confirm(ctx, written, deadline)
	} else if st.plain && st.raw != nil {
		// What the collector acknowledged before the write failed.
		if q, open, perr := tcpProbe(st.raw); perr == nil && open {
			acked = max(written-q, 0)
		}
	}
	now := time.Now()
	if err != nil {
		// Items wholly acknowledged are delivered; the rest are retried.
		k := 0
		for k < n && o.ends[k]+pre <= acked {
			k++
		}
		if acked >= pre {
			o.replayDone(now)
			if k > 0 {
				o.sent.add(now, o.buf[:o.ends[k-1]], k-o.refusedBefore(k))
			}
		}
		o.dropStream(now)
		return o.result(n, func(i int) bool { return i < k }, err)
	}
	o.replayDone(now)
	o.sent.add(now, o.buf, n-len(o.perm))
	return o.result(n, func(int) bool { return true }, nil)
}

// refusedBefore counts the refused items among the first k.
func (o *Output) refusedBefore(k int) int {
	n := 0
	for i := range o.perm {
		if i < k {
			n++
		}
	}
	return n
}

// dropStream closes a connection that ended (or failed) at end, and queues
// what it delivered shortly before for replay on the next one.
func (o *Output) dropStream(end time.Time) {
	o.stream.close()
	o.stream = nil
	data, msgs := o.sent.take(end)
	o.replay = append(o.replay, data...)
	o.replayMsgs += msgs
}

// replayDone records that the replay went out and was acknowledged at at.
// Delivered again, it is as much at risk as anything else just delivered,
// so it goes back into the history.
func (o *Output) replayDone(at time.Time) {
	if len(o.replay) > 0 {
		o.replayed.Add(int64(o.replayMsgs))
		o.sent.add(at, o.replay, o.replayMsgs)
	}
	o.replay, o.replayMsgs = o.replay[:0], 0
}

func (o *Output) writeUDP(ctx context.Context, n int) error {
	if len(o.buf) == 0 {
		return o.result(n, func(int) bool { return false }, nil)
	}
	if o.udp == nil {
		c, err := (&net.Dialer{Timeout: o.s.timeout}).DialContext(ctx, "udp", o.s.address)
		if err != nil {
			return o.result(n, func(int) bool { return false }, fmt.Errorf("connect: %w", err))
		}
		o.udp = c
	}
	o.udp.SetWriteDeadline(o.deadline(ctx))
	start := 0
	for i := 0; i < n; i++ {
		end := o.ends[i]
		if end == start {
			continue // refused
		}
		if _, err := o.udp.Write(o.buf[start:end]); err != nil {
			// ECONNREFUSED here reports an ICMP port unreachable for an
			// earlier datagram: the collector is down. Nothing tells
			// which datagrams before it were lost (see the package doc).
			o.udp.Close()
			o.udp = nil
			failed := i
			return o.result(n, func(j int) bool { return j < failed }, err)
		}
		start = end
		if ctx.Err() != nil && i+1 < n {
			failed := i + 1
			return o.result(n, func(j int) bool { return j < failed }, ctx.Err())
		}
	}
	return o.result(n, func(int) bool { return true }, nil)
}

// result builds Write's error: nil when every item was delivered; the cause
// alone when none was and none was refused (the pipeline retries the whole
// batch); else a BatchError.
func (o *Output) result(n int, delivered func(i int) bool, cause error) error {
	var retry []int
	for i := 0; i < n; i++ {
		if o.perm[i] == nil && !delivered(i) {
			retry = append(retry, i)
		}
	}
	if len(retry) == 0 && len(o.perm) == 0 {
		return nil
	}
	if cause != nil {
		cause = fmt.Errorf("syslog %s %s: %w", o.s.network, o.s.address, cause)
	}
	if len(o.perm) == 0 && len(retry) == n {
		return cause
	}
	if cause == nil {
		cause = fmt.Errorf("%d messages over max_message_bytes %d", len(o.perm), o.s.max)
	}
	return &outputs.BatchError{Retry: retry, Permanent: o.perm, Err: cause}
}

// Check dials the collector and, on tls, completes the handshake (so the
// certificate is verified), then closes without sending anything. On udp it
// can only resolve the address: nothing answers a datagram.
func (o *Output) Check(ctx context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.s.network == "udp" {
		c, err := (&net.Dialer{Timeout: o.s.timeout}).DialContext(ctx, "udp", o.s.address)
		if err != nil {
			return fmt.Errorf("syslog udp %s: %w", o.s.address, err)
		}
		return c.Close()
	}
	st, err := dialStream(ctx, &o.s, o.tc)
	if err != nil {
		return fmt.Errorf("syslog %s %s: %w", o.s.network, o.s.address, err)
	}
	st.close()
	return nil
}

// Close closes the connection.
func (o *Output) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	var err error
	if o.stream != nil {
		err = o.stream.conn.Close()
		o.stream = nil
	}
	if o.udp != nil {
		err = errors.Join(err, o.udp.Close())
		o.udp = nil
	}
	return err
}

var (
	_ outputs.Output  = (*Output)(nil)
	_ outputs.Checker = (*Output)(nil)
)

// CopiesDocuments makes the output an outputs.Copier: Write encodes the batch into its own buffer; the replay history keeps those copies.
func (*Output) CopiesDocuments() {}
