package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/auditfwd/auditfwd/internal/pipeline"
	"github.com/auditfwd/auditfwd/internal/source/wss"
)

func cmdBackfill(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("backfill", "backfill --config FILE --source NAME --from TIME [--to TIME] [--restart]", stderr)
	cfgPath := fs.String("config", "", "configuration file (YAML)")
	source := fs.String("source", "", "the source to backfill")
	fromArg := fs.String("from", "", "start of the range: RFC 3339, a date (UTC), now-30d ...")
	toArg := fs.String("to", "now", "end of the range (exclusive)")
	restart := fs.Bool("restart", false, "ignore saved progress for this range and fetch it all again")
	every := fs.Duration("progress-every", 10*time.Second, "how often to print a progress line when stderr is not a terminal")
	if done, code := parseFlags(fs, args, stdout); done {
		return code
	}
	cfg, det, code := loadConfigAndRules(*cfgPath, stderr)
	if cfg == nil {
		return code
	}
	if *source == "" || *fromArg == "" {
		fmt.Fprintln(stderr, "auditfwd backfill: --source and --from are required")
		return exitUsage
	}
	now := time.Now().UTC()
	from, err := parseTimeArg(*fromArg, now)
	if err != nil {
		fmt.Fprintf(stderr, "auditfwd backfill: --from: %v\n", err)
		return exitUsage
	}
	to, err := parseTimeArg(*toArg, now)
	if err != nil {
		fmt.Fprintf(stderr, "auditfwd backfill: --to: %v\n", err)
		return exitUsage
	}
	if to.After(now) {
		to = now
	}
	if !from.Before(to) {
		fmt.Fprintf(stderr, "auditfwd backfill: --from %s is not before --to %s\n", from.Format(time.RFC3339), to.Format(time.RFC3339))
		return exitUsage
	}
	if oldest := now.Add(-wss.Retention); from.Before(oldest) {
		// The same rule as run's start: nothing older exists to fetch.
		fmt.Fprintf(stderr, "auditfwd backfill: warning: --from %s is older than the API's one-year retention: starting at %s, the oldest time it keeps\n",
			from.Format(time.RFC3339), oldest.Format(time.RFC3339))
		from = oldest
		if !from.Before(to) {
			fmt.Fprintf(stderr, "auditfwd backfill: --to %s is older than the API's one-year retention: nothing to fetch\n", to.Format(time.RFC3339))
			return exitUsage
		}
	}
	found := false
	for _, s := range cfg.Sources {
		found = found || s.Name == *source
	}
	if !found {
		fmt.Fprintf(stderr, "auditfwd backfill: no source %q in %s\n", *source, *cfgPath)
		return exitUsage
	}
	log := newLogger(cfg.Log, stderr)
	logWarnings(log, cfg)
	pr := newProgressPrinter(stderr, isTerminal(stderr), *every)
	bf := &pipeline.Backfill{Source: *source, From: from, To: to, Restart: *restart, Progress: pr.update}
	var final *pipeline.BackfillProgress
	code = runPipelineWith(cfg, log, stdout, pipeline.Options{Once: true, Backfill: bf, Detections: det}, hooks{
		onStart: func(p *pipeline.Pipeline) {
			if bp := p.Backfill(); bp != nil {
				if !bp.CompleteUpTo.IsZero() {
					log.WithField("complete_up_to", bp.CompleteUpTo.Format(time.RFC3339)).Info("backfill: this range is already complete; only the time since its end is fetched (use --restart to fetch it all again)")
				} else if bp.Resumed {
					log.WithField("done", fmt.Sprintf("%d/%d windows", bp.Done, bp.Total)).Info("backfill: resuming saved progress")
				}
				pr.start(*bp)
			}
		},
		onEnd: func(p *pipeline.Pipeline) { final = p.Backfill() },
	})
	pr.stop()
	if final != nil {
		printBackfillReport(stdout, *source, final)
	}
	if final != nil && !final.Finished() {
		fmt.Fprintln(stderr, "backfill stopped before the end of the range: its progress is saved; run the same command again to resume")
		return exitRuntime
	}
	return code
}

func printBackfillReport(w io.Writer, source string, bp *pipeline.BackfillProgress) {
	fmt.Fprintf(w, "backfill of %s from %s to %s: %d of %d windows done\n\n", source,
		bp.From.Format(time.RFC3339), bp.To.Format(time.RFC3339), bp.Done, bp.Total)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "DAY (UTC)\tFETCHED\tNEW\tDUPLICATE\tDEAD-LETTERED\t")
	doneUpTo := bp.Next.UTC().Format(time.DateOnly)
	for _, day := range bp.DayList() {
		d := bp.Days[day]
		note := ""
		switch {
		case d == nil && day >= doneUpTo:
			note = "  not fetched yet"
			d = &pipeline.DayCount{}
		case d == nil || d.Fetched == 0:
			note = "  no records: a gap?"
			if d == nil {
				d = &pipeline.DayCount{}
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\n", day, d.Fetched, d.New, d.Duplicate, d.DeadLettered, note)
	}
	t := bp.Totals()
	fmt.Fprintf(tw, "total\t%d\t%d\t%d\t%d\t\n", t.Fetched, t.New, t.Duplicate, t.DeadLettered)
	tw.Flush()
}

// progressPrinter draws a bar on a terminal and prints a line every so
// often otherwise.
type progressPrinter struct {
	w     io.Writer
	tty   bool
	every time.Duration

	mu        sync.Mutex
	t0        time.Time
	base      pipeline.BackfillProgress // at start (a resumed run's earlier work)
	last      pipeline.BackfillProgress
	lastPrint time.Time
	done      chan struct{}
	started   bool
}

func newProgressPrinter(w io.Writer, tty bool, every time.Duration) *progressPrinter {
	return &progressPrinter{w: w, tty: tty, every: every, done: make(chan struct{})}
}

func (p *progressPrinter) start(bp pipeline.BackfillProgress) {
	p.mu.Lock()
	p.t0, p.base, p.last, p.started = time.Now(), bp, bp, true
	p.mu.Unlock()
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-p.done:
				return
			case <-tick.C:
				p.mu.Lock()
				if p.tty || time.Since(p.lastPrint) >= p.every {
					p.print()
				}
				p.mu.Unlock()
			}
		}
	}()
}

func (p *progressPrinter) update(bp pipeline.BackfillProgress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last = bp
	if p.tty {
		p.print()
	}
}

func (p *progressPrinter) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.started {
		return
	}
	close(p.done)
	p.started = false
	p.print()
	if p.tty {
		fmt.Fprintln(p.w)
	}
}

// print must be called with mu held.
func (p *progressPrinter) print() {
	p.lastPrint = time.Now()
	t, b := p.last.Totals(), p.base.Totals()
	elapsed := time.Since(p.t0)
	recs := t.Fetched - b.Fetched
	rate := float64(recs) / max(elapsed.Seconds(), 0.001)
	eta := "?"
	if done := p.last.Done - p.base.Done; done > 0 {
		left := p.last.Total - p.last.Done
		eta = (time.Duration(float64(elapsed) / float64(done) * float64(left))).Round(time.Second).String()
	}
	line := fmt.Sprintf("%d/%d windows  %d records (%d new)  %.0f records/s  ETA %s",
		p.last.Done, p.last.Total, t.Fetched, t.New, rate, eta)
	if !p.tty {
		fmt.Fprintf(p.w, "backfill progress: %s\n", line)
		return
	}
	const width = 30
	filled := 0
	if p.last.Total > 0 {
		filled = width * p.last.Done / p.last.Total
	}
	bar := strings.Repeat("=", filled) + strings.Repeat(" ", width-filled)
	fmt.Fprintf(p.w, "\r[%s] %s\x1b[K", bar, line)
}
