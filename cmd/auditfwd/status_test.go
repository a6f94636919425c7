package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// statusMetrics is a scrape of an agent with two sources and two outputs,
// plus metrics status must ignore (a histogram, the Go runtime's).
const statusMetrics = `# HELP auditfwd_source_records_fetched_total Records streamed from the API.
# TYPE auditfwd_source_records_fetched_total counter
auditfwd_source_records_fetched_total{source="eu"} 1200
auditfwd_source_records_fetched_total{source="us"} 31
# TYPE auditfwd_source_records_new_total counter
auditfwd_source_records_new_total{source="eu"} 1100
auditfwd_source_records_new_total{source="us"} 30
# TYPE auditfwd_source_records_duplicate_total counter
auditfwd_source_records_duplicate_total{source="eu"} 95
auditfwd_source_records_duplicate_total{source="us"} 0
# TYPE auditfwd_source_records_dead_lettered_total counter
auditfwd_source_records_dead_lettered_total{source="eu"} 5
auditfwd_source_records_dead_lettered_total{source="us"} 1
# TYPE auditfwd_source_windows_total counter
auditfwd_source_windows_total{source="eu"} 40
auditfwd_source_windows_total{source="us"} 3
# TYPE auditfwd_source_window_failures_total counter
auditfwd_source_window_failures_total{source="eu"} 0
auditfwd_source_window_failures_total{source="us"} 7
# TYPE auditfwd_source_api_responses_total counter
auditfwd_source_api_responses_total{code="200",source="eu"} 40
auditfwd_source_api_responses_total{code="200",source="us"} 3
auditfwd_source_api_responses_total{code="429",source="us"} 4
auditfwd_source_api_responses_total{code="503",source="us"} 3
# TYPE auditfwd_source_retry_wait_seconds_total counter
auditfwd_source_retry_wait_seconds_total{source="us"} 95.5
# TYPE auditfwd_source_blocked gauge
auditfwd_source_blocked{source="eu"} 0
auditfwd_source_blocked{source="us"} 0
# TYPE auditfwd_source_last_success_timestamp_seconds gauge
auditfwd_source_last_success_timestamp_seconds{source="eu"} %d
auditfwd_source_last_success_timestamp_seconds{source="us"} %d
# TYPE auditfwd_source_lag_seconds gauge
auditfwd_source_lag_seconds{source="eu"} 75
auditfwd_source_lag_seconds{source="us"} 7300
# TYPE auditfwd_dedup_entries gauge
auditfwd_dedup_entries{source="eu"} 1100
auditfwd_dedup_entries{source="us"} 30
# TYPE auditfwd_output_events_delivered_total counter
auditfwd_output_events_delivered_total{output="kafka"} 1000
auditfwd_output_events_delivered_total{output="local"} 1130
# TYPE auditfwd_output_events_retried_total counter
auditfwd_output_events_retried_total{output="kafka"} 300
auditfwd_output_events_retried_total{output="local"} 0
# TYPE auditfwd_output_events_dead_lettered_total counter
auditfwd_output_events_dead_lettered_total{output="kafka"} 2
auditfwd_output_events_dead_lettered_total{output="local"} 0
# TYPE auditfwd_output_events_dropped_total counter
auditfwd_output_events_dropped_total{output="kafka"} 0
auditfwd_output_events_dropped_total{output="local"} 0
# TYPE auditfwd_output_write_failures_total counter
auditfwd_output_write_failures_total{output="kafka"} 12
auditfwd_output_write_failures_total{output="local"} 0
# TYPE auditfwd_output_queue_events gauge
auditfwd_output_queue_events{output="kafka"} 128
auditfwd_output_queue_events{output="local"} 0
# TYPE auditfwd_output_queue_bytes gauge
auditfwd_output_queue_bytes{output="kafka"} 1.002438656e+09
auditfwd_output_queue_bytes{output="local"} 0
# TYPE auditfwd_output_queue_oldest_age_seconds gauge
auditfwd_output_queue_oldest_age_seconds{output="kafka"} 320
auditfwd_output_queue_oldest_age_seconds{output="local"} 0
# TYPE auditfwd_output_queue_max_bytes gauge
auditfwd_output_queue_max_bytes{output="kafka"} 1.073741824e+09
auditfwd_output_queue_max_bytes{output="local"} 1.073741824e+09
# HELP auditfwd_output_batch_duration_seconds A metric status does not know.
# TYPE auditfwd_output_batch_duration_seconds histogram
auditfwd_output_batch_duration_seconds_bucket{output="kafka",le="0.1"} 3
auditfwd_output_batch_duration_seconds_bucket{output="kafka",le="+Inf"} 4
auditfwd_output_batch_duration_seconds_sum{output="kafka"} 1.5
auditfwd_output_batch_duration_seconds_count{output="kafka"} 4
# TYPE go_goroutines gauge
go_goroutines 42
`

const statusNotReady = `{"ready":false,"sources":{"eu":"ok","us":"no successful poll for over 15m0s: HTTP 503"},"outputs":{"kafka":"queue at 1002438656 of 1073741824 bytes: broker down","local":"ok"}}`

// fakeAgent serves metrics and readyz as the agent would.
func fakeAgent(t *testing.T, metrics, ready string) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		io.WriteString(w, metrics)
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if strings.Contains(ready, `"ready":false`) {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		io.WriteString(w, ready)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func runStatus(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(append([]string{"status"}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// row returns the table line that starts with name, split on runs of two
// or more spaces (the tabwriter's padding), or fails.
func row(t *testing.T, table, name string) []string {
	t.Helper()
	for _, line := range strings.Split(table, "\n") {
		if strings.HasPrefix(line, name+" ") {
			return regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(line), -1)
		}
	}
	t.Fatalf("no row %q in:\n%s", name, table)
	return nil
}

func TestStatusTableAndJSON(t *testing.T) {
	now := time.Now().Unix()
	srv := fakeAgent(t, fmt.Sprintf(statusMetrics, now-12, now-3700), statusNotReady)

	code, stdout, stderr := runStatus("--url", srv.URL)
	if code != exitRuntime {
		t.Fatalf("not ready: exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	if !strings.HasPrefix(stdout, "auditfwd at "+srv.URL+": NOT READY\n") {
		t.Errorf("first line:\n%s", stdout)
	}
	for name, want := range map[string][]string{
		"eu":    {"eu", "ok", "12s ago", "1m15s", "1200", "1100", "95", "5", "0", "-"},
		"us":    {"us", "not ready", "1h01m ago", "2h01m", "31", "30", "0", "1", "7", "429:4 503:3"},
		"kafka": {"kafka", "not ready", "128", "956.0 MiB (93% of 1.0 GiB)", "5m20s", "1000", "300", "2", "0", "12"},
		"local": {"local", "ok", "0", "0 B (0% of 1.0 GiB)", "-", "1130", "0", "0", "0", "0"},
	} {
		if got := row(t, stdout, name); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("row %s:\n got %q\nwant %q", name, got, want)
		}
	}
	for _, want := range []string{
		"  source us: no successful poll for over 15m0s: HTTP 503",
		"  output kafka: queue at 1002438656 of 1073741824 bytes: broker down",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("reasons lack %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "batch_duration") || strings.Contains(stdout, "go_goroutines") {
		t.Errorf("unknown metrics shown:\n%s", stdout)
	}

	code, stdout, _ = runStatus("--url", srv.URL, "--json")
	if code != exitRuntime {
		t.Fatalf("--json, not ready: exit %d", code)
	}
	var rep statusReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("--json: %v\n%s", err, stdout)
	}
	if rep.Ready || len(rep.Sources) != 2 || len(rep.Outputs) != 2 {
		t.Fatalf("--json: %+v", rep)
	}
	us, kafka := rep.Sources[1], rep.Outputs[0]
	if us.Name != "us" || us.Fetched != 31 || us.WindowFailures != 7 || us.APIResponses["429"] != 4 ||
		us.RetryWaitSeconds != 95.5 || *us.LagSeconds != 7300 || us.LastPoll.Unix() != now-3700 ||
		!strings.HasPrefix(us.State, "no successful poll") {
		t.Errorf("source us: %+v", us)
	}
	if kafka.Name != "kafka" || kafka.QueueEvents != 128 || kafka.QueueBytes != 1002438656 || kafka.QueueMaxBytes != 1<<30 ||
		kafka.Delivered != 1000 || kafka.WriteFailures != 12 || kafka.QueueOldestAgeSeconds != 320 {
		t.Errorf("output kafka: %+v", kafka)
	}

	// Ready: exit 0, no reasons.
	ready := fakeAgent(t, fmt.Sprintf(statusMetrics, now, now), `{"ready":true,"sources":{"eu":"ok","us":"starting"},"outputs":{"kafka":"ok","local":"ok"}}`)
	code, stdout, stderr = runStatus("--url", strings.TrimPrefix(ready.URL, "http://")+"/metrics")
	if code != exitOK || strings.Contains(stdout, "not ready") || row(t, stdout, "us")[1] != "starting" {
		t.Fatalf("ready: exit %d\n%s%s", code, stdout, stderr)
	}
}

func TestStatusErrors(t *testing.T) {
	dir := t.TempDir()
	disabled := filepath.Join(dir, "disabled.yaml")
	os.WriteFile(disabled, []byte("metrics: {listen: \"\"}\nsources: []\n"), 0o600)
	closed := filepath.Join(dir, "closed.yaml")
	addr := freeAddr(t)
	// The sources' ${VAR}s are not set here, and status does not need them.
	os.WriteFile(closed, []byte(fmt.Sprintf("metrics: {listen: %q}\nsources:\n  - {name: a, password: \"${NOT_SET_ANYWHERE}\"}\n", addr)), 0o600)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "# TYPE go_goroutines gauge\ngo_goroutines 3\n")
	}))
	defer other.Close()
	hung := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer hung.Close()

	cases := []struct {
		args []string
		code int
		want string
	}{
		{nil, exitUsage, "--config or --url is required"},
		{[]string{"--config", closed, "--url", "http://x"}, exitUsage, "not both"},
		{[]string{"--url", "ftp://x"}, exitUsage, "want http://HOST:PORT"},
		{[]string{"--config", disabled}, exitUsage, "metrics disabled (metrics.listen: \"\")"},
		{[]string{"--config", filepath.Join(dir, "nope.yaml")}, exitUsage, "no such file"},
		{[]string{"--config", closed}, exitRuntime, "no auditfwd answering on " + addr + " (metrics.listen of " + closed + "): is it running?"},
		{[]string{"--url", "http://" + addr}, exitRuntime, "no auditfwd answering on " + addr + ": is it running?"},
		{[]string{"--url", other.URL}, exitRuntime, "has no auditfwd_ metrics"},
		{[]string{"--url", hung.URL, "--timeout", "200ms"}, exitRuntime, "did not answer within 200ms"},
		{[]string{"--help"}, exitOK, "Exit codes: 0 the agent answered and is ready"},
	}
	for _, c := range cases {
		code, stdout, stderr := runStatus(c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) || stdout != "" {
			t.Errorf("%v: exit %d (want %d), stderr lacks %q:\n%s%s", c.args, code, c.code, c.want, stdout, stderr)
		}
	}
}

func TestStatusHelpers(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:9464": "127.0.0.1:9464", ":9464": "127.0.0.1:9464", "0.0.0.0:1": "127.0.0.1:1",
		"[::]:9464": "[::1]:9464", "host.example:80": "host.example:80",
	} {
		if got := dialAddr(in); got != want {
			t.Errorf("dialAddr(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[float64]string{0: "0s", 59.9: "59s", 61: "1m01s", 3600: "1h00m", 90000: "1d01h"} {
		if got := humanAge(in); got != want {
			t.Errorf("humanAge(%v) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1536: "1.5 KiB", 64 << 20: "64.0 MiB", 3 << 40: "3.0 TiB"} {
		if got := humanBytes(in); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", in, got, want)
		}
	}
}

// sample returns one metric's value from the agent's /metrics, or -1.
func sample(t *testing.T, addr, series string) float64 {
	t.Helper()
	_, body := scrape(addr, "/metrics")
	if v, ok := metric(body, series); ok {
		return v
	}
	return -1
}

// The real daemon against the simulator: status reads what /metrics and
// the output file say.
func TestStatusAgainstRunningAgent(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the daemon")
	}
	maddr := freeAddr(t)
	e := newCrashEnvMetrics(t, 2000, "", maddr)
	cmd := exec.Command(binPath, "run", "--config", e.cfg)
	var daemonErr bytes.Buffer
	cmd.Stderr = &daemonErr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	valid := float64(len(e.sim.ValidIDs()))
	deadline := time.Now().Add(60 * time.Second)
	for sample(t, maddr, `auditfwd_output_events_delivered_total{output="one"}`) != valid ||
		sample(t, maddr, `auditfwd_output_events_delivered_total{output="two"}`) != valid ||
		sample(t, maddr, `auditfwd_source_last_success_timestamp_seconds{source="t"}`) < 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the daemon never delivered all %v events:\n%s", valid, daemonErr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The daemon keeps polling (and re-fetching its overlap), so fetched
	// is bracketed by scrapes before and after.
	before := sample(t, maddr, `auditfwd_source_records_fetched_total{source="t"}`)
	code, stdout, stderr := runBin(t, nil, "status", "--config", e.cfg, "--json")
	after := sample(t, maddr, `auditfwd_source_records_fetched_total{source="t"}`)
	if code != 0 {
		t.Fatalf("status --json: exit %d\n%s%s", code, stdout, stderr)
	}
	var rep statusReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%v:\n%s", err, stdout)
	}
	if !rep.Ready || rep.URL != "http://"+maddr || len(rep.Sources) != 1 || len(rep.Outputs) != 2 {
		t.Fatalf("%+v", rep)
	}
	s := rep.Sources[0]
	if s.Name != "t" || s.State != "ok" || float64(s.Fetched) < before || float64(s.Fetched) > after || before < valid ||
		float64(s.New) != valid || s.DeadLettered == 0 || s.APIResponses["200"] == 0 ||
		s.LastPollAgeSeconds == nil || *s.LastPollAgeSeconds > 10 || s.LagSeconds == nil {
		t.Errorf("source (fetched between %v and %v, %v new): %+v", before, after, valid, s)
	}
	for _, o := range rep.Outputs {
		path := map[string]string{"one": e.out1, "two": e.out2}[o.Name]
		lines := len(idsIn(t, path))
		if o.State != "ok" || o.Delivered != int64(lines) || o.Delivered != int64(valid) || o.QueueEvents != 0 || o.QueueMaxBytes <= 0 {
			t.Errorf("output %s (%d lines in its file): %+v", o.Name, lines, o)
		}
	}

	code, stdout, stderr = runBin(t, nil, "status", "--config", e.cfg)
	if code != 0 || !strings.Contains(stdout, "http://"+maddr+": ready") {
		t.Fatalf("status: exit %d\n%s%s", code, stdout, stderr)
	}
	t.Logf("status:\n%s", stdout)
	if got := row(t, stdout, "one"); got[1] != "ok" || got[5] != strconv.Itoa(int(valid)) {
		t.Errorf("row one: %q (want delivered %v)\n%s", got, valid, stdout)
	}
	if got := row(t, stdout, "t"); got[1] != "ok" || got[5] != strconv.Itoa(int(valid)) {
		t.Errorf("row t: %q (want new %v)\n%s", got, valid, stdout)
	}

	// Once it has stopped, nothing answers.
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("daemon exit: %v\n%s", err, daemonErr.String())
	}
	code, stdout, stderr = runBin(t, nil, "status", "--config", e.cfg)
	if code != 1 || stdout != "" || !strings.Contains(stderr, "no auditfwd answering on "+maddr) {
		t.Fatalf("stopped agent: exit %d\n%s%s", code, stdout, stderr)
	}
}

// With detections on, status says how many rules run and lists the alerts
// of the last hour by rule, most first.
func TestStatusShowsAlerts(t *testing.T) {
	now := time.Now().Unix()
	metrics := fmt.Sprintf(statusMetrics, now, now) + `# TYPE auditfwd_detect_rules gauge
auditfwd_detect_rules{source="eu"} 21
# TYPE auditfwd_detect_events_evaluated_total counter
auditfwd_detect_events_evaluated_total{source="eu"} 1100
# TYPE auditfwd_detect_alerts_total counter
auditfwd_detect_alerts_total{source="eu",rule_id="r1",rule="Burst of Failed Sign-Ins"} 4
auditfwd_detect_alerts_total{source="eu",rule_id="r2",rule="Policy Rule Deleted"} 9
# TYPE auditfwd_detect_alerts_last_hour gauge
auditfwd_detect_alerts_last_hour{source="eu",rule_id="r1",rule="Burst of Failed Sign-Ins"} 3
auditfwd_detect_alerts_last_hour{source="eu",rule_id="r2",rule="Policy Rule Deleted"} 0
`
	srv := fakeAgent(t, metrics, `{"ready":true,"sources":{"eu":"ok","us":"ok"},"outputs":{"kafka":"ok","local":"ok"}}`)
	code, stdout, stderr := runStatus("--url", srv.URL)
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "detections on eu: 21 rules, 1100 events evaluated, 3 alerts in the last hour") {
		t.Errorf("no detections line:\n%s", stdout)
	}
	first, second := strings.Index(stdout, "Burst of Failed Sign-Ins"), strings.Index(stdout, "Policy Rule Deleted")
	if first < 0 || second < first {
		t.Errorf("alerts not listed, last hour first:\n%s", stdout)
	}
	if strings.Contains(stdout, "detections on us") {
		t.Errorf("us has no detections:\n%s", stdout)
	}
}
