package event

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

const baseTime = `"timestamp":"2026-11-24T10:15:02.123Z"`

// TestCandidateKeys checks every default candidate name of every fact on its
// own: the fact lands in its ECS field and the key is not repeated under
// wss.audit.
func TestCandidateKeys(t *testing.T) {
	m := NewMapper(Fields{}, "src")
	d := DefaultFields()
	for _, k := range d.Time {
		t.Run("time/"+k, func(t *testing.T) {
			_, doc := mapDoc(t, m, fmt.Sprintf(`{%q:"2026-11-24 10:15:02"}`, k))
			if got := get(doc, "@timestamp"); got != "2026-11-24T10:15:02.000Z" {
				t.Errorf("@timestamp = %v", got)
			}
			if _, ok := audit(doc)[k]; ok {
				t.Errorf("time key %s repeated under wss.audit", k)
			}
		})
	}
	type want struct{ path, val string }
	facts := []struct {
		name  string
		keys  []string
		value string
		wants []want
	}{
		{"id", d.ID, "a1b2c3", []want{{"event.id", "a1b2c3"}}},
		{"user", d.User, "admin@example.com", []want{{"user.name", "admin@example.com"}, {"user.email", "admin@example.com"}}},
		{"source_ip", d.SourceIP, "203.0.113.7", []want{{"source.ip", "203.0.113.7"}}},
		{"object_type", d.ObjectType, "PolicyRule", []want{{"wss.audit.object_type", "PolicyRule"}}},
		{"object_name", d.ObjectName, "Block Gambling", []want{{"wss.audit.object_name", "Block Gambling"}}},
		{"operation", d.Operation, "DisableAgent", []want{{"wss.audit.operation_type", "DisableAgent"}, {"event.action", "disable-agent"}}},
		{"outcome", d.Outcome, "Failed", []want{{"wss.audit.status", "Failed"}, {"event.outcome", "failure"}}},
		{"message", d.Message, "Agent disabled until 2026-11-25", []want{{"message", "Agent disabled until 2026-11-25"}}},
	}
	for _, f := range facts {
		for _, k := range f.keys {
			t.Run(f.name+"/"+k, func(t *testing.T) {
				_, doc := mapDoc(t, m, fmt.Sprintf(`{%s,%q:%q}`, baseTime, k, f.value))
				for _, w := range f.wants {
					if got := get(doc, w.path); got != w.val {
						t.Errorf("%s = %v, want %q", w.path, got, w.val)
					}
				}
				if _, ok := audit(doc)[k]; ok && k != "status" { // wss.audit.status is ours
					t.Errorf("key %s repeated under wss.audit: %v", k, audit(doc))
				}
			})
		}
	}
}

func TestFirstMatchWins(t *testing.T) {
	m := NewMapper(Fields{}, "")
	tests := []struct {
		name, raw  string
		path, want string
		keptKey    string // a losing candidate, kept under wss.audit
	}{
		{"earlier candidate wins", `{` + baseTime + `,"email":"e@x","userName":"u1"}`, "user.name", "u1", "email"},
		{"null is skipped", `{` + baseTime + `,"userName":null,"user":"u2"}`, "user.name", "u2", "userName"},
		{"blank is skipped", `{` + baseTime + `,"userName":"  ","user":"u2"}`, "user.name", "u2", "userName"},
		{"object is skipped", `{` + baseTime + `,"userName":{"first":"a"},"user":"u2"}`, "user.name", "u2", "userName"},
		{"object type before type", `{` + baseTime + `,"type":"T","objectType":"OT"}`, "wss.audit.object_type", "OT", "type"},
		{"unparseable time falls through", `{"timestamp":"yesterday","eventTime":"2026-11-24T10:15:02Z"}`, "@timestamp", "2026-11-24T10:15:02.000Z", "timestamp"},
		{"null time falls through", `{"timestamp":null,"date":"2026-11-24"}`, "@timestamp", "2026-11-24T00:00:00.000Z", "timestamp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, doc := mapDoc(t, m, tt.raw)
			if got := get(doc, tt.path); got != tt.want {
				t.Errorf("%s = %v, want %q", tt.path, got, tt.want)
			}
			if _, ok := audit(doc)[tt.keptKey]; !ok {
				t.Errorf("losing candidate %q not kept under wss.audit: %v", tt.keptKey, audit(doc))
			}
		})
	}
}

func TestCaseInsensitiveKeys(t *testing.T) {
	m := NewMapper(Fields{}, "")
	_, doc := mapDoc(t, m, `{"TimeStamp":"2026-11-24T10:15:02Z","USERNAME":"bob","OperationType":"Delete","ObjectType":"User","objectname":"eve"}`)
	for path, want := range map[string]string{
		"@timestamp": "2026-11-24T10:15:02.000Z", "user.name": "bob", "event.action": "delete",
		"user.target.name": "eve", "event.category": "",
	} {
		if path == "event.category" {
			if canon(get(doc, path)) != `["iam"]` {
				t.Errorf("event.category = %v", get(doc, path))
			}
			continue
		}
		if got := get(doc, path); got != want {
			t.Errorf("%s = %v, want %q", path, got, want)
		}
	}
	if len(audit(doc)) != 3 { // object_type, object_name, operation_type
		t.Errorf("folded keys not consumed: %v", audit(doc))
	}

	// An exact spelling of a later candidate beats a folded spelling of an
	// earlier one; between two folded spellings the smaller key wins.
	_, doc = mapDoc(t, m, `{`+baseTime+`,"USERNAME":"folded","user":"exact"}`)
	if got := get(doc, "user.name"); got != "exact" {
		t.Errorf("user.name = %v, want the exact match", got)
	}
	for range 20 { // map order is random: repeat to catch a nondeterministic pick
		_, doc = mapDoc(t, m, `{`+baseTime+`,"USERNAME":"upper","UserName":"camel"}`)
		if got := get(doc, "user.name"); got != "upper" {
			t.Fatalf("user.name = %v, want the byte-smaller key's value", got)
		}
	}
}

func TestFieldsOverride(t *testing.T) {
	m := NewMapper(Fields{
		Time:     []string{"meta.when"},
		User:     []string{"actor.name", "actorName"},
		ID:       []string{"ref"},
		SourceIP: []string{"net.client.addr"},
		Outcome:  []string{"res"},
	}, "")
	raw := `{"meta":{"when":"2026-11-24T10:15:02Z","seq":7},"actor":{"name":"dotted@x.org","id":5},` +
		`"ref":99,"userName":"not-used","net":{"client":{"addr":"198.51.100.2"}},"res":"OK",` +
		`"operationType":"Delete","timestamp":"2020-01-01T00:00:00Z"}`
	_, doc := mapDoc(t, m, raw)
	for path, want := range map[string]string{
		"@timestamp":    "2026-11-24T10:15:02.000Z",
		"user.name":     "dotted@x.org",
		"event.id":      "99",
		"source.ip":     "198.51.100.2",
		"event.outcome": "success",
		"event.action":  "delete", // an empty list keeps the defaults
	} {
		if got := get(doc, path); got != want {
			t.Errorf("%s = %v, want %q", path, got, want)
		}
	}
	a := audit(doc)
	// Overridden defaults are no longer candidates, so they are unknown keys.
	if a["userName"] != "not-used" || a["timestamp"] != "2020-01-01T00:00:00Z" {
		t.Errorf("replaced default keys not kept: %v", a)
	}
	// A fact taken from inside an object leaves the object whole.
	if canon(a["actor"]) != `{"id":5,"name":"dotted@x.org"}` || canon(a["meta"]) != `{"seq":7,"when":"2026-11-24T10:15:02Z"}` {
		t.Errorf("nested objects not kept whole: %v", a)
	}

	// A key that literally contains the dots wins over the path.
	_, doc = mapDoc(t, m, `{"meta.when":"2026-11-24T10:00:00Z","meta":{"when":"2026-11-24T11:00:00Z"}}`)
	if got := get(doc, "@timestamp"); got != "2026-11-24T10:00:00.000Z" {
		t.Errorf("@timestamp = %v, want the literal dotted key", got)
	}
	if _, ok := audit(doc)["meta.when"]; ok {
		t.Error("literal dotted key not consumed")
	}
	// A path keeps its place in the order: it beats a later plain key.
	_, doc = mapDoc(t, m, `{`+baseTime+`,"meta":{"when":"2026-11-24T10:00:00Z"},"actor":{"name":"first"},"actorName":"second"}`)
	if got := get(doc, "user.name"); got != "first" {
		t.Errorf("user.name = %v, want the earlier (dotted) candidate", got)
	}
	// Paths fold case too, and fall through to the next candidate.
	_, doc = mapDoc(t, m, `{"Meta":{"When":"2026-11-24T10:00:00Z"},"actor":"flat","actorName":"second"}`)
	if get(doc, "@timestamp") != "2026-11-24T10:00:00.000Z" || get(doc, "user.name") != "second" {
		t.Errorf("folded path / fall-through: %v %v", get(doc, "@timestamp"), get(doc, "user.name"))
	}
}

func TestFieldsValidate(t *testing.T) {
	if err := DefaultFields().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	if err := (Fields{User: []string{"actor.name"}}).Validate(); err != nil {
		t.Errorf("dotted path: %v", err)
	}
	err := Fields{User: []string{"", "a..b"}, Time: []string{".x", "ok", "y."}}.Validate()
	if err == nil {
		t.Fatal("no error for unusable keys")
	}
	for _, want := range []string{`fields.user: unusable key ""`, `fields.user: unusable key "a..b"`, `fields.time: unusable key ".x"`, `fields.time: unusable key "y."`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), `"ok"`) {
		t.Errorf("good key reported: %v", err)
	}
}

func TestUnknownKeysKept(t *testing.T) {
	m := NewMapper(Fields{}, "")
	raw := `{` + baseTime + `,"region":"t-1","count":12,"ratio":1.50,"big":123456789012345678901234567890,` +
		`"flag":false,"none":null,"list":[1,"a",{"z":1,"y":2}],"nested":{"b":{"c":"d"},"a":[]},` +
		`"Ünïcode kéy":"välue","with.dot":"x","":"empty key","userName":"u"}`
	_, doc := mapDoc(t, m, raw)
	a := audit(doc)
	want := map[string]string{
		"region": `"t-1"`, "count": `12`, "ratio": `1.50`, "big": `123456789012345678901234567890`,
		"flag": `false`, "none": `null`, "list": `[1,"a",{"y":2,"z":1}]`, "nested": `{"a":[],"b":{"c":"d"}}`,
		"Ünïcode kéy": `"välue"`, "with.dot": `"x"`, "": `"empty key"`,
	}
	for k, w := range want {
		v, ok := a[k]
		if !ok {
			t.Errorf("unknown key %q lost", k)
			continue
		}
		if got := canon(v); got != w {
			t.Errorf("wss.audit[%q] = %s, want %s", k, got, w)
		}
	}
	if len(a) != len(want) {
		t.Errorf("wss.audit has %d keys, want %d: %v", len(a), len(want), a)
	}
}

func TestCollisionRule(t *testing.T) {
	m := NewMapper(Fields{Outcome: []string{"result"}}, "")
	raw := `{` + baseTime + `,"objectType":"PolicyRule","result":"ok",` +
		`"status":{"code":3},"object_type":"clash","raw":"r","status.code":5,"source_ip":"1.2.3.4",` +
		`"object_name":7,"operation_type":null,"statusCode":1,"raw_x":2}`
	_, doc := mapDoc(t, m, raw)
	a := audit(doc)
	if a["object_type"] != "PolicyRule" || a["status"] != "ok" {
		t.Errorf("our own names overwritten: %v", a)
	}
	moved, _ := a["raw"].(map[string]any)
	wantMoved := map[string]string{
		"status": `{"code":3}`, "object_type": `"clash"`, "raw": `"r"`, "status.code": `5`,
		"source_ip": `"1.2.3.4"`, "object_name": `7`, "operation_type": `null`,
	}
	for k, w := range wantMoved {
		if got := canon(moved[k]); got != w {
			t.Errorf("wss.audit.raw[%q] = %s, want %s", k, got, w)
		}
	}
	if len(moved) != len(wantMoved) {
		t.Errorf("wss.audit.raw = %v", moved)
	}
	// Prefixes without a dot are ordinary keys.
	if canon(a["statusCode"]) != "1" || canon(a["raw_x"]) != "2" {
		t.Errorf("non-colliding keys moved: %v", a)
	}
	// When nothing collides there is no wss.audit.raw.
	_, doc = mapDoc(t, m, `{`+baseTime+`,"x":1}`)
	if _, ok := audit(doc)["raw"]; ok {
		t.Error("wss.audit.raw present without a collision")
	}
}

func TestOddTypes(t *testing.T) {
	m := NewMapper(Fields{}, "")
	raw := `{"time":1763979302,"id":12345,"userName":42,"status":true,"objectType":["User"],` +
		`"objectName":{"first":"x"},"object":"fallback","operationType":7,"description":{"text":"structured"},` +
		`"message":"plain","sourceIp":{"v4":"1.2.3.4"}}`
	_, doc := mapDoc(t, m, raw)
	for path, want := range map[string]string{
		"@timestamp":            "2025-11-24T10:15:02.000Z",
		"event.id":              "12345",
		"user.name":             "42",
		"event.outcome":         "success",
		"wss.audit.object_name": "fallback",
		"event.action":          "7",
		"message":               "plain",
	} {
		if got := get(doc, path); got != want {
			t.Errorf("%s = %v, want %q", path, got, want)
		}
	}
	a := audit(doc)
	for k, w := range map[string]string{
		"objectType": `["User"]`, "objectName": `{"first":"x"}`, "description": `{"text":"structured"}`, "sourceIp": `{"v4":"1.2.3.4"}`,
	} {
		if got := canon(a[k]); got != w {
			t.Errorf("non-scalar %s not kept: %s", k, got)
		}
	}
	if get(doc, "source") != nil {
		t.Errorf("source set from an object: %v", get(doc, "source"))
	}
}

func TestHostileStrings(t *testing.T) {
	m := NewMapper(Fields{}, "tenant \"q\"\n")
	huge := strings.Repeat("A\"\\\n\x00é", 1<<20/9)
	values := []string{
		"line1\nline2\r\n", `quote " and \ backslash`, "nul \x00 byte", "bad utf8 \xff\xfe", "\u2028\u2029",
		"日本語 ✓ 😀", "<script>alert(1)</script>", huge,
	}
	for i, v := range values {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			raw := fmt.Sprintf(`{%s,"userName":%s,"description":%s,"objectName":%s,"extra":%s,%s:1}`,
				baseTime, q(v), q(v), q(v), q(v), q("k"+v))
			ev, doc := mapDoc(t, m, raw)
			// What went in as valid UTF-8 comes out unchanged; each
			// invalid byte comes out as U+FFFD.
			want := validPerByte(strings.TrimSpace(v))
			for _, path := range []string{"user.name", "message", "wss.audit.object_name"} {
				if want == "" { // blank after trimming: no fact, see TestFirstMatchWins
					break
				}
				if got := str(get(doc, path)); got != want {
					t.Errorf("%s = %.60q, want %.60q", path, got, want)
				}
			}
			if got := str(audit(doc)["extra"]); got != validPerByte(v) {
				t.Errorf("wss.audit.extra = %.60q", got)
			}
			if _, ok := audit(doc)[validPerByte("k"+v)]; !ok {
				t.Error("hostile key lost")
			}
			if str(get(doc, "labels.source")) != "tenant \"q\"\n" {
				t.Errorf("labels.source = %q", get(doc, "labels.source"))
			}
			if str(get(doc, "event.original")) != validPerByte(raw) {
				t.Error("event.original differs from the record")
			}
			if len(ev.Doc) < len(v) {
				t.Error("document shorter than a field: something was cut")
			}
		})
	}
}

// validPerByte replaces each invalid UTF-8 byte with U+FFFD, as JSON
// decoding does.
func validPerByte(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r == utf8.RuneError && len(s[i:]) > 0 {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				b.WriteRune(utf8.RuneError)
				continue
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}

// q quotes s as a JSON string, letting invalid UTF-8 through raw, as a
// careless upstream would.
func q(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20:
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func TestSourceIP(t *testing.T) {
	m := NewMapper(Fields{}, "")
	tests := []struct {
		in        string
		ip, port  any
		related   string
		rawKept   bool
		extraJSON string
	}{
		{in: "203.0.113.7", ip: "203.0.113.7", related: `["203.0.113.7"]`},
		{in: "2001:DB8::1", ip: "2001:db8::1", related: `["2001:db8::1"]`},
		{in: "fe80::1%eth0", ip: "fe80::1", related: `["fe80::1"]`},
		{in: "203.0.113.7:5123", ip: "203.0.113.7", port: "5123", related: `["203.0.113.7"]`},
		{in: "[2001:db8::1]:443", ip: "2001:db8::1", port: "443", related: `["2001:db8::1"]`},
		{in: "203.0.113.7, 10.0.0.1", ip: "203.0.113.7", related: `["203.0.113.7","10.0.0.1"]`, rawKept: true},
		{in: "unknown", rawKept: true},
		{in: "portal", rawKept: true, extraJSON: `,"clientIp":"198.51.100.9"`, related: `["198.51.100.9"]`},
		{in: "203.0.113.7", ip: "203.0.113.7", extraJSON: `,"ip":"203.0.113.7","clientIp":"198.51.100.9"`, related: `["203.0.113.7","198.51.100.9"]`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, doc := mapDoc(t, m, fmt.Sprintf(`{%s,"sourceIp":%q%s}`, baseTime, tt.in, tt.extraJSON))
			if got := get(doc, "source.ip"); got != tt.ip {
				t.Errorf("source.ip = %v, want %v", got, tt.ip)
			}
			if got := get(doc, "source.port"); (got == nil) != (tt.port == nil) || (got != nil && fmt.Sprint(got) != tt.port) {
				t.Errorf("source.port = %v, want %v", got, tt.port)
			}
			if got := get(doc, "related.ip"); (tt.related == "" && got != nil) || (tt.related != "" && canon(got) != tt.related) {
				t.Errorf("related.ip = %v, want %s", canon(got), tt.related)
			}
			if got := audit(doc)["source_ip"]; (got != nil) != tt.rawKept || (got != nil && got != tt.in) {
				t.Errorf("wss.audit.source_ip = %v, want kept=%v", got, tt.rawKept)
			}
		})
	}
}

func TestUsers(t *testing.T) {
	m := NewMapper(Fields{}, "")
	tests := []struct {
		name, fields string
		want         map[string]any // path -> value, nil = absent
		related      string
	}{
		{"email actor", `"userName":"admin@example.com"`,
			map[string]any{"user.name": "admin@example.com", "user.email": "admin@example.com", "user.target": nil}, `["admin@example.com"]`},
		{"plain actor", `"userName":"admin"`,
			map[string]any{"user.name": "admin", "user.email": nil}, `["admin"]`},
		{"email from another candidate", `"userName":"admin","email":"admin@example.com"`,
			map[string]any{"user.name": "admin", "user.email": "admin@example.com"}, `["admin","admin@example.com"]`},
		{"not an email", `"userName":"a@b@c"`,
			map[string]any{"user.email": nil}, `["a@b@c"]`},
		{"target user", `"userName":"admin@example.com","objectType":"User","objectName":"jane@example.com","operationType":"Delete"`,
			map[string]any{"user.target.name": "jane@example.com", "user.target.email": "jane@example.com"}, `["admin@example.com","jane@example.com"]`},
		{"target admin", `"userName":"root","objectType":"Admin","objectName":"ops"`,
			map[string]any{"user.target.name": "ops", "user.target.email": nil}, `["root","ops"]`},
		{"target api credential", `"userName":"root","objectType":"ApiCredential","objectName":"siem-audit-reader","operationType":"Delete"`,
			map[string]any{"user.target.name": "siem-audit-reader"}, `["root","siem-audit-reader"]`},
		{"sign-in as oneself", `"userName":"ops@x.io","objectType":"Admin","objectName":"OPS@x.io","operationType":"Login"`,
			map[string]any{"user.name": "ops@x.io", "user.target": nil}, `["ops@x.io"]`},
		{"sign-out as oneself", `"userName":"jane","objectType":"User","objectName":"jane","operationType":"Logout"`,
			map[string]any{"user.target": nil}, `["jane"]`},
		{"sign-in as another user", `"userName":"root","objectType":"User","objectName":"jane","operationType":"Login"`,
			map[string]any{"user.target.name": "jane"}, `["root","jane"]`},
		{"change of one's own account keeps the target", `"userName":"jane","objectType":"User","objectName":"jane","operationType":"Update"`,
			map[string]any{"user.target.name": "jane"}, `["jane"]`},
		{"role is no user", `"userName":"root","objectType":"Role","objectName":"Auditors"`,
			map[string]any{"user.target": nil}, `["root"]`},
		{"policy rule is no user", `"userName":"root","objectType":"PolicyRule","objectName":"Block Gambling"`,
			map[string]any{"user.target": nil}, `["root"]`},
		{"target without actor", `"objectType":"User","objectName":"jane"`,
			map[string]any{"user.name": nil, "user.target.name": "jane"}, `["jane"]`},
		{"no users", `"objectType":"Report"`, map[string]any{"user": nil, "related": nil}, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, doc := mapDoc(t, m, `{`+baseTime+`,`+tt.fields+`}`)
			for path, want := range tt.want {
				if got := get(doc, path); got != want {
					t.Errorf("%s = %v, want %v", path, got, want)
				}
			}
			if got := get(doc, "related.user"); (tt.related == "" && got != nil) || (tt.related != "" && canon(got) != tt.related) {
				t.Errorf("related.user = %s, want %s", canon(got), tt.related)
			}
		})
	}
}

func TestMessage(t *testing.T) {
	m := NewMapper(Fields{}, "")
	tests := []struct{ fields, want string }{
		{`"description":"Deleted rule 'Block Gambling'","message":"second"`, "Deleted rule 'Block Gambling'"},
		{`"userName":"admin@x","operationType":"Delete","objectType":"PolicyRule","objectName":"Block Gambling"`, "admin@x Delete PolicyRule 'Block Gambling'"},
		{`"userName":"admin@x","operationType":"Login"`, "admin@x Login"},
		{`"operationType":"Execute","objectType":"Report"`, "Execute Report"},
		{`"x":1`, "WSS audit record"},
	}
	for _, tt := range tests {
		_, doc := mapDoc(t, m, `{`+baseTime+`,`+tt.fields+`}`)
		if got := get(doc, "message"); got != tt.want {
			t.Errorf("%s: message = %v, want %q", tt.fields, got, tt.want)
		}
	}
}

func TestDocFixedFields(t *testing.T) {
	m := NewMapper(Fields{}, "tenant-a")
	raw := `{"eventTime":"2026-11-24T11:15:02.123456+01:00","auditId":"x1","operationType":"Login","status":"Success"}`
	ev, doc := mapDoc(t, m, raw)
	for path, want := range map[string]string{
		"@timestamp":       "2026-11-24T10:15:02.123Z",
		"ecs.version":      ECSVersion,
		"event.kind":       "event",
		"event.dataset":    "wss.audit",
		"event.module":     "wss",
		"event.created":    "2026-11-24T11:00:00.500Z",
		"event.original":   raw,
		"event.hash":       hex.EncodeToString(ev.Hash[:]),
		"event.id":         "x1",
		"event.outcome":    "success",
		"observer.vendor":  "Broadcom",
		"observer.product": "Web Security Service",
		"labels.source":    "tenant-a",
	} {
		if got := get(doc, path); got != want {
			t.Errorf("%s = %v, want %q", path, got, want)
		}
	}
	// event.ingested is the data store's (the elasticsearch template's
	// pipeline sets it); observer.type "proxy" is the access log's.
	for _, path := range []string{"event.ingested", "observer.type"} {
		if got := get(doc, path); got != nil {
			t.Errorf("%s = %v, want absent", path, got)
		}
	}
	if canon(get(doc, "event.category")) != `["authentication"]` || canon(get(doc, "event.type")) != `["start"]` {
		t.Errorf("category/type = %v %v", get(doc, "event.category"), get(doc, "event.type"))
	}
	if ev.HashHex() != get(doc, "event.hash") || len(ev.HashHex()) != 64 {
		t.Errorf("HashHex = %s", ev.HashHex())
	}
	if !ev.Time.Equal(time.Date(2026, 11, 24, 10, 15, 2, 123456000, time.UTC)) || ev.Time.Location() != time.UTC {
		t.Errorf("Event.Time = %v", ev.Time)
	}
	if !strings.HasPrefix(string(ev.Doc), `{"@timestamp":`) {
		t.Errorf("doc does not start with @timestamp: %.60s", ev.Doc)
	}

	// No source name: no labels. The read time is written in UTC.
	m2 := NewMapper(Fields{}, "")
	p, _ := Parse([]byte(raw))
	ev2, err := m2.Map(&p, testIngested.In(time.FixedZone("X", 3600)))
	if err != nil {
		t.Fatal(err)
	}
	doc2 := decodeDoc(t, ev2.Doc)
	if get(doc2, "labels") != nil || get(doc2, "event.created") != "2026-11-24T11:00:00.500Z" {
		t.Errorf("labels = %v, created = %v", get(doc2, "labels"), get(doc2, "event.created"))
	}
}

func TestMapDeterministic(t *testing.T) {
	m := NewMapper(Fields{}, "s")
	raw := []byte(`{"timestamp":"2026-11-24T10:15:02Z","b":1,"a":{"y":1,"x":2},"c":[3],"status":{"s":1},"raw":2,"userName":"u"}`)
	first := ""
	for i := range 50 {
		p, _ := Parse(raw)
		ev, err := m.Map(&p, testIngested)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = string(ev.Doc)
		} else if string(ev.Doc) != first {
			t.Fatalf("run %d differs:\n%s\n%s", i, ev.Doc, first)
		}
	}
}

func TestMapErrors(t *testing.T) {
	m := NewMapper(Fields{}, "")
	tests := []struct{ raw, want string }{
		{`{"userName":"u"}`, "no time field (tried timestamp, time, eventTime, date, createdAt, dateTime)"},
		{`{"timestamp":null}`, "no time field"},
		{`{"eventTime":"xyz"}`, `unparseable time "xyz" in field eventTime`},
		{`{"time":"soon","date":"later"}`, `unparseable time "soon" in field time`},
		{`{"Timestamp":"xyz"}`, `unparseable time "xyz" in field Timestamp`},
		{`{"timestamp":{"a":1}}`, `unparseable time {"a":1} in field timestamp`},
		{`{"timestamp":"1980-01-01"}`, `before 1990`},
		{`{"timestamp":"` + strings.Repeat("x", 5000) + `"}`, `in field timestamp`},
	}
	for _, tt := range tests {
		p, err := Parse([]byte(tt.raw))
		if err != nil {
			t.Fatal(err)
		}
		ev, err := m.Map(&p, testIngested)
		var re *RecordError
		if !errors.As(err, &re) || !strings.Contains(re.Reason, tt.want) {
			t.Errorf("Map(%.40s) err = %v, want a RecordError containing %q", tt.raw, err, tt.want)
			continue
		}
		if len(re.Reason) > 300 {
			t.Errorf("reason too long (%d bytes)", len(re.Reason))
		}
		if ev.Hash != p.Hash || ev.Doc != nil {
			t.Errorf("on error: Hash kept = %v, Doc = %q", ev.Hash == p.Hash, ev.Doc)
		}
	}

	p, _ := Parse([]byte(`["not","an","object"]`))
	ev, err := m.Map(&p, testIngested)
	var re *RecordError
	if !errors.As(err, &re) || ev.Hash != p.Hash {
		t.Errorf("non-object: err = %v", err)
	}
}

// The future bound follows the ingest time, not the wall clock, so that
// replaying old input gives the same result.
func TestMapFutureBoundFollowsIngested(t *testing.T) {
	m := NewMapper(Fields{}, "")
	p, _ := Parse([]byte(`{"timestamp":"2027-06-01T00:00:00Z"}`))
	if _, err := m.Map(&p, testIngested); err != nil {
		t.Errorf("half a year ahead of ingest: %v", err)
	}
	if _, err := m.Map(&p, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); err == nil {
		t.Error("17 months ahead of ingest: no error")
	}
}

func TestMapperConcurrent(t *testing.T) {
	m := NewMapper(Fields{}, "s")
	raws := []string{
		`{"timestamp":"2026-11-24T10:15:02Z","UserName":"a","x":1}`,
		`{"time":1763979302123,"user":"b","ip":"1.2.3.4, 5.6.7.8"}`,
		`{"date":"2026-11-24","operation":"Delete","type":"User","name":"c"}`,
	}
	want := make([]string, len(raws))
	for i, r := range raws {
		ev, _ := mapDoc(t, m, r)
		want[i] = string(ev.Doc)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				k := (g + i) % len(raws)
				p, _ := Parse([]byte(raws[k]))
				ev, err := m.Map(&p, testIngested)
				if err != nil || string(ev.Doc) != want[k] {
					t.Errorf("concurrent Map of record %d: %v\n%s", k, err, ev.Doc)
					return
				}
			}
		})
	}
	wg.Wait()
}
