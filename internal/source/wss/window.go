package wss

import (
	"errors"
	"io"
	"sync"
	"time"
)

// Handlers receive what FetchTo finds in one window's response.
type Handlers struct {
	// Record gets each record's raw JSON; the slice is reused after it
	// returns.
	Record func(raw []byte) error
	// Skipped gets each record over max_record_bytes or max_record_depth,
	// which was read past without being buffered. Nil: such a record fails
	// the fetch with a *BodyError.
	Skipped func(SkippedRecord) error
	// Progress hears every Config.ProgressEvery how far a response still
	// being read has come (a slow server shows in the logs). It is called
	// between reads, on the goroutine that called FetchTo.
	Progress func(Progress)
}

// Progress is how far one response has come.
type Progress struct {
	Records int           // records met, skipped ones included
	Bytes   int64         // body bytes read
	Elapsed time.Duration // since the request was sent
}

// errWindowTimeout is the cause the window clock cancels a request with.
var errWindowTimeout = errors.New("window_timeout")

// windowClock cancels a fetch once it has taken d, not counting the time
// spent in the caller's callbacks: an output holding polling back is not
// the server being slow.
type windowClock struct {
	d        time.Duration
	start    time.Time
	t        *time.Timer
	mu       sync.Mutex
	paused   time.Duration // in callbacks that returned
	pausedAt time.Time     // when the current callback began; zero outside
}

func startWindowClock(d time.Duration, expire func()) *windowClock {
	w := &windowClock{d: d, start: time.Now()}
	w.t = time.AfterFunc(d, func() {
		w.mu.Lock()
		used := time.Since(w.start) - w.paused
		if !w.pausedAt.IsZero() {
			used -= time.Since(w.pausedAt)
		}
		if used < w.d {
			w.t.Reset(w.d - used)
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
		expire()
	})
	return w
}

func (w *windowClock) stop() { w.t.Stop() }

// pause and resume bracket a callback.
func (w *windowClock) pause() {
	w.mu.Lock()
	w.pausedAt = time.Now()
	w.mu.Unlock()
}

func (w *windowClock) resume() {
	w.mu.Lock()
	w.paused += time.Since(w.pausedAt)
	w.pausedAt = time.Time{}
	w.mu.Unlock()
}

// meter counts the body's bytes and reports progress now and then.
type meter struct {
	r       io.Reader
	bytes   int64
	records *int
	start   time.Time
	every   time.Duration
	last    time.Time
	report  func(Progress)
}

func (m *meter) Read(b []byte) (int, error) {
	n, err := m.r.Read(b)
	m.bytes += int64(n)
	if m.report != nil {
		if now := time.Now(); now.Sub(m.last) >= m.every {
			m.last = now
			m.report(m.progress())
		}
	}
	return n, err
}

func (m *meter) progress() Progress {
	return Progress{Records: *m.records, Bytes: m.bytes, Elapsed: time.Since(m.start)}
}
