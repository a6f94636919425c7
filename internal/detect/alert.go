package detect

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Alert is one firing of a rule: a detection on one event, or a
// correlation over several.
type Alert struct {
	RuleID      string
	Title       string
	Description string
	References  []string
	Author      string
	Level       string
	Tags        []string
	Ruleset     string
	Version     string // the rule's modified date, else its date

	Type  string       // "detection" or the correlation type
	Group []GroupValue // correlation: the group-by fields and their values

	Start  time.Time // first triggering event
	Time   time.Time // last triggering event
	Count  int       // triggering events
	Hashes []string  // event.hash of every triggering event, in time order
	Users  []string
	IPs    []string

	// Hash identifies the alert: SHA-256 of rule id, group key and window
	// start, hex. A crash and a replay of the same events give the same
	// hash, so the alert is deduplicated like a record.
	Hash string

	// Source, when set, is the source (tenant) whose events fired the
	// alert: labels.source, as in the events. Not part of Hash.
	Source string
}

// GroupValue is one group-by field of a correlation alert.
type GroupValue struct {
	Field string `json:"field"`
	Value string `json:"value"`
}

func alertHash(ruleID, groupKey string, start time.Time) string {
	h := sha256.New()
	h.Write([]byte(ruleID))
	h.Write([]byte{0})
	h.Write([]byte(groupKey))
	h.Write([]byte{0})
	h.Write([]byte(strconv.FormatInt(start.UnixNano(), 10)))
	return hex.EncodeToString(h.Sum(nil))
}

// Severity returns event.severity and event.risk_score for a Sigma level,
// on the scale of Elastic's detection engine (low 21, medium 47, high 73,
// critical 99), informational below it. A rule with no level is medium.
func Severity(level string) (severity, risk int) {
	switch level {
	case "informational":
		return 1, 1
	case "low":
		return 2, 21
	case "high":
		return 4, 73
	case "critical":
		return 5, 99
	}
	return 3, 47
}

// MessageLine is the alert's one-line summary.
func (a *Alert) MessageLine() string {
	var b strings.Builder
	b.WriteString(a.Title)
	if a.Type == "detection" {
		b.WriteString(" (" + levelOr(a.Level) + ")")
	} else {
		fmt.Fprintf(&b, " (%s, %s): %d events", levelOr(a.Level), a.Type, a.Count)
		if !a.Start.Equal(a.Time) {
			fmt.Fprintf(&b, " from %s to %s", ts(a.Start), ts(a.Time))
		}
		for i, g := range a.Group {
			if i == 0 {
				b.WriteString(" for ")
			} else {
				b.WriteString(", ")
			}
			b.WriteString(g.Field + "=" + g.Value)
		}
	}
	if len(a.Users) > 0 {
		b.WriteString("; user " + strings.Join(a.Users, ", "))
	}
	if len(a.IPs) > 0 {
		b.WriteString("; ip " + strings.Join(a.IPs, ", "))
	}
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		return r
	}, b.String())
}

func levelOr(l string) string {
	if l == "" {
		return "medium"
	}
	return l
}

func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// The ECS document, in a fixed key order (struct order).
type ecsAlert struct {
	Timestamp string      `json:"@timestamp"`
	Message   string      `json:"message"`
	ECS       ecsVersion  `json:"ecs"`
	Event     ecsEvent    `json:"event"`
	Rule      ecsRule     `json:"rule"`
	Threat    *ecsThreat  `json:"threat,omitempty"`
	Related   ecsRelated  `json:"related"`
	Tags      []string    `json:"tags,omitempty"`
	Labels    *ecsLabels  `json:"labels,omitempty"`
	Auditfwd  ecsAuditfwd `json:"auditfwd"`
}

type ecsLabels struct {
	Source string `json:"source"`
}

type ecsVersion struct {
	Version string `json:"version"`
}

type ecsEvent struct {
	Kind      string   `json:"kind"`
	Category  []string `json:"category"`
	Type      []string `json:"type"`
	Severity  int      `json:"severity"`
	RiskScore int      `json:"risk_score"`
	Start     string   `json:"start"`
	End       string   `json:"end"`
	Hash      string   `json:"hash"`
	Dataset   string   `json:"dataset"`
	Module    string   `json:"module"`
}

type ecsRule struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Reference   []string `json:"reference,omitempty"`
	Author      []string `json:"author,omitempty"`
	Ruleset     string   `json:"ruleset,omitempty"`
	Version     string   `json:"version,omitempty"`
}

type ecsRelated struct {
	Hash []string `json:"hash"`
	User []string `json:"user,omitempty"`
	IP   []string `json:"ip,omitempty"`
}

type ecsAuditfwd struct {
	Alert ecsAlertInfo `json:"alert"`
}

type ecsAlertInfo struct {
	Type  string       `json:"type"`
	Count int          `json:"count"`
	Group []GroupValue `json:"group,omitempty"`
}

// ECSVersion is the ECS version of alert documents, that of the events.
const ECSVersion = "8.11.0"

// ECS renders the alert as one line of ECS JSON. It depends on the alert
// alone (no clock), so a replayed alert renders byte for byte the same.
func (a *Alert) ECS() []byte {
	sev, risk := Severity(a.Level)
	doc := ecsAlert{
		Timestamp: ts(a.Time),
		Message:   a.MessageLine(),
		ECS:       ecsVersion{ECSVersion},
		Event: ecsEvent{
			Kind:      "alert",
			Category:  []string{"intrusion_detection"},
			Type:      []string{"info"},
			Severity:  sev,
			RiskScore: risk,
			Start:     ts(a.Start),
			End:       ts(a.Time),
			Hash:      a.Hash,
			Dataset:   "auditfwd.alert",
			Module:    "auditfwd",
		},
		Rule: ecsRule{
			ID:          a.RuleID,
			Name:        a.Title,
			Description: a.Description,
			Reference:   a.References,
			Ruleset:     a.Ruleset,
			Version:     a.Version,
		},
		Threat:   threatOf(a.Tags),
		Related:  ecsRelated{Hash: a.Hashes, User: a.Users, IP: a.IPs},
		Tags:     a.Tags,
		Auditfwd: ecsAuditfwd{ecsAlertInfo{Type: a.Type, Count: a.Count, Group: a.Group}},
	}
	if a.Source != "" {
		doc.Labels = &ecsLabels{Source: a.Source}
	}
	if a.Author != "" {
		for _, s := range strings.Split(a.Author, ",") {
			if s = strings.TrimSpace(s); s != "" {
				doc.Rule.Author = append(doc.Rule.Author, s)
			}
		}
	}
	if doc.Related.Hash == nil {
		doc.Related.Hash = []string{}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		// Only strings, ints and slices of them: Marshal cannot fail.
		panic("detect: alert does not encode: " + err.Error())
	}
	return b
}
