package pipeline

import (
	"context"
	"sync"

	"github.com/auditfwd/auditfwd/internal/queue"
)

// A pipelined drainer (batch.max_in_flight N > 1, an outputs.Concurrent
// output: splunk_hec) keeps up to N batches in their send loop at once,
// each with the retries, back-off, dead-letter verdicts and drop_oldest
// checks of a batch alone. Only the order of durable writes differs from
// one batch at a time, and only in when they happen:
//
//   - Batches are read in queue order, and their outcomes settled in that
//     order, per queue: a batch that is done waits, holding only its end
//     position and its dead-letter lines, until every batch read before it
//     from its queue is done too. Then their dead-letter lines are fsynced
//     and one transaction moves the delivery mark past the last of them.
//     The mark never passes a batch still being written or awaiting its
//     acknowledgement, so a crash resends from the first one not done:
//     nothing is lost, and the batches done behind it are sent again
//     (at-least-once; the target drops repeats by event hash).
//   - A batch that waits long (a lost HEC ack, held for ack_timeout) holds
//     one of the N slots; the others go on. Done batches may pile up behind
//     it, up to behindPerSlot*N batches read past the mark (the redelivery
//     window after a crash), and the queue's disk space below them is kept;
//     queue.max_bytes still applies.
//   - A drop_oldest drop moves the mark past every batch in flight; their
//     outcomes then move nothing (queue.AckTo).
//
// On stop the batches in flight are cancelled, those already done are
// settled, and the rest stay queued for the next start.

// behindPerSlot bounds, per batch in flight, the batches read past the
// delivery mark: with 8 in flight of 2,500 events, 1.28 M events, which
// covers a 60 s ack_timeout at over 20,000 events/s.
const behindPerSlot = 64

// flight is one batch of a pipelined drainer, from its Read to its mark.
type flight struct {
	oq    *outQueue
	batch []queue.Entry // nil once sent: the outcome is all that is kept
	res   outcome
	err   error // set by send: fatal, or ctx's
	done  bool  // sent without error; waits to be settled in order
}

func (o *outputRunner) runPipelined(parent context.Context, n int) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	var wg sync.WaitGroup
	completed := make(chan *flight, n) // never blocks: at most n running
	var pending []*flight              // read and not settled, in read order
	running := 0
	var failure error
	settleBroken := false // a settle failed half-way: settle nothing more
	complete := func(f *flight) {
		running--
		if f.err != nil {
			if failure == nil {
				failure = f.err
			}
			return
		}
		f.done = true
	}
	for failure == nil && ctx.Err() == nil {
	collect:
		for {
			select {
			case f := <-completed:
				complete(f)
			default:
				break collect
			}
		}
		if failure != nil {
			break
		}
		rest, err := o.settleDone(pending)
		if err != nil {
			failure, settleBroken = err, true
			break
		}
		pending = rest
		canRead := running < n && len(pending) < behindPerSlot*n
		if canRead {
			if oq, ok := o.pick(); ok {
				o.fillBatch(ctx, oq.q)
				batch, err := oq.q.Read(o.cfg.Batch.MaxEvents, int64(o.cfg.Batch.MaxBytes))
				if err != nil {
					o.log.WithError(err).Error("queue unreadable: this output stops; other outputs go on")
					o.stats.failed(err)
					cancel()
					wg.Wait()
					<-parent.Done()
					return
				}
				if len(batch) == 0 {
					continue
				}
				f := &flight{oq: oq, batch: batch}
				pending = append(pending, f)
				running++
				wg.Add(1)
				go func() {
					defer wg.Done()
					f.res, f.err = o.send(ctx, f.oq, f.batch)
					f.batch = nil
					completed <- f
				}()
				continue
			}
		}
		if f := o.waitFor(ctx, canRead, completed); f != nil {
			complete(f)
		}
	}
	// Stop the rest, and keep what is done: the next start resends less.
	cancel()
	wg.Wait()
	for running > 0 {
		complete(<-completed)
	}
	if !settleBroken {
		if _, err := o.settleDone(pending); err != nil && failure == nil {
			failure = err
		}
	}
	if failure != nil && parent.Err() == nil {
		o.log.WithError(failure).Error("output stopped")
		o.stats.failed(failure)
		<-parent.Done()
	}
}

// settleDone settles, per queue, the batches done before the first one of
// that queue still in flight, and returns those left, in order.
func (o *outputRunner) settleDone(pending []*flight) ([]*flight, error) {
	blocked := map[*outQueue]bool{}
	ready := map[*outQueue][]outcome{}
	var order []*outQueue
	var rest []*flight
	for _, f := range pending {
		if !f.done || blocked[f.oq] {
			blocked[f.oq] = true
			rest = append(rest, f)
			continue
		}
		if ready[f.oq] == nil {
			order = append(order, f.oq)
		}
		ready[f.oq] = append(ready[f.oq], f.res)
	}
	for _, oq := range order {
		if err := o.settle(oq, ready[oq]); err != nil {
			return pending, err
		}
	}
	return rest, nil
}
