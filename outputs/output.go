// Package outputs holds the one small interface every output implements and
// the errors through which an output tells the pipeline what to do with the
// items of a batch. Retries, back-off, queues and dead letters are written
// once, in package pipeline; an output only delivers and classifies.
package outputs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/auditfwd/auditfwd/internal/event"
)

// Output delivers batches of events to one target.
//
// Write returns nil when the target has durably accepted every event of the
// batch. Otherwise it returns:
//   - a *BatchError naming the items to retry and the items refused for good;
//   - an error wrapped by Permanent: the whole batch is refused for good;
//   - any other error: the whole batch is retried (the target is down).
//
// A constructor does no network I/O: Write connects lazily and reconnects.
type Output interface {
	Name() string
	Write(ctx context.Context, batch []event.Event) error
	Close() error
}

// Stateful is implemented by outputs whose target can be rewound, which is
// what makes them exactly-once: State is saved in the same transaction as the
// queue's delivery mark, and Restore is called with it before the first Write
// after a start. State may be called while a Write runs (a drop_oldest drop
// saves it with the mark it moves, from the polling goroutine): it returns
// the state after the last completed Write.
type Stateful interface {
	State() []byte
	Restore(state []byte) error
}

// Concurrent is implemented by outputs that may have several batches in
// flight (batch.max_in_flight above 1): Write is safe for concurrent use, and
// what the target ends up holding does not depend on the order in which
// concurrent Writes complete (each batch carries its events' hashes). The
// pipeline still moves the delivery mark in queue order, over the batches
// that are delivered, so a batch in flight is never passed over. A Stateful
// output cannot be Concurrent: its state describes the target after the
// batches in order. SetConcurrency is called once, before the first Write,
// with how many Writes may run at once (to size connection pools, say).
type Concurrent interface {
	SetConcurrency(n int)
}

// Copier is implemented by outputs whose Write keeps no part of a batch's
// documents once it returns: whatever it sends, buffers or remembers (a
// replay history, a request body, a dead-letter line) is its own copy. The
// drainer then reads the next batch into the memory of the last one, so a
// steady stream allocates (and collects) no document. An output that
// hands documents to a client library which may still hold them after a
// cancelled Write (kafka-go's writer) must not implement it.
type Copier interface {
	CopiesDocuments()
}

// Checker is implemented by outputs that can test their target without
// writing data (auditfwd check).
type Checker interface {
	Check(ctx context.Context) error
}

// BatchError reports a partial failure. Indexes refer to the batch passed to
// Write; an index in neither map nor Retry was delivered.
type BatchError struct {
	Retry      []int         // retry these items (429, 5xx, timeouts)
	Permanent  map[int]error // never retry these: dead letter, with the error
	RetryAfter time.Duration // the target asked to wait this long (0: use back-off)
	Err        error         // a summary, for the log
}

func (e *BatchError) Error() string {
	msg := fmt.Sprintf("%d items to retry, %d refused", len(e.Retry), len(e.Permanent))
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *BatchError) Unwrap() error { return e.Err }

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as a refusal that retrying cannot change.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err was marked Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// RetryAfterError asks the pipeline to wait at least After before retrying
// the whole batch (HTTP 429/503 with Retry-After, say).
type RetryAfterError struct {
	After time.Duration
	Err   error
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("%v (retry after %s)", e.Err, e.After)
}

func (e *RetryAfterError) Unwrap() error { return e.Err }
