package pipeline

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// Backfill asks Run to fetch a past range of one source instead of
// following the present: the same windows, dedup and outputs, with its own
// progress kept in the state (committed with each window), so an
// interrupted backfill resumes where it stopped. The source's cursor does
// not move.
type Backfill struct {
	Source   string
	From, To time.Time
	// Restart ignores saved progress for the same start.
	Restart bool
	// Progress is called after each committed window (from the polling
	// goroutine; keep it quick).
	Progress func(BackfillProgress)
}

// BackfillProgress is a backfill's state, as saved.
type BackfillProgress struct {
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	Next  time.Time `json:"next"` // start of the next window to fetch
	Done  int       `json:"windows_done"`
	Total int       `json:"windows_total"`
	// Days counts records by the UTC day their window starts in.
	Days map[string]*DayCount `json:"days"`
	// Resumed is true when this run picked up saved progress.
	Resumed bool `json:"-"`
	// CompleteUpTo is set when the saved progress had finished its range:
	// only the time after it is new to this run.
	CompleteUpTo time.Time `json:"-"`
}

// DayCount is one day's records in a backfill.
type DayCount struct {
	Fetched      int64 `json:"fetched"`
	New          int64 `json:"new"`
	Duplicate    int64 `json:"duplicate"`
	DeadLettered int64 `json:"dead_lettered"`
}

// Finished reports whether every window is done.
func (b *BackfillProgress) Finished() bool { return !b.Next.Before(b.To) }

// Totals sums the days.
func (b *BackfillProgress) Totals() DayCount {
	var t DayCount
	for _, d := range b.Days {
		t.Fetched += d.Fetched
		t.New += d.New
		t.Duplicate += d.Duplicate
		t.DeadLettered += d.DeadLettered
	}
	return t
}

// DayList returns every UTC day of the range in order, with its counts
// (zero for a day no window returned anything for: a gap to look at).
func (b *BackfillProgress) DayList() []string {
	var days []string
	for d := b.From.UTC().Truncate(24 * time.Hour); d.Before(b.To); d = d.Add(24 * time.Hour) {
		days = append(days, d.Format(time.DateOnly))
	}
	for k := range b.Days {
		if k < b.From.UTC().Format(time.DateOnly) {
			days = append(days, k) // a window truncated to its day start
		}
	}
	sort.Strings(days)
	return days
}

const backfillKey = "backfill"

func (b *BackfillProgress) clone() BackfillProgress {
	c := *b
	c.Days = make(map[string]*DayCount, len(b.Days))
	for k, v := range b.Days {
		d := *v
		c.Days[k] = &d
	}
	return c
}

// startBackfill loads saved progress for the same range or starts anew.
func (s *sourceRunner) startBackfill(bf *Backfill) error {
	p := &BackfillProgress{From: bf.From.UTC(), To: bf.To.UTC(), Next: bf.From.UTC(), Days: map[string]*DayCount{}}
	if raw := s.p.store.SourceValue(s.cfg.Name, backfillKey); raw != nil && !bf.Restart {
		var saved BackfillProgress
		if err := json.Unmarshal(raw, &saved); err != nil {
			return fmt.Errorf("saved backfill progress: %w", err)
		}
		// The same start resumes, whatever the end: "--to now" is another
		// time at each run, and a later end only adds windows. A start
		// within one window of the saved one is the same start ("--from
		// now-30d" moves a little between runs).
		if d := saved.From.Sub(p.From); d.Abs() < s.cfg.Window.D() {
			saved.Resumed = saved.Done > 0
			if saved.Finished() {
				saved.CompleteUpTo = saved.To
			}
			saved.To = p.To
			if saved.Days == nil {
				saved.Days = map[string]*DayCount{}
			}
			p = &saved
		} else if !saved.Finished() {
			s.log.WithField("unfinished", windowString(saved.From, saved.To)).Warn("an earlier backfill from another start was not finished; its progress is replaced by this one")
		}
	}
	if s.det != nil {
		// A resumed backfill resumes its correlations; a new one starts
		// them empty (its events are days before those of the last).
		if err := s.det.load(s, detectBackfillKey, p.Resumed || p.Next.After(p.From)); err != nil {
			return err
		}
	}
	p.Total = s.countWindows(p.From, p.To)
	p.Done = s.countWindows(p.From, minTime(p.Next, p.To))
	s.bf, s.bfOpts = p, bf
	return nil
}

func (s *sourceRunner) countWindows(from, to time.Time) int {
	n := 0
	for t := from; t.Before(to); n++ {
		_, end := s.windowFrom(t, to)
		t = end
	}
	return n
}

// windowFrom is the window starting at start (cut to the API's date
// granularity), ending at most at limit.
func (s *sourceRunner) windowFrom(start, limit time.Time) (time.Time, time.Time) {
	if g := s.cfg.Granularity(); g > 0 {
		start = start.UTC().Truncate(g)
	}
	end := start.Add(s.cfg.Window.D())
	if end.After(limit) {
		end = limit
	}
	return start, end
}

// backfillNext is the progress after the window [start, end) with counts
// d, and its encoding, to save with the window's checkpoint.
func (s *sourceRunner) backfillNext(start, end time.Time, d DayCount) (BackfillProgress, []byte) {
	next := s.bf.clone()
	next.Next = end
	// Counted from the range, not incremented: a re-run fetches the last
	// partial window again, and that is not another window of the range.
	next.Done = s.countWindows(next.From, minTime(end, next.To))
	day := start.UTC().Format(time.DateOnly)
	c := next.Days[day]
	if c == nil {
		c = &DayCount{}
		next.Days[day] = c
	}
	c.Fetched += d.Fetched
	c.New += d.New
	c.Duplicate += d.Duplicate
	c.DeadLettered += d.DeadLettered
	raw, _ := json.Marshal(next)
	return next, raw
}

// Backfill returns the backfill's progress (nil when not backfilling).
func (p *Pipeline) Backfill() *BackfillProgress {
	for _, s := range p.srcs {
		if s.bf != nil {
			c := s.bf.clone()
			return &c
		}
	}
	return nil
}
