package pipeline

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/auditfwd/auditfwd/internal/detect"
)

// DetectStats are one source's detection counters.
type DetectStats struct {
	Evaluated atomic.Int64 // new events run through the rules
	EvalNanos atomic.Int64 // time spent in the rules
	Alerts    atomic.Int64 // alerts queued
	Duplicate atomic.Int64 // alerts the seen-set already held

	mu     sync.Mutex
	byRule map[string]*ruleCount
	recent []recentAlert // queued in the last hour, oldest first
}

type ruleCount struct {
	title string
	n     int64
}

type recentAlert struct {
	at   time.Time
	rule string
}

// maxRecent bounds the last-hour list: a rule firing thousands of times
// an hour is counted in its total, and its last-hour count stops there.
const maxRecent = 10000

func newDetectStats() *DetectStats { return &DetectStats{byRule: map[string]*ruleCount{}} }

func (d *DetectStats) evaluated(took time.Duration) {
	d.Evaluated.Add(1)
	d.EvalNanos.Add(int64(took))
}

func (d *DetectStats) fired(a *detect.Alert, now time.Time) {
	d.Alerts.Add(1)
	d.mu.Lock()
	defer d.mu.Unlock()
	rc := d.byRule[a.RuleID]
	if rc == nil {
		rc = &ruleCount{title: a.Title}
		d.byRule[a.RuleID] = rc
	}
	rc.n++
	d.pruneLocked(now)
	if len(d.recent) < maxRecent {
		d.recent = append(d.recent, recentAlert{at: now, rule: a.RuleID})
	}
}

func (d *DetectStats) pruneLocked(now time.Time) {
	cut := 0
	for cut < len(d.recent) && now.Sub(d.recent[cut].at) > time.Hour {
		cut++
	}
	if cut > 0 {
		d.recent = append(d.recent[:0], d.recent[cut:]...)
	}
}

// RuleAlerts is one rule's alert counts.
type RuleAlerts struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Total    int64  `json:"total"`
	LastHour int64  `json:"last_hour"`
}

// ByRule returns every rule that alerted since the start, by id.
func (d *DetectStats) ByRule(now time.Time) []RuleAlerts {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.pruneLocked(now)
	hour := map[string]int64{}
	for _, r := range d.recent {
		hour[r.rule]++
	}
	out := make([]RuleAlerts, 0, len(d.byRule))
	for id, rc := range d.byRule {
		out = append(out, RuleAlerts{ID: id, Title: rc.title, Total: rc.n, LastHour: hour[id]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
