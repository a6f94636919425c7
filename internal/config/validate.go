package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/auditfwd/auditfwd/outputs"
	"github.com/auditfwd/auditfwd/outputs/splunkhec"
)

// Defaults. The overlap must cover records that reach the API up to 15
// minutes after their own time (MaxLateness); twice that absorbs clock skew
// between the portal and us.
const (
	DefaultPath         = "/api/rest/audit/download"
	DefaultPollInterval = 5 * time.Minute
	DefaultWindow       = 24 * time.Hour
	DefaultOverlap      = 30 * time.Minute
	DefaultMaxLateness  = 15 * time.Minute
	DefaultTimeout      = 120 * time.Second
	DefaultStart        = "720h"
	DefaultCheckpoint   = 50000
	// The record bounds match the WSS client's (wss.DefaultMaxRecordBytes,
	// wss.DefaultMaxRecordDepth); the window bounds only stop a response
	// that never ends: a busy day is far below both.
	DefaultMaxRecordBytes   = 8 << 20
	DefaultMaxRecordDepth   = 1000
	DefaultWindowTimeout    = 30 * time.Minute
	DefaultMaxWindowRecords = 5_000_000
	// maxRecordDepth is encoding/json's nesting limit, which the record
	// parser shares.
	maxRecordDepth = 10000
)

// SetDefaults fills every key left empty.
func (c *Config) SetDefaults() {
	if c.StateDir == "" {
		c.StateDir = "./state"
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = Duration(30 * time.Second)
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "text"
	}
	if c.Metrics.Listen == nil {
		l := "127.0.0.1:9464"
		c.Metrics.Listen = &l
	}
	if c.Detections != nil {
		c.Detections.setDefaults()
	}
	for i := range c.Sources {
		s := &c.Sources[i]
		if s.Access != nil {
			s.setAccessDefaults()
			continue
		}
		def(&s.Type, "wss_audit")
		def(&s.Path, DefaultPath)
		def(&s.DateFormat, "date")
		def(&s.Start, DefaultStart)
		def(&s.Format, "JSON")
		def(&s.FilterStyle, "repeat")
		def(&s.Params.Start, "startDate")
		def(&s.Params.End, "endDate")
		def(&s.Params.Format, "format")
		def(&s.Params.ObjectType, "objectType")
		def(&s.Params.OperationType, "operationType")
		defD(&s.PollInterval, DefaultPollInterval)
		defD(&s.Window, DefaultWindow)
		defD(&s.Overlap, DefaultOverlap)
		defD(&s.MaxLateness, DefaultMaxLateness)
		defD(&s.Timeout, DefaultTimeout)
		defD(&s.Retry.InitialInterval, 2*time.Second)
		defD(&s.Retry.MaxInterval, 5*time.Minute)
		defD(&s.Retry.MaxRetryAfter, 15*time.Minute)
		defD(&s.Retry.AuthRetryInterval, 30*time.Minute)
		if s.EndDayInclude == nil {
			t := true
			s.EndDayInclude = &t
		}
		if s.Checkpoint == 0 {
			s.Checkpoint = DefaultCheckpoint
		}
		if s.MaxRecordBytes == 0 {
			s.MaxRecordBytes = DefaultMaxRecordBytes
		}
		if s.MaxRecordDepth == 0 {
			s.MaxRecordDepth = DefaultMaxRecordDepth
		}
		defD(&s.WindowTimeout, DefaultWindowTimeout)
		if s.MaxWindowRecords == 0 {
			s.MaxWindowRecords = DefaultMaxWindowRecords
		}
		if s.DedupHorizon == 0 {
			s.DedupHorizon = Duration(s.MinDedupHorizon() + 24*time.Hour)
		}
	}
	for i := range c.Outputs {
		o := &c.Outputs[i]
		events, size, inFlight := 500, ByteSize(5<<20), 1
		if o.SplunkHEC != nil && o.SplunkHEC.Ack {
			// A batch waits out one indexer acknowledgement: batch size
			// times batches in flight is what is in flight (see
			// splunkhec.AckBatchEvents).
			events, size, inFlight = splunkhec.AckBatchEvents, splunkhec.AckBatchBytes, splunkhec.AckBatchesInFlight
		}
		if o.Batch.MaxInFlight == 0 {
			o.Batch.MaxInFlight = inFlight
		}
		if o.Batch.MaxEvents == 0 {
			o.Batch.MaxEvents = events
		}
		if o.Batch.MaxBytes == 0 {
			o.Batch.MaxBytes = size
		}
		defD(&o.Batch.FlushInterval, time.Second)
		if o.Queue.MaxBytes == 0 {
			o.Queue.MaxBytes = 1 << 30
		}
		if o.Queue.SegmentBytes == 0 {
			o.Queue.SegmentBytes = 64 << 20
		}
		def(&o.Queue.Policy, "block")
		defD(&o.Retry.InitialInterval, time.Second)
		defD(&o.Retry.MaxInterval, time.Minute)
	}
}

// Granularity is how coarse the API's time filter is: with whole-day dates a
// request returns whole days.
func (s *Source) Granularity() time.Duration {
	if s.DateFormat == "date" {
		return 24 * time.Hour
	}
	return 0
}

// MinDedupHorizon is the shortest seen-set expiry that is safe: a hash may
// be forgotten only when no future window can return its record again.
func (s *Source) MinDedupHorizon() time.Duration {
	return s.Overlap.D() + s.Window.D() + s.Granularity() + s.MaxLateness.D()
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// Validate returns every problem, each naming its key path.
func (c *Config) Validate(now time.Time) []error {
	var errs []error
	add := func(path, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, a...)))
	}
	if !oneOf(c.Log.Level, "debug", "info", "warn", "warning", "error") {
		add("log.level", "must be debug, info, warn or error (got %q)", c.Log.Level)
	}
	if !oneOf(c.Log.Format, "text", "json") {
		add("log.format", "must be text or json (got %q)", c.Log.Format)
	}
	if err := checkListen(*c.Metrics.Listen); err != nil {
		add("metrics.listen", "%v", err)
	}
	if c.ShutdownTimeout.D() < 0 {
		add("shutdown_timeout", "must not be negative")
	}
	if len(c.Sources) == 0 {
		add("sources", "at least one source is required")
	}
	names := map[string]string{}
	for i := range c.Sources {
		s := &c.Sources[i]
		p := fmt.Sprintf("sources[%d]", i)
		if !nameRE.MatchString(s.Name) {
			add(p+".name", "required: letters, digits, '_', '-', '.' (got %q); it names the source's state", s.Name)
		} else if prev, dup := names["s:"+s.Name]; dup {
			add(p+".name", "%q is already the name of %s", s.Name, prev)
		} else {
			names["s:"+s.Name] = p
		}
		if s.Access != nil {
			errs = append(errs, s.validateAccess(p, now, add)...)
			cred := "a:" + s.Access.BaseURL + "\x00" + s.Access.Username
			if prev, dup := names[cred]; dup && s.Access.Username != "" {
				add(p+".username", "%s reads the same tenant with the same credential: the Sync API allows one download at a time per credential, and both sources would deliver the same lines", prev)
			} else {
				names[cred] = p
			}
			continue
		}
		if s.Type != "wss_audit" {
			add(p+".type", "must be wss_audit or %s (got %q)", TypeAccess, s.Type)
		}
		// The URL is printed without userinfo or query (outputs.ShowURL):
		// error messages reach terminals and logs.
		switch u, err := url.Parse(s.BaseURL); {
		case s.BaseURL == "":
			add(p+".base_url", "required: an https URL like https://portal.threatpulse.com")
		case err != nil:
			add(p+".base_url", "is not a valid URL (%s)", outputs.URLProblem(err))
		case (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
			add(p+".base_url", "must be an http(s) URL like https://portal.threatpulse.com (got %s)", outputs.ShowURL(u))
		case u.User != nil:
			add(p+".base_url", "credentials in the URL would be logged: use username/password (or the *_file keys)")
		}
		if !strings.HasPrefix(s.Path, "/") {
			add(p+".path", "must start with / (got %q)", s.Path)
		}
		if s.Username == "" {
			add(p+".username", "required (or username_file)")
		}
		if s.Password == "" {
			add(p+".password", "required (or password_file)")
		}
		if !oneOf(s.DateFormat, "date", "epoch_ms", "rfc3339") {
			add(p+".date_format", "must be date, epoch_ms or rfc3339 (got %q)", s.DateFormat)
		}
		if !strings.EqualFold(s.Format, "JSON") {
			add(p+".format", "only JSON is decoded (got %q)", s.Format)
		}
		if !oneOf(s.FilterStyle, "repeat", "comma") {
			add(p+".filter_style", "must be repeat or comma (got %q)", s.FilterStyle)
		}
		if t, err := ResolveStart(s.Start, now); err != nil {
			add(p+".start", "%v", err)
		} else {
			s.StartTime = t
		}
		for _, d := range []struct {
			key string
			v   Duration
			min time.Duration
		}{
			{"poll_interval", s.PollInterval, time.Second},
			{"window", s.Window, time.Minute},
			{"timeout", s.Timeout, time.Second},
			{"window_timeout", s.WindowTimeout, time.Second},
			{"retry.initial_interval", s.Retry.InitialInterval, time.Millisecond},
			{"retry.max_interval", s.Retry.MaxInterval, time.Millisecond},
			{"retry.max_retry_after", s.Retry.MaxRetryAfter, time.Second},
			{"retry.auth_retry_interval", s.Retry.AuthRetryInterval, time.Second},
		} {
			if d.v.D() < d.min {
				add(p+"."+d.key, "must be at least %s (got %s)", d.min, d.v.D())
			}
		}
		if s.Overlap.D() < s.MaxLateness.D() {
			add(p+".overlap", "%s is shorter than max_lateness %s: records that reach the API late would be missed", s.Overlap.D(), s.MaxLateness.D())
		}
		if s.DateFormat == "date" && s.Window.D()%(24*time.Hour) != 0 {
			add(p+".window", "with date_format: date the window must be whole days (got %s)", s.Window.D())
		}
		if min := s.MinDedupHorizon(); s.DedupHorizon.D() <= min {
			add(p+".dedup_horizon", "%s is unsafe: it must exceed overlap + window + date granularity + max_lateness = %s, or records fetched again would be delivered twice", s.DedupHorizon.D(), min)
		}
		if s.Checkpoint < 100 {
			add(p+".checkpoint_records", "must be at least 100 (got %d)", s.Checkpoint)
		}
		// A record is held in memory whole (and parsed): past 256 MiB one
		// record could take the process down.
		if s.MaxRecordBytes < 1<<10 || s.MaxRecordBytes > 256<<20 {
			add(p+".max_record_bytes", "must be between 1KiB and 256MiB (got %d bytes)", s.MaxRecordBytes)
		}
		if s.MaxRecordDepth < 1 || s.MaxRecordDepth > maxRecordDepth {
			add(p+".max_record_depth", "must be between 1 and %d (got %d)", maxRecordDepth, s.MaxRecordDepth)
		}
		if s.MaxWindowRecords < 1 {
			add(p+".max_window_records", "must be at least 1 (got %d)", s.MaxWindowRecords)
		}
		if (s.TLS.CertFile == "") != (s.TLS.KeyFile == "") {
			add(p+".tls", "cert_file and key_file go together")
		}
	}
	for i := range c.Outputs {
		o := &c.Outputs[i]
		p := fmt.Sprintf("outputs[%d]", i)
		if !nameRE.MatchString(o.Name) {
			add(p+".name", "required: letters, digits, '_', '-', '.' (got %q); it names the output's queue", o.Name)
		} else if prev, dup := names["o:"+o.Name]; dup {
			add(p+".name", "%q is already the name of %s", o.Name, prev)
		} else {
			names["o:"+o.Name] = p
		}
		if kc := o.kindConfig(); kc != nil {
			for _, e := range kc.Validate() {
				errs = append(errs, fmt.Errorf("%s.%v", p, e)) // e starts with its own key
			}
		} else {
			add(p+".type", "unknown output type %q (one of: file, stdout, elasticsearch, kafka, syslog, splunk_hec)", o.Type)
		}
		if o.Batch.MaxEvents < 1 {
			add(p+".batch.max_events", "must be at least 1")
		}
		if o.Batch.MaxBytes < 1024 {
			add(p+".batch.max_bytes", "must be at least 1KiB")
		}
		switch n := o.Batch.MaxInFlight; {
		case n < 1 || n > MaxBatchesInFlight:
			add(p+".batch.max_in_flight", "%d: must be between 1 and %d", n, MaxBatchesInFlight)
		case n > 1 && o.Type != "splunk_hec":
			// The file output saves its position with the mark, so its
			// batches must land in order; the others' Write is not
			// known to be safe for concurrent use.
			add(p+".batch.max_in_flight", "%d: the %s output delivers one batch at a time; only splunk_hec takes more than 1", n, o.Type)
		}
		if !oneOf(o.Queue.Policy, "block", "drop_oldest") {
			add(p+".queue.policy", "must be block or drop_oldest (got %q)", o.Queue.Policy)
		}
		if o.Queue.MaxBytes < 1<<20 {
			add(p+".queue.max_bytes", "must be at least 1MiB")
		}
		if o.Queue.SegmentBytes < 1<<16 {
			add(p+".queue.segment_bytes", "must be at least 64KiB")
		}
	}
	c.sameFileOutputs(add)
	if c.Detections != nil {
		c.Detections.validate(c, add)
	}
	if len(c.Outputs) == 0 {
		add("outputs", "at least one output is required")
	}
	return errs
}

// ResolveStart turns start (a duration back from now, or an RFC 3339 time)
// into a time.
func ResolveStart(s string, now time.Time) (time.Time, error) {
	if d, err := ParseDuration(s); err == nil {
		return now.Add(-d).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither a duration back from now (720h, 30d) nor an RFC 3339 time", s)
}

func oneOf(v string, opts ...string) bool {
	for _, o := range opts {
		if v == o {
			return true
		}
	}
	return false
}

func def(p *string, v string) {
	if *p == "" {
		*p = v
	}
}

func defD(p *Duration, v time.Duration) {
	if *p == 0 {
		*p = Duration(v)
	}
}

// checkListen checks metrics.listen: host:port, or "" to disable.
func checkListen(l string) error {
	if l == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(l); err != nil {
		return fmt.Errorf("must be host:port, or \"\" to disable (got %q)", l)
	}
	return nil
}
