package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/auditfwd/auditfwd/internal/simulator"
	"github.com/auditfwd/auditfwd/internal/testpeer"
)

type daemon struct {
	cmd    *exec.Cmd
	stderr *testpeer.Buffer
	done   chan struct{} // closed when the process has exited
	err    error         // its exit, once done is closed
}

func startDaemon(t *testing.T, args ...string) *daemon {
	t.Helper()
	d := &daemon{cmd: exec.Command(binPath, args...), stderr: &testpeer.Buffer{}, done: make(chan struct{})}
	d.cmd.Stderr = d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		d.err = d.cmd.Wait()
		close(d.done)
	}()
	t.Cleanup(func() {
		select {
		case <-d.done:
		default:
			d.cmd.Process.Kill()
			<-d.done
		}
	})
	return d
}

func (d *daemon) stop(t *testing.T) {
	t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
		if d.err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", d.err, d.stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("no exit after SIGTERM:\n%s", d.stderr.String())
	}
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool, d *daemon) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			log := ""
			if d != nil {
				log = d.stderr.String()
			}
			t.Fatalf("timed out waiting for %s\n%s", what, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func scrape(addr, path string) (int, string) {
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metric returns the value of one sample ("name{labels}") in a scrape.
func metric(body, sample string) (float64, bool) {
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` (\S+)$`)
	m := re.FindStringSubmatch(body)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	return v, err == nil
}

func lines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte("\n"))
}

func editConfig(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("config lacks %q", old)
	}
	os.WriteFile(path, bytes.Replace(b, []byte(old), []byte(new), 1), 0o600)
}

// Metrics after a known run: fetched is what the simulator served (valid
// records, in-response duplicates and malformed entries); new is every valid
// record; duplicates and dead letters add up.
func TestMetricsAfterKnownRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the daemon")
	}
	maddr := freeAddr(t)
	e := newCrashEnvMetrics(t, 3000, "", maddr)
	editConfig(t, e.cfg, "poll_interval: 1s", "poll_interval: 1h")
	editConfig(t, e.cfg, "log: {level: warn}", "log: {level: info}")
	d := startDaemon(t, "run", "--config", e.cfg)
	valid := len(e.sim.ValidIDs())
	waitFor(t, "every event delivered", 60*time.Second, func() bool {
		_, body := scrape(maddr, "/metrics")
		v1, _ := metric(body, `auditfwd_output_events_delivered_total{output="one"}`)
		v2, _ := metric(body, `auditfwd_output_events_delivered_total{output="two"}`)
		return int(v1) == valid && int(v2) == valid
	}, d)
	_, body := scrape(maddr, "/metrics")
	served, malformed, dups := 0, 0, 0
	for _, r := range e.sim.Requests() {
		served += r.Records + r.Malformed
		malformed += r.Malformed
		dups += r.Duplicates
	}
	get := func(s string) int {
		v, ok := metric(body, s)
		if !ok {
			t.Fatalf("no sample %s in:\n%s", s, body)
		}
		return int(v)
	}
	if got := get(`auditfwd_source_records_fetched_total{source="t"}`); got != served {
		t.Errorf("fetched %d, the simulator served %d", got, served)
	}
	if got := get(`auditfwd_source_records_new_total{source="t"}`); got != valid {
		t.Errorf("new %d, want %d", got, valid)
	}
	dead := get(`auditfwd_source_records_dead_lettered_total{source="t"}`)
	if dead == 0 || dead > malformed {
		t.Errorf("dead-lettered %d, malformed served %d", dead, malformed)
	}
	if got := get(`auditfwd_source_records_duplicate_total{source="t"}`); got != served-valid-dead || got < dups {
		t.Errorf("duplicates %d, want %d (served %d - new %d - dead %d; in-response repeats %d)", got, served-valid-dead, served, valid, dead, dups)
	}
	if got := get(`auditfwd_dedup_entries{source="t"}`); got != valid+dead {
		t.Errorf("dedup entries %d, want %d", got, valid+dead)
	}
	if got := get(`auditfwd_output_batch_duration_seconds_count{output="one"}`); got == 0 {
		t.Error("no batch in the latency histogram")
	}
	if got := get(`auditfwd_source_api_responses_total{code="200",source="t"}`); got != len(e.sim.Requests()) {
		t.Errorf("200 responses %d, requests %d", got, len(e.sim.Requests()))
	}
	for _, s := range []string{`auditfwd_source_lag_seconds{source="t"}`, `auditfwd_source_last_success_timestamp_seconds{source="t"}`,
		`auditfwd_output_queue_events{output="one"}`, `auditfwd_output_queue_oldest_age_seconds{output="two"}`} {
		get(s)
	}
	d.stop(t)
}

// An output whose server is down: its queue fills, /readyz turns 503 and
// names it; a reload without that output makes the agent ready again, and a
// reload with a broken config is refused while the agent goes on.
func TestReadinessAndReload(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the daemon")
	}
	maddr := freeAddr(t)
	e := newCrashEnvMetrics(t, 4000, "", maddr)
	editConfig(t, e.cfg, "log: {level: warn}", "log: {level: info}")
	// An Elasticsearch output on a port nobody listens on.
	broken := fmt.Sprintf("  - {name: broken, type: elasticsearch, addresses: [\"http://%s\"], queue: {max_bytes: 1MiB, policy: block}, retry: {initial_interval: 10ms, max_interval: 50ms}}\n", freeAddr(t))
	editConfig(t, e.cfg, "outputs:\n", "outputs:\n"+broken)
	d := startDaemon(t, "run", "--config", e.cfg)
	waitFor(t, "/readyz to turn 503", 60*time.Second, func() bool {
		code, body := scrape(maddr, "/readyz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, `"broken":"queue at`)
	}, d)

	// A broken config: refused, the old one runs on.
	good, _ := os.ReadFile(e.cfg)
	os.WriteFile(e.cfg, append(append([]byte{}, good...), []byte("bogus_key: 1\n")...), 0o600)
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the refusal in the log", 10*time.Second, func() bool {
		return strings.Contains(d.stderr.String(), "config reload refused") && strings.Contains(d.stderr.String(), "bogus_key")
	}, d)
	if code, _ := scrape(maddr, "/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("the refused config changed something: /readyz %d", code)
	}

	// Without the broken output, and with a third file output added.
	out3 := filepath.Join(filepath.Dir(e.out1), "out3.ndjson")
	os.WriteFile(e.cfg, good, 0o600)
	editConfig(t, e.cfg, broken, fmt.Sprintf("  - {name: three, type: file, path: %q}\n", out3))
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "ready again after the reload", 60*time.Second, func() bool {
		code, _ := scrape(maddr, "/readyz")
		return code == http.StatusOK
	}, d)
	if !strings.Contains(d.stderr.String(), "outputs_removed=broken") || !strings.Contains(d.stderr.String(), "outputs_kept=") {
		t.Errorf("reload log does not say what changed:\n%s", d.stderr.String())
	}
	valid := len(e.sim.ValidIDs())
	waitFor(t, "every record in the kept outputs", 60*time.Second, func() bool {
		return lines(t, e.out1) == valid && lines(t, e.out2) == valid
	}, d)
	_, body := scrape(maddr, "/metrics")
	if !strings.Contains(body, `output="three"`) || strings.Contains(body, `output="broken"`) {
		t.Errorf("metrics do not follow the reload")
	}
	d.stop(t)
	e.check(t) // each kept output: every record exactly once across the reloads
}

// A second source added by a reload starts polling, and its events reach
// every output, including one added by the same reload.
func TestReloadAddsSource(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the daemon")
	}
	e := newCrashEnv(t, 1500, "")
	editConfig(t, e.cfg, "log: {level: warn}", "log: {level: info}")
	d := startDaemon(t, "run", "--config", e.cfg)
	valid := len(e.sim.ValidIDs())
	waitFor(t, "the first source delivered", 60*time.Second, func() bool { return lines(t, e.out1) == valid }, d)
	b, _ := os.ReadFile(e.cfg)
	src := string(b)
	i, j := strings.Index(src, "  - name: t\n"), strings.Index(src, "outputs:\n")
	second := strings.Replace(src[i:j], "name: t\n", "name: t2\n", 1)
	out3 := filepath.Join(filepath.Dir(e.out1), "out3.ndjson")
	cfg := src[:j] + second + src[j:] + fmt.Sprintf("  - {name: three, type: file, path: %q}\n", out3)
	os.WriteFile(e.cfg, []byte(cfg), 0o600)
	d.cmd.Process.Signal(syscall.SIGHUP)
	// t2 has its own seen-set: every record is new to it.
	waitFor(t, "t2's records everywhere", 60*time.Second, func() bool {
		return lines(t, e.out1) == 2*valid && lines(t, e.out2) == 2*valid && lines(t, out3) == valid
	}, d)
	if !strings.Contains(d.stderr.String(), "sources_added=t2") || !strings.Contains(d.stderr.String(), "sources_kept=t") {
		t.Errorf("reload log:\n%s", d.stderr.String())
	}
	d.stop(t)
	for id, n := range idsIn(t, out3) {
		if n != 1 {
			t.Fatalf("%s appears %d times in the added output", id, n)
		}
	}
}

func stateJSON(t *testing.T, cfg string) stateReport {
	t.Helper()
	code, stdout, stderr := runBin(t, nil, "state", "show", "--config", cfg, "--json")
	if code != 0 {
		t.Fatalf("state show: exit %d\n%s", code, stderr)
	}
	var r stateReport
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("state show --json: %v\n%s", err, stdout)
	}
	return r
}

func TestStateShowSetReset(t *testing.T) {
	e := newCrashEnv(t, 2000, "")
	if code, _, stderr := runBin(t, nil, "state", "show", "--config", e.cfg); code != 1 || !strings.Contains(stderr, "no state") {
		t.Fatalf("show before any run: exit %d %s", code, stderr)
	}
	if code, _, stderr := runBin(t, nil, "run", "--config", e.cfg, "--once"); code != 0 {
		t.Fatalf("run: %s", stderr)
	}
	valid := len(e.sim.ValidIDs())
	r := stateJSON(t, e.cfg)
	if len(r.Sources) != 1 || r.Sources[0].Cursor == nil || r.Sources[0].SeenCount < int64(valid) {
		t.Fatalf("state show: %+v", r.Sources)
	}
	if len(r.Queues) != 2 || r.Queues[0].PendingBytes != 0 || r.Queues[0].Commit == 0 {
		t.Fatalf("queues: %+v", r.Queues)
	}
	code, text, _ := runBin(t, nil, "state", "show", "--config", e.cfg)
	if code != 0 || !strings.Contains(text, "SEEN HASHES") || !strings.Contains(text, "one/t") {
		t.Fatalf("state show table:\n%s", text)
	}

	// Move the cursor back to the first record: the range is read again,
	// and the seen-set keeps it from being sent twice.
	start := e.sim.Config().Start.UTC().Format(time.RFC3339)
	code, out, stderr := runBin(t, nil, "state", "set", "--config", e.cfg, "--source", "t", "--cursor", start)
	if code != 0 || !strings.Contains(out, "to "+start) {
		t.Fatalf("state set: exit %d %s %s", code, out, stderr)
	}
	if r := stateJSON(t, e.cfg); !r.Sources[0].Cursor.Equal(e.sim.Config().Start.Truncate(time.Second)) {
		t.Fatalf("cursor after set: %v", r.Sources[0].Cursor)
	}
	before := len(e.sim.Requests())
	if code, _, stderr := runBin(t, nil, "run", "--config", e.cfg, "--once"); code != 0 {
		t.Fatalf("run: %s", stderr)
	}
	if len(e.sim.Requests())-before < 5 {
		t.Fatalf("the range was not read again: %d requests", len(e.sim.Requests())-before)
	}
	e.check(t)

	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"state", "set", "--config", e.cfg, "--source", "t", "--cursor", "tomorrow"}, 2, "not a time"},
		{[]string{"state", "set", "--config", e.cfg, "--source", "t", "--cursor", "2999-01-01"}, 2, "in the future"},
		{[]string{"state", "set", "--config", e.cfg, "--source", "nope", "--cursor", "now"}, 2, `no source "nope"`},
		{[]string{"state", "set", "--config", e.cfg, "--source", "t", "now", "extra"}, 2, "unexpected argument"},
		{[]string{"state", "frob", "--config", e.cfg}, 2, "unknown subcommand"},
	} {
		code, _, stderr := runBin(t, nil, c.args...)
		if code != c.code || !strings.Contains(stderr, c.msg) {
			t.Errorf("%v: exit %d, %s", c.args[1:], code, stderr)
		}
	}

	// The time may come as the last argument.
	if code, out, stderr := runBin(t, nil, "state", "set", "--config", e.cfg, "--source", "t", start); code != 0 || !strings.Contains(out, "to "+start) {
		t.Fatalf("state set TIME: exit %d %s %s", code, out, stderr)
	}
	// Reset (not on a terminal: no question): everything is sent again,
	// once more (the SIEM dedups by hash).
	if code, out, stderr := runBin(t, nil, "state", "reset", "--config", e.cfg, "--source", "t"); code != 0 || !strings.Contains(out, "reset (all)") {
		t.Fatalf("reset: %s %s", out, stderr)
	}
	if r := stateJSON(t, e.cfg); r.Sources[0].Cursor != nil || r.Sources[0].SeenCount != 0 {
		t.Fatalf("after reset: %+v", r.Sources[0])
	}
	if code, _, stderr := runBin(t, nil, "run", "--config", e.cfg, "--once"); code != 0 {
		t.Fatalf("run: %s", stderr)
	}
	for id, n := range idsIn(t, e.out1) {
		if n != 2 {
			t.Fatalf("after reset %s is in out1 %d times, want 2", id, n)
		}
	}
}

func TestDryRun(t *testing.T) {
	e := newCrashEnv(t, 1000, "")
	editConfig(t, e.cfg, "log: {level: warn}", "log: {level: info}")
	valid := len(e.sim.ValidIDs())
	code, stdout, stderr := runBin(t, nil, "run", "--config", e.cfg, "--once", "--dry-run")
	if code != 0 {
		t.Fatalf("dry run: exit %d\n%s", code, stderr)
	}
	if n := strings.Count(stdout, "\n"); n != valid {
		t.Fatalf("dry run printed %d events, want %d", n, valid)
	}
	if !strings.Contains(stdout, `"event":{`) {
		t.Fatalf("not ECS documents: %.300s", stdout)
	}
	if _, err := os.Stat(e.out1); err == nil {
		t.Fatal("dry run wrote to an output")
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(e.dlPath), "state.db")); err == nil {
		t.Fatal("dry run created state")
	}
	// After a real run, a dry run sees what the state has seen: nothing new.
	if code, _, stderr := runBin(t, nil, "run", "--config", e.cfg, "--once"); code != 0 {
		t.Fatalf("run: %s", stderr)
	}
	before := stateJSON(t, e.cfg)
	code, stdout, stderr = runBin(t, nil, "run", "--config", e.cfg, "--once", "--dry-run")
	if code != 0 || stdout != "" {
		t.Fatalf("dry run after a run: exit %d, %d bytes out\n%s", code, len(stdout), stderr)
	}
	if !strings.Contains(stderr, "working on a copy of the state") {
		t.Errorf("dry run does not say it used a copy:\n%s", stderr)
	}
	after := stateJSON(t, e.cfg)
	if !after.Sources[0].LastPollOK.Equal(*before.Sources[0].LastPollOK) {
		t.Fatal("dry run changed the state")
	}
	e.check(t)
}

// backfillEnv is a crashEnv whose source starts an hour ago: the days
// before are the backfill's to fetch.
func backfillEnv(t *testing.T, records int) *crashEnv {
	e := newCrashEnv(t, records, "")
	b, _ := os.ReadFile(e.cfg)
	re := regexp.MustCompile(`(?m)^    start: .*$`)
	os.WriteFile(e.cfg, re.ReplaceAll(b, []byte("    start: 1h")), 0o600)
	return e
}

func TestBackfillResumesAndReports(t *testing.T) {
	e := backfillEnv(t, 6000)
	editConfig(t, e.cfg, "log: {level: warn}", "log: {level: info}")
	// Relative, as an operator types it: it means another instant at each
	// run, and must still resume.
	from := "now-5d"
	// The API fails for good after a few windows: the backfill stops with
	// its progress saved.
	const failAfter = 2
	go func() {
		for len(e.sim.Requests()) < failAfter {
			time.Sleep(time.Millisecond)
		}
		e.sim.InjectFault(simulator.Fault{Status: 500, Times: 1000})
	}()
	code, stdout, stderr := runBin(t, nil, "backfill", "--config", e.cfg, "--source", "t", "--from", from, "--progress-every", "1ms")
	if code != 1 || !strings.Contains(stderr, "run the same command again to resume") {
		t.Fatalf("interrupted backfill: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "backfill progress:") {
		t.Errorf("no progress lines:\n%s", stderr)
	}
	if !strings.Contains(stdout, "not fetched yet") {
		t.Errorf("the partial report does not show what is left:\n%s", stdout)
	}
	e.sim.ClearFaults()
	code, stdout, stderr = runBin(t, nil, "backfill", "--config", e.cfg, "--source", "t", "--from", from)
	if code != 0 {
		t.Fatalf("resumed backfill: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "resuming saved progress") {
		t.Errorf("did not resume:\n%s", stderr)
	}
	// Every day of the range is in the report, with the totals.
	for d := e.sim.Config().Start.UTC().Truncate(24 * time.Hour); d.Before(time.Now()); d = d.Add(24 * time.Hour) {
		if !strings.Contains(stdout, d.Format(time.DateOnly)) {
			t.Errorf("report lacks %s:\n%s", d.Format(time.DateOnly), stdout)
		}
	}
	m := regexp.MustCompile(`(?m)^\s*total\s+(\d+)\s+(\d+)`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no total line:\n%s", stdout)
	}
	// The source's own cursor did not move: the daemon's window stays its own.
	r := stateJSON(t, e.cfg)
	if r.Sources[0].Cursor != nil {
		t.Errorf("backfill moved the source cursor to %v", r.Sources[0].Cursor)
	}
	e.check(t) // every record in both outputs exactly once, across the interruption

	// A finished backfill run again only fetches what "now" added (the
	// last, partial day again), and sends nothing twice.
	before := len(e.sim.Requests())
	for run := 0; run < 2; run++ {
		code, stdout, stderr = runBin(t, nil, "backfill", "--config", e.cfg, "--source", "t", "--from", from)
		if code != 0 || len(e.sim.Requests())-before > 1+run {
			t.Fatalf("re-run of a finished backfill: exit %d, %d requests", code, len(e.sim.Requests())-before)
		}
		e.check(t)
		if !strings.Contains(stderr, "already complete") {
			t.Errorf("re-run %d does not say the range is complete:\n%s", run, stderr)
		}
		// The windows of the range, not the windows fetched over all runs.
		m := regexp.MustCompile(`(\d+) of (\d+) windows done`).FindStringSubmatch(stdout)
		if m == nil || m[1] != m[2] {
			t.Errorf("re-run %d report: %v\n%s", run, m, stdout)
		}
	}
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--source", "t", "--from", "now-400d", "--to", "now-390d"}, "one-year retention: nothing to fetch"},
		{[]string{"--source", "t", "--from", "now", "--to", "now-1d"}, "is not before"},
		{[]string{"--source", "zz", "--from", "now-1d"}, `no source "zz"`},
		{[]string{"--from", "now-1d"}, "--source and --from are required"},
	} {
		code, _, stderr := runBin(t, nil, append([]string{"backfill", "--config", e.cfg}, c.args...)...)
		if code != 2 || !strings.Contains(stderr, c.msg) {
			t.Errorf("%v: exit %d, %s", c.args, code, stderr)
		}
	}
	// A start past the retention is clamped, as run's start is.
	code, _, stderr = runBin(t, nil, "backfill", "--config", e.cfg, "--source", "t", "--from", "now-400d", "--to", "now-364d")
	if code != 0 || !strings.Contains(stderr, "warning: --from") || !strings.Contains(stderr, "oldest time it keeps") {
		t.Errorf("backfill from before the retention: exit %d, %s", code, stderr)
	}
}

// A backfill meets "429 Too Many Requests" more often than --once's
// attempt limit: it waits them out instead of giving up.
func TestBackfillWaitsOutRateLimits(t *testing.T) {
	e := backfillEnv(t, 1000)
	e.sim.InjectFault(simulator.Fault{Status: 429, Times: 12})
	code, _, stderr := runBin(t, nil, "backfill", "--config", e.cfg, "--source", "t", "--from", "now-5d")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	n429 := 0
	for _, r := range e.sim.Requests() {
		if r.Status == 429 {
			n429++
		}
	}
	if n429 != 12 {
		t.Fatalf("%d answers were 429, want 12", n429)
	}
	e.check(t)
}
