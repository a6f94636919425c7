package detect

import (
	"slices"
	"time"

	"go.yaml.in/yaml/v3"
)

// NewValue is a rule's custom.auditfwd.new_value option: the rule fires
// only when the value of Field has not been seen before for the values
// of GroupBy (see the package doc, "Engine options").
type NewValue struct {
	Field   string
	GroupBy []string // may be empty: one group for every event
	// Learn is how long, from the first event the rule judged (event
	// time), values are only learned, never alerted.
	Learn time.Duration
	// History is how long a value is remembered after it was last seen;
	// default DefaultHistory.
	History time.Duration
}

// DefaultHistory is how long a new_value rule remembers a value it no
// longer sees, unless the rule says `history:`.
const DefaultHistory = 90 * 24 * time.Hour

// parseEngineOptions reads custom.auditfwd (node v, under key k) into r.
// Every key is checked: a typo must not silently turn the rule into a
// plain one that fires on every match. Other keys of custom are left to
// their tools.
func parseEngineOptions(r *Rule, custom *yaml.Node) error {
	if custom.Kind != yaml.MappingNode {
		return nil // refused by the decode into Rule.Custom
	}
	if err := uniqueKeys(custom); err != nil {
		return err
	}
	for i := 0; i+1 < len(custom.Content); i += 2 {
		k, v := custom.Content[i], custom.Content[i+1]
		if k.Value != "auditfwd" {
			continue
		}
		r.optLine = k.Line
		if v.Kind != yaml.MappingNode {
			return errAt(v, "custom.auditfwd must be a map of engine options (new_value, outside_business_hours)")
		}
		if err := uniqueKeys(v); err != nil {
			return err
		}
		for j := 0; j+1 < len(v.Content); j += 2 {
			ok, ov := v.Content[j], v.Content[j+1]
			switch ok.Value {
			case "new_value":
				nv, err := parseNewValue(ov)
				if err != nil {
					return err
				}
				r.NewValue = nv
			case "outside_business_hours":
				if ov.Kind != yaml.ScalarNode || ov.Tag != "!!bool" {
					return errAt(ov, "outside_business_hours must be true or false")
				}
				r.OutsideBusinessHours = ov.Value == "true"
			default:
				return errAt(ok, "unknown engine option custom.auditfwd.%s (new_value, outside_business_hours)", ok.Value)
			}
		}
	}
	return nil
}

func parseNewValue(n *yaml.Node) (*NewValue, error) {
	if n.Kind != yaml.MappingNode {
		return nil, errAt(n, "new_value must be a map (field, group-by, learn, history)")
	}
	if err := uniqueKeys(n); err != nil {
		return nil, err
	}
	nv := &NewValue{History: DefaultHistory}
	var learnNode, historyNode *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var err error
		switch k.Value {
		case "field":
			nv.Field, err = str(k, v)
		case "group-by":
			nv.GroupBy, err = strList(k, v, false)
		case "learn", "history":
			var s string
			var d time.Duration
			if s, err = str(k, v); err == nil {
				if d, err = parseTimespan(s); err != nil {
					err = errAt(v, "new_value %s: %v", k.Value, err)
				}
			}
			if k.Value == "learn" {
				nv.Learn, learnNode = d, v
			} else {
				nv.History, historyNode = d, v
			}
		default:
			err = errAt(k, "unknown new_value option %q (field, group-by, learn, history)", k.Value)
		}
		if err != nil {
			return nil, err
		}
	}
	switch {
	case nv.Field == "":
		return nil, errAt(n, "new_value needs the field whose new values it alerts on")
	case slices.Contains(nv.GroupBy, nv.Field):
		return nil, errAt(n, "new_value: field %s is also in group-by", nv.Field)
	case learnNode == nil:
		return nil, errAt(n, "new_value needs learn: how long it only learns values before it alerts (e.g. 14d)")
	case nv.History < nv.Learn:
		// Values learned first would be forgotten before learning ends,
		// and alert as new right after it.
		at := historyNode
		if at == nil {
			at = learnNode
		}
		return nil, errAt(at, "new_value history (%s) is shorter than learn (%s): set history to at least learn", nv.History, nv.Learn)
	}
	return nv, nil
}
