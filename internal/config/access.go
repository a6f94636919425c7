package config

import (
	"fmt"
	"time"

	"github.com/auditfwd/auditfwd/internal/source/wssaccess"
)

// setAccessDefaults fills a wss_access source: its own keys by package
// wssaccess, and the few common fields the pipeline reads for every source
// (readiness uses poll_interval, the back-off the retry keys).
func (s *Source) setAccessDefaults() {
	*s.Access = s.Access.WithDefaults()
	s.PollInterval = Duration(s.Access.PollInterval)
	if s.Checkpoint == 0 {
		s.Checkpoint = DefaultCheckpoint
	}
	defD(&s.Retry.InitialInterval, 2*time.Second)
	defD(&s.Retry.MaxInterval, 5*time.Minute)
	defD(&s.Retry.MaxRetryAfter, 15*time.Minute)
	defD(&s.Retry.AuthRetryInterval, 30*time.Minute)
}

// validateAccess checks a wss_access source and resolves its start.
func (s *Source) validateAccess(p string, now time.Time, add func(path, format string, a ...any)) []error {
	var errs []error
	for _, e := range s.Access.Validate() {
		errs = append(errs, fmt.Errorf("%s.%v", p, e)) // e starts with its key
	}
	if t, err := wssaccess.ResolveStart(s.Access.Start, now); err == nil {
		s.StartTime = t
		if oldest := now.Add(-s.Access.Retention.D()); t.Before(oldest) {
			add(p+".start", "%s is older than the Sync API keeps logs (retention %s: the oldest hour is %s); raise retention to 365d only with hosted reporting",
				t.Format(time.RFC3339), s.Access.Retention, oldest.Truncate(time.Hour).Add(time.Hour).Format(time.RFC3339))
		}
	}
	if s.Checkpoint < 100 {
		add(p+".checkpoint_records", "must be at least %d (got %d)", 100, s.Checkpoint)
	}
	return errs
}
