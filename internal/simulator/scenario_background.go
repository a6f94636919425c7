package simulator

import (
	"strconv"
	"time"
)

// The background of the scenario tenant: what eight administrators of one
// company do on a normal working day. Each signs in one to three times a
// day, between 08:30 and 16:15 UTC, from the office's egress address (two
// offices, shared by the admins who sit there) or, on their one
// home-office weekday, from their home address; now and then mistypes a
// password once; edits policy rules, runs reports (one admin runs the same
// report every morning), manages end users, and deletes one or two objects
// at most in a session. Nobody works at weekends or at night.
//
// Left out on purpose, because one of the pack's rules fires on every
// instance by design (level low or medium, listed in its falsepositives):
// deleting or disabling a policy rule, editing an SSL bypass or the
// interception setting, editing the identity provider, two-factor or
// password policy, editing retention or log export, disabling an agent,
// emailing or downloading a report, creating an API credential or an
// admin, changing a role, and any work outside business hours. A real
// tenant does these now and then, and each then raises an alert: those
// rules' precision on a real tenant is the share of such actions that
// were not planned.

const (
	roleLead = iota
	rolePolicy
	roleHelpdesk
	roleReporting
)

var (
	officeIPs = []string{"198.51.100.10", "198.51.100.34"} // London, Frankfurt egress
	// Policy rules the background edits: none is a bypass or exception.
	benignRules = []string{
		"Block Gambling", "Block Adult Content", "Allow Office 365", "Warn Social Networking",
		"Block Newly Registered Domains", "Allow Salesforce", "Block Uncategorized",
		"Coach Streaming Media", "Block Peer-to-Peer", "Isolate Suspicious Sites", "Allow Zoom (Finance)",
	}
	newRules = []string{
		"Block Crypto Mining", "Allow Miro (Design)", "Warn File Sharing", "Block DNS over HTTPS",
		"Allow Teams Webhooks", "Coach Personal Email", "Block Parked Domains", "Warn Online Storage",
	}
	actionChanges  = [][2]string{{"Allow", "Block"}, {"Block", "Warn"}, {"Warn", "Block"}, {"Block", "Coach"}, {"Coach", "Block"}}
	benignSettings = [][2]string{
		{"Session Timeout", "idle timeout changed from 30 to 45 minutes"},
		{"Threat Isolation", "isolation extended to the Uncategorized category"},
		{"Session Timeout", "idle timeout changed from 45 to 30 minutes"},
	}
	dailyReport = "Top Blocked Categories"
)

// people derives the tenant's eight admins and forty end users.
func (p *planter) people() {
	g := &p.g
	firsts := append([]string(nil), firstNames...)
	for k := len(firsts) - 1; k > 0; k-- {
		j := g.intn(k + 1)
		firsts[k], firsts[j] = firsts[j], firsts[k]
	}
	roles := []int{roleLead, rolePolicy, rolePolicy, roleHelpdesk, roleHelpdesk, roleReporting, rolePolicy, roleHelpdesk}
	homes := map[int]time.Weekday{1: time.Friday, 4: time.Wednesday, 6: time.Monday}
	used := map[string]bool{}
	for k, role := range roles {
		a := scenarioAdmin{
			name:   firsts[k] + "." + lastNames[g.intn(len(lastNames))] + "@example.com",
			office: officeIPs[k%len(officeIPs)],
			role:   role,
			ua:     userAgents[g.intn(3)], // a browser
		}
		if wd, ok := homes[k]; ok {
			for a.home == "" || used[a.home] {
				a.home = "203.0.113." + strconv.Itoa(10+g.intn(200))
			}
			used[a.home] = true
			a.wfh = wd
		}
		p.admins = append(p.admins, a)
	}
	for k := 0; k < 40; k++ {
		p.users = append(p.users, firstNames[g.intn(len(firstNames))][:1]+lastNames[g.intn(len(lastNames))]+strconv.Itoa(k+1)+"@example.com")
	}
}

// background plants every working day's sessions of every admin.
func (p *planter) background() {
	g := &p.g
	for d := 0; d < ScenarioDays; d++ {
		if !isWorkday(p.day(d)) {
			continue
		}
		for _, a := range p.admins {
			// Nobody is away in the first week: every admin's usual
			// addresses are seen early in the learning period.
			if d >= 7 && g.percent(8) {
				continue
			}
			n := 1 + g.intn(3)
			const first, span = 8*60 + 30, 465 // 08:30 to 16:15, in minutes
			slot := span / n
			for k := 0; k < n; k++ {
				// A session lasts at most 75 minutes; it starts early
				// enough in its slot to end inside it.
				min := first + k*slot + g.intn(slot-75)
				t := p.day(d).Add(time.Duration(min)*time.Minute + time.Duration(g.intn(60))*time.Second)
				p.session(a, p.ipFor(a, d), t, k == 0)
			}
		}
	}
}

// session plants one sign-in, a few actions and the sign-out.
func (p *planter) session(a scenarioAdmin, ip string, t time.Time, firstOfDay bool) {
	g := &p.g
	if g.percent(4) { // the odd mistyped password, retried at once
		reason := "invalid credentials"
		if g.percent(30) {
			reason = "second factor rejected"
		}
		p.add(t.Add(-time.Duration(20+g.intn(70))*time.Second), a.name, ip, "Login", "Admin", a.name, "Failure", "Sign-in failed: "+reason)
	}
	via := "Signed in to the portal"
	if g.percent(50) {
		via = "Signed in via SAML SSO"
	}
	p.add(t, a.name, ip, "Login", "Admin", a.name, "Success", via)
	if a.role == roleReporting && firstOfDay {
		t = t.Add(time.Duration(30+g.intn(90)) * time.Second)
		p.add(t, a.name, ip, "Execute", "Report", dailyReport, "Success", "Ran report '"+dailyReport+"'")
	}
	deleted := 0
	for n := g.intn(6); n > 0; n-- {
		t = t.Add(time.Duration(60+g.intn(420)) * time.Second)
		deleted += p.action(a, ip, t, deleted)
	}
	t = t.Add(time.Duration(60+g.intn(240)) * time.Second)
	if g.percent(30) {
		p.add(t.Add(30*time.Minute), a.name, ip, "Logout", "Admin", a.name, "Success", "Session expired after 30 minutes of inactivity")
	} else {
		p.add(t, a.name, ip, "Logout", "Admin", a.name, "Success", "Signed out")
	}
}

// Background actions, per role, weighted.
var roleActions = map[int][]weighted{
	roleLead:      {{"update-rule", 20}, {"update-setting", 10}, {"run-report", 20}, {"update-user", 10}, {"create-rule", 5}, {"update-location", 5}},
	rolePolicy:    {{"update-rule", 40}, {"create-rule", 10}, {"enable-rule", 8}, {"update-location", 8}, {"run-report", 14}, {"create-location", 2}, {"delete-location", 2}, {"update-user", 5}},
	roleHelpdesk:  {{"create-user", 20}, {"update-user", 35}, {"delete-user", 10}, {"update-agent", 12}, {"run-report", 10}, {"update-location", 3}},
	roleReporting: {{"run-report", 50}, {"create-report", 8}, {"update-report", 20}, {"delete-report", 4}},
}

// action plants one background action of a; it returns how many objects it
// deleted (a session deletes two at most: no clean-up, no mass deletion).
func (p *planter) action(a scenarioAdmin, ip string, t time.Time, deleted int) int {
	g := &p.g
	kind := g.pick(roleActions[a.role])
	if (kind == "delete-user" || kind == "delete-location" || kind == "delete-report") && deleted >= 2 {
		kind = "update-user"
	}
	pick := func(list []string) string { return list[g.intn(len(list))] }
	status := "Success"
	fail := func(op, word, name string) string {
		status = "Failure"
		return "Failed to " + op + " " + word + " '" + name + "': " + pick(failureReasons[:3])
	}
	failing := g.percent(2)
	switch kind {
	case "update-rule":
		name, ch := pick(benignRules), actionChanges[g.intn(len(actionChanges))]
		desc := "Updated rule '" + name + "': action changed from " + ch[0] + " to " + ch[1]
		if failing {
			desc = fail("update", "rule", name)
		}
		p.add(t, a.name, ip, "Update", "PolicyRule", name, status, desc)
		p.changed(ch[0], ch[1])
	case "create-rule":
		name := pick(newRules)
		p.add(t, a.name, ip, "Create", "PolicyRule", name, status, "Created rule '"+name+"'")
	case "enable-rule":
		name := pick(benignRules)
		p.add(t, a.name, ip, "Enable", "PolicyRule", name, status, "Enabled rule '"+name+"'")
	case "update-location":
		name := pick(objectNames["Location"])
		p.add(t, a.name, ip, "Update", "Location", name, status, "Updated location '"+name+"': gateway address list edited")
	case "create-location":
		p.add(t, a.name, ip, "Create", "Location", "Lisbon Office", status, "Created location 'Lisbon Office'")
	case "delete-location":
		p.add(t, a.name, ip, "Delete", "Location", "Lisbon Office", status, "Deleted location 'Lisbon Office'")
		return 1
	case "run-report":
		name := pick(objectNames["Report"])
		p.add(t, a.name, ip, "Execute", "Report", name, status, "Ran report '"+name+"'")
	case "create-report":
		name := pick(objectNames["Report"]) + " (copy)"
		p.add(t, a.name, ip, "Create", "Report", name, status, "Created report '"+name+"'")
	case "update-report":
		name := pick(objectNames["Report"])
		p.add(t, a.name, ip, "Update", "Report", name, status, "Updated report '"+name+"': time range changed to the last 7 days")
	case "delete-report":
		name := pick(objectNames["Report"]) + " (copy)"
		p.add(t, a.name, ip, "Delete", "Report", name, status, "Deleted report '"+name+"'")
		return 1
	case "update-setting":
		s := benignSettings[g.intn(len(benignSettings))]
		p.add(t, a.name, ip, "Update", "Setting", s[0], status, "Updated setting '"+s[0]+"': "+s[1])
	case "create-user":
		u := pick(p.users)
		p.add(t, a.name, ip, "Create", "User", u, status, "Created user '"+u+"'")
	case "update-user":
		u := pick(p.users)
		desc := "Updated user '" + u + "': " + pick([]string{"moved to group Finance", "display name changed", "password reset requested", "moved to group Sales"})
		if failing {
			desc = fail("update", "user", u)
		}
		p.add(t, a.name, ip, "Update", "User", u, status, desc)
	case "delete-user":
		u := pick(p.users)
		p.add(t, a.name, ip, "Delete", "User", u, status, "Deleted user '"+u+"'")
		n := 1
		if deleted == 0 && g.percent(30) { // a leaver and their test account
			u2 := pick(p.users)
			p.add(t.Add(time.Duration(20+g.intn(60))*time.Second), a.name, ip, "Delete", "User", u2, status, "Deleted user '"+u2+"'")
			n = 2
		}
		return n
	case "update-agent":
		name := pick(objectNames["Agent"])
		p.add(t, a.name, ip, "Update", "Agent", name, status, "Updated agent '"+name+"': policy refreshed")
	}
	return 0
}
