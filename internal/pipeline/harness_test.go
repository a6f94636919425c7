package pipeline

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/auditfwd/auditfwd/internal/config"
	"github.com/auditfwd/auditfwd/internal/event"
	"github.com/auditfwd/auditfwd/internal/simulator"
	"github.com/auditfwd/auditfwd/outputs"
	"github.com/auditfwd/auditfwd/outputs/file"
)

type fakeClock struct{ ns atomic.Int64 }

func newClock(t time.Time) *fakeClock {
	c := &fakeClock{}
	c.ns.Store(t.UnixNano())
	return c
}
func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) Add(d time.Duration)     { c.ns.Add(int64(d)) }
func (c *fakeClock) Set(t time.Time)         { c.ns.Store(t.UnixNano()) }
func (c *fakeClock) Since(t time.Time) int64 { return c.ns.Load() - t.UnixNano() }

// harness is one simulated tenant and a state_dir.
type harness struct {
	t     *testing.T
	dir   string
	sim   *simulator.Simulator
	srv   *httptest.Server
	clock *fakeClock
	sc    simulator.Config
}

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func newHarness(t *testing.T, mod func(*simulator.Config)) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), clock: newClock(t0)}
	h.sc = simulator.Config{
		Username: "api-user", Password: "api-pass", Seed: 7,
		Start: t0.Add(-72 * time.Hour), End: t0, Records: 3000,
		Now: h.clock.Now, DuplicateRate: 0.03, MalformedRate: 0.02, HostileRate: 0.05,
		Shape: "data", Schema: "mixed",
	}
	if mod != nil {
		mod(&h.sc)
	}
	sim, err := simulator.New(h.sc)
	if err != nil {
		t.Fatal(err)
	}
	h.sim = sim
	h.srv = httptest.NewServer(sim)
	t.Cleanup(h.srv.Close)
	return h
}

func (h *harness) eventsPath() string { return filepath.Join(h.dir, "out", "events.ndjson") }

// yaml is a config for this harness; extra is appended under the source.
func (h *harness) yaml(sourceExtra, outputsYAML string) string {
	if outputsYAML == "" {
		outputsYAML = fmt.Sprintf("  - {name: local, type: file, path: %q, batch: {flush_interval: 10ms}}\n", h.eventsPath())
	}
	return fmt.Sprintf(`state_dir: %q
shutdown_timeout: 20s
sources:
  - name: t1
    base_url: %s
    username: api-user
    password: api-pass
    start: %s
    retry: {initial_interval: 10ms, max_interval: 50ms}
%soutputs:
%s`, filepath.Join(h.dir, "state"), h.srv.URL, h.sc.Start.Format(time.RFC3339), sourceExtra, outputsYAML)
}

func (h *harness) config(y string) *config.Config {
	h.t.Helper()
	c, err := config.Parse([]byte(y), h.clock.Now())
	if err != nil {
		h.t.Fatalf("config: %v\n%s", err, y)
	}
	return c
}

func quietLog() *logrus.Logger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	if os.Getenv("AUDITFWD_TEST_LOG") != "" {
		l.SetOutput(os.Stderr)
		l.SetLevel(logrus.DebugLevel)
	}
	return l
}

// fileOutputs builds the outputs of c the way cmd does, substituting the
// given test outputs by name.
func buildOuts(t *testing.T, c *config.Config, subst map[string]outputs.Output) []outputs.Output {
	t.Helper()
	var outs []outputs.Output
	for _, oc := range c.Outputs {
		if o, ok := subst[oc.Name]; ok {
			outs = append(outs, o)
			continue
		}
		if oc.Type != "file" {
			t.Fatalf("output %s: no test substitute", oc.Name)
		}
		o, err := file.New(oc.Name, *oc.File)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, o)
	}
	return outs
}

// runOnce runs the pipeline with --once semantics.
func (h *harness) runOnce(c *config.Config, subst map[string]outputs.Output) (*Pipeline, error) {
	h.t.Helper()
	p, err := New(c, buildOuts(h.t, c, subst), quietLog(), Options{Once: true, Now: h.clock.Now, OnceMaxAttempts: 20})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = p.Run(ctx)
	if cerr := p.Close(); cerr != nil && err == nil {
		err = cerr
	}
	return p, err
}

// readIDs counts event.id per line of an NDJSON file and checks each line
// is a complete ECS document.
func readIDs(t *testing.T, path string) map[string]int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ids := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var d struct {
			TS    string `json:"@timestamp"`
			Event struct {
				ID   string `json:"id"`
				Hash string `json:"hash"`
				Kind string `json:"kind"`
			} `json:"event"`
		}
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("line is not JSON: %v: %.200s", err, sc.Text())
		}
		if d.Event.ID == "" || d.Event.Hash == "" || d.TS == "" || d.Event.Kind != "event" {
			t.Fatalf("incomplete event: %.300s", sc.Text())
		}
		ids[d.Event.ID]++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// checkExactlyOnce asserts every valid simulator record is in ids once.
func checkExactlyOnce(t *testing.T, sim *simulator.Simulator, ids map[string]int) {
	t.Helper()
	want := sim.ValidIDs()
	missing, dup := 0, 0
	for _, id := range want {
		switch ids[id] {
		case 0:
			missing++
		case 1:
		default:
			dup++
		}
	}
	if missing > 0 || dup > 0 || len(ids) != len(want) {
		t.Fatalf("exactly-once broken: %d records, %d delivered ids, %d missing, %d duplicated", len(want), len(ids), missing, dup)
	}
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

// testOutput is a fault-injecting output: it can fail whole batches a
// number of times, refuse chosen events for good, ask for retries of chosen
// events, or hang until released.
type testOutput struct {
	name string

	mu         sync.Mutex
	got        map[string]int // event hash -> deliveries
	order      []string
	failNext   int                    // fail this many Write calls
	down       atomic.Bool            // fail every Write while set
	permanent  func(event.Event) bool // refuse for good
	retryOnce  map[string]bool        // ask to retry these once
	hang       chan struct{}          // block Write until closed
	writes     atomic.Int64
	onWrite    func(batch []event.Event) // observe
	retryAfter time.Duration
}

func newTestOutput(name string) *testOutput {
	return &testOutput{name: name, got: map[string]int{}, retryOnce: map[string]bool{}}
}

func (o *testOutput) Name() string { return o.name }
func (o *testOutput) Close() error { return nil }

func (o *testOutput) Write(ctx context.Context, batch []event.Event) error {
	o.writes.Add(1)
	if o.onWrite != nil {
		o.onWrite(batch)
	}
	o.mu.Lock()
	hang := o.hang
	o.mu.Unlock()
	if hang != nil {
		select {
		case <-hang:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if o.down.Load() {
		return fmt.Errorf("%s is down", o.name)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.failNext > 0 {
		o.failNext--
		if o.retryAfter > 0 {
			return &outputs.RetryAfterError{After: o.retryAfter, Err: fmt.Errorf("busy")}
		}
		return fmt.Errorf("transient failure")
	}
	be := &outputs.BatchError{Permanent: map[int]error{}}
	for i, e := range batch {
		h := e.HashHex()
		if o.permanent != nil && o.permanent(e) {
			be.Permanent[i] = fmt.Errorf("refused %s", h[:8])
			continue
		}
		if o.retryOnce[h] {
			delete(o.retryOnce, h)
			be.Retry = append(be.Retry, i)
			continue
		}
		o.got[h]++
		o.order = append(o.order, h)
	}
	if len(be.Permanent) > 0 || len(be.Retry) > 0 {
		return be
	}
	return nil
}

func (o *testOutput) deliveries() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	m := make(map[string]int, len(o.got))
	for k, v := range o.got {
		m[k] = v
	}
	return m
}

// distinctMalformed fetches every entry the simulator serves and counts the
// distinct malformed ones: identical bytes are one record to a hash-based
// dedup ("oops" served twice is one dead-letter line), distinct ones each
// need their line.
func (h *harness) distinctMalformed() int {
	h.t.Helper()
	h.sim.ClearFaults()
	url := fmt.Sprintf("%s%s?startDate=%d&endDate=%d&format=JSON", h.srv.URL, simulator.DefaultPath,
		h.sc.Start.Add(-48*time.Hour).UnixMilli(), h.sc.End.Add(48*time.Hour).UnixMilli())
	req, _ := http.NewRequest("GET", url, nil)
	req.SetBasicAuth(h.sc.Username, h.sc.Password)
	saved := h.clock.Now()
	h.clock.Set(h.sc.End.Add(48 * time.Hour)) // everything visible
	defer h.clock.Set(saved)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var entries []json.RawMessage
	if err := json.Unmarshal(body, &entries); err != nil {
		var wrapped map[string]json.RawMessage
		if err := json.Unmarshal(body, &wrapped); err != nil {
			h.t.Fatalf("simulator body: %v", err)
		}
		for _, v := range wrapped {
			if len(v) > 0 && v[0] == '[' {
				json.Unmarshal(v, &entries)
			}
		}
	}
	distinct := map[string]bool{}
	for _, e := range entries {
		var v any
		json.Unmarshal(e, &v)
		m, isObj := v.(map[string]any)
		if isObj {
			if id, _ := m["id"].(string); !strings.HasPrefix(id, "bad-") {
				continue
			}
		}
		norm, _ := json.Marshal(v)
		distinct[string(norm)] = true
	}
	return len(distinct)
}
