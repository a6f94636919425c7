package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditfwd/auditfwd/internal/bench"
)

// TestBenchCounts runs `auditfwd bench` on a small day and checks what it
// counted, never how fast: figures belong in the README, not in a test.
func TestBenchCounts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "work")
	prof := filepath.Join(t.TempDir(), "prof")
	code, stdout, stderr := runBin(t, nil, "bench", "--records", "2000", "--dir", dir, "--profile", prof, "--json")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	var rep bench.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, stdout)
	}
	if len(rep.Passes) != 2 {
		t.Fatalf("%d passes, want 2", len(rep.Passes))
	}
	first, again := rep.Passes[0], rep.Passes[1]
	if first.SourceSeen != 2000 || first.Repeats == 0 || first.Malformed == 0 {
		t.Errorf("simulator served %d unique records (want 2000), %d repeats, %d malformed: want the demo mix",
			first.SourceSeen, first.Repeats, first.Malformed)
	}
	if first.Fetched != int64(first.Served) || first.New+first.Duplicate+first.DeadLettered != first.Fetched {
		t.Errorf("first pass: served %d, fetched %d = new %d + duplicate %d + dead %d?",
			first.Served, first.Fetched, first.New, first.Duplicate, first.DeadLettered)
	}
	if first.New != int64(first.SourceSeen) || first.Delivered != first.New || first.Queued != 0 {
		t.Errorf("first pass: new %d, delivered %d, queued %d; want every one of the %d unique records delivered",
			first.New, first.Delivered, first.Queued, first.SourceSeen)
	}
	if first.DeadLettered == 0 || first.DeadLettered > int64(first.Malformed) {
		t.Errorf("first pass dead-lettered %d of %d malformed entries", first.DeadLettered, first.Malformed)
	}
	if again.Fetched != first.Fetched || again.Duplicate != again.Fetched || again.New != 0 || again.DeadLettered != 0 || again.Delivered != 0 {
		t.Errorf("re-poll: fetched %d (first pass %d), duplicate %d, new %d, dead %d, delivered %d; want all duplicates",
			again.Fetched, first.Fetched, again.Duplicate, again.New, again.DeadLettered, again.Delivered)
	}
	for _, p := range rep.Passes {
		if p.CPU() <= 0 || p.Wall <= 0 || p.MaxRSS <= 0 || p.Disk.Output <= 0 || p.Disk.StateDB <= 0 || p.Kept != first.New+first.DeadLettered {
			t.Errorf("%s: CPU %v, wall %v, RSS %d, disk %+v, kept %d", p.Name, p.CPU(), p.Wall, p.MaxRSS, p.Disk, p.Kept)
		}
	}
	for _, f := range []string{"pass-1.cpu.pprof", "pass-1.mem.pprof", "pass-2.cpu.pprof", "pass-2.mem.pprof"} {
		if fi, err := os.Stat(filepath.Join(prof, f)); err != nil || fi.Size() == 0 {
			t.Errorf("profile %s: %v", f, err)
		}
	}
	// The human table of the same run.
	code, stdout, _ = runBin(t, nil, "bench", "--records", "300", "--passes", "1", "--clean")
	if code != 0 || !containsAll(stdout, "CPU µs/record", "first pass", "0 malformed") {
		t.Errorf("exit %d, table:\n%s", code, stdout)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// TestBenchAccessCounts runs `auditfwd bench --access` on a small day: every
// generated line is fetched once and delivered or dead-lettered, and a
// second run reuses the generated archives.
func TestBenchAccessCounts(t *testing.T) {
	archives := t.TempDir()
	for run := 0; run < 2; run++ {
		code, stdout, stderr := runBin(t, nil, "bench", "--access", "--lines", "2400", "--page-lines", "1000", "--archives", archives, "--json")
		if code != 0 {
			t.Fatalf("run %d: exit %d:\n%s", run, code, stderr)
		}
		var rep bench.AccessReport
		if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
			t.Fatalf("report: %v\n%s", err, stdout)
		}
		p := rep.Pass
		if rep.Lines < 2400 || rep.Answers != 3 || rep.ServedAnswers != 3 || p.Fetched != rep.Lines ||
			p.New+p.DeadLettered != p.Fetched || p.Delivered != p.New || p.Queued != 0 {
			t.Errorf("run %d: %d lines in %d answers (%d served); fetched %d, new %d, dead %d, delivered %d, queued %d",
				run, rep.Lines, rep.Answers, rep.ServedAnswers, p.Fetched, p.New, p.DeadLettered, p.Delivered, p.Queued)
		}
		if p.CPU() <= 0 || p.MaxRSS <= 0 || p.Disk.Output <= 0 {
			t.Errorf("run %d: CPU %v, RSS %d, output %d bytes", run, p.CPU(), p.MaxRSS, p.Disk.Output)
		}
		if rep.Generated != (run == 0) {
			t.Errorf("run %d: generated %v; the second run should reuse the archives", run, rep.Generated)
		}
	}
}
