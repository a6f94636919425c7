package detect

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// LogsourceMapping says which events a logsource means: those whose Field
// equals Value (case-insensitively), or every event when Field is empty.
// A rule's logsource must equal a mapping's Category, Product and Service
// (all three, empty for empty) or the rule is refused.
type LogsourceMapping struct {
	Category, Product, Service string
	Field, Value               string
}

// DefaultLogsources are the logsources of auditfwd's events: the audit
// log, and the access log (every web transaction through the proxy), which
// is Sigma's generic proxy category. Matching is exact, so the access log
// is listed under each spelling a rule may use: category proxy alone (the
// SigmaHQ taxonomy's, as rules/web/proxy_generic use it), category proxy
// narrowed to product broadcom_wss (the pack's proxy rules, which read
// WSS-only columns), and product broadcom_wss service access (naming it
// like the audit log).
var DefaultLogsources = []LogsourceMapping{
	{Product: "broadcom_wss", Service: "audit", Field: "event.dataset", Value: "wss.audit"},
	{Category: "proxy", Field: "event.dataset", Value: "wss.access"},
	{Category: "proxy", Product: "broadcom_wss", Field: "event.dataset", Value: "wss.access"},
	{Product: "broadcom_wss", Service: "access", Field: "event.dataset", Value: "wss.access"},
}

// Options tune an Engine. The zero value is usable.
type Options struct {
	// Ruleset is rule.ruleset in alerts; default "auditfwd".
	Ruleset string
	// MaxLateness is how far behind the newest event time an event may
	// arrive and still correlate fully; a correlation keeps events for
	// its timespan plus this. Default 15 minutes.
	MaxLateness time.Duration
	// Logsources: default DefaultLogsources.
	Logsources []LogsourceMapping
	// Now is the wall clock, used only to keep a wildly future-dated
	// event from expiring all correlation state; default time.Now.
	Now func() time.Time

	// BusinessHours, for the rules with outside_business_hours; nil is
	// StandardBusinessHours (Monday to Friday, 08:00-18:00 UTC), which
	// Engine.DefaultBusinessHours reports so the caller can warn.
	BusinessHours *BusinessHours
	// NewValueLimit caps the (group, value) pairs each new_value rule
	// remembers; default DefaultNewValueLimit.
	NewValueLimit int
	// Disabled turns rules off (true; false changes nothing), Levels
	// gives rules another Sigma level, both keyed by rule id or rule file
	// name without .yml (see RuleKeys). A key naming no rule, a bad level
	// and a correlation referring to a disabled rule are errors of New.
	Disabled map[string]bool
	Levels   map[string]string
}

// futureSlack is how far past Now event time may move the watermark.
const futureSlack = 5 * time.Minute

// sweepEvery is how much event time passes between two sweeps of expired
// correlation groups.
const sweepEvery = time.Minute

// Engine evaluates events against loaded rules. It is safe for
// concurrent use (calls are serialised: correlation state is shared).
type Engine struct {
	opts Options

	mu  sync.Mutex
	fs  *fieldSet
	sc  scanner
	det []*detRule
	cor []*correlator
	ls  []lsTest
	// Fields an alert reads from its event.
	fUser, fIP, fRelUser, fRelIP int

	watermark int64 // newest event time seen (unix ns), capped by Now+futureSlack
	nextSweep int64
	stats     Stats

	hours        *BusinessHours
	defaultHours bool // hours are StandardBusinessHours, not configured, and a rule uses them
	nvs          []*newValuer
}

// Stats counts what the engine did; nothing it leaves out goes uncounted.
type Stats struct {
	Events    uint64 // evaluated
	Malformed uint64 // not valid JSON objects: not evaluated
	Alerts    uint64
	// TooLate: matches older than a correlation's retention (timespan +
	// MaxLateness behind the newest event), not correlated.
	TooLate uint64
	// Ungrouped: matches lacking a group-by field (or value_count's
	// field), not correlated, as a SIEM's "stats by" leaves them out.
	Ungrouped uint64
	// Groups is the number of open correlation groups now.
	Groups int
	// NewValues is the number of (group, value) pairs new_value rules
	// remember now; Evicted counts those forgotten early because a rule
	// reached Options.NewValueLimit (seen again, they alert as new).
	NewValues int
	Evicted   uint64
}

type detRule struct {
	rule       *Rule
	match      test
	logsource  int // index in Engine.ls
	standalone bool
	subs       []sub
	offHours   bool       // outside_business_hours
	nv         *newValuer // new_value, or nil
}

// lsTest is one logsource mapping's test, evaluated once per event for
// all the rules of that logsource.
type lsTest struct {
	match test // nil: every event
	memo  int8 // this event: 0 not yet, 1 yes, -1 no
}

// sub is a correlation fed by a rule, at the rule's position in its list.
type sub struct {
	c   *correlator
	pos int
}

// New compiles rules into an engine. Every refusal is returned at once,
// each a *LoadError with the rule's file and line.
func New(rules []*Rule, opts Options) (*Engine, error) {
	if opts.Ruleset == "" {
		opts.Ruleset = "auditfwd"
	}
	if opts.MaxLateness == 0 {
		opts.MaxLateness = 15 * time.Minute
	}
	if opts.Logsources == nil {
		opts.Logsources = DefaultLogsources
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.NewValueLimit <= 0 {
		opts.NewValueLimit = DefaultNewValueLimit
	}
	e := &Engine{opts: opts, fs: newFieldSet(), hours: StandardBusinessHours()}
	if opts.BusinessHours != nil {
		if err := opts.BusinessHours.validate(); err != nil {
			return nil, fmt.Errorf("detections.business_hours: %w", err)
		}
		h := *opts.BusinessHours // the caller's may change after New
		e.hours = &h
	}
	rules, err := applyOverrides(rules, opts)
	if err != nil {
		return nil, err
	}
	var errs []error
	fail := func(r *Rule, line int, format string, args ...any) {
		errs = append(errs, &LoadError{File: r.File, Line: line, Msg: fmt.Sprintf(format, args...)})
	}

	byRef := map[string]int{} // id or name -> index in rules
	for i, r := range rules {
		for _, ref := range []string{r.ID, r.Name} {
			if ref == "" {
				continue
			}
			if j, dup := byRef[ref]; dup && j != i {
				fail(r, r.Line, "id or name %q is also used by %s:%d", ref, rules[j].File, rules[j].Line)
				continue
			}
			byRef[ref] = i
		}
	}

	dets := make([]*detRule, len(rules))
	cors := make([]*correlator, len(rules))
	c := &compiler{fs: e.fs}
	for i, r := range rules {
		if r.Correlation != nil {
			cors[i] = newCorrelator(r, e.fs)
			continue
		}
		t, err := compileDetection(r.detection, r.detLine, c)
		if err != nil {
			errs = append(errs, loadErr(r.File, err))
			continue
		}
		ls, ok := e.logsource(r.Logsource)
		if !ok {
			fail(r, r.Line, "logsource %s is not one this engine reads (known: %s)", lsString(r.Logsource), e.knownLogsources())
			continue
		}
		dets[i] = &detRule{rule: r, match: t, logsource: ls, offHours: r.OutsideBusinessHours}
		if r.NewValue != nil {
			dets[i].nv = newNewValuer(r.NewValue, e.fs, opts.NewValueLimit)
			e.nvs = append(e.nvs, dets[i].nv)
		}
		if r.OutsideBusinessHours && opts.BusinessHours == nil {
			e.defaultHours = true
		}
	}

	// Resolve references: a correlation is fed by the rules it lists.
	referenced := make([]bool, len(rules))
	generated := make([]bool, len(rules))
	for i, cr := range cors {
		if cr == nil {
			continue
		}
		r := rules[i]
		for pos, ref := range r.Correlation.Rules {
			line := r.Correlation.ruleLines[pos]
			j, ok := byRef[ref]
			switch {
			case !ok:
				fail(r, line, "correlation refers to rule %q, which is not loaded", ref)
				continue
			case j == i:
				fail(r, line, "correlation refers to itself")
				continue
			case dets[j] == nil && cors[j] == nil:
				continue // refused already
			}
			referenced[j] = true
			if r.Generate {
				generated[j] = true
			}
			s := sub{c: cr, pos: pos}
			if dets[j] != nil {
				dets[j].subs = append(dets[j].subs, s)
			} else {
				cors[j].subs = append(cors[j].subs, s)
			}
		}
	}
	if cyc := findCycle(rules, cors); cyc != nil {
		fail(rules[cyc[0]], rules[cyc[0]].Line, "correlations refer to each other in a cycle: %s", cycleString(rules, cyc))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// A rule referenced by a correlation alerts on its own only if one of
	// those correlations says generate: true (the specification's default
	// is that only the correlation alerts).
	for i := range rules {
		standalone := !referenced[i] || generated[i]
		if dets[i] != nil {
			dets[i].standalone = standalone
			e.det = append(e.det, dets[i])
		}
		if cors[i] != nil {
			cors[i].standalone = standalone
			e.cor = append(e.cor, cors[i])
		}
	}
	e.fUser = e.fs.add("user.name")
	e.fIP = e.fs.add("source.ip")
	e.fRelUser = e.fs.add("related.user")
	e.fRelIP = e.fs.add("related.ip")
	e.sc = scanner{set: e.fs, fields: make([]field, len(e.fs.names))}
	return e, nil
}

// logsource returns the index in e.ls of the test for ls.
func (e *Engine) logsource(ls Logsource) (int, bool) {
	if e.ls == nil {
		e.ls = make([]lsTest, len(e.opts.Logsources))
		for i, m := range e.opts.Logsources {
			if m.Field != "" {
				fi := e.fs.add(m.Field)
				vm := patternMatcher(literalPattern(strings.ToLower(m.Value)), true)
				e.ls[i].match = func(ev []field) bool { return anyValue(&ev[fi], vm) }
			}
		}
	}
	for i, m := range e.opts.Logsources {
		if m.Category == ls.Category && m.Product == ls.Product && m.Service == ls.Service {
			return i, true
		}
	}
	return 0, false
}

func (e *Engine) knownLogsources() string {
	var s []string
	for _, m := range e.opts.Logsources {
		s = append(s, lsString(Logsource{Category: m.Category, Product: m.Product, Service: m.Service}))
	}
	return strings.Join(s, ", ")
}

func lsString(ls Logsource) string {
	var parts []string
	for _, kv := range [][2]string{{"category", ls.Category}, {"product", ls.Product}, {"service", ls.Service}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+": "+kv[1])
		}
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// findCycle returns the rule indexes of a reference cycle among
// correlations, or nil.
func findCycle(rules []*Rule, cors []*correlator) []int {
	idx := map[*correlator]int{}
	for i, c := range cors {
		if c != nil {
			idx[c] = i
		}
	}
	state := make([]uint8, len(rules)) // 0 new, 1 on the path, 2 done
	var path []int
	var visit func(i int) []int
	visit = func(i int) []int {
		state[i] = 1
		path = append(path, i)
		for _, s := range cors[i].subs {
			j := idx[s.c]
			if state[j] == 1 {
				for k, p := range path {
					if p == j {
						return append([]int(nil), path[k:]...)
					}
				}
			}
			if state[j] == 0 {
				if c := visit(j); c != nil {
					return c
				}
			}
		}
		path = path[:len(path)-1]
		state[i] = 2
		return nil
	}
	for i, c := range cors {
		if c != nil && state[i] == 0 {
			if cyc := visit(i); cyc != nil {
				return cyc
			}
		}
	}
	return nil
}

func cycleString(rules []*Rule, cyc []int) string {
	var s []string
	for _, i := range cyc {
		s = append(s, rules[i].ID)
	}
	return strings.Join(append(s, rules[cyc[0]].ID), " -> ")
}

// Evaluate runs every rule on one new event: doc is its ECS JSON
// document, eventTime its @timestamp, hash its event.hash. It returns the
// alerts the event completes (detections on it, correlations it closes),
// in rule order. A document that is not a JSON object is not evaluated
// and is counted in Stats.Malformed.
func (e *Engine) Evaluate(doc []byte, eventTime time.Time, hash string) []Alert {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.sc.scan(doc); err != nil {
		e.stats.Malformed++
		return nil
	}
	e.stats.Events++
	t := eventTime.UnixNano()
	e.advance(t)
	ev := e.sc.fields
	for i := range e.ls {
		e.ls[i].memo = 0
	}
	var out []Alert
	for _, d := range e.det {
		ls := &e.ls[d.logsource]
		if ls.memo == 0 {
			ls.memo = -1
			if ls.match == nil || ls.match(ev) {
				ls.memo = 1
			}
		}
		if ls.memo < 0 || !d.match(ev) {
			continue
		}
		// The engine options narrow the match: business hours first (so
		// a rule with both learns only the events outside them).
		if d.offHours && e.hours.Contains(eventTime) {
			continue
		}
		var nvKey string
		if d.nv != nil {
			key, fire := d.nv.judge(e, t)
			if !fire {
				continue
			}
			nvKey = key
		}
		if d.standalone {
			a := e.single(d.rule, eventTime, hash)
			if d.nv != nil {
				a.Type = "new_value"
				a.Group = d.nv.groupValues(e)
				a.Hash = alertHash(d.rule.ID, nvKey, eventTime)
			}
			out = append(out, a)
		}
		if len(d.subs) > 0 {
			en := entry{
				T:      t,
				Hashes: []string{hash},
				Users:  e.users(),
				IPs:    e.ips(),
			}
			out = e.feed(d.subs, en, out)
		}
	}
	e.stats.Alerts += uint64(len(out))
	return out
}

// feed gives a match to the correlations that listen for it, and what
// they fire to theirs.
func (e *Engine) feed(subs []sub, en entry, out []Alert) []Alert {
	for _, s := range subs {
		a, ok := s.c.add(e, s.pos, en)
		if !ok {
			continue
		}
		if s.c.standalone {
			out = append(out, a)
		}
		if len(s.c.subs) > 0 {
			out = e.feed(s.c.subs, entry{T: a.Time.UnixNano(), Hashes: a.Hashes, Users: a.Users, IPs: a.IPs}, out)
		}
	}
	return out
}

func (e *Engine) single(r *Rule, t time.Time, hash string) Alert {
	a := baseAlert(r, e.opts.Ruleset)
	a.Type = "detection"
	a.Start, a.Time = t, t
	a.Count = 1
	a.Hashes = []string{hash}
	a.Users = e.users()
	a.IPs = e.ips()
	a.Hash = alertHash(r.ID, hash, t)
	return a
}

func baseAlert(r *Rule, ruleset string) Alert {
	v := r.Modified
	if v == "" {
		v = r.Date
	}
	return Alert{
		RuleID:      r.ID,
		Title:       r.Title,
		Description: r.Description,
		References:  r.References,
		Author:      r.Author,
		Level:       r.Level,
		Tags:        r.Tags,
		Ruleset:     ruleset,
		Version:     v,
	}
}

func (e *Engine) users() []string {
	return union(e.sc.fields[e.fUser].strings(), e.sc.fields[e.fRelUser].strings())
}

func (e *Engine) ips() []string {
	return union(e.sc.fields[e.fIP].strings(), e.sc.fields[e.fRelIP].strings())
}

// union appends the new strings of b to a, keeping first-seen order.
func union(a []string, lists ...[]string) []string {
	for _, l := range lists {
	next:
		for _, s := range l {
			for _, x := range a {
				if x == s {
					continue next
				}
			}
			a = append(a, s)
		}
	}
	return a
}

// advance moves the watermark to t and sweeps expired groups when enough
// event time has passed.
func (e *Engine) advance(t int64) {
	if t <= e.watermark {
		return
	}
	if limit := e.opts.Now().Add(futureSlack).UnixNano(); t > limit {
		t = max(limit, e.watermark)
	}
	e.watermark = t
	if t < e.nextSweep {
		return
	}
	e.nextSweep = t + int64(sweepEvery)
	for _, c := range e.cor {
		c.sweep(e)
	}
}

// Stats returns the counters.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.stats
	for _, c := range e.cor {
		s.Groups += len(c.groups)
	}
	for _, n := range e.nvs {
		s.NewValues += len(n.seen)
	}
	return s
}

// BusinessHours returns the business hours the outside_business_hours
// rules use (a copy).
func (e *Engine) BusinessHours() BusinessHours { return *e.hours }

// DefaultBusinessHours reports that a loaded rule uses business hours and
// none were configured, so StandardBusinessHours apply: worth a warning,
// since they are unlikely to be the deployment's own.
func (e *Engine) DefaultBusinessHours() bool { return e.defaultHours }

// Rules returns the loaded rules, detections first, in load order, with
// Options.Levels applied; the rules Options.Disabled turns off are not
// among them.
func (e *Engine) Rules() []*Rule {
	var out []*Rule
	for _, d := range e.det {
		out = append(out, d.rule)
	}
	for _, c := range e.cor {
		out = append(out, c.rule)
	}
	return out
}
