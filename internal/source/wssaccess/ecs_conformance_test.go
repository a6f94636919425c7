package wssaccess

import (
	"bufio"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// The same check as internal/event's ecs_conformance_test.go, against the
// same field list (internal/event/testdata/ecs-8.11-fields.tsv): test code
// cannot be imported across packages, and one list keeps the two mappings
// on one ECS release.

type ecsSpec struct {
	types      map[string]string
	kinds      map[string]bool
	categories map[string][]string
	evTypes    map[string]bool
	outcomes   map[string]bool
}

func loadECSSpec(t *testing.T) *ecsSpec {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "event", "testdata", "ecs-8.11-fields.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := &ecsSpec{types: map[string]string{}, kinds: map[string]bool{}, categories: map[string][]string{},
		evTypes: map[string]bool{}, outcomes: map[string]bool{}}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		col := strings.Split(line, "\t")
		switch {
		case col[0] == "field" && len(col) == 3:
			s.types[col[1]] = col[2]
		case col[0] == "event.kind" && len(col) == 2:
			s.kinds[col[1]] = true
		case col[0] == "event.category" && len(col) == 3:
			s.categories[col[1]] = strings.Split(col[2], ",")
		case col[0] == "event.type" && len(col) == 2:
			s.evTypes[col[1]] = true
		case col[0] == "event.outcome" && len(col) == 2:
			s.outcomes[col[1]] = true
		default:
			t.Fatalf("ecs-8.11-fields.tsv:%d: unreadable line %q", n, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return s
}

// check returns every way doc departs from ECS (outside the custom wss.*).
func (s *ecsSpec) check(doc map[string]any) []string {
	var probs []string
	var walk func(path string, v any)
	walk = func(path string, v any) {
		if path == "wss" || strings.HasPrefix(path, "wss.") {
			return
		}
		typ, known := s.types[path]
		if obj, isObj := v.(map[string]any); isObj && (!known || typ != "object") {
			if known {
				probs = append(probs, path+": an object, but ECS type "+typ)
				return
			}
			for k, sub := range obj {
				walk(path+"."+k, sub)
			}
			return
		}
		if !known {
			probs = append(probs, path+": not an ECS 8.11 field")
			return
		}
		if msg := fits(typ, v); msg != "" {
			probs = append(probs, path+": "+msg)
		}
	}
	for k, v := range doc {
		walk(k, v)
	}
	ev, _ := doc["event"].(map[string]any)
	if k, _ := ev["kind"].(string); !s.kinds[k] {
		probs = append(probs, "event.kind is not allowed")
	}
	if o, _ := ev["outcome"].(string); ev["outcome"] != nil && !s.outcomes[o] {
		probs = append(probs, "event.outcome "+o+" is not allowed")
	}
	var expected []string
	for _, c := range strs(ev["category"]) {
		exp, ok := s.categories[c]
		if !ok {
			probs = append(probs, "event.category "+c+" is not allowed")
		}
		expected = append(expected, exp...)
	}
	for _, ty := range strs(ev["type"]) {
		switch {
		case !s.evTypes[ty]:
			probs = append(probs, "event.type "+ty+" is not allowed")
		case !slices.Contains(expected, ty):
			probs = append(probs, "event.type "+ty+" is not expected for the categories")
		}
	}
	sort.Strings(probs)
	return probs
}

func fits(typ string, v any) string {
	if arr, ok := v.([]any); ok {
		for _, e := range arr {
			if msg := fits(typ, e); msg != "" {
				return "array member: " + msg
			}
		}
		return ""
	}
	switch typ {
	case "keyword", "constant_keyword", "wildcard", "match_only_text", "text":
		if _, ok := v.(string); !ok {
			return "want a string for " + typ
		}
	case "date":
		s, _ := v.(string)
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			return "want an RFC 3339 date, got " + jsonOf(v)
		}
	case "ip":
		s, _ := v.(string)
		if _, err := netip.ParseAddr(s); err != nil {
			return "want an IP address, got " + jsonOf(v)
		}
	case "long", "float", "scaled_float":
		if _, ok := v.(json.Number); !ok {
			return "want a number for " + typ + ", got " + jsonOf(v)
		}
	case "object":
		obj, ok := v.(map[string]any)
		if !ok {
			return "want an object"
		}
		for k, e := range obj {
			if _, ok := e.(string); !ok {
				return k + ": want a string member"
			}
		}
	default:
		return "type " + typ + " is not checked by this test: teach fits()"
	}
	return ""
}

func strs(v any) []string {
	var out []string
	switch x := v.(type) {
	case string:
		out = append(out, x)
	case []any:
		for _, e := range x {
			s, _ := e.(string)
			out = append(out, s)
		}
	}
	return out
}

// TestDocumentsConformToECS maps realistic lines, every column filled, and
// hostile variants, and checks each document against ECS 8.11.
func TestDocumentsConformToECS(t *testing.T) {
	spec := loadECSSpec(t)
	m := &Mapper{KeepOriginal: true, Source: "tenant-a"}
	extra := []string{"r-ip", "cs-username", "x-rs-connection-negotiated-ssl-version", "x-timestamp-unix"}
	fields := append(slices.Clone(accessFields), extra...)
	seen := map[string]int{}
	for i := range 1500 {
		line := sampleLine(i) + " 203.0.113." + itoa(int64(i%250)) + " user" + itoa(int64(i)) + " TLSv1.3 1764000000"
		if i%5 == 0 { // hostile: every value replaced by junk of the same shape
			line = strings.NewReplacer("10.", "999.", "443", "x443", "GET", "\"G E\x00T\"", "2026-11-24", "2026-11-24", "TLSv1.3", "TLS1", "DE", "\xff\xfe").Replace(line)
		}
		doc, raw, err := mapLine(t, m, fields, line)
		if err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		ev := doc["event"].(map[string]any)
		seen[jsonOf(ev["category"])+jsonOf(ev["type"])]++
		if probs := spec.check(doc); len(probs) > 0 {
			t.Fatalf("line %d is not ECS 8.11:\n  %s\n  doc: %s", i, strings.Join(probs, "\n  "), raw)
		}
		if d := duplicateKeys(raw); len(d) > 0 {
			t.Fatalf("line %d: duplicate keys %v", i, d)
		}
	}
	for _, combo := range []string{`["web","network"]["access","allowed"]`, `["web","network"]["access","denied"]`} {
		if seen[combo] == 0 {
			t.Errorf("no document has %s (seen %v)", combo, seen)
		}
	}
	// The fields the mapping writes are all reached by the lines above.
	doc, _, _ := mapLine(t, m, fields, sampleLine(101)+" 203.0.113.1 u TLSv1.3 1764000000")
	for _, path := range []string{"threat.software.name", "tls.version", "tls.version_protocol", "destination.ip", "user.name", "event.original"} {
		if at(doc, path) == "absent" {
			t.Errorf("%s not written", path)
		}
	}
}

func TestECSCheckCatches(t *testing.T) {
	spec := loadECSSpec(t)
	base := `"@timestamp":"2026-11-24T10:15:02.123Z","event":{"kind":"event","category":["web","network"],"type":["access","allowed"],"outcome":"success"}`
	for doc, want := range map[string]string{
		`{` + base + `,"url":{"port":443,"full":"x"}}`:                                  "",
		`{` + base + `,"url":{"port":"443"}}`:                                           "url.port: want a number",
		`{` + base + `,"url":{"fragmentx":"a"}}`:                                        "url.fragmentx: not an ECS 8.11 field",
		`{` + base + `,"destination":{"ip":"bad"}}`:                                     "destination.ip: want an IP",
		`{` + base + `,"event":{"kind":"event","category":["web"],"type":["allowed"]}}`: "event.type allowed is not expected",
	} {
		var m map[string]any
		dec := json.NewDecoder(strings.NewReader(doc))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		probs := strings.Join(spec.check(m), "; ")
		if (want == "") != (probs == "") || !strings.Contains(probs, want) {
			t.Errorf("%s: problems %q, want %q", doc, probs, want)
		}
	}
}
