package elasticsearch

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/auditfwd/auditfwd/internal/event"
	"github.com/auditfwd/auditfwd/internal/testpeer"
)

// The real peer: VictoriaLogs speaks the Elasticsearch bulk API for real
// (no Elasticsearch can be installed here). It stores every document it
// accepts, so what goes in can be read back with LogsQL. It does not
// implement _id or 409, nor the error statuses: those paths are tested
// against the stand-in (fakees_test.go).

// peerConfig points the output at VictoriaLogs' bulk endpoint, with the
// query parameters that name its message and time fields.
func peerConfig(vl *testpeer.VictoriaLogs) Config {
	return Config{
		Addresses: []string{vl.Base + "/insert/elasticsearch"},
		QueryParams: map[string]string{
			"_msg_field":     "message",
			"_time_field":    "@timestamp",
			"_stream_fields": "labels.source,event.dataset",
		},
	}
}

func TestIntoVictoriaLogs(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: runs VictoriaLogs")
	}
	vl := testpeer.StartVictoriaLogs(t)
	o := newOutput(t, peerConfig(vl))
	ctx := context.Background()
	if err := o.Check(ctx); err != nil {
		t.Fatalf("Check against VictoriaLogs: %v", err)
	}

	const n, batchSize = 5000, 500
	start := time.Now().UTC().Add(-36 * time.Hour).Truncate(time.Second)
	evs := makeEvents(t, n, start, 10*time.Second)
	began := time.Now()
	for i := 0; i < n; i += batchSize {
		if err := o.Write(ctx, evs[i:i+batchSize]); err != nil {
			t.Fatalf("Write of events %d..%d: %v", i, i+batchSize-1, err)
		}
	}
	elapsed := time.Since(began)
	t.Logf("%d events in %d bulk requests of %d: %v, %.0f events/s into VictoriaLogs", n, n/batchSize, batchSize, elapsed, float64(n)/elapsed.Seconds())

	if got := vl.Count(t, n); got != n {
		t.Fatalf("VictoriaLogs holds %d events, want %d", got, n)
	}
	for _, i := range []int{0, 1, 2345, n - 1} {
		checkStored(t, vl, i, evs[i])
	}
}

// Gzip bodies reach the real peer intact.
func TestIntoVictoriaLogsCompressed(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: runs VictoriaLogs")
	}
	vl := testpeer.StartVictoriaLogs(t)
	cfg := peerConfig(vl)
	cfg.Compression = true
	o := newOutput(t, cfg)
	evs := makeEvents(t, 1000, time.Now().UTC().Add(-2*time.Hour).Truncate(time.Second), time.Second)
	for i := 0; i < len(evs); i += 250 {
		if err := o.Write(context.Background(), evs[i:i+250]); err != nil {
			t.Fatal(err)
		}
	}
	if got := vl.Count(t, len(evs)); got != len(evs) {
		t.Fatalf("VictoriaLogs holds %d events, want %d", got, len(evs))
	}
	checkStored(t, vl, 777, evs[777])
}

// checkStored reads one event back by its hash and compares its fields
// with the document that was sent.
func checkStored(t *testing.T, vl *testpeer.VictoriaLogs, i int, e event.Event) {
	t.Helper()
	rows := vl.Query(t, fmt.Sprintf("event.hash:=%q", e.HashHex()))
	if len(rows) != 1 {
		t.Fatalf("event %d: %d rows with its hash, want 1", i, len(rows))
	}
	row := rows[0]
	var doc struct {
		Timestamp string `json:"@timestamp"`
		Message   string `json:"message"`
		Event     struct {
			ID     string `json:"id"`
			Action string `json:"action"`
		} `json:"event"`
		User struct {
			Name string `json:"name"`
		} `json:"user"`
		Source struct {
			IP string `json:"ip"`
		} `json:"source"`
	}
	if err := json.Unmarshal(e.Doc, &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"event.hash":      e.HashHex(),
		"event.id":        fmt.Sprintf("rec-%06d", i),
		"event.action":    doc.Event.Action,
		"user.name":       testpeer.Users[i%len(testpeer.Users)],
		"source.ip":       doc.Source.IP,
		"_msg":            doc.Message,
		"organization.id": "t-48213", // the tenant id key, now an ECS field
	}
	for k, v := range want {
		if row[k] != v {
			t.Errorf("event %d: %s = %q, want %q", i, k, row[k], v)
		}
	}
	if got, err := time.Parse(time.RFC3339Nano, row["_time"]); err != nil || !got.Equal(e.Time) {
		t.Errorf("event %d: _time %q, want %s", i, row["_time"], e.Time.Format(time.RFC3339Nano))
	}
	if !strings.Contains(row["_stream"], "tenant-a") {
		t.Errorf("event %d: _stream %q lacks labels.source", i, row["_stream"])
	}
}

// BenchmarkIntoVictoriaLogs measures the output's throughput against the
// real peer: batches of 500 realistic events (~1.4 KB each), one Write per
// batch, as the pipeline drives it.
func BenchmarkIntoVictoriaLogs(b *testing.B) {
	for _, gz := range []bool{false, true} {
		b.Run(fmt.Sprintf("compression=%t", gz), func(b *testing.B) {
			vl := testpeer.StartVictoriaLogs(b)
			cfg := peerConfig(vl)
			cfg.Compression = gz
			o := newOutput(b, cfg)
			const batchSize = 500
			evs := makeEvents(b, batchSize, time.Now().UTC().Add(-time.Hour), time.Millisecond)
			bytesPer := 0
			for _, e := range evs {
				bytesPer += len(e.Doc)
			}
			b.SetBytes(int64(bytesPer))
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
