package detect

import (
	"container/heap"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// stateVersion is bumped when the state layout changes; Restore refuses
// a newer one (an older binary would drop what it does not know) and
// reads the older ones: 1 had no new_values.
const stateVersion = 2

type stateDoc struct {
	Version   int                          `json:"version"`
	Watermark int64                        `json:"watermark"`
	NextSweep int64                        `json:"next_sweep"`
	Rules     map[string]map[string]*group `json:"rules"` // rule id -> group key -> pending matches
	// NewValues: new_value rule id -> what it learned.
	NewValues map[string]*nvState `json:"new_values,omitempty"`
}

type nvState struct {
	Fields string   `json:"fields"` // field and group-by, 0x1f between
	Start  int64    `json:"start"`  // learning started at (event time, unix ns)
	Values []nvPair `json:"values"` // by key
}

type nvPair struct {
	K string `json:"k"` // group-by values and the value, 0x1f between
	T int64  `json:"t"` // last seen (event time, unix ns)
}

// State returns the correlation state: every pending match of every open
// group and the event-time watermark. Saved with the checkpoint in one
// transaction and given back to Restore after a restart, it makes a crash
// neither lose a half-built burst nor fire an alert twice (replaying the
// events after the checkpoint rebuilds the same alerts, same hashes).
// The encoding is deterministic JSON.
func (e *Engine) State() []byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	doc := stateDoc{Version: stateVersion, Watermark: e.watermark, NextSweep: e.nextSweep, Rules: map[string]map[string]*group{}}
	for _, c := range e.cor {
		if len(c.groups) > 0 {
			doc.Rules[c.rule.ID] = c.groups
		}
	}
	for _, d := range e.det {
		n := d.nv
		if n == nil || !n.started {
			continue
		}
		st := &nvState{Fields: n.fieldsID, Start: n.start, Values: make([]nvPair, 0, len(n.seen))}
		for _, p := range n.seen {
			st.Values = append(st.Values, nvPair{K: p.key, T: p.last})
		}
		slices.SortFunc(st.Values, func(a, b nvPair) int { return strings.Compare(a.K, b.K) })
		if doc.NewValues == nil {
			doc.NewValues = map[string]*nvState{}
		}
		doc.NewValues[d.rule.ID] = st
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic("detect: state does not encode: " + err.Error())
	}
	return b
}

// RestoreReport says what Restore could not take back.
type RestoreReport struct {
	// UnknownRules: correlation rule ids in the state that are not
	// loaded now (removed or renamed rules), with their pending matches
	// dropped.
	UnknownRules []string
	// DroppedEntries counts the pending matches dropped: those of unknown
	// rules, and those naming a rule position the rule no longer has.
	DroppedEntries int
	// ResetRules: new_value rules whose field or group-by changed since
	// the state was saved: what they learned no longer applies, so it is
	// dropped and they learn again from the next event.
	ResetRules []string
	// DroppedValues counts the remembered (group, value) pairs dropped:
	// those of unknown and reset rules, and the least recently seen
	// beyond Options.NewValueLimit.
	DroppedValues int
}

// Restore replaces the correlation state with one State returned. An
// empty b restores the empty state. On error the engine is unchanged.
func (e *Engine) Restore(b []byte) (RestoreReport, error) {
	var rep RestoreReport
	doc := stateDoc{Version: stateVersion}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &doc); err != nil {
			return rep, fmt.Errorf("detect: correlation state: %w", err)
		}
	}
	if doc.Version < 1 || doc.Version > stateVersion {
		return rep, fmt.Errorf("detect: correlation state version %d, want 1 to %d", doc.Version, stateVersion)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	byID := map[string]*correlator{}
	for _, c := range e.cor {
		byID[c.rule.ID] = c
	}
	for id, groups := range doc.Rules {
		if byID[id] == nil {
			rep.UnknownRules = append(rep.UnknownRules, id)
			for _, g := range groups {
				if g != nil {
					rep.DroppedEntries += len(g.Entries)
				}
			}
		}
	}
	nvByID := map[string]*newValuer{}
	for _, d := range e.det {
		if d.nv != nil {
			nvByID[d.rule.ID] = d.nv
		}
	}
	for id, st := range doc.NewValues {
		if st == nil {
			continue
		}
		n := nvByID[id]
		switch {
		case n == nil:
			if !slices.Contains(rep.UnknownRules, id) {
				rep.UnknownRules = append(rep.UnknownRules, id)
			}
			rep.DroppedValues += len(st.Values)
		case st.Fields != n.fieldsID:
			rep.ResetRules = append(rep.ResetRules, id)
			rep.DroppedValues += len(st.Values)
		}
	}
	slices.Sort(rep.UnknownRules)
	slices.Sort(rep.ResetRules)
	for _, n := range nvByID {
		n.seen, n.lru, n.started, n.start = map[string]*pair{}, nil, false, 0
	}
	for id, n := range nvByID {
		st := doc.NewValues[id]
		if st == nil || st.Fields != n.fieldsID {
			continue
		}
		n.started, n.start = true, st.Start
		for _, v := range st.Values {
			if p := n.seen[v.K]; p != nil {
				p.last = max(p.last, v.T)
				continue
			}
			p := &pair{key: v.K, last: v.T}
			n.seen[v.K] = p
			n.lru = append(n.lru, p)
		}
		for i, p := range n.lru {
			p.idx = i
		}
		heap.Init(&n.lru)
		for len(n.seen) > n.limit {
			p := heap.Pop(&n.lru).(*pair)
			delete(n.seen, p.key)
			rep.DroppedValues++
		}
	}
	for _, c := range e.cor {
		c.groups = map[string]*group{}
		for key, g := range doc.Rules[c.rule.ID] {
			if g == nil {
				continue
			}
			kept := g.Entries[:0]
			for _, en := range g.Entries {
				if en.Pos < 0 || en.Pos >= len(c.c.Rules) {
					rep.DroppedEntries++
					continue
				}
				kept = append(kept, en)
			}
			slices.SortStableFunc(kept, func(a, b entry) int {
				switch {
				case a.T < b.T:
					return -1
				case a.T > b.T:
					return 1
				}
				return 0
			})
			if len(kept) > 0 {
				c.groups[key] = &group{Entries: kept}
			}
		}
	}
	e.watermark, e.nextSweep = doc.Watermark, doc.NextSweep
	return rep, nil
}
