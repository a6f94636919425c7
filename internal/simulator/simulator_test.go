package simulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no span", func(c *Config) { c.Start, c.End = time.Time{}, time.Time{} }, "Start and End are required"},
		{"end before start", func(c *Config) { c.End = c.Start.Add(-time.Hour) }, "End must be after Start"},
		{"negative records", func(c *Config) { c.Records = -1 }, "Records"},
		{"rate above one", func(c *Config) { c.DuplicateRate = 1.5 }, "DuplicateRate"},
		{"unknown shape", func(c *Config) { c.Shape = "rows" }, "Shape"},
		{"unknown schema", func(c *Config) { c.Schema = "v2" }, "Schema"},
		{"unknown date format", func(c *Config) { c.DateFormat = "unix" }, "DateFormat"},
		{"relative path", func(c *Config) { c.Path = "api" }, "Path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig()
			tt.edit(&cfg)
			_, err := New(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New error = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestDemoConfig(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 30, 0, 0, time.UTC)
	cfg := DemoConfig(now)
	cfg.Now = func() time.Time { return now }
	s, srv := startSim(t, cfg)
	if got := len(s.ValidIDs()); got != 300 {
		t.Fatalf("demo records = %d, want 300", got)
	}
	_, body := getWith(t, srv.Client(), srv.URL+DefaultPath+"?"+days(now.Add(-72*time.Hour), now), "demo", "demo")
	got := validEntries(t, "data", body)
	if len(got) < 150 || len(got) > 260 {
		t.Fatalf("demo served %d records for history up to now, want the ~2.4 days before now", len(got))
	}
	for _, d := range got {
		if d.time.After(now) {
			t.Fatalf("record %s from the future (%v) served at %v", d.id, d.time, now)
		}
	}
}

func TestAuth(t *testing.T) {
	_, srv := startSim(t, baseConfig())
	u := srv.URL + DefaultPath + "?" + days(day1, day1)
	for _, tc := range []struct{ name, user, pass string }{
		{"missing", "", ""},
		{"wrong password", "user", "nope"},
		{"wrong user", "root", "pass"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := getWith(t, srv.Client(), u, tc.user, tc.pass)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status = %d, want 401", resp.StatusCode)
			}
			if resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			var e struct {
				Error   string `json:"error"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
				t.Fatalf("401 body is not a JSON error: %q (%v)", body, err)
			}
		})
	}
	resp, _ := getWith(t, srv.Client(), u, "user", "pass")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("good credentials: status %d", resp.StatusCode)
	}
}

func TestBadRequests(t *testing.T) {
	_, srv := startSim(t, baseConfig())
	for _, q := range []string{
		"",
		"startDate=2026-11-24",
		"endDate=2026-11-24",
		"startDate=yesterday&endDate=2026-11-24",
		"startDate=2026-11-24&endDate=2026-02-30",
		"startDate=2026-11-25&endDate=2026-11-24",
		"startDate=2026-11-24&endDate=2026-11-24&format=XML",
	} {
		resp, body := get(t, srv, q)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%q: status %d, want 400", q, resp.StatusCode)
			continue
		}
		if !json.Valid(body) || !bytes.Contains(body, []byte(`"error"`)) {
			t.Errorf("%q: body is not a JSON error: %s", q, body)
		}
	}
	resp, _ := getWith(t, srv.Client(), srv.URL+"/api/other?"+days(day1, day1), "user", "pass")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("other path: status %d, want 404", resp.StatusCode)
	}
}

func TestDayWindowsAreInclusive(t *testing.T) {
	s, srv := startSim(t, baseConfig())
	count := func(from, to time.Time) int { // facts with from <= time < to
		n := 0
		for f := range s.Facts() {
			if !f.Time.Before(from) && f.Time.Before(to) {
				n++
			}
		}
		return n
	}
	tests := []struct {
		name     string
		query    string
		from, to time.Time
	}{
		{"one day", days(day1, day1), day1, day2},
		{"two days", days(day0, day1), day0, day2},
		{"whole span", days(day0, day2), day0, day3},
		{"before the data", days(day0.AddDate(0, 0, -5), day0.AddDate(0, 0, -1)), day0, day0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, body := get(t, srv, tt.query)
			got := validEntries(t, "array", body)
			for _, d := range got {
				if d.time.Before(tt.from) || !d.time.Before(tt.to) {
					t.Fatalf("record %s at %v outside [%v, %v)", d.id, d.time, tt.from, tt.to)
				}
			}
			if want := count(tt.from, tt.to); len(uniqueIDs(got)) != want {
				t.Fatalf("got %d distinct records, want %d", len(uniqueIDs(got)), want)
			}
		})
	}
}

func uniqueIDs(ds []decoded) map[string]bool {
	m := make(map[string]bool, len(ds))
	for _, d := range ds {
		m[d.id] = true
	}
	return m
}

func TestEpochAndRFC3339WindowsAreHalfOpen(t *testing.T) {
	s, srv := startSim(t, baseConfig())
	var f Fact
	for f = range s.Facts() {
		if f.Index == 1234 {
			break
		}
	}
	at := f.Time
	for _, tc := range []struct {
		name   string
		query  string
		wantIn bool
	}{
		{"epoch starts at it", epochs(at, at.Add(time.Millisecond)), true},
		{"epoch ends at it", epochs(at.Add(-time.Minute), at), false},
		{"rfc3339 starts at it", "startDate=" + url.QueryEscape(at.Format(time.RFC3339Nano)) + "&endDate=" + url.QueryEscape(at.Add(time.Second).Format(time.RFC3339Nano)), true},
		{"rfc3339 ends at it", "startDate=" + url.QueryEscape(at.Add(-time.Second).Format(time.RFC3339Nano)) + "&endDate=" + url.QueryEscape(at.Format(time.RFC3339Nano)), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, body := get(t, srv, tc.query)
			if got := uniqueIDs(validEntries(t, "array", body))[f.ID]; got != tc.wantIn {
				t.Fatalf("record at %v present = %v, want %v (body %.200s)", at, got, tc.wantIn, body)
			}
		})
	}
}

func TestDateFormatSetting(t *testing.T) {
	cfg := baseConfig()
	cfg.DateFormat = "epoch_ms"
	cfg.StartParam, cfg.EndParam = "from", "to"
	_, srv := startSim(t, cfg)
	if resp, _ := get(t, srv, "from=2026-11-24&to=2026-11-24"); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("day dates under epoch_ms: status %d, want 400", resp.StatusCode)
	}
	q := "from=" + fmt.Sprint(day1.UnixMilli()) + "&to=" + fmt.Sprint(day2.UnixMilli())
	if resp, body := get(t, srv, q); resp.StatusCode != http.StatusOK || len(validEntries(t, "array", body)) == 0 {
		t.Fatalf("epoch window with custom params: status %d, %d bytes", resp.StatusCode, len(body))
	}
}

func TestLateRecordsAppearOnlyOnceVisible(t *testing.T) {
	clock := newClock(day1.Add(12 * time.Hour))
	cfg := baseConfig()
	cfg.Records = 5000
	cfg.MaxLateness = 15 * time.Minute
	cfg.Now = clock.Now
	s, srv := startSim(t, cfg)

	seen := map[string]bool{}
	sawOlderAppear := false
	for step := 0; step < 8; step++ {
		now := clock.Now()
		_, body := get(t, srv, days(day1, day1))
		got := uniqueIDs(validEntries(t, "array", body))
		var newest time.Time
		for id := range seen {
			f, _ := s.Fact(id)
			if f.Time.After(newest) {
				newest = f.Time
			}
		}
		for f := range s.Facts() {
			if f.Time.Before(day1) || !f.Time.Before(day2) {
				continue
			}
			visible := !now.Before(f.VisibleAt)
			if got[f.ID] != visible {
				t.Fatalf("at %v record %s (time %v visible %v) served = %v", now, f.ID, f.Time, f.VisibleAt, got[f.ID])
			}
			if visible && !seen[f.ID] && step > 0 && f.Time.Before(newest) {
				sawOlderAppear = true
			}
		}
		for id := range got {
			seen[id] = true
		}
		clock.Set(now.Add(5 * time.Minute))
	}
	if !sawOlderAppear {
		t.Error("no record older than an already served one arrived late")
	}
}

func TestShapesAndSchemasDecode(t *testing.T) {
	for _, shape := range shapes {
		for _, schema := range schemas {
			t.Run(shape+"/"+schema, func(t *testing.T) {
				cfg := baseConfig()
				cfg.Shape, cfg.Schema = shape, schema
				cfg.Records = 1000
				cfg.DuplicateRate, cfg.MalformedRate, cfg.HostileRate = 0.05, 0.05, 0.05
				s, srv := startSim(t, cfg)
				resp, body := get(t, srv, days(day1, day1))
				if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type = %q", ct)
				}
				if resp.ContentLength != -1 {
					t.Errorf("ContentLength = %d, want unknown (streamed)", resp.ContentLength)
				}
				all := entries(t, shape, body)
				log := s.Requests()
				if last := log[len(log)-1]; len(all) != last.Records+last.Malformed || last.Records == 0 {
					t.Fatalf("%d entries, log says %d records + %d malformed", len(all), last.Records, last.Malformed)
				}
				if shape != "array" {
					var obj map[string]json.RawMessage
					_ = json.Unmarshal(body, &obj)
					if len(obj) < 3 {
						t.Errorf("wrapped body has keys %v, want an extra key and meta", keysOf(obj))
					}
					if first := string(body[:20]); strings.HasPrefix(first, `{"`+shape) {
						t.Errorf("no non-record key before the %q array: %s", shape, first)
					}
				}
				// Empty windows: [] for arrays; null and [] alternate when wrapped.
				variants := map[string]bool{}
				for k := 0; k < 2; k++ {
					_, body := get(t, srv, days(day0.AddDate(0, 0, -9), day0.AddDate(0, 0, -8)))
					if got := entries(t, shape, body); len(got) != 0 {
						t.Fatalf("empty window returned %d entries", len(got))
					}
					if shape == "array" {
						if string(bytes.TrimSpace(body)) != "[]" {
							t.Fatalf("empty array body = %q", body)
						}
						continue
					}
					var obj map[string]json.RawMessage
					_ = json.Unmarshal(body, &obj)
					variants[string(obj[shape])] = true
				}
				if shape != "array" && (!variants["null"] || !variants["[]"]) {
					t.Errorf("empty wrapped bodies = %v, want both null and []", variants)
				}
			})
		}
	}
}

func keysOf(m map[string]json.RawMessage) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// Every valid entry decodes (under any candidate key and time format) to the
// ground truth, hostile strings included.
func TestServedRecordsMatchFacts(t *testing.T) {
	for _, schema := range schemas {
		t.Run(schema, func(t *testing.T) {
			cfg := baseConfig()
			cfg.Schema = schema
			cfg.Records = 1500
			cfg.HostileRate = 0.5
			s, srv := startSim(t, cfg)
			_, body := get(t, srv, days(day0, day2))
			got := validEntries(t, "array", body)
			if len(got) != cfg.Records {
				t.Fatalf("%d records served, want %d", len(got), cfg.Records)
			}
			for _, d := range got {
				f, ok := s.Fact(d.id)
				if !ok {
					t.Fatalf("served id %q unknown to Fact", d.id)
				}
				if !d.time.Equal(f.Time) {
					t.Fatalf("%s: served time %v, fact %v", d.id, d.time, f.Time)
				}
				for _, c := range []struct {
					keys []string
					want string
				}{
					{actorKeys, f.UserName}, {ipKeys, f.SourceIP}, {objTypeKeys, f.ObjectType},
					{objNameKeys, f.ObjectName}, {opKeys, f.OperationType}, {statusKeys, f.Status},
					{messageKeys, f.Description},
				} {
					if v := firstOf(d.m, c.keys); v != c.want {
						t.Fatalf("%s: %v = %.80q, want %.80q", d.id, c.keys, v, c.want)
					}
				}
			}
		})
	}
}

func TestRecordsAreByteIdenticalAcrossRequests(t *testing.T) {
	cfg := baseConfig()
	cfg.Schema = "mixed"
	cfg.Records = 1000
	cfg.HostileRate = 0.2
	cfg.DuplicateRate = 0.1
	s, srv := startSim(t, cfg)
	byID := map[string]string{}
	for _, q := range []string{days(day0, day1), days(day1, day2), epochs(day1.Add(6*time.Hour), day1.Add(30*time.Hour))} {
		_, body := get(t, srv, q)
		for _, raw := range entries(t, "array", body) {
			d := decodeEntry(raw)
			if !d.ok {
				continue
			}
			if prev, ok := byID[d.id]; ok && prev != string(raw) {
				t.Fatalf("record %s changed between responses:\n%s\n%s", d.id, prev, raw)
			}
			byID[d.id] = string(raw)
			if want, _ := s.RecordJSON(d.id); string(want) != string(raw) {
				t.Fatalf("RecordJSON(%s) differs from the served bytes", d.id)
			}
		}
	}
	if len(byID) != cfg.Records {
		t.Fatalf("saw %d distinct records, want %d", len(byID), cfg.Records)
	}
}

func TestDeterministicFromSeed(t *testing.T) {
	body := func(seed int64) []byte {
		cfg := baseConfig()
		cfg.Seed = seed
		cfg.Schema, cfg.Shape = "mixed", "items"
		cfg.DuplicateRate, cfg.MalformedRate, cfg.HostileRate = 0.1, 0.1, 0.1
		_, srv := startSim(t, cfg)
		_, b := get(t, srv, days(day0, day2))
		return b
	}
	a, b, c := body(1), body(1), body(2)
	if !bytes.Equal(a, b) {
		t.Fatal("same seed, different bodies")
	}
	if bytes.Equal(a, c) {
		t.Fatal("different seeds, same body")
	}
}

func TestIDsAreUniqueAndResolvable(t *testing.T) {
	s, _ := startSim(t, baseConfig())
	ids := s.ValidIDs()
	seen := map[string]bool{}
	for i, id := range ids {
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		seen[id] = true
		if f, ok := s.Fact(id); !ok || f.Index != i || f.ID != id {
			t.Fatalf("Fact(%s) = %+v, %v", id, f.Index, ok)
		}
	}
	for _, bad := range []string{"", "nope", "ffffffffffffffff", "3C1D450D06656CAE"} {
		if _, ok := s.Fact(bad); ok {
			t.Errorf("Fact(%q) resolved", bad)
		}
	}
}

func TestSortedByTime(t *testing.T) {
	cfg := baseConfig()
	cfg.Schema = "mixed"
	cfg.Records = 30_000 // dense: many records share a second
	cfg.Start, cfg.End = day1, day2
	_, srv := startSim(t, cfg)
	_, body := get(t, srv, days(day1, day1))
	got := validEntries(t, "array", body)
	if len(got) != cfg.Records {
		t.Fatalf("served %d, want %d", len(got), cfg.Records)
	}
	spaceFormat := 0
	for k := 1; k < len(got); k++ {
		if got[k].time.Before(got[k-1].time) {
			t.Fatalf("entry %d at %v before entry %d at %v", k, got[k].time, k-1, got[k-1].time)
		}
		if got[k].time.Nanosecond() == 0 {
			spaceFormat++
		}
	}
	if spaceFormat == 0 {
		t.Error("no seconds-only times in a dense mixed schema")
	}
}

func TestDuplicatesAndMalformedAtConfiguredRates(t *testing.T) {
	cfg := baseConfig()
	cfg.Records = 20_000
	cfg.DuplicateRate, cfg.MalformedRate = 0.05, 0.03
	s, srv := startSim(t, cfg)
	_, body := get(t, srv, days(day0, day2))
	var valid, malformed, dups int
	seen := map[string]bool{}
	kinds := map[string]bool{}
	var prev string
	for _, raw := range entries(t, "array", body) {
		d := decodeEntry(raw)
		if !d.ok {
			malformed++
			kinds[malformedKind(raw)] = true
			continue
		}
		valid++
		if seen[d.id] {
			dups++
			if d.id != prev {
				t.Fatalf("duplicate %s is not adjacent to its first copy", d.id)
			}
		}
		seen[d.id] = true
		prev = d.id
	}
	if len(seen) != cfg.Records {
		t.Fatalf("%d distinct records, want %d", len(seen), cfg.Records)
	}
	within := func(name string, got int, rate float64) {
		want := rate * float64(cfg.Records)
		if float64(got) < want*0.8 || float64(got) > want*1.2 {
			t.Errorf("%s: %d, want about %.0f", name, got, want)
		}
	}
	within("duplicates", dups, cfg.DuplicateRate)
	within("malformed", malformed, cfg.MalformedRate)
	if malformed != s.MalformedCount() {
		t.Errorf("served %d malformed over the whole span, MalformedCount = %d", malformed, s.MalformedCount())
	}
	for _, k := range []string{"string", "number", "array", "no time", "bad time"} {
		if !kinds[k] {
			t.Errorf("no malformed entry of kind %q (got %v)", k, kinds)
		}
	}
}

func malformedKind(raw json.RawMessage) string {
	switch raw[0] {
	case '"':
		return "string"
	case '[':
		return "array"
	case '{':
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		if firstOf(m, timeKeys) == nil {
			return "no time"
		}
		return "bad time"
	}
	return "number"
}

func TestHostileStringsPresent(t *testing.T) {
	cfg := baseConfig()
	cfg.Records = 4000
	cfg.HostileRate = 0.2
	_, srv := startSim(t, cfg)
	_, body := get(t, srv, days(day0, day2))
	var all strings.Builder
	huge := 0
	for _, raw := range entries(t, "array", body) {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		for k, v := range m {
			s, _ := v.(string)
			all.WriteString(k)
			all.WriteString(s)
			if len(s) > 90*1024 {
				huge++
			}
		}
	}
	text := all.String()
	for _, want := range []string{"\n", "\r", `"`, `\`, "\x00", "|", "=", "\n<13>1 ", "🚀", "\u202e", "\u200f", weirdKey} {
		if !strings.Contains(text, want) {
			t.Errorf("no decoded field contains %q", want)
		}
	}
	if huge == 0 {
		t.Error("no ~100 KB field")
	}
	if !bytes.Contains(body, []byte(`\ud83d\ude80`)) {
		t.Error("no surrogate-pair escaped emoji in the raw body")
	}
}

func TestFilters(t *testing.T) {
	s, srv := startSim(t, baseConfig())
	tests := []struct {
		query string
		types []string
		ops   []string
	}{
		{"objectType=PolicyRule", []string{"PolicyRule"}, nil},
		{"objectType=policyrule,REPORT", []string{"PolicyRule", "Report"}, nil},
		{"operationType=Delete&operationType=login", nil, []string{"Delete", "Login"}},
		{"objectType=Agent&operationType=Disable", []string{"Agent"}, []string{"Disable"}},
		{"objectType=NoSuchType", []string{"NoSuchType"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			_, body := get(t, srv, days(day0, day2)+"&"+tt.query)
			got := uniqueIDs(validEntries(t, "array", body))
			want := 0
			for f := range s.Facts() {
				if matches(f.ObjectType, tt.types) && matches(f.OperationType, tt.ops) {
					want++
					if !got[f.ID] {
						t.Fatalf("record %s (%s/%s) missing", f.ID, f.ObjectType, f.OperationType)
					}
				}
			}
			if len(got) != want {
				t.Fatalf("got %d records, want %d", len(got), want)
			}
		})
	}
}

func TestCSV(t *testing.T) {
	cfg := baseConfig()
	cfg.HostileRate = 0.1
	_, srv := startSim(t, cfg)
	resp, body := get(t, srv, days(day1, day1)+"&format=csv")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if !bytes.HasPrefix(body, []byte("timestamp,id,userName,")) {
		t.Fatalf("no CSV header: %.100s", body)
	}
}

func TestRequestLog(t *testing.T) {
	cfg := baseConfig()
	cfg.DuplicateRate, cfg.MalformedRate = 0.1, 0.1
	s, srv := startSim(t, cfg)
	get(t, srv, days(day1, day1)+"&objectType=Report")
	getWith(t, srv.Client(), srv.URL+DefaultPath+"?"+days(day1, day1), "", "")
	get(t, srv, "startDate=bad")
	log := s.Requests()
	if len(log) != 3 {
		t.Fatalf("%d requests logged, want 3", len(log))
	}
	first := log[0]
	if first.Status != 200 || first.Start != "2026-11-24" || first.End != "2026-11-24" ||
		first.Query.Get("objectType") != "Report" || first.Records == 0 || first.Duplicates == 0 && first.Malformed == 0 {
		t.Errorf("first request logged as %+v", first)
	}
	if first.Time != later {
		t.Errorf("logged time %v, want the sim clock %v", first.Time, later)
	}
	if log[1].Status != 401 || log[2].Status != 400 || log[1].Records != 0 {
		t.Errorf("statuses %d, %d; want 401, 400", log[1].Status, log[2].Status)
	}
}
