package splunkhec

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"time"
)

// waitAcks polls /ack until every ackId of d is acknowledged, or
// ack_timeout passes: the items of the ids still pending are then retried
// (and may be indexed twice, if the indexer was only slow). The ids of all
// the batch's requests go in one /ack call per ack_poll_interval, counted
// from the end of the sending: the batch waits out one acknowledgement
// delay however many requests it took, in whatever order they come.
func (o *Output) waitAcks(ctx context.Context, d *delivery) {
	deadline := time.Now().Add(time.Duration(o.cfg.AckTimeout))
	poll := time.Duration(o.cfg.AckPollInterval)
	var lastErr error
	failAll := func(err error) {
		for _, id := range sortedIDs(d.acks) {
			d.fail(d.acks[id], err, 0, false)
		}
		d.acks = nil
	}
	for len(d.acks) > 0 {
		timer := time.NewTimer(min(poll, max(0, time.Until(deadline))))
		select {
		case <-ctx.Done():
			timer.Stop()
			failAll(fmt.Errorf("splunk HEC: waiting for indexer acknowledgement: %w", ctx.Err()))
			return
		case <-timer.C:
		}
		ids := sortedIDs(d.acks)
		body, _ := json.Marshal(map[string][]int64{"acks": ids})
		r, err := o.post(ctx, http.MethodPost, pathAck, body, false, true)
		switch {
		case err != nil:
			lastErr = err
		case r.status == http.StatusOK:
			for _, id := range ids {
				if r.reply.Acks[strconv.FormatInt(id, 10)] {
					delete(d.acks, id)
				}
			}
		case r.status == http.StatusBadRequest && r.code() == 14:
			failAll(fmt.Errorf("%w (%s)", ErrAckDisabled, r.describe()))
			return
		case r.status == http.StatusBadRequest && (r.code() == 10 || r.code() == 11):
			failAll(fmt.Errorf("splunk HEC lost the acks of channel %s (%s): resending", o.Channel(), r.describe()))
			return
		case r.status == http.StatusUnauthorized || r.status == http.StatusForbidden:
			failAll(fmt.Errorf("%w on /ack (%s)", ErrToken, r.describe()))
			return
		default:
			lastErr = fmt.Errorf("/ack answered %s", r.describe())
		}
		if len(d.acks) > 0 && !time.Now().Before(deadline) {
			err := fmt.Errorf("%w within ack_timeout %s for %d request(s) on channel %s: resending (events may be indexed twice)",
				ErrAckTimeout, time.Duration(o.cfg.AckTimeout), len(d.acks), o.Channel())
			if lastErr != nil {
				err = fmt.Errorf("%w; last error: %v", err, lastErr)
			}
			failAll(err)
			return
		}
	}
}

func sortedIDs(m map[int64][]int) []int64 {
	ids := make([]int64, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(a, b int) bool { return ids[a] < ids[b] })
	return ids
}
