package pipeline

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"sync/atomic"
	"time"
)

// SourceStats are one source's counters (read by metrics and tests).
type SourceStats struct {
	Fetched      atomic.Int64 // records streamed from the API
	New          atomic.Int64 // records queued for the outputs
	Duplicate    atomic.Int64 // records already seen (earlier window or same window)
	DeadLettered atomic.Int64 // records kept in the dead letter
	Windows      atomic.Int64 // windows committed
	Failures     atomic.Int64 // failed window attempts
	RetryWaits   atomic.Int64 // nanoseconds spent waiting to retry
	Blocked      atomic.Int64 // nanoseconds stopped by a full queue
	BlockedNow   atomic.Bool  // polling is stopped by a full queue right now
	// wss_access only: the Sync API's archives.
	ArchiveBytes atomic.Int64 // bytes of committed archives (the ZIPs, as sent)
	Restarts     atomic.Int64 // token=none restarts after a 410, a partial ZIP or a refused date
	// Detect counts alerts (zero while detections are off).
	Detect *DetectStats

	mu          sync.Mutex
	lastPollOK  time.Time
	newestEvent time.Time
	lastError   string
	responses   map[int]int64
}

func (s *SourceStats) pollOK(t time.Time, newest time.Time) {
	s.mu.Lock()
	s.lastPollOK = t
	if newest.After(s.newestEvent) {
		s.newestEvent = newest
	}
	s.lastError = ""
	s.mu.Unlock()
}

func (s *SourceStats) failed(err error) {
	s.Failures.Add(1)
	s.mu.Lock()
	s.lastError = err.Error()
	s.mu.Unlock()
}

func (s *SourceStats) response(status int) {
	s.mu.Lock()
	if s.responses == nil {
		s.responses = map[int]int64{}
	}
	s.responses[status]++
	s.mu.Unlock()
}

// Snapshot returns the times and the last error.
func (s *SourceStats) Snapshot() (lastPollOK, newestEvent time.Time, lastError string, responses map[int]int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := make(map[int]int64, len(s.responses))
	for k, v := range s.responses {
		r[k] = v
	}
	return s.lastPollOK, s.newestEvent, s.lastError, r
}

// OutputStats are one output's counters.
type OutputStats struct {
	Delivered    atomic.Int64
	Retried      atomic.Int64 // items sent again
	DeadLettered atomic.Int64
	Dropped      atomic.Int64 // skipped by drop_oldest
	Batches      atomic.Int64
	Failures     atomic.Int64 // failed Write calls
	// BatchSeconds is how long a batch took from its first Write to its
	// durable delivery mark, retries included.
	BatchSeconds prometheus.Histogram

	mu        sync.Mutex
	lastError string
}

func (s *OutputStats) failed(err error) {
	s.Failures.Add(1)
	s.mu.Lock()
	s.lastError = err.Error()
	s.mu.Unlock()
}

func newOutputStats(output string) *OutputStats {
	return &OutputStats{BatchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:        "auditfwd_output_batch_duration_seconds",
		Help:        "Time from a batch's first write to its durable delivery mark, retries included.",
		ConstLabels: prometheus.Labels{"output": output},
		Buckets:     []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
	})}
}

// LastError is the most recent Write error ("" after a success).
func (s *OutputStats) LastError() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastError
}
