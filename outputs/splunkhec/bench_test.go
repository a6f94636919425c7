package splunkhec

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkAckedThroughput is the events/s of Write with ack: true against
// a HEC whose indexer acknowledges each request 1 s after accepting it, at
// the output's defaults (ack_poll_interval 1s), for the pipeline's batch
// without ack (500 events) and its default with ack (AckBatchEvents). Each
// iteration is one Write of one batch; run with -benchtime=Nx. The HEC
// stand-in only counts the events, so the figure is the output's.
func BenchmarkAckedThroughput(b *testing.B) {
	for _, size := range []int{500, AckBatchEvents} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			f := newFakeHEC(b, false)
			f.ack, f.light = true, true
			f.ackRule = func(_ int64, _ int, age time.Duration) bool { return age >= time.Second }
			o := newOutput(b, Config{URL: f.srv.URL, Token: goodToken, Ack: true})
			evs := makeEvents(b, size, start, time.Millisecond)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := o.Write(context.Background(), evs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(size*b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}
