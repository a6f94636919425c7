package pipeline

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/auditfwd/auditfwd/internal/config"
	"github.com/auditfwd/auditfwd/outputs"
)

// Builder makes an output from its config (the explicit switch in cmd).
type Builder func(config.Output) (outputs.Output, error)

type reloadRequest struct {
	cfg   *config.Config
	build Builder
	reply chan error
}

// ErrNotRunning is Reload's answer when Run is not polling.
var ErrNotRunning = errors.New("auditfwd is not polling (starting or stopping): reload ignored")

// Reload swaps in a new, validated configuration while Run runs. Sources
// and outputs whose config did not change keep their runners, queues and
// connections; changed ones are rebuilt, removed ones stopped (a removed
// output's queues stay on disk; a removed source's queued events still go
// out), added ones started. A window in flight is polled again. When the
// new config cannot be used (an output it cannot build, a new state_dir),
// nothing changes and the error says why.
func (p *Pipeline) Reload(ctx context.Context, cfg *config.Config, build Builder) error {
	req := reloadRequest{cfg: cfg, build: build, reply: make(chan error, 1)}
	select {
	case p.reloads <- req:
	case <-p.pollDone:
		return ErrNotRunning
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-req.reply
}

// errSourceFailed answers a reload that found a source failed: auditfwd
// is stopping (that source's error is Run's result), nothing was changed.
var errSourceFailed = errors.New("reload not applied: a source failed and auditfwd is stopping")

// apply runs on Run's goroutine, so no source starts or stops under it.
// reap is how Run takes the result of a source that has ended.
func (p *Pipeline) apply(pollCtx, drainCtx context.Context, req reloadRequest, reap func(*sourceRunner)) error {
	if pollCtx.Err() != nil {
		return ErrNotRunning // stopping already (a source failed, say)
	}
	old, cfg := p.cfg, req.cfg
	if cfg.StateDir != old.StateDir {
		return fmt.Errorf("state_dir changed (%s to %s): that needs a restart", old.StateDir, cfg.StateDir)
	}
	if *cfg.Metrics.Listen != *old.Metrics.Listen {
		return fmt.Errorf("metrics.listen changed (%q to %q): that needs a restart", *old.Metrics.Listen, *cfg.Metrics.Listen)
	}
	if p.opts.Backfill != nil {
		return errors.New("a backfill does not reload its config")
	}

	oldSrc := map[string]*sourceRunner{}
	for _, s := range p.srcs {
		oldSrc[s.cfg.Name] = s
	}
	oldOut := map[string]*outputRunner{}
	for _, o := range p.outs {
		oldOut[o.name] = o
	}
	var plan reloadPlan
	// Rules are read again at every reload (tuning one is editing its
	// file and sending SIGHUP); a rule that does not load refuses the
	// reload, and the running rules go on.
	det, err := LoadDetections(cfg)
	if err != nil {
		return fmt.Errorf("detections: %w", err)
	}
	detChanged := !det.same(p.det)
	// Build what is new before touching anything: a failure here leaves
	// the running pipeline as it was.
	built := map[string]outputs.Output{}
	closeBuilt := func() {
		for _, o := range built {
			o.Close()
		}
	}
	for _, oc := range cfg.Outputs {
		if prev, ok := oldOut[oc.Name]; ok && reflect.DeepEqual(prev.cfg, oc) {
			plan.keptOut = append(plan.keptOut, oc.Name)
			continue
		}
		o, err := req.build(oc)
		if err != nil {
			closeBuilt()
			return fmt.Errorf("output %s: %w", oc.Name, err)
		}
		built[oc.Name] = o
		if _, ok := oldOut[oc.Name]; ok {
			plan.changedOut = append(plan.changedOut, oc.Name)
		} else {
			plan.addedOut = append(plan.addedOut, oc.Name)
		}
	}
	newSrcs := make([]*sourceRunner, 0, len(cfg.Sources))
	for _, sc := range cfg.Sources {
		if prev, ok := oldSrc[sc.Name]; ok && sameSource(prev.cfg, sc) && !detChanged {
			newSrcs = append(newSrcs, prev)
			plan.keptSrc = append(plan.keptSrc, sc.Name)
			continue
		}
		s, err := newSourceRunner(p, sc, det)
		if err != nil {
			closeBuilt()
			return err
		}
		if prev, ok := oldSrc[sc.Name]; ok {
			s.stats = prev.stats // counters go on across the change
			plan.changedSrc = append(plan.changedSrc, sc.Name)
		} else {
			plan.addedSrc = append(plan.addedSrc, sc.Name)
		}
		newSrcs = append(newSrcs, s)
	}
	for name := range oldOut {
		if !hasOutput(cfg, name) {
			plan.removedOut = append(plan.removedOut, name)
		}
	}
	for name := range oldSrc {
		if !hasSource(cfg, name) {
			plan.removedSrc = append(plan.removedSrc, name)
		}
	}

	if detChanged {
		plan.detections = true
	}
	if !plan.structural() {
		p.mu.Lock()
		p.cfg = cfg
		p.mu.Unlock()
		p.log.WithFields(plan.fields()).Info("config reloaded: no source or output changed")
		return nil
	}

	// Every source stops between records (its window in flight rolls
	// back), so none appends while queues and outputs change under it.
	for _, s := range p.srcs {
		s.stopSource()
	}
	// A source may have ended by itself before Run saw it: restarting (or
	// replacing) it would reset its result. A daemon's source ends only on
	// a fatal error, which must stop auditfwd with that error and exit
	// status, not vanish under the reload.
	var failed bool
	for _, s := range p.srcs {
		if s.done != nil && !s.reported {
			reap(s)
			failed = failed || s.err != nil
		}
	}
	if failed && !p.opts.Once {
		return errSourceFailed
	}
	for _, name := range append(append([]string{}, plan.changedOut...), plan.removedOut...) {
		o := oldOut[name]
		o.stop()
		if err := o.close(); err != nil {
			o.log.WithError(err).Warn("closing the old output")
		}
	}
	p.mu.Lock()
	p.cfg = cfg
	p.det = det
	p.mu.Unlock()
	newOuts := make([]*outputRunner, 0, len(cfg.Outputs))
	var fatal error
	for _, oc := range cfg.Outputs {
		out, isNew := built[oc.Name]
		if !isNew {
			newOuts = append(newOuts, oldOut[oc.Name])
			continue
		}
		o, err := newOutputRunner(p, oc, out)
		if err != nil {
			out.Close()
			fatal = errors.Join(fatal, err)
			continue
		}
		if prev, ok := oldOut[oc.Name]; ok {
			o.stats = prev.stats
		}
		newOuts = append(newOuts, o)
	}
	p.mu.Lock()
	p.srcs, p.outs = newSrcs, newOuts
	p.mu.Unlock()
	for _, o := range newOuts {
		if _, isNew := built[o.name]; isNew {
			o.start(drainCtx)
		}
	}
	for _, s := range newSrcs {
		if _, kept := oldSrc[s.cfg.Name]; kept && oldSrc[s.cfg.Name] != s {
			// Built while the old runner still polled: take the cursor it
			// left, not the one read then.
			c, ok, err := p.store.Cursor(s.cfg.Name)
			if err != nil {
				fatal = errors.Join(fatal, err)
				continue
			}
			s.cursor, s.hasCursor = c, ok
			if s.det != nil {
				// And the correlation state it committed last.
				if err := s.det.load(s, detectKey, true); err != nil {
					fatal = errors.Join(fatal, err)
					continue
				}
			}
		}
		if err := p.wire(s); err != nil {
			fatal = errors.Join(fatal, err)
			continue
		}
		p.startSource(pollCtx, s)
	}
	if fatal != nil {
		return &errFatal{fatal}
	}
	p.log.WithFields(plan.fields()).Info("config reloaded")
	return nil
}

type reloadPlan struct {
	keptSrc, changedSrc, addedSrc, removedSrc []string
	keptOut, changedOut, addedOut, removedOut []string
	detections                                bool // rules or their settings changed
}

func (r reloadPlan) structural() bool {
	return len(r.changedSrc)+len(r.addedSrc)+len(r.removedSrc)+len(r.changedOut)+len(r.addedOut)+len(r.removedOut) > 0
}

func (r reloadPlan) fields() logrus.Fields {
	f := logrus.Fields{}
	if r.detections {
		f["detections"] = "reloaded"
	}
	for k, v := range map[string][]string{
		"sources_kept": r.keptSrc, "sources_restarted": r.changedSrc, "sources_added": r.addedSrc, "sources_removed": r.removedSrc,
		"outputs_kept": r.keptOut, "outputs_restarted": r.changedOut, "outputs_added": r.addedOut, "outputs_removed": r.removedOut,
	} {
		if len(v) > 0 {
			f[k] = strings.Join(v, ",")
		}
	}
	return f
}

// sameSource compares two source configs, ignoring StartTime: a relative
// start ("24h") resolves to another time at each load, and only matters
// before the first cursor anyway.
func sameSource(a, b config.Source) bool {
	a.StartTime = b.StartTime
	return reflect.DeepEqual(a, b)
}

func hasOutput(cfg *config.Config, name string) bool {
	for _, o := range cfg.Outputs {
		if o.Name == name {
			return true
		}
	}
	return false
}

func hasSource(cfg *config.Config, name string) bool {
	for _, s := range cfg.Sources {
		if s.Name == name {
			return true
		}
	}
	return false
}
