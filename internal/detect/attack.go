package detect

import (
	"regexp"
	"strings"
)

// The ATT&CK Enterprise tactics, by the name Sigma tags use
// (attack.initial-access, or attack.initial_access in older rules).
var tactics = map[string][2]string{
	"reconnaissance":       {"TA0043", "Reconnaissance"},
	"resource-development": {"TA0042", "Resource Development"},
	"initial-access":       {"TA0001", "Initial Access"},
	"execution":            {"TA0002", "Execution"},
	"persistence":          {"TA0003", "Persistence"},
	"privilege-escalation": {"TA0004", "Privilege Escalation"},
	"defense-evasion":      {"TA0005", "Defense Evasion"},
	"credential-access":    {"TA0006", "Credential Access"},
	"discovery":            {"TA0007", "Discovery"},
	"lateral-movement":     {"TA0008", "Lateral Movement"},
	"collection":           {"TA0009", "Collection"},
	"command-and-control":  {"TA0011", "Command and Control"},
	"exfiltration":         {"TA0010", "Exfiltration"},
	"impact":               {"TA0040", "Impact"},
}

var techniqueTag = regexp.MustCompile(`^t([0-9]{4})(?:\.([0-9]{3}))?$`)

type ecsThreat struct {
	Framework string       `json:"framework"`
	Tactic    *ecsTactic   `json:"tactic,omitempty"`
	Technique *ecsTechique `json:"technique,omitempty"`
}

type ecsTactic struct {
	ID        []string `json:"id"`
	Name      []string `json:"name"`
	Reference []string `json:"reference"`
}

type ecsTechique struct {
	ID           []string         `json:"id"`
	Reference    []string         `json:"reference"`
	Subtechnique *ecsSubtechnique `json:"subtechnique,omitempty"`
}

type ecsSubtechnique struct {
	ID        []string `json:"id"`
	Reference []string `json:"reference"`
}

// threatOf maps the attack.* tags to threat.*; nil when there are none.
// Group (attack.g...) and software (attack.s...) tags stay in tags only.
func threatOf(tags []string) *ecsThreat {
	var ta ecsTactic
	var te ecsTechique
	var sub ecsSubtechnique
	seen := map[string]bool{}
	add := func(list *[]string, v string) bool {
		if seen[v] {
			return false
		}
		seen[v] = true
		*list = append(*list, v)
		return true
	}
	for _, tag := range tags {
		name, ok := strings.CutPrefix(strings.ToLower(tag), "attack.")
		if !ok {
			continue
		}
		if t, ok := tactics[strings.ReplaceAll(name, "_", "-")]; ok {
			if add(&ta.ID, t[0]) {
				ta.Name = append(ta.Name, t[1])
				ta.Reference = append(ta.Reference, "https://attack.mitre.org/tactics/"+t[0]+"/")
			}
			continue
		}
		m := techniqueTag.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		id := "T" + m[1]
		if add(&te.ID, id) {
			te.Reference = append(te.Reference, "https://attack.mitre.org/techniques/"+id+"/")
		}
		if m[2] != "" {
			sid := id + "." + m[2]
			if add(&sub.ID, sid) {
				sub.Reference = append(sub.Reference, "https://attack.mitre.org/techniques/"+id+"/"+m[2]+"/")
			}
		}
	}
	if len(ta.ID) == 0 && len(te.ID) == 0 {
		return nil
	}
	th := &ecsThreat{Framework: "MITRE ATT&CK"}
	if len(ta.ID) > 0 {
		th.Tactic = &ta
	}
	if len(te.ID) > 0 {
		th.Technique = &te
		if len(sub.ID) > 0 {
			te.Subtechnique = &sub
		}
	}
	return th
}
