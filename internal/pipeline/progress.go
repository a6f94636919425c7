package pipeline

import (
	"time"

	"github.com/sirupsen/logrus"
)

// progressEvery is how often a long catch-up (a first start 30 days back,
// a restart after an outage) says where it is at info level: a quiet
// --once for minutes looks hung.
var progressEvery = 10 * time.Second

// logProgress logs a catch-up line at most every progressEvery while the
// windows polled are behind the present.
func (s *sourceRunner) logProgress(end, now time.Time) {
	if !end.Before(now) || s.bf != nil { // caught up; a backfill has its own progress
		return
	}
	t := time.Now()
	if s.lastProgress.IsZero() {
		s.lastProgress = t // the first line after progressEvery, not at once
		return
	}
	if t.Sub(s.lastProgress) < progressEvery {
		return
	}
	s.lastProgress = t
	s.log.WithFields(logrus.Fields{
		"polled_up_to": end.UTC().Format(time.RFC3339),
		"behind":       now.Sub(end).Round(time.Minute).String(),
		"windows":      s.stats.Windows.Load(),
		"fetched":      s.stats.Fetched.Load(),
		"new":          s.stats.New.Load(),
		"duplicates":   s.stats.Duplicate.Load(),
		"dead_letters": s.stats.DeadLettered.Load(),
	}).Info("catching up")
}
