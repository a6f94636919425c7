package simulator

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// normalEntries is the day's answer without a fault.
func normalEntries(t *testing.T, get func() []byte) []json.RawMessage {
	t.Helper()
	var arr []json.RawMessage
	if err := json.Unmarshal(get(), &arr); err != nil {
		t.Fatal(err)
	}
	return arr
}

func TestHugeRecordFault(t *testing.T) {
	s, srv := startSim(t, baseConfig())
	fetch := func() []byte { _, b := get(t, srv, days(day1, day1)); return b }
	want := normalEntries(t, fetch)
	const size = 3 << 20
	s.InjectFault(Fault{HugeRecord: size, At: 5})
	got := entries(t, "array", fetch())
	if len(got) != len(want)+1 {
		t.Fatalf("%d entries, want %d + 1", len(got), len(want))
	}
	var h bytes.Buffer
	_, _ = io.Copy(&h, HugeRecordJSON(size))
	if len(got[5]) != size || sha256.Sum256(got[5]) != sha256.Sum256(h.Bytes()) {
		t.Fatalf("entry 5 is %d bytes %.80q, want the huge record of %d", len(got[5]), got[5], size)
	}
	if !bytes.Equal(joinRaw(append(got[:5:5], got[6:]...)), joinRaw(want)) {
		t.Error("the other entries changed")
	}
	if log := s.Requests(); log[1].Fault != "huge" {
		t.Errorf("fault logged as %q", log[1].Fault)
	}
	// Past the end of a shorter window it goes last.
	s.InjectFault(Fault{HugeRecord: 100, At: 1 << 30})
	got = entries(t, "array", fetch())
	if len(got) != len(want)+1 || len(got[len(want)]) != 100 {
		t.Fatalf("huge record not last: %d entries", len(got))
	}
}

func TestDeepRecordFault(t *testing.T) {
	s, srv := startSim(t, baseConfig())
	fetch := func() []byte { _, b := get(t, srv, days(day1, day1)); return b }
	want := normalEntries(t, fetch)
	const levels = 100_000
	s.InjectFault(Fault{DeepRecord: levels, At: 2})
	body := fetch()
	deep := DeepRecordJSON(levels)
	// encoding/json refuses 100,000 levels, so compare the text.
	parts := append(append(append([]json.RawMessage{}, want[:2]...), deep), want[2:]...)
	if wantBody := append(append([]byte("["), joinRaw(parts)...), "]\n"...); !bytes.Equal(body, wantBody) {
		t.Fatalf("body (%d bytes) is not the day with the deep record third (%d bytes)", len(body), len(wantBody))
	}
	if n := strings.Count(string(deep), "["); n != levels-1 || json.Valid(deep) {
		t.Errorf("deep record: %d arrays, valid for encoding/json %v", n, json.Valid(deep))
	}
	if small := DeepRecordJSON(3); string(small) != `{"id":"sim-deep-record","nest":[[]]}` {
		t.Errorf("DeepRecordJSON(3) = %s", small)
	}
}

// An endless body goes on past the window's records and ends only when
// the client goes away.
func TestEndlessFault(t *testing.T) {
	s, srv := startSim(t, baseConfig())
	fetch := func() []byte { _, b := get(t, srv, days(day1, day1)); return b }
	normal := len(fetch())
	s.InjectFault(Fault{Endless: true})
	req, _ := http.NewRequest(http.MethodGet, srv.URL+DefaultPath+"?"+days(day1, day1), nil)
	req.SetBasicAuth("user", "pass")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	// Read ten normal days' worth, then check the records are valid ones.
	head := make([]byte, 10*normal)
	if _, err := io.ReadFull(resp.Body, head); err != nil {
		t.Fatalf("after %d bytes: %v", len(head), err)
	}
	resp.Body.Close()
	dec := json.NewDecoder(bytes.NewReader(head))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		t.Fatalf("first token %v %v", tok, err)
	}
	ids := map[string]bool{}
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			break // the cut
		}
		if d := decodeEntry(raw); d.ok {
			ids[d.id] = true
		}
	}
	if len(ids) < 5*len(entries(t, "array", fetch())) {
		t.Fatalf("only %d distinct valid records in ten days' bytes", len(ids))
	}
	// The handler returns once the client is gone: its log entry appears.
	deadline := time.Now().Add(time.Minute)
	for {
		var endless *Request
		for _, r := range s.Requests() {
			if r.Fault == "endless" {
				endless = &r
			}
		}
		if endless != nil {
			if endless.Records <= len(ids)/2 {
				t.Errorf("logged %d records", endless.Records)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the endless handler did not end after the client left")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// flushCounter is a ResponseWriter that records each write and flush.
type flushCounter struct {
	http.ResponseWriter
	writes, flushes int
	bytes.Buffer
}

func (f *flushCounter) Write(p []byte) (int, error) { f.writes++; return f.Buffer.Write(p) }
func (f *flushCounter) Flush()                      { f.flushes++ }

func TestSlowWriter(t *testing.T) {
	fc := &flushCounter{}
	sw := &slowWriter{w: fc, every: time.Microsecond, ctx: context.Background()}
	if n, err := sw.Write([]byte("[1,2]")); n != 5 || err != nil {
		t.Fatalf("n=%d err=%v", n, err)
	}
	if fc.String() != "[1,2]" || fc.writes != 5 || fc.flushes != 5 {
		t.Fatalf("%q in %d writes, %d flushes", fc.String(), fc.writes, fc.flushes)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	sw = &slowWriter{w: &flushCounter{}, every: time.Hour, ctx: ctx}
	if n, err := sw.Write([]byte("abc")); n != 1 || err != errClientGone {
		t.Fatalf("after the client left: n=%d err=%v", n, err)
	}
}

func TestSlowBodyFault(t *testing.T) {
	cfg := baseConfig()
	cfg.Records = 6
	s, srv := startSim(t, cfg)
	_, want := get(t, srv, days(day0, day2))
	s.InjectFault(Fault{SlowBody: time.Microsecond})
	if _, got := get(t, srv, days(day0, day2)); !bytes.Equal(got, want) {
		t.Fatalf("slow body differs:\n%s\n%s", got, want)
	}
	if log := s.Requests(); log[1].Fault != "slow" {
		t.Errorf("fault logged as %q", log[1].Fault)
	}
}

func TestRedirectFault(t *testing.T) {
	s, srv := startSim(t, baseConfig())
	s.InjectFault(Fault{RedirectTo: "http://other.example:8443/api?x=1"})
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, _ := getWith(t, c, srv.URL+DefaultPath+"?"+days(day1, day1), "user", "pass")
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if loc, want := resp.Header.Get("Location"), "http://other.example:8443/api?x=1&"+days(day1, day1); loc != want {
		t.Errorf("Location %q, want %q", loc, want)
	}
	if log := s.Requests(); log[0].Fault != "redirect" || log[0].Status != http.StatusFound {
		t.Errorf("log %+v", log[0])
	}
}

func joinRaw(rs []json.RawMessage) []byte {
	var b []byte
	for i, r := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, r...)
	}
	return b
}
