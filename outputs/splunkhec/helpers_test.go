package splunkhec

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/auditfwd/auditfwd/internal/event"
	"github.com/auditfwd/auditfwd/outputs"
)

var (
	testUsers = []string{"jane.admin@example.com", "ops-bot@example.com", "sec.lead@example.com", "helpdesk@example.com"}
	testOps   = []string{"Create", "Update", "Delete", "Login", "Execute", "Disable"}
	testObjs  = []string{"PolicyRule", "Report", "Agent", "Session", "Location", "ApiCredential"}
)

// testRecord is a realistic WSS audit record, different for every i.
func testRecord(i int, at time.Time) []byte {
	return fmt.Appendf(nil, `{"id":"rec-%06d","timestamp":%q,"userName":%q,"sourceIp":"203.0.%d.%d",`+
		`"objectType":%q,"objectName":"object <%d> & co","operationType":%q,"status":"Success",`+
		`"description":"%s %s 'object %d'","tenantId":"t-48213","sessionId":"s-%08x","details":{"position":%d}}`,
		i, at.UTC().Format(time.RFC3339Nano), testUsers[i%len(testUsers)], (i/250)%256, i%250+1,
		testObjs[i%len(testObjs)], i, testOps[i%len(testOps)], testOps[i%len(testOps)], testObjs[i%len(testObjs)], i, i*2654435761, i%100)
}

// makeEvents maps n records through the real event package, the i-th at
// start + i*step.
func makeEvents(tb testing.TB, n int, start time.Time, step time.Duration) []event.Event {
	tb.Helper()
	m := event.NewMapper(event.Fields{}, "tenant-a")
	ingested := start.Add(time.Duration(n)*step + time.Hour)
	evs := make([]event.Event, n)
	for i := range evs {
		p, err := event.Parse(testRecord(i, start.Add(time.Duration(i)*step)))
		if err != nil {
			tb.Fatal(err)
		}
		if evs[i], err = m.Map(&p, ingested); err != nil {
			tb.Fatal(err)
		}
	}
	return evs
}

const goodToken = "good-token-0001"

func newOutput(tb testing.TB, cfg Config) *Output {
	tb.Helper()
	o, err := New("splunk", cfg)
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

func tlsEnabled(b *bool) outputs.TLS { return outputs.TLS{Enabled: b} }
