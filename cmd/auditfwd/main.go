// Command auditfwd forwards the Broadcom WSS admin audit log to SIEMs.
// This file only parses flags, loads config, wires and handles signals.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	_ "time/tzdata" // detections.business_hours names a zone; a container may have no zoneinfo

	"github.com/sirupsen/logrus"

	"github.com/auditfwd/auditfwd/internal/config"
	"github.com/auditfwd/auditfwd/internal/pipeline"
)

// Exit codes.
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
)

const usage = `auditfwd forwards the Broadcom WSS (Cloud SWG) admin audit log to SIEMs.

Usage:
  auditfwd demo                          built-in WSS simulator -> pipeline -> stdout and ./demo-out/
  auditfwd run --config FILE [--once] [--dry-run]
                                         poll forever (or catch up, deliver, exit with --once);
                                         --dry-run prints what would be sent on stdout, commits nothing, exits
  auditfwd validate --config FILE        report every configuration error; exit 2 on error
  auditfwd check --config FILE           test every source's credential and every output's target; write nothing
  auditfwd status --config FILE|--url U  the running agent's sources and outputs: lag, last poll, queues, errors
  auditfwd backfill --config FILE --source NAME --from T --to T
                                         fetch a past range through the same dedup and outputs (resumable)
  auditfwd state show|set|reset --config FILE [--source NAME]
                                         inspect or fix the cursor and the dedup store (agent stopped)
  auditfwd simulate --addr HOST:PORT     serve the WSS audit API simulator alone
  auditfwd bench [--records N]           time run --once over one simulated day: first pass and re-poll
  auditfwd rules list|validate DIR|test --events FILE
                                         the Sigma rule pack: list it, check rules, run them over stored events
  auditfwd version                       version, commit and Go version of this binary

Run "auditfwd COMMAND --help" for a command's flags.
Exit codes: 0 ok, 1 runtime failure, 2 bad configuration or usage.
`

func main() {
	tuneGC()
	stopProfiles := startProfiles(os.Stderr)
	code := run(os.Args[1:], os.Stdout, os.Stderr)
	stopProfiles()
	os.Exit(code)
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "demo":
		return cmdDemo(rest, stdout, stderr)
	case "run":
		return cmdRun(rest, stdout, stderr)
	case "validate":
		return cmdValidate(rest, stdout, stderr)
	case "simulate":
		return cmdSimulate(rest, stdout, stderr)
	case "check":
		return cmdCheck(rest, stdout, stderr)
	case "status":
		return cmdStatus(rest, stdout, stderr)
	case "state":
		return cmdState(rest, stdout, stderr)
	case "backfill":
		return cmdBackfill(rest, stdout, stderr)
	case "bench":
		return cmdBench(rest, stdout, stderr)
	case "rules":
		return cmdRules(rest, stdout, stderr)
	case "version", "--version", "-version":
		return cmdVersion(rest, stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "auditfwd: unknown command %q\n\n%s", cmd, usage)
		return exitUsage
	}
}

// newFlags makes a FlagSet whose --help prints to stdout and exits 0, and
// whose errors exit 2.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: auditfwd %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags returns (done, code): done when the command must end now.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) (bool, int) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, exitOK
		}
		return true, exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return true, exitUsage
	}
	return false, 0
}

func loadConfig(path string, stderr io.Writer) (*config.Config, int) {
	if path == "" {
		fmt.Fprintln(stderr, "auditfwd: --config is required")
		return nil, exitUsage
	}
	cfg, err := config.Load(path)
	if err != nil {
		var ce config.Errors
		if errors.As(err, &ce) {
			fmt.Fprintf(stderr, "%s: %d configuration error(s):\n", path, len(ce))
			for _, e := range ce {
				fmt.Fprintf(stderr, "  %v\n", e)
			}
			return nil, exitUsage
		}
		fmt.Fprintf(stderr, "auditfwd: %v\n", err)
		return nil, exitUsage
	}
	return cfg, exitOK
}

// loadConfigAndRules is loadConfig plus the detection rules it names, for
// the commands that run them (run, backfill, demo) or judge them (check,
// validate). The rules are part of the configuration: one that does not
// load is a configuration error, with its file and line, before anything
// starts. The state commands use loadConfig alone: a rule typo must not
// keep an operator from inspecting or repairing the state.
func loadConfigAndRules(path string, stderr io.Writer) (*config.Config, *pipeline.Detections, int) {
	cfg, code := loadConfig(path, stderr)
	if cfg == nil {
		return nil, nil, code
	}
	det, err := pipeline.LoadDetections(cfg)
	if err != nil {
		lines := strings.Split(err.Error(), "\n")
		fmt.Fprintf(stderr, "%s: detections: %d rule error(s):\n", path, len(lines))
		for _, l := range lines {
			fmt.Fprintf(stderr, "  %s\n", l)
		}
		return nil, nil, exitUsage
	}
	return cfg, det, exitOK
}

func newLogger(cfg config.Log, w io.Writer) *logrus.Logger {
	log := logrus.New()
	log.SetOutput(w)
	applyLogConfig(log, cfg)
	return log
}

// applyLogConfig sets the level and format (at start and on reload).
func applyLogConfig(log *logrus.Logger, cfg config.Log) {
	if lvl, err := logrus.ParseLevel(cfg.Level); err == nil {
		log.SetLevel(lvl)
	}
	if cfg.Format == "json" {
		log.SetFormatter(&logrus.JSONFormatter{})
	} else {
		log.SetFormatter(&logrus.TextFormatter{FullTimestamp: true})
	}
}

// signalContext ends at the first SIGINT/SIGTERM; a second one exits at
// once (the queues are on disk, so that is still safe).
func signalContext(log *logrus.Logger) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		sig, ok := <-ch
		if !ok {
			return
		}
		log.WithField("signal", sig.String()).Info("stopping: polling ends, queued events get shutdown_timeout to go out (signal again to exit at once)")
		cancel()
		if _, ok := <-ch; ok {
			log.Warn("second signal: exiting now; queued events stay on disk")
			os.Exit(exitRuntime)
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(ch)
		cancel()
	}
}
