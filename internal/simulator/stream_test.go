package simulator

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

func dayOf200k() Config {
	cfg := baseConfig()
	cfg.Start, cfg.End = day1, day2
	cfg.Records = 200_000
	cfg.DuplicateRate, cfg.MalformedRate, cfg.HostileRate = 0.01, 0.01, 0.001
	return cfg
}

// Serving a day of 200k records must not hold the body (~70 MB) in memory.
func TestStreamingKeepsHeapSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("serves 200k records")
	}
	s, srv := startSim(t, dayOf200k())

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // sample the live heap while the response streams
		defer close(done)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()

	req, _ := http.NewRequest(http.MethodGet, srv.URL+DefaultPath+"?"+days(day1, day1), nil)
	req.SetBasicAuth("user", "pass")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	close(stop)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)

	const limit = 50 << 20
	if n < limit {
		t.Fatalf("body is only %d bytes; the bound below would prove nothing", n)
	}
	if rec := s.Requests()[0].Records; rec < 200_000 {
		t.Fatalf("served %d records", rec)
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	growth := int64(peak.Load()) - int64(before.HeapAlloc)
	t.Logf("body %d MB, allocated %d KB in total, peak heap growth %d KB", n>>20, allocated>>10, growth>>10)
	if allocated > limit {
		t.Errorf("allocated %d MB while serving a %d MB body: not streaming", allocated>>20, n>>20)
	}
	if growth > limit {
		t.Errorf("peak heap grew by %d MB", growth>>20)
	}
}

// discardResponse is a ResponseWriter that throws the body away.
type discardResponse struct {
	h     http.Header
	bytes int64
}

func (d *discardResponse) Header() http.Header { return d.h }
func (d *discardResponse) WriteHeader(int)     {}
func (d *discardResponse) Write(p []byte) (int, error) {
	d.bytes += int64(len(p))
	return len(p), nil
}

func BenchmarkServe200k(b *testing.B) {
	for _, schema := range schemas {
		b.Run(schema, func(b *testing.B) {
			cfg := dayOf200k()
			cfg.Schema = schema
			s, err := New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodGet, DefaultPath+"?"+days(day1, day1), nil)
			req.SetBasicAuth("user", "pass")
			w := &discardResponse{h: http.Header{}}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				w.bytes = 0
				s.ServeHTTP(w, req)
			}
			b.StopTimer()
			records := float64(b.N) * float64(cfg.Records)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/records, "ns/record")
			b.ReportMetric(float64(w.bytes)/float64(cfg.Records), "bytes/record")
		})
	}
}

// Same through a real loopback connection and client.
func BenchmarkServe200kHTTP(b *testing.B) {
	s, srv := startSim(b, dayOf200k())
	_ = s
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+DefaultPath+"?"+days(day1, day1), nil)
		req.SetBasicAuth("user", "pass")
		resp, err := srv.Client().Do(req)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/(float64(b.N)*200_000), "ns/record")
}
