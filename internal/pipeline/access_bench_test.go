package pipeline

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/auditfwd/auditfwd/internal/config"
	"github.com/auditfwd/auditfwd/internal/simulator"
	"github.com/auditfwd/auditfwd/outputs"
	"github.com/auditfwd/auditfwd/outputs/file"
)

// benchAnswers is a simulated day's first answers, generated once per test
// binary and served from memory: the simulator's gzip costs more per line
// than the agent's whole budget and must not be counted (see also
// `auditfwd bench --access`, which measures the agent as its own process).
var benchAnswers struct {
	once    sync.Once
	start   time.Time
	lines   int64
	byToken map[string][]byte
	err     error
}

const (
	benchAccessPages     = 2
	benchAccessPageLines = 100_000
)

func accessBenchAnswers(b *testing.B) (time.Time, int64, map[string][]byte) {
	ba := &benchAnswers
	ba.once.Do(func() {
		ba.start = t0.Add(-24 * time.Hour).Truncate(time.Hour)
		end := ba.start.Add(24 * time.Hour)
		sim, err := simulator.NewSync(simulator.SyncConfig{
			Username: "u", Password: "p", Seed: 17, Start: ba.start, LinesPerHour: 400_000,
			PageLines: benchAccessPageLines, HostileRate: 0.001, FieldsChange: true,
			Now: func() time.Time { return end },
		})
		if err != nil {
			ba.err = err
			return
		}
		ba.byToken = map[string][]byte{}
		tok := "none"
		for n := range benchAccessPages {
			req := httptest.NewRequest("GET", simulator.SyncPath+"?startDate="+strconv.FormatInt(ba.start.UnixMilli(), 10)+"&endDate=0&token="+tok, nil)
			req.Header.Set("X-APIUsername", "u")
			req.Header.Set("X-APIPassword", "p")
			w := httptest.NewRecorder()
			sim.ServeHTTP(w, req)
			r := sim.Requests()[n]
			if r.Status != http.StatusOK {
				ba.err = fmt.Errorf("simulator answered %d", r.Status)
				return
			}
			body := w.Body.Bytes()
			if n == benchAccessPages-1 {
				// The last answer says done, so that --once stops there.
				body = append(body[:len(body)-len("more\r\n")], "done\r\n"...)
			}
			ba.byToken[tok] = body
			ba.lines += r.End - r.Begin
			tok = r.Token
		}
	})
	if ba.err != nil {
		b.Fatal(ba.err)
	}
	return ba.start, ba.lines, ba.byToken
}

// BenchmarkAccessFirstPass is the wss_access first pass in process: two
// answers of 100,000 lines (served from memory) through fetch and spool,
// Verify, parse, ECS, hash, dedup, durable queue and the file output, from
// a cold state each op. cpu-us/line is the process's CPU (all threads, GC
// included; the in-memory server adds a copy) per line: the figure the
// issue's 6 µs budget is stated in.
func BenchmarkAccessFirstPass(b *testing.B) {
	start, lines, answers := accessBenchAnswers(b)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := answers[r.URL.Query().Get("token")]
		if !ok {
			http.Error(w, "unknown token", http.StatusGone)
			return
		}
		w.Write(body)
	}))
	defer srv.Close()
	clock := func() time.Time { return t0 }
	var ms runtime.MemStats
	var peakHeap uint64
	cpu0 := cpuTime()
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		c, err := config.Parse(fmt.Appendf(nil, `state_dir: %q
sources:
  - name: acc
    type: wss_access
    base_url: %s
    username: u
    password: p
    start: %s
    min_request_interval: 1ms
outputs:
  - {name: local, type: file, path: %q}
`, filepath.Join(dir, "state"), srv.URL, start.Format(time.RFC3339), filepath.Join(dir, "events.ndjson")), t0)
		if err != nil {
			b.Fatal(err)
		}
		o, err := file.New("local", *c.Outputs[0].File)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		p, err := New(c, []outputs.Output{o}, quietLog(), Options{Once: true, Now: clock, OnceMaxAttempts: 3})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		err = p.Run(ctx)
		cancel()
		if cerr := p.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			b.Fatal(err)
		}
		if got := p.SourceStats("acc").Fetched.Load(); got != lines {
			b.Fatalf("fetched %d lines, want %d", got, lines)
		}
		runtime.ReadMemStats(&ms)
		peakHeap = max(peakHeap, ms.HeapSys)
	}
	cpu := cpuTime() - cpu0
	total := float64(b.N) * float64(lines)
	b.ReportMetric(total/b.Elapsed().Seconds(), "lines/s")
	b.ReportMetric(float64(cpu.Microseconds())/total, "cpu-us/line")
	b.ReportMetric(float64(peakHeap)/(1<<20), "heap-MiB")
}

// cpuTime is the process's user+sys CPU time, all threads.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
