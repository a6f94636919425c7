package simulator

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

var (
	day0 = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	day1 = day0.Add(24 * time.Hour)
	day2 = day1.Add(24 * time.Hour)
	day3 = day2.Add(24 * time.Hour)
	// far enough after every record for all of them to be visible
	later = day3.Add(30 * 24 * time.Hour)
)

// fakeClock is a settable, race-free sim clock.
type fakeClock struct{ ns atomic.Int64 }

func newClock(t time.Time) *fakeClock {
	c := &fakeClock{}
	c.Set(t)
	return c
}
func (c *fakeClock) Now() time.Time  { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) Set(t time.Time) { c.ns.Store(t.UnixNano()) }

// baseConfig is a clean three-day tenant, every record already visible.
func baseConfig() Config {
	return Config{
		Username: "user", Password: "pass",
		Seed:    7,
		Start:   day0,
		End:     day3,
		Records: 3000,
		Now:     func() time.Time { return later },
	}
}

func startSim(t testing.TB, cfg Config) (*Simulator, *httptest.Server) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

// get performs an authenticated GET of the download path with the raw query.
func get(t testing.TB, srv *httptest.Server, rawQuery string) (*http.Response, []byte) {
	t.Helper()
	return getWith(t, srv.Client(), srv.URL+DefaultPath+"?"+rawQuery, "user", "pass")
}

func getWith(t testing.TB, c *http.Client, url, user, pass string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" || pass != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body of %s: %v", url, err)
	}
	return resp, body
}

func days(from, to time.Time) string {
	return "startDate=" + from.Format(time.DateOnly) + "&endDate=" + to.Format(time.DateOnly)
}

func epochs(from, to time.Time) string {
	return "startDate=" + strconv.FormatInt(from.UnixMilli(), 10) + "&endDate=" + strconv.FormatInt(to.UnixMilli(), 10)
}

// entries decodes a body of any shape into its raw array elements. A null or
// missing array decodes to no entries.
func entries(t testing.TB, shape string, body []byte) []json.RawMessage {
	t.Helper()
	if !json.Valid(body) {
		t.Fatalf("invalid JSON body: %.300s", body)
	}
	var arr []json.RawMessage
	if shape == "array" || shape == "" {
		if err := json.Unmarshal(body, &arr); err != nil {
			t.Fatalf("array shape: %v", err)
		}
		return arr
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		t.Fatalf("%s shape: %v", shape, err)
	}
	raw, ok := obj[shape]
	if !ok {
		t.Fatalf("no %q key in %.300s", shape, body)
	}
	if err := json.Unmarshal(raw, &arr); err != nil {
		t.Fatalf("%s: %v", shape, err)
	}
	return arr
}

// decoded is one entry decoded the way a tolerant client would.
type decoded struct {
	ok   bool // an object with a parseable time
	id   string
	time time.Time
	m    map[string]any
}

func decodeEntry(raw json.RawMessage) decoded {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return decoded{}
	}
	d := decoded{m: m}
	d.id, _ = firstOf(m, idKeys).(string)
	switch v := firstOf(m, timeKeys).(type) {
	case json.Number:
		ms, err := v.Int64()
		if err != nil {
			return d
		}
		d.time, d.ok = time.UnixMilli(ms).UTC(), true
	case string:
		for _, layout := range []string{time.RFC3339Nano, time.DateTime} {
			if tm, err := time.Parse(layout, v); err == nil {
				d.time, d.ok = tm.UTC(), true
				break
			}
		}
	}
	return d
}

func firstOf(m map[string]any, keys []string) any {
	for _, k := range keys {
		if v, ok := m[k]; ok {
			return v
		}
	}
	return nil
}

// validEntries decodes every entry and keeps the valid records.
func validEntries(t testing.TB, shape string, body []byte) []decoded {
	t.Helper()
	var out []decoded
	for _, raw := range entries(t, shape, body) {
		if d := decodeEntry(raw); d.ok {
			out = append(out, d)
		}
	}
	return out
}
