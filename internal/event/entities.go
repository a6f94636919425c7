package event

import "strings"

// collectEntities fills the ECS fields that say what the object is when it is
// not an account: a policy rule (rule.name, rule.ruleset), an agent or device
// (host.name), a group (group.name); and the failure reason (event.reason).
// The object's name stays in wss.audit.object_name too, the one place that
// holds it whatever the type (the syslog encoders read it there).
func (r *mapped) collectEntities() {
	f := &r.facts
	name := f[factObjectName].val
	switch r.object.entity {
	case entRule:
		r.ruleName = name
		// A category means the rule's ruleset only on a rule; on anything
		// else the key is the vendor's and stays under wss.audit.
		if c := f[factRuleCategory]; c.val != "" {
			r.ruleset = c.val
			r.consume(c.key)
		}
	case entHost:
		r.hostName = name
	}
	if h := f[factHost].val; h != "" {
		r.hostName = h // a key that names the device beats the object name
	}
	if r.object.class == objGroup {
		r.groupName = name
	}

	r.reason = f[factReason].val
	if r.reason == "" && outcomeOf(f[factOutcome].val) == "failure" {
		r.reason = reasonFromMessage(f[factMessage].val)
	}
}

// reasonFromMessage takes the reason out of a failure message of the form
// "<what failed>: <why>" ("Sign-in failed: account locked after 5 failed
// attempts", "Failed to delete rule 'Block: Ads': insufficient permissions").
// The text after the last ": " is taken, and refused when it holds a quote
// (then the colon was inside a quoted name: "Failed to delete rule 'A: B'"),
// spans lines or is long: a wrong reason is worse than none, and the message
// keeps the whole text either way.
func reasonFromMessage(msg string) string {
	i := strings.LastIndex(msg, ": ")
	if i < 0 {
		return ""
	}
	why := strings.TrimSpace(msg[i+2:])
	if why == "" || len(why) > 200 || strings.ContainsAny(why, "'\"\r\n") {
		return ""
	}
	return why
}
