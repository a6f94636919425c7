package wss

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testUser = "api-user-7f3a"
	testPass = "s3cr3t-Pa55w0rd!"
)

var (
	winStart = time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	winEnd   = time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
)

func testConfig(baseURL string) Config {
	return Config{BaseURL: baseURL, Username: testUser, Password: testPass, EndInclusiveDay: true}
}

func newTestClient(t *testing.T, cfg Config, hc *http.Client) *Client {
	t.Helper()
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	c, err := New(cfg, hc)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// collect fetches the test window and returns the compacted records.
func collect(t *testing.T, c *Client) ([]string, int, error) {
	t.Helper()
	var recs []string
	n, err := c.Fetch(context.Background(), winStart, winEnd, func(raw []byte) error {
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			t.Errorf("invalid record %q: %v", raw, err)
		}
		recs = append(recs, b.String())
		return nil
	})
	return recs, n, err
}

func serve(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func TestFetchRequest(t *testing.T) {
	var got *http.Request
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(context.Background())
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `[{"a":1}]`)
	})
	cfg := testConfig(srv.URL + "/")
	cfg.ObjectTypes = []string{"PolicyRule", "User"}
	cfg.OperationTypes = []string{"Delete"}
	c := newTestClient(t, cfg, nil)
	recs, n, err := collect(t, c)
	if err != nil || n != 1 || len(recs) != 1 {
		t.Fatalf("n=%d recs=%q err=%v", n, recs, err)
	}
	if got.Method != http.MethodGet || got.URL.Path != "/api/rest/audit/download" {
		t.Errorf("request %s %s", got.Method, got.URL.Path)
	}
	wantQ := "startDate=2026-11-24&endDate=2026-11-24&format=JSON&objectType=PolicyRule&objectType=User&operationType=Delete"
	if got.URL.RawQuery != wantQ {
		t.Errorf("query %q, want %q", got.URL.RawQuery, wantQ)
	}
	if u, p, ok := got.BasicAuth(); !ok || u != testUser || p != testPass {
		t.Errorf("basic auth = %q %q %v", u, p, ok)
	}
	if a := got.Header.Get("Accept"); a != "application/json" {
		t.Errorf("Accept = %q", a)
	}
	if ua := got.Header.Get("User-Agent"); ua != "auditfwd" {
		t.Errorf("User-Agent = %q", ua)
	}
}

func TestBuildURL(t *testing.T) {
	mid := time.Date(2026, 11, 24, 10, 15, 2, 123456789, time.UTC)
	plus2 := time.FixedZone("+02", 2*3600)
	tests := []struct {
		name       string
		cfg        Config
		start, end time.Time
		want       string
	}{
		{"date inclusive whole day", Config{DateFormat: "date", EndInclusiveDay: true}, winStart, winEnd,
			"https://wss.example/api/rest/audit/download?startDate=2026-11-24&endDate=2026-11-24&format=JSON"},
		{"date exclusive whole day", Config{DateFormat: "date"}, winStart, winEnd,
			"https://wss.example/api/rest/audit/download?startDate=2026-11-24&endDate=2026-11-25&format=JSON"},
		{"date inclusive partial day", Config{EndInclusiveDay: true}, mid, mid.Add(time.Hour),
			"https://wss.example/api/rest/audit/download?startDate=2026-11-24&endDate=2026-11-24&format=JSON"},
		{"date exclusive partial day", Config{}, mid, mid.Add(time.Hour),
			"https://wss.example/api/rest/audit/download?startDate=2026-11-24&endDate=2026-11-25&format=JSON"},
		{"date inclusive across days", Config{EndInclusiveDay: true}, mid, mid.Add(20 * time.Hour),
			"https://wss.example/api/rest/audit/download?startDate=2026-11-24&endDate=2026-11-25&format=JSON"},
		{"date in UTC whatever the zone", Config{EndInclusiveDay: true}, winStart.In(plus2), winEnd.In(plus2),
			"https://wss.example/api/rest/audit/download?startDate=2026-11-24&endDate=2026-11-24&format=JSON"},
		{"epoch_ms", Config{DateFormat: "epoch_ms"}, winStart, winEnd,
			"https://wss.example/api/rest/audit/download?startDate=1795478400000&endDate=1795564800000&format=JSON"},
		{"epoch_ms widens sub-ms bounds", Config{DateFormat: "epoch_ms"}, mid, mid.Add(time.Hour),
			"https://wss.example/api/rest/audit/download?startDate=1795515302123&endDate=1795518902124&format=JSON"},
		{"rfc3339", Config{DateFormat: "rfc3339"}, winStart.In(plus2), winEnd,
			"https://wss.example/api/rest/audit/download?startDate=2026-11-24T00%3A00%3A00Z&endDate=2026-11-25T00%3A00%3A00Z&format=JSON"},
		{"rfc3339 widens sub-second bounds", Config{DateFormat: "RFC3339"}, mid, mid.Add(time.Hour),
			"https://wss.example/api/rest/audit/download?startDate=2026-11-24T10%3A15%3A02Z&endDate=2026-11-24T11%3A15%3A03Z&format=JSON"},
		{"filters repeat", Config{EndInclusiveDay: true, ObjectTypes: []string{"PolicyRule", "User"}, OperationTypes: []string{"Delete", "Login"}}, winStart, winEnd,
			"https://wss.example/api/rest/audit/download?startDate=2026-11-24&endDate=2026-11-24&format=JSON&objectType=PolicyRule&objectType=User&operationType=Delete&operationType=Login"},
		{"filters comma", Config{EndInclusiveDay: true, FilterStyle: "comma", ObjectTypes: []string{"PolicyRule", "User"}, OperationTypes: []string{"Delete"}}, winStart, winEnd,
			"https://wss.example/api/rest/audit/download?startDate=2026-11-24&endDate=2026-11-24&format=JSON&objectType=PolicyRule,User&operationType=Delete"},
		{"filter values escaped, blanks dropped", Config{EndInclusiveDay: true, ObjectTypes: []string{"Policy Rule&x", " ", ""}}, winStart, winEnd,
			"https://wss.example/api/rest/audit/download?startDate=2026-11-24&endDate=2026-11-24&format=JSON&objectType=Policy+Rule%26x"},
		{"custom names", Config{EndInclusiveDay: true, Path: "v2/audit", StartParam: "from", EndParam: "to", FormatParam: "fmt", Format: "json",
			ObjectTypeParam: "type", OperationTypeParam: "op", ObjectTypes: []string{"Report"}, OperationTypes: []string{"Execute"}}, winStart, winEnd,
			"https://wss.example/v2/audit?from=2026-11-24&to=2026-11-24&fmt=json&type=Report&op=Execute"},
		{"base path and query kept", Config{BaseURL: "https://wss.example/prefix/?tenant=42", EndInclusiveDay: true}, winStart, winEnd,
			"https://wss.example/prefix/api/rest/audit/download?tenant=42&startDate=2026-11-24&endDate=2026-11-24&format=JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			if cfg.BaseURL == "" {
				cfg.BaseURL = "https://wss.example"
			}
			cfg.Username, cfg.Password = testUser, testPass
			c := newTestClient(t, cfg, nil)
			got := c.BuildURL(tc.start, tc.end)
			if got != tc.want {
				t.Errorf("BuildURL\n got  %s\n want %s", got, tc.want)
			}
			if strings.Contains(got, testPass) || strings.Contains(got, testUser) {
				t.Errorf("URL carries a credential: %s", got)
			}
		})
	}
}

func TestFetchBodies(t *testing.T) {
	huge := `{"blob":"` + strings.Repeat(`ab]}\"\\c`, 128<<10) + `"}` // 1 MiB
	tests := []struct {
		name, path, body string
		want             []string
	}{
		{"array", "", `[{"a":1},{"b":"x"}]`, []string{`{"a":1}`, `{"b":"x"}`}},
		{"empty body", "", ``, nil},
		{"null", "", "null\n", nil},
		{"empty array", "", `[]`, nil},
		{"data null", "", `{"data": null}`, nil},
		{"data", "", `{"data":[1]}`, []string{`1`}},
		{"records", "", `{"records":[1]}`, []string{`1`}},
		{"auditLogs", "", `{"auditLogs":[1]}`, []string{`1`}},
		{"items", "", `{"items":[1]}`, []string{`1`}},
		{"results", "", `{"results":[1]}`, []string{`1`}},
		{"meta before and after", "", `{"meta":{"items":[9]},"data":[{"n":[1,[2]]}],"paging":{"more":false}}`, []string{`{"n":[1,[2]]}`}},
		{"records_path", "result.items", `{"result":{"items":[{"a":"]"}]}}`, []string{`{"a":"]"}`}},
		{"huge record", "", `[` + huge + `,{"after":true}]`, []string{huge, `{"after":true}`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, tc.body)
			})
			cfg := testConfig(srv.URL)
			cfg.RecordsPath = tc.path
			recs, n, err := collect(t, newTestClient(t, cfg, nil))
			if err != nil {
				t.Fatal(err)
			}
			if n != len(tc.want) || fmt.Sprint(recs) != fmt.Sprint(tc.want) {
				t.Fatalf("n=%d records %.100q, want %.100q", n, recs, tc.want)
			}
		})
	}
}

func TestFetchManyRecordsChunked(t *testing.T) {
	const records = 20000
	body := auditBody(records)
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		// Odd-sized flushed writes: chunked transfer, records cut anywhere.
		for b := body; len(b) > 0; {
			k := min(len(b), 4093)
			w.Write(b[:k])
			w.(http.Flusher).Flush()
			b = b[k:]
		}
	})
	_, n, err := collect(t, newTestClient(t, testConfig(srv.URL), nil))
	if err != nil || n != records {
		t.Fatalf("n=%d err=%v", n, err)
	}
}

func TestFetchStatusErrors(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		status    int
		header    map[string]string
		body      string
		check     func(t *testing.T, err error)
		retryable bool
	}{
		{"401", 401, nil, `{"error":"Unauthorized"}`, func(t *testing.T, err error) {
			var ae *AuthError
			if !errors.As(err, &ae) || ae.Status != 401 ||
				!strings.HasPrefix(ae.Msg, "WSS API rejected the credential (401): check username/password or whether the API credential expired") ||
				!strings.Contains(ae.Msg, "Unauthorized") {
				t.Errorf("got %T %v", err, err)
			}
		}, false},
		{"403", 403, nil, ``, func(t *testing.T, err error) {
			var ae *AuthError
			if !errors.As(err, &ae) || ae.Status != 403 || !strings.Contains(ae.Msg, `lacks the "Audit Logs" access`) {
				t.Errorf("got %T %v", err, err)
			}
		}, false},
		{"429 seconds", 429, map[string]string{"Retry-After": "120"}, `slow down`, func(t *testing.T, err error) {
			var re *RateLimitError
			if !errors.As(err, &re) || re.Status != 429 || re.RetryAfter != 120*time.Second {
				t.Errorf("got %T %v", err, err)
			}
		}, true},
		{"429 http-date", 429, map[string]string{"Retry-After": now.Add(5 * time.Minute).Format(http.TimeFormat)}, ``, func(t *testing.T, err error) {
			var re *RateLimitError
			if !errors.As(err, &re) || re.RetryAfter != 5*time.Minute {
				t.Errorf("got %T %v", err, err)
			}
		}, true},
		{"429 past http-date", 429, map[string]string{"Retry-After": now.Add(-time.Minute).Format(http.TimeFormat)}, ``, func(t *testing.T, err error) {
			var re *RateLimitError
			if !errors.As(err, &re) || re.RetryAfter != 0 {
				t.Errorf("got %T %v", err, err)
			}
		}, true},
		{"429 without Retry-After", 429, nil, ``, func(t *testing.T, err error) {
			var re *RateLimitError
			if !errors.As(err, &re) || re.RetryAfter != 0 {
				t.Errorf("got %T %v", err, err)
			}
		}, true},
		{"503 with Retry-After", 503, map[string]string{"Retry-After": "7"}, ``, func(t *testing.T, err error) {
			var re *RateLimitError
			if !errors.As(err, &re) || re.Status != 503 || re.RetryAfter != 7*time.Second {
				t.Errorf("got %T %v", err, err)
			}
		}, true},
		{"503", 503, nil, `<html><title>503 Service Unavailable</title></html>`, func(t *testing.T, err error) {
			var se *StatusError
			if !errors.As(err, &se) || se.Status != 503 || !se.Temporary() || !strings.Contains(se.Body, "503 Service Unavailable") {
				t.Errorf("got %T %v", err, err)
			}
		}, true},
		{"500", 500, nil, "Internal error\nat line 3\x1b[0m", func(t *testing.T, err error) {
			var se *StatusError
			if !errors.As(err, &se) || se.Status != 500 || !se.Temporary() || se.Body != "Internal error at line 3 [0m" {
				t.Errorf("got %T %v (body %q)", err, err, se.Body)
			}
		}, true},
		{"408", 408, nil, ``, func(t *testing.T, err error) {
			var se *StatusError
			if !errors.As(err, &se) || !se.Temporary() {
				t.Errorf("got %T %v", err, err)
			}
		}, true},
		{"400", 400, nil, `{"error":"unknown parameter startDate"}`, func(t *testing.T, err error) {
			var se *StatusError
			if !errors.As(err, &se) || se.Temporary() || !strings.Contains(err.Error(), "unknown parameter startDate") ||
				!strings.Contains(err.Error(), "parameter names") {
				t.Errorf("got %T %v", err, err)
			}
		}, false},
		{"404", 404, nil, strings.Repeat("not found ", 200), func(t *testing.T, err error) {
			var se *StatusError
			if !errors.As(err, &se) || se.Temporary() || len(se.Body) > 512 || !strings.Contains(err.Error(), "path") {
				t.Errorf("got %T %v (%d-byte body)", err, err, len(se.Body))
			}
		}, false},
		{"echoed credential redacted", 500, nil, "you sent " + testPass + " / Basic " +
			"YXBpLXVzZXItN2YzYTpzM2NyM3QtUGE1NXcwcmQh", func(t *testing.T, err error) {
			if strings.Contains(err.Error(), testPass) || strings.Contains(err.Error(), "YXBpLXVzZXItN2YzYTpzM2NyM3QtUGE1NXcwcmQh") ||
				!strings.Contains(err.Error(), "[REDACTED]") {
				t.Errorf("credential not redacted: %v", err)
			}
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			})
			c := newTestClient(t, testConfig(srv.URL), nil)
			c.now = func() time.Time { return now }
			n, err := c.Fetch(context.Background(), winStart, winEnd, func([]byte) error {
				t.Error("fn called for an error response")
				return nil
			})
			if err == nil || n != 0 {
				t.Fatalf("n=%d err=%v", n, err)
			}
			tc.check(t, err)
			if got := Retryable(err); got != tc.retryable {
				t.Errorf("Retryable(%v) = %v, want %v", err, got, tc.retryable)
			}
			if strings.Contains(err.Error(), testPass) {
				t.Errorf("error leaks the password: %v", err)
			}
		})
	}
}

func TestFetchBodyFaults(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    []string // substrings
		recs    int
	}{
		{"html with 200", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, "<!doctype html><html><head><title>Corporate Proxy Login</title></head><body>Sign in</body></html>")
		}, []string{"got HTML, not JSON (a proxy or login page?)", "Corporate Proxy Login", `Content-Type "text/html; charset=utf-8"`}, 0},
		{"csv with 200", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/csv")
			io.WriteString(w, "time,user\n2026-11-24,admin\n")
		}, []string{"not JSON", "text/csv"}, 0},
		{"error object with 200", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"status":"error","errorMessage":"Internal failure, try later"}`)
		}, []string{"error object", "Internal failure, try later"}, 0},
		{"no records key", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"meta":{},"rows":[1]}`)
		}, []string{`"meta"`, `"rows"`, "records_path"}, 0},
		{"truncated by content-length", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1000")
			io.WriteString(w, `[{"a":1},{"b":2},{"c":`)
		}, []string{"unexpected EOF"}, 2},
		{"truncated json, clean end", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `[{"a":1},{"b":2},{"c":`)
		}, []string{"truncated"}, 2},
		{"trailing garbage", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `[{"a":1}]</body>`)
		}, []string{"trailing data"}, 1},
		{"connection reset mid-body", func(w http.ResponseWriter, r *http.Request) {
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
			chunk := `[{"a":1},{"b":2},{"c":"partial`
			fmt.Fprintf(buf, "%x\r\n%s\r\n", len(chunk), chunk)
			buf.Flush()
			time.Sleep(50 * time.Millisecond)
			conn.(*net.TCPConn).SetLinger(0) // close with RST
			conn.Close()
		}, []string{"reading the body failed"}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := serve(t, tc.handler)
			_, n, err := collect(t, newTestClient(t, testConfig(srv.URL), nil))
			var be *BodyError
			if !errors.As(err, &be) {
				t.Fatalf("err = %T %v, want *BodyError", err, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if !Retryable(err) {
				t.Errorf("Retryable(%v) = false", err)
			}
			if n != tc.recs {
				t.Errorf("n = %d, want %d", n, tc.recs)
			}
		})
	}
}

// stallHandler sends the start of a body, then hangs until the client
// gives up.
func stallHandler(w http.ResponseWriter, r *http.Request) {
	io.WriteString(w, `[{"a":1},`)
	w.(http.Flusher).Flush()
	select {
	case <-r.Context().Done():
	case <-time.After(10 * time.Second):
	}
}

func TestFetchClientTimeout(t *testing.T) {
	t.Run("headers", func(t *testing.T) {
		srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		})
		c := newTestClient(t, testConfig(srv.URL), &http.Client{Timeout: 200 * time.Millisecond})
		_, _, err := collect(t, c)
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() || !Retryable(err) {
			t.Fatalf("err = %T %v; want a retryable timeout", err, err)
		}
	})
	t.Run("body", func(t *testing.T) {
		srv := serve(t, stallHandler)
		c := newTestClient(t, testConfig(srv.URL), &http.Client{Timeout: 300 * time.Millisecond})
		_, n, err := collect(t, c)
		if err == nil || !Retryable(err) || n != 1 {
			t.Fatalf("n=%d err = %T %v; want a retryable error after 1 record", n, err, err)
		}
	})
	t.Run("default client stall", func(t *testing.T) {
		srv := serve(t, stallHandler)
		c, err := New(testConfig(srv.URL), nil)
		if err != nil {
			t.Fatal(err)
		}
		c.idle = 200 * time.Millisecond
		_, n, err := collect(t, c)
		var be *BodyError
		var ne net.Error
		if !errors.As(err, &be) || !errors.As(err, &ne) || !ne.Timeout() || !Retryable(err) || n != 1 {
			t.Fatalf("n=%d err = %T %v; want a retryable stall BodyError after 1 record", n, err, err)
		}
	})
	t.Run("default client no headers", func(t *testing.T) {
		srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		})
		c, err := New(testConfig(srv.URL), nil)
		if err != nil {
			t.Fatal(err)
		}
		c.idle = 200 * time.Millisecond
		_, _, err = collect(t, c)
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() || !Retryable(err) {
			t.Fatalf("err = %T %v; want a retryable timeout", err, err)
		}
	})
	t.Run("default client slow callback is no stall", func(t *testing.T) {
		srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `[1,`)
			w.(http.Flusher).Flush()
			time.Sleep(20 * time.Millisecond)
			io.WriteString(w, `2,3]`)
		})
		c, err := New(testConfig(srv.URL), nil)
		if err != nil {
			t.Fatal(err)
		}
		c.idle = 100 * time.Millisecond
		n, err := c.Fetch(context.Background(), winStart, winEnd, func([]byte) error {
			time.Sleep(150 * time.Millisecond)
			return nil
		})
		if err != nil || n != 3 {
			t.Fatalf("n=%d err=%v", n, err)
		}
	})
	t.Run("default client slow but moving", func(t *testing.T) {
		srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "[1")
			for i := 2; i <= 8; i++ {
				w.(http.Flusher).Flush()
				time.Sleep(60 * time.Millisecond)
				fmt.Fprintf(w, ",%d", i)
			}
			io.WriteString(w, "]")
		})
		c, err := New(testConfig(srv.URL), nil)
		if err != nil {
			t.Fatal(err)
		}
		c.idle = 200 * time.Millisecond // shorter than the transfer, longer than each pause
		if _, n, err := collect(t, c); err != nil || n != 8 {
			t.Fatalf("n=%d err=%v", n, err)
		}
	})
}

func TestFetchCallbackError(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `[1,2,3,4,5]`) })
	c := newTestClient(t, testConfig(srv.URL), nil)
	sink := errors.New("output full")
	calls := 0
	n, err := c.Fetch(context.Background(), winStart, winEnd, func([]byte) error {
		if calls++; calls == 3 {
			return sink
		}
		return nil
	})
	if err != sink || n != 2 || Retryable(err) {
		t.Fatalf("n=%d err=%v retryable=%v; want the callback's error unchanged after 2", n, err, Retryable(err))
	}
}

func TestFetchContextCancel(t *testing.T) {
	t.Run("from the callback", func(t *testing.T) {
		body := auditBody(5000)
		srv := serve(t, func(w http.ResponseWriter, r *http.Request) { w.Write(body) })
		c := newTestClient(t, testConfig(srv.URL), nil)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		n, err := c.Fetch(ctx, winStart, winEnd, func([]byte) error {
			cancel() // the body is already buffered: Fetch must notice anyway
			return nil
		})
		if !errors.Is(err, context.Canceled) || Retryable(err) || n >= 5000 {
			t.Fatalf("n=%d err=%v", n, err)
		}
	})
	t.Run("while the body stalls", func(t *testing.T) {
		srv := serve(t, stallHandler)
		c := newTestClient(t, testConfig(srv.URL), nil)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		n, err := c.Fetch(ctx, winStart, winEnd, func([]byte) error { return nil })
		if !errors.Is(err, context.Canceled) || Retryable(err) || n != 1 {
			t.Fatalf("n=%d err=%v", n, err)
		}
	})
	t.Run("before the request", func(t *testing.T) {
		var hits atomic.Int32
		srv := serve(t, func(w http.ResponseWriter, r *http.Request) { hits.Add(1) })
		c := newTestClient(t, testConfig(srv.URL), nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := c.Fetch(ctx, winStart, winEnd, nil)
		if !errors.Is(err, context.Canceled) || Retryable(err) || hits.Load() != 0 {
			t.Fatalf("err=%v hits=%d", err, hits.Load())
		}
	})
	t.Run("deadline", func(t *testing.T) {
		srv := serve(t, stallHandler)
		c := newTestClient(t, testConfig(srv.URL), nil)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := c.Fetch(ctx, winStart, winEnd, nil)
		if !errors.Is(err, context.DeadlineExceeded) || !Retryable(err) {
			t.Fatalf("err=%v", err)
		}
	})
}

func TestFetchConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := newTestClient(t, testConfig("http://"+addr), nil)
	_, _, err = collect(t, c)
	if err == nil || !Retryable(err) || strings.Contains(err.Error(), testPass) {
		t.Fatalf("err=%v retryable=%v", err, Retryable(err))
	}
}

func TestFetchUntrustedCertificate(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `[]`) }))
	defer srv.Close()
	c := newTestClient(t, testConfig(srv.URL), nil) // no CA for the test server
	_, _, err := collect(t, c)
	if err == nil || Retryable(err) {
		t.Fatalf("err=%v retryable=%v; want a non-retryable certificate error", err, Retryable(err))
	}
	// With the server's CA (the caller's TLS settings) it works.
	c = newTestClient(t, testConfig(srv.URL), srv.Client())
	if _, _, err := collect(t, c); err != nil {
		t.Fatal(err)
	}
}

func TestFetchEmptyWindow(t *testing.T) {
	c := newTestClient(t, testConfig("https://wss.example"), nil)
	if _, err := c.Fetch(context.Background(), winEnd, winStart, nil); err == nil || Retryable(err) {
		t.Fatalf("err=%v", err)
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"csv", Config{BaseURL: "https://x", Format: "CSV"}, []string{"only JSON"}},
		{"no base url", Config{}, []string{"base_url is empty"}},
		{"bad scheme", Config{BaseURL: "ftp://x"}, []string{"scheme"}},
		{"no host", Config{BaseURL: "https://"}, []string{"no host"}},
		{"credentials in url", Config{BaseURL: "https://u:" + testPass + "@x"}, []string{"must not carry credentials"}},
		{"date format", Config{BaseURL: "https://x", DateFormat: "unix"}, []string{`date_format "unix"`}},
		{"filter style", Config{BaseURL: "https://x", FilterStyle: "pipe"}, []string{`filter_style "pipe"`}},
		{"records path", Config{BaseURL: "https://x", RecordsPath: "a..b"}, []string{"empty segment"}},
		{"same params", Config{BaseURL: "https://x", StartParam: "d", EndParam: "d"}, []string{"both"}},
		{"all at once", Config{Format: "CSV", DateFormat: "x"}, []string{"base_url", "only JSON", "date_format"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg, nil)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), testPass) {
				t.Errorf("error leaks the password: %v", err)
			}
		})
	}
}

func TestWithDefaults(t *testing.T) {
	got := Config{BaseURL: "https://x"}.WithDefaults()
	want := Config{BaseURL: "https://x", Path: "/api/rest/audit/download", DateFormat: "date", StartParam: "startDate",
		EndParam: "endDate", Format: "JSON", FormatParam: "format", ObjectTypeParam: "objectType",
		OperationTypeParam: "operationType", FilterStyle: "repeat", UserAgent: "auditfwd", MaxRecordBytes: 8 << 20,
		MaxRecordDepth: 1000, WindowTimeout: 30 * time.Minute, MaxWindowRecords: 5_000_000, ProgressEvery: 30 * time.Second}
	if fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", want) {
		t.Errorf("WithDefaults\n got  %#v\n want %#v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Error(err)
	}
}

func TestRetryAfterParse(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"30", 30 * time.Second},
		{" 300 ", 5 * time.Minute},
		{"-5", 0},
		{"1.5", 1500 * time.Millisecond},
		{"99999999999999999999", maxRetryAfter},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"Tue, 24 Nov 2026 12:02:00 GMT", 2 * time.Minute},
		{"Tuesday, 24-Nov-26 12:00:10 GMT", 10 * time.Second}, // RFC 850
		{"soon", 0},
	}
	for _, tc := range tests {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestRetryable(t *testing.T) {
	timeout := &net.OpError{Op: "read", Net: "tcp", Err: &timeoutErr{}}
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{&AuthError{Status: 401}, false},
		{&RateLimitError{Status: 429}, true},
		{&StatusError{Status: 500}, true},
		{&StatusError{Status: 502}, true},
		{&StatusError{Status: 408}, true},
		{&StatusError{Status: 400}, false},
		{&StatusError{Status: 404}, false},
		{&BodyError{Msg: "x"}, true},
		{&LimitError{Setting: "window_timeout"}, false},
		{fmt.Errorf("w: %w", &LimitError{Setting: "max_window_records"}), false},
		{fmt.Errorf("wrapped: %w", &BodyError{Msg: "x"}), true},
		{fmt.Errorf("wrapped: %w", &AuthError{Status: 403}), false},
		{io.ErrUnexpectedEOF, true},
		{fmt.Errorf("x: %w", io.ErrUnexpectedEOF), true},
		{timeout, true},
		{fmt.Errorf("request: %w", timeout), true},
		{context.Canceled, false},
		{fmt.Errorf("x: %w", context.Canceled), false},
		{context.DeadlineExceeded, true},
		{errors.New("some callback error"), false},
		{strconv.ErrSyntax, false},
	}
	for _, tc := range tests {
		if got := Retryable(tc.err); got != tc.want {
			t.Errorf("Retryable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

type timeoutErr struct{}

func (*timeoutErr) Error() string   { return "i/o timeout" }
func (*timeoutErr) Timeout() bool   { return true }
func (*timeoutErr) Temporary() bool { return true }
