package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sirupsen/logrus"

	"github.com/auditfwd/auditfwd/internal/config"
	"github.com/auditfwd/auditfwd/internal/pipeline"
	"github.com/auditfwd/auditfwd/internal/simulator"
	"github.com/auditfwd/auditfwd/internal/source/wssaccess"
	"github.com/auditfwd/auditfwd/internal/state"
	"github.com/auditfwd/auditfwd/outputs"
	"github.com/auditfwd/auditfwd/outputs/elasticsearch"
	"github.com/auditfwd/auditfwd/outputs/file"
	"github.com/auditfwd/auditfwd/outputs/kafka"
	"github.com/auditfwd/auditfwd/outputs/splunkhec"
	stdoutout "github.com/auditfwd/auditfwd/outputs/stdout"
	"github.com/auditfwd/auditfwd/outputs/syslog"
)

// buildOutputs makes every configured output.
func buildOutputs(cfg *config.Config, out io.Writer) ([]outputs.Output, error) {
	var outs []outputs.Output
	for _, oc := range cfg.Outputs {
		o, err := buildOutput(oc, out)
		if err != nil {
			for _, prev := range outs {
				prev.Close()
			}
			return nil, err
		}
		outs = append(outs, o)
	}
	return outs, nil
}

// buildOutput makes one output: an explicit switch, no registry.
// Constructors do no network I/O.
func buildOutput(oc config.Output, out io.Writer) (outputs.Output, error) {
	var o outputs.Output
	var err error
	switch oc.Type {
	case "file":
		o, err = file.New(oc.Name, *oc.File)
	case "stdout":
		o = stdoutout.New(oc.Name, out)
	case "elasticsearch":
		o, err = elasticsearch.New(oc.Name, *oc.Elasticsearch)
	case "kafka":
		o, err = kafka.New(oc.Name, *oc.Kafka)
	case "syslog":
		o, err = syslog.New(oc.Name, *oc.Syslog)
	case "splunk_hec":
		o, err = splunkhec.New(oc.Name, *oc.SplunkHEC)
	default:
		err = fmt.Errorf("unknown output type %q", oc.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("output %s: %w", oc.Name, err)
	}
	return o, nil
}

func cmdRun(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("run", "run --config FILE [--once [--metrics]] [--dry-run]", stderr)
	cfgPath := fs.String("config", "", "configuration file (YAML)")
	once := fs.Bool("once", false, "catch up to now, deliver, commit, exit (for cron and tests)")
	metrics := fs.Bool("metrics", false, "with --once, serve metrics.listen too (off by default, so a cron run beside a daemon does not collide with it on the port)")
	dryRun := fs.Bool("dry-run", false, "poll and normalize until caught up, print the events on stdout instead of the outputs, commit nothing (works on a copy of the state), exit")
	if done, code := parseFlags(fs, args, stdout); done {
		return code
	}
	cfg, det, code := loadConfigAndRules(*cfgPath, stderr)
	if cfg == nil {
		return code
	}
	log := newLogger(cfg.Log, stderr)
	logWarnings(log, cfg)
	if *dryRun {
		return dryRunPipeline(cfg, log, stdout)
	}
	if *once && !*metrics {
		off := ""
		cfg.Metrics.Listen = &off
	}
	return runPipelineWith(cfg, log, stdout, pipeline.Options{Once: *once, Detections: det}, hooks{reloadFrom: *cfgPath})
}

// dryRunPipeline runs the sources against a throw-away copy of the state
// with one stdout output in place of the configured ones: what a real run
// would send next, without moving anything.
func dryRunPipeline(cfg *config.Config, log *logrus.Logger, stdout io.Writer) int {
	tmp, err := os.MkdirTemp("", "auditfwd-dry-run-")
	if err != nil {
		log.WithError(err).Error("dry run")
		return exitRuntime
	}
	defer os.RemoveAll(tmp)
	ok, err := state.Snapshot(cfg.StateDir, tmp)
	if ok && err == nil {
		err = linkSeenRuns(cfg.StateDir, tmp)
	}
	if ok && err == nil {
		err = placeholderDeadLetter(cfg.StateDir, tmp)
	}
	switch {
	case err != nil:
		// Running from each source's start would show far more than the
		// next real run sends: refuse rather than mislead.
		log.WithError(err).Error("dry run: cannot copy the state (a dry run shows what the next run would send, which needs the state)")
		return exitRuntime
	case !ok:
		log.WithField("state_dir", cfg.StateDir).Info("dry run: no state yet; starting from each source's configured start")
	default:
		log.WithField("state_dir", cfg.StateDir).Info("dry run: working on a copy of the state; nothing in state_dir changes")
	}
	dry := *cfg
	dry.StateDir = tmp
	off := ""
	dry.Metrics.Listen = &off
	common := cfg.Outputs[0].OutputCommon
	common.Name, common.Type = "dry-run", "stdout"
	dry.Outputs = []config.Output{{OutputCommon: common, Stdout: &stdoutout.Config{}}}
	// Always once: a dry run shows what the next run would send, then ends.
	return runPipelineWith(&dry, log, stdout, pipeline.Options{Once: true}, hooks{})
}

// hooks are the optional parts of runPipelineWith.
type hooks struct {
	reloadFrom     string                   // config file to reload on SIGHUP (daemon only)
	onStart, onEnd func(*pipeline.Pipeline) // see the pipeline before Run and after it
}

// linkSeenRuns gives the dry run's copy of the state the seen-set's run
// files: hard links, as runs are never written after they are made.
func linkSeenRuns(from, to string) error {
	runs, _ := filepath.Glob(filepath.Join(from, "seen", "*", "*.run"))
	for _, r := range runs {
		src := filepath.Base(filepath.Dir(r))
		dst := filepath.Join(pipeline.SeenDir(to, src), filepath.Base(r))
		if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
			return err
		}
		if err := os.Link(r, dst); err != nil {
			b, rerr := os.ReadFile(r)
			if rerr != nil {
				return rerr
			}
			if err := os.WriteFile(dst, b, 0o600); err != nil {
				return err
			}
		}
	}
	return nil
}

// placeholderDeadLetter gives the copy a dead letter as long as the real
// one, which the copied state's committed length checks, without copying
// its records (a sparse file: a dry run only ever appends, and to the copy).
func placeholderDeadLetter(from, to string) error {
	fi, err := os.Stat(filepath.Join(from, "deadletter.ndjson"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(to, "deadletter.ndjson"), os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Truncate(fi.Size())
}

// runPipelineWith builds the outputs and the pipeline, serves metrics, runs
// until done or signalled, and logs a summary.
func runPipelineWith(cfg *config.Config, log *logrus.Logger, stdout io.Writer, opts pipeline.Options, h hooks) int {
	outs, err := buildOutputs(cfg, stdout)
	if err != nil {
		log.WithError(err).Error("cannot build outputs")
		return exitUsage
	}
	p, err := pipeline.New(cfg, outs, log, opts)
	if err != nil {
		log.WithError(err).Error("cannot start")
		var se *pipeline.SetupError
		if errors.As(err, &se) {
			return exitUsage
		}
		return exitRuntime
	}
	ctx, stop := signalContext(log)
	defer stop()
	if l := *cfg.Metrics.Listen; l != "" {
		srv, err := serveMetrics(l, p)
		if err != nil {
			log.WithError(err).WithField("listen", l).Error("metrics.listen: cannot listen (another auditfwd or another program on that port?): set metrics.listen to a free host:port, or to \"\" to turn the listener off")
			p.Close()
			return exitRuntime
		}
		defer srv.Close()
		log.WithField("listen", l).Info("metrics on /metrics, liveness on /healthz, readiness on /readyz")
	}
	if !opts.Once && h.reloadFrom != "" {
		stopHUP := reloadOnHUP(ctx, p, h.reloadFrom, log, stdout)
		defer stopHUP()
	}
	if h.onStart != nil {
		h.onStart(p)
	}
	log.WithFields(logrus.Fields{"sources": len(cfg.Sources), "outputs": len(cfg.Outputs), "state_dir": cfg.StateDir, "once": opts.Once}).Info("auditfwd started")
	err = p.Run(ctx)
	p.Summary()
	if h.onEnd != nil {
		h.onEnd(p)
	}
	if cerr := p.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil {
		log.WithError(err).Error("auditfwd stopped with an error")
		return exitRuntime
	}
	log.Info("auditfwd stopped")
	return exitOK
}

// serveMetrics starts the Prometheus listener.
func serveMetrics(addr string, p *pipeline.Pipeline) (*http.Server, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(pipeline.NewCollector(p), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		r := p.Ready(time.Now())
		w.Header().Set("Content-Type", "application/json")
		if !r.Ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		json.NewEncoder(w).Encode(r)
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return srv, nil
}

func cmdValidate(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("validate", "validate --config FILE", stderr)
	cfgPath := fs.String("config", "", "configuration file (YAML)")
	if done, code := parseFlags(fs, args, stdout); done {
		return code
	}
	cfg, det, code := loadConfigAndRules(*cfgPath, stderr)
	if cfg == nil {
		return code
	}
	fmt.Fprintf(stdout, "%s: ok (%d sources, %d outputs)\n", *cfgPath, len(cfg.Sources), len(cfg.Outputs))
	// Relative paths are resolved against the config file's directory:
	// show where they landed.
	fmt.Fprintf(stdout, "  state_dir: %s\n", cfg.StateDir)
	for _, s := range cfg.Sources {
		if a := s.Access; a != nil {
			// The Sync API has a token, not windows: its own keys.
			fmt.Fprintf(stdout, "  source %s: %s %s%s, poll_interval %s, min_request_interval %s, max_archive_bytes %s, retention %s, first start %s (token=none)\n",
				s.Name, config.TypeAccess, a.BaseURL, wssaccess.DefaultPath, a.PollInterval.D(), a.MinRequestInterval.D(),
				humanBytes(int64(a.MaxArchiveBytes)), a.Retention, s.StartTime.Format(time.RFC3339))
			continue
		}
		fmt.Fprintf(stdout, "  source %s: %s, date_format %s, window %s, overlap %s, dedup_horizon %s, first start %s\n",
			s.Name, s.BaseURL, s.DateFormat, s.Window.D(), s.Overlap.D(), s.DedupHorizon.D(), s.StartTime.Format(time.RFC3339))
	}
	for _, o := range cfg.Outputs {
		where := ""
		if o.File != nil {
			where = " -> " + o.File.Path
		}
		fmt.Fprintf(stdout, "  output %s: %s%s, queue %s (%s)\n", o.Name, o.Type, where, humanBytes(int64(o.Queue.MaxBytes)), o.Queue.Policy)
	}
	if det != nil {
		to := "every output"
		if len(cfg.Detections.Outputs) > 0 {
			to = strings.Join(cfg.Detections.Outputs, ", ")
		}
		fmt.Fprintf(stdout, "  detections: %d rules from %s, alerts to %s\n", len(det.Rules()), strings.Join(cfg.Detections.Rules, ", "), to)
	} else {
		fmt.Fprintf(stdout, "  detections: off (add a detections: section to raise alerts)\n")
	}
	printWarnings(stdout, cfg, "  ")
	return exitOK
}

func cmdSimulate(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("simulate", "simulate [--addr 127.0.0.1:8080] [--records N] [--days D] [--scenarios [--truth FILE]]", stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	records := fs.Int("records", 0, "unique valid records (0: the demo's default)")
	days := fs.Int("days", 0, "days of history (0: the demo's default)")
	user := fs.String("username", "", "expected Basic auth user (default: the demo's)")
	pass := fs.String("password", "", "expected Basic auth password (default: the demo's)")
	accessLines := fs.Int("access-lines", 0, "access-log lines per hour of the Sync API (0: the demo's default)")
	scenarios := fs.Bool("scenarios", false, "serve the attack scenarios instead: 24 days of benign admin work up to today's midnight, with attacks planted in the last week")
	truth := fs.String("truth", "", "with --scenarios: write the scenarios' ground truth (planted record ids and event hashes, the rules each must fire) to this JSON file")
	if done, code := parseFlags(fs, args, stdout); done {
		return code
	}
	if *scenarios && (*days > 0 || *records > 0) {
		fmt.Fprintln(stderr, "simulate: --scenarios has its own records and days; drop --records and --days")
		return exitUsage
	}
	if *truth != "" && !*scenarios {
		fmt.Fprintln(stderr, "simulate: --truth needs --scenarios")
		return exitUsage
	}
	now := time.Now().UTC()
	sc := simulator.DemoConfig(now)
	if *days > 0 {
		sc.Start = now.Add(-time.Duration(*days) * 24 * time.Hour)
	}
	if *records > 0 {
		sc.Records = *records
	}
	if *scenarios {
		sc = scenarioConfig(sc, now)
	}
	if *user != "" {
		sc.Username = *user
	}
	if *pass != "" {
		sc.Password = *pass
	}
	sim, err := simulator.New(sc)
	if err != nil {
		fmt.Fprintf(stderr, "simulate: %v\n", err)
		return exitUsage
	}
	ac := simulator.DemoSyncConfig(now)
	ac.Username, ac.Password = sc.Username, sc.Password
	if *accessLines > 0 {
		ac.LinesPerHour = *accessLines
	}
	syncSim, err := simulator.NewSync(ac)
	if err != nil {
		fmt.Fprintf(stderr, "simulate: %v\n", err)
		return exitUsage
	}
	sc = sim.Config()
	if *truth != "" {
		if err := writeGroundTruth(sim, *truth); err != nil {
			fmt.Fprintf(stderr, "simulate: %v\n", err)
			return exitRuntime
		}
		fmt.Fprintf(stdout, "ground truth of %d scenarios written to %s\n", len(sim.Labels()), *truth)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "simulate: %v\n", err)
		return exitRuntime
	}
	fmt.Fprintf(stdout, "WSS audit API simulator on http://%s%s (user %q, %d records from %s)\n",
		ln.Addr(), sc.Path, sc.Username, sc.Records, sc.Start.Format(time.RFC3339))
	fmt.Fprintf(stdout, "WSS Sync API (access logs) on http://%s%s (%d lines an hour from %s)\n",
		ln.Addr(), simulator.SyncPath, ac.LinesPerHour, ac.Start.Format(time.RFC3339))
	srv := &http.Server{Handler: simulator.Mux(sim, syncSim), ReadHeaderTimeout: 10 * time.Second}
	log := logrus.New()
	log.SetOutput(stderr)
	ctx, stop := signalContext(log)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		fmt.Fprintf(stderr, "simulate: %v\n", err)
		return exitRuntime
	}
	return exitOK
}
