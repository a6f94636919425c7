package elasticsearch

import (
	"errors"
	"testing"
	"time"

	"github.com/auditfwd/auditfwd/internal/event"
	"github.com/auditfwd/auditfwd/internal/testpeer"
	"github.com/auditfwd/auditfwd/outputs"
)

// makeEvents maps n realistic records, the i-th at start + i*step.
func makeEvents(tb testing.TB, n int, start time.Time, step time.Duration) []event.Event {
	return testpeer.Events(tb, n, start, step, "object %d")
}

var day = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

func newOutput(tb testing.TB, cfg Config) *Output {
	tb.Helper()
	o, err := New("es", cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() { o.Close() })
	return o
}

func asBatchError(tb testing.TB, err error) *outputs.BatchError {
	tb.Helper()
	var be *outputs.BatchError
	if !errors.As(err, &be) {
		tb.Fatalf("want a *outputs.BatchError, got %T: %v", err, err)
	}
	return be
}

// wholeBatchRetry asserts err retries the whole batch: not nil, not a
// BatchError, not Permanent.
func wholeBatchRetry(tb testing.TB, err error) {
	tb.Helper()
	var be *outputs.BatchError
	switch {
	case err == nil:
		tb.Fatal("Write returned nil; want an error that retries the batch")
	case errors.As(err, &be):
		tb.Fatalf("want a whole-batch error, got a BatchError: %v", err)
	case outputs.IsPermanent(err):
		tb.Fatalf("want a retryable error, got a permanent one: %v", err)
	}
}
