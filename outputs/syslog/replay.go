package syslog

import "time"

// Plain syslog has no application-level acknowledgement. A batch counts as
// delivered once the collector's TCP has acknowledged its bytes, but the
// collector may still lose them: bytes acknowledged by its kernel and not
// yet read when it closes (a restart resets the connection and drops them),
// or read into its own buffers and dropped at shutdown. Such losses show
// only afterwards, as the connection ending.
//
// So the output keeps the messages it delivered recently, and when a
// connection ends other than by Close (the collector closed or reset it, or
// a write failed), it sends those delivered within replayAge before the end,
// at most replayMaxBytes (or the last batch, if larger), again at the start
// of the next connection. What
// the collector had taken arrives twice (SIEMs drop repeats by event.hash);
// what it had lost arrives once. Loss remains possible only beyond these
// bounds: a collector killed with more than replayMaxBytes unread, or with
// older messages still in its memory queue.
const (
	replayMaxBytes = 1 << 20
	replayAge      = 10 * time.Second
)

// delivered is one run of framed messages confirmed at one time.
type delivered struct {
	at   time.Time
	data []byte
	msgs int
}

// history is what a connection delivered recently, oldest first.
type history struct {
	runs  []delivered
	bytes int
}

// add remembers framed messages just confirmed, and forgets runs that are
// too old or beyond the byte bound (the newest run is always kept).
func (h *history) add(at time.Time, data []byte, msgs int) {
	if msgs == 0 {
		return
	}
	h.runs = append(h.runs, delivered{at: at, data: append([]byte(nil), data...), msgs: msgs})
	h.bytes += len(data)
	drop := 0
	for drop < len(h.runs)-1 && (h.bytes > replayMaxBytes || at.Sub(h.runs[drop].at) > replayAge) {
		h.bytes -= len(h.runs[drop].data)
		drop++
	}
	h.runs = append(h.runs[:0], h.runs[drop:]...)
}

// take returns the messages delivered within replayAge before end, and
// forgets them all.
func (h *history) take(end time.Time) (data []byte, msgs int) {
	for _, r := range h.runs {
		if end.Sub(r.at) <= replayAge {
			data = append(data, r.data...)
			msgs += r.msgs
		}
	}
	h.runs, h.bytes = nil, 0
	return data, msgs
}
