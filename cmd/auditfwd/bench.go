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
	fs := newFlags("bench", "bench [--records 200000] [--passes 2] [--dir DIR [--keep]] [--clean] [--detections] [--profile DIR] [--json]\n"+
		"       bench --access [--lines 10000000] [--page-lines 100000] [--archives DIR] [--dir DIR [--keep]] [--profile DIR] [--json]", stderr)
	records := fs.Int("records", 200_000, "unique records in the simulated day")
	passes := fs.Int("passes", 2, "runs over the same day and state: the first pass, then re-polls (all duplicates)")
	dir := fs.String("dir", "", "work directory for state, output and logs (default: a temporary one, removed)")
	keep := fs.Bool("keep", false, "keep the temporary work directory")
	clean := fs.Bool("clean", false, "no duplicates, malformed or hostile records (default: the demo's mix)")
	profile := fs.String("profile", "", "write each run child's CPU and heap profiles (pass-N.cpu.pprof, pass-N.mem.pprof) here")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	detections := fs.Bool("detections", false, "run the shipped detection rules on every new event")
	access := fs.Bool("access", false, "benchmark the access-log source (wss_access) instead: one first pass over a day of --lines lines")
	lines := fs.Int64("lines", 10_000_000, "with --access: lines in the day")
	pageLines := fs.Int("page-lines", 100_000, "with --access: lines per Sync API answer (one archive)")
	archives := fs.String("archives", "", "with --access: where the generated answers are kept for later runs (default: the user cache directory)")
	checkpoint := fs.Int("checkpoint-records", 0, "with --access: the source's checkpoint_records (0: the default)")
	keepOriginal := fs.Bool("keep-original", false, "with --access: keep_original: true (event.original in every document)")
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
	if *access {
		rep, err := bench.RunAccess(ctx, bench.AccessConfig{
			Binary: self, Lines: *lines, PageLines: *pageLines, Archives: *archives, Dir: *dir, Keep: *keep,
			Checkpoint: *checkpoint, KeepOriginal: *keepOriginal, ProfileDir: *profile, Progress: stderr,
		})
		return benchOut(rep, rep != nil, *asJSON, err, stdout, stderr)
	}
	rep, err := bench.Run(ctx, bench.Config{
		Binary: self, Records: *records, Passes: *passes, Dir: *dir, Keep: *keep,
		Clean: *clean, ProfileDir: *profile, Progress: stderr, Detections: *detections,
	})
	return benchOut(rep, rep != nil, *asJSON, err, stdout, stderr)
}

// benchOut prints a report (as JSON or its table) and the error.
func benchOut(rep interface{ WriteTable(io.Writer) }, ok, asJSON bool, err error, stdout, stderr io.Writer) int {
	if ok {
		if asJSON {
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
