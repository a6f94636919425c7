// Package bench measures auditfwd end to end: a simulated WSS tenant with one
// day of records, served from this process, and the real binary run as a
// child (`run --once`, file output) twice over the same state: a first pass
// with a cold state, then a re-poll of the same day in which every record is a
// duplicate. The child's CPU and peak RSS come from its rusage, so the
// simulator's own work is not counted.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/auditfwd/auditfwd/internal/simulator"
)

// Config is one benchmark run.
type Config struct {
	Binary  string // the auditfwd executable run as `run --once`
	Records int    // unique valid records in the day
	Dir     string // work directory; "" = a temporary one
	Keep    bool   // keep Dir (a temporary one is otherwise removed)
	Clean   bool   // no duplicates, malformed or hostile records
	Passes  int    // passes over the same day and state; 2 = first pass + one re-poll
	// Detections runs the shipped rule pack on every new event (the
	// difference to a run without is the engine's cost per event).
	Detections bool
	// ProfileDir, when set, receives pass-N.cpu.pprof and pass-N.mem.pprof
	// from each run child (see AUDITFWD_CPUPROFILE in cmd/auditfwd).
	ProfileDir string
	Progress   io.Writer // one line per pass as it starts and ends; nil = quiet
}

// Report is what Run measured.
type Report struct {
	Records int    // unique valid records in the day
	Mix     string // the simulated tenant's record mix
	Dir     string // work directory ("" once removed)
	Passes  []Pass
	// The bench process, which is mostly the simulator: its peak RSS shows
	// the simulator streams instead of building the body in memory.
	SimMaxRSS int64         // bytes
	SimCPU    time.Duration // user+sys of this process
}

// Pass is one `run --once` of the child.
type Pass struct {
	Name string // "first pass", "re-poll"

	// What the simulator served, from its request log.
	Requests   int
	Served     int // array entries: valid records, in-response repeats and malformed entries
	Repeats    int // of which repeats of a record within the same response
	Malformed  int // of which malformed entries
	SourceSeen int // unique valid records served (Served - Repeats - Malformed)

	// What the child reported in its closing summary.
	Fetched, New, Duplicate, DeadLettered int64
	Delivered, OutputDeadLettered         int64
	Queued                                int64

	Wall      time.Duration
	User, Sys time.Duration
	MaxRSS    int64 // bytes
	ExitCode  int

	Disk Disk  // after the pass
	Kept int64 // records on disk after the pass: new and dead-lettered, this pass and earlier ones
}

// DiskPerRecord is the agent's disk use after the pass per record kept.
func (p Pass) DiskPerRecord() float64 {
	if p.Kept == 0 {
		return 0
	}
	return float64(p.Disk.Total()) / float64(p.Kept)
}

// CPU is the child's user+sys time.
func (p Pass) CPU() time.Duration { return p.User + p.Sys }

// CPUPerRecord is the child's CPU time per fetched record, in microseconds.
func (p Pass) CPUPerRecord() float64 {
	if p.Fetched == 0 {
		return 0
	}
	return float64(p.CPU().Microseconds()) / float64(p.Fetched)
}

// RecordsPerSecond is fetched records per second of wall time.
func (p Pass) RecordsPerSecond() float64 {
	if p.Wall <= 0 {
		return 0
	}
	return float64(p.Fetched) / p.Wall.Seconds()
}

// workDir returns the run's work directory: dir (created), or a new
// temporary one removed by cleanup unless keep. It must hold no state yet,
// since a first pass needs a cold one; profile, when set, is created too.
func workDir(dir string, keep bool, prefix, profile string) (string, func(), error) {
	cleanup := func() {}
	if dir == "" {
		tmp, err := os.MkdirTemp("", prefix)
		if err != nil {
			return "", cleanup, err
		}
		dir = tmp
		if !keep {
			cleanup = func() { os.RemoveAll(tmp) }
		}
	} else if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", cleanup, err
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "state")); len(entries) > 0 {
		cleanup()
		return "", func() {}, fmt.Errorf("bench: %s already holds a state; the first pass needs a cold one", dir)
	}
	if profile != "" {
		if err := os.MkdirAll(profile, 0o750); err != nil {
			cleanup()
			return "", func() {}, err
		}
	}
	return dir, cleanup, nil
}

// Run serves the simulated day, runs the passes and measures them.
func Run(ctx context.Context, cfg Config) (rep *Report, err error) {
	if cfg.Records <= 0 {
		return nil, errors.New("bench: records must be > 0")
	}
	if cfg.Passes <= 0 {
		cfg.Passes = 2
	}
	dir, cleanup, err := workDir(cfg.Dir, cfg.Keep, "auditfwd-bench-", cfg.ProfileDir)
	if err != nil {
		return nil, err
	}
	defer cleanup()

	sc, day := simConfig(cfg.Records, cfg.Clean, time.Now())
	sim, err := simulator.New(sc)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(runConfig(dir, ln.Addr().String(), sc, day, cfg.Detections)), 0o640); err != nil {
		return nil, err
	}
	rep = &Report{Records: cfg.Records, Mix: mix(sc)}
	if cfg.Keep || cfg.Dir != "" {
		rep.Dir = dir
	}
	var kept int64
	for n := 1; n <= cfg.Passes; n++ {
		name := "first pass"
		if n > 1 {
			name = "re-poll"
		}
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, "bench: pass %d (%s) of %d records...\n", n, name, cfg.Records)
		}
		before := len(sim.Requests())
		p, err := runPass(ctx, cfg, dir, cfgPath, n)
		p.Name = name
		countServed(&p, sim.Requests()[before:])
		kept += p.New + p.DeadLettered
		p.Kept = kept
		if err == nil {
			p.Disk, err = diskUsage(dir)
		}
		rep.Passes = append(rep.Passes, p)
		if err != nil {
			return rep, fmt.Errorf("bench: pass %d: %w", n, err)
		}
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, "bench: pass %d done in %s\n", n, p.Wall.Round(time.Millisecond))
		}
	}
	rep.SimMaxRSS, rep.SimCPU = selfUsage()
	return rep, nil
}

// simConfig is the demo tenant with every record of one UTC day (today)
// visible. The simulator's clock stands after the day's end plus the maximum
// lateness, so nothing is held back; the agent's clock is real, so its
// windows ask for today, and a second run asks for today again: that is the
// re-poll of an already-seen day that the date granularity of the API forces
// on every poll.
func simConfig(records int, clean bool, now time.Time) (simulator.Config, time.Time) {
	day := now.UTC().Truncate(24 * time.Hour)
	sc := simulator.DemoConfig(now)
	sc.Username, sc.Password = "bench", "bench"
	sc.Start, sc.End = day, day.Add(24*time.Hour)
	sc.Records = records
	simNow := sc.End.Add(sc.MaxLateness + time.Minute)
	sc.Now = func() time.Time { return simNow }
	if clean {
		sc.DuplicateRate, sc.MalformedRate, sc.HostileRate = 0, 0, 0
	}
	return sc, day
}

func mix(sc simulator.Config) string {
	return fmt.Sprintf("schema %s, shape %s, %.0f%% served twice, %.0f%% malformed, %.0f%% hostile",
		sc.Schema, sc.Shape, 100*sc.DuplicateRate, 100*sc.MalformedRate, 100*sc.HostileRate)
}

// runConfig is the child's configuration: the defaults of a production file
// output (fsync per batch, 500-event batches), JSON logs so the bench can
// read the closing summary.
func runConfig(dir, addr string, sc simulator.Config, day time.Time, detections bool) string {
	det := ""
	if detections {
		det = "detections: {enabled: true}\n"
	}
	return fmt.Sprintf(`%sstate_dir: %q
shutdown_timeout: 1h
log: {level: info, format: json}
metrics: {listen: ""}
sources:
  - name: bench
    type: wss_audit
    base_url: http://%s
    username: %q
    password: %q
    date_format: date
    start: %q
    poll_interval: 5m
    timeout: 600s
outputs:
  - name: file
    type: file
    path: %q
`, det, filepath.Join(dir, "state"), addr, sc.Username, sc.Password, day.Format(time.RFC3339), filepath.Join(dir, "events.ndjson"))
}

func runPass(ctx context.Context, cfg Config, dir, cfgPath string, n int) (Pass, error) {
	var p Pass
	logPath := filepath.Join(dir, fmt.Sprintf("pass-%d.log", n))
	logf, err := os.Create(logPath)
	if err != nil {
		return p, err
	}
	defer logf.Close()
	cmd := exec.CommandContext(ctx, cfg.Binary, "run", "--config", cfgPath, "--once")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = os.Environ()
	if cfg.ProfileDir != "" {
		cmd.Env = append(cmd.Env,
			"AUDITFWD_CPUPROFILE="+filepath.Join(cfg.ProfileDir, fmt.Sprintf("pass-%d.cpu.pprof", n)),
			"AUDITFWD_MEMPROFILE="+filepath.Join(cfg.ProfileDir, fmt.Sprintf("pass-%d.mem.pprof", n)))
	}
	start := time.Now()
	runErr := cmd.Run()
	p.Wall = time.Since(start)
	if cmd.ProcessState == nil {
		return p, runErr
	}
	p.ExitCode = cmd.ProcessState.ExitCode()
	p.User, p.Sys = cmd.ProcessState.UserTime(), cmd.ProcessState.SystemTime()
	p.MaxRSS = childMaxRSS(cmd.ProcessState)
	sumErr := readSummary(logPath, &p)
	if runErr != nil {
		return p, fmt.Errorf("%s run exited %d (log %s): %s", cfg.Binary, p.ExitCode, logPath, lastLines(logPath, 5))
	}
	return p, sumErr
}

func countServed(p *Pass, reqs []simulator.Request) {
	p.Requests = len(reqs)
	for _, r := range reqs {
		p.Served += r.Records + r.Malformed
		p.Repeats += r.Duplicates
		p.Malformed += r.Malformed
	}
	p.SourceSeen = p.Served - p.Repeats - p.Malformed
}

func lastLines(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
