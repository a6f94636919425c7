package wssaccess

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

var readTime = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// mapLine parses one line under the header and maps it.
func mapLine(t *testing.T, m *Mapper, fields []string, line string) (map[string]any, []byte, error) {
	t.Helper()
	var p Parser
	var rec Record
	if _, err := p.Parse(Line{Entry: "e", Num: 1, Bytes: []byte(fieldsLine(fields))}, &rec); err != nil {
		t.Fatal(err)
	}
	ok, err := p.Parse(Line{Entry: "e", Num: 2, Bytes: []byte(line)}, &rec)
	if !ok {
		t.Fatalf("parse %q: %v", line, err)
	}
	ev, err := m.Map(&rec, readTime)
	if err != nil {
		return nil, nil, err
	}
	return decodeDoc(t, ev.Doc), ev.Doc, nil
}

func decodeDoc(t *testing.T, doc []byte) map[string]any {
	t.Helper()
	if !json.Valid(doc) {
		t.Fatalf("invalid JSON: %s", doc)
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("%v: %s", err, doc)
	}
	return m
}

// at returns the value at a dotted path, rendered as JSON, or "absent".
func at(doc map[string]any, path string) string {
	var v any = doc
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return "absent"
		}
		if v, ok = m[k]; !ok {
			return "absent"
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func TestMapSampleLine(t *testing.T) {
	m := &Mapper{Source: "tenant-a"}
	doc, raw, err := mapLine(t, m, accessFields, sampleLine(7)) // line 7 is denied
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"@timestamp":                             `"2026-11-24T10:00:07.000Z"`,
		"ecs.version":                            `"8.11.0"`,
		"event.kind":                             `"event"`,
		"event.category":                         `["web","network"]`,
		"event.type":                             `["access","denied"]`,
		"event.action":                           `"TCP_DENIED"`,
		"event.outcome":                          `"failure"`,
		"event.reason":                           `"policy_denied"`,
		"event.risk_score":                       `7`,
		"event.duration":                         `27000000`,
		"event.id":                               `"6f1c2a9e-0007-4d5e-9c3b-000000000007"`,
		"event.dataset":                          `"wss.access"`,
		"event.module":                           `"wss"`,
		"event.created":                          `"2026-11-24T12:00:00.000Z"`,
		"event.original":                         "absent",
		"url.full":                               `"https://files.example.io/path/7/index.html?q=7\u0026lang=en"`,
		"url.domain":                             `"files.example.io"`,
		"url.scheme":                             `"https"`,
		"url.port":                               `443`,
		"url.path":                               `"/path/7/index.html"`,
		"url.query":                              `"q=7\u0026lang=en"`,
		"url.extension":                          `"html"`,
		"http.request.method":                    `"GET"`,
		"http.request.referrer":                  `"https://www.example.com/start"`,
		"http.request.bytes":                     `307`,
		"http.response.status_code":              `403`,
		"http.response.bytes":                    `1049`,
		"http.response.mime_type":                `"text/html"`,
		"user_agent.original":                    `"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"`,
		"user.name":                              `"CN=user7,OU=Staff,DC=corp,DC=example"`,
		"user.group.name":                        `"Sales;VPN Users"`,
		"source.ip":                              `"10.7.0.8"`,
		"source.geo.country_iso_code":            `"DE"`,
		"destination.domain":                     `"files.example.io"`,
		"destination.port":                       `443`,
		"destination.ip":                         "absent", // no r-ip column in this format
		"observer.ip":                            `"198.51.100.8"`,
		"observer.name":                          `"DE-FRA-01"`,
		"observer.type":                          `"proxy"`,
		"tls.cipher":                             `"ECDHE-RSA-AES256-GCM-SHA384"`,
		"tls.server.x509.subject.common_name":    `"files.example.io"`,
		"rule.category":                          `["Technology/Internet","Web Ads/Analytics"]`,
		"threat":                                 "absent",
		"organization.id":                        `"tenant-7f3a"`,
		"related.ip":                             `["10.7.0.8"]`,
		"related.user":                           `["CN=user7,OU=Staff,DC=corp,DC=example"]`,
		"related.hosts":                          `["files.example.io"]`,
		"labels.source":                          `"tenant-a"`,
		"wss.access.sc_filter_result":            `"DENIED"`, // lossy in event.type: kept
		"wss.access.rs_content_type":             `"text/html; charset=utf-8"`,
		"wss.access.x_bluecoat_application_name": `"Google Drive"`,
		"wss.access.x_rs_certificate_validate_status": `"CERT_VALID"`,
		"wss.access.x_client_os":                      `"Windows 11"`,
		"wss.access.x_data_leak_detected":             `"false"`,
		"wss.access.c_ip":                             "absent", // became source.ip
		"wss.access.date":                             "absent",
		"wss.access.x_virus_id":                       "absent", // "-" is empty
		"wss.access.x_cs_ocsp_error":                  "absent",
	}
	for path, w := range want {
		if got := at(doc, path); got != w {
			t.Errorf("%s = %s, want %s", path, got, w)
		}
	}
	if t.Failed() {
		t.Logf("doc: %s", raw)
	}
}

func TestMapVerdictsAndThreats(t *testing.T) {
	m := &Mapper{}
	f := []string{"date", "time", "sc-filter-result", "sc-status", "x-virus-id", "cs-threat-risk", "c-ip", "r-ip"}
	tests := []struct {
		line        string
		types, outc string
		threat      string
		related     string
	}{
		{"2026-11-24 10:00:00 OBSERVED 200 - - 10.0.0.1 10.0.0.1", `["access","allowed"]`, `"success"`, "absent", `["10.0.0.1"]`},
		{"2026-11-24 10:00:00 proxied 304 - - 10.0.0.1 203.0.113.9", `["access","allowed"]`, `"success"`, "absent", `["10.0.0.1","203.0.113.9"]`},
		{"2026-11-24 10:00:00 DENIED 200 EICAR 9 ::ffff:10.0.0.2 -", `["access","denied"]`, `"failure"`, `{"software":{"name":"EICAR"}}`, `["10.0.0.2"]`},
		{"2026-11-24 10:00:00 OBSERVED 502 - - - -", `["access","allowed"]`, `"failure"`, "absent", "absent"},
		{"2026-11-24 10:00:00 - 0 - - - -", `["access"]`, `"unknown"`, "absent", "absent"},
	}
	for _, tt := range tests {
		doc, raw, err := mapLine(t, m, f, tt.line)
		if err != nil {
			t.Fatal(err)
		}
		if at(doc, "event.type") != tt.types || at(doc, "event.outcome") != tt.outc || at(doc, "threat") != tt.threat || at(doc, "related.ip") != tt.related {
			t.Errorf("%s: %s", tt.line, raw)
		}
	}
}

// A value that does not fit its ECS field leaves the field out and stays,
// raw, under wss.access: nothing is lost and the document stays indexable.
func TestMapInvalidValuesStayRaw(t *testing.T) {
	f := []string{"date", "time", "c-ip", "sc-status", "cs-uri-port", "sc-bytes", "s-ip", "time-taken", "cs-threat-risk", "x-rs-connection-negotiated-ssl-version", "x-timestamp-unix"}
	line := `2026-11-24 10:00:00 999.1.1.1 abc 70000 -5 fe80::1%eth0 1.5 high QUIC 1764000000`
	doc, raw, err := mapLine(t, &Mapper{}, f, line)
	if err != nil {
		t.Fatal(err)
	}
	for path, w := range map[string]string{
		"source.ip": "absent", "wss.access.c_ip": `"999.1.1.1"`,
		"http": "absent", "wss.access.sc_status": `"abc"`, "wss.access.sc_bytes": `"-5"`,
		"url": "absent", "wss.access.cs_uri_port": `"70000"`,
		"observer.ip": "absent", "wss.access.s_ip": `"fe80::1%eth0"`,
		"event.duration": "absent", "wss.access.time_taken": `"1.5"`,
		"event.risk_score": "absent", "wss.access.cs_threat_risk": `"high"`,
		"tls": "absent", "wss.access.x_rs_connection_negotiated_ssl_version": `"QUIC"`,
		"event.outcome": `"unknown"`,
		// date and time won: the unused epoch column is kept.
		"wss.access.x_timestamp_unix": `"1764000000"`,
	} {
		if got := at(doc, path); got != w {
			t.Errorf("%s = %s, want %s\n%s", path, got, w, raw)
		}
	}
}

func TestMapTime(t *testing.T) {
	tests := []struct {
		fields []string
		line   string
		want   string // @timestamp, or "!" + part of the reason
	}{
		{[]string{"date", "time"}, "2026-11-24 23:59:59.25", `"2026-11-24T23:59:59.250Z"`},
		{[]string{"time", "date"}, "00:00:01 2026-01-31", `"2026-01-31T00:00:01.000Z"`},
		{[]string{"date", "time"}, "2016-12-31 23:59:60", `"2017-01-01T00:00:00.000Z"`}, // a leap second
		{[]string{"date", "time"}, "2026-11-24 10:00:00.123456789", `"2026-11-24T10:00:00.123Z"`},
		{[]string{"date", "time", "x-timestamp-unix"}, "- - 1764000000", `"2025-11-24T16:00:00.000Z"`},
		{[]string{"x-timestamp-unix"}, "1764000000123", `"2025-11-24T16:00:00.123Z"`},
		{[]string{"date", "time"}, "2026-02-30 10:00:00", "!no usable time"},
		{[]string{"date", "time"}, "2026-11-24 24:00:00", "!no usable time"},
		{[]string{"date", "time"}, "24-11-2026 10:00:00", "!no usable time"},
		{[]string{"date", "time"}, "2026-11-24 -", "!no usable time: date \"2026-11-24\", time absent"},
		{[]string{"cs-host"}, "a.example", "!no usable time: date absent"},
		{[]string{"date", "time"}, "1989-12-31 23:59:59", "!before 1990"},
		{[]string{"date", "time"}, "2028-01-01 00:00:00", "!more than a year after the read"},
	}
	for _, tt := range tests {
		doc, _, err := mapLine(t, &Mapper{}, tt.fields, tt.line)
		if strings.HasPrefix(tt.want, "!") {
			var le *LineError
			if !errors.As(err, &le) || !strings.Contains(le.Reason, tt.want[1:]) || string(le.Raw) != tt.line || le.Num != 2 {
				t.Errorf("%s: error %v, want a LineError with %q", tt.line, err, tt.want[1:])
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.line, err)
			continue
		}
		if got := at(doc, "@timestamp"); got != tt.want {
			t.Errorf("%s: @timestamp %s, want %s", tt.line, got, tt.want)
		}
	}
}

func TestMapKeepOriginal(t *testing.T) {
	line := sampleLine(3)
	doc, _, err := mapLine(t, &Mapper{KeepOriginal: true}, accessFields, line)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(line)
	if at(doc, "event.original") != string(want) {
		t.Errorf("event.original = %s", at(doc, "event.original"))
	}
}

// Whatever bytes a line holds, the document is one line of valid JSON:
// invalid UTF-8 becomes U+FFFD, control characters are escaped.
func TestMapHostileBytes(t *testing.T) {
	f := []string{"date", "time", "cs(User-Agent)", "cs-host", "x-weird\x01col", `x-"quoted"`, "cs-categories"}
	line := "2026-11-24 10:00:00 \"ua\xff\xfe\x01\x1f\\x\" h\u2028\x7f.example \"\x00\xc3\" v\" ;;"
	doc, raw, err := mapLine(t, &Mapper{KeepOriginal: true}, f, line)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.ContainsAny(raw, "\n\r") || bytes.ContainsRune(raw, 0) {
		t.Errorf("document is not one clean line: %q", raw)
	}
	if got := at(doc, "user_agent.original"); got != jsonOf("ua\uFFFD\uFFFD\x01\x1f\\x") {
		t.Errorf("user_agent.original = %s", got)
	}
	if got := at(doc, "wss.access.x_weird_col"); got != jsonOf("\x00\uFFFD") {
		t.Errorf("x_weird_col = %s (%s)", got, raw)
	}
	if got := at(doc, "rule.category"); got != `[";;"]` {
		t.Errorf("rule.category = %s", got)
	}
}

func TestMapDuplicateKeysNeverWritten(t *testing.T) {
	f := []string{"date", "time", "cs(Referer)", "cs-referer", "x-a", "x_a", "X-A"}
	doc, raw, err := mapLine(t, &Mapper{}, f, "2026-11-24 10:00:00 r1 r2 a1 a2 a3")
	if err != nil {
		t.Fatal(err)
	}
	if d := duplicateKeys(raw); len(d) > 0 {
		t.Errorf("duplicate keys %v in %s", d, raw)
	}
	if at(doc, "http.request.referrer") != `"r1"` || at(doc, "wss.access.cs_referer_2") != `"r2"` ||
		at(doc, "wss.access.x_a_2") != `"a2"` || at(doc, "wss.access.x_a_3") != `"a3"` {
		t.Errorf("columns with one key: %s", raw)
	}
}

func TestMapToAppendsAndAliases(t *testing.T) {
	var p Parser
	var rec Record
	p.Parse(Line{Bytes: []byte("#Fields: date time")}, &rec)
	p.Parse(Line{Bytes: []byte("2026-11-24 10:00:00")}, &rec)
	dst := []byte("prefix")
	ev, b, err := (&Mapper{}).MapTo(dst, &rec, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("prefix{")) || !bytes.Equal(b[6:], ev.Doc) || ev.Hash != rec.Hash || !ev.Time.Equal(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("MapTo: %s / %s", b, ev.Doc)
	}
	if bytes.Contains(ev.Doc, []byte(`"created"`)) {
		t.Errorf("a zero read time wrote event.created: %s", ev.Doc)
	}
}

// duplicateKeys returns the keys that appear twice in one object of doc
// (valid JSON, but Elasticsearch refuses it).
func duplicateKeys(doc []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(doc))
	var dups []string
	var value func() bool
	value = func() bool {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return false
				}
				if seen[k.(string)] {
					dups = append(dups, k.(string))
				}
				seen[k.(string)] = true
				if !value() {
					return false
				}
			}
			_, err = dec.Token()
			return err == nil
		case json.Delim('['):
			for dec.More() {
				if !value() {
					return false
				}
			}
			_, err = dec.Token()
			return err == nil
		}
		return true
	}
	if !value() {
		return []string{"(unreadable JSON)"}
	}
	return dups
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
