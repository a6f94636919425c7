package kafka

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// BenchmarkWriteKfake: batches of 500 realistic events (≈1.3 KB each)
// through the real output into a 3-broker kfake cluster over 127.0.0.1,
// acks=all, one Write at a time as the pipeline's drainer does. The
// cluster discards what it acknowledges (BlackholeProduce), so that a long
// run measures the output and the protocol, not kfake's memory.
func BenchmarkWriteKfake(b *testing.B) {
	const batchSize = 500
	for _, codec := range []string{"none", "lz4", "zstd", "gzip"} {
		b.Run("compression="+codec, func(b *testing.B) {
			c := newCluster(b, kfake.SeedTopics(6, "bench"), kfake.BlackholeProduce())
			cfg := testConfig(c, "bench")
			cfg.Compression = codec
			if d, err := time.ParseDuration(os.Getenv("BENCH_BATCH_TIMEOUT")); err == nil {
				cfg.BatchTimeout = d
			}
			o := mustNew(b, cfg)
			batch := makeEvents(b, batchSize, "tenant-a", 1)
			var bytes int64
			for _, e := range batch {
				bytes += int64(len(e.Doc))
			}
			if err := o.Write(context.Background(), batch); err != nil { // connect, metadata
				b.Fatal(err)
			}
			b.SetBytes(bytes)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for b.Loop() {
				if err := o.Write(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batchSize)/time.Since(start).Seconds(), "events/s")
		})
	}
}

// BenchmarkMessage: building one message (topic template, key, headers)
// from an event, the output's own CPU per event.
func BenchmarkMessage(b *testing.B) {
	o, err := New("k", Config{Brokers: []string{"h:1"}, Topic: "wss-%{labels.source}"})
	if err != nil {
		b.Fatal(err)
	}
	ev := makeEvents(b, 1, "tenant-a", 1)[0]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := o.message(&ev); err != nil {
			b.Fatal(err)
		}
	}
}
