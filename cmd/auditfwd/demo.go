package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/auditfwd/auditfwd/internal/pipeline"
	"github.com/auditfwd/auditfwd/internal/simulator"
)

// The demo's two sources, named in its config and its summary.
const (
	demoAuditSource  = "demo"
	demoAccessSource = "access"
)

// demoAccessLinesPerHour keeps the access log modest: the source starts at
// its default (the hour two hours back), so the demo reads two to three
// hours of it, 2,000 to 3,000 lines, and stays quick.
const demoAccessLinesPerHour = 1000

func cmdDemo(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("demo", "demo [--dir ./demo-out] [--events]", stderr)
	dir := fs.String("dir", "demo-out", "where the demo writes its state, events and dead letter: a new or empty directory, or one an earlier demo made (its files are replaced)")
	events := fs.Bool("events", false, "also print every ECS event on stdout")
	fs.Bool("quiet", true, "obsolete: events are printed only with --events")
	if done, code := parseFlags(fs, args, stdout); done {
		return code
	}
	now := time.Now().UTC()
	// The scenario tenant: weeks of ordinary admin work within business
	// hours with a few attacks planted, so that the alerts mean something
	// (the plain generator's random hours made most of them "outside
	// business hours").
	sc := scenarioConfig(simulator.DemoConfig(now), now)
	sim, err := simulator.New(sc)
	if err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return exitRuntime
	}
	ac := simulator.DemoSyncConfig(now)
	ac.Username, ac.Password = sc.Username, sc.Password
	ac.LinesPerHour = demoAccessLinesPerHour
	syncSim, err := simulator.NewSync(ac)
	if err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return exitRuntime
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return exitRuntime
	}
	srv := &http.Server{Handler: simulator.Mux(sim, syncSim), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	if err := prepareDemoDir(*dir); err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return exitUsage
	}
	// Absolute paths: the config it writes stays right wherever it is run from.
	if abs, err := filepath.Abs(*dir); err == nil {
		*dir = abs
	}
	yaml := fmt.Sprintf(`state_dir: %q
log: {level: info}
metrics: {listen: ""}
shutdown_timeout: 30s
sources:
  - name: %s
    type: wss_audit                 # the admin audit log
    base_url: http://%s
    username: %q
    password: %q
    date_format: date
    start: %q
    poll_interval: 5m
  - name: %s
    type: wss_access                # the proxy's access log, through the Sync API
    base_url: http://%s
    username: %q
    password: %q
    start: 2h                       # the default: the hour two hours back
detections:
  enabled: true                     # the shipped Sigma pack, built in
outputs:
  - name: local
    type: file
    path: %q
`, filepath.Join(*dir, "state"), demoAuditSource, ln.Addr(), sc.Username, sc.Password, sc.Start.Format(time.RFC3339),
		demoAccessSource, ln.Addr(), ac.Username, ac.Password, filepath.Join(*dir, "events.ndjson"))
	if *events {
		yaml += "  - name: console\n    type: stdout\n"
	}
	cfgPath := filepath.Join(*dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o640); err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return exitRuntime
	}
	cfg, det, code := loadConfigAndRules(cfgPath, stderr)
	if cfg == nil {
		return code
	}
	log := newLogger(cfg.Log, stderr)
	log.WithField("simulator", "http://"+ln.Addr().String()).Info("demo: polling the built-in WSS simulator (audit API and Sync API)")
	var audit, access *pipeline.SourceStats
	code = runPipelineWith(cfg, log, stdout, pipeline.Options{Once: true, Detections: det}, hooks{
		onEnd: func(p *pipeline.Pipeline) {
			audit, access = p.SourceStats(demoAuditSource), p.SourceStats(demoAccessSource)
		},
	})
	if code == exitOK && audit != nil && access != nil {
		// On stdout and last, so it does not scroll away behind the log.
		eventsPath := filepath.Join(*dir, "events.ndjson")
		deadPath := filepath.Join(*dir, "state", "deadletter.ndjson")
		fmt.Fprintf(stdout, `
demo done: two sources read from the built-in WSS simulator, every event -> %s
source %s (wss_audit, the admin audit log): %d records fetched
  %6d new events
  %6d duplicates   dropped (the API re-serves whole days; dedup by record hash)
  %6d malformed    -> %s (kept with the reason, never dropped)
  %6d alerts       (event.kind: alert, from the built-in Sigma rules)
%ssource %s (wss_access, the proxy's access log through the Sync API): %d lines fetched
  %6d new events   (event.dataset: wss.access)
  %6d duplicates   dropped (dedup by line hash)
  %6d malformed    -> %s
  %6d alerts       (the pack's proxy rules)
%sconfig used: %s
  (its simulator stopped with the demo; to run it yourself, start auditfwd simulate --scenarios,
  point both base_url at it, then: auditfwd run --config %s)
`, eventsPath,
			demoAuditSource, audit.Fetched.Load(), audit.New.Load(), audit.Duplicate.Load(),
			audit.DeadLettered.Load(), deadPath, audit.Detect.Alerts.Load(), demoAlertLines(audit.Detect),
			demoAccessSource, access.Fetched.Load(), access.New.Load(), access.Duplicate.Load(),
			access.DeadLettered.Load(), deadPath, access.Detect.Alerts.Load(), demoAlertLines(access.Detect),
			cfgPath, cfgPath)
	}
	return code
}

// demoAlertLines lists the demo's alerts by rule, most first.
func demoAlertLines(d *pipeline.DetectStats) string {
	rs := d.ByRule(time.Now())
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].Total > rs[j].Total })
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "           %4d x %s\n", r.Total, r.Title)
	}
	return b.String()
}
