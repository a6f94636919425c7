package pipeline

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditfwd/auditfwd/internal/config"
	"github.com/auditfwd/auditfwd/internal/simulator"
)

// accessHarness is a simulated Sync API tenant and a state_dir.
type accessHarness struct {
	t     *testing.T
	dir   string
	sim   *simulator.SyncSimulator
	srv   *httptest.Server
	clock *fakeClock
	start time.Time
}

func newAccessHarness(t *testing.T, mod func(*simulator.SyncConfig)) *accessHarness {
	t.Helper()
	h := &accessHarness{t: t, dir: t.TempDir(), clock: newClock(t0), start: t0.Add(-6 * time.Hour)}
	sc := simulator.SyncConfig{
		Username: "sync-user", Password: "sync-pass", Seed: 11, Start: h.start,
		LinesPerHour: 1500, PageLines: 2000, FileLines: 600, HostileRate: 0.03,
		FieldsChange: true, Now: h.clock.Now,
	}
	if mod != nil {
		mod(&sc)
	}
	sim, err := simulator.NewSync(sc)
	if err != nil {
		t.Fatal(err)
	}
	h.sim = sim
	h.srv = httptest.NewServer(sim)
	t.Cleanup(h.srv.Close)
	return h
}

func (h *accessHarness) eventsPath() string { return filepath.Join(h.dir, "out", "events.ndjson") }

func (h *accessHarness) yaml(extra string) string {
	return fmt.Sprintf(`state_dir: %q
shutdown_timeout: 20s
sources:
  - name: acc
    type: wss_access
    base_url: %s
    username: sync-user
    password: sync-pass
    start: %s
    min_request_interval: 1ms
    retry: {initial_interval: 10ms, max_interval: 50ms, max_retry_after: 1s}
%soutputs:
  - {name: local, type: file, path: %q, batch: {flush_interval: 10ms}}
`, filepath.Join(h.dir, "state"), h.srv.URL, h.start.Format(time.RFC3339), extra, h.eventsPath())
}

func (h *accessHarness) config(extra string) *config.Config {
	h.t.Helper()
	c, err := config.Parse([]byte(h.yaml(extra)), h.clock.Now())
	if err != nil {
		h.t.Fatalf("config: %v", err)
	}
	return c
}

func (h *accessHarness) run(c *config.Config) error {
	h.t.Helper()
	p, err := New(c, buildOuts(h.t, c, nil), quietLog(), Options{Once: true, Now: h.clock.Now, OnceMaxAttempts: 20})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	err = p.Run(ctx)
	if cerr := p.Close(); cerr != nil && err == nil {
		err = cerr
	}
	return err
}

// hashesIn counts event.hash per line of an NDJSON file.
func hashesIn(t *testing.T, path, field string) map[string]int {
	t.Helper()
	out := map[string]int{}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return out
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var d struct {
			Event struct {
				Hash    string `json:"hash"`
				Dataset string `json:"dataset"`
			} `json:"event"`
			Hash string `json:"hash"`
		}
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("%s: line is not JSON: %v: %.200s", path, err, sc.Text())
		}
		h := d.Event.Hash
		if field == "dead" {
			h = d.Hash
		} else if d.Event.Dataset != "wss.access" {
			t.Fatalf("event.dataset %q: %.200s", d.Event.Dataset, sc.Text())
		}
		out[h]++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkAccessOnce asserts that every line the simulator has for [from, to)
// is in the output once or in the dead letter once, and nothing else is.
func (h *accessHarness) checkAccessOnce(from, to time.Time) (events, dead int) {
	h.t.Helper()
	want := h.sim.SyncLineHashes(from, to)
	got := hashesIn(h.t, h.eventsPath(), "event")
	dl := hashesIn(h.t, filepath.Join(h.dir, "state", "deadletter.ndjson"), "dead")
	missing, dup, extra := 0, 0, 0
	for hs := range want {
		k := hex.EncodeToString(hs[:])
		n := got[k] + dl[k]
		switch {
		case n == 0:
			missing++
		case n > 1:
			dup++
		}
	}
	for _, m := range []map[string]int{got, dl} {
		for k := range m {
			var hs [32]byte
			b, _ := hex.DecodeString(k)
			copy(hs[:], b)
			if _, ok := want[hs]; !ok {
				extra++ // a line never served: garbage from a damaged archive
			}
		}
	}
	if missing > 0 || dup > 0 || extra > 0 || len(want) == 0 {
		h.t.Fatalf("exactly-once broken: %d lines, %d events, %d dead letters: %d missing, %d more than once, %d not served", len(want), len(got), len(dl), missing, dup, extra)
	}
	return len(got), len(dl)
}

func TestAccessDeliversEveryLineOnce(t *testing.T) {
	h := newAccessHarness(t, nil)
	if err := h.run(h.config("")); err != nil {
		t.Fatal(err)
	}
	ev, dead := h.checkAccessOnce(h.start, t0.Add(time.Millisecond))
	if dead == 0 || ev < 8000 {
		t.Fatalf("%d events, %d dead letters: the hostile lines should give some", ev, dead)
	}
	var more int
	for _, r := range h.sim.Requests() {
		if r.SyncStatus == "more" {
			more++
		}
	}
	if more < 3 {
		t.Fatalf("only %d 'more' pages: the test does not page", more)
	}
	// An hour later, the same state: only the new hour comes, once.
	h.clock.Add(time.Hour)
	if err := h.run(h.config("")); err != nil {
		t.Fatal(err)
	}
	h.checkAccessOnce(h.start, t0.Add(time.Hour+time.Millisecond))
	// Nothing new: a run sends nothing and commits nothing.
	before := countLines(t, h.eventsPath())
	if err := h.run(h.config("")); err != nil {
		t.Fatal(err)
	}
	if n := countLines(t, h.eventsPath()); n != before {
		t.Fatalf("a run with nothing new wrote %d lines", n-before)
	}
}

func TestAccessSurvivesEveryFault(t *testing.T) {
	h := newAccessHarness(t, nil)
	for _, f := range []simulator.SyncFault{
		{Abort: true},
		{Status: http.StatusLocked, RetryAfter: "1"},
		{Partial: true},
		{Status: http.StatusServiceUnavailable, RetryAfter: "1"},
		{Status: http.StatusTooManyRequests, RetryAfter: "1"},
		{NoTrailer: true},
		{Status: http.StatusGone, Body: "token expired"},
		{Status: http.StatusInternalServerError},
	} {
		h.sim.InjectFault(f) // one per request, in this order
	}
	if err := h.run(h.config("")); err != nil {
		t.Fatal(err)
	}
	h.checkAccessOnce(h.start, t0.Add(time.Millisecond))
	seen := map[string]bool{}
	restarts := 0
	for i, r := range h.sim.Requests() {
		seen[r.Fault] = true
		if i > 0 && r.Query.Get("token") == "none" {
			restarts++
		}
	}
	for _, f := range []string{"abort", "423", "partial", "503", "429", "no-trailer", "410", "500"} {
		if !seen[f] {
			t.Errorf("fault %s was not served", f)
		}
	}
	if restarts < 2 {
		t.Errorf("%d restarts with token=none: the partial ZIP and the 410 each need one", restarts)
	}
}

// A token that expires between runs (410) restarts from the hour of the
// newest delivered line, less the lookback; nothing is lost or repeated.
func TestAccessTokenExpiryRestarts(t *testing.T) {
	h := newAccessHarness(t, func(c *simulator.SyncConfig) { c.TokenMaxAge = 30 * time.Minute })
	if err := h.run(h.config("")); err != nil {
		t.Fatal(err)
	}
	h.clock.Add(2 * time.Hour)
	if err := h.run(h.config("")); err != nil {
		t.Fatal(err)
	}
	h.checkAccessOnce(h.start, t0.Add(2*time.Hour+time.Millisecond))
	var gone bool
	var restart string
	for _, r := range h.sim.Requests() {
		if r.Status == http.StatusGone {
			gone = true
		} else if gone && restart == "" {
			restart = r.Query.Get("startDate")
		}
	}
	if !gone {
		t.Fatal("no 410 was served: the test proves nothing")
	}
	want := fmt.Sprint(t0.Add(-restartLookback).UnixMilli())
	if restart != want {
		t.Fatalf("restart startDate %s, want %s (the newest line's hour less %s)", restart, want, restartLookback)
	}
}

// A damaged archive (a CRC that does not match) is refused before any line
// is queued, and repeated with the same token.
func TestAccessDamagedArchiveQueuesNothing(t *testing.T) {
	h := newAccessHarness(t, nil)
	var n int
	h.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		if n != 1 {
			h.sim.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.sim.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		// Flip a byte in the middle of the first entry's compressed data.
		body[200] ^= 0x55
		w.WriteHeader(rec.Code)
		w.Write(body)
	})
	if err := h.run(h.config("")); err != nil {
		t.Fatal(err)
	}
	h.checkAccessOnce(h.start, t0.Add(time.Millisecond))
	reqs := h.sim.Requests()
	if len(reqs) < 2 || reqs[1].Query.Get("token") != reqs[0].Query.Get("token") {
		t.Fatalf("the damaged answer was not repeated with the same token")
	}
}

// A run stopped after checkpoints inside an archive (as a crash would)
// has committed lines but not the token: the next run repeats the request
// with the old token and dedup drops what was committed.
func TestAccessStopMidArchiveResumes(t *testing.T) {
	h := newAccessHarness(t, func(c *simulator.SyncConfig) { c.PageLines = 5000 })
	c := h.config("    checkpoint_records: 100\n")
	// A daemon: its stop drains what was committed (a --once run stopped
	// by its context leaves it queued and says so, racing the drainer).
	p, err := New(c, buildOuts(t, c, nil), quietLog(), Options{Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	checkpoints := 0
	p.srcs[0].onCheckpoint = func(int) {
		if checkpoints++; checkpoints == 7 {
			cancel()
		}
	}
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if tok := p.Store().SourceValue("acc", "sync"); tok != nil {
		t.Fatalf("a token was committed by a checkpoint inside the first archive: %s", tok)
	}
	partial := countLines(t, h.eventsPath())
	if partial == 0 {
		t.Fatal("nothing committed before the stop: the test proves nothing")
	}
	if err := h.run(h.config("    checkpoint_records: 100\n")); err != nil {
		t.Fatal(err)
	}
	h.checkAccessOnce(h.start, t0.Add(time.Millisecond))
	if reqs := h.sim.Requests(); reqs[1].Query.Get("token") != "none" || reqs[1].Query.Get("startDate") != reqs[0].Query.Get("startDate") {
		t.Fatalf("the second run did not repeat the first request: %v then %v", reqs[0].Query, reqs[1].Query)
	}
}

// `auditfwd state set` on an access source: the next request is
// token=none from the cursor's hour.
func TestAccessStateSetRestartsThere(t *testing.T) {
	h := newAccessHarness(t, nil)
	if err := h.run(h.config("")); err != nil {
		t.Fatal(err)
	}
	c := h.config("")
	p, err := New(c, buildOuts(t, c, nil), quietLog(), Options{Once: true, Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	at := t0.Add(-3*time.Hour + 20*time.Minute)
	if err := p.Store().SetCursor("acc", at); err != nil {
		t.Fatal(err)
	}
	if err := p.Store().SetSourceValue("acc", "sync", AccessRestartAt(at)); err != nil {
		t.Fatal(err)
	}
	p.Close()
	before := len(h.sim.Requests())
	if err := h.run(h.config("")); err != nil {
		t.Fatal(err)
	}
	r := h.sim.Requests()[before]
	if r.Query.Get("token") != "none" || r.Query.Get("startDate") != fmt.Sprint(t0.Add(-3*time.Hour).UnixMilli()) {
		t.Fatalf("after state set: %v", r.Query)
	}
	// The lines again from there are in the seen-set: nothing twice.
	h.checkAccessOnce(h.start, t0.Add(time.Millisecond))
}

// The seen-set keeps a line while a restart can still reach it, not a
// day: hours later it holds only the last few hours' lines.
func TestAccessSeenSetHorizonFollowsTheCursor(t *testing.T) {
	h := newAccessHarness(t, nil)
	run := func() *Pipeline {
		c := h.config("")
		p, err := New(c, buildOuts(t, c, nil), quietLog(), Options{Once: true, Now: h.clock.Now, SweepEvery: time.Nanosecond})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		p.Close()
		return p
	}
	run()
	for i := 0; i < 6; i++ {
		h.clock.Add(time.Hour)
		run()
	}
	p := run()
	seen := p.SeenCount("acc")
	total := int64(len(h.sim.SyncLineHashes(h.start, h.clock.Now())))
	perHour := int64(h.sim.Config().LinesPerHour)
	// The cursor is the newest line's hour; a restart reaches 2h before it,
	// the horizon 1h more: at most the lines of those hours and this one.
	if seen == 0 || seen > 5*perHour || seen >= total {
		t.Fatalf("seen-set holds %d of %d lines (%d an hour): want at most ~4 hours' worth", seen, total, perHour)
	}
	h.checkAccessOnce(h.start, h.clock.Now().Add(time.Millisecond))
}

// A 400 for the dates of a token request restarts without the token; a
// 400 without a token needs an operator (--once fails).
func TestAccessDateErrorWithTokenRestarts(t *testing.T) {
	h := newAccessHarness(t, nil)
	if err := h.run(h.config("")); err != nil {
		t.Fatal(err)
	}
	h.clock.Add(time.Hour)
	h.sim.InjectFault(simulator.SyncFault{Status: http.StatusBadRequest, Body: "startDate is too old for this token"})
	before := len(h.sim.Requests())
	if err := h.run(h.config("")); err != nil {
		t.Fatalf("a 400 with a token failed the run: %v", err)
	}
	reqs := h.sim.Requests()[before:]
	if reqs[0].Query.Get("token") == "none" || reqs[1].Query.Get("token") != "none" {
		t.Fatalf("want the token request, then token=none: %v, %v", reqs[0].Query, reqs[1].Query)
	}
	h.checkAccessOnce(h.start, t0.Add(time.Hour+time.Millisecond))
	h.sim.InjectFault(simulator.SyncFault{Status: http.StatusBadRequest})
	h.sim.InjectFault(simulator.SyncFault{Status: http.StatusBadRequest})
	if err := h.run(h.config("")); err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("a 400 without a token: %v, want the run to fail naming it", err)
	}
}

// A restart with token=none replays hours of lines; the seen-set must
// still hold every one of them, dead-lettered lines included (they have
// no usable time of their own), for as long as a restart can reach them.
// Here each hour brings a 410 and its restart from the cursor less the
// lookback, with frequent checkpoints so the seen-set's runs merge (and
// leave out what expiry says is past) between restarts.
func TestAccessRestartsRepeatNoLine(t *testing.T) {
	h := newAccessHarness(t, func(c *simulator.SyncConfig) { c.LinesPerHour, c.PageLines, c.FileLines = 500, 400, 150 })
	c := h.config("    checkpoint_records: 100\n")
	if err := h.run(c); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		h.clock.Add(time.Hour)
		h.sim.InjectFault(simulator.SyncFault{Status: http.StatusGone, Body: "token expired"})
		if err := h.run(c); err != nil {
			t.Fatal(err)
		}
		h.checkAccessOnce(h.start, h.clock.Now().Add(time.Millisecond))
	}
	gone := 0
	for _, r := range h.sim.Requests() {
		if r.Status == http.StatusGone {
			gone++
		}
	}
	if gone != 3 {
		t.Fatalf("%d answers 410, want 3: the restarts the test is about did not happen", gone)
	}
}

// A catch-up of many hours in one run (a backlog, or a first start from
// days back) forgets the hashes no restart can reach any more as the cursor
// moves, not only once every SweepEvery: at proxy volume a 10-minute pause
// is millions of lines whose hashes would all be held and looked up.
func TestAccessCatchUpExpiresAsTheCursorMoves(t *testing.T) {
	h := newAccessHarness(t, func(c *simulator.SyncConfig) { c.HostileRate = 0 })
	c := h.config("")
	p, err := New(c, buildOuts(t, c, nil), quietLog(), Options{Once: true, Now: h.clock.Now, OnceMaxAttempts: 20, SweepEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	srcs, _ := p.runners()
	held, cursor := srcs[0].seen.Count(), srcs[0].cursor
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	ev, _ := h.checkAccessOnce(h.start, t0.Add(time.Millisecond))
	// Lines older than the cursor less accessHorizon can come again in no
	// restart; the run covered 6 hours, so hours of them are past it. A
	// sweep waits for the cutoff to move a sweepStep: at most that much
	// more is held.
	reach := h.sim.SyncLineHashes(cursor.Add(-accessHorizon-sweepStep), t0.Add(time.Millisecond))
	if held >= int64(ev) || held > int64(len(reach)) {
		t.Fatalf("the seen-set holds %d hashes after a catch-up of %d lines; a restart can reach %d of them (within %s of the cursor %s)",
			held, ev, len(reach), accessHorizon+sweepStep, cursor.Format(time.RFC3339))
	}
}

// Damage inside a later entry of an archive, with checkpoints far more
// frequent than the entries are long: the entries before it are committed
// (they were read to their end), the damaged one is checked to its end
// before any of its lines is, and no garbage line is ever delivered.
func TestAccessDamageInALaterEntryCommitsNoneOfIt(t *testing.T) {
	for _, at := range []float64{0.35, 0.6, 0.85} {
		t.Run(fmt.Sprint(at), func(t *testing.T) {
			h := newAccessHarness(t, func(c *simulator.SyncConfig) { c.PageLines, c.FileLines = 3000, 1000 })
			var n int
			h.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n++
				rec := httptest.NewRecorder()
				h.sim.ServeHTTP(rec, r)
				body := rec.Body.Bytes()
				if n == 1 && len(body) > 10000 {
					i := int(float64(len(body)) * at)
					body[i] ^= 0x55
					body[i+1] ^= 0xaa
				}
				w.WriteHeader(rec.Code)
				w.Write(body)
			})
			if err := h.run(h.config("    checkpoint_records: 100\n")); err != nil {
				t.Fatal(err)
			}
			h.checkAccessOnce(h.start, t0.Add(time.Millisecond))
			reqs := h.sim.Requests()
			if len(reqs) < 2 || reqs[1].Query.Get("token") != reqs[0].Query.Get("token") {
				t.Fatal("the damaged answer was not repeated with the same token")
			}
		})
	}
}
