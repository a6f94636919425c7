package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/auditfwd/auditfwd/internal/config"
	"github.com/auditfwd/auditfwd/internal/pipeline"
	"github.com/auditfwd/auditfwd/internal/state"
)

const stateUsage = `Usage:
  auditfwd state show  --config FILE [--source NAME] [--json]
  auditfwd state set   --config FILE --source NAME --cursor TIME   (or TIME as the last argument)
  auditfwd state reset --config FILE --source NAME [--only cursor|seen] [--yes]
  auditfwd state verify --config FILE
  auditfwd state repair --config FILE [--yes]

show   prints each source's cursor, last successful poll and seen-set (dedup
       store) size, and each queue's commit and delivery marks.
set    moves a source's cursor: the next poll starts at TIME (to read a day
       again, say). The seen-set stays, so what was delivered is not sent
       again; only records missed before are. A wss_access source's
       seen-set reaches only ~3 hours back: moved further, it sends what
       it delivered before again; its TIME is cut to the hour.
reset  forgets a source's cursor and seen-set: the next run starts at the
       source's configured start and sends everything again (the SIEMs get
       duplicates, which the event hash lets them drop). --only limits it.
       On a terminal it asks first, unless --yes.
verify checks what the agent checks before it starts, and more: the state
       file's structure and integrity stamp, a state with no progress beside
       queues, seen-set runs or dead letters of earlier runs, each queue's
       marks against its files, the dead letter's length, the seen-set runs.
       Exit 0 when consistent, 1 when not.
repair does what verify lists under "repair:" (each says what it costs:
       events lost for an output, records sent again) and stamps the state
       as it then reads; it moves files aside, never deletes them. On a
       terminal it asks first, unless --yes.

Stop the agent first: the state is locked while it runs.
TIME: RFC 3339 (2026-11-20T00:00:00Z), a date (2026-11-20, UTC midnight),
"now", or "now-36h" / "now-7d".
`

func cmdState(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w := stderr
		if len(args) > 0 {
			w = stdout
		}
		fmt.Fprint(w, stateUsage)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	sub, rest := args[0], args[1:]
	fs := newFlags("state "+sub, "state "+sub+" --config FILE ...", stderr)
	cfgPath := fs.String("config", "", "configuration file (YAML): its state_dir is used")
	source := fs.String("source", "", "source name")
	asJSON := fs.Bool("json", false, "show: print JSON")
	cursor := fs.String("cursor", "", "set: the new cursor (TIME)")
	only := fs.String("only", "", "reset: only the cursor or only the seen-set")
	yes := fs.Bool("yes", false, "reset, repair: do not ask (they ask only on a terminal)")
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	// "state set --source X 2026-11-20": the time may come last.
	if sub == "set" && *cursor == "" && fs.NArg() == 1 {
		*cursor = fs.Arg(0)
	} else if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "auditfwd state %s: unexpected argument %q\n", sub, fs.Arg(0))
		return exitUsage
	}
	cfg, code := loadConfig(*cfgPath, stderr)
	if cfg == nil {
		return code
	}
	switch sub {
	case "verify":
		return stateVerify(cfg, stdout, stderr)
	case "repair":
		return stateRepair(cfg, *yes, stdout, stderr)
	case "show", "set", "reset":
	default:
		fmt.Fprintf(stderr, "auditfwd state: unknown subcommand %q\n\n%s", sub, stateUsage)
		return exitUsage
	}
	if sub != "show" && *source == "" {
		fmt.Fprintf(stderr, "auditfwd state %s: --source is required\n", sub)
		return exitUsage
	}
	if _, err := os.Stat(filepath.Join(cfg.StateDir, "state.db")); err != nil {
		fmt.Fprintf(stderr, "auditfwd state: no state in %s (state_dir): has auditfwd run with this config?\n", cfg.StateDir)
		return exitRuntime
	}
	st, err := state.Open(cfg.StateDir)
	if err != nil {
		fmt.Fprintf(stderr, "auditfwd state: %v\n", err)
		return exitRuntime
	}
	defer st.Close()
	switch sub {
	case "show":
		return stateShow(st, cfg, *source, *asJSON, stdout, stderr)
	case "set":
		if *cursor == "" {
			fmt.Fprintln(stderr, "auditfwd state set: --cursor is required")
			return exitUsage
		}
		t, err := parseTimeArg(*cursor, time.Now())
		if err != nil {
			fmt.Fprintf(stderr, "auditfwd state set: --cursor: %v\n", err)
			return exitUsage
		}
		if t.After(time.Now()) {
			fmt.Fprintf(stderr, "auditfwd state set: --cursor %s is in the future\n", t.Format(time.RFC3339))
			return exitUsage
		}
		if !knownSource(st, cfg, *source) {
			fmt.Fprintf(stderr, "auditfwd state set: no source %q in the config or the state\n", *source)
			return exitUsage
		}
		old, had, _ := st.Cursor(*source)
		access := isAccessSource(cfg, *source)
		if access {
			// The Sync API starts on whole hours: the cursor is the hour
			// the next request starts from, as for a delivered line.
			t = t.UTC().Truncate(time.Hour)
		}
		if err := st.SetCursor(*source, t); err != nil {
			fmt.Fprintf(stderr, "auditfwd state set: %v\n", err)
			return exitRuntime
		}
		if access {
			// The Sync API token is dropped: the next run asks token=none
			// from the cursor's hour.
			if err := st.SetSourceValue(*source, state.KeySync, pipeline.AccessRestartAt(t)); err != nil {
				fmt.Fprintf(stderr, "auditfwd state set: %v\n", err)
				return exitRuntime
			}
		}
		from := "none"
		if had {
			from = old.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(stdout, "source %s: cursor moved from %s to %s\n", *source, from, t.UTC().Format(time.RFC3339))
		return exitOK
	default: // reset
		what := "all"
		if *only != "" {
			if *only != "cursor" && *only != "seen" {
				fmt.Fprintf(stderr, "auditfwd state reset: --only must be cursor or seen, not %q\n", *only)
				return exitUsage
			}
			what = *only
		}
		if !knownSource(st, cfg, *source) {
			fmt.Fprintf(stderr, "auditfwd state reset: no source %q in the config or the state\n", *source)
			return exitUsage
		}
		info, err := sourceInfo(st, cfg, *source)
		if err != nil {
			fmt.Fprintf(stderr, "auditfwd state reset: %v\n", err)
			return exitRuntime
		}
		if !*yes && isTerminal(os.Stdin) {
			fmt.Fprintf(stderr, "This forgets source %s's %s (%d seen hashes): the next run sends its records again. Reset? [y/N] ",
				*source, map[string]string{"all": "cursor and seen-set", "cursor": "cursor", "seen": "seen-set"}[what], info.SeenCount)
			answer, _ := bufio.NewReader(os.Stdin).ReadString('\n')
			if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
				fmt.Fprintln(stderr, "auditfwd state reset: not done")
				return exitUsage
			}
		}
		if err := st.ResetSource(*source, what); err != nil {
			fmt.Fprintf(stderr, "auditfwd state reset: %v\n", err)
			return exitRuntime
		}
		fmt.Fprintf(stdout, "source %s: reset (%s); it held %d seen hashes\n", *source, what, info.SeenCount)
		return exitOK
	}
}

// sourceInfo is the state's view of a source plus its seen-set's figures.
func sourceInfo(st *state.Store, cfg *config.Config, name string) (state.SourceInfo, error) {
	info, err := st.Info(name)
	if err != nil {
		return info, err
	}
	set, err := pipeline.OpenSeen(st, cfg.StateDir, name)
	if err != nil {
		return info, err
	}
	defer set.Close()
	info.SeenCount, info.SeenRuns = set.Count(), set.Runs()
	if lo, hi, ok := set.Anchors(); ok {
		l, h := time.Unix(lo, 0).UTC(), time.Unix(hi, 0).UTC()
		info.OldestAnchor, info.NewestAnchor = &l, &h
	}
	return info, nil
}

func knownSource(st *state.Store, cfg *config.Config, name string) bool {
	for _, s := range cfg.Sources {
		if s.Name == name {
			return true
		}
	}
	names, _ := st.Sources()
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

// stateReport is `state show --json`.
type stateReport struct {
	StateDir       string             `json:"state_dir"`
	Sources        []state.SourceInfo `json:"sources"`
	Queues         []queueReport      `json:"queues"`
	DeadLetterSize int64              `json:"source_dead_letter_bytes"`
}

type queueReport struct {
	state.QueueInfo
	PendingBytes int64 `json:"pending_bytes"`
}

func stateShow(st *state.Store, cfg *config.Config, only string, asJSON bool, stdout, stderr io.Writer) int {
	names, err := st.Sources()
	if err != nil {
		fmt.Fprintf(stderr, "auditfwd state show: %v\n", err)
		return exitRuntime
	}
	for _, s := range cfg.Sources {
		if !slices.Contains(names, s.Name) {
			names = append(names, s.Name)
		}
	}
	rep := stateReport{StateDir: cfg.StateDir, DeadLetterSize: st.DeadLetterLen()}
	for _, n := range names {
		if only != "" && n != only {
			continue
		}
		info, err := sourceInfo(st, cfg, n)
		if err != nil {
			fmt.Fprintf(stderr, "auditfwd state show: %v\n", err)
			return exitRuntime
		}
		rep.Sources = append(rep.Sources, info)
	}
	if only != "" && len(rep.Sources) == 0 {
		fmt.Fprintf(stderr, "auditfwd state show: no source %q in the config or the state\n", only)
		return exitUsage
	}
	qs, err := st.Queues()
	if err != nil {
		fmt.Fprintf(stderr, "auditfwd state show: %v\n", err)
		return exitRuntime
	}
	for _, q := range qs {
		if only != "" && !strings.HasSuffix(q.Key, "/"+only) {
			continue
		}
		rep.Queues = append(rep.Queues, queueReport{QueueInfo: q, PendingBytes: max(0, q.Commit-q.Delivered)})
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
		return exitOK
	}
	fmt.Fprintf(stdout, "state_dir %s\n\n", cfg.StateDir)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tCURSOR\tLAST POLL OK\tSEEN HASHES\tRUNS\tOLDEST ANCHOR\tNEWEST ANCHOR")
	for _, s := range rep.Sources {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n", s.Name, fmtTime(s.Cursor), fmtTime(s.LastPollOK), s.SeenCount, s.SeenRuns, fmtTime(s.OldestAnchor), fmtTime(s.NewestAnchor))
	}
	tw.Flush()
	fmt.Fprintln(stdout)
	tw = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "QUEUE (OUTPUT/SOURCE)\tCOMMIT MARK\tDELIVERY MARK\tPENDING")
	for _, q := range rep.Queues {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", q.Key, q.Commit, q.Delivered, humanBytes(q.PendingBytes))
	}
	tw.Flush()
	fmt.Fprintf(stdout, "\nsource dead letter: %s committed (%s)\n", humanBytes(rep.DeadLetterSize), filepath.Join(cfg.StateDir, "deadletter.ndjson"))
	return exitOK
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// parseTimeArg reads a command-line time: RFC 3339, a date (UTC midnight),
// "now", or "now-DURATION" where DURATION may use d for days.
func parseTimeArg(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "now" {
		return now.UTC(), nil
	}
	if rest, ok := strings.CutPrefix(s, "now-"); ok {
		d, err := config.ParseDuration(rest)
		if err != nil {
			return time.Time{}, err
		}
		return now.UTC().Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time: use RFC 3339 (2026-11-20T00:00:00Z), a date (2026-11-20), now or now-36h", s)
}

// isAccessSource tells whether the config names source as a wss_access one.
func isAccessSource(cfg *config.Config, source string) bool {
	for _, sc := range cfg.Sources {
		if sc.Name == source {
			return sc.Access != nil
		}
	}
	return false
}
