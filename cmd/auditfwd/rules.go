package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/auditfwd/auditfwd/internal/detect"
	"github.com/auditfwd/auditfwd/rules"
)

const rulesUsage = `Usage:
  auditfwd rules list     [--rules DIR]
  auditfwd rules validate DIR
  auditfwd rules test     --events FILE.ndjson [--rules DIR] [--tz ZONE] [--days DAYS] [--hours HH:MM-HH:MM]

list     prints every rule: id, level, kind, title, file.
validate loads every *.yml under DIR into the detection engine and reports
         every problem with its file and line; exit 0 when all load, 2 when not.
test     runs the engine over stored ECS events (one JSON document per line,
         as the file output writes them), in file order, by event time, and
         prints each alert as an ECS document on stdout; a summary by rule on
         stderr. For tuning a rule on your own data.

Without --rules, the pack built into the binary (rules/ in the source).
The rules with custom.auditfwd.outside_business_hours fire outside the
business hours --tz (an IANA zone), --days (mon-fri, or a list such as
mon-thu,sat) and --hours (22:00-06:00 crosses midnight) give; default
mon-fri 08:00-18:00 UTC, as the agent without detections.business_hours.
`

func cmdRules(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w := stderr
		if len(args) > 0 {
			w = stdout
		}
		fmt.Fprint(w, rulesUsage)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	sub, rest := args[0], args[1:]
	fs := newFlags("rules "+sub, "rules "+sub, stderr)
	dir := fs.String("rules", "", "a directory of Sigma rules instead of the built-in pack")
	events := fs.String("events", "", "test: an NDJSON file of ECS events")
	tz := fs.String("tz", "UTC", "business hours: time zone (IANA name)")
	days := fs.String("days", "mon-fri", "business hours: days, such as mon-fri or mon-thu,sat")
	hours := fs.String("hours", "08:00-18:00", "business hours: HH:MM-HH:MM (the end may be 24:00)")
	// validate takes its directory as an argument: parse the flags here.
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if sub != "validate" && fs.NArg() > 0 {
		fmt.Fprintf(stderr, "auditfwd rules %s: unexpected argument %q\n", sub, fs.Arg(0))
		return exitUsage
	}
	bh, err := detect.ParseBusinessHours(*tz, []string{*days}, *hours)
	if err != nil {
		fmt.Fprintf(stderr, "auditfwd rules %s: %v\n", sub, err)
		return exitUsage
	}
	switch sub {
	case "list":
		rs, _, code := loadRules(*dir, bh, stderr)
		if rs == nil {
			return code
		}
		printRules(stdout, rs)
		return exitOK
	case "validate":
		if fs.NArg() != 1 {
			fmt.Fprintln(stderr, "auditfwd rules validate: give the directory of rules")
			return exitUsage
		}
		rs, _, code := loadRules(fs.Arg(0), bh, stderr)
		if rs == nil {
			return code
		}
		fmt.Fprintf(stdout, "%s: ok (%d rules)\n", fs.Arg(0), len(rs))
		return exitOK
	case "test":
		if *events == "" {
			fmt.Fprintln(stderr, "auditfwd rules test: --events is required")
			return exitUsage
		}
		rs, eng, code := loadRules(*dir, bh, stderr)
		if rs == nil {
			return code
		}
		return rulesTest(eng, *events, stdout, stderr)
	}
	fmt.Fprintf(stderr, "auditfwd rules: unknown subcommand %q\n\n%s", sub, rulesUsage)
	return exitUsage
}

// engineOptions names the custom.auditfwd options of a rule, for the
// list ("" when none).
func engineOptions(r *detect.Rule) string {
	var s string
	if r.NewValue != nil {
		s += ", new_value " + r.NewValue.Field
		if len(r.NewValue.GroupBy) > 0 {
			s += " by " + strings.Join(r.NewValue.GroupBy, ",")
		}
	}
	if r.OutsideBusinessHours {
		s += ", outside_business_hours"
	}
	return s
}

// loadRules loads dir (or the built-in pack) and builds an engine of its
// rules. rs is nil when they do not load.
func loadRules(dir string, hours *detect.BusinessHours, stderr io.Writer) ([]*detect.Rule, *detect.Engine, int) {
	var fsys fs.FS = rules.FS
	root := rules.Dir
	if dir != "" {
		fsys, root = os.DirFS(dir), "."
	}
	rs, err := detect.LoadFS(fsys, root)
	if err == nil && len(rs) == 0 {
		err = fmt.Errorf("no *.yml rule files under %s", root)
	}
	var eng *detect.Engine
	if err == nil {
		eng, err = detect.New(rs, detect.Options{BusinessHours: hours})
	}
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stderr, "auditfwd rules: %s\n", line)
		}
		return nil, nil, exitUsage
	}
	return rs, eng, exitOK
}

func printRules(w io.Writer, rs []*detect.Rule) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tLEVEL\tKIND\tTITLE\tFILE")
	for _, r := range rs {
		kind := "detection"
		if r.Correlation != nil {
			kind = r.Correlation.Type
		}
		kind += engineOptions(r)
		level := r.Level
		if level == "" {
			level = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, level, kind, r.Title, r.File)
	}
	tw.Flush()
}

// rulesTest runs eng over the events of path, in file order.
func rulesTest(eng *detect.Engine, path string, stdout, stderr io.Writer) int {
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintf(stderr, "auditfwd rules test: %v\n", err)
		return exitRuntime
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	byRule := map[string]int{}
	titles := map[string]string{}
	n, bad := 0, 0
	out := bufio.NewWriter(stdout)
	for line := 1; sc.Scan(); line++ {
		doc := sc.Bytes()
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		var head struct {
			Timestamp time.Time `json:"@timestamp"`
			Event     struct {
				Hash string `json:"hash"`
			} `json:"event"`
		}
		if err := json.Unmarshal(doc, &head); err != nil || head.Timestamp.IsZero() {
			bad++
			fmt.Fprintf(stderr, "auditfwd rules test: %s:%d: not an ECS event with @timestamp; skipped\n", path, line)
			continue
		}
		n++
		for _, a := range eng.Evaluate(doc, head.Timestamp, head.Event.Hash) {
			byRule[a.RuleID]++
			titles[a.RuleID] = a.Title
			out.Write(a.ECS())
			out.WriteByte('\n')
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(stderr, "auditfwd rules test: %s: %v\n", path, err)
		return exitRuntime
	}
	if err := out.Flush(); err != nil {
		fmt.Fprintf(stderr, "auditfwd rules test: writing the alerts: %v\n", err)
		return exitRuntime
	}
	ids := make([]string, 0, len(byRule))
	total := 0
	for id, c := range byRule {
		ids = append(ids, id)
		total += c
	}
	sort.Strings(ids)
	fmt.Fprintf(stderr, "%d events (%d lines skipped), %d alerts\n", n, bad, total)
	for _, r := range eng.Rules() {
		if r.OutsideBusinessHours {
			bh := eng.BusinessHours()
			fmt.Fprintf(stderr, "business hours: %s (--tz, --days, --hours)\n", bh.String())
			break
		}
	}
	for _, id := range ids {
		fmt.Fprintf(stderr, "  %5d  %s  %s\n", byRule[id], id, titles[id])
	}
	return exitOK
}
