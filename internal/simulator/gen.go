package simulator

import (
	"strconv"
	"time"
)

// rng is a splitmix64 stream; one per record, seeded from (Seed, index).
type rng struct{ state uint64 }

func (g *rng) next() uint64 {
	g.state += golden
	return mix64(g.state)
}

func (g *rng) intn(n int) int { return int(g.next() % uint64(n)) }

func (g *rng) percent(p int) bool { return g.intn(100) < p }

func (g *rng) pick(ws []weighted) string {
	total := 0
	for _, w := range ws {
		total += w.weight
	}
	n := g.intn(total)
	for _, w := range ws {
		if n < w.weight {
			return w.name
		}
		n -= w.weight
	}
	return ws[len(ws)-1].name
}

// rec is one record being generated; reused across records, so generating
// does not allocate once its buffers have grown.
type rec struct {
	i       int
	ms      int64 // served time
	timeFmt uint8
	lateMs  int64
	id      uint64

	user, objType, objName, op, status, ua string
	ip, desc                               []byte
	session                                uint64
	changeFrom, changeTo                   string

	extras    uint8
	keys      [numFacts]uint8 // index into factKeys[f]
	order     [numFacts]uint8 // order facts are written in
	asciiOnly bool            // escape all non-ASCII as \uXXXX

	dup, malformed, hostile bool
	malKind                 uint8
	malSeed                 uint64
}

var identityOrder = [numFacts]uint8{0, 1, 2, 3, 4, 5, 6, 7, 8}

// fill generates record i into r.
func (s *Simulator) fill(r *rec, i int) {
	if s.table != nil {
		s.fillPlanted(r, i)
		return
	}
	r.i = i
	r.ms, r.timeFmt = s.timeOf(i)
	r.lateMs = s.lateMs(i)
	r.id = s.idOf(i)
	r.dup = s.chance(i, saltDup, s.cfg.DuplicateRate)
	r.malformed = s.chance(i, saltMalformed, s.cfg.MalformedRate)
	r.hostile = s.chance(i, saltHostile, s.cfg.HostileRate)

	g := rng{state: s.hash(i, saltContent)}
	r.op = g.pick(operations)
	r.objType = g.pick(targetsFor(r.op))
	who := g.intn(len(s.admins))
	r.user = s.admins[who]
	if g.percent(85) {
		r.ip = append(r.ip[:0], s.homeIPs[who]...)
	} else {
		r.ip = appendRandomIP(r.ip[:0], &g)
	}
	failPct := 3
	switch r.op {
	case "Login":
		failPct = 12
	case "Logout":
		failPct = 0
	}
	r.status = "Success"
	if g.percent(failPct) {
		r.status = "Failure"
	}
	switch r.objType {
	case "Admin":
		r.objName = s.admins[g.intn(len(s.admins))]
	case "User":
		r.objName = s.users[g.intn(len(s.users))]
	default:
		names := objectNames[r.objType]
		r.objName = names[g.intn(len(names))]
	}
	if r.op == "Login" || r.op == "Logout" {
		r.user = r.objName // a session event's actor is its object
	}
	r.changeFrom, r.changeTo = "Allow", "Block"
	if g.percent(40) {
		r.changeFrom, r.changeTo = "Block", "Warn"
	}
	r.ua = userAgents[g.intn(len(userAgents))]
	r.session = g.next()

	r.extras = 0
	r.asciiOnly = false
	var hostileDesc string
	if r.hostile {
		hostileDesc = s.applyHostile(r, &g)
	}
	s.describe(r, &g)
	if hostileDesc != "" {
		if len(hostileDesc) > 64*1024 {
			r.desc = append(r.desc[:0], hostileDesc...)
		} else {
			r.desc = append(append(r.desc, ' '), hostileDesc...)
		}
	}

	s.style(r, &g)
	r.malKind = uint8(g.intn(numMalKinds))
	r.malSeed = g.next()
}

// style picks r's key names, key order and extra keys for the configured
// schema; generated and planted (scenario) records share it.
func (s *Simulator) style(r *rec, g *rng) {
	switch s.cfg.Schema {
	case "alt":
		r.keys = altKeys
		r.order = identityOrder
		r.extras = 0
	case "mixed":
		for f := range r.keys {
			r.keys[f] = uint8(g.intn(len(factKeys[f])))
		}
		r.order = identityOrder
		for k := numFacts - 1; k > 0; k-- {
			j := g.intn(k + 1)
			r.order[k], r.order[j] = r.order[j], r.order[k]
		}
		r.extras |= s.pickExtras(g)
		if r.keys[factMessage] != 0 {
			// "details" is also a message candidate: only nest details
			// when "description" wins the candidate order anyway.
			r.extras &^= extraDetails
		}
	default:
		r.keys = [numFacts]uint8{}
		r.order = identityOrder
		r.extras |= s.pickExtras(g)
	}
}

func (s *Simulator) pickExtras(g *rng) uint8 {
	all := [...]uint8{extraTenant, extraUserAgent, extraDetails}
	a := all[g.intn(len(all))]
	if g.percent(50) {
		return a
	}
	return a | all[g.intn(len(all))]
}

// applyHostile poisons some of r's strings and returns text to append to
// (or, when huge, replace) the description.
func (s *Simulator) applyHostile(r *rec, g *rng) string {
	pickH := func() string { return hostileStrings[g.intn(len(hostileStrings))] }
	var desc string
	switch g.intn(4) {
	case 0:
		r.objName = pickH() // flows into the description too
	case 1:
		r.user = pickH()
	case 2:
		desc = pickH()
	default:
		r.objName = pickH()
		desc = pickH()
	}
	if g.percent(30) && s.cfg.Schema != "alt" {
		r.ua = pickH()
		r.extras |= extraUserAgent
	}
	if g.percent(25) && s.cfg.Schema != "alt" {
		r.extras |= extraWeirdKey
	}
	r.asciiOnly = g.percent(50)
	if g.intn(16) == 0 {
		desc = hugeString
	}
	return desc
}

// describe writes the free-text message for r.
func (s *Simulator) describe(r *rec, g *rng) {
	d := r.desc[:0]
	word := typeWords[r.objType]
	quoted := func(d []byte) []byte {
		d = append(d, word...)
		d = append(d, " '"...)
		d = append(d, r.objName...)
		return append(d, '\'')
	}
	switch {
	case r.op == "Login" && r.status == "Failure":
		d = append(d, "Sign-in failed: "...)
		d = append(d, loginFailures[g.intn(len(loginFailures))]...)
	case r.op == "Login":
		if g.percent(50) {
			d = append(d, "Signed in to the portal"...)
		} else {
			d = append(d, "Signed in via SAML SSO"...)
		}
	case r.op == "Logout":
		if g.percent(70) {
			d = append(d, "Signed out"...)
		} else {
			d = append(d, "Session expired after 30 minutes of inactivity"...)
		}
	case r.status == "Failure":
		d = append(d, "Failed to "...)
		for k := 0; k < len(r.op); k++ { // lower-case ASCII operation name
			c := r.op[k]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			d = append(d, c)
		}
		d = append(d, ' ')
		d = quoted(d)
		d = append(d, ": "...)
		d = append(d, failureReasons[g.intn(len(failureReasons))]...)
	case r.op == "Disable" && r.objType == "Agent":
		d = append(d, "Disabled agent"...)
		if g.percent(50) {
			d = append(d, " '"...)
			d = append(d, r.objName...)
			d = append(d, '\'')
		}
		until := time.UnixMilli(r.ms).UTC().Truncate(time.Hour).Add(time.Duration(1+g.intn(48)) * time.Hour)
		d = append(d, " until "...)
		d = until.AppendFormat(d, "2006-01-02 15:04")
		d = append(d, " UTC"...)
	case r.op == "Update" && r.objType == "PolicyRule":
		d = append(d, "Updated "...)
		d = quoted(d)
		d = append(d, ": action changed from "...)
		d = append(d, r.changeFrom...)
		d = append(d, " to "...)
		d = append(d, r.changeTo...)
	case r.op == "Email":
		d = append(d, "Emailed "...)
		d = quoted(d)
		d = append(d, " to "...)
		d = append(d, s.users[g.intn(len(s.users))]...)
	case r.op == "Download":
		d = append(d, "Downloaded "...)
		d = quoted(d)
		if g.percent(50) {
			d = append(d, " as PDF"...)
		} else {
			d = append(d, " as CSV"...)
		}
	default:
		d = append(d, pastTense[r.op]...)
		d = append(d, ' ')
		d = quoted(d)
	}
	r.desc = d
}

func appendRandomIP(b []byte, g *rng) []byte {
	v := g.next()
	if v%10 == 0 {
		b = append(b, "2001:db8:"...)
		b = strconv.AppendUint(b, (v>>8)&0xffff, 16)
		b = append(b, "::"...)
		return strconv.AppendUint(b, (v>>24)&0xffff, 16)
	}
	prefixes := [...]struct {
		p       string
		octets3 bool // prefix fixes three octets
	}{{"203.0.113.", true}, {"198.51.100.", true}, {"192.0.2.", true}, {"10.20.", false}, {"172.16.", false}}
	p := prefixes[(v>>4)%uint64(len(prefixes))]
	b = append(b, p.p...)
	if !p.octets3 {
		b = strconv.AppendUint(b, (v>>16)%256, 10)
		b = append(b, '.')
	}
	return strconv.AppendUint(b, 1+(v>>32)%254, 10)
}

// buildPeople derives the tenant's admins, end users and their usual source
// addresses from the seed.
func (s *Simulator) buildPeople() {
	g := rng{state: s.keys[saltContent] ^ 0xad41}
	firsts := append([]string(nil), firstNames...)
	for k := len(firsts) - 1; k > 0; k-- {
		j := g.intn(k + 1)
		firsts[k], firsts[j] = firsts[j], firsts[k]
	}
	s.admins = make([]string, 12)
	s.homeIPs = make([]string, len(s.admins))
	for k := range s.admins {
		s.admins[k] = firsts[k] + "." + lastNames[g.intn(len(lastNames))] + "@" + adminDomains[g.intn(len(adminDomains))]
		s.homeIPs[k] = string(appendRandomIP(nil, &g))
	}
	s.users = make([]string, 40)
	for k := range s.users {
		s.users[k] = firstNames[g.intn(len(firstNames))][:1] + lastNames[g.intn(len(lastNames))] + strconv.Itoa(k+1) + "@example.com"
	}
	s.tenant = "tenant-" + string(appendID(nil, s.keys[saltContent]))[:8]
}
