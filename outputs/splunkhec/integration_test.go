package splunkhec

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
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/auditfwd/auditfwd/internal/event"
)

// The real peer: VictoriaLogs implements the HEC event endpoint for real
// (app/vlinsert/splunk: /services/collector/event and .../event/1.0, also
// under /insert/splunk, and GET /services/collector/health), storing every
// event it accepts so that it can be read back with LogsQL. It checks no
// token and has no /ack: ack, token errors, 400/413/503 are tested against
// the stand-in (fakehec_test.go). The victoriaLogs helpers are those of
// outputs/elasticsearch/integration_test.go.

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

func TestIntoVictoriaLogs(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: runs VictoriaLogs")
	}
	for _, gz := range []bool{false, true} {
		t.Run(fmt.Sprintf("gzip=%t", gz), func(t *testing.T) {
			vl := startVictoriaLogs(t)
			o := newOutput(t, Config{URL: vl.base, Token: "any-token", Index: "wss", Host: "fwd-1", Gzip: gz})
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
			if got := vl.count(t, n); got != n {
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
func checkStored(t *testing.T, vl *victoriaLogs, i int, e event.Event) {
	t.Helper()
	rows := vl.query(t, fmt.Sprintf("fields.event.hash:=%q", e.HashHex()))
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
		"event.user.name":      testUsers[i%len(testUsers)],
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
			vl := startVictoriaLogs(b)
			o := newOutput(b, Config{URL: vl.base, Token: "any-token", Gzip: gz})
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
