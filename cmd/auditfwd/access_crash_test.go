package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditfwd/auditfwd/internal/simulator"
)

// A failure of TestAccessCrashExactlyOnce prints its seed; the same seed
// replays the same lines, faults, slow answers and kill schedule (where a
// kill lands within its condition still depends on the machine).
var (
	accessCrashSeed  = flag.Int64("access.seed", 0, "TestAccessCrashExactlyOnce: seed of lines, faults and kills (0: random)")
	accessCrashKills = flag.Int("access.kills", 0, "TestAccessCrashExactlyOnce: runs to kill (0: $AUDITFWD_CRASH_KILLS, else 12)")
)

// The kinds of kill. download and between are the promise and
// must land; the others are counted.
const (
	killDownload   = "download"   // the binary is spooling a slow answer
	killBetween    = "between"    // a "more" page is committed, the next one asked for
	killDelivering = "delivering" // the body is spooled, its lines being queued
	killGrew       = "grew"       // an output has just written
	killRandom     = "random"
)

// kill -9 a wss_access source, --once runs and daemons, while it spools a
// ZIP, between two committed "more" pages, while it queues an archive's
// lines, and at random moments, while the Sync API aborts, expires tokens,
// sends partial ZIPs and asks to wait. Tokens also expire by age, so
// restarts with token=none replay hours of lines. Then clean runs: each
// output holds every line the API served exactly once, or the dead letter
// holds it once; nothing twice, nothing the API never served.
func TestAccessCrashExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("kills the binary many times")
	}
	seed, kills := accessCrashParams(t)
	replay := fmt.Sprintf("go test ./cmd/auditfwd/ -run 'TestAccessCrashExactlyOnce$' -access.seed=%d -access.kills=%d", seed, kills)
	t.Logf("seed %d, %d kills (replay: %s)", seed, kills, replay)
	rng := rand.New(rand.NewSource(seed))
	e := newAccessCrashEnv(t, seed)
	runs := &crashRuns{t: t, e: &liveCrashEnv{crashEnv: &crashEnv{cfg: e.cfg, out1: e.out1, out2: e.out2, dlPath: e.dlPath}}, dir: t.TempDir()}
	t.Cleanup(func() {
		runs.stop()
		if t.Failed() {
			t.Logf("FAILED with seed %d after %d runs, %d requests; replay: %s", seed, len(runs.all), len(e.sim.Requests()), replay)
			runs.dumpErrors()
		}
	})

	// Each promised kind a quarter of the kills at least, in a seeded order.
	schedule := make([]string, 0, kills)
	for i := 0; i < kills; i++ {
		switch {
		case i < (kills+3)/4:
			schedule = append(schedule, killDownload)
		case i < 2*((kills+3)/4):
			schedule = append(schedule, killBetween)
		default:
			schedule = append(schedule, []string{killDelivering, killGrew, killRandom}[rng.Intn(3)])
		}
	}
	rng.Shuffle(len(schedule), func(i, j int) { schedule[i], schedule[j] = schedule[j], schedule[i] })

	landed := map[string]int{}
	try := func(kind string, force bool) {
		e.advance(rng)
		e.front.setFaults(accessFaults(rng, force))
		mode := []string{"once", "daemon"}[rng.Intn(2)]
		var p *crashRun
		if mode == "once" {
			p = runs.start("once-"+kind, "--once")
		} else {
			p = runs.start("daemon-" + kind)
		}
		got, ok := e.killWhen(t, p, kind, rng)
		p.checkLog()
		switch {
		case ok:
			landed[got]++
		case mode == "once":
			if p.err != nil {
				t.Fatalf("run %s failed: %v\n%s", p.name, p.err, p.tail())
			}
			t.Logf("run %s finished before its kill", p.name)
		default:
			t.Fatalf("daemon %s exited on its own: %v\n%s", p.name, p.err, p.tail())
		}
	}
	for _, kind := range schedule {
		try(kind, false)
	}
	// On a busy machine a kind may miss every time (a --once run that
	// finishes first, a fast answer): then runs that begin with a 410,
	// whose restart replays hours of pages, give it its moments.
	for _, kind := range []string{killDownload, killBetween} {
		for i := 0; landed[kind] == 0; i++ {
			if i == 5 {
				t.Fatalf("no kill landed %s in %d forced runs (kills by kind %v): the test proved nothing about it", kind, i, landed)
			}
			try(kind, true)
		}
	}

	// The kills may all have come before the faults that matter most: a
	// --once run, not killed, then meets them first thing.
	for i := 0; ; i++ {
		f := e.served()
		if f["abort"] > 0 && f["410"]+f["partial"] > 0 {
			break
		}
		if i == 3 {
			t.Fatalf("faults served %v: no abort, or no restart", f)
		}
		e.advance(rng)
		e.front.setFaults([]simulator.SyncFault{{Abort: true}, {}, {Partial: true}})
		p := runs.start("faults", "--once")
		if exited, err := p.exitWithin(2 * time.Minute); !exited || err != nil {
			t.Fatalf("run %s: exited %v, %v\n%s", p.name, exited, err, p.tail())
		}
		p.checkLog()
	}

	// Clean runs until caught up: the last proves nothing new arrives.
	e.front.setFaults(nil)
	e.clock.set(e.last)
	for i := 0; i < 2; i++ {
		p := runs.start("final", "--once")
		if exited, err := p.exitWithin(2 * time.Minute); !exited || err != nil {
			t.Fatalf("run %s: exited %v, %v\n%s", p.name, exited, err, p.tail())
		}
		p.checkLog()
	}
	before := runs.lines1.count()
	p := runs.start("final", "--once")
	if exited, err := p.exitWithin(2 * time.Minute); !exited || err != nil {
		t.Fatalf("run %s: exited %v, %v\n%s", p.name, exited, err, p.tail())
	}
	p.checkLog()
	if n := runs.lines1.count(); n != before {
		t.Fatalf("a run after catching up wrote %d lines", n-before)
	}
	// A token that expires now restarts from the cursor less the lookback:
	// hours of lines come again, against a seen-set that clean runs have
	// swept and merged. Not one may be delivered again.
	e.front.setFaults([]simulator.SyncFault{{Status: http.StatusGone, Body: "token expired"}})
	p = runs.start("restart", "--once")
	if exited, err := p.exitWithin(2 * time.Minute); !exited || err != nil {
		t.Fatalf("run %s: exited %v, %v\n%s", p.name, exited, err, p.tail())
	}
	p.checkLog()
	events, dead := e.checkOnce(t)
	if left, _ := filepath.Glob(filepath.Join(e.spool, "sync-*.spool")); len(left) > 0 {
		t.Errorf("spool files left after clean runs: %v", left)
	}

	restarts := 0
	reqs := e.sim.Requests()
	for i, r := range reqs {
		if i > 0 && r.Query.Get("token") == "none" {
			restarts++
		}
	}
	t.Logf("%d runs, kills by kind %v; %d requests, faults %v, %d restarts with token=none; %d events, %d dead letters",
		len(runs.all), landed, len(reqs), e.served(), restarts, events, dead)
}

// served counts the faults the simulator served; "410" counts the tokens
// it refused for their age too.
func (e *accessCrashEnv) served() map[string]int {
	out := map[string]int{}
	for _, r := range e.sim.Requests() {
		switch {
		case r.Fault != "":
			out[r.Fault]++
		case r.Status == http.StatusGone:
			out["410"]++
		}
	}
	return out
}

func accessCrashParams(t *testing.T) (seed int64, kills int) {
	seed = *accessCrashSeed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	kills = *accessCrashKills
	if kills == 0 {
		kills = 12
		if v := os.Getenv("AUDITFWD_CRASH_KILLS"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				t.Fatalf("AUDITFWD_CRASH_KILLS=%q: want a positive number", v)
			}
			kills = n
		}
	}
	return seed, kills
}

// accessCrashEnv is a simulated tenant, the front that paces it, and the
// binary's config: two file outputs with small batches, checkpoints every
// 150 lines, pages of 600 lines in gzip files of at most 200.
type accessCrashEnv struct {
	sim   *simulator.SyncSimulator
	front *syncFront
	clock *syncClock
	start time.Time // the first hour with lines
	last  time.Time // where the simulated clock ends
	dir   string
	cfg   string
	out1  string
	out2  string
	// dlPath is the dead letter; spool the source's spool directory.
	dlPath, spool string
}

// syncClock is the simulator's clock: lines become visible as the test
// moves it, at each run's start, so every run has pages to fetch and
// tokens grow old (TokenMaxAge) between runs.
type syncClock struct{ ms atomic.Int64 }

func (c *syncClock) Now() time.Time  { return time.UnixMilli(c.ms.Load()).UTC() }
func (c *syncClock) set(t time.Time) { c.ms.Store(t.UnixMilli()) }

// newAccessCrashEnv: lines from four hours before this hour, 6,000 an
// hour (~2 % hostile, the #Fields order changing every half hour); the
// simulated clock starts 90 minutes in and reaches a minute ago by the
// end, ~25,000 lines in all. Tokens older than 40 simulated minutes are
// answered 410, so a restart with token=none replays two to three hours.
func newAccessCrashEnv(t *testing.T, seed int64) *accessCrashEnv {
	now := time.Now().UTC()
	e := &accessCrashEnv{clock: &syncClock{}, dir: t.TempDir()}
	e.start = now.Truncate(time.Hour).Add(-4 * time.Hour)
	e.last = now.Add(-time.Minute)
	e.clock.set(e.start.Add(90 * time.Minute))
	sim, err := simulator.NewSync(simulator.SyncConfig{
		Username: "u", Password: "p", Seed: seed, Start: e.start,
		LinesPerHour: 6000, PageLines: 600, FileLines: 200, HostileRate: 0.02, FieldsChange: true,
		TokenMaxAge: 40 * time.Minute, Now: e.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.sim, e.front = sim, newSyncFront(sim, seed)
	srv := httptest.NewServer(e.front)
	t.Cleanup(srv.Close)
	state := filepath.Join(e.dir, "state")
	e.cfg, e.out1, e.out2 = filepath.Join(e.dir, "config.yaml"), filepath.Join(e.dir, "out1.ndjson"), filepath.Join(e.dir, "out2.ndjson")
	e.dlPath, e.spool = filepath.Join(state, "deadletter.ndjson"), filepath.Join(state, "spool", "acc")
	y := fmt.Sprintf(`state_dir: %q
shutdown_timeout: 20s
log: {level: warn}
sources:
  - name: acc
    type: wss_access
    base_url: %s
    username: u
    password: p
    start: %s
    poll_interval: 1s
    min_request_interval: 1ms
    request_timeout: 30s
    checkpoint_records: 100
    retry: {initial_interval: 10ms, max_interval: 100ms, max_retry_after: 1s}
outputs:
  - {name: one, type: file, path: %q, batch: {max_events: 150, flush_interval: 5ms}}
  - {name: two, type: file, path: %q, batch: {max_events: 400, flush_interval: 5ms}, queue: {segment_bytes: 64KiB}}
`, state, srv.URL, e.start.Format(time.RFC3339), e.out1, e.out2)
	if err := os.WriteFile(e.cfg, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

// advance moves the simulated clock 10 to 25 minutes (1,000 to 2,500 new
// lines, two to four pages), up to the end.
func (e *accessCrashEnv) advance(rng *rand.Rand) {
	t := e.clock.Now().Add(time.Duration(10+rng.Intn(16)) * time.Minute)
	if t.After(e.last) {
		t = e.last
	}
	e.clock.set(t)
}

// accessFaults is a run's fault schedule: about every other answer is a
// fault, never two in a row, so --once (8 attempts) never gives up.
// Restarts (410, partial) replay hours of lines, so they are rarer; force
// begins with a 410.
func accessFaults(rng *rand.Rand, force bool) []simulator.SyncFault {
	kinds := []simulator.SyncFault{
		{Abort: true}, {Abort: true}, {Abort: true},
		{Status: http.StatusLocked, RetryAfter: "1"}, {Status: http.StatusLocked, RetryAfter: "1"},
		{Status: http.StatusTooManyRequests, RetryAfter: "1"}, {Status: http.StatusTooManyRequests, RetryAfter: "1"},
		{Status: http.StatusServiceUnavailable, RetryAfter: "1"},
		{Status: http.StatusInternalServerError},
		{NoTrailer: true},
		{Partial: true},
		{Status: http.StatusGone, Body: "token expired"},
	}
	var out []simulator.SyncFault
	if force {
		out = append(out, simulator.SyncFault{Status: http.StatusGone, Body: "token expired"})
	}
	for range 30 {
		if rng.Intn(2) == 0 {
			out = append(out, kinds[rng.Intn(len(kinds))])
		}
		out = append(out, simulator.SyncFault{}) // a normal answer
	}
	return out
}

// spooling: a spool file exists, so the binary is inside a Fetch.
func (e *accessCrashEnv) spooling() bool {
	m, _ := filepath.Glob(filepath.Join(e.spool, "sync-*.spool"))
	return len(m) > 0
}

// killWhen kills p once kind's condition holds and returns the kind that
// landed (a daemon whose condition never came is killed as random); ok is
// false when the run ended first.
func (e *accessCrashEnv) killWhen(t *testing.T, p *crashRun, kind string, rng *rand.Rand) (landed string, ok bool) {
	t.Helper()
	const ceiling = 60 * time.Second
	deadline := time.Now().Add(ceiling)
	var hold *pageHold
	if kind == killBetween {
		hold = e.front.armHold()
	}
	// A download is killed past a random number of bytes, well inside a
	// full page (~80 KB): the rest of the body is still to come.
	threshold := int64(1 + rng.Intn(10*slowChunk))
	var startSize int64
	if fi, err := os.Stat(e.out1); err == nil {
		startSize = fi.Size()
	}
	moment := time.Now().Add(randomMoment(rng))
	for {
		var fire bool
		var d *download
		switch kind {
		case killDownload:
			d = e.front.download()
			fire = d != nil && d.slow && !d.complete.Load() && d.written.Load() >= threshold && e.spooling()
		case killBetween:
			select {
			case <-hold.held:
				fire = true
			default:
			}
		case killDelivering:
			d = e.front.download()
			fire = d != nil && d.complete.Load() && d.written.Load() > slowChunk && e.spooling()
		case killGrew:
			fi, err := os.Stat(e.out1)
			fire = err == nil && fi.Size() > startSize
		case killRandom:
			fire = !time.Now().Before(moment)
		}
		if fire {
			p.kill()
			if hold != nil {
				close(hold.release)
			}
			if kind == killDownload {
				// It landed mid-body if the front's next write failed.
				select {
				case <-d.finished:
				case <-time.After(ceiling):
					t.Fatalf("the killed download's handler did not end within %s", ceiling)
				}
				if !d.failed.Load() {
					return killRandom, true // the body ended before the kill
				}
			}
			return kind, true
		}
		if exited, _ := p.exitWithin(3 * time.Millisecond); exited {
			if hold != nil {
				e.front.disarm(hold)
			}
			return "", false
		}
		if time.Now().After(deadline) {
			if hold != nil {
				e.front.disarm(hold)
			}
			t.Logf("run %s: no %s moment within %s; killed anyway", p.name, kind, ceiling)
			p.kill()
			return killRandom, true
		}
	}
}

// checkOnce: every line the simulator served up to its clock is in each
// output exactly once, or in the dead letter exactly once (and then in no
// output); nothing is there that it never served.
func (e *accessCrashEnv) checkOnce(t *testing.T) (events, dead int) {
	t.Helper()
	want := e.sim.SyncLineHashes(e.start, e.clock.Now().Add(time.Millisecond))
	dl := accessHashes(t, e.dlPath, true)
	for _, out := range []string{e.out1, e.out2} {
		got := accessHashes(t, out, false)
		var missing, dup, extra []string
		for hs := range want {
			k := hex.EncodeToString(hs[:])
			switch n := got[k] + dl[k]; {
			case n == 0:
				missing = append(missing, k)
			case n > 1:
				dup = append(dup, fmt.Sprintf("%s (%d in the output, %d in the dead letter)", k, got[k], dl[k]))
			}
		}
		for _, m := range []map[string]int{got, dl} {
			for k := range m {
				var hs [32]byte
				b, _ := hex.DecodeString(k)
				copy(hs[:], b)
				if _, ok := want[hs]; !ok {
					extra = append(extra, k)
				}
			}
		}
		if len(missing)+len(dup)+len(extra) > 0 || len(want) == 0 {
			sort.Strings(missing)
			sort.Strings(dup)
			sort.Strings(extra)
			t.Fatalf("%s: exactly-once broken: %d lines served, %d events, %d dead letters: %d missing %q, %d more than once %q, %d never served %q",
				filepath.Base(out), len(want), len(got), len(dl), len(missing), firstFew(missing), len(dup), firstFew(dup), len(extra), firstFew(extra))
		}
		events = len(got)
	}
	if dead = len(dl); dead == 0 {
		t.Fatal("nothing was dead-lettered: the hostile lines should give some")
	}
	return events, dead
}

func firstFew(xs []string) []string { return xs[:min(len(xs), 3)] }

// accessHashes counts each line's hash in an NDJSON file: event.hash of
// an output's events (each of dataset wss.access), hash of dead letters.
func accessHashes(t *testing.T, path string, deadLetter bool) map[string]int {
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
			Event struct{ Hash, Dataset string }
			Hash  string
		}
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("%s: a line is not JSON (torn write?): %v: %.200s", path, err, sc.Text())
		}
		h := d.Event.Hash
		if deadLetter {
			h = d.Hash
		} else if d.Event.Dataset != "wss.access" {
			t.Fatalf("%s: event.dataset %q: %.200s", path, d.Event.Dataset, sc.Text())
		}
		if h == "" {
			t.Fatalf("%s: a line without its hash: %.200s", path, sc.Text())
		}
		out[h]++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
