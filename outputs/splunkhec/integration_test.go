package splunkhec

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/auditfwd/auditfwd/internal/event"
	"github.com/auditfwd/auditfwd/internal/testpeer"
)

// The real peer: VictoriaLogs implements the HEC event endpoint for real
// (app/vlinsert/splunk: /services/collector/event and .../event/1.0, also
// under /insert/splunk, and GET /services/collector/health), storing every
// event it accepts so that it can be read back with LogsQL. It checks no
// token and has no /ack: ack, token errors, 400/413/503 are tested against
// the stand-in (fakehec_test.go). The server is started by internal/testpeer.

func TestIntoVictoriaLogs(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: runs VictoriaLogs")
	}
	for _, gz := range []bool{false, true} {
		t.Run(fmt.Sprintf("gzip=%t", gz), func(t *testing.T) {
			vl := testpeer.StartVictoriaLogs(t)
			o := newOutput(t, Config{URL: vl.Base, Token: "any-token", Index: "wss", Host: "fwd-1", Gzip: gz})
			ctx := context.Background()
			if err := o.Check(ctx); err != nil {
				t.Fatalf("Check against VictoriaLogs: %v", err)
			}
			const n, batchSize = 3000, 500
			start := time.Now().UTC().Add(-36 * time.Hour).Truncate(time.Second).Add(123 * time.Millisecond)
			evs := makeEvents(t, n, start, 10*time.Second+7*time.Millisecond)
			began := time.Now()
			for i := 0; i < n; i += batchSize {
				if err := o.Write(ctx, evs[i:i+batchSize]); err != nil {
					t.Fatalf("Write of events %d..%d: %v", i, i+batchSize-1, err)
				}
			}
			elapsed := time.Since(began)
			t.Logf("%d events in %d requests of %d (gzip=%t): %v, %.0f events/s into VictoriaLogs' HEC endpoint",
				n, n/batchSize, batchSize, gz, elapsed, float64(n)/elapsed.Seconds())
			if got := vl.Count(t, n); got != n {
				t.Fatalf("VictoriaLogs holds %d events, want %d", got, n)
			}
			for _, i := range []int{0, 1, 1234, n - 1} {
				checkStored(t, vl, i, evs[i])
			}
		})
	}
}

// checkStored reads one event back by its indexed hash field and compares
// it with what was sent.
func checkStored(t *testing.T, vl *testpeer.VictoriaLogs, i int, e event.Event) {
	t.Helper()
	rows := vl.Query(t, fmt.Sprintf("fields.event.hash:=%q", e.HashHex()))
	if len(rows) != 1 {
		t.Fatalf("event %d: %d rows with its hash, want 1", i, len(rows))
	}
	row := rows[0]
	var doc struct {
		Message string `json:"message"`
		Event   struct {
			ID     string `json:"id"`
			Action string `json:"action"`
		} `json:"event"`
		User struct {
			Name string `json:"name"`
		} `json:"user"`
	}
	if err := json.Unmarshal(e.Doc, &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"fields.event.hash":    e.HashHex(),
		"fields.event.action":  doc.Event.Action,
		"fields.labels.source": "tenant-a",
		"event.event.id":       fmt.Sprintf("rec-%06d", i),
		"event.user.name":      testpeer.Users[i%len(testpeer.Users)],
		"_msg":                 doc.Message,
		"host":                 "fwd-1",
		"source":               "auditfwd",
		"sourcetype":           "symantec:wss:audit",
		"index":                "wss",
	}
	for k, v := range want {
		if row[k] != v {
			t.Errorf("event %d: %s = %q, want %q", i, k, row[k], v)
		}
	}
	if got, err := time.Parse(time.RFC3339Nano, row["_time"]); err != nil || !got.Equal(e.Time.Truncate(time.Millisecond)) {
		t.Errorf("event %d: _time %q, want %s", i, row["_time"], e.Time.Format(time.RFC3339Nano))
	}
}

// BenchmarkIntoVictoriaLogs: batches of 500 realistic events, one Write
// per batch, as the pipeline drives it.
func BenchmarkIntoVictoriaLogs(b *testing.B) {
	for _, gz := range []bool{false, true} {
		b.Run(fmt.Sprintf("gzip=%t", gz), func(b *testing.B) {
			vl := testpeer.StartVictoriaLogs(b)
			o := newOutput(b, Config{URL: vl.Base, Token: "any-token", Gzip: gz})
			const batchSize = 500
			evs := makeEvents(b, batchSize, time.Now().UTC().Add(-time.Hour), time.Millisecond)
			b.ResetTimer()
			for b.Loop() {
				if err := o.Write(context.Background(), evs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batchSize)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
