package wssaccess

import (
	"crypto/sha256"
	"errors"
	"io"
	"strings"
	"testing"
)

// parseText parses the lines of one file (entry 0) and returns each record
// as "|"-joined values, or "!reason" for a bad line.
func parseText(t *testing.T, text string) []string {
	t.Helper()
	var p Parser
	var rec Record
	var out []string
	for i, line := range strings.Split(text, "\n") {
		ok, err := p.Parse(Line{Entry: "e", Num: int64(i + 1), Bytes: []byte(line)}, &rec)
		var le *LineError
		switch {
		case errors.As(err, &le):
			out = append(out, "!"+le.Reason)
		case err != nil:
			t.Fatal(err)
		case ok:
			vals := make([]string, len(rec.Values))
			for j, v := range rec.Values {
				vals[j] = string(v)
			}
			out = append(out, strings.Join(vals, "|"))
		}
	}
	return out
}

func TestParseValues(t *testing.T) {
	tests := []struct {
		line, want string
	}{
		{`a b c`, "a|b|c"},
		{`- b -`, "|b|"},
		{`"a b" "c d e" f`, "a b|c d e|f"},
		{`"" "-" x`, "|-|x"}, // an empty quoted value; a quoted dash is a dash
		{"a\tb  c  ", "a|b|c"},
		{`"say ""hi""" b c`, `say "hi"|b|c`},         // W3C: a doubled quote is one
		{`"say "hi"" b c`, `say "hi"|b|c`},           // ProxySG: quotes inside are not escaped
		{`"a"b" c d`, `a"b|c|d`},                     // a lone quote inside
		{`x\"y "back\slash" z`, `x\"y|back\slash|z`}, // backslashes are plain
		{`"unterminated b c`, "!unterminated quoted value in column 1"},
		{`a b`, "!2 values for 3 fields"},
		{`a b c d`, "!4 values for 3 fields"},
		{`a "b c`, "!unterminated quoted value in column 2"},
	}
	for _, tt := range tests {
		got := parseText(t, "#Fields: x y z\n"+tt.line)
		if len(got) != 1 || got[0] != tt.want {
			t.Errorf("%s: got %q, want %q", tt.line, got, tt.want)
		}
	}
}

func TestParserFieldsPerFileAndWithinAFile(t *testing.T) {
	var p Parser
	var rec Record
	lines := []Line{
		{Entry: "one", EntryIndex: 0, Num: 1, Bytes: []byte("#Software: SGOS 7.3")},
		{Entry: "one", EntryIndex: 0, Num: 2, Bytes: []byte("#Fields: date cs-host")},
		{Entry: "one", EntryIndex: 0, Num: 3, Bytes: []byte("2026-11-24 a.example")},
		{Entry: "one", EntryIndex: 0, Num: 4, Bytes: []byte("#Remark: the format changes here")},
		{Entry: "one", EntryIndex: 0, Num: 5, Bytes: []byte("#Fields: cs-host date c-ip")},
		{Entry: "one", EntryIndex: 0, Num: 6, Bytes: []byte("b.example 2026-11-25 10.0.0.1")},
		// A new file states its own fields: the previous file's do not carry over.
		{Entry: "two", EntryIndex: 1, Num: 1, Bytes: []byte("c.example 2026-11-26 10.0.0.2")},
		{Entry: "two", EntryIndex: 1, Num: 2, Bytes: []byte("#fields: c-ip")}, // the tag in any case
		{Entry: "two", EntryIndex: 1, Num: 3, Bytes: []byte("10.0.0.3")},
		{Entry: "two", EntryIndex: 1, Num: 4, Bytes: []byte("#Fields:")},
		{Entry: "two", EntryIndex: 1, Num: 5, Bytes: []byte("10.0.0.4")},
	}
	var got []string
	for _, l := range lines {
		ok, err := p.Parse(l, &rec)
		var le *LineError
		switch {
		case errors.As(err, &le):
			got = append(got, le.Entry+":"+itoa(le.Num)+" bad: "+le.Reason)
		case ok:
			host, _ := rec.Value("CS-HOST")
			ip, _ := rec.Value("c-ip")
			got = append(got, rec.Entry+":"+itoa(rec.Num)+" host="+string(host)+" ip="+string(ip))
		}
	}
	want := []string{
		"one:3 host=a.example ip=",
		"one:6 host=b.example ip=10.0.0.1",
		"two:1 bad: a record before any #Fields header in its file",
		"two:3 host= ip=10.0.0.3",
		"two:4 bad: #Fields header names no column",
		"two:5 bad: a record before any #Fields header in its file",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestParseHashIsSHA256OfTheRawLine(t *testing.T) {
	z := zipOf(t, zipEntry{name: "e", data: gzipped(t, "#Fields: a b\r\n\"x y\" z\r\nbad\n")})
	d := NewDecoder(openBytes(t, z))
	rec, err := d.Next()
	if err != nil {
		t.Fatal(err)
	}
	if rec.Hash != sha256.Sum256([]byte(`"x y" z`)) {
		t.Errorf("record hash is not SHA-256 of the line without CRLF")
	}
	_, err = d.Next()
	var le *LineError
	if !errors.As(err, &le) || le.Hash != sha256.Sum256([]byte("bad")) || string(le.Raw) != "bad" || le.Num != 3 {
		t.Fatalf("bad line: %v", err)
	}
	if _, err := d.Next(); err != io.EOF {
		t.Errorf("end: %v", err)
	}
}

func TestSchemaKeys(t *testing.T) {
	s := newSchema([]string{"cs(Referer)", "x-virus-id", "x-cs(referer)-uri-categories", "cs-referer", "CS(REFERER)", "(((", "c-ip", "c-ip", "Ünï\x00cödé"})
	want := []string{"cs_referer", "x_virus_id", "x_cs_referer_uri_categories", "cs_referer_2", "cs_referer_3", "column_6", "c_ip", "c_ip_2", "n_c_d"}
	if strings.Join(s.Keys, ",") != strings.Join(want, ",") {
		t.Errorf("keys %v, want %v", s.Keys, want)
	}
	// The first of a repeated known column is the one the mapper reads.
	if s.at[colClientIP] != 6 || s.col[7] != colNone || s.at[colReferer] != 0 {
		t.Errorf("known columns: c-ip at %d, col[7] %d, referer at %d", s.at[colClientIP], s.col[7], s.at[colReferer])
	}
}

func TestSampleLineMatchesItsFields(t *testing.T) {
	for i := range 300 {
		got := parseText(t, fieldsLine(accessFields)+"\n"+sampleLine(i))
		if len(got) != 1 || strings.HasPrefix(got[0], "!") {
			t.Fatalf("sample line %d: %q", i, got)
		}
	}
}
