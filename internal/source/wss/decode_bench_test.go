package wss

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// auditBody builds an array of n records of about 400 bytes each, shaped
// like the audit records we expect (escapes included).
func auditBody(n int) []byte {
	var b bytes.Buffer
	b.Grow(n * 420)
	b.WriteByte('[')
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(",\n")
		}
		rec := fmt.Sprintf(`{"id":"a1b2c3-%08d","timestamp":"2026-11-24T10:15:%02d.123Z","userName":"admin%d@example.com",`+
			`"sourceIp":"203.0.113.%d","objectType":"PolicyRule","objectName":"Block Gambling \"%d\"","operationType":"Delete",`+
			`"status":"Success","description":"Deleted rule 'Block Gambling' (caf\u00e9 policy) until 2026-11-25T00:00:00Z`,
			i, i%60, i%50, i%255, i)
		b.WriteString(rec)
		b.WriteString(strings.Repeat(".", 400-len(rec)-3))
		b.WriteString(`"}`)
	}
	b.WriteByte(']')
	return b.Bytes()
}

func BenchmarkDecode(b *testing.B) {
	const records = 100_000
	body := auditBody(records)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		n, err := Decode(bytes.NewReader(body), "", 0, func([]byte) error { return nil })
		if err != nil || n != records {
			b.Fatalf("n=%d err=%v", n, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/records, "ns/record")
}
