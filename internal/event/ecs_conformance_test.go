package event

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

	"github.com/auditfwd/auditfwd/internal/simulator"
)

// ecsSpec is testdata/ecs-8.11-fields.tsv: ECS field types and the allowed
// categorization values (its header says where they come from).
type ecsSpec struct {
	types      map[string]string   // field -> ECS type
	kinds      map[string]bool     // event.kind
	categories map[string][]string // event.category -> expected event.type values
	evTypes    map[string]bool     // event.type
	outcomes   map[string]bool     // event.outcome
}

func loadECSSpec(t *testing.T) *ecsSpec {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "ecs-8.11-fields.tsv"))
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
	if len(s.types) < 100 || len(s.kinds) == 0 || len(s.categories) == 0 || len(s.evTypes) == 0 || len(s.outcomes) == 0 {
		t.Fatalf("ecs-8.11-fields.tsv is incomplete: %d fields, %d kinds, %d categories", len(s.types), len(s.kinds), len(s.categories))
	}
	return s
}

// check returns every way doc departs from ECS: a field ECS does not define
// (outside the custom wss.* namespace), a value whose JSON type does not fit
// the field's type, a categorization value ECS does not allow, or an
// event.type that none of the event's categories expects.
func (s *ecsSpec) check(doc map[string]any) []string {
	var probs []string
	var walk func(path string, v any)
	walk = func(path string, v any) {
		if path == "wss" || strings.HasPrefix(path, "wss.") {
			return // the vendor's own namespace: ECS leaves custom fields to us
		}
		typ, known := s.types[path]
		if obj, isObj := v.(map[string]any); isObj && (!known || typ != "object") {
			if known && typ != "geo_point" {
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
		probs = append(probs, "event.kind "+quoteJSON(ev["kind"])+" is not allowed")
	}
	if o, _ := ev["outcome"].(string); ev["outcome"] != nil && !s.outcomes[o] {
		probs = append(probs, "event.outcome "+quoteJSON(ev["outcome"])+" is not allowed")
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
			probs = append(probs, "event.type "+ty+" is not expected for event.category "+quoteJSON(ev["category"]))
		}
	}
	sort.Strings(probs)
	return probs
}

// fits says whether a JSON value can be indexed as the ECS type; arrays of
// fitting values fit (every ECS field may hold an array).
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
			return "want a string for " + typ + ", got " + quoteJSON(v)
		}
	case "date":
		s, _ := v.(string)
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			return "want an RFC 3339 date, got " + quoteJSON(v)
		}
	case "ip":
		s, _ := v.(string)
		if _, err := netip.ParseAddr(s); err != nil {
			return "want an IP address, got " + quoteJSON(v)
		}
	case "long", "float", "scaled_float":
		if _, ok := v.(json.Number); !ok {
			return "want a number for " + typ + ", got " + quoteJSON(v)
		}
	case "object":
		obj, ok := v.(map[string]any)
		if !ok {
			return "want an object, got " + quoteJSON(v)
		}
		for k, e := range obj { // labels and the like hold keywords
			if _, ok := e.(string); !ok {
				return k + ": want a string member, got " + quoteJSON(e)
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

func quoteJSON(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 80 {
		b = append(b[:80], "..."...)
	}
	return string(b)
}

// TestSimulatorDocumentsConformToECS maps every record of simulated tenants
// (all three key schemas, a fifth of them hostile) and checks each document
// against ECS 8.11: a mapping change that writes a field ECS does not have, a
// value of the wrong type or a categorization ECS does not allow fails here.
func TestSimulatorDocumentsConformToECS(t *testing.T) {
	spec := loadECSSpec(t)
	start := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	m := NewMapper(Fields{}, "tenant-a")
	seen := map[string]int{} // categorization combos, to show the test saw them all
	docs := 0
	for i, schema := range []string{"default", "alt", "mixed"} {
		sim, err := simulator.New(simulator.Config{Seed: int64(1811 + i), Start: start, End: start.Add(72 * time.Hour),
			Records: 1500, HostileRate: 0.2, DuplicateRate: 0.02, MalformedRate: 0.02, Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		failures := 0
		for _, id := range sim.ValidIDs() {
			raw, ok := sim.RecordJSON(id)
			if !ok {
				t.Fatalf("%s: RecordJSON(%s) not found", schema, id)
			}
			p, err := Parse(raw)
			if err != nil {
				t.Fatalf("%s: Parse(%.200s): %v", schema, raw, err)
			}
			ev, err := m.Map(&p, start.Add(96*time.Hour))
			if err != nil {
				t.Fatalf("%s: Map(%.200s): %v", schema, raw, err)
			}
			doc := decodeDoc(t, ev.Doc)
			docs++
			evm := doc["event"].(map[string]any)
			seen[canon(evm["category"])+canon(evm["type"])]++
			if probs := spec.check(doc); len(probs) > 0 {
				failures++
				if failures <= 5 {
					t.Errorf("%s record %s is not ECS 8.11:\n  %s\n  record: %.300s", schema, id, strings.Join(probs, "\n  "), raw)
				}
			}
		}
		if failures > 5 {
			t.Errorf("%s: %d documents in all are not ECS 8.11", schema, failures)
		}
	}
	if docs != 4500 {
		t.Errorf("checked %d documents, want 4500", docs)
	}
	// The simulator's vocabulary reaches every row of the mapping table.
	for _, combo := range []string{
		`["authentication"]["start"]`, `["authentication"]["end"]`,
		`["iam"]["user","creation"]`, `["iam"]["user","change"]`, `["iam"]["user","deletion"]`,
		`["iam"]["admin","creation"]`, `["iam"]["admin","change"]`, `["iam"]["admin","deletion"]`,
		`["configuration"]["creation"]`, `["configuration"]["change"]`, `["configuration"]["deletion"]`,
		`["configuration"]["access"]`,
	} {
		if seen[combo] == 0 {
			t.Errorf("no simulated document has %s (seen: %v)", combo, seen)
		}
	}
}

// The checker itself: each kind of departure is caught.
func TestECSCheckCatches(t *testing.T) {
	spec := loadECSSpec(t)
	base := `"@timestamp":"2026-11-24T10:15:02.123Z","event":{"kind":"event","category":["iam"],"type":["user","change"],"outcome":"success"}`
	tests := []struct {
		doc, want string
	}{
		{`{` + base + `,"wss":{"audit":{"anything":{"goes":1}}}}`, ""},
		{`{` + base + `,"user":{"name":"a","target":{"name":"b"}},"labels":{"source":"x"},"related":{"ip":["203.0.113.7"]}}`, ""},
		{`{` + base + `,"user":{"nickname":"a"}}`, "user.nickname: not an ECS 8.11 field"},
		{`{` + base + `,"source":{"ip":"not-an-ip"}}`, "source.ip: want an IP address"},
		{`{` + base + `,"source":{"port":"443"}}`, "source.port: want a number"},
		{`{` + base + `,"event":{"kind":"event","category":["iam"],"type":["access"]}}`, "event.type access is not expected"},
		{`{` + base + `,"event":{"kind":"audit","category":["iam"],"type":["user"]}}`, "event.kind \"audit\" is not allowed"},
		{`{` + base + `,"event":{"kind":"event","category":["admin"],"type":["user"]}}`, "event.category admin is not allowed"},
		{`{` + base + `,"event":{"kind":"event","category":["iam"],"type":["user"],"outcome":"partial"}}`, "event.outcome \"partial\" is not allowed"},
		{`{` + base + `,"observer":{"type":{"x":1}}}`, "observer.type: an object"},
		{`{` + base + `,"labels":{"n":1}}`, "labels: n: want a string member"},
	}
	for _, tt := range tests {
		var doc map[string]any
		dec := json.NewDecoder(strings.NewReader(tt.doc))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			t.Fatalf("%s: %v", tt.doc, err)
		}
		probs := strings.Join(spec.check(doc), "; ")
		if (tt.want == "") != (probs == "") || !strings.Contains(probs, tt.want) {
			t.Errorf("%s:\n  problems %q, want one with %q", tt.doc, probs, tt.want)
		}
	}
}
