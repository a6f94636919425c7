package pipeline

import (
	"fmt"
	"testing"
	"time"

	"github.com/auditfwd/auditfwd/outputs/splunkhec"
)

// BenchmarkHECAckedDrain drains 100,000 queued events into splunk_hec with
// ack: true against a HEC whose indexer acknowledges each request 1 s after
// accepting it (ack_poll_interval 1s and ack_timeout 60s, the defaults),
// with no ack lost or with two requests' acks lost (resent after
// ack_timeout), one batch at a time (before: 1 x 20,000 events) and
// pipelined (the defaults now: AckBatchesInFlight x AckBatchEvents).
// events/s is until the delivery mark covers every event; acked-events/s
// is the events of the requests whose ack was not lost, over the time
// until they were all acknowledged: what the output keeps up with while
// acks are lost. Run with -benchtime=1x; it takes minutes (ack_timeout).
func BenchmarkHECAckedDrain(b *testing.B) {
	const events = 100_000
	for _, shape := range []struct {
		name string
		o    hecOpts
	}{
		{"before=1x20000", hecOpts{batch: 20000, inFlight: 1}},
		{fmt.Sprintf("after=%dx%d", splunkhec.AckBatchesInFlight, splunkhec.AckBatchEvents),
			hecOpts{batch: splunkhec.AckBatchEvents, inFlight: splunkhec.AckBatchesInFlight}},
	} {
		for _, lost := range []int{0, 2} {
			b.Run(fmt.Sprintf("%s/lost=%d", shape.name, lost), func(b *testing.B) {
				o := shape.o
				o.ackTimeout, o.poll = splunkhec.DefaultAckTimeout, splunkhec.DefaultAckPollInterval
				var total, firstPass time.Duration
				for i := 0; i < b.N; i++ {
					d, fp := hecDrainOnce(b, events, lost, o)
					total += d
					firstPass += fp
				}
				b.ReportMetric(float64(events*b.N)/total.Seconds(), "events/s")
				b.ReportMetric(float64(events*b.N)/firstPass.Seconds(), "acked-events/s")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}

// hecDrainOnce returns how long the drain took until the mark covered
// every event, and until every request whose ack was not lost was
// acknowledged.
func hecDrainOnce(b *testing.B, events, lost int, o hecOpts) (total, firstPass time.Duration) {
	b.StopTimer()
	f := newAckHEC(b)
	// Requests 3 and 13 lose their acks (both lie inside the 100,000
	// events whatever the batch size; their resends are acknowledged).
	lose := map[int64]bool{3: lost > 0, 13: lost > 1}
	f.setAckIf(func(r *hecReq) bool { return !lose[r.id] && time.Since(r.at) >= time.Second })
	h := openPipelinedHEC(b, b.TempDir(), f.srv.URL, events/hecBatch, o)
	defer h.crash()
	final := h.ends[len(h.ends)-1]
	b.StartTimer()
	t0 := time.Now()
	h.start()
	for h.mark() != final {
		if firstPass == 0 && allAckedBut(f, lose, events) {
			firstPass = time.Since(t0)
		}
		if time.Since(t0) > 15*time.Minute {
			b.Fatal("the drain did not finish in 15 minutes")
		}
		time.Sleep(50 * time.Millisecond)
	}
	total = time.Since(t0)
	b.StopTimer()
	if firstPass == 0 {
		firstPass = total
	}
	return total, firstPass
}

// allAckedBut reports whether every event is acknowledged but those of the
// requests whose ack is lost (counted once they all came).
func allAckedBut(f *ackHEC, lost map[int64]bool, events int) bool {
	acked := map[string]bool{}
	want, seen := events, 0
	for _, r := range f.requests() {
		switch {
		case lost[r.id]:
			want -= len(r.hashes)
			seen++
		case r.acked:
			for _, h := range r.hashes {
				acked[h] = true
			}
		}
	}
	nLost := 0
	for _, l := range lost {
		if l {
			nLost++
		}
	}
	return seen == nLost && len(acked) >= want
}
