package bench

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

const mib = 1 << 20

// WriteTable prints the report for people: one row per pass, then what
// each pass fetched and where the disk space went.
func (r *Report) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "auditfwd bench: one UTC day of %d unique records (%s), file output, run --once\n", r.Records, r.Mix)
	fmt.Fprintln(w, "CPU and RSS are the run child's (rusage); the simulator runs in the bench process and is not counted.")
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "pass\tfetched\twall s\trecords/s\tCPU s\tCPU µs/record\tpeak RSS MiB\tdisk bytes/record\t")
	for _, p := range r.Passes {
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.0f\t%.2f\t%.1f\t%.0f\t%.0f\t\n",
			p.Name, p.Fetched, p.Wall.Seconds(), p.RecordsPerSecond(), p.CPU().Seconds(),
			p.CPUPerRecord(), float64(p.MaxRSS)/mib, p.DiskPerRecord())
	}
	tw.Flush()
	fmt.Fprintln(w)
	for i, p := range r.Passes {
		fmt.Fprintf(w, "pass %d (%s): served %d entries in %d request(s) (%d repeats within a response, %d malformed); "+
			"run: fetched %d, new %d, duplicate %d, dead-lettered %d; delivered %d, still queued %d; exit %d\n",
			i+1, p.Name, p.Served, p.Requests, p.Repeats, p.Malformed,
			p.Fetched, p.New, p.Duplicate, p.DeadLettered, p.Delivered, p.Queued, p.ExitCode)
		fmt.Fprintf(w, "  CPU user %s + sys %s; disk %.1f MiB: output %.1f, state.db %.1f, seen-set %.1f, queues %.1f, dead letter %.1f\n",
			p.User.Round(time.Millisecond), p.Sys.Round(time.Millisecond), float64(p.Disk.Total())/mib,
			float64(p.Disk.Output)/mib, float64(p.Disk.StateDB)/mib, float64(p.Disk.Seen)/mib, float64(p.Disk.Queues)/mib, float64(p.Disk.DeadLetter)/mib)
	}
	fmt.Fprintf(w, "bench process (simulator): peak RSS %.0f MiB, CPU %.2f s\n", float64(r.SimMaxRSS)/mib, r.SimCPU.Seconds())
	if r.Dir != "" {
		fmt.Fprintf(w, "work directory kept: %s\n", r.Dir)
	}
}
