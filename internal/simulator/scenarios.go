package simulator

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"time"
)

// Attack scenarios with ground truth, for proving the detection rules:
// each plants a handful of records and names the rules (by rule file name
// without .yml) that must fire on them. Background is benign admin work
// that no rule should fire on: business hours (09:00-17:00 UTC, Monday to
// Friday), each admin from one address, policy edits, report runs, user
// changes, the odd mistyped password and a single deletion now and then.

// Scenario is one planted attack.
type Scenario struct {
	Name    string
	Rules   []string // rule file names (without .yml) that must fire
	Records [][]byte // the planted records, in time order
	IDs     []string // their ids
}

// AuditRecord is one simulated audit record (the default schema).
type AuditRecord struct {
	ID          string `json:"id"`
	Timestamp   string `json:"timestamp"`
	UserName    string `json:"userName"`
	SourceIP    string `json:"sourceIp"`
	Operation   string `json:"operationType"`
	ObjectType  string `json:"objectType"`
	ObjectName  string `json:"objectName,omitempty"`
	Status      string `json:"status"`
	Description string `json:"description"`
}

func (r AuditRecord) bytes() []byte {
	b, _ := json.Marshal(r)
	return b
}

var scenarioAdmins = []struct{ name, ip string }{
	{"alice.admin@example.com", "198.51.100.10"}, {"bob.ops@example.com", "198.51.100.11"},
	{"carol.sec@example.com", "198.51.100.12"}, {"dave.net@example.com", "198.51.100.13"},
	{"erin.help@example.com", "198.51.100.14"},
}

// Background is benign activity over days, starting at the day of start.
func Background(seed int64, start time.Time, days int) [][]byte {
	rng := rand.New(rand.NewSource(seed))
	day0 := start.UTC().Truncate(24 * time.Hour)
	var out [][]byte
	n := 0
	rec := func(t time.Time, a int, op, typ, name, status, desc string) {
		n++
		out = append(out, AuditRecord{ID: fmt.Sprintf("bg-%06d", n), Timestamp: t.Format(time.RFC3339), UserName: scenarioAdmins[a].name,
			SourceIP: scenarioAdmins[a].ip, Operation: op, ObjectType: typ, ObjectName: name, Status: status, Description: desc}.bytes())
	}
	edits := []struct{ op, typ, name, desc string }{
		{"Update", "PolicyRule", "Block Gambling", "Policy rule updated"},
		{"Update", "PolicyRule", "Warn Social Networking", "Policy rule updated"},
		{"Create", "PolicyRule", "Block Newly Registered Domains", "Policy rule created"},
		{"Update", "Location", "London HQ", "Location updated"},
		{"Create", "User", "j.doe@example.com", "User created"},
		{"Update", "User", "k.lee@example.com", "User updated"},
		{"Execute", "Report", "Weekly Threat Summary", "Report run"},
		{"Update", "Setting", "Session Timeout", "Setting updated"},
	}
	for d := 0; d < days; d++ {
		day := day0.Add(time.Duration(d) * 24 * time.Hour)
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		for a := range scenarioAdmins {
			t := day.Add(9*time.Hour + time.Duration(rng.Intn(60))*time.Minute)
			if rng.Intn(10) == 0 { // a mistyped password, then in
				rec(t, a, "Login", "Admin", "", "Failed", "Login failed: bad password")
				t = t.Add(time.Minute)
			}
			rec(t, a, "Login", "Admin", "", "Success", "Login succeeded")
			for k := 0; k < 2+rng.Intn(4); k++ {
				t = t.Add(time.Duration(10+rng.Intn(50)) * time.Minute)
				e := edits[rng.Intn(len(edits))]
				rec(t, a, e.op, e.typ, e.name, "Success", e.desc)
			}
			if rng.Intn(8) == 0 {
				t = t.Add(5 * time.Minute)
				rec(t, a, "Delete", "User", "leaver@example.com", "Success", "User deleted")
			}
			rec(t.Add(10*time.Minute), a, "Logout", "Admin", "", "Success", "Logout")
		}
	}
	return out
}

// AttackScenarios plants one scenario per rule on the weekday at day (UTC
// midnight; moved to the next Monday to Wednesday), during business
// hours unless the scenario is about the hours.
func AttackScenarios(day time.Time) []Scenario {
	day = day.UTC().Truncate(24 * time.Hour)
	for wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday || wd > time.Wednesday; wd = day.Weekday() {
		day = day.Add(24 * time.Hour)
	}
	var out []Scenario
	at := day.Add(10 * time.Hour)
	n := 0
	add := func(name string, rules []string, recs ...AuditRecord) {
		s := Scenario{Name: name, Rules: rules}
		for _, r := range recs {
			n++
			r.ID = fmt.Sprintf("atk-%04d", n)
			if r.Status == "" {
				r.Status = "Success"
			}
			s.Records = append(s.Records, r.bytes())
			s.IDs = append(s.IDs, r.ID)
		}
		out = append(out, s)
	}
	ts := func(t time.Time) string { return t.Format(time.RFC3339) }
	step := func(d time.Duration) string { at = at.Add(d); return ts(at) }
	alice, bob, carol := scenarioAdmins[0], scenarioAdmins[1], scenarioAdmins[2]
	const attacker = "203.0.113.66"

	// A burst of failed sign-ins, no success.
	var burst []AuditRecord
	for i := 0; i < 6; i++ {
		burst = append(burst, AuditRecord{Timestamp: step(30 * time.Second), UserName: bob.name, SourceIP: bob.ip, Operation: "Login", ObjectType: "Admin", Status: "Failed", Description: "Login failed: bad password"})
	}
	add("failed sign-in burst", []string{"mr_wss_audit_admin_signin_failed_burst"}, burst...)

	// Failures, then in: from an address alice never used.
	at = at.Add(20 * time.Minute)
	var brute []AuditRecord
	for i := 0; i < 5; i++ {
		brute = append(brute, AuditRecord{Timestamp: step(20 * time.Second), UserName: alice.name, SourceIP: attacker, Operation: "Login", ObjectType: "Admin", Status: "Failed", Description: "Login failed: bad password"})
	}
	brute = append(brute, AuditRecord{Timestamp: step(time.Minute), UserName: alice.name, SourceIP: attacker, Operation: "Login", ObjectType: "Admin", Description: "Login succeeded"})
	add("success after failures", []string{"mr_wss_audit_admin_signin_failed_burst", "mr_wss_audit_admin_signin_success_after_failures", "wss_audit_admin_signin_from_new_source_ip"}, brute...)

	// Password spray: one address, one try per admin.
	at = at.Add(20 * time.Minute)
	var spray []AuditRecord
	for _, a := range scenarioAdmins[1:] {
		spray = append(spray, AuditRecord{Timestamp: step(40 * time.Second), UserName: a.name, SourceIP: "203.0.113.77", Operation: "Login", ObjectType: "Admin", Status: "Failed", Description: "Login failed: bad password"})
	}
	add("password spray", []string{"mr_wss_audit_signin_failed_many_admins_one_ip"}, spray...)

	// One admin from three addresses within the hour.
	at = at.Add(20 * time.Minute)
	add("one admin, many addresses", []string{"mr_wss_audit_admin_signin_multiple_source_ips", "wss_audit_admin_signin_from_new_source_ip"},
		AuditRecord{Timestamp: step(time.Minute), UserName: carol.name, SourceIP: "192.0.2.21", Operation: "Login", ObjectType: "Admin", Description: "Login succeeded"},
		AuditRecord{Timestamp: step(5 * time.Minute), UserName: carol.name, SourceIP: "192.0.2.22", Operation: "Login", ObjectType: "Admin", Description: "Login succeeded"},
		AuditRecord{Timestamp: step(5 * time.Minute), UserName: carol.name, SourceIP: "192.0.2.23", Operation: "Login", ObjectType: "Admin", Description: "Login succeeded"})

	// The rest: one change each, by alice from her own address.
	one := func(name, rule, op, typ, obj, desc string) {
		add(name, []string{rule}, AuditRecord{Timestamp: step(3 * time.Minute), UserName: alice.name, SourceIP: alice.ip, Operation: op, ObjectType: typ, ObjectName: obj, Description: desc})
	}
	one("API credential created", "wss_audit_api_credential_created", "Create", "ApiCredential", "terraform-automation", "API credential created")
	add("API credential that never expires", []string{"wss_audit_api_credential_created", "wss_audit_api_credential_never_expires"},
		AuditRecord{Timestamp: step(3 * time.Minute), UserName: alice.name, SourceIP: alice.ip, Operation: "Create", ObjectType: "ApiCredential", ObjectName: "backup-export", Description: "API credential created; expiry set to never"})
	one("audit-log credential deleted", "wss_audit_audit_log_api_credential_removed_or_changed", "Delete", "ApiCredential", "siem-audit-reader", "API credential deleted")
	one("admin granted", "wss_audit_admin_or_role_granted", "Create", "Admin", "mallory@example.net", "Administrator created")
	one("policy rule deleted", "wss_audit_policy_rule_deleted_or_disabled", "Delete", "PolicyRule", "Block Peer-to-Peer", "Policy rule deleted")
	one("policy rule disabled", "wss_audit_policy_rule_deleted_or_disabled", "Disable", "PolicyRule", "Isolate Suspicious Sites", "Policy rule disabled")
	one("TLS interception changed", "wss_audit_tls_interception_or_bypass_changed", "Update", "Setting", "SSL Interception", "Setting updated")
	one("SAML settings changed", "wss_audit_authentication_settings_changed", "Update", "Setting", "SAML Identity Provider", "Setting updated")
	one("agent disabled", "wss_audit_agent_or_connector_disabled", "Disable", "Agent", "LAPTOP-FIN-233", "Agent disabled")
	one("report emailed", "wss_audit_report_exported_or_emailed", "Email", "Report", "User Activity - Finance", "Report emailed to an outside address")
	one("account auditing changed", "wss_audit_logging_settings_changed", "Update", "Setting", "Account Auditing", "Setting updated")

	// Mass deletion: twelve users in five minutes.
	var mass []AuditRecord
	for i := 0; i < 12; i++ {
		mass = append(mass, AuditRecord{Timestamp: step(25 * time.Second), UserName: bob.name, SourceIP: bob.ip, Operation: "Delete", ObjectType: "User", ObjectName: fmt.Sprintf("staff%02d@example.com", i), Description: "User deleted"})
	}
	add("mass deletion", []string{"mr_wss_audit_mass_deletion_by_one_admin"}, mass...)

	// A sign-in and a change at 02:30 on the same night.
	night := day.Add(24*time.Hour + 2*time.Hour + 30*time.Minute)
	add("activity outside business hours", []string{"wss_audit_admin_activity_outside_business_hours"},
		AuditRecord{Timestamp: ts(night), UserName: scenarioAdmins[3].name, SourceIP: scenarioAdmins[3].ip, Operation: "Login", ObjectType: "Admin", Description: "Login succeeded"},
		AuditRecord{Timestamp: ts(night.Add(4 * time.Minute)), UserName: scenarioAdmins[3].name, SourceIP: scenarioAdmins[3].ip, Operation: "Update", ObjectType: "Location", ObjectName: "Frankfurt DC", Description: "Location updated"})
	return out
}
