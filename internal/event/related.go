package event

import (
	"net/netip"
	"strings"
)

// collectRelated fills the user and address facts that draw on more than one
// key. ECS's related.* fields exist for pivoting, so every user name and
// address the record mentions goes there, not only the chosen one.
func (m *Mapper) collectRelated(r *mapped) {
	actor := r.facts[factUser].val
	if actor != "" {
		r.relatedUser.add(actor)
		if looksLikeEmail(actor) {
			r.userEmail = actor
		}
	}
	for _, c := range m.facts[factUser] {
		// The key that gave the actor gives nothing new: it is in the
		// set already and was tried as an email.
		if k := r.facts[factUser].key; k != "" && c.key == k {
			continue
		}
		if s, ok := scalarString(r.obj[c.key]); ok {
			r.relatedUser.add(s)
			// Every user candidate names the actor, so an email under
			// another candidate key ("email" next to "userName") is theirs.
			if r.userEmail == "" && looksLikeEmail(s) {
				r.userEmail = s
			}
		}
	}
	if name := r.facts[factObjectName].val; name != "" && r.object.target && !r.selfSession(actor, name) {
		r.targetName = name
		if looksLikeEmail(name) {
			r.targetEmail = name
		}
		r.relatedUser.add(name)
	}

	if raw := r.facts[factSourceIP].val; raw != "" {
		first, clean := r.addAddrs(raw)
		if first.Addr().IsValid() {
			r.sourceIP, r.sourcePort = first.Addr(), first.Port()
		}
		if !clean {
			r.rawSourceIP = raw
		}
	}
	for _, c := range m.facts[factSourceIP] {
		if k := r.facts[factSourceIP].key; k != "" && c.key == k { // its addresses are in already
			continue
		}
		if s, ok := scalarString(r.obj[c.key]); ok {
			r.addAddrs(s)
		}
	}
}

// selfSession reports a sign-in or sign-out whose object is the actor's own
// account: user.target would only repeat user.name (ECS keeps user.target for
// the account acted on by someone else, and Elastic's authentication views
// read a present target as "logged in as another user").
func (r *mapped) selfSession(actor, object string) bool {
	return (r.verb == verbLogin || r.verb == verbLogout) && actor != "" && strings.EqualFold(actor, object)
}

// addAddrs adds the addresses in s to related.ip. It reads an address as WSS
// might log it: "203.0.113.7", "203.0.113.7:5123", "[2001:db8::1]:443", or a
// forwarded-for style list "203.0.113.7, 10.0.0.1". clean is true only for a
// single address (with or without port); anything else also keeps its raw
// text, since it is not what source.ip means.
func (r *mapped) addAddrs(s string) (first netip.AddrPort, clean bool) {
	if a, ok := parseAddr(s); ok {
		r.addIP(a.Addr(), s)
		return a, true
	}
	if !strings.ContainsAny(s, ", ") {
		return netip.AddrPort{}, false
	}
	for part := range strings.FieldsFuncSeq(s, func(c rune) bool { return c == ',' || c == ' ' }) {
		if a, ok := parseAddr(part); ok {
			if !first.Addr().IsValid() {
				first = a
			}
			r.addIP(a.Addr(), part)
		}
	}
	return first, false
}

// addIP adds a's canonical text to related.ip. raw is the text it was
// parsed from, reused when it is already canonical to spare an allocation.
func (r *mapped) addIP(a netip.Addr, raw string) {
	var buf [64]byte
	text := a.AppendTo(buf[:0])
	switch {
	case string(text) == raw:
		r.relatedIP.add(raw)
	case !r.relatedIP.has(string(text)):
		r.relatedIP.add(string(text))
	}
}

// parseAddr accepts an address with or without a port. A zone ("%eth0") is
// dropped: it means nothing off the host and ECS ip fields reject it.
func parseAddr(s string) (netip.AddrPort, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.AddrPortFrom(a.WithZone(""), 0), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return netip.AddrPortFrom(ap.Addr().WithZone(""), ap.Port()), true
	}
	return netip.AddrPort{}, false
}

// looksLikeEmail is deliberately loose: one @ with something on both sides
// and no whitespace. It only decides whether a name is copied to *.email.
func looksLikeEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	return at > 0 && at < len(s)-1 && strings.IndexByte(s[at+1:], '@') < 0 &&
		!strings.ContainsAny(s, " \t\r\n")
}

// stringSet is an insertion-ordered set of strings that needs no
// allocation for its first few members (related.* rarely has more).
type stringSet struct {
	n    int
	arr  [4]string
	more []string
}

func (s *stringSet) has(v string) bool {
	for _, x := range s.arr[:s.n] {
		if x == v {
			return true
		}
	}
	for _, x := range s.more {
		if x == v {
			return true
		}
	}
	return false
}

func (s *stringSet) add(v string) {
	switch {
	case s.has(v):
	case s.n < len(s.arr):
		s.arr[s.n] = v
		s.n++
	default:
		s.more = append(s.more, v)
	}
}

func (s *stringSet) len() int { return s.n + len(s.more) }

// appendJSON writes the set as a JSON array of strings.
func (s *stringSet) appendJSON(b []byte) []byte {
	b = append(b, '[')
	for i, v := range s.arr[:s.n] {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, v)
	}
	for i, v := range s.more {
		if i > 0 || s.n > 0 {
			b = append(b, ',')
		}
		b = appendString(b, v)
	}
	return append(b, ']')
}
