package event

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Fields overrides the candidate key lists (config `fields:`). An empty list
// means the default list from DefaultFields; the first candidate with a usable
// value wins. A key may be a dotted path into nested objects ("actor.name");
// a key that literally contains dots is tried as-is before it is read as a path.
type Fields struct {
	Time       []string `yaml:"time" json:"time,omitempty"`
	ID         []string `yaml:"id" json:"id,omitempty"`
	User       []string `yaml:"user" json:"user,omitempty"`
	SourceIP   []string `yaml:"source_ip" json:"source_ip,omitempty"`
	ObjectType []string `yaml:"object_type" json:"object_type,omitempty"`
	ObjectName []string `yaml:"object_name" json:"object_name,omitempty"`
	Operation  []string `yaml:"operation" json:"operation,omitempty"`
	Outcome    []string `yaml:"outcome" json:"outcome,omitempty"`
	Message    []string `yaml:"message" json:"message,omitempty"`

	// Facts that have an ECS field of their own (before, they stayed under
	// wss.audit with the record's key).
	UserAgent    []string `yaml:"user_agent" json:"user_agent,omitempty"`       // user_agent.original
	Tenant       []string `yaml:"tenant" json:"tenant,omitempty"`               // organization.id
	RuleCategory []string `yaml:"rule_category" json:"rule_category,omitempty"` // rule.ruleset, for policy-rule objects only
	Host         []string `yaml:"host" json:"host,omitempty"`                   // host.name
	Reason       []string `yaml:"reason" json:"reason,omitempty"`               // event.reason
}

// Validate reports every unusable key at once: an empty key, or a dotted
// path with an empty segment ("a..b", ".a"), can never match a record.
func (f Fields) Validate() error {
	names := [numFacts]string{"time", "id", "user", "source_ip", "object_type", "object_name", "operation", "outcome", "message",
		"user_agent", "tenant", "rule_category", "host", "reason"}
	var errs []error
	for i, keys := range f.lists() {
		for _, k := range keys {
			if k == "" || strings.HasPrefix(k, ".") || strings.HasSuffix(k, ".") || strings.Contains(k, "..") {
				errs = append(errs, fmt.Errorf("fields.%s: unusable key %q", names[i], k))
			}
		}
	}
	return errors.Join(errs...)
}

// DefaultFields returns the candidate keys of wss-audit-api.md. No public
// sample of a WSS audit record exists, so these are guesses in order of
// likelihood; config overrides them per fact.
func DefaultFields() Fields {
	return Fields{
		Time:       []string{"timestamp", "time", "eventTime", "date", "createdAt", "dateTime"},
		ID:         []string{"id", "auditId", "eventId", "uuid"},
		User:       []string{"userName", "user", "username", "admin", "adminName", "email"},
		SourceIP:   []string{"sourceIp", "clientIp", "ip", "ipAddress"},
		ObjectType: []string{"objectType", "type"},
		ObjectName: []string{"objectName", "object", "name", "target"},
		Operation:  []string{"operationType", "operation", "action"},
		Outcome:    []string{"status", "result", "outcome"},
		Message:    []string{"description", "message", "details"},

		// Spelling variants seen across vendors' JSON (camelCase, snake_case,
		// the HTTP header's own); case-insensitive matching covers the rest.
		UserAgent: []string{"userAgent", "user_agent", "user-agent", "userAgentString", "httpUserAgent", "http_user_agent", "clientUserAgent"},
		Tenant: []string{"tenantId", "tenant_id", "tenant", "customerId", "customer_id", "customer",
			"organizationId", "organization_id", "orgId", "org_id"},
		RuleCategory: []string{"ruleCategory", "rule_category", "policyCategory", "policy_category", "category"},
		Host: []string{"deviceName", "device_name", "agentName", "agent_name", "hostName", "host_name", "hostname",
			"computerName", "computer_name", "machineName"},
		Reason: []string{"reason", "failureReason", "failure_reason", "statusReason", "status_reason",
			"errorMessage", "error_message", "errorReason", "error"},
	}
}

// fact indexes the facts a record is searched for.
type fact int

const (
	factTime fact = iota
	factID
	factUser
	factSourceIP
	factObjectType
	factObjectName
	factOperation
	factOutcome
	factMessage
	factUserAgent
	factTenant
	factRuleCategory
	factHost
	factReason
	numFacts
)

func (f Fields) lists() [numFacts][]string {
	return [numFacts][]string{f.Time, f.ID, f.User, f.SourceIP, f.ObjectType, f.ObjectName, f.Operation, f.Outcome, f.Message,
		f.UserAgent, f.Tenant, f.RuleCategory, f.Host, f.Reason}
}

// candidate is one configured key, pre-split so Map does no string work on it.
type candidate struct {
	key  string
	path []string // the key split at dots; nil when it has none
}

func newCandidates(keys []string) []candidate {
	out := make([]candidate, 0, len(keys))
	for _, k := range keys {
		c := candidate{key: k}
		if strings.Contains(k, ".") {
			c.path = strings.Split(k, ".")
		}
		out = append(out, c)
	}
	return out
}

// scalarString renders a value that can stand for a name, a type or an id.
// Objects, arrays and null are not usable: the candidate does not match and
// the value stays, whole, under wss.audit. Blank strings do not match either,
// so a later candidate can supply the fact.
func scalarString(v any) (string, bool) {
	var s string
	switch x := v.(type) {
	case string:
		s = strings.TrimSpace(x)
	case json.Number:
		s = string(x)
	case bool:
		s = strconv.FormatBool(x)
	case float64, float32, int, int64, int32, uint64, uint:
		s = string(AppendCanonical(nil, x))
	default:
		return "", false
	}
	return s, s != ""
}
