package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/auditfwd/auditfwd/internal/simulator"
)

var binPath string

// TestMain builds the real binary once; the tests run it as a subprocess.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "auditfwd-bin")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "auditfwd")
	out, err := exec.Command("go", "build", "-race", "-o", binPath, ".").CombinedOutput()
	if err != nil {
		// -race needs cgo; fall back to a plain build.
		out, err = exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func runBin(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, stdout.String(), stderr.String()
}

func TestUsageAndExitCodes(t *testing.T) {
	cases := []struct {
		args []string
		code int
		out  string
	}{
		{nil, 2, "Usage"},
		{[]string{"--help"}, 0, "auditfwd demo"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"run", "--help"}, 0, "-once"},
		{[]string{"validate", "--help"}, 0, "-config"},
		{[]string{"simulate", "--help"}, 0, "-addr"},
		{[]string{"demo", "--help"}, 0, "-dir"},
		{[]string{"run"}, 2, "--config is required"},
		{[]string{"run", "--config", "/nonexistent.yaml"}, 2, "no such file"},
		{[]string{"run", "--bogus"}, 2, "flag provided but not defined"},
		{[]string{"version"}, 0, "go:      " + runtime.Version()},
		{[]string{"--version"}, 0, "commit:  "},
	}
	for _, c := range cases {
		code, stdout, stderr := runBin(t, nil, c.args...)
		if code != c.code || !strings.Contains(stdout+stderr, c.out) {
			t.Errorf("%v: exit %d (want %d), output lacks %q:\n%s%s", c.args, code, c.code, c.out, stdout, stderr)
		}
	}
}

func TestValidateReportsEveryError(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte(`sources:
  - name: a
    base_url: "not a url"
    username: u
    password: ${NOT_SET_ANYWHERE}
    date_format: daily
    bogus: 1
outputs:
  - {name: o, type: file}
`), 0o600)
	code, _, stderr := runBin(t, nil, "validate", "--config", cfg)
	if code != 2 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"sources[0].bogus: unknown key", "sources[0].password: environment variable NOT_SET_ANYWHERE is not set"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("missing %q in:\n%s", want, stderr)
		}
	}
	os.WriteFile(cfg, []byte(`sources:
  - {name: a, base_url: "not a url", username: u, password: p, date_format: daily}
outputs:
  - {name: o, type: file}
`), 0o600)
	code, _, stderr = runBin(t, nil, "validate", "--config", cfg)
	for _, want := range []string{"sources[0].base_url", "sources[0].date_format", "outputs[0].path: required"} {
		if code != 2 || !strings.Contains(stderr, want) {
			t.Errorf("exit %d, missing %q in:\n%s", code, want, stderr)
		}
	}
	if strings.Contains(stderr, "password: p") {
		t.Error("a secret was printed")
	}
}

func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole demo")
	}
	dir := filepath.Join(t.TempDir(), "demo-out")
	code, stdout, stderr := runBin(t, nil, "demo", "--dir", dir)
	if code != 0 {
		t.Fatalf("demo exit %d:\n%s", code, stderr)
	}
	// A summary on stdout, no events: it must not scroll away.
	if !strings.Contains(stdout, "demo done") {
		t.Fatalf("no summary on stdout:\n%s", stdout)
	}
	if strings.Contains(stdout, `"@timestamp"`) {
		t.Fatalf("events on stdout without --events:\n%.500s", stdout)
	}
	sum := parseDemoSummary(t, stdout)
	file, _ := os.ReadFile(filepath.Join(dir, "events.ndjson"))
	got := demoFileCounts(t, file)
	for _, src := range []string{demoAuditSource, demoAccessSource} {
		s, g := sum[src], got[src]
		if s.events == 0 || g.events != s.events {
			t.Errorf("source %s: the summary says %d new events, the file has %d", src, s.events, g.events)
		}
		// The demo runs the shipped rules: its alerts are in the same file.
		if g.alerts != s.alerts {
			t.Errorf("source %s: the summary says %d alerts, the file has %d", src, s.alerts, g.alerts)
		}
	}
	// Every access event is one: the proxy's access log, not audit records.
	if g := got[demoAccessSource]; g.otherDataset != 0 || got[demoAuditSource].accessDataset != 0 {
		t.Errorf("datasets mixed up: %+v", got)
	}
	if sum[demoAuditSource].alerts == 0 {
		t.Errorf("no audit alert from the scenario tenant:\n%s", stdout)
	}
	if !strings.Contains(stdout, "malformed") || !strings.Contains(stdout, "duplicates") {
		t.Errorf("summary lacks dead letters or duplicates:\n%s", stdout)
	}

	// Again over its own directory, with --events: its files are replaced,
	// a file it did not write stays.
	os.WriteFile(filepath.Join(dir, "mine.txt"), []byte("keep"), 0o600)
	code, stdout, stderr = runBin(t, nil, "demo", "--dir", dir, "--events")
	if code != 0 {
		t.Fatalf("second demo exit %d:\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "mine.txt")); err != nil {
		t.Fatalf("the demo removed a file it did not write: %v", err)
	}
	file, _ = os.ReadFile(filepath.Join(dir, "events.ndjson"))
	sum2 := parseDemoSummary(t, stdout)
	got2 := demoFileCounts(t, file)
	if n := strings.Count(string(file), "\n"); strings.Count(stdout, `"@timestamp"`) != n {
		t.Fatalf("second demo: %d events on stdout, %d in the file", strings.Count(stdout, `"@timestamp"`), n)
	}
	// The file was replaced, not appended to: it holds what this run says.
	// (Against its own summary: both tenants follow the clock, the access
	// log by the hour.)
	for _, src := range []string{demoAuditSource, demoAccessSource} {
		if a, b := got2[src].events, sum2[src].events; a == 0 || a != b {
			t.Fatalf("second demo, source %s: the summary says %d new events, the file has %d", src, b, a)
		}
	}
}

type demoCounts struct {
	events, alerts              int
	accessDataset, otherDataset int // events only
}

// parseDemoSummary reads each source's new events and alerts from the
// demo's summary: a "source NAME (...)" line, then its counts.
func parseDemoSummary(t *testing.T, stdout string) map[string]demoCounts {
	t.Helper()
	out := map[string]demoCounts{}
	head := regexp.MustCompile(`(?m)^source (\S+) \((wss_audit|wss_access)`)
	idx := head.FindAllStringSubmatchIndex(stdout, -1)
	for k, m := range idx {
		end := len(stdout)
		if k+1 < len(idx) {
			end = idx[k+1][0]
		}
		part := stdout[m[0]:end]
		ev := regexp.MustCompile(`(?m)^\s+(\d+) new events`).FindStringSubmatch(part)
		al := regexp.MustCompile(`(?m)^\s+(\d+) alerts`).FindStringSubmatch(part)
		if ev == nil || al == nil {
			t.Fatalf("summary of source %s lacks new events or alerts:\n%s", stdout[m[2]:m[3]], part)
		}
		var c demoCounts
		c.events, _ = strconv.Atoi(ev[1])
		c.alerts, _ = strconv.Atoi(al[1])
		out[stdout[m[2]:m[3]]] = c
	}
	if len(out) != 2 {
		t.Fatalf("summary names %d sources, want the audit and the access one:\n%s", len(out), stdout)
	}
	return out
}

// demoFileCounts counts the file output's events and alerts by source.
func demoFileCounts(t *testing.T, file []byte) map[string]demoCounts {
	t.Helper()
	out := map[string]demoCounts{}
	for n, line := range bytes.Split(bytes.TrimSuffix(file, []byte("\n")), []byte("\n")) {
		var doc struct {
			Event struct {
				Kind    string `json:"kind"`
				Dataset string `json:"dataset"`
			} `json:"event"`
			Labels struct {
				Source string `json:"source"`
			} `json:"labels"`
		}
		if err := json.Unmarshal(line, &doc); err != nil {
			t.Fatalf("events.ndjson line %d: %v", n+1, err)
		}
		c := out[doc.Labels.Source]
		switch {
		case doc.Event.Kind == "alert":
			c.alerts++
		case doc.Event.Dataset == "wss.access":
			c.events++
			c.accessDataset++
		default:
			c.events++
			c.otherDataset++
		}
		out[doc.Labels.Source] = c
	}
	return out
}

// The demo never deletes what it did not make: a non-empty directory
// without its marker (say --dir ..) is refused and left as it was.
func TestDemoRefusesAForeignDirectory(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"events.ndjson", "config.yaml", "notes.txt"} {
		os.WriteFile(filepath.Join(dir, f), []byte("someone's "+f), 0o600)
	}
	os.Mkdir(filepath.Join(dir, "state"), 0o700)
	code, _, stderr := runBin(t, nil, "demo", "--dir", dir)
	if code != 2 || !strings.Contains(stderr, "not empty and was not made by the demo") {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	for _, f := range []string{"events.ndjson", "config.yaml", "notes.txt"} {
		if b, err := os.ReadFile(filepath.Join(dir, f)); err != nil || string(b) != "someone's "+f {
			t.Errorf("%s changed: %q %v", f, b, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "state")); err != nil {
		t.Errorf("state/ removed: %v", err)
	}
}

// crashEnv is a simulator with tens of thousands of records and a config
// with two file outputs, small batches and frequent checkpoints, so a kill
// lands between every kind of durable write.
type crashEnv struct {
	sim    *simulator.Simulator
	url    string // the simulator's base URL
	cfg    string
	out1   string
	out2   string
	dlPath string
}

func newCrashEnv(t *testing.T, records int, extra string) *crashEnv {
	return newCrashEnvMetrics(t, records, extra, "")
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func newCrashEnvMetrics(t *testing.T, records int, extra, metricsAddr string) *crashEnv {
	now := time.Now().UTC()
	sc := simulator.Config{
		Username: "u", Password: "p", Seed: 42,
		Start: now.Add(-5 * 24 * time.Hour), End: now.Add(-time.Minute), Records: records,
		DuplicateRate: 0.02, MalformedRate: 0.01, HostileRate: 0.02, Shape: "data", Schema: "mixed",
	}
	return newCrashEnvFrom(t, sc, "poll_interval: 1s\n    checkpoint_records: 700\n", extra, metricsAddr)
}

// newCrashEnvFrom serves sc (user u, password p) and writes the config;
// tuning holds the source's own keys (indented for the source block),
// extra any further source keys and top-level blocks before outputs.
func newCrashEnvFrom(t *testing.T, sc simulator.Config, tuning, extra, metricsAddr string) *crashEnv {
	sim, err := simulator.New(sc)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	e := &crashEnv{sim: sim, url: srv.URL, out1: filepath.Join(dir, "out1.ndjson"), out2: filepath.Join(dir, "out2.ndjson"),
		cfg: filepath.Join(dir, "config.yaml"), dlPath: filepath.Join(dir, "state", "deadletter.ndjson")}
	y := fmt.Sprintf(`state_dir: %q
shutdown_timeout: 20s
log: {level: warn}
metrics: {listen: %q}
sources:
  - name: t
    base_url: %s
    username: u
    password_file: %q
    start: %s
    %s    retry: {initial_interval: 10ms, max_interval: 100ms}
%soutputs:
  - {name: one, type: file, path: %q, batch: {max_events: 150, flush_interval: 5ms}}
  - {name: two, type: file, path: %q, batch: {max_events: 400, flush_interval: 5ms}, queue: {segment_bytes: 64KiB}}
`, filepath.Join(dir, "state"), metricsAddr, srv.URL, filepath.Join(dir, "pw"), sc.Start.Format(time.RFC3339), tuning, extra, e.out1, e.out2)
	os.WriteFile(filepath.Join(dir, "pw"), []byte("p\n"), 0o600)
	os.WriteFile(e.cfg, []byte(y), 0o600)
	return e
}

func idsIn(t *testing.T, path string) map[string]int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ids := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var d struct {
			Event struct{ ID, Kind string } `json:"event"`
		}
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("%s: a line is not JSON (torn write?): %v: %.200s", path, err, sc.Text())
		}
		if d.Event.Kind == "alert" {
			continue // alertsIn reads those
		}
		ids[d.Event.ID]++
	}
	return ids
}

// outAlert is what the crash checks read of an alert.
type outAlert struct {
	Hash    string
	RuleID  string
	Type    string   // detection or the correlation type
	Related []string // related.hash
}

// alertsIn returns the alerts of an output file in order, and the
// event.hash of every record event in it.
func alertsIn(t *testing.T, path string) ([]outAlert, map[string]bool) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var alerts []outAlert
	events := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var d struct {
			Event    struct{ Kind, Hash string } `json:"event"`
			Rule     struct{ ID string }         `json:"rule"`
			Related  struct{ Hash []string }     `json:"related"`
			Auditfwd struct {
				Alert struct{ Type string } `json:"alert"`
			} `json:"auditfwd"`
		}
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("%s: a line is not JSON (torn write?): %v: %.200s", path, err, sc.Text())
		}
		if d.Event.Kind != "alert" {
			events[d.Event.Hash] = true
			continue
		}
		alerts = append(alerts, outAlert{Hash: d.Event.Hash, RuleID: d.Rule.ID, Type: d.Auditfwd.Alert.Type, Related: d.Related.Hash})
	}
	return alerts, events
}

// checkAlertsOnce judges the alerts of both outputs after crashes: each
// alert once per output, the same alerts in both, each naming only events
// the output holds, and no event counted into two alerts of one
// event_count rule (a replay counted twice fires twice).
func (e *crashEnv) checkAlertsOnce(t *testing.T) int {
	t.Helper()
	var sets []map[string]bool
	for _, out := range []string{e.out1, e.out2} {
		alerts, events := alertsIn(t, out)
		set := map[string]bool{}
		used := map[string]string{} // rule id + event hash -> alert
		for _, a := range alerts {
			if set[a.Hash] {
				t.Fatalf("%s: alert %s (rule %s) delivered twice", filepath.Base(out), a.Hash, a.RuleID)
			}
			set[a.Hash] = true
			for _, h := range a.Related {
				if !events[h] {
					t.Fatalf("%s: alert %s (rule %s) names event %s, which the output does not hold", filepath.Base(out), a.Hash, a.RuleID, h)
				}
				if a.Type != "event_count" {
					continue
				}
				if prev, dup := used[a.RuleID+h]; dup {
					t.Fatalf("%s: event %s counted into two alerts of rule %s: %s and %s", filepath.Base(out), h, a.RuleID, prev, a.Hash)
				}
				used[a.RuleID+h] = a.Hash
			}
		}
		sets = append(sets, set)
	}
	if len(sets[0]) != len(sets[1]) {
		t.Fatalf("the outputs hold %d and %d alerts", len(sets[0]), len(sets[1]))
	}
	for h := range sets[0] {
		if !sets[1][h] {
			t.Fatalf("alert %s is in one output only", h)
		}
	}
	return len(sets[0])
}

func (e *crashEnv) check(t *testing.T) {
	t.Helper()
	want := e.sim.ValidIDs()
	for _, out := range []string{e.out1, e.out2} {
		ids := idsIn(t, out)
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
		if missing != 0 || dup != 0 || len(ids) != len(want) {
			t.Fatalf("%s: %d records, %d ids, %d missing, %d duplicated", filepath.Base(out), len(want), len(ids), missing, dup)
		}
	}
	// The dead letter holds each distinct malformed record once.
	data, err := os.ReadFile(e.dlPath)
	if err != nil {
		t.Fatal(err)
	}
	hashes := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var d struct{ Hash string }
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatalf("dead letter line: %v", err)
		}
		if hashes[d.Hash] {
			t.Fatalf("dead letter repeats %s", d.Hash)
		}
		hashes[d.Hash] = true
	}
	if len(hashes) == 0 {
		t.Fatal("empty dead letter")
	}
}

// SIGTERM: polling stops, queued events go out, exit 0.
func TestSigtermDrainsAndExitsZero(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the daemon")
	}
	maddr := freeAddr(t)
	e := newCrashEnvMetrics(t, 5000, "", maddr)
	cmd := exec.Command(binPath, "run", "--config", e.cfg)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		b1, _ := os.ReadFile(e.out1)
		b2, _ := os.ReadFile(e.out2)
		if strings.Count(string(b1), "\n") == len(e.sim.ValidIDs()) && strings.Count(string(b2), "\n") == len(e.sim.ValidIDs()) {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("daemon did not deliver everything:\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The metrics say the same as the files.
	var body string
	deadline = time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + maddr + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			if strings.Contains(body, fmt.Sprintf(`auditfwd_output_events_delivered_total{output="two"} %d`, len(e.sim.ValidIDs()))) {
				break
			}
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("metrics never showed every event delivered:\n%s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, want := range []string{
		fmt.Sprintf(`auditfwd_source_records_new_total{source="t"} %d`, len(e.sim.ValidIDs())),
		`auditfwd_output_queue_events{output="one"} 0`,
		`auditfwd_source_lag_seconds{source="t"}`,
		`auditfwd_dedup_entries{source="t"}`,
		`auditfwd_source_api_responses_total{code="200",source="t"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if resp, err := http.Get("http://" + maddr + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Errorf("/healthz: %v", err)
	}
	if resp, err := http.Get("http://" + maddr + "/readyz"); err != nil || resp.StatusCode != 200 {
		t.Errorf("/readyz: %v %v", err, resp)
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), `"ready":true`) || !strings.Contains(string(b), `"one":"ok"`) {
			t.Errorf("/readyz body: %s", b)
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	if err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
	}
	e.check(t)
}

// 401 with --once: exit 1 within seconds, with a message naming the cause.
func TestAuthFailureExitsOne(t *testing.T) {
	e := newCrashEnv(t, 100, "")
	e.sim.InjectFault(simulator.Fault{Status: 401, Times: 1000})
	t0 := time.Now()
	code, _, stderr := runBin(t, nil, "run", "--config", e.cfg, "--once")
	if code != 1 || !strings.Contains(stderr, "rejected the credential") {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	if d := time.Since(t0); d > 10*time.Second {
		t.Fatalf("took %s", d)
	}
}

func TestCheck(t *testing.T) {
	e := newCrashEnv(t, 100, "")
	code, stdout, stderr := runBin(t, nil, "check", "--config", e.cfg)
	if code != 0 || !strings.Contains(stdout, "ok   source t") || !strings.Contains(stdout, "ok   output one") {
		t.Fatalf("exit %d:\n%s%s", code, stdout, stderr)
	}
	if _, err := os.Stat(e.out1); err == nil {
		if b, _ := os.ReadFile(e.out1); len(b) > 0 {
			t.Fatal("check wrote data")
		}
	}
	e.sim.InjectFault(simulator.Fault{Status: 403})
	code, stdout, _ = runBin(t, nil, "check", "--config", e.cfg)
	if code != 1 || !strings.Contains(stdout, "FAIL source t") || !strings.Contains(stdout, "Audit Logs") {
		t.Fatalf("exit %d:\n%s", code, stdout)
	}
}
