package wssaccess

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditfwd/auditfwd/internal/simulator"
	"github.com/auditfwd/auditfwd/internal/source/wss"
)

// Paging with more until done delivers every line of the range once, then
// a poll with the done token is trailer-only with the same token.
func TestFetchPagesUntilDone(t *testing.T) {
	e := newEnv(t, nil, nil)
	want := e.sim.SyncLineHashes(day0, e.clock.Now().Add(time.Millisecond))
	if len(want) != 421 { // 3.5 h of 120 lines, the line at now included
		t.Fatalf("ground truth has %d lines", len(want))
	}
	got := map[[32]byte]int{}
	fieldsSeen := map[string]bool{}
	tok, pages := NoToken, 0
	for {
		resp, err := e.fetch(t, Request{Start: day0, Token: tok})
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		pages++
		if resp.ZipSize == 0 || resp.ZipSize >= resp.Size {
			t.Fatalf("page %d: zip %d of %d bytes", pages, resp.ZipSize, resp.Size)
		}
		if fi, err := os.Stat(resp.Path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("spool file %v mode %v", err, fi.Mode())
		}
		lines, fields := readArchive(t, resp.Archive(), resp.ZipSize)
		for _, l := range lines {
			got[hashOf(l)]++
		}
		for _, f := range fields {
			fieldsSeen[f] = true
		}
		if resp.Token == tok {
			t.Fatalf("page %d: the token did not move", pages)
		}
		tok = resp.Token
		path := resp.Path
		resp.Close()
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Fatalf("spool file left after Close: %v", err)
		}
		if resp.Status == StatusDone {
			break
		}
		if resp.Status != StatusMore || pages > 10 {
			t.Fatalf("page %d: status %q", pages, resp.Status)
		}
	}
	if pages != 5 {
		t.Errorf("%d pages, want 5 of at most 100 lines", pages)
	}
	for h, n := range got {
		if _, ok := want[h]; !ok || n != 1 {
			t.Fatalf("a line served %d times, in the ground truth: %v", n, ok)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d distinct lines, want %d", len(got), len(want))
	}
	if len(fieldsSeen) != 2 {
		t.Errorf("#Fields orders seen: %d, want 2 (FieldsChange)", len(fieldsSeen))
	}

	resp, err := e.fetch(t, Request{Start: day0, Token: tok})
	if err != nil {
		t.Fatal(err)
	}
	if resp.ZipSize != 0 || resp.Status != StatusDone || resp.Token != tok {
		t.Fatalf("caught up: zip %d status %q token changed %v", resp.ZipSize, resp.Status, resp.Token != tok)
	}
	if resp.Size > 200 {
		t.Errorf("trailer-only body of %d bytes", resp.Size)
	}
}

func TestFetchPartialZipRestarts(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.sim.InjectFault(simulator.SyncFault{Partial: true})
	_, err := e.fetch(t, Request{Start: day0})
	var pe *PartialArchiveError
	if !errors.As(err, &pe) || !pe.HasTrailer || pe.Size != 203 {
		t.Fatalf("got %v, want a partial ZIP of 203 bytes with trailer", err)
	}
	if a, _ := Advise(err); a != Restart {
		t.Errorf("advice %v, want restart", a)
	}
	assertSpoolEmpty(t, e.dir)
}

func TestFetchNoTrailerRepeats(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.sim.InjectFault(simulator.SyncFault{NoTrailer: true})
	_, err := e.fetch(t, Request{Start: day0})
	var te *TrailerError
	if !errors.As(err, &te) {
		t.Fatalf("got %v, want a *TrailerError", err)
	}
	if a, _ := Advise(err); a != Repeat {
		t.Errorf("advice %v, want repeat", a)
	}
	assertSpoolEmpty(t, e.dir)
}

func TestFetchAbortDiscards(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.sim.InjectFault(simulator.SyncFault{Abort: true})
	resp, err := e.fetch(t, Request{Start: day0})
	var ae *AbortError
	if !errors.As(err, &ae) || resp != nil {
		t.Fatalf("got %v, %v; want an *AbortError and no response", resp, err)
	}
	if ae.Token != NoToken {
		t.Errorf("abort token %q, want the request's", ae.Token)
	}
	if a, _ := Advise(err); a != Repeat {
		t.Errorf("advice %v, want repeat", a)
	}
	assertSpoolEmpty(t, e.dir)
	// The repeat gets the page whole.
	resp, err = e.fetch(t, Request{Start: day0})
	if err != nil {
		t.Fatal(err)
	}
	if lines, _ := readArchive(t, resp.Archive(), resp.ZipSize); len(lines) != 100 {
		t.Fatalf("repeat: %d lines", len(lines))
	}
}

func TestFetchTokenExpired(t *testing.T) {
	e := newEnv(t, func(c *simulator.SyncConfig) { c.TokenMaxAge = time.Hour }, nil)
	resp, err := e.fetch(t, Request{Start: day0})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Add(2 * time.Hour)
	_, err = e.fetch(t, Request{Start: day0, Token: resp.Token})
	if !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("got %v, want ErrTokenExpired", err)
	}
	if a, _ := Advise(err); a != Restart {
		t.Errorf("advice %v, want restart", a)
	}
	// A token for other dates is outside them: 410 as well.
	_, err = e.fetch(t, Request{Start: day0.Add(time.Hour), Token: resp.Token})
	if !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("other dates: got %v, want ErrTokenExpired", err)
	}
}

func TestFetchBusyBacksOff(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.client.Jitter = func(max time.Duration) time.Duration { return max } // the top of the range
	for _, st := range []int{http.StatusLocked, http.StatusServiceUnavailable, http.StatusLocked} {
		e.sim.InjectFault(simulator.SyncFault{Status: st})
	}
	for i, want := range []time.Duration{90 * time.Second, 180 * time.Second, 360 * time.Second} {
		_, err := e.fetch(t, Request{Start: day0})
		var be *BusyError
		if !errors.As(err, &be) || be.Wait != want {
			t.Fatalf("busy answer %d: got %v, want a *BusyError waiting %s", i+1, err, want)
		}
		if a, d := Advise(err); a != Repeat || d != want {
			t.Errorf("advice %v %s", a, d)
		}
	}
	// Success resets the growth; a Retry-After wins over the suggestion.
	if _, err := e.fetch(t, Request{Start: day0}); err != nil {
		t.Fatal(err)
	}
	e.sim.InjectFault(simulator.SyncFault{Status: http.StatusServiceUnavailable, RetryAfter: "7"})
	e.sim.InjectFault(simulator.SyncFault{Status: http.StatusLocked})
	_, err := e.fetch(t, Request{Start: day0})
	var be *BusyError
	if !errors.As(err, &be) || be.Wait != 7*time.Second {
		t.Fatalf("503 with Retry-After 7: got %v", err)
	}
	_, err = e.fetch(t, Request{Start: day0})
	if !errors.As(err, &be) || be.Wait != 180*time.Second {
		t.Fatalf("second busy: got %v, want 180s (grown once)", err)
	}
}

func TestFetchRateLimitRetryAfter(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.sim.InjectFault(simulator.SyncFault{Status: http.StatusTooManyRequests, RetryAfter: "120"})
	e.sim.InjectFault(simulator.SyncFault{Status: http.StatusTooManyRequests, RetryAfter: e.clock.Now().Add(90 * time.Second).Format(http.TimeFormat)})
	e.sim.InjectFault(simulator.SyncFault{Status: http.StatusTooManyRequests})
	for _, want := range []time.Duration{120 * time.Second, 90 * time.Second, DefaultRetryAfter} {
		_, err := e.fetch(t, Request{Start: day0})
		var re *wss.RateLimitError
		if !errors.As(err, &re) {
			t.Fatalf("got %v, want a *wss.RateLimitError", err)
		}
		if a, d := Advise(err); a != Repeat || d != want {
			t.Errorf("advice %v %s, want repeat after %s", a, d, want)
		}
	}
}

func TestFetchUnauthorized(t *testing.T) {
	e := newEnv(t, nil, func(c *Config) { c.Password = "wrong-password-123" })
	_, err := e.fetch(t, Request{Start: day0})
	var ae *wss.AuthError
	if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
		t.Fatalf("got %v, want a 401 *wss.AuthError", err)
	}
	if a, _ := Advise(err); a != Fatal {
		t.Errorf("advice %v, want fatal", a)
	}
	if strings.Contains(err.Error(), "wrong-password-123") {
		t.Fatal("the password is in the error")
	}
}

func TestFetchRedirectToAnotherOriginRefused(t *testing.T) {
	e := newEnv(t, nil, nil)
	var hits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer other.Close()
	e.sim.InjectFault(simulator.SyncFault{RedirectTo: other.URL + simulator.SyncPath})
	_, err := e.fetch(t, Request{Start: day0})
	var re *wss.RedirectError
	if !errors.As(err, &re) {
		t.Fatalf("got %v, want a *wss.RedirectError", err)
	}
	if hits.Load() != 0 {
		t.Fatal("the other origin was contacted")
	}
	if a, _ := Advise(err); a != Fatal {
		t.Errorf("advice %v, want fatal", a)
	}
}

func TestFetchSpoolLimit(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.client.spool.limit = 4096 // under one page; Validate keeps real configs at 1 MiB or more
	_, err := e.fetch(t, Request{Start: day0})
	var se *SpoolLimitError
	if !errors.As(err, &se) || se.Limit != 4096 {
		t.Fatalf("got %v, want a *SpoolLimitError", err)
	}
	if a, _ := Advise(err); a != Fatal {
		t.Errorf("advice %v, want fatal", a)
	}
	assertSpoolEmpty(t, e.dir)
}

func TestFetchRetentionRefusedBeforeRequest(t *testing.T) {
	e := newEnv(t, nil, nil)
	old := e.clock.Now().Add(-101 * 24 * time.Hour).Truncate(time.Hour)
	_, err := e.fetch(t, Request{Start: old})
	var re *RetentionError
	if !errors.As(err, &re) {
		t.Fatalf("got %v, want a *RetentionError", err)
	}
	if n := len(e.sim.Requests()); n != 0 {
		t.Fatalf("%d requests sent", n)
	}
	if _, err := e.fetch(t, Request{Start: day0.Add(30 * time.Minute)}); err == nil || !strings.Contains(err.Error(), "whole UTC hour") {
		t.Fatalf("half hour start: %v", err)
	}
}

func TestFetchBadDates(t *testing.T) {
	e := newEnv(t, nil, nil)
	_, err := e.fetch(t, Request{Start: day0, End: e.clock.Now().Add(time.Hour)})
	var de *DateError
	if !errors.As(err, &de) {
		t.Fatalf("got %v, want a *DateError", err)
	}
	if !strings.Contains(err.Error(), "startDate=1773100800000 (2026-03-10T00:00:00Z)") {
		t.Errorf("the dates are not named: %v", err)
	}
	if a, _ := Advise(err); a != Fatal {
		t.Errorf("advice %v, want fatal", a)
	}
}

func TestFetchSendsCredentialHeaders(t *testing.T) {
	e := newEnv(t, nil, nil)
	if _, err := e.fetch(t, Request{Start: day0, End: day0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	r := e.sim.Requests()[0]
	if r.Username != "api-user" || !r.HasPassword {
		t.Fatalf("headers: %+v", r)
	}
	if q := r.Query; q.Get("startDate") != "1773100800000" || q.Get("endDate") != "1773104400000" || q.Get("token") != "none" {
		t.Fatalf("query %v", q)
	}
}

func TestMinRequestInterval(t *testing.T) {
	e := newEnv(t, nil, func(c *Config) { c.MinRequestInterval = Duration(300 * time.Millisecond) })
	start := time.Now()
	for i := 0; i < 2; i++ {
		if _, err := e.client.Fetch(t.Context(), Request{Start: day0}); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("two requests within %s", d)
	}
}

func assertSpoolEmpty(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("left in the spool directory: %s", e.Name())
	}
}
