package pipeline

import (
	"fmt"
	"testing"
	"time"

	"github.com/auditfwd/auditfwd/internal/event"
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

// BenchmarkNewRecord is the per-record work of a first pass: parse and hash,
// a seen-set miss, normalize to ECS.
func BenchmarkNewRecord(b *testing.B) {
	st, err := state.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	seed := make([]state.SeenEntry, 20000) // a realistic seen-set to miss in
	for i := range seed {
		seed[i].Hash[0], seed[i].Hash[1], seed[i].Hash[2], seed[i].Hash[3] = byte(i), byte(i>>8), byte(i>>16), 0xff
	}
	st.Commit(state.Commit{Source: "s", Seen: seed})
	recs := benchRecords(4096)
	m := event.NewMapper(event.Fields{}, "s")
	seen := st.SeenReader("s")
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, err := event.Parse(recs[i%len(recs)])
		if err != nil {
			b.Fatal(err)
		}
		if has, _ := seen.Has(p.Hash); has {
			b.Fatal("unexpected hit")
		}
		if _, err := m.Map(&p, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDuplicateRecord is the re-poll steady state: parse and hash, a
// seen-set hit, nothing else.
func BenchmarkDuplicateRecord(b *testing.B) {
	st, err := state.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	recs := benchRecords(4096)
	var seed []state.SeenEntry
	for _, r := range recs {
		p, _ := event.Parse(r)
		seed = append(seed, state.SeenEntry{Hash: p.Hash, Anchor: 1})
	}
	st.Commit(state.Commit{Source: "s", Seen: seed})
	seen := st.SeenReader("s")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, _ := event.Parse(recs[i%len(recs)])
		if has, _ := seen.Has(p.Hash); !has {
			b.Fatal("miss")
		}
	}
}
