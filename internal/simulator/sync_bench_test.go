package simulator

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkSyncPage serves one page of 100,000 lines into io.Discard: the
// simulator's cost per line, which end-to-end benchmarks pay too.
func BenchmarkSyncPage(b *testing.B) {
	now := syncDay.Add(time.Hour)
	s, err := NewSync(SyncConfig{Seed: 1, Start: syncDay, LinesPerHour: 1_000_000, PageLines: 100_000,
		Now: func() time.Time { return now }, FieldsChange: true, HostileRate: 0.001})
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest("GET", SyncPath+"?startDate=1773100800000&endDate=0&token=none", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := &discardWriter{h: http.Header{}}
		s.ServeHTTP(w, req)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100_000), "ns/line")
}

type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return io.Discard.Write(p) }
func (d *discardWriter) WriteHeader(int)             {}
