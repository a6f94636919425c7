package event

// reservedAudit are the names this package writes under wss.audit itself.
//
// Collision rule: an unknown record key that equals one of them, or starts
// with one of them followed by a dot (Elasticsearch reads dots as nesting),
// is written under wss.audit.raw.<key> instead, keeping its key and value.
// "raw" is reserved too, so wss.audit.raw only ever holds moved keys. The
// rule depends on the key alone, not on whether this record filled the name,
// so a SIEM rule can rely on where a key lands.
var reservedAudit = [...]string{"object_type", "object_name", "operation_type", "status", "source_ip", "raw"}

func isReservedAudit(key string) bool {
	if key == "" {
		return false
	}
	switch key[0] { // the first letters of reservedAudit
	case 'o', 's', 'r':
	default:
		return false
	}
	for _, r := range reservedAudit {
		if len(key) >= len(r) && key[:len(r)] == r && (len(key) == len(r) || key[len(r)] == '.') {
			return true
		}
	}
	return false
}

// appendAudit writes wss.audit: the vendor's own words for the facts ECS
// normalizes, then every record key no ECS field took, under its own name and
// with its value unchanged (they are evidence), then the collision moves.
func (m *Mapper) appendAudit(b []byte, r *mapped) []byte {
	mark := len(b)
	f := &r.facts
	for _, kv := range [...]struct {
		name string
		val  string
	}{
		{"object_type", f[factObjectType].val},
		{"object_name", f[factObjectName].val},
		{"operation_type", f[factOperation].val},
		{"status", f[factOutcome].val},
		{"source_ip", r.rawSourceIP},
	} {
		if kv.val != "" {
			b = appendMember(b, mark, kv.name, kv.val)
		}
	}

	var arr [32]member
	unknown := arr[:0]
	moved := 0
	for k, v := range r.obj {
		if !r.isConsumed(k) {
			unknown = append(unknown, member{k, v})
			if isReservedAudit(k) {
				moved++
			}
		}
	}
	sortMembers(unknown)
	for _, kv := range unknown {
		if moved > 0 && isReservedAudit(kv.key) {
			continue
		}
		if len(b) > mark {
			b = append(b, ',')
		}
		b = appendString(b, kv.key)
		b = append(b, ':')
		b = AppendCanonical(b, kv.val)
	}
	if moved > 0 {
		if len(b) > mark {
			b = append(b, ',')
		}
		b = append(b, `"raw":{`...)
		rawMark := len(b)
		for _, kv := range unknown {
			if !isReservedAudit(kv.key) {
				continue
			}
			if len(b) > rawMark {
				b = append(b, ',')
			}
			b = appendString(b, kv.key)
			b = append(b, ':')
			b = AppendCanonical(b, kv.val)
		}
		b = append(b, '}')
	}
	return b
}
