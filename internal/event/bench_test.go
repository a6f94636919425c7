package event

import (
	"testing"
	"time"

	"github.com/auditfwd/auditfwd/internal/benchcpu"
)

// benchRecord is a realistic record of about 400 bytes: every fact, a few
// unknown keys, one nested object.
var benchRecord = []byte(`{"id":"7f3c2a91-5b0e-4d7a-9c1e-2f8b6a4d0e13","timestamp":"2026-11-24T10:15:02.123Z",` +
	`"userName":"jane.admin@example.com","sourceIp":"203.0.113.7","objectType":"PolicyRule",` +
	`"objectName":"Block Gambling","operationType":"Delete","status":"Success",` +
	`"description":"Deleted rule 'Block Gambling' from policy 'Default Web Policy'",` +
	`"tenantId":"t-48213","portal":"portal.threatpulse.com","sessionId":"s-9a8b7c6d5e4f",` +
	`"details":{"policy":"Default Web Policy","position":12}}`)

var benchIngested = time.Date(2026, 11, 24, 10, 20, 0, 0, time.UTC)

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	defer benchcpu.Start(b)()
	b.SetBytes(int64(len(benchRecord)))
	for b.Loop() {
		if _, err := Parse(benchRecord); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMap(b *testing.B) {
	p, err := Parse(benchRecord)
	if err != nil {
		b.Fatal(err)
	}
	m := NewMapper(Fields{}, "tenant-a")
	b.ReportAllocs()
	defer benchcpu.Start(b)()
	b.SetBytes(int64(len(benchRecord)))
	for b.Loop() {
		if _, err := m.Map(&p, benchIngested); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseAndMap(b *testing.B) {
	m := NewMapper(Fields{}, "tenant-a")
	b.ReportAllocs()
	defer benchcpu.Start(b)()
	b.SetBytes(int64(len(benchRecord)))
	for b.Loop() {
		p, err := Parse(benchRecord)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.Map(&p, benchIngested); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendString(b *testing.B) {
	s := string(benchRecord) // quote-dense, as event.original is
	buf := make([]byte, 0, 2048)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		buf = appendString(buf[:0], s)
	}
}
