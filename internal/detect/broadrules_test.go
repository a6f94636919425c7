package detect

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/auditfwd/auditfwd/rules"
)

// Three rules matched more than they were written for (found by the
// scenario helper): the acronyms SSO/IdP/MFA as substrings, any object
// named "...Audit...", and an Assign of an end user. Each stays quiet on
// those and still fires on what it is for.
func TestOverBroadRulesNarrowed(t *testing.T) {
	const (
		authRule    = "f4020255-9532-4a7c-b526-7209310f0b53"
		loggingRule = "3a3c1408-e032-43d2-ae4c-563eacb88c7a"
		grantRule   = "1ea9df82-b1d0-45bf-92a5-98e7be7c06ad"
	)
	rs, err := LoadFS(rules.FS, rules.Dir)
	if err != nil {
		t.Fatal(err)
	}
	doc := func(category, typ, action, objType, objName, msg string) []byte {
		return []byte(fmt.Sprintf(`{"event":{"dataset":"wss.audit","kind":"event","category":[%q],"type":[%q],"action":%q,"outcome":"success"},`+
			`"user":{"name":"alice@example.com"},"message":%q,"wss":{"audit":{"object_type":%q,"object_name":%q}}}`,
			category, typ, action, msg, objType, objName))
	}
	for _, c := range []struct {
		name string
		doc  []byte
		rule string
		want bool
	}{
		{"SSO inside a word", doc("configuration", "change", "Update", "Location", "Lasso Street Office", "Updated location Lasso Street Office"), authRule, false},
		{"SSO as a word", doc("configuration", "change", "Update", "Authentication", "SSO Settings", "Updated SSO Settings"), authRule, true},
		{"MFA as a word", doc("configuration", "change", "Update", "Admin Settings", "Require MFA", "Updated Require MFA"), authRule, true},
		{"an Audit-named policy", doc("configuration", "change", "Update", "Policy Rule", "Auditorium Wi-Fi", "Updated Auditorium Wi-Fi"), loggingRule, false},
		{"the audit log settings", doc("configuration", "change", "Update", "Reporting", "Audit Log Settings", "Updated Audit Log Settings"), loggingRule, true},
		{"end user assigned to a group", doc("iam", "change", "Assign", "User", "bob@example.com", "Assigned bob@example.com to group Sales"), grantRule, false},
		{"admin role assigned", doc("iam", "change", "Assign", "User", "bob@example.com", "Assigned role Super Admin to bob@example.com"), grantRule, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, err := New(rs, Options{})
			if err != nil {
				t.Fatal(err)
			}
			at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC) // a Wednesday, in business hours
			got := slices.Contains(ruleIDs(e.Evaluate(c.doc, at, "h1")), c.rule)
			if got != c.want {
				t.Fatalf("rule %s fired: %v, want %v", c.rule, got, c.want)
			}
		})
	}
}
