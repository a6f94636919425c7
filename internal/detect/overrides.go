package detect

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
)

// RuleKeys are the names Options.Disabled and Options.Levels know a rule
// by: its id, and its file's base name without .yml or .yaml (which
// names every rule of a file holding several).
func RuleKeys(r *Rule) []string {
	base := path.Base(strings.ReplaceAll(r.File, "\\", "/"))
	base = strings.TrimSuffix(strings.TrimSuffix(base, ".yml"), ".yaml")
	return []string{r.ID, base}
}

// applyOverrides returns the rules to compile: those Options.Disabled
// turns off left out, those Options.Levels changes copied with their new
// level (the caller's rules are not modified). A key naming no rule, a
// level that is not a Sigma level and a correlation left referring to a
// disabled rule are errors: a typo must not silently keep a noisy rule
// on, and disabling a rule must not silently take the correlations built
// on it away too.
func applyOverrides(rules []*Rule, opts Options) ([]*Rule, error) {
	if len(opts.Disabled) == 0 && len(opts.Levels) == 0 {
		return rules, nil
	}
	known := map[string]bool{}
	for _, r := range rules {
		for _, k := range RuleKeys(r) {
			known[k] = true
		}
	}
	var errs []error
	for _, k := range sortedKeys(opts.Disabled) {
		if !known[k] {
			errs = append(errs, fmt.Errorf("detections.disabled: %q is neither the id nor the file name (without .yml) of a loaded rule", k))
		}
	}
	for _, k := range sortedKeys(opts.Levels) {
		if !known[k] {
			errs = append(errs, fmt.Errorf("detections.level: %q is neither the id nor the file name (without .yml) of a loaded rule", k))
		} else if !levels[opts.Levels[k]] {
			errs = append(errs, fmt.Errorf("detections.level: %s: level %q must be informational, low, medium, high or critical", k, opts.Levels[k]))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	lookup := func(m map[string]string, r *Rule) (string, bool) {
		for _, k := range RuleKeys(r) { // the id wins over the file name
			if v, ok := m[k]; ok {
				return v, true
			}
		}
		return "", false
	}
	disabled := func(r *Rule) bool {
		for _, k := range RuleKeys(r) {
			if opts.Disabled[k] {
				return true
			}
		}
		return false
	}
	off := map[string]*Rule{} // id and name of disabled rules
	var out []*Rule
	for _, r := range rules {
		if disabled(r) {
			for _, ref := range []string{r.ID, r.Name} {
				if ref != "" {
					off[ref] = r
				}
			}
			continue
		}
		if lvl, ok := lookup(opts.Levels, r); ok && lvl != r.Level {
			c := *r
			c.Level = lvl
			r = &c
		}
		out = append(out, r)
	}
	for _, r := range out {
		if r.Correlation == nil {
			continue
		}
		for pos, ref := range r.Correlation.Rules {
			if d := off[ref]; d != nil {
				errs = append(errs, &LoadError{File: r.File, Line: r.Correlation.ruleLines[pos],
					Msg: fmt.Sprintf("correlation %s refers to rule %q (%s), which detections.disabled turns off: disable %s too, or keep the rule", r.ID, ref, d.File, RuleKeys(r)[1])})
			}
		}
	}
	return out, errors.Join(errs...)
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
