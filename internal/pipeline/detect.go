package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/auditfwd/auditfwd/internal/config"
	"github.com/auditfwd/auditfwd/internal/dedup"
	"github.com/auditfwd/auditfwd/internal/detect"
	"github.com/auditfwd/auditfwd/internal/event"
	"github.com/auditfwd/auditfwd/rules"
)

// State keys (under the source) of the correlation state: one for the
// live polling, one for a backfill, whose historic event times would
// otherwise be hopelessly late for the live state (and whose alerts
// would expire its groups).
const (
	detectKey         = "detect"
	detectBackfillKey = "detect.backfill"
)

// Detections is the loaded rule set, shared by every source; each source
// compiles its own engine from it (correlation state is per tenant).
type Detections struct {
	cfg   config.Detections
	rules []*detect.Rule
	// sum is a digest of every rule file read: a reload rebuilds the
	// engines when the config or any rule file changed.
	sum   [32]byte
	hours *detect.BusinessHours
}

// LoadDetections loads the rules cfg.Detections names and compiles them
// once, so that a rule that cannot run is an error before anything
// starts. It returns nil, nil when detections are off.
func LoadDetections(cfg *config.Config) (*Detections, error) {
	if !cfg.Detections.On() {
		return nil, nil
	}
	d := &Detections{cfg: *cfg.Detections}
	var errs []error
	h := sha256.New()
	for _, dir := range d.cfg.Rules {
		rs, err := loadRuleDir(dir, h)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		d.rules = append(d.rules, rs...)
	}
	h.Sum(d.sum[:0])
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	bh := d.cfg.BusinessHours
	hours, err := detect.ParseBusinessHours(bh.Timezone, bh.Days, bh.Hours)
	if err != nil {
		return nil, fmt.Errorf("detections.business_hours: %w", err)
	}
	d.hours = hours
	if _, err := d.engine(); err != nil {
		return nil, err
	}
	return d, nil
}

// Rules are the loaded rules.
func (d *Detections) Rules() []*detect.Rule { return d.rules }

// loadRuleDir loads one detections.rules entry: "builtin" or a directory.
// Every file read is added to sum.
func loadRuleDir(dir string, sum hash.Hash) ([]*detect.Rule, error) {
	var fsys fs.FS = rules.FS
	root := rules.Dir
	if dir != config.Builtin {
		fi, err := os.Stat(dir)
		if err != nil {
			return nil, fmt.Errorf("detections.rules: %w", err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("detections.rules: %s is not a directory", dir)
		}
		fsys, root = os.DirFS(dir), "."
	}
	rs, err := detect.LoadFS(fsys, root)
	if err != nil {
		if dir == config.Builtin {
			return nil, err
		}
		// Each line names its file under the directory given.
		lines := strings.Split(err.Error(), "\n")
		for i, l := range lines {
			lines[i] = filepath.Join(dir, l)
		}
		return nil, errors.New(strings.Join(lines, "\n"))
	}
	fmt.Fprintf(sum, "%s\x00", dir)
	for _, r := range rs {
		b, err := fs.ReadFile(fsys, r.File)
		if err != nil {
			return nil, fmt.Errorf("detections.rules: %w", err)
		}
		fmt.Fprintf(sum, "%s\x00%d\x00", r.File, len(b))
		sum.Write(b)
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("detections.rules: no *.yml rule files under %s", dir)
	}
	if dir != config.Builtin {
		for _, r := range rs {
			r.File = filepath.Join(dir, r.File)
		}
	}
	return rs, nil
}

// engine compiles a new engine (with empty state) from the rules.
func (d *Detections) engine() (*detect.Engine, error) {
	return detect.New(d.rules, d.options())
}

func (d *Detections) options() detect.Options {
	o := detect.Options{MaxLateness: d.cfg.MaxLateness.D(), BusinessHours: d.hours}
	for key, ov := range d.cfg.Overrides {
		if ov.Disabled {
			if o.Disabled == nil {
				o.Disabled = map[string]bool{}
			}
			o.Disabled[key] = true
		}
		if ov.Level != "" {
			if o.Levels == nil {
				o.Levels = map[string]string{}
			}
			o.Levels[key] = ov.Level
		}
	}
	return o
}

// same tells whether o runs the same rules with the same settings.
func (d *Detections) same(o *Detections) bool {
	if d == nil || o == nil {
		return d == o
	}
	return d.sum == o.sum && reflect.DeepEqual(d.cfg, o.cfg)
}

// wants tells whether the output named receives alerts.
func (d *Detections) wants(output string) bool {
	if len(d.cfg.Outputs) == 0 {
		return true
	}
	for _, o := range d.cfg.Outputs {
		if o == output {
			return true
		}
	}
	return false
}

// detector is one source's engine and what it takes to keep its state
// in step with the queues.
type detector struct {
	eng *detect.Engine
	key string // state key the state is saved under
	// committed is the state as of the last checkpoint: a failed window
	// rolls the queues back to their marks and the engine back to this,
	// so the events polled again are counted once.
	committed []byte
	sinks     []sink // the outputs that receive alerts
	rules     *Detections
}

// newDetector compiles the source's engine and restores its saved state.
func (s *sourceRunner) newDetector(d *Detections) error {
	eng, err := d.engine()
	if err != nil {
		return err
	}
	s.det = &detector{eng: eng, rules: d}
	return s.det.load(s, detectKey, true)
}

// load restores the state saved under key (or starts empty when !saved).
// A state that does not restore costs half-built correlations, never an
// event: it is said loudly and the engine starts empty.
func (dt *detector) load(s *sourceRunner, key string, saved bool) error {
	dt.key = key
	var raw []byte
	if saved {
		raw = s.p.store.SourceValue(s.cfg.Name, key)
	}
	rep, err := dt.eng.Restore(raw)
	if err != nil {
		s.log.WithError(err).Error("detections: the saved correlation state cannot be read; correlations start empty (half-built bursts are lost, events are not)")
		raw = nil
		if _, err := dt.eng.Restore(nil); err != nil {
			return err
		}
	}
	if len(rep.UnknownRules) > 0 {
		s.log.WithFields(logrus.Fields{"rules": strings.Join(rep.UnknownRules, ","), "pending_matches": rep.DroppedEntries}).
			Warn("detections: correlation state of rules no longer loaded was dropped")
	}
	dt.committed = dt.eng.State()
	return nil
}

// rollback puts the engine back to the last checkpoint.
func (dt *detector) rollback() error {
	if _, err := dt.eng.Restore(dt.committed); err != nil {
		return &errFatal{fmt.Errorf("detections: restore the correlation state after a failed window: %w", err)}
	}
	return nil
}

// evaluate runs the rules on a new event and appends the alerts it
// completes to the alert outputs' queues, with their hashes pending in
// the window like records. It runs between an event's append and the
// next room check, so no checkpoint can separate an event from its
// alerts: either both are committed, with the state that fired them, or
// neither is.
func (s *sourceRunner) evaluate(ws *windowState, ev event.Event, anchor int64) error {
	dt, st := s.det, s.stats.Detect // stats: a reload hands the runner its predecessor's
	t0 := time.Now()
	alerts := dt.eng.Evaluate(ev.Doc, ev.Time, ev.HashHex())
	st.evaluated(time.Since(t0))
	for i := range alerts {
		a := &alerts[i]
		var h [32]byte
		if n, err := hex.Decode(h[:], []byte(a.Hash)); err != nil || n != len(h) {
			return &errFatal{fmt.Errorf("detections: rule %s gave an alert hash %q that is not SHA-256 hex", a.RuleID, a.Hash)}
		}
		if _, dup := ws.seen[h]; dup || s.seen.Has(h) {
			// The same alert from the same events: a replay the seen-set
			// already holds (a backfill over polled days, say).
			st.Duplicate.Add(1)
			continue
		}
		a.Source = s.cfg.Name // labels.source, as in the events
		alert := event.Event{Hash: h, Time: a.Time.UTC(), Doc: a.ECS()}
		now := time.Now()
		for _, sk := range dt.sinks {
			if err := sk.q.Append(alert, now); err != nil {
				return &errFatal{fmt.Errorf("queue %s: %w", sk.o.name, err)}
			}
		}
		an := anchor
		if t := a.Time.Unix(); t > an {
			an = t
		}
		ws.seen[h] = struct{}{}
		ws.pending = append(ws.pending, dedup.Entry{Hash: h, Anchor: an})
		st.fired(a, now)
		s.log.WithFields(logrus.Fields{"rule_id": a.RuleID, "rule": a.Title, "level": a.Level, "alert": a.Hash, "events": a.Count}).Debug("alert: " + a.MessageLine())
	}
	return nil
}
