package simulator

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestStatusFaults(t *testing.T) {
	httpDate := time.Date(2026, 11, 24, 10, 20, 0, 0, time.UTC).Format(http.TimeFormat)
	tests := []struct {
		name       string
		fault      Fault
		wantStatus int
		wantRetry  string
		wantCT     string
		wantBody   string // substring
	}{
		{"429 seconds", Fault{Status: 429, RetryAfter: "2"}, 429, "2", "application/json", `"error"`},
		{"503 http date", Fault{Status: 503, RetryAfter: httpDate}, 503, httpDate, "application/json", `"error"`},
		{"401 expired credential", Fault{Status: 401}, 401, "", "application/json", `"error"`},
		{"403 no audit access", Fault{Status: 403}, 403, "", "application/json", `"error"`},
		{"500", Fault{Status: 500}, 500, "", "application/json", `"error"`},
		{"html with 200", Fault{Body: "<html><body>Maintenance</body></html>"}, 200, "", "text/html; charset=utf-8", "Maintenance"},
		{"html with 502", Fault{Status: 502, Body: "<html>Bad Gateway</html>"}, 502, "", "text/html; charset=utf-8", "Bad Gateway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, srv := startSim(t, baseConfig())
			s.InjectFault(tt.fault)
			resp, body := get(t, srv, days(day1, day1))
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if got := resp.Header.Get("Retry-After"); got != tt.wantRetry {
				t.Errorf("Retry-After = %q, want %q", got, tt.wantRetry)
			}
			if got := resp.Header.Get("Content-Type"); got != tt.wantCT {
				t.Errorf("Content-Type = %q, want %q", got, tt.wantCT)
			}
			if !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("body %q lacks %q", body, tt.wantBody)
			}
			if resp, _ := get(t, srv, days(day1, day1)); resp.StatusCode != 200 {
				t.Errorf("fault not cleared: next status %d", resp.StatusCode)
			}
			if log := s.Requests(); log[0].Fault != "status" || log[0].Status != tt.wantStatus || log[1].Fault != "" {
				t.Errorf("log = %+v", log)
			}
		})
	}
}

func TestFaultsApplyTimesThenInOrder(t *testing.T) {
	s, srv := startSim(t, baseConfig())
	s.InjectFault(Fault{Status: 500, Times: 2})
	s.InjectFault(Fault{Times: 2}) // a pause: two normal answers
	s.InjectFault(Fault{Status: 429, RetryAfter: "1"})
	var got []int
	for k := 0; k < 6; k++ {
		resp, _ := get(t, srv, days(day1, day1))
		got = append(got, resp.StatusCode)
	}
	if want := []int{500, 500, 200, 200, 429, 200}; !equalInts(got, want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
	s.InjectFault(Fault{Status: 500})
	s.ClearFaults()
	if resp, _ := get(t, srv, days(day1, day1)); resp.StatusCode != 200 {
		t.Fatalf("after ClearFaults: %d", resp.StatusCode)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestResetFaultBreaksBodyMidRead(t *testing.T) {
	for _, shape := range []string{"array", "data"} {
		t.Run(shape, func(t *testing.T) {
			cfg := baseConfig()
			cfg.Shape = shape
			s, srv := startSim(t, cfg)
			s.InjectFault(Fault{ResetAfter: 10})
			req, _ := http.NewRequest(http.MethodGet, srv.URL+DefaultPath+"?"+days(day1, day1), nil)
			req.SetBasicAuth("user", "pass")
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatalf("headers should arrive: %v", err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("status %d, want 200", resp.StatusCode)
			}
			body, err := io.ReadAll(resp.Body)
			if err == nil {
				t.Fatalf("read the whole body (%d bytes) without error", len(body))
			}
			if len(body) == 0 {
				t.Fatal("no bytes before the reset")
			}
			if json.Valid(body) {
				t.Fatal("partial body is valid JSON")
			}
			log := s.Requests()
			if !log[0].Aborted || log[0].Records < 10 || log[0].Fault != "reset" {
				t.Fatalf("log = %+v", log[0])
			}
			if resp, _ := get(t, srv, days(day1, day1)); resp.StatusCode != 200 {
				t.Fatalf("next request: %d", resp.StatusCode)
			}
		})
	}
}

func TestTruncateFaultGivesInvalidJSON(t *testing.T) {
	for _, window := range []string{days(day1, day1), days(day0.AddDate(0, 0, -3), day0.AddDate(0, 0, -2))} {
		s, srv := startSim(t, baseConfig())
		s.InjectFault(Fault{Truncate: true})
		resp, body := get(t, srv, window) // fails the test on a read error
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if json.Valid(body) || len(body) == 0 {
			t.Fatalf("truncated body is valid JSON or empty: %.100q", body)
		}
		if b := bytes.TrimSpace(body); b[len(b)-1] == '}' || b[len(b)-1] == ']' {
			t.Fatalf("body ends on a whole record, not mid-record: ...%q", b[max(0, len(b)-60):])
		}
		if log := s.Requests(); !log[0].Truncated {
			t.Fatalf("log = %+v", log[0])
		}
		_, body = get(t, srv, window)
		if !json.Valid(body) {
			t.Fatal("body still truncated after the fault")
		}
	}
}

func TestDelayFault(t *testing.T) {
	s, srv := startSim(t, baseConfig())
	impatient := &http.Client{Timeout: 100 * time.Millisecond}
	s.InjectFault(Fault{Delay: 5 * time.Second})
	req, _ := http.NewRequest(http.MethodGet, srv.URL+DefaultPath+"?"+days(day1, day1), nil)
	req.SetBasicAuth("user", "pass")
	start := time.Now()
	if resp, err := impatient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("client did not time out")
	}
	if time.Since(start) > 30*time.Second {
		t.Fatal("timeout took too long")
	}
	// The server notices the client left and logs status 0.
	deadline := time.Now().Add(3 * time.Second)
	for len(s.Requests()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if log := s.Requests(); len(log) != 1 || log[0].Status != 0 || log[0].Fault != "delay" {
		t.Fatalf("log = %+v", log)
	}

	s.InjectFault(Fault{Delay: 150 * time.Millisecond})
	start = time.Now()
	resp, body := get(t, srv, days(day1, day1))
	if resp.StatusCode != 200 || !json.Valid(body) || time.Since(start) < 150*time.Millisecond {
		t.Fatalf("delayed answer: status %d after %v", resp.StatusCode, time.Since(start))
	}
}
