package event

import (
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// appendTimestamp writes t (UTC) as RFC 3339 with exactly three fraction
// digits, "2026-11-24T10:15:02.123Z": ECS's date format, and fixed width so
// that documents sort and compare as text. Hand-written because it runs twice
// per record and time.AppendFormat interprets its layout each time.
func appendTimestamp(b []byte, t time.Time) []byte {
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	b = appendDigits(b, year, 4)
	b = append(b, '-')
	b = appendDigits(b, int(month), 2)
	b = append(b, '-')
	b = appendDigits(b, day, 2)
	b = append(b, 'T')
	b = appendDigits(b, hour, 2)
	b = append(b, ':')
	b = appendDigits(b, minute, 2)
	b = append(b, ':')
	b = appendDigits(b, sec, 2)
	b = append(b, '.')
	b = appendDigits(b, t.Nanosecond()/1e6, 3)
	return append(b, 'Z')
}

// appendDigits writes n zero-padded to width digits (n >= 0, fits).
func appendDigits(b []byte, n, width int) []byte {
	var buf [8]byte
	for i := width - 1; i >= 0; i-- {
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return append(b, buf[:width]...)
}

// synthMessage gives a record without a message one that reads well in a
// SIEM list: "admin@x Delete PolicyRule 'Block Gambling'".
func synthMessage(r *mapped) string {
	var parts [4]string
	n := 0
	for _, s := range [...]string{r.facts[factUser].val, r.facts[factOperation].val, r.facts[factObjectType].val} {
		if s != "" {
			parts[n] = s
			n++
		}
	}
	if name := r.facts[factObjectName].val; name != "" {
		parts[n] = "'" + name + "'"
		n++
	}
	if n == 0 {
		return "WSS audit record"
	}
	return strings.Join(parts[:n], " ")
}

// appendDoc writes the ECS document by hand. Keys come in a fixed order so
// the same record always yields the same bytes, and a hand-written appender
// avoids the reflection and map sorting of encoding/json on the hot path.
func (m *Mapper) appendDoc(b []byte, r *mapped, p *Parsed, read time.Time) []byte {
	f := &r.facts
	action := r.action
	category, types := categorize(r.verb, r.object)

	b = append(b, `{"@timestamp":"`...)
	b = appendTimestamp(b, r.time)
	b = append(b, `","message":`...)
	if msg := f[factMessage].val; msg != "" {
		b = appendString(b, msg)
	} else {
		b = appendString(b, synthMessage(r))
	}
	b = append(b, `,"ecs":{"version":"`+ECSVersion+`"}`...)

	b = append(b, `,"event":{"kind":"event","category":[`...)
	b = appendString(b, category)
	b = append(b, `],"type":[`...)
	for i, t := range types {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, t)
	}
	b = append(b, ']')
	if action != "" {
		b = appendField(b, "action", action)
	}
	b = appendField(b, "outcome", outcomeOf(f[factOutcome].val))
	if r.reason != "" {
		b = appendField(b, "reason", r.reason)
	}
	if id := f[factID].val; id != "" {
		b = appendField(b, "id", id)
	}
	b = append(b, `,"hash":"`...)
	b = hex.AppendEncode(b, p.Hash[:])
	b = append(b, `","dataset":"wss.audit","module":"wss","created":"`...)
	b = appendTimestamp(b, read)
	b = append(b, `","original":`...)
	if p.raw != "" && string(p.Raw) == p.raw { // the comparison does not allocate
		b = appendString(b, p.raw)
	} else {
		b = appendString(b, string(p.Raw))
	}
	b = append(b, '}')

	if actor := f[factUser].val; actor != "" || r.targetName != "" {
		b = append(b, `,"user":{`...)
		mark := len(b)
		if actor != "" {
			b = appendMember(b, mark, "name", actor)
		}
		if r.userEmail != "" {
			b = appendMember(b, mark, "email", r.userEmail)
		}
		if r.targetName != "" {
			if len(b) > mark {
				b = append(b, ',')
			}
			b = append(b, `"target":{"name":`...)
			b = appendString(b, r.targetName)
			if r.targetEmail != "" {
				b = appendField(b, "email", r.targetEmail)
			}
			b = append(b, '}')
		}
		b = append(b, '}')
	}

	if r.sourceIP.IsValid() {
		b = append(b, `,"source":{"ip":"`...)
		b = r.sourceIP.AppendTo(b)
		b = append(b, '"')
		if r.sourcePort != 0 {
			b = append(b, `,"port":`...)
			b = strconv.AppendUint(b, uint64(r.sourcePort), 10)
		}
		b = append(b, '}')
	}

	if ua := f[factUserAgent].val; ua != "" {
		b = append(b, `,"user_agent":{"original":`...)
		b = appendString(b, ua)
		b = append(b, '}')
	}
	if r.hostName != "" {
		b = append(b, `,"host":{"name":`...)
		b = appendString(b, r.hostName)
		b = append(b, '}')
	}
	if r.ruleName != "" || r.ruleset != "" {
		b = append(b, `,"rule":{`...)
		mark := len(b)
		if r.ruleName != "" {
			b = appendMember(b, mark, "name", r.ruleName)
		}
		if r.ruleset != "" {
			b = appendMember(b, mark, "ruleset", r.ruleset)
		}
		b = append(b, '}')
	}
	if r.groupName != "" {
		b = append(b, `,"group":{"name":`...)
		b = appendString(b, r.groupName)
		b = append(b, '}')
	}
	if org := f[factTenant].val; org != "" {
		b = append(b, `,"organization":{"id":`...)
		b = appendString(b, org)
		b = append(b, '}')
	}

	if r.relatedIP.len() > 0 || r.relatedUser.len() > 0 {
		b = append(b, `,"related":{`...)
		if r.relatedIP.len() > 0 {
			b = append(b, `"ip":`...)
			b = r.relatedIP.appendJSON(b)
		}
		if r.relatedUser.len() > 0 {
			if r.relatedIP.len() > 0 {
				b = append(b, ',')
			}
			b = append(b, `"user":`...)
			b = r.relatedUser.appendJSON(b)
		}
		b = append(b, '}')
	}

	// No observer.type: "proxy" would describe the access log, not the
	// management portal that writes the audit log.
	b = append(b, `,"observer":{"vendor":"Broadcom","product":"Web Security Service"}`...)
	if m.source != "" {
		b = append(b, `,"labels":{"source":`...)
		b = appendString(b, m.source)
		b = append(b, '}')
	}

	b = append(b, `,"wss":{"audit":{`...)
	b = m.appendAudit(b, r)
	return append(b, "}}}"...)
}

// appendField writes ,"name":"value" after an earlier member.
func appendField(b []byte, name, val string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendString(b, val)
}

// appendMember writes "name":"value", with a comma unless it is the first
// member since mark (the position just after the object's opening brace).
func appendMember(b []byte, mark int, name, val string) []byte {
	if len(b) > mark {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendString(b, val)
}
