package syslog

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/auditfwd/auditfwd/internal/event"
	"github.com/auditfwd/auditfwd/outputs"
)

// hostileStrings attack the header, the structured data, CEF, LEEF and the
// framing. The simulator's hostile records add more (in user names, object
// names and messages, one of them ~100 KB).
var hostileStrings = []string{
	"line one\nline two",
	"crlf\r\n\r\nsplit",
	"\n<13>1 2026-11-24T10:15:02.123Z evil-host auditfwd - - - fake syslog line",
	"\r\n<134>Nov 24 10:15:02 evil-host sshd[1]: Accepted password for root",
	"42 <13>1 2026-11-24T10:15:02.123Z evil - - - - octet-counted fake",
	`say "hello" and \ backslash \\ twice] [x@1 a="b"]`,
	"nul\x00byte and bell\x07 and esc\x1b[31mred\x1b[0m",
	"tab\tseparated\tvalue",
	"CEF:0|Evil|Corp|1.0|100|x|10|src=1.2.3.4 act=blocked",
	"pipe|equals=value\\backslash=more|",
	`key=value\=escaped cs1Label=injected suser=root`,
	"LEEF:2.0|Evil|Corp|1|x|x09|usrName=root\tsrc=6.6.6.6",
	"Ümlaut naïve café 日本語 🚀 \u202eevil\u202c \u2028sep",
	"\x01\x02\x7f\u0085",
}

// hostileEvents puts each hostile string in every fact an encoder reads,
// event.action (the MSGID) included, plus one document with invalid UTF-8
// inside its strings.
func hostileEvents() []event.Event {
	var evs []event.Event
	t0 := time.Date(2026, 11, 24, 10, 15, 2, 123e6, time.UTC)
	for i, h := range hostileStrings {
		doc, err := json.Marshal(map[string]any{
			"@timestamp": t0.Format("2006-01-02T15:04:05.000Z"),
			"message":    h,
			"event": map[string]any{"action": h, "outcome": []string{"failure", "success", h}[i%3],
				"id": h, "category": []string{h}},
			"user":   map[string]any{"name": h, "target": map[string]any{"name": h}},
			"source": map[string]any{"ip": h},
			"labels": map[string]any{"source": h},
			"wss":    map[string]any{"audit": map[string]any{"object_type": h, "object_name": h}},
		})
		if err != nil {
			panic(err)
		}
		evs = append(evs, event.Event{Hash: sha256.Sum256(doc), Time: t0.Add(time.Duration(i) * time.Millisecond), Doc: doc})
	}
	bad := []byte(`{"@timestamp":"2026-11-24T10:15:02.123Z","message":"bad ` + "\xff\xfe" + ` utf-8","event":{"action":"de` +
		"\xc3" + `lete","outcome":"success"},"user":{"name":"` + "\xed\xa0\x80" + `surrogate"}}`)
	evs = append(evs, event.Event{Hash: sha256.Sum256(bad), Time: t0, Doc: bad})
	return evs
}

// testEvents is what every transport test sends: simulated records, half
// of them hostile, and the hand-made hostile events.
func testEvents(t testing.TB, n int) []event.Event {
	return append(simEvents(t, n, 0.5, 7), hostileEvents()...)
}

// writeAll sends evs in batches, retrying as the pipeline would, and
// returns how often each event was handed back for retry.
func writeAll(t testing.TB, o *Output, evs []event.Event, batchSize int) map[int]int {
	t.Helper()
	retried := map[int]int{}
	for start := 0; start < len(evs); start += batchSize {
		idx := make([]int, 0, batchSize)
		for i := start; i < min(start+batchSize, len(evs)); i++ {
			idx = append(idx, i)
		}
		deliverWithRetry(t, o, evs, idx, retried, 20*time.Second)
	}
	return retried
}

// deliverWithRetry writes evs[idx...] until all are delivered, retrying the
// items Write hands back, as the pipeline does.
func deliverWithRetry(t testing.TB, o *Output, evs []event.Event, idx []int, retried map[int]int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for len(idx) > 0 {
		batch := make([]event.Event, len(idx))
		for k, i := range idx {
			batch[k] = evs[i]
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := o.Write(ctx, batch)
		cancel()
		if err == nil {
			return
		}
		if outputs.IsPermanent(err) {
			t.Fatalf("Write: permanent error for a whole batch: %v", err)
		}
		var be *outputs.BatchError
		var next []int
		if errors.As(err, &be) {
			if len(be.Permanent) > 0 {
				t.Fatalf("Write refused items for good: %v", be)
			}
			for _, k := range be.Retry {
				next = append(next, idx[k])
			}
		} else {
			next = idx
		}
		for _, i := range next {
			retried[i]++
		}
		idx = next
		if time.Now().After(deadline) {
			t.Fatalf("not delivered within %s: %v", within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// expectations maps each event's exact message to its index.
func expectations(t testing.TB, o *Output, evs []event.Event) map[string]int {
	t.Helper()
	byRaw := map[string]int{}
	for i, e := range evs {
		raw := encodeOne(t, o, e)
		if _, dup := byRaw[raw]; dup {
			t.Fatalf("events %d and %d encode alike", byRaw[raw], i)
		}
		byRaw[raw] = i
	}
	return byRaw
}

// checkRecords asserts that rsyslog received each event's exact message,
// that it parsed each into the header fields we meant, and that nothing
// else arrived (a split or injected message would be an unknown record).
// It returns how many times each event arrived.
func checkRecords(t *testing.T, o *Output, evs []event.Event, recs []record) []int {
	t.Helper()
	byRaw := expectations(t, o, evs)
	counts := make([]int, len(evs))
	for _, r := range recs {
		i, ok := byRaw[r.Raw]
		if !ok {
			t.Errorf("line %d: rsyslog received a message we did not send: %q", r.line, short(r.Raw))
			continue
		}
		counts[i]++
		if counts[i] > 1 {
			continue
		}
		if !utf8.ValidString(r.Raw) {
			t.Errorf("line %d: invalid UTF-8 on the wire", r.line)
		}
		checkParsed(t, o, r)
	}
	return counts
}

// checkParsed compares rsyslog's parse of a message with ours.
func checkParsed(t *testing.T, o *Output, r record) {
	t.Helper()
	fail := func(field, got, want string) {
		t.Errorf("line %d: rsyslog parsed %s = %q, want %q\nraw: %q", r.line, field, short(got), short(want), short(r.Raw))
	}
	var payload string
	if o.s.format == "rfc3164" {
		m, err := parse3164(r.Raw)
		if err != nil {
			t.Fatalf("line %d: %v", r.line, err)
		}
		if r.Pri != strconv.Itoa(m.pri) {
			fail("pri", r.Pri, strconv.Itoa(m.pri))
		}
		if r.Host != m.host {
			fail("hostname", r.Host, m.host)
		}
		if r.Tag != m.tag+":" {
			fail("syslogtag", r.Tag, m.tag+":")
		}
		if r.App != o.s.appName {
			fail("app-name", r.App, o.s.appName)
		}
		// rsyslog adds the year and reads the time as local: compare the rest.
		if len(r.TS) < 19 {
			fail("timereported", r.TS, m.ts)
		} else if got, _ := time.Parse("01-02T15:04:05", r.TS[5:19]); got.Format("Jan _2 15:04:05") != m.ts {
			fail("timereported", r.TS, m.ts)
		}
		payload = strings.TrimPrefix(r.Msg, " ")
		if payload != m.msg {
			fail("msg", payload, m.msg)
		}
	} else {
		m, err := parse5424(r.Raw)
		if err != nil {
			t.Fatalf("line %d: %v", r.line, err)
		}
		for _, f := range []struct{ name, got, want string }{
			{"pri", r.Pri, strconv.Itoa(m.pri)},
			{"timereported", r.TS, m.ts},
			{"hostname", r.Host, m.host},
			{"app-name", r.App, m.app},
			{"procid", r.ProcID, m.procID},
			{"msgid", r.MsgID, m.msgID},
			{"structured-data", r.SD, m.sd},
			{"msg", r.Msg, m.msg},
		} {
			if f.got != f.want {
				fail(f.name, f.got, f.want)
			}
		}
		if m.sdID != o.s.sdID {
			fail("SD-ID", m.sdID, o.s.sdID)
		}
		if h, _ := m.param("hash"); len(h) != 64 {
			t.Errorf("line %d: SD hash %q", r.line, h)
		}
		payload = m.msg
	}
	switch o.s.payload {
	case "cef":
		if _, _, err := parseCEF(payload); err != nil {
			t.Errorf("line %d: CEF: %v in %q", r.line, err, payload)
		}
	case "leef":
		if _, _, err := parseLEEF(payload); err != nil {
			t.Errorf("line %d: LEEF: %v in %q", r.line, err, payload)
		}
	default:
		// Truncated or not, a JSON payload is valid JSON.
		if !json.Valid([]byte(payload)) {
			t.Errorf("line %d: payload is not JSON: %q", r.line, short(payload))
		}
	}
}

// short cuts a message for a failure report.
func short(s string) string {
	if len(s) > 600 {
		return s[:600] + "…"
	}
	return s
}

func TestRsyslogTransports(t *testing.T) {
	c := startCollector(t)
	for _, tc := range []struct {
		network, framing, format, payload string
	}{
		{"udp", "", "rfc5424", "json"},
		{"udp", "", "rfc3164", "cef"},
		{"tcp", "octet_counting", "rfc5424", "json"},
		{"tcp", "lf", "rfc5424", "json"},
		{"tcp", "lf", "rfc5424", "cef"},
		{"tcp", "octet_counting", "rfc5424", "leef"},
		{"tcp", "lf", "rfc3164", "json"},
		{"tls", "octet_counting", "rfc5424", "json"},
		{"tls", "lf", "rfc5424", "leef"},
		{"tls", "octet_counting", "rfc3164", "cef"},
	} {
		name := strings.Join([]string{tc.network, tc.framing, tc.format, tc.payload}, "/")
		t.Run(name, func(t *testing.T) {
			c.use(t)
			before := len(c.records())
			cfg := Config{
				Address: c.addr(tc.network), Network: tc.network, Framing: tc.framing,
				Format: tc.format, Payload: tc.payload, Hostname: "relay-1",
			}
			if tc.network == "tls" {
				cfg.TLS.CAFile = c.caFile
			}
			o := mustNew(t, cfg)
			defer o.Close()
			evs := testEvents(t, 150)
			retried := writeAll(t, o, evs, 40)
			if len(retried) > 0 {
				t.Errorf("a healthy collector had items retried: %v", retried)
			}
			recs := c.waitRecords(before+len(evs), 30*time.Second)[before:]
			counts := checkRecords(t, o, evs, recs)
			for i, n := range counts {
				if n != 1 {
					t.Errorf("event %d arrived %d times, want once", i, n)
				}
			}
			st := o.Stats()
			t.Logf("%d events, %d truncated to %d bytes", len(evs), st.Truncated, o.s.max)
			if st.Truncated == 0 {
				t.Errorf("no event was truncated: the ~100 KB hostile record should be")
			}
		})
	}
}

// TestRsyslogDefaultMaxMessageSize: a message of exactly the default
// max_message_bytes (8192) passes an rsyslog left at its own default
// maxMessageSize (8k) whole, and so do the truncated ones (a JSON payload
// shortened as JSON ends at or just under the limit).
func TestRsyslogDefaultMaxMessageSize(t *testing.T) {
	c := startCollectorWith(t, func(c *collector) { c.maxMessageSize = "8k" })
	o := mustNew(t, Config{Address: c.addr("tcp"), Hostname: "relay-1"})
	defer o.Close()
	exact := hostileDoc(t, func(d, ev map[string]any) { d["message"] = "" })
	pad := DefaultStreamMax - len(encodeOne(t, o, exact))
	exact = hostileDoc(t, func(d, ev map[string]any) { d["message"] = strings.Repeat("x", pad) })
	if n := len(encodeOne(t, o, exact)); n != DefaultStreamMax {
		t.Fatalf("the exact-size event is %d bytes", n)
	}
	full := []event.Event{exact}
	for _, e := range testEvents(t, 200) {
		if _, truncated, _ := o.enc.appendMessage(nil, &e); truncated {
			full = append(full, e)
		}
	}
	if len(full) == 1 {
		t.Fatal("no test event reaches max_message_bytes")
	}
	writeAll(t, o, full, 10)
	recs := c.waitRecords(len(full), 30*time.Second)
	for i, n := range checkRecords(t, o, full, recs) {
		if n != 1 {
			t.Errorf("event %d arrived %d times", i, n)
		}
	}
	sawExact := false
	for _, r := range recs {
		if len(r.Raw) > DefaultStreamMax || len(r.Raw) < DefaultStreamMax-64 {
			t.Errorf("line %d: %d bytes, want %d or just under", r.line, len(r.Raw), DefaultStreamMax)
		}
		sawExact = sawExact || len(r.Raw) == DefaultStreamMax
	}
	if !sawExact {
		t.Errorf("no message of exactly %d bytes arrived", DefaultStreamMax)
	}
}

func startCollectorWith(t testing.TB, adjust func(*collector)) *collector {
	t.Helper()
	c := &collector{t: t, bin: rsyslogd(t), dir: t.TempDir(), maxMessageSize: "256k"}
	adjust(c)
	c.out = c.dir + "/received.ndjson"
	c.caFile = c.writeCert()
	c.udpPort = freeUDPPort(t)
	c.start()
	t.Cleanup(c.stop)
	return c
}

func TestRsyslogCheck(t *testing.T) {
	c := startCollector(t)
	ctx := context.Background()
	good := mustNew(t, Config{Address: c.addr("tls"), Network: "tls", TLS: outputs.TLS{CAFile: c.caFile}})
	if err := good.Check(ctx); err != nil {
		t.Errorf("Check tls: %v", err)
	}
	if err := mustNew(t, Config{Address: c.addr("tcp")}).Check(ctx); err != nil {
		t.Errorf("Check tcp: %v", err)
	}
	// Verification is on by default: the test certificate is in no system pool.
	err := mustNew(t, Config{Address: c.addr("tls"), Network: "tls"}).Check(ctx)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("Check tls without ca_file = %v, want a certificate error", err)
	}
	// server_name is checked against the certificate.
	err = mustNew(t, Config{Address: c.addr("tls"), Network: "tls", TLS: outputs.TLS{CAFile: c.caFile, ServerName: "siem.example.com"}}).Check(ctx)
	if err == nil || !strings.Contains(err.Error(), "siem.example.com") {
		t.Errorf("Check tls with a wrong server_name = %v, want a name mismatch", err)
	}
	if n := len(c.records()); n != 0 {
		t.Errorf("Check sent %d messages", n)
	}
	c.stop()
	if err := mustNew(t, Config{Address: c.addr("tcp")}).Check(ctx); err == nil {
		t.Error("Check on a stopped collector: nil")
	}
}

// TestRsyslogRestartBetweenBatches: the collector goes away while the
// connection idles. The next Write finds the connection closed, fails as
// retryable, and once the collector is back the retry delivers. The batch
// delivered just before the collector went away is replayed (it could have
// been lost unread): it arrives twice, everything else once.
func TestRsyslogRestartBetweenBatches(t *testing.T) {
	c := startCollector(t)
	for _, network := range []string{"tcp", "tls"} {
		t.Run(network, func(t *testing.T) {
			c.use(t)
			before := len(c.records())
			o := mustNew(t, Config{Address: c.addr(network), Network: network, TLS: tlsFor(c, network), Hostname: "relay-1"})
			defer o.Close()
			evs := simEvents(t, 90, 0.2, 11)
			a, b, rest := evs[:30], evs[30:60], evs[60:]
			if err := o.Write(context.Background(), a); err != nil {
				t.Fatal(err)
			}
			c.waitRecords(before+len(a), 10*time.Second)
			c.stop()

			err := o.Write(context.Background(), b)
			if err == nil {
				t.Fatal("Write to a stopped collector returned nil")
			}
			if outputs.IsPermanent(err) {
				t.Fatalf("Write to a stopped collector: permanent %v", err)
			}
			var be *outputs.BatchError
			if errors.As(err, &be) && len(be.Retry) != len(b) {
				t.Fatalf("Write to a stopped collector: %v, want every item retried", be)
			}
			t.Logf("while stopped: %v", err)

			c.start()
			var idx []int
			for i := range b {
				idx = append(idx, len(a)+i)
			}
			deliverWithRetry(t, o, evs, idx, map[int]int{}, 20*time.Second)
			if err := o.Write(context.Background(), rest); err != nil {
				t.Fatal(err)
			}
			recs := c.waitRecords(before+len(evs)+len(a), 20*time.Second)[before:]
			for i, n := range checkRecords(t, o, evs, recs) {
				want := 1
				if i < len(a) {
					want = 2
				}
				if n != want {
					t.Errorf("event %d arrived %d times, want %d", i, n, want)
				}
			}
			if st := o.Stats(); st.Reconnects != 1 || st.Replayed != int64(len(a)) {
				t.Errorf("stats %+v, want 1 reconnect and %d replayed", st, len(a))
			}
		})
	}
}

func tlsFor(c *collector, network string) outputs.TLS {
	if network == "tls" {
		return outputs.TLS{CAFile: c.caFile}
	}
	return outputs.TLS{}
}

// TestRsyslogRestartMidStream restarts the collector (SIGTERM, start) twice
// while a writer streams batches with the pipeline's retry. Every event
// must arrive. An event may arrive more than once only within the
// documented windows: Write handed it back for retry (written, maybe
// received, not acknowledged), or it was delivered shortly before the
// collector went away and was replayed on the next connection (see
// replay.go).
func TestRsyslogRestartMidStream(t *testing.T) {
	c := startCollector(t)
	for _, network := range []string{"tcp", "tls"} {
		t.Run(network, func(t *testing.T) {
			c.use(t)
			before := len(c.records())
			o := mustNew(t, Config{Address: c.addr(network), Network: network, TLS: tlsFor(c, network), Hostname: "relay-1"})
			defer o.Close()
			evs := simEvents(t, 3000, 0.05, 13)
			const batchSize = 25
			batches := (len(evs) + batchSize - 1) / batchSize
			progress := make(chan int, batches)
			done := make(chan map[int]int)
			go func() {
				retried := map[int]int{}
				for b := 0; b < batches; b++ {
					var idx []int
					for i := b * batchSize; i < min((b+1)*batchSize, len(evs)); i++ {
						idx = append(idx, i)
					}
					deliverWithRetry(t, o, evs, idx, retried, 60*time.Second)
					progress <- b
					time.Sleep(2 * time.Millisecond) // a stream, not one burst
				}
				done <- retried
			}()
			restarts := 0
			for b := range progress {
				if b == batches/3 || b == 2*batches/3 {
					restarts++
					c.restart()
				}
				if b == batches-1 {
					break
				}
			}
			retried := <-done
			recs := c.waitRecords(before+len(evs), 60*time.Second)[before:]
			counts := checkRecords(t, o, evs, recs)
			lost, dups, replayDups := 0, 0, 0
			for i, n := range counts {
				switch {
				case n == 0:
					lost++
					t.Errorf("event %d lost (handed back %d times)", i, retried[i])
				case n > 1+retried[i]:
					// The guarantee is at-least-once: a copy beyond the
					// retries must come from a replay (counted below), but
					// when it was sent is the machine's business.
					replayDups += n - 1 - retried[i]
					fallthrough
				case n > 1:
					dups++
				}
			}
			st := o.Stats()
			if int64(replayDups) > st.Replayed {
				t.Errorf("%d copies beyond the retries, but only %d messages replayed", replayDups, st.Replayed)
			}
			t.Logf("%d events, %d restarts, %d events handed back for retry, %d replayed, %d duplicates, %d lost, %d reconnects",
				len(evs), restarts, len(retried), st.Replayed, dups, lost, st.Reconnects)
			if st.Reconnects < 2 {
				t.Errorf("%d reconnects: the restarts were not mid-stream", st.Reconnects)
			}
		})
	}
}

// TestRsyslogThroughput measures events/s into rsyslog over TCP and TLS:
// from the first Write until rsyslog's TCP acknowledged the last batch, and
// until rsyslog had written every event to its file.
func TestRsyslogThroughput(t *testing.T) {
	c := startCollector(t)
	evs := simEvents(t, 10000, 0, 17)
	for _, network := range []string{"tcp", "tls"} {
		t.Run(network, func(t *testing.T) {
			c.use(t)
			before := len(c.records())
			o := mustNew(t, Config{Address: c.addr(network), Network: network, TLS: tlsFor(c, network), Hostname: "relay-1"})
			defer o.Close()
			start := time.Now()
			for i := 0; i < len(evs); i += 500 {
				if err := o.Write(context.Background(), evs[i:min(i+500, len(evs))]); err != nil {
					t.Fatal(err)
				}
			}
			acked := time.Since(start)
			c.waitCount(before+len(evs), 120*time.Second)
			stored := time.Since(start)
			t.Logf("%s: %d events (%.0f bytes avg) acknowledged in %s = %.0f events/s; in rsyslog's file after %s = %.0f events/s",
				network, len(evs), avgDoc(evs), acked.Round(time.Millisecond), float64(len(evs))/acked.Seconds(),
				stored.Round(time.Millisecond), float64(len(evs))/stored.Seconds())
		})
	}
}

func avgDoc(evs []event.Event) float64 {
	n := 0
	for _, e := range evs {
		n += len(e.Doc)
	}
	return float64(n) / float64(len(evs))
}
