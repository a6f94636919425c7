package elasticsearch

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/auditfwd/auditfwd/internal/event"
)

// The real peer: VictoriaLogs speaks the Elasticsearch bulk API for real
// (no Elasticsearch can be installed here). It stores every document it
// accepts, so what goes in can be read back with LogsQL. It does not
// implement _id or 409, nor the error statuses: those paths are tested
// against the stand-in (fakees_test.go).

const buildVictoriaLogs = "scripts/peers/victorialogs.sh (or: cd tools/victorialogs && go build -o ../../bin/victoria-logs github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs)"

// victoriaLogsBin finds the server: AUDITFWD_VICTORIALOGS_BIN, else the
// repository's bin/victoria-logs. A missing binary fails the test: a
// silently skipped integration test proves nothing.
func victoriaLogsBin(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("AUDITFWD_VICTORIALOGS_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			tb.Fatalf("AUDITFWD_VICTORIALOGS_BIN: %v", err)
		}
		return p
	}
	p, err := filepath.Abs(filepath.Join("..", "..", "bin", "victoria-logs"))
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("VictoriaLogs is not built (%v): run %s, or set AUDITFWD_VICTORIALOGS_BIN", err, buildVictoriaLogs)
	}
	return p
}

type victoriaLogs struct {
	base string // http://127.0.0.1:PORT
	cmd  *exec.Cmd
	out  *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startVictoriaLogs runs the server on a free 127.0.0.1 port with its data
// in a temporary directory, and stops it when the test ends.
func startVictoriaLogs(tb testing.TB) *victoriaLogs {
	tb.Helper()
	bin := victoriaLogsBin(tb)
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // the free port may be taken in between
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		vl := &victoriaLogs{base: "http://" + addr, out: &syncBuffer{}}
		vl.cmd = exec.Command(bin, "-httpListenAddr="+addr, "-storageDataPath="+tb.TempDir(),
			"-retentionPeriod=100y", "-loggerLevel=WARN")
		vl.cmd.Stdout, vl.cmd.Stderr = vl.out, vl.out
		if err := vl.cmd.Start(); err != nil {
			tb.Fatalf("start %s: %v", bin, err)
		}
		exited := make(chan error, 1)
		go func() { exited <- vl.cmd.Wait() }()
		if lastErr = vl.waitHealthy(exited); lastErr == nil {
			tb.Cleanup(func() {
				vl.cmd.Process.Signal(syscall.SIGTERM)
				select {
				case <-exited:
				case <-time.After(10 * time.Second):
					vl.cmd.Process.Kill()
					<-exited
				}
			})
			return vl
		}
		vl.cmd.Process.Kill()
		<-exited
	}
	tb.Fatalf("VictoriaLogs did not start: %v", lastErr)
	return nil
}

func (vl *victoriaLogs) waitHealthy(exited <-chan error) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("exited (%v): %s", err, vl.out.String())
		default:
		}
		if res, err := http.Get(vl.base + "/health"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("no /health after 30s: %s", vl.out.String())
}

// query runs a LogsQL query and returns its JSON lines.
func (vl *victoriaLogs) query(tb testing.TB, q string) []map[string]string {
	tb.Helper()
	res, err := http.PostForm(vl.base+"/select/logsql/query", url.Values{"query": {q}})
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(res.Body)
		tb.Fatalf("query %q: HTTP %d: %s", q, res.StatusCode, body)
	}
	var rows []map[string]string
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var row map[string]string
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			tb.Fatalf("query %q: %v in %q", q, err, sc.Text())
		}
		rows = append(rows, row)
	}
	return rows
}

// count waits for the ingested rows to become searchable and counts them.
func (vl *victoriaLogs) count(tb testing.TB, want int) int {
	tb.Helper()
	if res, err := http.Get(vl.base + "/internal/force_flush"); err == nil {
		res.Body.Close()
	}
	got := -1
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		rows := vl.query(tb, "* | count() as n")
		if len(rows) == 1 {
			got, _ = strconv.Atoi(rows[0]["n"])
		}
		if got == want {
			break
		}
	}
	return got
}

// peerConfig points the output at VictoriaLogs' bulk endpoint, with the
// query parameters that name its message and time fields.
func peerConfig(vl *victoriaLogs) Config {
	return Config{
		Addresses: []string{vl.base + "/insert/elasticsearch"},
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
	vl := startVictoriaLogs(t)
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

	if got := vl.count(t, n); got != n {
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
	vl := startVictoriaLogs(t)
	cfg := peerConfig(vl)
	cfg.Compression = true
	o := newOutput(t, cfg)
	evs := makeEvents(t, 1000, time.Now().UTC().Add(-2*time.Hour).Truncate(time.Second), time.Second)
	for i := 0; i < len(evs); i += 250 {
		if err := o.Write(context.Background(), evs[i:i+250]); err != nil {
			t.Fatal(err)
		}
	}
	if got := vl.count(t, len(evs)); got != len(evs) {
		t.Fatalf("VictoriaLogs holds %d events, want %d", got, len(evs))
	}
	checkStored(t, vl, 777, evs[777])
}

// checkStored reads one event back by its hash and compares its fields
// with the document that was sent.
func checkStored(t *testing.T, vl *victoriaLogs, i int, e event.Event) {
	t.Helper()
	rows := vl.query(t, fmt.Sprintf("event.hash:=%q", e.HashHex()))
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
		"event.hash":         e.HashHex(),
		"event.id":           fmt.Sprintf("rec-%06d", i),
		"event.action":       doc.Event.Action,
		"user.name":          testUsers[i%len(testUsers)],
		"source.ip":          doc.Source.IP,
		"_msg":               doc.Message,
		"wss.audit.tenantId": "t-48213",
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
			vl := startVictoriaLogs(b)
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
