package simulator

import "time"

// The attacks planted in the scenario tenant's last week, one scenario (or
// more) per alerting rule of the pack. Each is labelled with every rule
// that must fire on its records, no more: a scenario that also trips a rule
// it is not labelled with counts as a false positive of that rule.
//
// Attackers come from 192.0.2.0/24 and 2001:db8::/32, which the background
// never uses. A business-hours scenario happens inside a session of the
// admin whose account is used, from that admin's usual address of the day,
// so only its own rules have cause to fire; the credential attacks that
// stop at failures run at night.

// workday is midnight of the k-th working day on or after day
// ScenarioLearnDays (days ScenarioLearnDays.. hold five of them).
func (p *planter) workday(k int) int {
	for d := ScenarioLearnDays; d < ScenarioDays; d++ {
		if isWorkday(p.day(d)) {
			if k == 0 {
				return d
			}
			k--
		}
	}
	panic("simulator: too few working days for the scenarios")
}

// signIn and signOut frame a planted session of a from ip.
func (p *planter) signIn(a scenarioAdmin, ip string, t time.Time) {
	p.add(t, a.name, ip, "Login", "Admin", a.name, "Success", "Signed in to the portal")
}

func (p *planter) signOut(a scenarioAdmin, ip string, t time.Time) {
	p.add(t, a.name, ip, "Logout", "Admin", a.name, "Success", "Signed out")
}

// inSession plants a sign-in of a at t from the usual address of the day,
// then each action one to three minutes apart, then the sign-out.
func (p *planter) inSession(a scenarioAdmin, d int, t time.Time, actions ...func(ip string, t time.Time)) {
	ip := p.ipFor(a, d)
	p.signIn(a, ip, t)
	for _, act := range actions {
		t = t.Add(time.Duration(60+p.g.intn(120)) * time.Second)
		act(ip, t)
	}
	p.signOut(a, ip, t.Add(2*time.Minute))
}

func (p *planter) attacks() {
	ad := p.admins
	sec := func(t time.Time, s int) time.Time { return t.Add(time.Duration(s) * time.Second) }

	// Day 1 of the attack week.
	d := p.workday(0)
	p.begin("failed-signin-burst", "seven failed sign-ins for one admin from one unknown address in six minutes, at night; the attacker gives up",
		RuleSigninFailedBurst)
	t := p.at(d, 2, 13, 5)
	for k, off := range []int{0, 41, 77, 130, 182, 240, 355} {
		reason := "invalid credentials"
		if k >= 5 {
			reason = "account locked after 5 failed attempts"
		}
		p.add(sec(t, off), ad[0].name, "192.0.2.45", "Login", "Admin", ad[0].name, "Failure", "Sign-in failed: "+reason)
	}
	p.end()

	p.begin("success-after-failed-burst", "six failed sign-ins for one admin from one unknown address, then a success from it: the guess worked",
		RuleSigninFailedBurst, RuleSigninSuccessAfterBurst, RuleSigninFromNewIP)
	t = p.at(d, 10, 5, 12)
	for _, off := range []int{0, 22, 47, 71, 98, 126} {
		p.add(sec(t, off), ad[1].name, "192.0.2.77", "Login", "Admin", ad[1].name, "Failure", "Sign-in failed: invalid credentials")
	}
	p.signIn(ad[1], "192.0.2.77", sec(t, 250))
	p.add(sec(t, 420), ad[1].name, "192.0.2.77", "Execute", "Report", "User Activity - Finance", "Success", "Ran report 'User Activity - Finance'")
	p.signOut(ad[1], "192.0.2.77", sec(t, 600))
	p.end()

	// Day 2.
	d = p.workday(1)
	p.begin("password-spray-one-ip", "one failed sign-in for each of five admins from one unknown address within twelve minutes, at night",
		RuleSigninSprayOneIP)
	t = p.at(d, 1, 30, 40)
	for k := 3; k < 8; k++ {
		p.add(sec(t, (k-3)*170+p.g.intn(40)), ad[k].name, "192.0.2.201", "Login", "Admin", ad[k].name, "Failure", "Sign-in failed: invalid credentials")
	}
	p.end()

	p.begin("signin-from-new-ip", "an admin signs in from an address never seen for them (a hotel network), edits a rule and signs out",
		RuleSigninFromNewIP)
	t = p.at(d, 9, 15, 30)
	p.signIn(ad[7], "203.0.113.251", t)
	p.add(sec(t, 140), ad[7].name, "203.0.113.251", "Update", "PolicyRule", "Warn Social Networking", "Success",
		"Updated rule 'Warn Social Networking': action changed from Warn to Block")
	p.changed("Warn", "Block")
	p.signOut(ad[7], "203.0.113.251", sec(t, 400))
	p.end()

	p.begin("signin-many-source-ips", "one admin signs in from the office, then from two unknown addresses (IPv4 and IPv6) within 45 minutes",
		RuleSigninManySourceIPs, RuleSigninFromNewIP)
	t = p.at(d, 11, 0, 9)
	p.signIn(ad[2], p.ipFor(ad[2], d), t)
	p.signIn(ad[2], "192.0.2.130", t.Add(21*time.Minute))
	p.signIn(ad[2], "2001:db8:bad::7", t.Add(44*time.Minute))
	p.end()

	p.begin("api-credential-created", "a new API credential with Reports access, expiring in 90 days",
		RuleAPICredentialCreated)
	p.inSession(ad[4], d, p.at(d, 14, 10, 2), func(ip string, t time.Time) {
		p.add(t, ad[4].name, ip, "Create", "ApiCredential", "powerbi-export", "Success",
			"Created API credential 'powerbi-export' with Reports access, expires in 90 days")
	})
	p.end()

	// Day 3.
	d = p.workday(2)
	p.begin("api-credential-never-expires", "an API credential created never to expire, and an existing one changed to never expire",
		RuleAPICredentialCreated, RuleAPICredentialNoExpiry)
	p.inSession(ad[5], d, p.at(d, 10, 30, 44), func(ip string, t time.Time) {
		p.add(t, ad[5].name, ip, "Create", "ApiCredential", "svc-sync-7f", "Success",
			"Created API credential 'svc-sync-7f' with Full access, expiry set to never")
	}, func(ip string, t time.Time) {
		p.add(t, ad[5].name, ip, "Update", "ApiCredential", "reporting-sync", "Success",
			"Updated API credential 'reporting-sync': expiration changed from 2027-01-31 to never expire")
	})
	p.end()

	p.begin("admin-or-role-granted", "a new portal admin created, and the Super Admin role assigned to it",
		RuleAdminOrRoleGranted)
	p.inSession(ad[6], d, p.at(d, 11, 45, 3), func(ip string, t time.Time) {
		p.add(t, ad[6].name, ip, "Create", "Admin", "support.contractor@acme-support.example", "Success",
			"Created admin 'support.contractor@acme-support.example'")
	}, func(ip string, t time.Time) {
		p.add(t, ad[6].name, ip, "Assign", "Role", "Super Admin", "Success",
			"Assigned role 'Super Admin' to 'support.contractor@acme-support.example'")
	})
	p.end()

	p.begin("audit-log-credential-removed", "the SIEM's audit-log API credential deleted, and the other one's Audit Logs access removed",
		RuleAuditCredentialChanged)
	p.inSession(ad[3], d, p.at(d, 15, 20, 51), func(ip string, t time.Time) {
		p.add(t, ad[3].name, ip, "Delete", "ApiCredential", "siem-audit-reader", "Success", "Deleted API credential 'siem-audit-reader'")
	}, func(ip string, t time.Time) {
		p.add(t, ad[3].name, ip, "Update", "ApiCredential", "backup-export", "Success",
			"Updated API credential 'backup-export': Audit Logs access removed")
	})
	p.end()

	p.begin("activity-outside-business-hours", "an admin signs in from their usual home address at 23:10 and loosens a rule",
		RuleOutsideBusinessHours)
	t = p.at(d, 23, 10, 17)
	p.signIn(ad[4], ad[4].home, t)
	p.add(sec(t, 95), ad[4].name, ad[4].home, "Update", "PolicyRule", "Block Peer-to-Peer", "Success",
		"Updated rule 'Block Peer-to-Peer': action changed from Block to Allow")
	p.changed("Block", "Allow")
	p.signOut(ad[4], ad[4].home, sec(t, 300))
	p.end()

	// Day 4.
	d = p.workday(3)
	p.begin("policy-rule-disabled-deleted", "a blocking rule disabled and another deleted",
		RulePolicyRuleDeleted)
	p.inSession(ad[0], d, p.at(d, 9, 40, 26), func(ip string, t time.Time) {
		p.add(t, ad[0].name, ip, "Disable", "PolicyRule", "Block Newly Registered Domains", "Success", "Disabled rule 'Block Newly Registered Domains'")
	}, func(ip string, t time.Time) {
		p.add(t, ad[0].name, ip, "Delete", "PolicyRule", "Isolate Suspicious Sites", "Success", "Deleted rule 'Isolate Suspicious Sites'")
	})
	p.end()

	p.begin("mass-deletion", "twelve end users deleted by one admin within nine minutes",
		RuleMassDeletion)
	t = p.at(d, 13, 0, 37)
	ip := p.ipFor(ad[1], d)
	p.signIn(ad[1], ip, t)
	for k := 0; k < 12; k++ {
		u := p.users[(k*7)%len(p.users)]
		p.add(sec(t, 60+k*45), ad[1].name, ip, "Delete", "User", u, "Success", "Deleted user '"+u+"'")
	}
	p.signOut(ad[1], ip, t.Add(11*time.Minute))
	p.end()

	p.begin("tls-interception-bypass-changed", "SSL interception turned off for a category, and an SSL bypass rule added for an attacker's domain",
		RuleTLSBypassChanged)
	p.inSession(ad[2], d, p.at(d, 15, 30, 8), func(ip string, t time.Time) {
		p.add(t, ad[2].name, ip, "Update", "Setting", "SSL Interception", "Success",
			"Updated setting 'SSL Interception': interception disabled for category Technology/Internet")
	}, func(ip string, t time.Time) {
		p.add(t, ad[2].name, ip, "Create", "PolicyRule", "SSL Bypass: cdn-sync.example", "Success", "Created rule 'SSL Bypass: cdn-sync.example'")
	})
	p.end()

	// Day 5.
	d = p.workday(4)
	p.begin("identity-provider-changed", "the SAML identity provider pointed at another IdP, and two-factor authentication disabled",
		RuleAuthSettingsChanged)
	p.inSession(ad[3], d, p.at(d, 10, 10, 40), func(ip string, t time.Time) {
		p.add(t, ad[3].name, ip, "Update", "Setting", "SAML Identity Provider", "Success",
			"Updated setting 'SAML Identity Provider': metadata URL changed to https://login.idp-example.net/metadata")
	}, func(ip string, t time.Time) {
		p.add(t, ad[3].name, ip, "Disable", "Setting", "Two-Factor Authentication", "Success", "Disabled setting 'Two-Factor Authentication'")
	})
	p.end()

	p.begin("agent-disabled", "three WSS agents disabled for a week",
		RuleAgentDisabled)
	t = p.at(d, 12, 30, 19)
	until := p.day(d + 7).Add(12 * time.Hour).Format("2006-01-02 15:04")
	p.inSession(ad[4], d, t, func(ip string, t time.Time) {
		for k, name := range []string{"LAPTOP-FIN-233", "DESKTOP-HR-017", "MBP-JSMITH"} {
			p.add(t.Add(time.Duration(k*35)*time.Second), ad[4].name, ip, "Disable", "Agent", name, "Success",
				"Disabled agent '"+name+"' until "+until+" UTC")
		}
	})
	p.end()

	p.begin("report-exported", "a user-activity report emailed to an outside address, and another downloaded as CSV",
		RuleReportExported)
	p.inSession(ad[5], d, p.at(d, 14, 45, 55), func(ip string, t time.Time) {
		p.add(t, ad[5].name, ip, "Email", "Report", "User Activity - Finance", "Success",
			"Emailed report 'User Activity - Finance' to finance.audit@mailbox-example.org")
	}, func(ip string, t time.Time) {
		p.add(t, ad[5].name, ip, "Download", "Report", "Shadow IT Discovery", "Success", "Downloaded report 'Shadow IT Discovery' as CSV")
	})
	p.end()

	p.begin("logging-settings-changed", "audit data retention cut from 365 to 7 days, and log forwarding disabled",
		RuleLoggingSettingsChanged)
	p.inSession(ad[6], d, p.at(d, 16, 5, 31), func(ip string, t time.Time) {
		p.add(t, ad[6].name, ip, "Update", "Setting", "Data Retention", "Success",
			"Updated setting 'Data Retention': retention changed from 365 to 7 days")
	}, func(ip string, t time.Time) {
		p.add(t, ad[6].name, ip, "Disable", "Setting", "Log Forwarding", "Success", "Disabled setting 'Log Forwarding'")
	})
	p.end()
}
