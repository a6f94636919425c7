package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/auditfwd/auditfwd/internal/event"
	"github.com/auditfwd/auditfwd/internal/simulator"
)

// A failure of TestCrashAnywhereExactlyOnce prints its seed; the same seed
// replays the same data, record orders, faults and kill schedule (the
// moments a kill lands at still depend on the machine).
var (
	crashSeed  = flag.Int64("crash.seed", 0, "TestCrashAnywhereExactlyOnce: seed of data, record orders, faults and kills (0: random)")
	crashKills = flag.Int("crash.kills", 0, "TestCrashAnywhereExactlyOnce: runs to kill (0: $AUDITFWD_CRASH_KILLS, else 12)")
)

func crashParams(t *testing.T) (seed int64, kills int) {
	seed = *crashSeed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	kills = *crashKills
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

// kill -9 at random moments, many times, while the API misbehaves the way
// the delivery protocol must survive: bodies that break off mid-window after
// partial checkpoints (so windows roll back while the drainers read what the
// checkpoints committed), every response in a fresh record order, records
// arriving late. Runs are --once runs and daemons, killed at random moments
// and in steady polling. Then clean runs: each output holds every record
// exactly once, the dead letter each malformed record once.
func TestCrashAnywhereExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("kills the binary many times")
	}
	seed, kills := crashParams(t)
	replay := fmt.Sprintf("go test ./cmd/auditfwd/ -run 'TestCrashAnywhereExactlyOnce$' -crash.seed=%d -crash.kills=%d", seed, kills)
	t.Logf("seed %d, %d kills (replay: %s)", seed, kills, replay)
	rng := rand.New(rand.NewSource(seed))
	e := newLiveCrashEnv(t, seed)
	runs := &crashRuns{t: t, e: e, dir: t.TempDir()}
	t.Cleanup(func() {
		runs.stop()
		if t.Failed() {
			requests, resets, truncs := e.faultStats()
			t.Logf("FAILED with seed %d after %d runs, %d requests (%d reset mid-body, %d truncated); replay: %s",
				seed, len(runs.all), requests, resets, truncs, replay)
			runs.dumpErrors()
		}
	})

	killed := map[string]int{}
	total := 0
	for i := 0; total < kills; i++ {
		if i >= 3*kills {
			t.Fatalf("only %d of %d runs were killed: the runs finish too early to prove anything", total, i)
		}
		injectFaults(e.sim, rng)
		// The first half of the kills land at random moments, most of them
		// in the catch-up; then steady polling joins in.
		mode := rng.Intn(2)
		if total >= kills/2 {
			mode = rng.Intn(3)
		}
		switch mode {
		case 0: // --once, killed at a random moment unless it finishes first
			p := runs.start("once", "--once")
			if exited, err := p.exitWithin(randomMoment(rng)); exited {
				if err != nil {
					t.Fatalf("run %s failed: %v\n%s", p.name, err, p.tail())
				}
				p.checkLog()
				t.Logf("run %s finished before its kill", p.name)
				continue
			}
			p.kill()
		case 1: // daemon, killed at a random moment: start-up, recovery, catch-up
			p := runs.start("daemon")
			if exited, err := p.exitWithin(randomMoment(rng)); exited {
				t.Fatalf("daemon %s exited on its own: %v\n%s", p.name, err, p.tail())
			}
			p.kill()
		case 2: // daemon, killed in steady polling, once it has caught up
			p := runs.start("steady")
			want := e.visibleBy(p.started)
			p.waitFor("catch up", 2*time.Minute, runs.caughtUp(want))
			if exited, err := p.exitWithin(time.Duration(rng.Intn(3000)) * time.Millisecond); exited {
				t.Fatalf("daemon %s exited on its own: %v\n%s", p.name, err, p.tail())
			}
			p.kill()
		}
		runs.last.checkLog()
		killed[runs.last.mode]++
		total++
	}

	// The kills land by the clock: on a busy machine they may all come
	// before any broken body was served. Then --once runs, not killed, meet
	// a broken body first thing, so rollbacks are proven whatever the
	// machine's speed.
	for i := 0; i < 5; i++ {
		if _, resets, truncs := e.faultStats(); resets+truncs > 0 {
			break
		}
		e.sim.ClearFaults()
		e.sim.InjectFault(simulator.Fault{Truncate: true})
		e.sim.InjectFault(simulator.Fault{ResetAfter: 1 + rng.Intn(3000)})
		p := runs.start("faults", "--once")
		if exited, err := p.exitWithin(3 * time.Minute); !exited || err != nil {
			t.Fatalf("run %s: exited %v, %v\n%s", p.name, exited, err, p.tail())
		}
		p.checkLog()
	}

	// The last runs are clean, once every record is visible.
	e.sim.ClearFaults()
	if d := time.Until(e.allVisible); d > 0 {
		t.Logf("waiting %s for the simulator's last records to become visible", d.Round(time.Second))
		time.Sleep(d) // the simulated world's clock, not the binary's progress
	}
	malformed := e.malformedHashes(t)
	p := runs.start("final")
	all := len(e.sim.ValidIDs())
	// Its metrics listener answers once its signal handler is in place.
	delivered := runs.caughtUp(all)
	p.waitFor("deliver every record", 2*time.Minute, func() (bool, string) {
		ok, state := delivered()
		resp, err := http.Get("http://" + e.metrics + "/healthz")
		if err != nil {
			return false, state + "; /healthz: " + err.Error()
		}
		resp.Body.Close()
		return ok && resp.StatusCode == http.StatusOK, fmt.Sprintf("%s; /healthz: %d", state, resp.StatusCode)
	})
	p.cmd.Process.Signal(syscall.SIGTERM)
	if exited, err := p.exitWithin(time.Minute); !exited || err != nil {
		t.Fatalf("daemon %s after SIGTERM: exited %v, %v\n%s", p.name, exited, err, p.tail())
	}
	p.checkLog()
	alerts := 0
	for range 2 { // the second run proves nothing new arrives
		p := runs.start("once-final", "--once")
		if exited, err := p.exitWithin(2 * time.Minute); !exited || err != nil {
			t.Fatalf("run %s: exited %v, %v\n%s", p.name, exited, err, p.tail())
		}
		p.checkLog()
		e.check(t)
		e.checkDeadLetterHolds(t, malformed)
		alerts = e.checkAlertsOnce(t)
	}
	if alerts == 0 {
		t.Fatal("no alert was raised: the test proved nothing about detections across kills")
	}

	requests, resets, truncs := e.faultStats()
	t.Logf("%d runs, kills by kind %v; %d requests, %d reset mid-body, %d truncated; %d alerts, each once", len(runs.all), killed, requests, resets, truncs, alerts)
	if resets+truncs == 0 {
		t.Fatal("no response broke off: the test proved nothing about rollbacks")
	}
}

// newLiveCrashEnv is a tenant whose 40 minutes of history end 25 s in the
// future: a daemon catches up on 14 windows of ~2,700 records (~4 MB of
// queue each: the writer flushes past the commit mark while the drainers
// read), each checkpointed about nine times, then polls while records keep
// arriving, up to 4 s late, every response in a new order.
func newLiveCrashEnv(t *testing.T, seed int64) *liveCrashEnv {
	now := time.Now().UTC()
	sc := simulator.Config{
		Username: "u", Password: "p", Seed: seed,
		Start: now.Add(-40 * time.Minute), End: now.Add(25 * time.Second), Records: 36000,
		MaxLateness:   4 * time.Second,
		DuplicateRate: 0.02, MalformedRate: 0.01, HostileRate: 0.02, Shape: "data", Schema: "mixed",
		Shuffle: true,
	}
	maddr := freeAddr(t)
	e := &liveCrashEnv{
		crashEnv:   newCrashEnvFrom(t, sc, "date_format: rfc3339\n    poll_interval: 1s\n    window: 3m\n    overlap: 10s\n    max_lateness: 5s\n    checkpoint_records: 300\n", "detections: {enabled: true}\n", maddr),
		metrics:    maddr,
		allVisible: sc.End.Add(sc.MaxLateness + time.Second),
	}
	for f := range e.sim.Facts() {
		e.visible = append(e.visible, f.VisibleAt)
	}
	sort.Slice(e.visible, func(i, j int) bool { return e.visible[i].Before(e.visible[j]) })
	return e
}

type liveCrashEnv struct {
	*crashEnv
	visible    []time.Time // every record's VisibleAt, ascending
	allVisible time.Time
	metrics    string // the binary's metrics address
}

// visibleBy counts the records the API serves at t.
func (e *liveCrashEnv) visibleBy(t time.Time) int {
	return sort.Search(len(e.visible), func(i int) bool { return e.visible[i].After(t) })
}

// faultStats counts the requests, and those whose body broke off.
func (e *liveCrashEnv) faultStats() (requests, resets, truncs int) {
	log := e.sim.Requests()
	for _, r := range log {
		if r.Aborted {
			resets++
		}
		if r.Truncated {
			truncs++
		}
	}
	return len(log), resets, truncs
}

// malformedHashes fetches the whole tenant once and returns the hash of
// every entry that is not a valid record: what the dead letter must hold.
func (e *liveCrashEnv) malformedHashes(t *testing.T) map[string]bool {
	t.Helper()
	sc := e.sim.Config()
	u := fmt.Sprintf("%s%s?%s=%s&%s=%s", e.url, sc.Path,
		sc.StartParam, url.QueryEscape(sc.Start.Format(time.RFC3339Nano)),
		sc.EndParam, url.QueryEscape(sc.End.Add(time.Second).Format(time.RFC3339Nano)))
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.SetBasicAuth(sc.Username, sc.Password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Data []json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("fetching the whole tenant: %v", err)
	}
	valid := map[string]bool{}
	for _, id := range e.sim.ValidIDs() {
		b, _ := e.sim.RecordJSON(id)
		valid[string(b)] = true
	}
	out := map[string]bool{}
	for _, raw := range body.Data {
		if !valid[string(raw)] {
			out[event.Event{Hash: event.Hash(raw)}.HashHex()] = true
		}
	}
	if len(out) == 0 {
		t.Fatal("the tenant has no malformed entry")
	}
	return out
}

// checkDeadLetterHolds: the dead letter holds exactly the malformed
// entries, each once (e.check has already seen it repeats none).
func (e *liveCrashEnv) checkDeadLetterHolds(t *testing.T, want map[string]bool) {
	t.Helper()
	data, err := os.ReadFile(e.dlPath)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var d struct{ Hash string }
		json.Unmarshal([]byte(line), &d)
		got[d.Hash] = true
		if !want[d.Hash] {
			t.Errorf("dead letter holds %s, which is no malformed entry", d.Hash)
		}
	}
	for h := range want {
		if !got[h] {
			t.Errorf("dead letter lacks malformed entry %s", h)
		}
	}
}

// injectFaults queues a fresh schedule: normal answers and broken bodies
// alternate, so no window fails many times in a row (--once gives up after
// 8), and a body breaks off anywhere in its window: before, between or after
// the window's partial checkpoints.
func injectFaults(sim *simulator.Simulator, rng *rand.Rand) {
	sim.ClearFaults()
	for range 60 {
		sim.InjectFault(simulator.Fault{Times: 1 + rng.Intn(2)})
		if rng.Intn(3) == 0 {
			sim.InjectFault(simulator.Fault{Truncate: true})
		} else {
			sim.InjectFault(simulator.Fault{ResetAfter: 1 + rng.Intn(3000)})
		}
	}
}

func randomMoment(rng *rand.Rand) time.Duration {
	return time.Duration(50+rng.Intn(2500)) * time.Millisecond
}

// crashRuns starts the binary, one run at a time, each with its own log.
type crashRuns struct {
	t              *testing.T
	e              *liveCrashEnv
	dir            string
	all            []*crashRun
	last           *crashRun
	lines1, lines2 *lineCounter
}

type crashRun struct {
	t       *testing.T
	name    string
	mode    string
	log     string
	cmd     *exec.Cmd
	done    chan error
	exited  bool
	err     error
	started time.Time
}

func (r *crashRuns) start(mode string, args ...string) *crashRun {
	r.t.Helper()
	if r.lines1 == nil {
		r.lines1, r.lines2 = &lineCounter{path: r.e.out1}, &lineCounter{path: r.e.out2}
	}
	p := &crashRun{t: r.t, mode: mode, name: fmt.Sprintf("%02d-%s", len(r.all), mode), done: make(chan error, 1)}
	p.log = filepath.Join(r.dir, p.name+".log")
	f, err := os.Create(p.log)
	if err != nil {
		r.t.Fatal(err)
	}
	p.cmd = exec.Command(binPath, append([]string{"run", "--config", r.e.cfg}, args...)...)
	p.cmd.Stderr = f
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait(); f.Close() }()
	r.all, r.last = append(r.all, p), p
	return p
}

// exitWithin waits up to d for the run to end on its own.
func (p *crashRun) exitWithin(d time.Duration) (bool, error) {
	if !p.exited {
		select {
		case p.err = <-p.done:
			p.exited = true
		case <-time.After(d):
		}
	}
	return p.exited, p.err
}

func (p *crashRun) kill() {
	if !p.exited {
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.err, p.exited = <-p.done, true
	}
}

// waitFor polls cond until it holds; the run dying, checkLog or the
// ceiling passing fails the test. cond also says where things stand.
func (p *crashRun) waitFor(what string, ceiling time.Duration, cond func() (bool, string)) {
	p.t.Helper()
	deadline := time.Now().Add(ceiling)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if exited, err := p.exitWithin(100 * time.Millisecond); exited {
			p.t.Fatalf("run %s exited before it could %s (%s): %v\n%s", p.name, what, state, err, p.tail())
		}
		p.checkLog()
		if time.Now().After(deadline) {
			p.t.Fatalf("run %s did not %s within %s (%s)", p.name, what, ceiling, state)
		}
	}
}

// caughtUp: both files have at least want lines.
func (r *crashRuns) caughtUp(want int) func() (bool, string) {
	return func() (bool, string) {
		n1, n2 := r.lines1.count(), r.lines2.count()
		return n1 >= want && n2 >= want, fmt.Sprintf("want %d lines, out1 has %d, out2 %d", want, n1, n2)
	}
}

// checkLog fails the test when the run said an output stopped (on a
// healthy disk the file outputs never may: a queue read back what it
// should not have) or the race detector spoke.
func (p *crashRun) checkLog() {
	p.t.Helper()
	b, _ := os.ReadFile(p.log)
	for _, bad := range []string{"queue unreadable", "output stopped", "WARNING: DATA RACE"} {
		if i := bytes.Index(b, []byte(bad)); i >= 0 {
			line := b[bytes.LastIndexByte(b[:i], '\n')+1:]
			if j := bytes.IndexByte(line, '\n'); j >= 0 {
				line = line[:j]
			}
			p.t.Fatalf("run %s: %s", p.name, line)
		}
	}
}

// tail is the end of the run's log.
func (p *crashRun) tail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

func (r *crashRuns) stop() {
	for _, p := range r.all {
		p.kill()
	}
}

// dumpErrors prints what the runs logged at error level, and panics.
func (r *crashRuns) dumpErrors() {
	shown := 0
	for _, p := range r.all {
		b, _ := os.ReadFile(p.log)
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, "level=error") || strings.Contains(line, "level=fatal") || strings.Contains(line, "panic") || strings.Contains(line, "DATA RACE") {
				if shown++; shown <= 40 {
					r.t.Logf("%s: %.400s", p.name, line)
				}
			}
		}
	}
	if shown > 40 {
		r.t.Logf("... %d more error lines, in %s", shown-40, r.dir)
	}
}

// lineCounter counts the lines of a growing file without reading all of it
// again each time; a file cut shorter (a restart rewinds the file output)
// is counted again from the start. It only tells when to act; e.check
// reads every line to judge.
type lineCounter struct {
	path  string
	off   int64
	lines int
	buf   []byte
}

func (c *lineCounter) count() int {
	f, err := os.Open(c.path)
	if err != nil {
		return 0
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || fi.Size() < c.off {
		c.off, c.lines = 0, 0
	}
	if c.buf == nil {
		c.buf = make([]byte, 1<<20)
	}
	for {
		n, err := f.ReadAt(c.buf, c.off)
		c.lines += bytes.Count(c.buf[:n], []byte{'\n'})
		c.off += int64(n)
		if err != nil || n == 0 {
			return c.lines
		}
	}
}
