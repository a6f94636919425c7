package pipeline

import (
	"bufio"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditfwd/auditfwd/internal/simulator"
	"github.com/auditfwd/auditfwd/internal/source/wss"
)

func TestExactlyOnceAcrossRepolls(t *testing.T) {
	for _, df := range []string{"date", "epoch_ms", "rfc3339"} {
		t.Run(df, func(t *testing.T) {
			h := newHarness(t, nil)
			extra := fmt.Sprintf("    date_format: %s\n", df)
			if df != "date" {
				extra += "    window: 6h\n"
			}
			c := h.config(h.yaml(extra, ""))
			p, err := h.runOnce(c, nil)
			if err != nil {
				t.Fatal(err)
			}
			checkExactlyOnce(t, h.sim, readIDs(t, h.eventsPath()))
			st := p.SourceStats("t1")
			if st.Duplicate.Load() == 0 {
				t.Error("the simulator's in-response duplicates were not seen")
			}
			dl := filepath.Join(h.dir, "state", "deadletter.ndjson")
			if got, want := countLines(t, dl), h.distinctMalformed(); got != want {
				t.Errorf("dead letter has %d lines, simulator served %d malformed entries", got, want)
			}
			// The same day polled again, and again an hour later: nothing new.
			for i := 0; i < 2; i++ {
				h.clock.Add(time.Hour)
				if _, err := h.runOnce(h.config(h.yaml(extra, "")), nil); err != nil {
					t.Fatal(err)
				}
			}
			checkExactlyOnce(t, h.sim, readIDs(t, h.eventsPath()))
			if got, want := countLines(t, dl), h.distinctMalformed(); got != want {
				t.Errorf("after re-polls the dead letter has %d lines, want %d", got, want)
			}
		})
	}
}

func TestLateRecordsArriveOnce(t *testing.T) {
	h := newHarness(t, func(c *simulator.Config) {
		c.MaxLateness = 15 * time.Minute
		c.Start = t0.Add(-6 * time.Hour)
		c.End = t0.Add(6 * time.Hour) // records keep coming while we poll
		c.Records = 2000
	})
	h.clock.Set(t0)
	for i := 0; i < 70; i++ { // every 5 minutes across the span and beyond
		if _, err := h.runOnce(h.config(h.yaml("    date_format: epoch_ms\n    window: 1h\n", "")), nil); err != nil {
			t.Fatal(err)
		}
		h.clock.Add(6 * time.Minute)
	}
	checkExactlyOnce(t, h.sim, readIDs(t, h.eventsPath()))
}

func TestRetriesOnTransientFaults(t *testing.T) {
	cases := []struct {
		name  string
		fault simulator.Fault
	}{
		{"503", simulator.Fault{Status: 503, Times: 2}},
		{"500", simulator.Fault{Status: 500}},
		{"429 seconds", simulator.Fault{Status: 429, RetryAfter: "1"}},
		{"429 http-date", simulator.Fault{Status: 429, RetryAfter: time.Now().Add(time.Second).UTC().Format(time.RFC1123)}},
		{"reset mid-body", simulator.Fault{ResetAfter: 150, Times: 2}},
		{"truncated body", simulator.Fault{Truncate: true}},
		{"html page", simulator.Fault{Body: "<html><body>Service Unavailable</body></html>"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.sim.InjectFault(tc.fault)
			p, err := h.runOnce(h.config(h.yaml("", "")), nil)
			if err != nil {
				t.Fatal(err)
			}
			if p.SourceStats("t1").Failures.Load() == 0 {
				t.Fatal("the fault was not seen")
			}
			checkExactlyOnce(t, h.sim, readIDs(t, h.eventsPath()))
			if got, want := countLines(t, filepath.Join(h.dir, "state", "deadletter.ndjson")), h.distinctMalformed(); got != want {
				t.Errorf("dead letter %d lines, want %d (a failed window leaked)", got, want)
			}
		})
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	h := newHarness(t, nil)
	h.sim.InjectFault(simulator.Fault{Status: 429, RetryAfter: "2"})
	start := time.Now()
	if _, err := h.runOnce(h.config(h.yaml("", "")), nil); err != nil {
		t.Fatal(err)
	}
	reqs := h.sim.Requests()
	if len(reqs) < 2 || reqs[0].Status != 429 {
		t.Fatalf("requests: %+v", reqs)
	}
	// The second request must come no sooner than the server asked.
	if gap := time.Since(start); gap < 1900*time.Millisecond {
		t.Fatalf("done after %s, Retry-After said 2s", gap)
	}
}

func TestAuthErrorsStopOnceQuickly(t *testing.T) {
	for _, status := range []int{401, 403} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			h := newHarness(t, nil)
			h.sim.InjectFault(simulator.Fault{Status: status, Times: 100})
			start := time.Now()
			_, err := h.runOnce(h.config(h.yaml("", "")), nil)
			var ae *wss.AuthError
			if !errors.As(err, &ae) {
				t.Fatalf("want an AuthError, got %v", err)
			}
			if time.Since(start) > 60*time.Second { // loose: a fast exit, not a speed
				t.Fatalf("took %s", time.Since(start))
			}
			want := map[int]string{401: "credential", 403: "Audit Logs"}[status]
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("message %q does not name the cause (%s)", err, want)
			}
			if n := len(h.sim.Requests()); n != 1 {
				t.Fatalf("%d requests: a retry storm", n)
			}
			if _, ok, _ := mustCursor(t, h); ok {
				t.Fatal("cursor moved past a failed window")
			}
			p, _ := New(h.config(h.yaml("", "")), buildOuts(t, h.config(h.yaml("", "")), nil), quietLog(), Options{Once: true, Now: h.clock.Now})
			defer p.Close()
			p.Run(context.Background())
			if r := p.Ready(time.Now()); !r.Ready || r.Sources["t1"] != "starting" {
				t.Fatalf("readiness right after start: %+v", r)
			}
			if r := p.Ready(time.Now().Add(time.Hour)); r.Ready || !strings.Contains(r.Sources["t1"], want) {
				t.Fatalf("readiness an hour into a broken credential: %+v", r)
			}
		})
	}
}

func mustCursor(t *testing.T, h *harness) (time.Time, bool, error) {
	t.Helper()
	p, err := New(h.config(h.yaml("", "")), buildOuts(t, h.config(h.yaml("", "")), nil), quietLog(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	return p.Store().Cursor("t1")
}

func TestWrongCredentialIsAuthError(t *testing.T) {
	h := newHarness(t, nil)
	y := strings.Replace(h.yaml("", ""), "password: api-pass", "password: wrong", 1)
	_, err := h.runOnce(h.config(y), nil)
	var ae *wss.AuthError
	if !errors.As(err, &ae) || ae.Status != 401 {
		t.Fatalf("want 401 AuthError, got %v", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Fatal("the password reached the error message")
	}
}

func TestBodyShapesAndSchemas(t *testing.T) {
	for _, shape := range []string{"array", "records", "auditLogs", "items", "results"} {
		for _, schema := range []string{"default", "alt"} {
			t.Run(shape+"/"+schema, func(t *testing.T) {
				h := newHarness(t, func(c *simulator.Config) { c.Shape, c.Schema, c.Records = shape, schema, 500 })
				if _, err := h.runOnce(h.config(h.yaml("", "")), nil); err != nil {
					t.Fatal(err)
				}
				checkExactlyOnce(t, h.sim, readIDs(t, h.eventsPath()))
			})
		}
	}
}

func TestTwoTenantsSideBySide(t *testing.T) {
	a := newHarness(t, nil)
	b := newHarness(t, func(c *simulator.Config) { c.Seed = 99; c.Records = 1000; c.Shape = "array" })
	b.sim.InjectFault(simulator.Fault{Status: 401, Times: 1000}) // tenant b's credential is broken
	y := fmt.Sprintf(`state_dir: %q
shutdown_timeout: 10s
sources:
  - {name: a, base_url: %s, username: api-user, password: api-pass, start: %s, retry: {initial_interval: 10ms, max_interval: 50ms}}
  - {name: b, base_url: %s, username: api-user, password: api-pass, start: %s, retry: {initial_interval: 10ms, max_interval: 50ms}}
outputs:
  - {name: local, type: file, path: %q, batch: {flush_interval: 10ms}}
`, filepath.Join(a.dir, "state"), a.srv.URL, a.sc.Start.Format(time.RFC3339), b.srv.URL, b.sc.Start.Format(time.RFC3339), a.eventsPath())
	_, err := a.runOnce(a.config(y), nil)
	if err == nil || !strings.Contains(err.Error(), "source b") {
		t.Fatalf("want source b's error, got %v", err)
	}
	// a was not held back by b.
	checkExactlyOnce(t, a.sim, readIDs(t, a.eventsPath()))
	b.sim.ClearFaults()
	if _, err := a.runOnce(a.config(y), nil); err != nil {
		t.Fatal(err)
	}
	ids := readIDs(t, a.eventsPath())
	for _, id := range append(a.sim.ValidIDs(), b.sim.ValidIDs()...) {
		if ids[id] != 1 {
			t.Fatalf("id %s delivered %d times", id, ids[id])
		}
	}
}

func TestDeadLetterKeepsRawAndReason(t *testing.T) {
	h := newHarness(t, func(c *simulator.Config) { c.MalformedRate = 0.2; c.Records = 300 })
	if _, err := h.runOnce(h.config(h.yaml("", "")), nil); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(h.dir, "state", "deadletter.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	n := 0
	for sc.Scan() {
		var d deadRecord
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatal(err)
		}
		if d.Reason == "" || d.Source != "t1" || len(d.Hash) != 64 || (d.Raw == "" && d.RawBase64 == "") || d.Window == "" {
			t.Fatalf("incomplete dead letter line: %s", sc.Text())
		}
		n++
	}
	if n != h.distinctMalformed() || n == 0 {
		t.Fatalf("%d dead letter lines, %d malformed served", n, h.sim.MalformedCount())
	}
}

func TestStalledServerTimesOutAndRetries(t *testing.T) {
	h := newHarness(t, func(c *simulator.Config) { c.Records = 300 })
	// A stall far longer than the run's own 60 s ceiling: only the 1 s
	// timeout can end it, so no wall-clock check is needed (a busy machine
	// may take its time to notice).
	h.sim.InjectFault(simulator.Fault{Delay: 10 * time.Minute})
	p, err := h.runOnce(h.config(h.yaml("    timeout: 1s\n", "")), nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.SourceStats("t1").Failures.Load() == 0 {
		t.Fatal("the stall was not noticed")
	}
	checkExactlyOnce(t, h.sim, readIDs(t, h.eventsPath()))
}

func TestTLSVerifiedByDefault(t *testing.T) {
	h := newHarness(t, func(c *simulator.Config) { c.Records = 200 })
	tlsSrv := httptest.NewTLSServer(h.sim)
	defer tlsSrv.Close()
	y := strings.Replace(h.yaml("", ""), h.srv.URL, tlsSrv.URL, 1)
	_, err := h.runOnce(h.config(y), nil)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("an untrusted certificate was accepted or misreported: %v", err)
	}
	if n := len(h.sim.Requests()); n != 0 {
		t.Fatalf("%d requests reached the server", n)
	}
	caFile := filepath.Join(h.dir, "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw})
	os.WriteFile(caFile, pemBytes, 0o600)
	y = strings.Replace(h.yaml(fmt.Sprintf("    tls: {ca_file: %q}\n", caFile), ""), h.srv.URL, tlsSrv.URL, 1)
	if _, err := h.runOnce(h.config(y), nil); err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, h.sim, readIDs(t, h.eventsPath()))
}

// A batch written to the file but not marked delivered when the process died
// (here: bytes appended after the saved length) is cut off on start, also
// before the first mark ever saved.
func TestFileOutputRewindsOnStart(t *testing.T) {
	h := newHarness(t, func(c *simulator.Config) { c.Records = 300 })
	c := h.config(h.yaml("", ""))
	p, err := New(c, buildOuts(t, c, nil), quietLog(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Store().Target("local") == nil {
		t.Fatal("the file output's baseline was not saved before its first write")
	}
	p.Close()
	os.WriteFile(h.eventsPath(), []byte(`{"event":{"id":"torn-write"}}`+"\n"), 0o640)
	if _, err := h.runOnce(h.config(h.yaml("", "")), nil); err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, h.sim, readIDs(t, h.eventsPath()))
}

// With the shortest horizon the config allows and expiry after every
// window, days of polling (late records, overlapping windows, whole days
// fetched again and again) still deliver each record once, and the
// seen-set stays bounded.
func TestExpiryAtTheSafeMinimum(t *testing.T) {
	for _, tc := range []struct {
		name, extra string
		span, step  time.Duration
	}{
		{"epoch_ms", "    date_format: epoch_ms\n    window: 1h\n    overlap: 30m\n    dedup_horizon: 106m\n", 12 * time.Hour, 6 * time.Minute},
		{"date", "    date_format: date\n    window: 24h\n    overlap: 30m\n    dedup_horizon: 2926m\n", 96 * time.Hour, 40 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *simulator.Config) {
				c.MaxLateness = 15 * time.Minute
				c.Start = t0
				c.End = t0.Add(tc.span)
				c.Records = 3000
				c.MalformedRate = 0
			})
			h.clock.Set(t0)
			var seenMax int
			for now := t0; now.Before(t0.Add(tc.span + 2*time.Hour)); now = now.Add(tc.step) {
				h.clock.Set(now)
				c := h.config(h.yaml(tc.extra, ""))
				p, err := New(c, buildOuts(t, c, nil), quietLog(), Options{Once: true, Now: h.clock.Now, SweepEvery: -1})
				if err != nil {
					t.Fatal(err)
				}
				if err := p.Run(context.Background()); err != nil {
					t.Fatal(err)
				}
				seenMax = max(seenMax, int(p.SeenCount("t1")))
				p.Close()
			}
			checkExactlyOnce(t, h.sim, readIDs(t, h.eventsPath()))
			if seenMax >= len(h.sim.ValidIDs())*3/4 {
				t.Fatalf("seen-set grew to %d of %d records: expiry did not run", seenMax, len(h.sim.ValidIDs()))
			}
		})
	}
}
