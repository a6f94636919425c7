package wss

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// endlessHandler streams valid records until the client goes away; with
// every > 0 it sends one byte per tick.
func endlessHandler(every time.Duration, served *atomic.Int64) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fl := w.(http.Flusher)
		_, _ = io.WriteString(w, "[")
		for i := 0; r.Context().Err() == nil; i++ {
			rec := fmt.Sprintf(`{"n":%d},`, i)
			if every <= 0 {
				if _, err := io.WriteString(w, rec); err != nil {
					return
				}
				served.Add(1)
				continue
			}
			for j := 0; j < len(rec); j++ {
				if _, err := w.Write([]byte{rec[j]}); err != nil {
					return
				}
				fl.Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(every):
				}
			}
			served.Add(1)
		}
	}
}

func TestFetchToSkipsHugeRecordAndGoesOn(t *testing.T) {
	const size = 8 << 20
	huge := func() io.Reader { return newPatternReader(`{"pad":"`, "0123456789", `"}`, size) }
	h := sha256.New()
	_, _ = io.Copy(h, huge())
	before, after, want := goodRecords(10)
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.Copy(w, io.MultiReader(strings.NewReader(before), huge(), strings.NewReader(after)))
	})
	cfg := testConfig(srv.URL)
	cfg.MaxRecordBytes = 1 << 20
	c := newTestClient(t, cfg, &http.Client{Timeout: time.Minute})
	var recs []string
	var skipped []SkippedRecord
	n, err := c.FetchTo(context.Background(), winStart, winEnd, Handlers{
		Record:  func(raw []byte) error { recs = append(recs, string(raw)); return nil },
		Skipped: func(sk SkippedRecord) error { skipped = append(skipped, sk); return nil },
	})
	if err != nil || n != 20 || strings.Join(recs, ",") != strings.Join(want, ",") {
		t.Fatalf("n=%d err=%v records %q", n, err, recs)
	}
	if len(skipped) != 1 || skipped[0].Index != 11 || skipped[0].Size != size || string(skipped[0].Hash[:]) != string(h.Sum(nil)) {
		t.Fatalf("skipped %+v", skipped)
	}

	// Plain Fetch has nowhere to put it: the window fails, naming the setting.
	if _, err := c.Fetch(context.Background(), winStart, winEnd, nil); err == nil || !strings.Contains(err.Error(), "max_record_bytes") {
		t.Fatalf("Fetch: err = %v", err)
	}
}

// An endless body of valid records stops at max_window_records.
func TestFetchRecordCap(t *testing.T) {
	var served atomic.Int64
	srv := serve(t, endlessHandler(0, &served))
	cfg := testConfig(srv.URL)
	cfg.MaxWindowRecords = 1000
	c := newTestClient(t, cfg, &http.Client{Timeout: time.Minute})
	calls := 0
	n, err := c.Fetch(context.Background(), winStart, winEnd, func([]byte) error { calls++; return nil })
	var le *LimitError
	if !errors.As(err, &le) || le.Setting != "max_window_records" || n != 1000 || calls != 1000 {
		t.Fatalf("n=%d calls=%d err=%v", n, calls, err)
	}
	for _, m := range []string{"more than 1000 records (max_window_records)", "narrow the source's window"} {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("error %q lacks %q", err, m)
		}
	}
	if Retryable(err) {
		t.Error("a LimitError is retryable: the same request does the same")
	}
}

// A server sending a byte at a time never trips the stall timeout, but
// window_timeout ends it, and progress is reported while it dribbles.
func TestFetchWindowTimeoutAndProgress(t *testing.T) {
	var served atomic.Int64
	srv := serve(t, endlessHandler(5*time.Millisecond, &served))
	cfg := testConfig(srv.URL)
	cfg.WindowTimeout = 500 * time.Millisecond
	cfg.IdleTimeout = time.Minute
	cfg.ProgressEvery = 10 * time.Millisecond
	c := newTestClient(t, cfg, &http.Client{Timeout: 5 * time.Minute})
	var progress []Progress
	_, err := c.FetchTo(context.Background(), winStart, winEnd, Handlers{Progress: func(p Progress) { progress = append(progress, p) }})
	var le *LimitError
	if !errors.As(err, &le) || le.Setting != "window_timeout" {
		t.Fatalf("err = %v", err)
	}
	for _, m := range []string{"not complete after 500ms (window_timeout", "narrow the source's window or raise window_timeout"} {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("error %q lacks %q", err, m)
		}
	}
	if len(progress) == 0 {
		t.Fatal("no progress reported")
	}
	last := progress[len(progress)-1]
	if last.Bytes == 0 || last.Elapsed <= 0 {
		t.Errorf("last progress %+v", last)
	}
	for i := 1; i < len(progress); i++ {
		if progress[i].Bytes < progress[i-1].Bytes || progress[i].Records < progress[i-1].Records {
			t.Fatalf("progress went back: %+v", progress)
		}
	}
}

// Time the callbacks spend (an output holding polling back) is not the
// server's: it does not count towards window_timeout.
func TestWindowTimeoutExcludesCallbacks(t *testing.T) {
	released := make(chan struct{})
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `[{"a":1},`)
		w.(http.Flusher).Flush()
		// The rest only once the first record was handled, so the body is
		// still being read when the callback returns.
		select {
		case <-released:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, `{"a":2},{"a":3}]`)
	})
	cfg := testConfig(srv.URL)
	cfg.WindowTimeout = time.Second
	c := newTestClient(t, cfg, &http.Client{Timeout: time.Minute})
	n, err := c.Fetch(context.Background(), winStart, winEnd, func([]byte) error {
		select {
		case <-released:
		default:
			time.Sleep(1500 * time.Millisecond) // a slow output, not a synchronisation
			close(released)
		}
		return nil
	})
	if err != nil || n != 3 {
		t.Fatalf("n=%d err=%v", n, err)
	}
}

// The clock re-arms while a callback runs and fires once the time outside
// callbacks is used up.
func TestWindowClockFires(t *testing.T) {
	fired := make(chan struct{})
	w := startWindowClock(20*time.Millisecond, func() { close(fired) })
	defer w.stop()
	w.pause()
	w.resume()
	select {
	case <-fired:
	case <-time.After(time.Minute):
		t.Fatal("the window clock never fired")
	}
}
