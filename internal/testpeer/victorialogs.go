// Package testpeer starts the real peers that integration tests share, so
// each output's tests do not carry their own copy. Only tests import it.
package testpeer

import (
	"bufio"
	"bytes"
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
)

// VictoriaLogs speaks the Elasticsearch bulk API and the Splunk HEC event
// endpoint for real, and stores what it accepts, so it can be read back with
// LogsQL. It implements neither _id/409 nor HEC acks or tokens.

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
	p := filepath.Join(repoRoot(tb), "bin", "victoria-logs")
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("VictoriaLogs is not built (%v): run %s, or set AUDITFWD_VICTORIALOGS_BIN", err, buildVictoriaLogs)
	}
	return p
}

// VictoriaLogs is a running server.
type VictoriaLogs struct {
	Base string // http://127.0.0.1:PORT
	cmd  *exec.Cmd
	out  *Buffer
}

// Buffer is a bytes.Buffer a running process writes while a test reads.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// StartVictoriaLogs runs the server on a free 127.0.0.1 port with its data
// in a temporary directory, and stops it when the test ends.
func StartVictoriaLogs(tb testing.TB) *VictoriaLogs {
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
		vl := &VictoriaLogs{Base: "http://" + addr, out: &Buffer{}}
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

func (vl *VictoriaLogs) waitHealthy(exited <-chan error) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("exited (%v): %s", err, vl.out.String())
		default:
		}
		if res, err := http.Get(vl.Base + "/health"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("no /health after 30s: %s", vl.out.String())
}

// Query runs a LogsQL query and returns its JSON lines.
func (vl *VictoriaLogs) Query(tb testing.TB, q string) []map[string]string {
	tb.Helper()
	res, err := http.PostForm(vl.Base+"/select/logsql/query", url.Values{"query": {q}})
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

// Count waits for the ingested rows to become searchable and counts them.
func (vl *VictoriaLogs) Count(tb testing.TB, want int) int {
	tb.Helper()
	if res, err := http.Get(vl.Base + "/internal/force_flush"); err == nil {
		res.Body.Close()
	}
	got := -1
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		rows := vl.Query(tb, "* | count() as n")
		if len(rows) == 1 {
			got, _ = strconv.Atoi(rows[0]["n"])
		}
		if got == want {
			break
		}
	}
	return got
}

// repoRoot is the directory holding the main module's go.mod.
func repoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.Contains(b, []byte("module github.com/auditfwd/auditfwd\n")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("testpeer: the repository root (go.mod) was not found above the test's directory")
		}
		dir = parent
	}
}
