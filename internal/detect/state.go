package detect

import (
	"encoding/json"
	"fmt"
	"slices"
)

// stateVersion is bumped when the state layout changes; Restore refuses
// any other.
const stateVersion = 1

type stateDoc struct {
	Version   int                          `json:"version"`
	Watermark int64                        `json:"watermark"`
	NextSweep int64                        `json:"next_sweep"`
	Rules     map[string]map[string]*group `json:"rules"` // rule id -> group key -> pending matches
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
	if doc.Version != stateVersion {
		return rep, fmt.Errorf("detect: correlation state version %d, want %d", doc.Version, stateVersion)
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
	slices.Sort(rep.UnknownRules)
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
