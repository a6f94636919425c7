package event

import (
	"fmt"
	"testing"
)

// TestStandardFields: facts that ECS has a field for land there, under any of
// their spelling variants, and leave wss.audit (issue 18.4).
func TestStandardFields(t *testing.T) {
	m := NewMapper(Fields{}, "")
	d := DefaultFields()
	facts := []struct {
		name  string
		keys  []string
		extra string // other members of the record
		value string
		path  string
	}{
		{"user_agent", d.UserAgent, "", "curl/8.11.0", "user_agent.original"},
		{"tenant", d.Tenant, "", "tenant-3f9a1c2e", "organization.id"},
		{"host", d.Host, "", "LAPTOP-7F3K2Q", "host.name"},
		{"reason", d.Reason, `"status":"Failure",`, "account locked after 5 failed attempts", "event.reason"},
		{"rule_category", d.RuleCategory, `"objectType":"PolicyRule","objectName":"Block Gambling",`, "Content Filtering", "rule.ruleset"},
	}
	for _, f := range facts {
		for _, k := range f.keys {
			t.Run(f.name+"/"+k, func(t *testing.T) {
				_, doc := mapDoc(t, m, fmt.Sprintf(`{%s,%s%q:%q}`, baseTime, f.extra, k, f.value))
				if got := get(doc, f.path); got != f.value {
					t.Errorf("%s = %v, want %q", f.path, got, f.value)
				}
				if _, ok := audit(doc)[k]; ok {
					t.Errorf("key %s repeated under wss.audit: %v", k, audit(doc))
				}
			})
		}
	}
	// Variants no list names are still found case-insensitively.
	for _, k := range []string{"UserAgent", "USER_AGENT", "TenantID", "CustomerId"} {
		_, doc := mapDoc(t, m, fmt.Sprintf(`{%s,%q:"v"}`, baseTime, k))
		if get(doc, "user_agent.original") != "v" && get(doc, "organization.id") != "v" {
			t.Errorf("%s: found nowhere: %s", k, canon(doc))
		}
	}
}

// TestObjectEntities: the object's name fills the ECS field of what it is,
// and stays in wss.audit.object_name.
func TestObjectEntities(t *testing.T) {
	m := NewMapper(Fields{}, "")
	tests := []struct {
		name, fields string
		want         map[string]any // path -> value, nil = absent
	}{
		{"policy rule", `"objectType":"PolicyRule","objectName":"Block Gambling","operationType":"Update"`,
			map[string]any{"rule.name": "Block Gambling", "rule.ruleset": nil, "host": nil, "user.target": nil}},
		{"rule with its category", `"objectType":"PolicyRule","objectName":"Block Gambling","category":"Content Filtering"`,
			map[string]any{"rule.name": "Block Gambling", "rule.ruleset": "Content Filtering", "wss.audit.category": nil}},
		{"category of no rule stays the vendor's", `"objectType":"Report","objectName":"Weekly","category":"Threats"`,
			map[string]any{"rule": nil, "wss.audit.category": "Threats"}},
		{"agent", `"objectType":"Agent","objectName":"LAPTOP-7F3K2Q","operationType":"Disable"`,
			map[string]any{"host.name": "LAPTOP-7F3K2Q", "rule": nil}},
		{"device key beats the object name", `"objectType":"Agent","objectName":"agent 7","deviceName":"MBP-JSMITH"`,
			map[string]any{"host.name": "MBP-JSMITH", "wss.audit.object_name": "agent 7"}},
		{"group", `"objectType":"UserGroup","objectName":"Finance","operationType":"Create"`,
			map[string]any{"group.name": "Finance", "user.target": nil}},
		{"location is none of them", `"objectType":"Location","objectName":"London HQ"`,
			map[string]any{"rule": nil, "host": nil, "group": nil, "user.target": nil, "wss.audit.object_name": "London HQ"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, doc := mapDoc(t, m, `{`+baseTime+`,`+tt.fields+`}`)
			for path, want := range tt.want {
				got := get(doc, path)
				if path == "wss.audit.category" || path == "wss.audit.object_name" {
					got = audit(doc)[path[len("wss.audit."):]]
				}
				if got != want {
					t.Errorf("%s = %v, want %v", path, got, want)
				}
			}
		})
	}
}

// TestFailureReason: event.reason from a reason key, else from a failure
// message of the form "<what failed>: <why>", never from a success.
func TestFailureReason(t *testing.T) {
	m := NewMapper(Fields{}, "")
	tests := []struct {
		fields string
		want   any
	}{
		{`"status":"Failure","description":"Sign-in failed: account locked after 5 failed attempts"`, "account locked after 5 failed attempts"},
		{`"status":"Failure","description":"Failed to delete rule 'SSL Bypass: Banking': insufficient permissions"`, "insufficient permissions"},
		{`"status":"Failure","description":"Failed to delete rule 'SSL Bypass: Banking'"`, nil},
		{`"status":"Failure","description":"Failed to delete rule"`, nil},
		{`"status":"Success","description":"Updated rule: action changed"`, nil},
		{`"status":"Failure","reason":"quota exceeded","description":"Sign-in failed: other"`, "quota exceeded"},
		{`"status":"Success","reason":"scheduled"`, "scheduled"},
	}
	for _, tt := range tests {
		_, doc := mapDoc(t, m, `{`+baseTime+`,`+tt.fields+`}`)
		if got := get(doc, "event.reason"); got != tt.want {
			t.Errorf("%s: event.reason = %v, want %v", tt.fields, got, tt.want)
		}
	}
}

// TestNewFieldsOverride: fields: overrides reach the new facts too.
func TestNewFieldsOverride(t *testing.T) {
	m := NewMapper(Fields{UserAgent: []string{"client.ua"}, Tenant: []string{"acct"}, Reason: []string{"why"}, Host: []string{"box"}}, "")
	_, doc := mapDoc(t, m, `{`+baseTime+`,"client":{"ua":"Firefox/133.0"},"acct":"a-1","why":"nope","box":"VDI-42","userAgent":"ignored"}`)
	for path, want := range map[string]string{"user_agent.original": "Firefox/133.0", "organization.id": "a-1", "event.reason": "nope", "host.name": "VDI-42"} {
		if got := get(doc, path); got != want {
			t.Errorf("%s = %v, want %q", path, got, want)
		}
	}
	if audit(doc)["userAgent"] != "ignored" { // not a candidate any more: kept as the vendor's
		t.Errorf("userAgent not kept under wss.audit: %v", audit(doc))
	}
	if err := (Fields{Reason: []string{"a..b"}}).Validate(); err == nil || err.Error() != `fields.reason: unusable key "a..b"` {
		t.Errorf("Validate = %v", err)
	}
}
