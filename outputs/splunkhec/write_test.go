package splunkhec

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditfwd/auditfwd/outputs"
)

var start = time.Date(2026, 11, 24, 10, 0, 0, 123_000_000, time.UTC)

func TestWriteBody(t *testing.T) {
	for _, gz := range []bool{false, true} {
		t.Run(fmt.Sprintf("gzip=%t", gz), func(t *testing.T) {
			f := newFakeHEC(t, false)
			o := newOutput(t, Config{URL: f.srv.URL + "/", Token: goodToken, Index: "wss", Host: "fwd-1", Gzip: gz})
			evs := makeEvents(t, 10, start, 1500*time.Millisecond)
			if err := o.Write(context.Background(), evs); err != nil {
				t.Fatal(err)
			}
			calls := f.calls()
			if len(calls) != 1 {
				t.Fatalf("%d requests, want 1", len(calls))
			}
			c := calls[0]
			if got := c.header.Get("Authorization"); got != "Splunk "+goodToken {
				t.Errorf("Authorization %q", got)
			}
			if got := c.header.Get("Content-Encoding"); (got == "gzip") != gz {
				t.Errorf("Content-Encoding %q with gzip=%t", got, gz)
			}
			if got := c.header.Get("X-Splunk-Request-Channel"); got != "" {
				t.Errorf("channel %q sent without ack", got)
			}
			if n := bytes.Count(c.body, []byte("\n")); n != 10 {
				t.Errorf("%d newlines in the body, want 10 (one per event)", n)
			}
			if len(c.lines) != 10 {
				t.Fatalf("%d events in the body, want 10", len(c.lines))
			}
			for i, line := range c.lines {
				e := evs[i]
				want := fmt.Sprintf("%d.%03d", e.Time.Unix(), e.Time.Nanosecond()/1e6)
				if got := string(line["time"]); got != want {
					t.Errorf("event %d: time %s, want %s", i, got, want)
				}
				if !bytes.Equal(line["event"], e.Doc) {
					t.Errorf("event %d: event is not the ECS document as it is:\n got %s\nwant %s", i, line["event"], e.Doc)
				}
				for k, v := range map[string]string{"host": "fwd-1", "source": "auditfwd", "sourcetype": "symantec:wss:audit", "index": "wss"} {
					var s string
					json.Unmarshal(line[k], &s)
					if s != v {
						t.Errorf("event %d: %s = %q, want %q", i, k, s, v)
					}
				}
				var fields map[string]string
				if err := json.Unmarshal(line["fields"], &fields); err != nil {
					t.Fatalf("event %d: fields %s: %v", i, line["fields"], err)
				}
				var doc struct {
					Event struct{ Action, Outcome string }
				}
				json.Unmarshal(e.Doc, &doc)
				want2 := map[string]string{"event.hash": e.HashHex(), "event.action": doc.Event.Action, "event.outcome": doc.Event.Outcome, "labels.source": "tenant-a"}
				for k, v := range want2 {
					if v == "" || fields[k] != v {
						t.Errorf("event %d: fields[%s] = %q, want %q", i, k, fields[k], v)
					}
				}
			}
		})
	}
}

func TestWriteNoFields(t *testing.T) {
	f := newFakeHEC(t, false)
	no := false
	o := newOutput(t, Config{URL: f.srv.URL, Token: goodToken, Fields: &no})
	if err := o.Write(context.Background(), makeEvents(t, 2, start, time.Second)); err != nil {
		t.Fatal(err)
	}
	for _, l := range f.calls()[0].lines {
		if _, ok := l["fields"]; ok {
			t.Errorf("fields sent with fields: false")
		}
		if _, ok := l["index"]; ok {
			t.Errorf("index sent though not configured")
		}
	}
}

func TestTokenErrors(t *testing.T) {
	for _, tc := range []struct {
		token  string
		status string
	}{
		{"no-such-token-xyz", "HTTP 403, code 4: Invalid token"},
		{"disabled-token", "HTTP 403, code 1: Token disabled"},
		{"two words", "HTTP 401, code 3: Invalid authorization"},
	} {
		t.Run(tc.token, func(t *testing.T) {
			f := newFakeHEC(t, false)
			o := newOutput(t, Config{URL: f.srv.URL, Token: outputs.Secret(tc.token)})
			err := o.Write(context.Background(), makeEvents(t, 3, start, time.Second))
			wholeBatchRetry(t, err)
			if !errors.Is(err, ErrToken) {
				t.Errorf("not ErrToken: %v", err)
			}
			if !strings.Contains(err.Error(), tc.status) {
				t.Errorf("error %q does not name %q", err, tc.status)
			}
			if strings.Contains(err.Error(), tc.token) {
				t.Errorf("the token leaks into the error: %v", err)
			}
			if len(f.storedEvents()) != 0 {
				t.Error("events stored with a refused token")
			}
			cerr := o.Check(context.Background())
			if !errors.Is(cerr, ErrToken) || strings.Contains(cerr.Error(), tc.token) {
				t.Errorf("Check: %v", cerr)
			}
		})
	}
}

// One bad event in ten: the nine others are indexed, the bad one alone is
// refused for good.
func TestBadEventIsolated(t *testing.T) {
	f := newFakeHEC(t, false)
	o := newOutput(t, Config{URL: f.srv.URL, Token: goodToken})
	evs := makeEvents(t, 10, start, time.Second)
	f.badHashes = map[string]bool{evs[7].HashHex(): true}
	err := o.Write(context.Background(), evs)
	be := asBatchError(t, err)
	if len(be.Retry) != 0 || len(be.Permanent) != 1 || be.Permanent[7] == nil {
		t.Fatalf("retry %v, permanent %v; want only 7 permanent", be.Retry, be.Permanent)
	}
	if !strings.Contains(be.Permanent[7].Error(), "code 6: Invalid data format") {
		t.Errorf("permanent error %v", be.Permanent[7])
	}
	got := map[string]bool{}
	for _, s := range f.storedEvents() {
		got[s["fields"].(map[string]any)["event.hash"].(string)] = true
	}
	if len(got) != 9 || len(f.storedEvents()) != 9 {
		t.Fatalf("%d events stored (%d distinct), want 9", len(f.storedEvents()), len(got))
	}
	for i, e := range evs {
		if got[e.HashHex()] != (i != 7) {
			t.Errorf("event %d stored: %t", i, got[e.HashHex()])
		}
	}
	if n := len(f.calls()); n > 10 {
		t.Errorf("%d requests to isolate one event in 10", n)
	}

	// A single bad event is refused for good as a whole batch.
	err = o.Write(context.Background(), evs[7:8])
	if !outputs.IsPermanent(err) {
		t.Errorf("single bad event: want Permanent, got %v", err)
	}
}

func TestTooLargeSplit(t *testing.T) {
	f := newFakeHEC(t, false)
	o := newOutput(t, Config{URL: f.srv.URL, Token: goodToken, Gzip: true})
	evs := makeEvents(t, 10, start, time.Second)
	line, _ := o.encode(evs[0])
	f.maxBody = 3*len(line) + 100
	if err := o.Write(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	if n := len(f.storedEvents()); n != 10 {
		t.Fatalf("%d stored, want 10", n)
	}
	if n := len(f.calls()); n < 4 {
		t.Errorf("%d requests: no split?", n)
	}
	f.maxBody = 10
	err := o.Write(context.Background(), evs[:1])
	if !outputs.IsPermanent(err) || !strings.Contains(err.Error(), "too large") {
		t.Errorf("one event over the limit: want Permanent, got %v", err)
	}
	err = o.Write(context.Background(), evs[:2])
	if be := asBatchError(t, err); len(be.Permanent) != 2 {
		t.Errorf("two events over the limit: %v", be)
	}
}

func TestBusy(t *testing.T) {
	f := newFakeHEC(t, false)
	o := newOutput(t, Config{URL: f.srv.URL, Token: goodToken})
	evs := makeEvents(t, 4, start, time.Second)

	f.busy = func(int) (int, string) { return 503, "7" }
	err := o.Write(context.Background(), evs)
	var ra *outputs.RetryAfterError
	if !errors.As(err, &ra) || ra.After != 7*time.Second || !strings.Contains(err.Error(), "code 9: Server is busy") {
		t.Fatalf("503: want RetryAfterError 7s, got %T %v", err, err)
	}
	f.busy = func(int) (int, string) { return 429, "3" }
	err = o.Write(context.Background(), evs)
	if !errors.As(err, &ra) || ra.After != 3*time.Second {
		t.Fatalf("429: want RetryAfterError 3s, got %v", err)
	}
	f.busy = func(int) (int, string) { return 429, "" }
	err = o.Write(context.Background(), evs)
	wholeBatchRetry(t, err)
	if errors.As(err, &ra) {
		t.Errorf("429 without Retry-After: %v", err)
	}
	f.busy = func(int) (int, string) { return 500, "" }
	wholeBatchRetry(t, o.Write(context.Background(), evs))
	if len(f.storedEvents()) != 0 {
		t.Fatal("stored while busy")
	}
	f.busy = nil
	if err := o.Write(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
}

// A split that meets a busy server: the delivered half stays delivered,
// the rest is retried with the server's Retry-After.
func TestSplitThenBusy(t *testing.T) {
	f := newFakeHEC(t, false)
	o := newOutput(t, Config{URL: f.srv.URL, Token: goodToken})
	evs := makeEvents(t, 8, start, time.Second)
	f.badHashes = map[string]bool{evs[0].HashHex(): true}
	f.busy = func(n int) (int, string) {
		if n >= 5 { // 1: 0-7, 2: 0-3, 3: 0-1 (400), 4: 0 (refused), 5: 1 -> busy
			return 503, "2"
		}
		return 0, ""
	}
	be := asBatchError(t, o.Write(context.Background(), evs))
	if be.RetryAfter != 2*time.Second || len(be.Permanent) != 1 || be.Permanent[0] == nil || fmt.Sprint(be.Retry) != "[1 2 3 4 5 6 7]" {
		t.Fatalf("%+v", be)
	}
	if len(f.calls()) != 5 {
		t.Errorf("%d requests: sending went on after the server said busy", len(f.calls()))
	}
}

func ackConfig(url string) Config {
	return Config{URL: url, Token: goodToken, Ack: true,
		AckPollInterval: Duration(20 * time.Millisecond), AckTimeout: Duration(2 * time.Second)}
}

func TestAckLate(t *testing.T) {
	f := newFakeHEC(t, false)
	f.ack = true
	f.ackAfterPolls = 3
	o := newOutput(t, ackConfig(f.srv.URL))
	ch := o.Channel()
	if !guidRE.MatchString(ch) || ch[14] != '4' {
		t.Fatalf("generated channel %q is not a v4 GUID", ch)
	}
	evs := makeEvents(t, 6, start, time.Second)
	if err := o.Write(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	returned := time.Now()
	f.mu.Lock()
	a := f.acks[ch][0]
	polls := f.ackPolls
	f.mu.Unlock()
	if a == nil || !a.released || a.polls != 3 || polls != 3 {
		t.Fatalf("ack state %+v after %d polls; want acknowledged at the 3rd poll", a, polls)
	}
	if returned.Before(a.ackedAt) {
		t.Error("Write returned before the ack")
	}
	for _, c := range f.calls() {
		if c.header.Get("X-Splunk-Request-Channel") != ch {
			t.Errorf("channel header %q", c.header.Get("X-Splunk-Request-Channel"))
		}
	}

	// A channel restored from state is used as it is.
	const saved = "0aeeac95-ac74-4aa9-b30d-6c4c0ac581ba"
	if err := o.SetChannel(saved); err != nil {
		t.Fatal(err)
	}
	if err := o.Write(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	if got := f.calls()[1].header.Get("X-Splunk-Request-Channel"); got != saved {
		t.Errorf("channel %q, want %q", got, saved)
	}
	if o.SetChannel("nope") == nil {
		t.Error("SetChannel accepted a non-GUID")
	}
}

// Acks during a 413 split: every request's ackId is polled.
func TestAckAfterSplit(t *testing.T) {
	f := newFakeHEC(t, false)
	f.ack = true
	f.ackAfterPolls = 2
	o := newOutput(t, ackConfig(f.srv.URL))
	evs := makeEvents(t, 8, start, time.Second)
	line, _ := o.encode(evs[0])
	f.maxBody = 2*len(line) + 50
	if err := o.Write(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.acks[o.Channel()]) != 4 {
		t.Fatalf("%d ackIds, want 4", len(f.acks[o.Channel()]))
	}
	for id, a := range f.acks[o.Channel()] {
		if !a.released {
			t.Errorf("ack %d not polled to the end", id)
		}
	}
}

func TestAckNever(t *testing.T) {
	f := newFakeHEC(t, false)
	f.ack = true
	f.ackAfterPolls = -1
	cfg := ackConfig(f.srv.URL)
	cfg.AckTimeout = Duration(200 * time.Millisecond)
	o := newOutput(t, cfg)
	began := time.Now()
	err := o.Write(context.Background(), makeEvents(t, 3, start, time.Second))
	took := time.Since(began)
	wholeBatchRetry(t, err)
	if !errors.Is(err, ErrAckTimeout) {
		t.Errorf("not ErrAckTimeout: %v", err)
	}
	if took < 200*time.Millisecond || took > 30*time.Second {
		t.Errorf("gave up after %v, ack_timeout is 200ms", took)
	}
	if f.ackPolls < 5 {
		t.Errorf("%d polls in 200ms at 20ms", f.ackPolls)
	}
}

func TestAckDisabled(t *testing.T) {
	f := newFakeHEC(t, false) // the token has acknowledgement off
	o := newOutput(t, ackConfig(f.srv.URL))
	err := o.Write(context.Background(), makeEvents(t, 2, start, time.Second))
	wholeBatchRetry(t, err)
	if !errors.Is(err, ErrAckDisabled) {
		t.Errorf("want ErrAckDisabled, got %v", err)
	}
	if err := o.Check(context.Background()); !errors.Is(err, ErrAckDisabled) {
		t.Errorf("Check: want ErrAckDisabled, got %v", err)
	}
}

// The acks were lost (Splunk restarted and forgot the channel's acks: it
// answers false for them, or refuses the channel): resend.
func TestAckChannelLost(t *testing.T) {
	f := newFakeHEC(t, false)
	f.ack = true
	f.ackAfterPolls = 2
	f.forgetAcks = true
	cfg := ackConfig(f.srv.URL)
	cfg.AckTimeout = Duration(200 * time.Millisecond)
	o := newOutput(t, cfg)
	err := o.Write(context.Background(), makeEvents(t, 2, start, time.Second))
	wholeBatchRetry(t, err)
	if !errors.Is(err, ErrAckTimeout) {
		t.Errorf("forgotten acks: want ErrAckTimeout, got %v", err)
	}

	f.mu.Lock()
	f.forgetAcks, f.resetChannel = false, true
	f.mu.Unlock()
	err = o.Write(context.Background(), makeEvents(t, 2, start, time.Second))
	wholeBatchRetry(t, err)
	if !strings.Contains(err.Error(), "lost the acks") || !strings.Contains(err.Error(), "code 11") {
		t.Errorf("channel reset: %v", err)
	}
}

func TestCheck(t *testing.T) {
	f := newFakeHEC(t, false)
	if err := newOutput(t, Config{URL: f.srv.URL, Token: goodToken}).Check(context.Background()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	f.ack = true
	if err := newOutput(t, ackConfig(f.srv.URL)).Check(context.Background()); err != nil {
		t.Fatalf("Check with ack: %v", err)
	}
	if len(f.storedEvents()) != 0 {
		t.Error("Check wrote events")
	}
	f.unhealthy = true
	if err := newOutput(t, Config{URL: f.srv.URL, Token: goodToken}).Check(context.Background()); err == nil || !strings.Contains(err.Error(), "code 18") {
		t.Errorf("unhealthy: %v", err)
	}

	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	err := newOutput(t, Config{URL: "http://" + addr, Token: goodToken}).Check(context.Background())
	if err == nil || !strings.Contains(err.Error(), "not reachable") {
		t.Errorf("unreachable: %v", err)
	}
	wholeBatchRetry(t, newOutput(t, Config{URL: "http://" + addr, Token: goodToken}).Write(context.Background(), makeEvents(t, 1, start, 0)))
}

func TestTLS(t *testing.T) {
	f := newFakeHEC(t, true)
	evs := makeEvents(t, 3, start, time.Second)
	err := newOutput(t, Config{URL: f.srv.URL, Token: goodToken}).Write(context.Background(), evs)
	wholeBatchRetry(t, err)
	if !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without ca_file: %v", err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw})
	if err := os.WriteFile(ca, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	o := newOutput(t, Config{URL: f.srv.URL, Token: goodToken, TLS: outputs.TLS{CAFile: ca}})
	if err := o.Write(context.Background(), evs); err != nil {
		t.Fatalf("with ca_file: %v", err)
	}
	if err := o.Check(context.Background()); err != nil {
		t.Fatalf("Check with ca_file: %v", err)
	}
}

func TestTokenFile(t *testing.T) {
	f := newFakeHEC(t, false)
	p := filepath.Join(t.TempDir(), "tok")
	os.WriteFile(p, []byte(goodToken+"\n"), 0o600)
	if err := newOutput(t, Config{URL: f.srv.URL, TokenFile: p}).Write(context.Background(), makeEvents(t, 1, start, 0)); err != nil {
		t.Fatal(err)
	}
}
