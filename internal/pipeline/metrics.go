package pipeline

import (
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Collector exposes the pipeline's counters to Prometheus. It reads them at
// scrape time, so nothing is counted twice and the hot path pays nothing.
type Collector struct{ p *Pipeline }

// NewCollector returns a Collector for p.
func NewCollector(p *Pipeline) *Collector { return &Collector{p: p} }

var (
	descFetched     = prometheus.NewDesc("auditfwd_source_records_fetched_total", "Records streamed from the API.", []string{"source"}, nil)
	descNew         = prometheus.NewDesc("auditfwd_source_records_new_total", "Records queued for the outputs.", []string{"source"}, nil)
	descDuplicate   = prometheus.NewDesc("auditfwd_source_records_duplicate_total", "Records skipped as already seen.", []string{"source"}, nil)
	descSrcDead     = prometheus.NewDesc("auditfwd_source_records_dead_lettered_total", "Records kept in the source dead letter.", []string{"source"}, nil)
	descWindows     = prometheus.NewDesc("auditfwd_source_windows_total", "Windows committed.", []string{"source"}, nil)
	descSrcFailures = prometheus.NewDesc("auditfwd_source_window_failures_total", "Failed window attempts.", []string{"source"}, nil)
	descResponses   = prometheus.NewDesc("auditfwd_source_api_responses_total", "API responses by HTTP status.", []string{"source", "code"}, nil)
	descRetryWait   = prometheus.NewDesc("auditfwd_source_retry_wait_seconds_total", "Time spent waiting to retry a window.", []string{"source"}, nil)
	descBlocked     = prometheus.NewDesc("auditfwd_source_blocked", "1 while polling is stopped by a full output queue.", []string{"source"}, nil)
	descLastPoll    = prometheus.NewDesc("auditfwd_source_last_success_timestamp_seconds", "When the source last committed a window.", []string{"source"}, nil)
	descLag         = prometheus.NewDesc("auditfwd_source_lag_seconds", "Now minus the newest record time seen.", []string{"source"}, nil)
	descDelivered   = prometheus.NewDesc("auditfwd_output_events_delivered_total", "Events the target accepted.", []string{"output"}, nil)
	descRetried     = prometheus.NewDesc("auditfwd_output_events_retried_total", "Events sent again after a failure.", []string{"output"}, nil)
	descOutDead     = prometheus.NewDesc("auditfwd_output_events_dead_lettered_total", "Events the target refused for good.", []string{"output"}, nil)
	descDropped     = prometheus.NewDesc("auditfwd_output_events_dropped_total", "Events skipped by queue.policy drop_oldest.", []string{"output"}, nil)
	descOutFailures = prometheus.NewDesc("auditfwd_output_write_failures_total", "Failed batch writes.", []string{"output"}, nil)
	descQueueEvents = prometheus.NewDesc("auditfwd_output_queue_events", "Events queued, not yet delivered.", []string{"output"}, nil)
	descQueueBytes  = prometheus.NewDesc("auditfwd_output_queue_bytes", "Queue bytes on disk past the delivery mark.", []string{"output"}, nil)
	descQueueOldest = prometheus.NewDesc("auditfwd_output_queue_oldest_age_seconds", "Age of the oldest queued event (0 when empty).", []string{"output"}, nil)
	descQueueLimit  = prometheus.NewDesc("auditfwd_output_queue_max_bytes", "The queue's configured limit.", []string{"output"}, nil)
	descFileMissing = prometheus.NewDesc("auditfwd_output_file_missing_bytes_total", "Bytes the file output wrote and later found gone from its file (cut by someone, a power failure).", []string{"output"}, nil)
	descFileRotated = prometheus.NewDesc("auditfwd_output_file_rotations_total", "Times the file output found its file renamed away or emptied (log rotation) and wrote on in the file at its path.", []string{"output"}, nil)
	descArchBytes   = prometheus.NewDesc("auditfwd_source_sync_archive_bytes_total", "wss_access: bytes of Sync API archives committed.", []string{"source"}, nil)
	descRestarts    = prometheus.NewDesc("auditfwd_source_sync_restarts_total", "wss_access: restarts with token=none (token expired, partial ZIP, refused date).", []string{"source"}, nil)
	descSeenEntries = prometheus.NewDesc("auditfwd_dedup_entries", "Hashes in the source's seen-set.", []string{"source"}, nil)

	descDetEvaluated = prometheus.NewDesc("auditfwd_detect_events_evaluated_total", "New events run through the detection rules.", []string{"source"}, nil)
	descDetSeconds   = prometheus.NewDesc("auditfwd_detect_evaluation_seconds_total", "Time spent evaluating the rules (divide by events_evaluated for the cost per event).", []string{"source"}, nil)
	descDetAlerts    = prometheus.NewDesc("auditfwd_detect_alerts_total", "Alerts queued for the outputs, by rule.", []string{"source", "rule_id", "rule"}, nil)
	descDetLastHour  = prometheus.NewDesc("auditfwd_detect_alerts_last_hour", "Alerts queued in the last hour, by rule (rules that alerted since the start).", []string{"source", "rule_id", "rule"}, nil)
	descDetDuplicate = prometheus.NewDesc("auditfwd_detect_alerts_duplicate_total", "Alerts not queued because the seen-set held them already (a replay).", []string{"source"}, nil)
	descDetGroups    = prometheus.NewDesc("auditfwd_detect_correlation_groups", "Open correlation groups held in memory.", []string{"source"}, nil)
	descDetRules     = prometheus.NewDesc("auditfwd_detect_rules", "Rules loaded.", []string{"source"}, nil)
)

// fileCounters are counted by the file output itself.
type fileCounters interface {
	MissingBytes() int64
	Rotations() int64
}

// Describe sends nothing: an unchecked collector, since a config reload
// can add and remove sources and outputs (and their histograms).
func (c *Collector) Describe(chan<- *prometheus.Desc) {}

// Collect reads the counters now.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	now := time.Now()
	srcs, outs := c.p.runners()
	counter := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, l...)
	}
	gauge := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
	}
	for _, s := range srcs {
		n, st := s.cfg.Name, s.stats
		counter(descFetched, float64(st.Fetched.Load()), n)
		counter(descNew, float64(st.New.Load()), n)
		counter(descDuplicate, float64(st.Duplicate.Load()), n)
		counter(descSrcDead, float64(st.DeadLettered.Load()), n)
		counter(descWindows, float64(st.Windows.Load()), n)
		counter(descSrcFailures, float64(st.Failures.Load()), n)
		counter(descRetryWait, time.Duration(st.RetryWaits.Load()).Seconds(), n)
		if s.access != nil {
			counter(descArchBytes, float64(st.ArchiveBytes.Load()), n)
			counter(descRestarts, float64(st.Restarts.Load()), n)
		}
		blocked := 0.0
		if st.BlockedNow.Load() {
			blocked = 1
		}
		gauge(descBlocked, blocked, n)
		last, newest, _, responses := st.Snapshot()
		for code, v := range responses {
			counter(descResponses, float64(v), n, strconv.Itoa(code))
		}
		if !last.IsZero() {
			gauge(descLastPoll, float64(last.UnixNano())/1e9, n)
		}
		if !newest.IsZero() {
			gauge(descLag, now.Sub(newest).Seconds(), n)
		}
		gauge(descSeenEntries, float64(s.seen.Count()), n)
		if s.det != nil {
			d := st.Detect
			counter(descDetEvaluated, float64(d.Evaluated.Load()), n)
			counter(descDetSeconds, time.Duration(d.EvalNanos.Load()).Seconds(), n)
			counter(descDetDuplicate, float64(d.Duplicate.Load()), n)
			es := s.det.eng.Stats()
			gauge(descDetGroups, float64(es.Groups), n)
			gauge(descDetRules, float64(len(s.det.eng.Rules())), n)
			for _, r := range d.ByRule(now) {
				counter(descDetAlerts, float64(r.Total), n, r.ID, r.Title)
				gauge(descDetLastHour, float64(r.LastHour), n, r.ID, r.Title)
			}
		}
	}
	for _, o := range outs {
		n, st := o.name, o.stats
		counter(descDelivered, float64(st.Delivered.Load()), n)
		counter(descRetried, float64(st.Retried.Load()), n)
		counter(descOutDead, float64(st.DeadLettered.Load()), n)
		counter(descDropped, float64(st.Dropped.Load()), n)
		counter(descOutFailures, float64(st.Failures.Load()), n)
		qs := o.queueStats()
		gauge(descQueueEvents, float64(qs.Events), n)
		gauge(descQueueBytes, float64(qs.Bytes), n)
		age := 0.0
		if !qs.Oldest.IsZero() {
			age = now.Sub(qs.Oldest).Seconds()
		}
		gauge(descQueueOldest, age, n)
		gauge(descQueueLimit, float64(o.cfg.Queue.MaxBytes), n)
		if fc, ok := o.out.(fileCounters); ok {
			counter(descFileMissing, float64(fc.MissingBytes()), n)
			counter(descFileRotated, float64(fc.Rotations()), n)
		}
		o.stats.BatchSeconds.Collect(ch)
	}
}

// Readiness is the /readyz verdict with its reasons.
type Readiness struct {
	Ready   bool              `json:"ready"`
	Sources map[string]string `json:"sources"`
	Outputs map[string]string `json:"outputs"`
}

// Ready reports whether every source committed a window within three poll
// intervals (or is still within its first three) and no output queue is
// over 90% of queue.max_bytes.
func (p *Pipeline) Ready(now time.Time) Readiness {
	r := Readiness{Ready: true, Sources: map[string]string{}, Outputs: map[string]string{}}
	srcs, outs := p.runners()
	for _, s := range srcs {
		last, _, lastErr, _ := s.stats.Snapshot()
		limit := 3 * s.cfg.PollInterval.D()
		switch {
		case !last.IsZero() && now.Sub(last) <= limit:
			r.Sources[s.cfg.Name] = "ok"
		case last.IsZero() && now.Sub(s.started) <= limit:
			r.Sources[s.cfg.Name] = "starting"
		default:
			r.Ready = false
			r.Sources[s.cfg.Name] = fmt.Sprintf("no successful poll for over %s: %s", limit, lastErr)
		}
	}
	for _, o := range outs {
		qs := o.queueStats()
		if limit := int64(o.cfg.Queue.MaxBytes); qs.Bytes > limit/10*9 {
			r.Ready = false
			r.Outputs[o.name] = fmt.Sprintf("queue at %d of %d bytes: %s", qs.Bytes, limit, o.stats.LastError())
		} else {
			r.Outputs[o.name] = "ok"
		}
	}
	return r
}
