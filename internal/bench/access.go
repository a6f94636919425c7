package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// AccessConfig is one run of the access-log benchmark: a day of Lines
// access-log lines (source wss_access) through the agent's whole first
// pass: spool, Verify, parse, ECS, hash, dedup, durable queue, file output.
type AccessConfig struct {
	Binary    string // the auditfwd executable run as `run --once`
	Lines     int64  // lines in the day (rounded up to a multiple of 24: lines per hour)
	PageLines int    // lines per Sync API answer (one archive)
	// Archives is where the generated answers are kept between runs
	// (default: the user's cache directory, auditfwd-bench).
	Archives     string
	Dir          string // work directory; "" = a temporary one
	Keep         bool
	Checkpoint   int // checkpoint_records; 0 = the default
	KeepOriginal bool
	ProfileDir   string
	Progress     io.Writer
}

// AccessReport is what RunAccess measured. CPU and RSS are the agent's
// alone: it runs as a child process, and the answers are files the bench
// process copies into the socket.
type AccessReport struct {
	Lines         int64 // lines in the day's archives
	Answers       int
	ArchiveBytes  int64 // the answers' bytes, ZIP and trailers
	PageLines     int
	Archives      string // the directory of the generated answers
	Dir           string // work directory ("" once removed)
	Pass          Pass
	ServedAnswers int
	// The bench process: the replay of files (and the generation when
	// the archives were missing).
	SelfMaxRSS int64
	SelfCPU    time.Duration
	Generated  bool
}

// CPUPerLine is the agent's user+sys CPU per line fetched, in microseconds.
func (r *AccessReport) CPUPerLine() float64 { return r.Pass.CPUPerRecord() }

// RunAccess generates (or reuses) the archives, serves them and runs the
// agent over them once, from a cold state.
func RunAccess(ctx context.Context, cfg AccessConfig) (rep *AccessReport, err error) {
	if cfg.Lines <= 0 {
		return nil, errors.New("bench: lines must be > 0")
	}
	if cfg.PageLines <= 0 {
		cfg.PageLines = 100_000
	}
	if cfg.Archives == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		cfg.Archives = filepath.Join(base, "auditfwd-bench")
	}
	dir, cleanup, err := workDir(cfg.Dir, cfg.Keep, "auditfwd-bench-access-", cfg.ProfileDir)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	day := benchDay(time.Now())
	_, statErr := os.Stat(filepath.Join(cfg.Archives, fmt.Sprintf("access-%s-%d-p%d", day.Format("20060102"), cfg.Lines, cfg.PageLines), "index.json"))
	set, err := loadOrGenerate(cfg.Archives, day, cfg.Lines, cfg.PageLines, cfg.Progress)
	if err != nil {
		return nil, err
	}
	rep = &AccessReport{Lines: set.Lines, Answers: len(set.Answers), PageLines: set.PageLines, Archives: set.Dir, Generated: statErr != nil}
	for _, a := range set.Answers {
		rep.ArchiveBytes += a.Bytes
	}
	if cfg.Keep || cfg.Dir != "" {
		rep.Dir = dir
	}

	rp := newReplay(set)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: rp, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(accessRunConfig(dir, ln.Addr().String(), day, cfg)), 0o640); err != nil {
		return nil, err
	}
	if cfg.Progress != nil {
		fmt.Fprintf(cfg.Progress, "bench: first pass over %d access-log lines in %d answers...\n", set.Lines, len(set.Answers))
	}
	p, err := runPass(ctx, Config{Binary: cfg.Binary, ProfileDir: cfg.ProfileDir}, dir, cfgPath, 1)
	p.Name = "first pass"
	p.Served = int(set.Lines)
	p.SourceSeen = int(set.Lines)
	p.Kept = p.New + p.DeadLettered
	if err == nil {
		p.Disk, err = diskUsage(dir)
	}
	rep.ServedAnswers = int(rp.served.Load())
	p.Requests = rep.ServedAnswers
	rep.Pass = p
	rep.SelfMaxRSS, rep.SelfCPU = selfUsage()
	if err != nil {
		return rep, fmt.Errorf("bench: %w", err)
	}
	if p.Fetched != set.Lines || p.New+p.Duplicate+p.DeadLettered != p.Fetched || p.Delivered != p.New || p.Queued != 0 {
		return rep, fmt.Errorf("bench: the day has %d lines; the agent fetched %d (new %d, duplicate %d, dead-lettered %d), delivered %d, left %d queued",
			set.Lines, p.Fetched, p.New, p.Duplicate, p.DeadLettered, p.Delivered, p.Queued)
	}
	if cfg.Progress != nil {
		fmt.Fprintf(cfg.Progress, "bench: done in %s\n", p.Wall.Round(time.Millisecond))
	}
	return rep, nil
}

// accessRunConfig is the agent's configuration: a production file output
// (fsync per 500-event batch); min_request_interval 1ms instead of the
// production pace of 5 s, which would only add idle time between answers.
func accessRunConfig(dir, addr string, day time.Time, cfg AccessConfig) string {
	extra := ""
	if cfg.Checkpoint > 0 {
		extra += fmt.Sprintf("    checkpoint_records: %d\n", cfg.Checkpoint)
	}
	if cfg.KeepOriginal {
		extra += "    keep_original: true\n"
	}
	return fmt.Sprintf(`state_dir: %q
shutdown_timeout: 1h
log: {level: info, format: json}
metrics: {listen: ""}
sources:
  - name: access
    type: wss_access
    base_url: http://%s
    username: bench
    password: bench
    start: %q
    min_request_interval: 1ms
    request_timeout: 600s
%soutputs:
  - name: file
    type: file
    path: %q
`, filepath.Join(dir, "state"), addr, day.Format(time.RFC3339), extra, filepath.Join(dir, "events.ndjson"))
}
