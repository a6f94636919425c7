package pipeline

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// auditAPI serves a fixed list of records (rfc3339 dates): those whose
// time falls in the window asked for. cutFirst, when > 0, makes the next
// request with more records send that many and then break off (a
// truncated body).
type auditAPI struct {
	mu       sync.Mutex
	records  []apiRecord
	cutFirst int
	requests int
}

type apiRecord struct {
	at  time.Time
	raw string
}

func (a *auditAPI) add(at time.Time, format string, args ...any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.records = append(a.records, apiRecord{at: at, raw: fmt.Sprintf(format, args...)})
}

func (a *auditAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	from, err1 := time.Parse(time.RFC3339, r.URL.Query().Get("startDate"))
	to, err2 := time.Parse(time.RFC3339, r.URL.Query().Get("endDate"))
	if err1 != nil || err2 != nil {
		http.Error(w, "bad dates", http.StatusBadRequest)
		return
	}
	a.mu.Lock()
	a.requests++
	var out []string
	for _, rec := range a.records {
		if !rec.at.Before(from) && rec.at.Before(to) {
			out = append(out, rec.raw)
		}
	}
	cut := a.cutFirst
	if cut < len(out) {
		a.cutFirst = 0 // the first request with more records than that
	}
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if cut > 0 && cut < len(out) {
		w.Write([]byte("[" + join(out[:cut]) + ","))
		// A body cut short: the client sees a truncated array.
		if hj, ok := w.(http.Hijacker); ok {
			w.(http.Flusher).Flush()
			conn, _, _ := hj.Hijack()
			conn.Close()
		}
		return
	}
	w.Write([]byte("[" + join(out) + "]"))
}

func join(s []string) string {
	b := []byte{}
	for i, x := range s {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, x...)
	}
	return string(b)
}

// failedLogin is a record the pack reads as a failed admin sign-in.
func (a *auditAPI) failedLogin(id string, at time.Time, user, ip string) {
	a.add(at, `{"id":%q,"timestamp":%q,"userName":%q,"sourceIp":%q,"operationType":"Login","objectType":"User","status":"Failed","description":"Login failed: bad password"}`,
		id, at.UTC().Format(time.RFC3339), user, ip)
}

// detHarness is a state_dir, a fixed API and a clock.
type detHarness struct {
	t     *testing.T
	dir   string
	api   *auditAPI
	srv   *httptest.Server
	clock *fakeClock
}

func newDetHarness(t *testing.T) *detHarness {
	h := &detHarness{t: t, dir: t.TempDir(), api: &auditAPI{}, clock: newClock(t0)}
	h.srv = httptest.NewServer(h.api)
	t.Cleanup(h.srv.Close)
	return h
}

func (h *detHarness) out(name string) string { return filepath.Join(h.dir, "out", name+".ndjson") }

// yaml: one source from 2 hours before t0, file outputs named in outs,
// and the detections section det (YAML under "detections:").
func (h *detHarness) yaml(det string, outs ...string) string {
	if len(outs) == 0 {
		outs = []string{"local"}
	}
	o := ""
	for _, n := range outs {
		o += fmt.Sprintf("  - {name: %s, type: file, path: %q, batch: {flush_interval: 10ms}}\n", n, h.out(n))
	}
	return fmt.Sprintf(`state_dir: %q
shutdown_timeout: 20s
sources:
  - name: t1
    base_url: %s
    username: u
    password: p
    date_format: rfc3339
    window: 1h
    start: %s
    retry: {initial_interval: 10ms, max_interval: 50ms}
outputs:
%sdetections:
%s`, filepath.Join(h.dir, "state"), h.srv.URL, t0.Add(-2*time.Hour).Format(time.RFC3339), o, det)
}

func (h *detHarness) run(y string) {
	h.t.Helper()
	hh := &harness{t: h.t, dir: h.dir, clock: h.clock}
	c := hh.config(y)
	if _, err := hh.runOnce(c, nil); err != nil {
		h.t.Fatalf("run: %v", err)
	}
}

// alertDoc is what the tests read of an alert.
type alertDoc struct {
	Timestamp string `json:"@timestamp"`
	Event     struct {
		Kind string `json:"kind"`
		Hash string `json:"hash"`
	} `json:"event"`
	Rule struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"rule"`
	Related struct {
		Hash []string `json:"hash"`
	} `json:"related"`
	Labels struct {
		Source string `json:"source"`
	} `json:"labels"`
}

// readOut splits an output file into event hashes (by event.id) and alerts.
func readOut(t *testing.T, path string) (events map[string]string, alerts []alertDoc) {
	t.Helper()
	events = map[string]string{}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return events, nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var d struct {
			alertDoc
			Event struct {
				Kind string `json:"kind"`
				ID   string `json:"id"`
				Hash string `json:"hash"`
			} `json:"event"`
		}
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("not JSON: %v: %.200s", err, sc.Text())
		}
		switch d.Event.Kind {
		case "event":
			if _, dup := events[d.Event.ID]; dup {
				t.Fatalf("event %s delivered twice", d.Event.ID)
			}
			events[d.Event.ID] = d.Event.Hash
		case "alert":
			a := d.alertDoc
			a.Event.Kind, a.Event.Hash = d.Event.Kind, d.Event.Hash
			alerts = append(alerts, a)
		default:
			t.Fatalf("event.kind %q: %.200s", d.Event.Kind, sc.Text())
		}
	}
	return events, alerts
}

func alertsOf(alerts []alertDoc, ruleName string) []alertDoc {
	var out []alertDoc
	for _, a := range alerts {
		if a.Rule.Name == ruleName {
			out = append(out, a)
		}
	}
	return out
}

const burstTitle = "WSS Admin Portal Burst of Failed Sign-Ins"

// checkBurst asserts one burst alert whose related.hash are exactly the
// hashes of the events with ids.
func checkBurst(t *testing.T, events map[string]string, alerts []alertDoc, ids ...string) {
	t.Helper()
	bursts := alertsOf(alerts, burstTitle)
	if len(bursts) != 1 {
		t.Fatalf("%d burst alerts, want 1 (all alerts: %+v)", len(bursts), alerts)
	}
	var want []string
	for _, id := range ids {
		h, ok := events[id]
		if !ok {
			t.Fatalf("event %s not delivered", id)
		}
		want = append(want, h)
	}
	got := slices.Clone(bursts[0].Related.Hash)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("burst alert related.hash = %v, want the hashes of %v = %v", got, ids, want)
	}
}

func (h *detHarness) burst(from time.Time, n int, prefix string) []string {
	var ids []string
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("%s%d", prefix, i)
		h.api.failedLogin(id, from.Add(time.Duration(i)*time.Minute), "admin@example.com", "203.0.113.9")
		ids = append(ids, id)
	}
	return ids
}

// A burst fires once, with the hashes of its events, and polling the same
// records again (every run refetches the overlap) fires nothing more.
func TestDetectionAlertOnceAcrossRepolls(t *testing.T) {
	h := newDetHarness(t)
	ids := h.burst(t0.Add(-90*time.Minute), 5, "f")
	y := h.yaml("  enabled: true\n")
	for run := 0; run < 3; run++ {
		h.run(y)
		h.clock.Add(10 * time.Minute)
	}
	if h.api.requests < 3 {
		t.Fatalf("only %d requests", h.api.requests)
	}
	events, alerts := readOut(t, h.out("local"))
	if len(events) != 5 {
		t.Fatalf("%d events, want 5", len(events))
	}
	checkBurst(t, events, alerts, ids...)
	if len(alerts) != 1 {
		t.Fatalf("%d alerts, want 1: %+v", len(alerts), alerts)
	}
	if alerts[0].Labels.Source != "t1" {
		t.Fatalf("alert labels.source %q, want the source's name t1", alerts[0].Labels.Source)
	}
}

// Three failures in one run, two in the next: the state saved with the
// first run's checkpoint carries the half-built burst across the restart.
func TestDetectionStateSurvivesRestart(t *testing.T) {
	h := newDetHarness(t)
	first := h.burst(t0.Add(-20*time.Minute), 3, "a")
	y := h.yaml("  enabled: true\n")
	h.run(y)
	if _, alerts := readOut(t, h.out("local")); len(alerts) != 0 {
		t.Fatalf("alerts after 3 failures: %+v", alerts)
	}
	second := h.burst(t0.Add(-17*time.Minute), 2, "b")
	h.clock.Add(5 * time.Minute)
	h.run(y)
	events, alerts := readOut(t, h.out("local"))
	checkBurst(t, events, alerts, append(first, second...)...)
}

// A window that fails after three records is polled again: the engine
// goes back to the checkpoint with the queues, so the three count once.
func TestDetectionRollsBackWithAFailedWindow(t *testing.T) {
	h := newDetHarness(t)
	ids := h.burst(t0.Add(-30*time.Minute), 5, "r")
	h.api.cutFirst = 3
	h.run(h.yaml("  enabled: true\n"))
	if h.api.requests < 2 {
		t.Fatalf("the cut window was not polled again (%d requests)", h.api.requests)
	}
	events, alerts := readOut(t, h.out("local"))
	checkBurst(t, events, alerts, ids...)
}

// detections.outputs chooses who gets alerts; every output gets events.
func TestDetectionOutputsChooseAlertReceivers(t *testing.T) {
	h := newDetHarness(t)
	h.burst(t0.Add(-30*time.Minute), 5, "o")
	h.run(h.yaml("  outputs: [siem]\n", "archive", "siem"))
	evA, alA := readOut(t, h.out("archive"))
	evS, alS := readOut(t, h.out("siem"))
	if len(evA) != 5 || len(evS) != 5 {
		t.Fatalf("events: archive %d, siem %d, want 5 each", len(evA), len(evS))
	}
	if len(alA) != 0 || len(alertsOf(alS, burstTitle)) != 1 {
		t.Fatalf("alerts: archive %d (want 0), siem %+v (want the burst)", len(alA), alS)
	}
}

// Without a detections section nothing is evaluated: the outputs hold
// the records only, as before detections existed.
func TestDetectionsOffByDefault(t *testing.T) {
	h := newDetHarness(t)
	h.burst(t0.Add(-30*time.Minute), 5, "d")
	y := h.yaml("  enabled: false\n")
	h.run(y)
	events, alerts := readOut(t, h.out("local"))
	if len(events) != 5 || len(alerts) != 0 {
		t.Fatalf("enabled: false: %d events, %d alerts", len(events), len(alerts))
	}
}

// detections.overrides turn a rule off (by file name) and a typo in them
// is refused before anything runs, as is a business-hours time zone that
// does not exist.
func TestDetectionOverrides(t *testing.T) {
	h := newDetHarness(t)
	h.burst(t0.Add(-30*time.Minute), 5, "x")
	h.run(h.yaml("  overrides: {mr_wss_audit_admin_signin_failed_burst: {disabled: true}, mr_wss_audit_admin_signin_failed_burst_step: {disabled: true}, mr_wss_audit_admin_signin_success_after_failures: {disabled: true}}\n"))
	events, alerts := readOut(t, h.out("local"))
	if len(events) != 5 || len(alertsOf(alerts, burstTitle)) != 0 {
		t.Fatalf("disabled burst rule: %d events, alerts %+v", len(events), alerts)
	}
	hh := &harness{t: t, dir: h.dir, clock: h.clock}
	for _, bad := range []string{
		"  overrides: {no_such_rule: {disabled: true}}\n",
		"  business_hours: {timezone: Mars/Olympus}\n",
	} {
		c := hh.config(h.yaml(bad))
		if _, err := LoadDetections(c); err == nil {
			t.Errorf("%q loaded", bad)
		} else {
			t.Logf("%q: %v", bad, err)
		}
	}
}
