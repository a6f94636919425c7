package syslog

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditfwd/auditfwd/internal/event"
)

var update = flag.Bool("update", false, "rewrite testdata/golden")

// goldenEvents reads testdata/events.ndjson: three documents as the mapper
// writes them (demo output) and a hostile one.
func goldenEvents(t *testing.T) []event.Event {
	t.Helper()
	f, err := os.Open("testdata/events.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var evs []event.Event
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var d struct {
			TS    time.Time `json:"@timestamp"`
			Event struct {
				Hash string `json:"hash"`
			} `json:"event"`
		}
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatal(err)
		}
		var e event.Event
		h, err := hex.DecodeString(d.Event.Hash)
		if err != nil || len(h) != 32 {
			t.Fatalf("hash %q", d.Event.Hash)
		}
		copy(e.Hash[:], h)
		e.Time, e.Doc = d.TS, append([]byte(nil), sc.Bytes()...)
		evs = append(evs, e)
	}
	return evs
}

// fixedEncoder is New's encoder with the pid and version fixed.
func fixedEncoder(t *testing.T, cfg Config) *encoder {
	t.Helper()
	if cfg.Address == "" {
		cfg.Address = "127.0.0.1:514"
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "relay-1"
	}
	cfg.CEF.Version, cfg.LEEF.Version = "1.0", "1.0"
	s, err := resolve(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.procID = "4242"
	return newEncoder(s)
}

func TestGolden(t *testing.T) {
	evs := goldenEvents(t)
	for _, format := range []string{"rfc5424", "rfc3164"} {
		for _, payload := range []string{"json", "cef", "leef"} {
			name := format + "-" + payload
			t.Run(name, func(t *testing.T) {
				enc := fixedEncoder(t, Config{Format: format, Payload: payload})
				var b strings.Builder
				for _, e := range evs {
					msg, _, err := enc.appendMessage(nil, &e)
					if err != nil {
						t.Fatal(err)
					}
					b.Write(msg)
					b.WriteByte('\n')
				}
				path := filepath.Join("testdata", "golden", name+".txt")
				if *update {
					if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run with -update to create)", err)
				}
				if b.String() != string(want) {
					t.Errorf("%s differs (run with -update after checking):\n got %s\nwant %s", path, b.String(), want)
				}
			})
		}
	}
}

// TestHostileGolden spells out, for the hostile document, what each format
// makes of the attacks, independently of the golden files.
func TestHostileGolden(t *testing.T) {
	e := goldenEvents(t)[3]
	msg := func(cfg Config) string {
		m, _, err := fixedEncoder(t, cfg).appendMessage(nil, &e)
		if err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(string(m), "\r\n\x00") {
			t.Fatalf("raw line break or NUL in %q", m)
		}
		return string(m)
	}
	m5 := msg(Config{})
	for _, want := range []string{
		`<85>1 2026-11-24T10:15:02.123Z relay-1 auditfwd 4242 delete_rule]"x [wss@32473 `,
		`action="delete rule\]\"x"`,
		`user="root\"\] [evil@1 x=\"y"`,
		`src_ip="not-an-ip` + "\t" + `src=6.6.6.6"`,
		`object_type="Rule` + "\uFFFD\uFFFD" + `[31m"`,
		`source="tenant` + "\uFFFD\uFFFD" + `b"]`,
		`"message":"Deleted rule 'x|y=z\\\\' \n<13>1`, // JSON's own escape, not a line break
	} {
		if !strings.Contains(m5, want) {
			t.Errorf("RFC 5424 message lacks %q:\n%s", want, m5)
		}
	}
	cef := msg(Config{Payload: "cef"})
	for _, want := range []string{
		`CEF:0|Broadcom|Web Security Service|1.0|delete rule]"x|Deleted rule 'x\|y=z\\\\'  <13>1 2026-11-24T10:15:02.123Z evil-host auditfwd - - - fake|4|`,
		`duser=CEF:0|Evil|Corp|1.0|100|x|10|src\=1.2.3.4 `,
		`cs2=pipe|equals\=value\\backslash\=more|` + "\t" + `LEEF `,
		`msg=Deleted rule 'x|y\=z\\\\' \n<13>1 2026-11-24T10:15:02.123Z evil-host`,
		` cs4=tenant\r\nb `,
	} {
		if !strings.Contains(cef, want) {
			t.Errorf("CEF lacks %q:\n%s", want, cef)
		}
	}
	if strings.Contains(cef, " src=") {
		t.Errorf("CEF src from a source.ip that is no address: %s", cef)
	}
	leef := msg(Config{Payload: "leef"})
	for _, want := range []string{
		`LEEF:2.0|Broadcom|Web Security Service|1.0|delete rule]"x|x09|devTime=2026-11-24T10:15:02.123+0000` + "\t",
		"\tresource=pipe|equals=value\\\\backslash=more|\\tLEEF\t",
		"\tsourceName=tenant\\r\\nb\t",
		"\tmsg=Deleted rule 'x|y=z\\\\\\\\' \\n<13>1 2026",
	} {
		if !strings.Contains(leef, want) {
			t.Errorf("LEEF lacks %q:\n%s", want, leef)
		}
	}
}

func TestPRI(t *testing.T) {
	evs := goldenEvents(t) // success, success, failure, success
	for _, tc := range []struct {
		facility, severity string
		want               []string
	}{
		{"", "", []string{"<85>", "<85>", "<84>"}},          // authpriv, auto: notice, notice, warning
		{"local4", "", []string{"<165>", "<165>", "<164>"}}, // 20*8 + 5/4
		{"16", "err", []string{"<131>", "<131>", "<131>"}},  // local0, fixed 3
		{"KERN", "7", []string{"<7>", "<7>", "<7>"}},        // names are case-insensitive
		{"authpriv", "Informational", []string{"<86>", "<86>", "<86>"}},
	} {
		enc := fixedEncoder(t, Config{Facility: tc.facility, Severity: tc.severity})
		for i, want := range tc.want {
			m, _, _ := enc.appendMessage(nil, &evs[i])
			if !strings.HasPrefix(string(m), want) {
				t.Errorf("facility %q severity %q event %d: %q, want %s", tc.facility, tc.severity, i, m[:8], want)
			}
		}
	}
	// An outcome other than success or failure is info.
	e := event.Event{Time: time.Unix(0, 0), Doc: []byte(`{"event":{"outcome":"unknown"}}`)}
	m, _, _ := fixedEncoder(t, Config{}).appendMessage(nil, &e)
	if !strings.HasPrefix(string(m), "<86>") {
		t.Errorf("outcome unknown: %q", m[:5])
	}
}

func TestHeaderFields(t *testing.T) {
	long := strings.Repeat("x", 40)
	for _, tc := range []struct {
		action, msgid, want string
	}{
		{"delete", "", "delete"},
		{"", "", "-"},
		{"api-key-create", "AUDIT", "AUDIT"},
		{"löschen jetzt", "", "l_schen_jetzt"},
		{long, "", long[:32]},
	} {
		doc, _ := json.Marshal(map[string]any{"event": map[string]string{"action": tc.action}})
		e := event.Event{Time: time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC), Doc: doc}
		m, _, _ := fixedEncoder(t, Config{MsgID: tc.msgid}).appendMessage(nil, &e)
		p, err := parse5424(string(m))
		if err != nil {
			t.Fatal(err)
		}
		if p.msgID != tc.want {
			t.Errorf("action %q msgid %q: MSGID %q, want %q", tc.action, tc.msgid, p.msgID, tc.want)
		}
		if p.ts != "2026-01-02T03:04:05.006Z" {
			t.Errorf("timestamp %q", p.ts)
		}
	}
	// RFC 3164: the day is padded with a space, the time is UTC.
	e := event.Event{Time: time.Date(2026, 11, 3, 1, 2, 3, 0, time.FixedZone("X", 3600)), Doc: []byte(`{}`)}
	m, _, _ := fixedEncoder(t, Config{Format: "rfc3164", AppName: "audit:fwd[x]"}).appendMessage(nil, &e)
	if want := "<86>Nov  3 00:02:03 relay-1 audit_fwd_x_[4242]: {}"; string(m) != want {
		t.Errorf("RFC 3164: %q, want %q", m, want)
	}
}

// TestOversize: a CEF or LEEF body is cut and ends in the marker, the
// payload still parses; a JSON one is shortened as JSON.
func TestOversize(t *testing.T) {
	big := strings.Repeat("é|=\\\n", 5000) // escapes and 2-byte runes to cut through
	doc, _ := json.Marshal(map[string]any{"message": big, "event": map[string]string{"action": "x"}})
	e := event.Event{Time: fuzzTime, Doc: doc}
	for _, payload := range []string{"json", "cef", "leef"} {
		for _, max := range []int{1024, 1500, 4096} {
			enc := fixedEncoder(t, Config{Payload: payload, MaxMessageBytes: max})
			m, truncated, err := enc.appendMessage(nil, &e)
			if err != nil || !truncated {
				t.Fatalf("%s %d: truncated %v, err %v", payload, max, truncated, err)
			}
			if len(m) > max || len(m) < max-8 {
				t.Errorf("%s: %d bytes, want just under %d", payload, len(m), max)
			}
			if payload == "json" {
				// Shortened as JSON instead (TestTruncateJSON*).
				checkTruncatedJSON(t, payloadOf(t, "rfc5424", m), e.Doc)
				continue
			}
			if !markerRE.Match(m) {
				t.Errorf("%s: no marker at the end: %q", payload, m[len(m)-40:])
			}
			p, err := parse5424(string(m))
			if err != nil {
				t.Fatalf("%s: %v", payload, err)
			}
			if h, _ := p.param("hash"); h == "" {
				t.Errorf("%s: hash lost to truncation", payload)
			}
			switch payload {
			case "cef":
				_, _, err = parseCEF(p.msg)
			case "leef":
				_, _, err = parseLEEF(p.msg)
			}
			if err != nil {
				t.Errorf("%s %d: truncated payload does not parse: %v\n%s", payload, max, err, p.msg)
			}
			// The marker counts the bytes cut.
			var n int
			loc := markerRE.FindIndex(m)
			full, _, _ := fixedEncoder(t, Config{Payload: payload, MaxMessageBytes: 1 << 20}).appendMessage(nil, &e)
			if _, err := fmtSscan(string(m[loc[0]:]), &n); err != nil || loc[0]+n != len(full) {
				t.Errorf("%s %d: marker says %d bytes cut, %d kept of %d", payload, max, n, loc[0], len(full))
			}
		}
	}
	enc := fixedEncoder(t, Config{MaxMessageBytes: 1024, Oversize: "dead_letter"})
	if _, _, err := enc.appendMessage(nil, &e); err == nil || !strings.Contains(err.Error(), "max_message_bytes 1024") {
		t.Errorf("dead_letter: %v", err)
	}
}

func fmtSscan(s string, n *int) (int, error) {
	s = strings.TrimPrefix(s, "…[truncated ")
	s, _, _ = strings.Cut(s, " ")
	return 1, json.Unmarshal([]byte(s), n)
}

func TestEscapes(t *testing.T) {
	for _, tc := range []struct {
		t        *escapes
		in, want string
	}{
		{sdValue, `a"b\c]d` + "\t\n\r\x00\x7f\xff\u0085é", `a\"b\\c\]d` + "\t" + strings.Repeat("\uFFFD", 6) + "é"},
		{cefHeader, "a|b\\c=d\te\nf\rg", `a\|b\\c=d e f g`},
		{cefValue, "a|b\\c=d\te\nf\rg\x00", `a|b\\c\=d` + "\t" + `e\nf\rg` + "\uFFFD"},
		{leefValue, "a|b\\c=d\te\nf\rg\x1b", `a|b\\c=d\te\nf\rg` + "\uFFFD"},
	} {
		if got := string(appendEscaped(nil, tc.in, tc.t)); got != tc.want {
			t.Errorf("escape %q = %q, want %q", tc.in, got, tc.want)
		}
	}
	// A cap never splits an escape or a rune.
	got := string(appendEscapedMax(nil, strings.Repeat(`é"`, 100), sdValue, 20))
	if got != `é\"é\"é\"é\"…` {
		t.Errorf("capped: %q", got)
	}
	for _, tc := range []struct {
		in   string
		n    int
		want int
	}{
		{`ab\\cd`, 3, 2}, // after one '\' of an escape: back to before it
		{`ab\\cd`, 4, 4}, // after a whole escape
		{"aé", 2, 1},     // inside a rune
		{`a\\\b`, 4, 3},  // after three backslashes
	} {
		if got := safeCut([]byte(tc.in), tc.n); got != tc.want {
			t.Errorf("safeCut(%q, %d) = %d, want %d", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestJSONLine(t *testing.T) {
	for in, want := range map[string]string{
		`{"a":"b"}`:         `{"a":"b"}`,
		"{\"a\":\n\"b\"}\r": `{"a": "b"} `,
		"{\"a\":\"\xff\"}":  "{\"a\":\"\uFFFD\"}",
		"{\"a\":\"日本\"}":    "{\"a\":\"日本\"}",
	} {
		if got := string(appendJSONLine(nil, []byte(in))); got != want {
			t.Errorf("appendJSONLine(%q) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	evs := simEvents(b, 1000, 0.01, 3)
	for _, payload := range []string{"json", "cef", "leef"} {
		b.Run(payload, func(b *testing.B) {
			s, _ := resolve(Config{Address: "127.0.0.1:514", Payload: payload})
			enc := newEncoder(s)
			var buf []byte
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				e := &evs[i%len(evs)]
				buf, _, _ = enc.appendMessage(buf[:0], e)
				b.SetBytes(int64(len(buf)))
			}
		})
	}
}
