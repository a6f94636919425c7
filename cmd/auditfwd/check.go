package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/auditfwd/auditfwd/internal/pipeline"
	"github.com/auditfwd/auditfwd/outputs"
)

// cmdCheck tests every source's credentials and every output's target
// without writing data: exit 0 when all pass, 1 with one line per failure.
func cmdCheck(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("check", "check --config FILE [--timeout 30s]", stderr)
	cfgPath := fs.String("config", "", "configuration file (YAML)")
	timeout := fs.Duration("timeout", 30*time.Second, "time allowed for each check")
	if done, code := parseFlags(fs, args, stdout); done {
		return code
	}
	cfg, _, code := loadConfigAndRules(*cfgPath, stderr)
	if cfg == nil {
		return code
	}
	printWarnings(stdout, cfg, "")
	failed := 0
	report := func(kind, name string, err error) {
		if err != nil {
			failed++
			fmt.Fprintf(stdout, "FAIL %s %s: %v\n", kind, name, err)
			return
		}
		fmt.Fprintf(stdout, "ok   %s %s\n", kind, name)
	}
	report("state_dir", cfg.StateDir, checkStateDir(cfg.StateDir))
	if note, err := checkMetricsListen(*cfg.Metrics.Listen); err != nil {
		report("metrics.listen", *cfg.Metrics.Listen, err)
	} else {
		fmt.Fprintf(stdout, "ok   metrics.listen %s (%s)\n", *cfg.Metrics.Listen, note)
	}
	for _, sc := range cfg.Sources {
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		report("source", sc.Name, pipeline.CheckSource(ctx, sc))
		cancel()
	}
	outs, err := buildOutputs(cfg, io.Discard)
	if err != nil {
		fmt.Fprintf(stderr, "auditfwd: %v\n", err)
		return exitUsage
	}
	for _, o := range outs {
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		var err error
		if c, ok := o.(outputs.Checker); ok {
			err = c.Check(ctx)
		}
		cancel()
		report("output", o.Name(), err)
		o.Close()
	}
	if failed > 0 {
		return exitRuntime
	}
	return exitOK
}
