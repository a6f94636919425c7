package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/auditfwd/auditfwd/internal/config"
)

const statusSynopsis = `status (--config FILE | --url http://HOST:PORT) [--json] [--timeout 5s]

Asks the running agent (its metrics.listen: /metrics and /readyz) how each
source and output is doing: one table row each.
Exit codes: 0 the agent answered and is ready; 1 it is not ready, or nothing
answered; 2 bad usage or configuration, or metrics.listen is "" (disabled).`

// cmdStatus prints the running agent's view of its sources and outputs.
func cmdStatus(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("status", statusSynopsis, stderr)
	cfgPath := fs.String("config", "", "the agent's configuration file: status asks its metrics.listen")
	rawURL := fs.String("url", "", "the agent's metrics base URL, e.g. http://127.0.0.1:9464 (instead of --config)")
	asJSON := fs.Bool("json", false, "print JSON instead of tables")
	timeout := fs.Duration("timeout", 5*time.Second, "time allowed for the agent to answer")
	if done, code := parseFlags(fs, args, stdout); done {
		return code
	}
	base, code := statusBaseURL(*cfgPath, *rawURL, stderr)
	if base == "" {
		return code
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	rep, err := fetchStatus(ctx, base)
	if err != nil {
		fmt.Fprintf(stderr, "auditfwd: %v\n", describeFetchError(err, base, *cfgPath, *timeout))
		return exitRuntime
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
	} else {
		printStatus(stdout, rep)
	}
	if !rep.Ready {
		return exitRuntime
	}
	return exitOK
}

// statusBaseURL returns the agent's base URL from exactly one of --config
// and --url, or "" and the exit code after saying why.
func statusBaseURL(cfgPath, rawURL string, stderr io.Writer) (string, int) {
	switch {
	case cfgPath != "" && rawURL != "":
		fmt.Fprintln(stderr, "auditfwd: give --config or --url, not both")
		return "", exitUsage
	case rawURL != "":
		u := rawURL
		if !strings.Contains(u, "://") {
			u = "http://" + u
		}
		pu, err := url.Parse(u)
		if err != nil || pu.Host == "" || (pu.Scheme != "http" && pu.Scheme != "https") {
			fmt.Fprintf(stderr, "auditfwd: --url %q: want http://HOST:PORT\n", rawURL)
			return "", exitUsage
		}
		pu.Path = strings.TrimSuffix(strings.TrimSuffix(pu.Path, "/"), "/metrics")
		return pu.String(), exitOK
	case cfgPath != "":
		listen, err := config.MetricsListen(cfgPath)
		if err != nil {
			fmt.Fprintf(stderr, "auditfwd: %s: %v\n", cfgPath, err)
			return "", exitUsage
		}
		if listen == "" {
			fmt.Fprintf(stderr, "auditfwd: %s has metrics disabled (metrics.listen: \"\"), so a running agent has nothing to ask; set metrics.listen (default 127.0.0.1:9464) and restart it\n", cfgPath)
			return "", exitUsage
		}
		return "http://" + dialAddr(listen), exitOK
	default:
		fmt.Fprintln(stderr, "auditfwd: --config or --url is required")
		return "", exitUsage
	}
}

// dialAddr turns a listen address into one to connect to: a wildcard host
// (":9464", "0.0.0.0:9464", "[::]:9464") is reached on loopback.
func dialAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	switch ip := net.ParseIP(host); {
	case host == "" || (ip != nil && ip.IsUnspecified() && ip.To4() != nil):
		host = "127.0.0.1"
	case ip != nil && ip.IsUnspecified():
		host = "::1"
	}
	return net.JoinHostPort(host, port)
}

func describeFetchError(err error, base, cfgPath string, timeout time.Duration) string {
	host := strings.TrimPrefix(strings.TrimPrefix(base, "http://"), "https://")
	hint := ""
	if cfgPath != "" {
		hint = fmt.Sprintf(" (metrics.listen of %s)", cfgPath)
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("no auditfwd answering on %s%s: is it running? (%v)", host, hint, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("%s%s did not answer within %s: is it overloaded, or not auditfwd? (%v)", host, hint, timeout, err)
	}
	return fmt.Sprintf("%s%s: %v", host, hint, err)
}

// statusReport is what status prints, as a table or as JSON. Ages are
// relative to the moment of the request.
type statusReport struct {
	URL     string         `json:"url"`
	Time    time.Time      `json:"time"`
	Ready   bool           `json:"ready"`
	Sources []sourceStatus `json:"sources"`
	Outputs []outputStatus `json:"outputs"`
	// Alerts by source and rule: present when detections are on.
	Alerts []alertStatus `json:"alerts,omitempty"`
}

type alertStatus struct {
	Source   string `json:"source"`
	RuleID   string `json:"rule_id"`
	Rule     string `json:"rule"`
	Total    int64  `json:"total"`
	LastHour int64  `json:"last_hour"`
}

type sourceStatus struct {
	Name string `json:"name"`
	// State is /readyz's word for it: "ok", "starting", or why not ready.
	State              string           `json:"state"`
	Blocked            bool             `json:"blocked"`
	LastPoll           *time.Time       `json:"last_poll,omitempty"`
	LastPollAgeSeconds *float64         `json:"last_poll_age_seconds,omitempty"`
	LagSeconds         *float64         `json:"lag_seconds,omitempty"`
	Fetched            int64            `json:"fetched"`
	New                int64            `json:"new"`
	Duplicate          int64            `json:"duplicate"`
	DeadLettered       int64            `json:"dead_lettered"`
	Windows            int64            `json:"windows"`
	WindowFailures     int64            `json:"window_failures"`
	RetryWaitSeconds   float64          `json:"retry_wait_seconds"`
	DedupEntries       int64            `json:"dedup_entries"`
	Detections         bool             `json:"detections"`
	RulesLoaded        int64            `json:"rules_loaded,omitempty"`
	Evaluated          int64            `json:"events_evaluated,omitempty"`
	AlertsLastHour     int64            `json:"alerts_last_hour"`
	APIResponses       map[string]int64 `json:"api_responses"`
}

type outputStatus struct {
	Name                  string  `json:"name"`
	State                 string  `json:"state"`
	QueueEvents           int64   `json:"queue_events"`
	QueueBytes            int64   `json:"queue_bytes"`
	QueueMaxBytes         int64   `json:"queue_max_bytes"`
	QueueOldestAgeSeconds float64 `json:"queue_oldest_age_seconds"`
	Delivered             int64   `json:"delivered"`
	Retried               int64   `json:"retried"`
	DeadLettered          int64   `json:"dead_lettered"`
	Dropped               int64   `json:"dropped"`
	WriteFailures         int64   `json:"write_failures"`
}

// readiness mirrors pipeline.Readiness as /readyz serves it.
type readiness struct {
	Ready   bool              `json:"ready"`
	Sources map[string]string `json:"sources"`
	Outputs map[string]string `json:"outputs"`
}

func fetchStatus(ctx context.Context, base string) (*statusReport, error) {
	now := time.Now()
	body, _, err := httpGet(ctx, base+"/metrics", "text/plain;version=0.0.4")
	if err != nil {
		return nil, err
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		return nil, fmt.Errorf("%s/metrics is not Prometheus text: %v", base, err)
	}
	if !hasAuditfwdMetrics(families) {
		return nil, fmt.Errorf("%s answers, but its /metrics has no auditfwd_ metrics: another program on that port?", base)
	}
	body, code, err := httpGet(ctx, base+"/readyz", "application/json")
	if err != nil && code != http.StatusServiceUnavailable {
		return nil, err
	}
	var r readiness
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("%s/readyz: not the expected JSON: %v", base, err)
	}
	rep := buildStatus(families, r, now)
	rep.URL = base
	return &rep, nil
}

// httpGet returns the body; any status but 200 is an error that still
// comes with the body and the code (503 on /readyz carries the reasons).
func httpGet(ctx context.Context, u, accept string) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", accept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("GET %s: %v", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return body, resp.StatusCode, fmt.Errorf("GET %s: HTTP %s", u, resp.Status)
	}
	return body, resp.StatusCode, nil
}

func hasAuditfwdMetrics(families map[string]*dto.MetricFamily) bool {
	for name := range families {
		if strings.HasPrefix(name, "auditfwd_") {
			return true
		}
	}
	return false
}

// buildStatus turns the scrape into rows. Rows come from the metrics and
// from /readyz both, so a name either one knows is shown; metrics it does
// not know are ignored.
func buildStatus(families map[string]*dto.MetricFamily, r readiness, now time.Time) statusReport {
	srcs := map[string]*sourceStatus{}
	src := func(name string) *sourceStatus {
		if s, ok := srcs[name]; ok {
			return s
		}
		s := &sourceStatus{Name: name, State: "?", APIResponses: map[string]int64{}}
		srcs[name] = s
		return s
	}
	outs := map[string]*outputStatus{}
	out := func(name string) *outputStatus {
		if o, ok := outs[name]; ok {
			return o
		}
		o := &outputStatus{Name: name, State: "?"}
		outs[name] = o
		return o
	}
	count := func(v float64) int64 { return int64(math.Round(v)) }
	alerts := map[[2]string]*alertStatus{}
	alert := func(m *dto.Metric) *alertStatus {
		k := [2]string{label(m, "source"), label(m, "rule_id")}
		a := alerts[k]
		if a == nil {
			a = &alertStatus{Source: k[0], RuleID: k[1], Rule: label(m, "rule")}
			alerts[k] = a
		}
		return a
	}
	for name, mf := range families {
		for _, m := range mf.GetMetric() {
			v, ok := sampleValue(m)
			if !ok {
				continue
			}
			if s := label(m, "source"); s != "" {
				st := src(s)
				switch name {
				case "auditfwd_source_records_fetched_total":
					st.Fetched = count(v)
				case "auditfwd_source_records_new_total":
					st.New = count(v)
				case "auditfwd_source_records_duplicate_total":
					st.Duplicate = count(v)
				case "auditfwd_source_records_dead_lettered_total":
					st.DeadLettered = count(v)
				case "auditfwd_source_windows_total":
					st.Windows = count(v)
				case "auditfwd_source_window_failures_total":
					st.WindowFailures = count(v)
				case "auditfwd_source_api_responses_total":
					st.APIResponses[label(m, "code")] = count(v)
				case "auditfwd_source_retry_wait_seconds_total":
					st.RetryWaitSeconds = v
				case "auditfwd_source_blocked":
					st.Blocked = v != 0
				case "auditfwd_source_last_success_timestamp_seconds":
					t := time.Unix(0, int64(v*1e9)).UTC()
					age := max(now.Sub(t).Seconds(), 0)
					st.LastPoll, st.LastPollAgeSeconds = &t, &age
				case "auditfwd_source_lag_seconds":
					lag := v
					st.LagSeconds = &lag
				case "auditfwd_dedup_entries":
					st.DedupEntries = count(v)
				case "auditfwd_detect_rules":
					st.Detections, st.RulesLoaded = true, count(v)
				case "auditfwd_detect_events_evaluated_total":
					st.Evaluated = count(v)
				case "auditfwd_detect_alerts_total":
					alert(m).Total = count(v)
				case "auditfwd_detect_alerts_last_hour":
					alert(m).LastHour = count(v)
					st.AlertsLastHour += count(v)
				}
			}
			if o := label(m, "output"); o != "" {
				ot := out(o)
				switch name {
				case "auditfwd_output_events_delivered_total":
					ot.Delivered = count(v)
				case "auditfwd_output_events_retried_total":
					ot.Retried = count(v)
				case "auditfwd_output_events_dead_lettered_total":
					ot.DeadLettered = count(v)
				case "auditfwd_output_events_dropped_total":
					ot.Dropped = count(v)
				case "auditfwd_output_write_failures_total":
					ot.WriteFailures = count(v)
				case "auditfwd_output_queue_events":
					ot.QueueEvents = count(v)
				case "auditfwd_output_queue_bytes":
					ot.QueueBytes = count(v)
				case "auditfwd_output_queue_max_bytes":
					ot.QueueMaxBytes = count(v)
				case "auditfwd_output_queue_oldest_age_seconds":
					ot.QueueOldestAgeSeconds = v
				}
			}
		}
	}
	for name, reason := range r.Sources {
		src(name).State = reason
	}
	for name, reason := range r.Outputs {
		out(name).State = reason
	}
	rep := statusReport{Time: now.UTC(), Ready: r.Ready}
	for _, s := range srcs {
		rep.Sources = append(rep.Sources, *s)
	}
	for _, o := range outs {
		rep.Outputs = append(rep.Outputs, *o)
	}
	for _, a := range alerts {
		rep.Alerts = append(rep.Alerts, *a)
	}
	sort.Slice(rep.Alerts, func(i, j int) bool {
		a, b := rep.Alerts[i], rep.Alerts[j]
		if a.LastHour != b.LastHour {
			return a.LastHour > b.LastHour
		}
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		return a.RuleID < b.RuleID
	})
	sort.Slice(rep.Sources, func(i, j int) bool { return rep.Sources[i].Name < rep.Sources[j].Name })
	sort.Slice(rep.Outputs, func(i, j int) bool { return rep.Outputs[i].Name < rep.Outputs[j].Name })
	return rep
}

// sampleValue reads a counter, gauge or untyped sample; other kinds (a
// histogram added later) are not ours to show here.
func sampleValue(m *dto.Metric) (float64, bool) {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue(), true
	case m.Gauge != nil:
		return m.Gauge.GetValue(), true
	case m.Untyped != nil:
		return m.Untyped.GetValue(), true
	}
	return 0, false
}

func label(m *dto.Metric, name string) string {
	for _, lp := range m.GetLabel() {
		if lp.GetName() == name {
			return lp.GetValue()
		}
	}
	return ""
}

func printStatus(w io.Writer, rep *statusReport) {
	verdict := "ready"
	if !rep.Ready {
		verdict = "NOT READY"
	}
	fmt.Fprintf(w, "auditfwd at %s: %s\n\n", rep.URL, verdict)
	var reasons []string
	state := func(kind, name, s string, blocked bool) string {
		if s != "ok" && s != "starting" && s != "?" {
			reasons = append(reasons, fmt.Sprintf("  %s %s: %s", kind, name, s))
			s = "not ready"
		}
		if blocked {
			s += " (blocked)"
		}
		return s
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tSTATE\tLAST POLL\tLAG\tFETCHED\tNEW\tDUP\tDEAD-LETTERED\tWINDOW FAILURES\tAPI NON-200")
	for _, s := range rep.Sources {
		lastPoll, lag := "never", "-"
		if s.LastPollAgeSeconds != nil {
			lastPoll = humanAge(*s.LastPollAgeSeconds) + " ago"
		}
		if s.LagSeconds != nil {
			lag = humanAge(*s.LagSeconds)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\n", s.Name, state("source", s.Name, s.State, s.Blocked),
			lastPoll, lag, s.Fetched, s.New, s.Duplicate, s.DeadLettered, s.WindowFailures, non200(s.APIResponses))
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "OUTPUT\tSTATE\tQUEUED\tQUEUE BYTES\tOLDEST QUEUED\tDELIVERED\tRETRIED\tDEAD-LETTERED\tDROPPED\tWRITE FAILURES")
	for _, o := range rep.Outputs {
		oldest := "-"
		if o.QueueEvents > 0 {
			oldest = humanAge(o.QueueOldestAgeSeconds)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%d\t%d\t%d\t%d\t%d\n", o.Name, state("output", o.Name, o.State, false),
			o.QueueEvents, queueBytes(o.QueueBytes, o.QueueMaxBytes), oldest, o.Delivered, o.Retried, o.DeadLettered, o.Dropped, o.WriteFailures)
	}
	tw.Flush()
	printAlerts(w, rep)
	if len(reasons) > 0 {
		fmt.Fprintf(w, "\nnot ready:\n%s\n", strings.Join(reasons, "\n"))
	}
}

// non200 lists the response codes other than 200, "429:3 500:1", or "-".
func non200(responses map[string]int64) string {
	var codes []string
	for c := range responses {
		if c != "200" && responses[c] > 0 {
			codes = append(codes, c)
		}
	}
	if len(codes) == 0 {
		return "-"
	}
	sort.Strings(codes)
	for i, c := range codes {
		codes[i] = c + ":" + strconv.FormatInt(responses[c], 10)
	}
	return strings.Join(codes, " ")
}

// humanAge rounds to what a glance needs: "12s", "4m05s", "3h20m", "2d04h".
func humanAge(seconds float64) string {
	d := time.Duration(seconds * float64(time.Second))
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
}

// queueBytes is "12.0 MiB (1% of 1.0 GiB)".
func queueBytes(n, limit int64) string {
	if limit <= 0 {
		return humanBytes(n)
	}
	return fmt.Sprintf("%s (%d%% of %s)", humanBytes(n), n*100/limit, humanBytes(limit))
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

// printAlerts shows, per source with detections on, the alerts of the
// last hour by rule (and the totals since the agent started).
func printAlerts(w io.Writer, rep *statusReport) {
	var on []sourceStatus
	for _, s := range rep.Sources {
		if s.Detections {
			on = append(on, s)
		}
	}
	if len(on) == 0 {
		return
	}
	fmt.Fprintln(w)
	for _, s := range on {
		fmt.Fprintf(w, "detections on %s: %d rules, %d events evaluated, %d alerts in the last hour\n", s.Name, s.RulesLoaded, s.Evaluated, s.AlertsLastHour)
	}
	if len(rep.Alerts) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tLAST HOUR\tSINCE START\tRULE\tRULE ID")
	for _, a := range rep.Alerts {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", a.Source, a.LastHour, a.Total, a.Rule, a.RuleID)
	}
	tw.Flush()
}
