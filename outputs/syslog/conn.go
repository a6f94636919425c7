package syslog

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"
)

// stream is one TCP or TLS connection to the collector.
type stream struct {
	conn  net.Conn
	raw   syscall.RawConn // the TCP socket, for tcpProbe; nil where unsupported
	plain bool            // no TLS: bytes written are the bytes on the wire
	done  chan struct{}   // closed when the connection has ended
	err   error           // why it ended; set before done is closed
	at    time.Time       // when it ended; set before done is closed
}

func dialStream(ctx context.Context, s *settings, tc *tls.Config) (*stream, error) {
	d := &net.Dialer{Timeout: s.timeout, KeepAlive: 30 * time.Second}
	var c net.Conn
	var err error
	if s.network == "tls" {
		c, err = (&tls.Dialer{NetDialer: d, Config: tc}).DialContext(ctx, "tcp", s.address)
	} else {
		c, err = d.DialContext(ctx, "tcp", s.address)
	}
	if err != nil {
		return nil, err
	}
	st := &stream{conn: c, plain: s.network != "tls", done: make(chan struct{})}
	tcp, _ := c.(*net.TCPConn)
	if tc, ok := c.(*tls.Conn); ok {
		tcp, _ = tc.NetConn().(*net.TCPConn)
	}
	if canConfirm && tcp != nil {
		st.raw, _ = tcp.SyscallConn()
	}
	go st.read()
	return st, nil
}

// read watches the connection. A syslog collector never sends anything (TLS
// may: session tickets, alerts, which tls.Conn handles), so the only news is
// its end: EOF when the collector closed, an error when it reset.
func (st *stream) read() {
	buf := make([]byte, 512)
	for {
		if _, err := st.conn.Read(buf); err != nil {
			st.err, st.at = err, time.Now()
			close(st.done)
			return
		}
	}
}

func (st *stream) ended() bool {
	select {
	case <-st.done:
		return true
	default:
		return false
	}
}

func (st *stream) close() { st.conn.Close() }

// errUnconfirmed says the collector did not acknowledge what was written.
var errUnconfirmed = errors.New("collector did not acknowledge the bytes written")

// confirm waits until the collector's TCP has acknowledged all written bytes
// of the batch, the connection still standing. It returns how many bytes are
// known to be acknowledged: written on success; on failure, for plain TCP the
// most it saw acknowledged while the connection stood, for TLS (whose record
// bytes do not map onto the batch) none.
func (st *stream) confirm(ctx context.Context, written int, deadline time.Time) (int, error) {
	if st.raw == nil {
		return written, nil
	}
	acked := 0
	wait := 20 * time.Microsecond
	done := st.done
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		q, open, err := tcpProbe(st.raw)
		if err != nil {
			return acked, fmt.Errorf("read acknowledgement: %w", err)
		}
		if !open {
			return acked, st.endError()
		}
		if q == 0 {
			return written, nil
		}
		if st.plain {
			acked = max(acked, written-q)
		}
		if !time.Now().Before(deadline) {
			return acked, fmt.Errorf("%w within write_timeout (%d bytes outstanding)", errUnconfirmed, q)
		}
		if timer == nil {
			timer = time.NewTimer(wait)
		} else {
			timer.Reset(wait)
		}
		select {
		case <-ctx.Done():
			return acked, ctx.Err()
		case <-done:
			// Probe once more: the kernel knows whether the end came
			// before or after the acknowledgement.
			done = nil
		case <-timer.C:
		}
		wait = min(wait*2, 2*time.Millisecond)
	}
}

func (st *stream) endError() error {
	select {
	case <-st.done:
		if errors.Is(st.err, net.ErrClosed) {
			return fmt.Errorf("%w: connection closed", errUnconfirmed)
		}
		return fmt.Errorf("%w: connection ended: %v", errUnconfirmed, st.err)
	default:
		return fmt.Errorf("%w: connection ended", errUnconfirmed)
	}
}
