package syslog

import (
	"bytes"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/auditfwd/auditfwd/internal/event"
)

// The fuzzers feed the encoders facts straight from the fuzz engine (any
// bytes: invalid UTF-8, NUL, line breaks, fake headers) and check, with the
// independent parsers of parse_test.go, that
//   - a message never holds CR, LF or NUL: with lf framing it is one line,
//     and no value can start a second message or a fake syslog line;
//   - the message is valid UTF-8 and within max_message_bytes;
//   - the header has its fixed fields, each where it belongs;
//   - every value reads back as its input (after the documented
//     replacements of characters no escape exists for), whole, or cut
//     with "…" by its cap, or, for the last value of a truncated message,
//     cut with the truncation marker.

var fuzzTime = time.Date(2026, 11, 23, 0, 9, 5, 925e6, time.UTC)

var markerRE = regexp.MustCompile(`…\[truncated [0-9]+ bytes\]$`)

type fuzzInput struct {
	action, outcome, user, target, ip, objType, objName, source, message string
	ms                                                                   int64
	maxSel                                                               uint16
}

func (in *fuzzInput) facts() *facts {
	f := &facts{Message: in.message}
	f.Event.Action, f.Event.Outcome, f.Event.ID = in.action, in.outcome, "id-1"
	f.Event.Category = []string{"configuration"}
	f.User.Name, f.User.Target.Name = in.user, in.target
	f.Source.IP = in.ip
	f.WSS.Audit.ObjectType, f.WSS.Audit.ObjectName = in.objType, in.objName
	f.Labels.Source = in.source
	f.hash = strings.Repeat("ab", 32)
	return f
}

func (in *fuzzInput) event() *event.Event {
	t := fuzzTime
	if in.ms != 0 {
		t = time.UnixMilli(in.ms)
	}
	return &event.Event{Time: t, Doc: []byte(in.message)}
}

func fuzzEncoder(t *testing.T, payload string, maxSel uint16) *encoder {
	s, err := resolve(Config{
		Address: "127.0.0.1:514", Payload: payload, Hostname: "relay-1",
		MaxMessageBytes: minMessageBytes + int(maxSel)%8192,
	})
	if err != nil {
		t.Fatal(err)
	}
	return newEncoder(s)
}

// checkCommon checks what holds for every message and parses its header.
func checkCommon(t *testing.T, enc *encoder, in *fuzzInput, msg []byte) *msg5424 {
	t.Helper()
	if i := bytes.IndexAny(msg, "\r\n\x00"); i >= 0 {
		t.Fatalf("raw %q at %d in %q", msg[i], i, msg)
	}
	if !utf8.Valid(msg) {
		t.Fatalf("invalid UTF-8: %q", msg)
	}
	if len(msg) > enc.s.max {
		t.Fatalf("%d bytes > max %d", len(msg), enc.s.max)
	}
	m, err := parse5424(string(msg))
	if err != nil {
		t.Fatalf("%v in %q", err, msg)
	}
	wantSev := syslogSeverity(severityAuto, in.outcome)
	if m.pri != 10*8+wantSev {
		t.Errorf("PRI %d, want %d", m.pri, 10*8+wantSev)
	}
	wantTS := "-"
	if ev := in.event(); writableTime(ev.Time) {
		wantTS = ev.Time.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	if m.ts != wantTS || m.host != "relay-1" || m.app != "auditfwd" || m.procID != enc.procID {
		t.Errorf("header %q %q %q %q", m.ts, m.host, m.app, m.procID)
	}
	wantID := in.action
	if wantID == "" {
		wantID = "-"
	}
	if n := utf8.RuneCountInString(wantID); len(m.msgID) != min(n, 32) || (isPrintASCII(wantID, 32) && m.msgID != wantID) {
		t.Errorf("MSGID %q from action %q", m.msgID, in.action)
	}
	return m
}

// checkValues compares parsed key=value pairs with the expected ones.
func checkValues(t *testing.T, got, want []kv, truncated bool) {
	t.Helper()
	if !truncated {
		if len(got) != len(want) {
			t.Fatalf("%d values, want %d:\n got %q\nwant %q", len(got), len(want), got, want)
		}
	} else if len(got) == 0 || len(got) > len(want) {
		t.Fatalf("%d values of a truncated message, want 1..%d", len(got), len(want))
	}
	for i, g := range got {
		w := want[i]
		if g.key != w.key {
			t.Fatalf("value %d: key %q, want %q", i, g.key, w.key)
		}
		if truncated && i == len(got)-1 {
			if !markerRE.MatchString(g.value) {
				t.Fatalf("last value %q of a truncated message has no marker", g.value)
			}
			continue
		}
		if g.value != w.value {
			t.Fatalf("%s = %q, want %q", g.key, g.value, w.value)
		}
	}
}

func addSeeds(f *testing.F) {
	for _, s := range []string{
		"", "plain", "line one\nline two", "crlf\r\n\r\nsplit", `say "hi" \ and \\`, "nul\x00byte\x1b[31m",
		"tab\tsep", "CEF:0|Evil|Corp|1.0|100|x|10|src=1.2.3.4 act=blocked", "pipe|equals=value\\backslash=more|",
		"\n<13>1 2026-11-24T10:15:02.123Z evil-host auditfwd - - - fake syslog line", "]\"\\", "bad\xff\xfeutf8",
		"Ümlaut 日本語 🚀", "\u202eevil", "trailing \\", "a=b c=d", "\x85C1", "x09|", strings.Repeat("|=\\\n", 300),
	} {
		f.Add(s, "success", s, s, "192.0.2.1", s, s, s, s, int64(0), uint16(0))
		f.Add("delete", "failure", "user@example.com", "", s, "Report", s, "tenant", s, int64(1795392545925), uint16(4096))
	}
}

func Fuzz5424(f *testing.F) {
	addSeeds(f)
	// JSON documents, for the truncation of a JSON payload.
	for _, doc := range []string{
		`{"@timestamp":"2026-11-24T10:15:02.123Z","message":"` + strings.Repeat(`é\"\u2028\ud83d\ude00`, 200) + `","event":{"action":"delete","outcome":"failure","hash":"ab","original":"` + strings.Repeat("o", 900) + `"}}`,
		`{"event":{"action":"` + strings.Repeat("a", 1500) + `"}}`,
	} {
		f.Add("delete", "failure", "user", "", "192.0.2.1", "Rule", "name", "tenant", doc, int64(0), uint16(0))
	}
	f.Fuzz(func(t *testing.T, action, outcome, user, target, ip, objType, objName, source, message string, ms int64, maxSel uint16) {
		in := &fuzzInput{action, outcome, user, target, ip, objType, objName, source, message, ms, maxSel}
		enc := fuzzEncoder(t, "json", maxSel)
		msg, truncated, err := enc.appendFacts(nil, in.event(), in.facts())
		if err != nil {
			// Only a payload that cannot be truncated as JSON is refused.
			var oe *oversizeError
			if !errors.As(err, &oe) || oe.why == "" {
				t.Fatal(err)
			}
			if _, perr := parseJSONDoc(string(appendJSONLine(nil, []byte(message)))); perr == nil && !strings.Contains(oe.why, "kept whole") {
				t.Fatalf("a JSON object refused: %v", err)
			}
			return
		}
		m := checkCommon(t, enc, in, msg)
		if m.sdID != "wss@32473" {
			t.Fatalf("SD-ID %q in %q", m.sdID, msg)
		}
		want := []kv{{"hash", strings.Repeat("ab", 32)}, {"action", action}, {"outcome", outcome}, {"user", user},
			{"src_ip", ip}, {"object_type", objType}, {"source", source}}
		j := 0
		for _, p := range m.params {
			for j < len(want) && want[j].key != p.name {
				if want[j].value != "" && enc.s.max >= 4096 {
					t.Errorf("SD lost %s=%q", want[j].key, want[j].value)
				}
				j++
			}
			if j == len(want) {
				t.Fatalf("SD param %q out of order or unknown", p.name)
			}
			if !matchCapped(p.value, cleanSD(want[j].value)) {
				t.Fatalf("SD %s = %q, want %q", p.name, p.value, cleanSD(want[j].value))
			}
			j++
		}
		if len(m.params) == 0 || m.params[0].name != "hash" {
			t.Fatalf("SD without hash: %q", m.sd)
		}
		wantMsg := string(appendJSONLineRef([]byte(message)))
		if !truncated && m.msg != wantMsg {
			t.Fatalf("MSG %q, want %q", m.msg, wantMsg)
		}
		if truncated {
			checkTruncatedJSON(t, m.msg, []byte(message))
		}
	})
}

// appendJSONLineRef is the reference for appendJSONLine: C0 control
// characters to spaces, invalid UTF-8 to U+FFFD, the rest as it is.
func appendJSONLineRef(doc []byte) []byte {
	var b strings.Builder
	for i := 0; i < len(doc); {
		r, n := utf8.DecodeRune(doc[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteString("\uFFFD")
		case r < 0x20:
			b.WriteByte(' ')
		default:
			b.Write(doc[i : i+n])
		}
		i += n
	}
	return []byte(b.String())
}

func FuzzCEF(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, action, outcome, user, target, ip, objType, objName, source, message string, ms int64, maxSel uint16) {
		in := &fuzzInput{action, outcome, user, target, ip, objType, objName, source, message, ms, maxSel}
		enc := fuzzEncoder(t, "cef", maxSel)
		fs := in.facts()
		msg, truncated, err := enc.appendFacts(nil, in.event(), fs)
		if err != nil {
			t.Fatal(err)
		}
		m := checkCommon(t, enc, in, msg)
		head, pairs, err := parseCEF(m.msg)
		if err != nil {
			t.Fatalf("%v in %q", err, m.msg)
		}
		id := action
		if id == "" {
			id = "unknown"
		}
		name := message
		if name == "" {
			name = id
		}
		if head[1] != "Broadcom" || head[2] != "Web Security Service" || head[3] != version() ||
			!matchCapped(head[4], cleanHeader(id)) || !matchCapped(head[5], cleanHeader(name)) ||
			head[6] != []string{"6", "4", "3"}[syslogSeverity(severityAuto, outcome)-4] {
			t.Fatalf("CEF header %q", head)
		}
		var want []kv
		add := func(k, v string) {
			if v != "" {
				want = append(want, kv{k, cleanCEFValue(v)})
			}
		}
		if ev := in.event(); writableTime(ev.Time) {
			add("rt", strconv.FormatInt(ev.Time.UnixMilli(), 10))
		}
		add("externalId", "id-1")
		add("cs3Label", "eventHash")
		add("cs3", fs.hash)
		add("act", action)
		add("outcome", outcome)
		add("suser", user)
		add("duser", target)
		add("src", fs.ip())
		add("cat", "configuration")
		if objType != "" {
			add("cs1Label", "objectType")
			add("cs1", objType)
		}
		if objName != "" {
			add("cs2Label", "objectName")
			add("cs2", objName)
		}
		if source != "" {
			add("cs4Label", "sourceName")
			add("cs4", source)
		}
		add("msg", message)
		checkValues(t, pairs, want, truncated)
	})
}

func FuzzLEEF(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, action, outcome, user, target, ip, objType, objName, source, message string, ms int64, maxSel uint16) {
		in := &fuzzInput{action, outcome, user, target, ip, objType, objName, source, message, ms, maxSel}
		enc := fuzzEncoder(t, "leef", maxSel)
		fs := in.facts()
		msg, truncated, err := enc.appendFacts(nil, in.event(), fs)
		if err != nil {
			t.Fatal(err)
		}
		m := checkCommon(t, enc, in, msg)
		head, pairs, err := parseLEEF(m.msg)
		if err != nil {
			t.Fatalf("%v in %q", err, m.msg)
		}
		id := action
		if id == "" {
			id = "unknown"
		}
		if head[1] != "Broadcom" || head[2] != "Web Security Service" || head[3] != version() ||
			!matchCapped(head[4], cleanHeader(id)) {
			t.Fatalf("LEEF header %q", head)
		}
		var want []kv
		add := func(k, v string) {
			if v != "" {
				want = append(want, kv{k, cleanLEEFValue(v)})
			}
		}
		if ev := in.event(); writableTime(ev.Time) {
			add("devTime", ev.Time.UTC().Format("2006-01-02T15:04:05.000-0700"))
			add("devTimeFormat", leefTimeFormat)
		}
		add("eventHash", fs.hash)
		add("externalId", "id-1")
		add("cat", "configuration")
		add("sev", []string{"6", "4", "3"}[syslogSeverity(severityAuto, outcome)-4])
		add("action", action)
		add("outcome", outcome)
		add("usrName", user)
		add("targetUsrName", target)
		add("src", fs.ip())
		add("objectType", objType)
		add("resource", objName)
		add("sourceName", source)
		add("msg", message)
		checkValues(t, pairs, want, truncated)
	})
}
