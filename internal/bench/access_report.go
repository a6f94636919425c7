package bench

import (
	"fmt"
	"io"
	"time"
)

// WriteTable prints the access benchmark for people.
func (r *AccessReport) WriteTable(w io.Writer) {
	p := r.Pass
	fmt.Fprintf(w, "auditfwd bench --access: one UTC day of %d access-log lines in %d Sync API answers of up to %d lines (%.1f MiB), file output, run --once\n",
		r.Lines, r.Answers, r.PageLines, float64(r.ArchiveBytes)/mib)
	fmt.Fprintln(w, "CPU and RSS are the agent's (the run child's rusage); the answers are files generated beforehand and served by the bench process.")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "lines/s          %.0f\n", p.RecordsPerSecond())
	fmt.Fprintf(w, "CPU µs/line      %.2f  (user %s + sys %s)\n", p.CPUPerRecord(), p.User.Round(time.Millisecond), p.Sys.Round(time.Millisecond))
	fmt.Fprintf(w, "peak RSS MiB     %.0f\n", float64(p.MaxRSS)/mib)
	fmt.Fprintf(w, "wall s           %.2f\n", p.Wall.Seconds())
	fmt.Fprintf(w, "disk bytes/line  %.0f  (output %.1f MiB, state.db %.1f, seen-set %.1f, queues %.1f, dead letter %.1f)\n",
		p.DiskPerRecord(), float64(p.Disk.Output)/mib, float64(p.Disk.StateDB)/mib, float64(p.Disk.Seen)/mib, float64(p.Disk.Queues)/mib, float64(p.Disk.DeadLetter)/mib)
	fmt.Fprintf(w, "agent: fetched %d, new %d, duplicate %d, dead-lettered %d; delivered %d, still queued %d; %d answers served; exit %d\n",
		p.Fetched, p.New, p.Duplicate, p.DeadLettered, p.Delivered, p.Queued, r.ServedAnswers, p.ExitCode)
	fmt.Fprintf(w, "bench process (replay%s): peak RSS %.0f MiB, CPU %.2f s; archives in %s\n",
		map[bool]string{true: " and generation", false: ""}[r.Generated], float64(r.SelfMaxRSS)/mib, r.SelfCPU.Seconds(), r.Archives)
	if r.Dir != "" {
		fmt.Fprintf(w, "work directory kept: %s\n", r.Dir)
	}
}
