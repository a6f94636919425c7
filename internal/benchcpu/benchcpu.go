// Package benchcpu reports a benchmark's CPU time per operation. The
// machines the benchmarks run on are shared, so wall time per op (ns/op)
// moves with other people's load; the process's user+system CPU time is
// what a record costs and what the performance goals are stated in.
package benchcpu

import (
	"syscall"
	"testing"
	"time"
)

// Start begins measuring; call the returned function when the loop ends
// (defer it). It reports "cpu-ns/op": the process's CPU time, all threads
// (garbage collection included), divided by b.N.
func Start(b *testing.B) func() {
	t0 := cpuTime()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64((cpuTime()-t0).Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
