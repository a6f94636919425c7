package wssaccess

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// linePlainRef is linePlain a byte at a time.
func linePlainRef(b []byte) (bool, int) {
	q := 0
	for _, c := range b {
		if c < 0x20 || c >= 0x80 || c == '\\' {
			return false, 0
		}
		if c == '"' {
			q++
		}
	}
	return true, q
}

func TestLinePlainMatchesByteLoop(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	// Mostly plain bytes, with each kind of byte that is not, at every
	// position of the 16- and 8-byte words and of the tail.
	special := []byte{'"', '\\', '\t', 0, 0x1f, 0x20, 0x7e, 0x7f, 0x80, 0xc3, 0xff, '!', '[', ']'}
	for n := range 4000 {
		b := make([]byte, n%80)
		for i := range b {
			b[i] = byte('a' + rng.IntN(26))
			if rng.IntN(12) == 0 {
				b[i] = special[rng.IntN(len(special))]
			}
		}
		gotP, gotQ := linePlain(b)
		wantP, wantQ := linePlainRef(b)
		if gotP != wantP || (wantP && gotQ != wantQ) {
			t.Fatalf("linePlain(%q) = %v, %d; want %v, %d", b, gotP, gotQ, wantP, wantQ)
		}
	}
}

// Lines whose values need escapes, or whose quotes are not all delimiters,
// must not take the plain path; lines that do take it map exactly as the
// escaping appenders would.
func TestPlainPathOnlyForPlainLines(t *testing.T) {
	fields := []string{"date", "time", "cs-host", "cs(User-Agent)", "x-extra"}
	var p Parser
	var rec Record
	if _, err := p.Parse(Line{Bytes: []byte(fieldsLine(fields))}, &rec); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		line  string
		plain bool
	}{
		{`2026-11-24 10:00:00 a.example "Mozilla/5.0 (X11)" x`, true},
		{`2026-11-24 10:00:00 a.example "say ""hi""" x`, false},   // doubled quotes
		{`2026-11-24 10:00:00 a.example "a"lone quote" x`, false}, // quotes inside
		{`2026-11-24 10:00:00 a"b.example "ua" x`, false},         // a quote in a bare value
		{`2026-11-24 10:00:00 a.example "C:\dir" x`, false},       // backslash
		{"2026-11-24 10:00:00 a.example \"tab\there\" x", false},  // tab in a value
		{"2026-11-24\t10:00:00 a.example ua x", false},            // tab separator
		{"2026-11-24 10:00:00 caf\xc3\xa9.example ua x", false},   // UTF-8
		{"2026-11-24 10:00:00 bad\xff.example ua x", false},       // invalid UTF-8
		{"2026-11-24 10:00:00 a.example ua x\x7f", true},          // DEL needs no escape
		{`2026-11-24 10:00:00 a.example "" "-"`, true},            // empty quoted values
	} {
		ok, err := p.Parse(Line{Bytes: []byte(tt.line)}, &rec)
		if !ok {
			t.Fatalf("%q: %v", tt.line, err)
		}
		if rec.plain != tt.plain {
			t.Errorf("%q: plain = %v, want %v", tt.line, rec.plain, tt.plain)
		}
		for _, m := range []*Mapper{{}, {KeepOriginal: true, Source: "s"}} {
			_, doc, err := m.MapTo(nil, &rec, readTime)
			if err != nil {
				t.Fatalf("%q: %v", tt.line, err)
			}
			checkDoc(t, doc)
			checkPlainPath(t, m, &rec, doc)
		}
	}
	// And the benchmark's lines, which are all plain.
	if _, err := p.Parse(Line{Bytes: []byte(fieldsLine(accessFields))}, &rec); err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		if ok, err := p.Parse(Line{Bytes: []byte(sampleLine(i))}, &rec); !ok || !rec.plain {
			t.Fatalf("sample line %d: plain %v, %v", i, rec.plain, err)
		}
		_, doc, err := (&Mapper{Source: "tenant-a"}).MapTo(nil, &rec, readTime)
		if err != nil || !bytes.HasPrefix(doc, []byte(`{"@timestamp":`)) {
			t.Fatalf("sample line %d: %v", i, err)
		}
		checkPlainPath(t, &Mapper{Source: "tenant-a"}, &rec, doc)
	}
}
