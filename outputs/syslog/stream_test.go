package syslog

// Transport behaviour against an in-process TCP or UDP peer that the test
// controls (stops reading, closes, refuses): what rsyslog cannot be made to
// do on cue. The peer tests against rsyslog are in rsyslog_*_test.go.

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditfwd/auditfwd/internal/event"
	"github.com/auditfwd/auditfwd/outputs"
)

// fakePeer accepts TCP connections and keeps what each one sent.
type fakePeer struct {
	ln      net.Listener
	mu      sync.Mutex
	conns   []net.Conn
	data    []*strings.Builder
	read    bool // read what is sent (else leave it in the socket)
	arrived chan struct{}
}

func newFakePeer(t *testing.T, read bool) *fakePeer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &fakePeer{ln: ln, read: read, arrived: make(chan struct{}, 1000)}
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
	})
	return p
}

func (p *fakePeer) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		b := &strings.Builder{}
		p.conns, p.data = append(p.conns, c), append(p.data, b)
		read := p.read
		p.mu.Unlock()
		if read {
			go func() {
				buf := make([]byte, 64<<10)
				for {
					n, err := c.Read(buf)
					p.mu.Lock()
					b.Write(buf[:n])
					p.mu.Unlock()
					if n > 0 {
						select {
						case p.arrived <- struct{}{}:
						default:
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}
}

func (p *fakePeer) addr() string { return p.ln.Addr().String() }

func (p *fakePeer) connCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// received returns what connection i sent, once it holds at least n bytes.
func (p *fakePeer) received(t *testing.T, i, n int) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		p.mu.Lock()
		var s string
		if i < len(p.data) {
			s = p.data[i].String()
		}
		p.mu.Unlock()
		if len(s) >= n {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("connection %d: %d of %d bytes", i, len(s), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// octetFrames splits an octet-counted stream.
func octetFrames(t *testing.T, s string) []string {
	t.Helper()
	var out []string
	for s != "" {
		l, rest, ok := strings.Cut(s, " ")
		n, err := strconv.Atoi(l)
		if !ok || err != nil || n > len(rest) {
			t.Fatalf("bad frame at %q", s[:min(len(s), 40)])
		}
		out = append(out, rest[:n])
		s = rest[n:]
	}
	return out
}

func encodeAll(t *testing.T, o *Output, evs []event.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, encodeOne(t, o, e))
	}
	return out
}

func totalLen(frames []string, framing string) int {
	n := 0
	for _, f := range frames {
		if framing == "lf" {
			n += len(f) + 1
		} else {
			n += len(strconv.Itoa(len(f))) + 1 + len(f)
		}
	}
	return n
}

func TestNewDoesNoIO(t *testing.T) {
	p := newFakePeer(t, true)
	o := mustNew(t, Config{Address: p.addr()})
	defer o.Close()
	time.Sleep(50 * time.Millisecond)
	if n := p.connCount(); n != 0 {
		t.Fatalf("New opened %d connections", n)
	}
	if err := o.Write(context.Background(), simEvents(t, 3, 0, 1)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); p.connCount() == 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond) // the Write was acknowledged: the accept is on its way
	}
	if n := p.connCount(); n != 1 {
		t.Fatalf("%d connections after a Write, want 1", n)
	}
	// New with a collector that does not exist succeeds too.
	if _, err := New("x", Config{Address: "127.0.0.1:1"}); err != nil {
		t.Fatal(err)
	}
}

func TestFraming(t *testing.T) {
	evs := append(simEvents(t, 40, 0.5, 5), hostileEvents()...)
	for _, framing := range []string{"octet_counting", "lf"} {
		t.Run(framing, func(t *testing.T) {
			p := newFakePeer(t, true)
			o := mustNew(t, Config{Address: p.addr(), Framing: framing, Payload: "cef"})
			defer o.Close()
			if err := o.Write(context.Background(), evs); err != nil {
				t.Fatal(err)
			}
			want := encodeAll(t, o, evs)
			got := p.received(t, 0, totalLen(want, framing))
			var frames []string
			if framing == "lf" {
				frames = strings.Split(strings.TrimSuffix(got, "\n"), "\n")
			} else {
				frames = octetFrames(t, got)
			}
			if len(frames) != len(want) {
				t.Fatalf("%d frames, want %d", len(frames), len(want))
			}
			for i := range want {
				if frames[i] != want[i] {
					t.Errorf("frame %d:\n got %q\nwant %q", i, frames[i], want[i])
				}
			}
		})
	}
}

// TestWriteTimeout: a collector that stops reading. The batch fails within
// write_timeout as retryable; what its TCP acknowledged counts as delivered
// and is replayed on the next connection, the rest is handed back.
func TestWriteTimeout(t *testing.T) {
	stuck := newFakePeer(t, false)
	o := mustNew(t, Config{Address: stuck.addr(), WriteTimeout: 300 * time.Millisecond, MaxMessageBytes: 65536})
	defer o.Close()
	big := bigEvents(t, 300, 60000) // ~18 MB: more than the socket buffers hold
	encoding := timeEncoding(o, big)
	start := time.Now()
	err := o.Write(context.Background(), big)
	if took := time.Since(start) - encoding; took > 30*time.Second {
		t.Errorf("Write took %s beyond encoding with write_timeout 300ms", took)
	}
	if err == nil || outputs.IsPermanent(err) {
		t.Fatalf("Write to a stuck collector: %v", err)
	}
	delivered := len(big)
	var be *outputs.BatchError
	if errors.As(err, &be) {
		delivered -= len(be.Retry)
		for k, i := range be.Retry {
			if i != delivered+k {
				t.Fatalf("Retry %v is not the tail of the batch", be.Retry)
			}
		}
	} else {
		delivered = 0
	}
	t.Logf("stuck collector: %d of %d delivered (acknowledged by its TCP): %v", delivered, len(big), err)
	if errors.As(err, &be) && len(be.Retry) == 0 {
		t.Fatal("nothing handed back although the collector read nothing")
	}
}

// timeEncoding is how long Write spends encoding evs before any I/O (long
// under the race detector), so that timing checks measure the I/O alone.
func timeEncoding(o *Output, evs []event.Event) time.Duration {
	start := time.Now()
	o.mu.Lock()
	o.encode(evs)
	o.mu.Unlock()
	return time.Since(start)
}

func bigEvents(t *testing.T, n, size int) []event.Event {
	evs := make([]event.Event, n)
	for i := range evs {
		doc := `{"message":"` + strings.Repeat("x", size) + `","event":{"action":"a` + strconv.Itoa(i) + `"}}`
		evs[i] = event.Event{Time: fuzzTime, Doc: []byte(doc)}
		evs[i].Hash[0], evs[i].Hash[1] = byte(i), byte(i>>8)
	}
	return evs
}

// TestReplayAfterCollectorClose: the collector closes the connection after
// taking a batch. The next Write reconnects and sends that batch again
// before the new one (it may have been lost unread), then the new batch.
func TestReplayAfterCollectorClose(t *testing.T) {
	p := newFakePeer(t, true)
	o := mustNew(t, Config{Address: p.addr(), Framing: "lf"})
	defer o.Close()
	evs := simEvents(t, 20, 0, 9)
	first, second := evs[:8], evs[8:]
	if err := o.Write(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	wantFirst := encodeAll(t, o, first)
	p.received(t, 0, totalLen(wantFirst, "lf"))
	p.mu.Lock()
	p.conns[0].Close()
	p.mu.Unlock()
	// Wait for the output's reader to see the end.
	deadline := time.Now().Add(5 * time.Second)
	for !o.stream.ended() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := o.Write(context.Background(), second); err != nil {
		t.Fatal(err)
	}
	want := append(wantFirst, encodeAll(t, o, second)...)
	got := strings.Split(strings.TrimSuffix(p.received(t, 1, totalLen(want, "lf")), "\n"), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("second connection got %d messages, want the %d replayed then the %d new", len(got), len(first), len(second))
	}
	if st := o.Stats(); st.Replayed != int64(len(first)) || st.Reconnects != 1 {
		t.Errorf("stats %+v", st)
	}
	// Nothing older than replayAge is replayed.
	o.mu.Lock()
	for i := range o.sent.runs {
		o.sent.runs[i].at = o.sent.runs[i].at.Add(-2 * replayAge)
	}
	o.mu.Unlock()
	p.mu.Lock()
	p.conns[1].Close()
	p.mu.Unlock()
	for !o.stream.ended() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := o.Write(context.Background(), first[:1]); err != nil {
		t.Fatal(err)
	}
	if got := p.received(t, 2, 1); got != want[0]+"\n" {
		t.Errorf("third connection got %q, want only the new message", got)
	}
}

func TestHistoryBounds(t *testing.T) {
	var h history
	now := time.Now()
	chunk := make([]byte, replayMaxBytes/4)
	for i := 0; i < 10; i++ {
		h.add(now, chunk, 1)
	}
	if h.bytes > replayMaxBytes {
		t.Errorf("history holds %d bytes", h.bytes)
	}
	h.add(now.Add(2*replayAge), chunk[:10], 1)
	if data, msgs := h.take(now.Add(2 * replayAge)); len(data) != 10 || msgs != 1 {
		t.Errorf("take: %d bytes, %d messages; want only the recent run", len(data), msgs)
	}
	huge := make([]byte, 3*replayMaxBytes)
	h.add(now, huge, 100)
	if data, _ := h.take(now); len(data) != len(huge) {
		t.Error("the newest run is kept whatever its size")
	}
}

func TestOversizeDeadLetterInBatch(t *testing.T) {
	p := newFakePeer(t, true)
	o := mustNew(t, Config{Address: p.addr(), MaxMessageBytes: 2048, Oversize: "dead_letter", Framing: "lf"})
	defer o.Close()
	evs := append(simEvents(t, 2, 0, 1), bigEvents(t, 1, 5000)...)
	evs = append(evs, simEvents(t, 2, 0, 2)...) // small, huge, small, small
	evs[0], evs[2] = evs[2], evs[0]
	err := o.Write(context.Background(), evs)
	var be *outputs.BatchError
	if !errors.As(err, &be) || len(be.Retry) != 0 || len(be.Permanent) != 1 || be.Permanent[0] == nil ||
		!outputs.IsPermanent(be.Permanent[0]) {
		t.Fatalf("Write: %#v", err)
	}
	var want []string
	for _, e := range evs[1:] {
		want = append(want, encodeOne(t, o, e))
	}
	if got := p.received(t, 0, totalLen(want, "lf")); got != strings.Join(want, "\n")+"\n" {
		t.Errorf("collector got %q", got)
	}
	if o.Stats().Oversize != 1 {
		t.Errorf("stats %+v", o.Stats())
	}
}

func TestContextCancel(t *testing.T) {
	stuck := newFakePeer(t, false)
	o := mustNew(t, Config{Address: stuck.addr(), MaxMessageBytes: 65536})
	defer o.Close()
	big := bigEvents(t, 300, 60000)
	encoding := timeEncoding(o, big)
	ctx, cancel := context.WithTimeout(context.Background(), encoding+200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := o.Write(ctx, big)
	if took := time.Since(start) - encoding; took > 30*time.Second {
		t.Errorf("Write took %s beyond encoding after its context ended at 200ms", took)
	}
	if err == nil || outputs.IsPermanent(err) {
		t.Errorf("Write: %v", err)
	}
}

func TestConnectRefused(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	o := mustNew(t, Config{Address: addr})
	err := o.Write(context.Background(), simEvents(t, 3, 0, 1))
	var be *outputs.BatchError
	if err == nil || outputs.IsPermanent(err) || errors.As(err, &be) || !strings.Contains(err.Error(), "refused") {
		t.Errorf("Write to a closed port: %v, want a plain retryable error", err)
	}
}

// TestUDP: one datagram per message; a collector that is down shows as
// ECONNREFUSED (ICMP port unreachable) on a later write, which fails the
// items not yet sent as retryable.
func TestUDP(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := mustNew(t, Config{Address: pc.LocalAddr().String(), Network: "udp", Payload: "leef"})
	defer o.Close()
	evs := simEvents(t, 5, 0.5, 3)
	if err := o.Write(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65536)
	for i, want := range encodeAll(t, o, evs) {
		pc.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		if string(buf[:n]) != want {
			t.Errorf("datagram %d: %q, want %q", i, buf[:n], want)
		}
	}
	pc.Close()
	var werr error
	for i := 0; i < 20 && werr == nil; i++ {
		werr = o.Write(context.Background(), evs)
		time.Sleep(10 * time.Millisecond)
	}
	if werr == nil || outputs.IsPermanent(werr) || !strings.Contains(werr.Error(), "refused") {
		t.Errorf("Write to a closed UDP port: %v", werr)
	}
}

// TestTLSHandshakeFailure: a TLS collector whose certificate does not
// verify is a retryable connect error (it may be fixed on the collector),
// and nothing is written.
func TestTLSHandshakeFailure(t *testing.T) {
	p := newFakePeer(t, true) // speaks no TLS at all
	o := mustNew(t, Config{Address: p.addr(), Network: "tls", WriteTimeout: time.Second})
	err := o.Write(context.Background(), simEvents(t, 1, 0, 1))
	if err == nil || outputs.IsPermanent(err) {
		t.Errorf("Write: %v", err)
	}
	if got := p.received(t, 0, 0); strings.Contains(got, "auditfwd") {
		t.Errorf("a message went out before the handshake: %q", got)
	}
}
