package wssaccess

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
)

// checkDoc fails unless doc is one line of valid JSON without duplicate keys.
func checkDoc(t *testing.T, doc []byte) {
	t.Helper()
	if !json.Valid(doc) {
		t.Fatalf("invalid JSON: %q", doc)
	}
	if bytes.ContainsAny(doc, "\n\r") {
		t.Fatalf("document is not one line: %q", doc)
	}
	if d := duplicateKeys(doc); len(d) > 0 {
		t.Fatalf("duplicate keys %v: %s", d, doc)
	}
}

// FuzzELFFLine: any #Fields header and any line parse without panicking;
// a record maps to valid JSON (or a LineError for its time), and a bad line
// carries the line itself.
func FuzzELFFLine(f *testing.F) {
	f.Add(strings.Join(accessFields, " "), []byte(sampleLine(7)))
	f.Add("date time c-ip cs(User-Agent)", []byte(`2026-11-24 10:00:00 10.0.0.1 "a ""quoted"" agent"`))
	f.Add("date time x", []byte("2026-11-24 10:00:00 \"unterminated"))
	f.Fuzz(func(t *testing.T, fields string, line []byte) {
		if i := bytes.IndexAny(line, "\r\n"); i >= 0 {
			line = line[:i] // the archive never hands out a terminator
		}
		var p Parser
		var rec Record
		hdr := []byte("#Fields: " + strings.Map(func(r rune) rune {
			if r == '\n' || r == '\r' {
				return ' '
			}
			return r
		}, fields))
		if _, err := p.Parse(Line{Entry: "e", Num: 1, Bytes: hdr}, &rec); err != nil {
			var le *LineError
			if !errors.As(err, &le) {
				t.Fatalf("header: %v", err)
			}
			return
		}
		ok, err := p.Parse(Line{Entry: "e", Num: 2, Bytes: line}, &rec)
		var le *LineError
		switch {
		case errors.As(err, &le):
			if !bytes.Equal(le.Raw, line) || le.Reason == "" {
				t.Fatalf("bad line error without the line or a reason: %+v", le)
			}
			return
		case err != nil:
			t.Fatal(err)
		case !ok:
			return // a directive
		}
		if len(rec.Values) != len(rec.Schema.Names) {
			t.Fatalf("%d values for %d names", len(rec.Values), len(rec.Schema.Names))
		}
		for _, m := range []*Mapper{{}, {KeepOriginal: true, Source: "s\x00\xff"}} {
			ev, doc, err := m.MapTo(nil, &rec, readTime)
			if err != nil {
				if !errors.As(err, &le) {
					t.Fatalf("map: %v", err)
				}
				continue
			}
			checkDoc(t, doc)
			if !bytes.Equal(ev.Doc, doc) || ev.Hash != rec.Hash {
				t.Fatal("event does not match the document")
			}
			checkPlainPath(t, m, &rec, doc)
		}
	})
}

// checkPlainPath fails unless doc, mapped from rec, is what the escaping
// appenders write: the plain fast path may only skip escapes that are not
// needed.
func checkPlainPath(t *testing.T, m *Mapper, rec *Record, doc []byte) {
	t.Helper()
	plain := rec.plain
	rec.plain = false
	_, escaped, err := m.MapTo(nil, rec, readTime)
	rec.plain = plain
	if err != nil || !bytes.Equal(doc, escaped) {
		t.Fatalf("plain=%v line %q:\n got %s\nwant %s (%v)", plain, rec.Raw, doc, escaped, err)
	}
}

// FuzzArchive: any bytes as a ZIP open or fail with a DamagedArchiveError;
// reading ends in io.EOF or a DamagedArchiveError, never a panic; every
// document is valid JSON.
func FuzzArchive(f *testing.F) {
	f.Add(zipOf(f, zipEntry{name: "cloud_1", data: gzipped(f, sampleFile(0, 5))}))
	f.Add(zipOf(f, zipEntry{name: "plain", data: []byte("#Fields: date time c-ip\n2026-11-24 10:00:00 10.0.0.1\n")}))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := OpenArchive(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if !errors.Is(err, ErrDamagedArchive) {
				t.Fatalf("OpenArchive: %v (%T)", err, err)
			}
			return
		}
		a.MaxLine = 4 << 10
		d := NewDecoder(a)
		m := &Mapper{KeepOriginal: true}
		var buf []byte
		for range 20000 {
			rec, err := d.Next()
			var le *LineError
			switch {
			case errors.As(err, &le):
				continue
			case err == io.EOF, errors.Is(err, ErrDamagedArchive):
				return
			case err != nil:
				t.Fatalf("Next: %v (%T)", err, err)
			}
			_, doc, err := m.MapTo(buf[:0], rec, readTime)
			if err == nil {
				checkDoc(t, doc)
			} else if !errors.As(err, &le) {
				t.Fatalf("map: %v", err)
			}
			buf = doc
		}
	})
}
