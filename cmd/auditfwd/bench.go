package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/auditfwd/auditfwd/internal/bench"
	"github.com/auditfwd/auditfwd/internal/config"
)

func cmdBench(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("bench", "bench [--records 200000] [--passes 2] [--dir DIR [--keep]] [--clean] [--detections] [--profile DIR] [--json]", stderr)
	records := fs.Int("records", 200_000, "unique records in the simulated day")
	passes := fs.Int("passes", 2, "runs over the same day and state: the first pass, then re-polls (all duplicates)")
	dir := fs.String("dir", "", "work directory for state, output and logs (default: a temporary one, removed)")
	keep := fs.Bool("keep", false, "keep the temporary work directory")
	clean := fs.Bool("clean", false, "no duplicates, malformed or hostile records (default: the demo's mix)")
	profile := fs.String("profile", "", "write each run child's CPU and heap profiles (pass-N.cpu.pprof, pass-N.mem.pprof) here")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	detections := fs.Bool("detections", false, "run the shipped detection rules on every new event")
	if done, code := parseFlags(fs, args, stdout); done {
		return code
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return exitRuntime
	}
	log := newLogger(config.Log{Level: "info"}, stderr)
	ctx, stop := signalContext(log)
	defer stop()
	rep, err := bench.Run(ctx, bench.Config{
		Binary: self, Records: *records, Passes: *passes, Dir: *dir, Keep: *keep,
		Clean: *clean, ProfileDir: *profile, Progress: stderr, Detections: *detections,
	})
	if rep != nil {
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			enc.Encode(rep)
		} else {
			rep.WriteTable(stdout)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return exitRuntime
	}
	return exitOK
}
