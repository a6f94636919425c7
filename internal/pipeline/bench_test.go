package pipeline

import (
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/auditfwd/auditfwd/internal/benchcpu"
	"github.com/auditfwd/auditfwd/internal/dedup"
	"github.com/auditfwd/auditfwd/internal/event"
	"github.com/auditfwd/auditfwd/internal/queue"
	"github.com/auditfwd/auditfwd/internal/state"
)

func benchRecords(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte(fmt.Sprintf(`{"timestamp":"2026-11-24T10:%02d:%02d.123Z","id":"a1b2c3-%d","userName":"admin%d@example.com","sourceIp":"203.0.113.%d","objectType":"PolicyRule","objectName":"Block Gambling %d","operationType":"Delete","status":"Success","description":"Deleted rule 'Block Gambling %d'","tenantId":"t-42","userAgent":"Mozilla/5.0 (X11; Linux x86_64)"}`,
			i/60%60, i%60, i, i%50, i%250, i, i))
	}
	return out
}

func seenWith(b *testing.B, es []dedup.Entry) *dedup.Set {
	set, err := dedup.Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { set.Close() })
	change, err := set.Add(es)
	if err != nil {
		b.Fatal(err)
	}
	change.Apply()
	return set
}

// BenchmarkNewRecord is the per-record work of a first pass: parse and hash,
// a seen-set miss, normalize to ECS.
func BenchmarkNewRecord(b *testing.B) {
	seed := make([]dedup.Entry, 20000) // a realistic seen-set to miss in
	for i := range seed {
		seed[i].Hash = sha256.Sum256([]byte(fmt.Sprint(i)))
	}
	seen := seenWith(b, seed)
	recs := benchRecords(4096)
	m := event.NewMapper(event.Fields{}, "s")
	now := time.Now()
	b.ReportAllocs()
	defer benchcpu.Start(b)()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		raw := recs[i%len(recs)]
		h := event.Hash(raw)
		if seen.Has(h) {
			b.Fatal("unexpected hit")
		}
		p, err := event.ParseHashed(raw, h)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.Map(&p, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDuplicateRecord is the re-poll steady state: hash, a seen-set
// hit, nothing else.
func BenchmarkDuplicateRecord(b *testing.B) {
	recs := benchRecords(4096)
	var seed []dedup.Entry
	for _, r := range recs {
		p, _ := event.Parse(r)
		seed = append(seed, dedup.Entry{Hash: p.Hash, Anchor: 1})
	}
	seen := seenWith(b, seed)
	b.ReportAllocs()
	defer benchcpu.Start(b)()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if !seen.Has(event.Hash(recs[i%len(recs)])) {
			b.Fatal("miss")
		}
	}
}

// BenchmarkCheckpoint is the durable cost of committing a window of 1,000
// new events to one output: queue append, queue fsync, and the one state
// transaction (seen-set + commit mark + cursor), which bbolt fsyncs too.
func BenchmarkCheckpoint(b *testing.B) {
	dir := b.TempDir()
	st, err := state.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	q, err := queue.Open(dir+"/q", 0, 0, 64<<20)
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	set, err := dedup.Open(dir+"/seen", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer set.Close()
	recs := benchRecords(1000)
	m := event.NewMapper(event.Fields{}, "s")
	evs := make([]event.Event, len(recs))
	for i, r := range recs {
		p, _ := event.Parse(r)
		evs[i], _ = m.Map(&p, time.Now())
	}
	b.ReportAllocs()
	defer benchcpu.Start(b)()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		seen := make([]dedup.Entry, len(evs))
		for j, e := range evs {
			q.Append(e, time.Now())
			seen[j] = dedup.Entry{Hash: e.Hash, Anchor: int64(i)}
			seen[j].Hash[0] ^= byte(i) // new hashes each round
			seen[j].Hash[1] ^= byte(i >> 8)
		}
		end, err := q.Sync()
		if err != nil {
			b.Fatal(err)
		}
		change, err := set.Add(seen)
		if err != nil {
			b.Fatal(err)
		}
		now := time.Now()
		if err := st.Commit(state.Commit{Source: "s", Cursor: &now, Extra: map[string][]byte{state.KeySeenRuns: change.Live()}, Marks: map[string]int64{"o/s": end}}); err != nil {
			b.Fatal(err)
		}
		change.Apply()
		q.Commit(end)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
}
