package detect

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// modifiers is a parsed `field|mod|mod` chain.
type modifiers struct {
	op      string // "", contains, startswith, endswith, re, cidr, lt, lte, gt, gte, exists
	all     bool
	cased   bool
	enc     string // "", base64, base64offset
	reFlags string // the re sub-modifiers, as Go flags ("ims")
}

// refusedModifiers are defined by the specification but not implemented;
// a rule using one is refused, never evaluated differently than written.
var refusedModifiers = map[string]string{
	"windash":  "windash (Windows command-line dash permutations) is not supported",
	"utf16le":  "utf16le is not supported: event fields are JSON text",
	"utf16be":  "utf16be is not supported: event fields are JSON text",
	"utf16":    "utf16 is not supported: event fields are JSON text",
	"wide":     "wide is not supported: event fields are JSON text",
	"expand":   "expand (placeholders) is not supported",
	"fieldref": "fieldref is not supported",
	"neq":      "neq is not supported: write the value in a selection and negate it in the condition",
	"minute":   "time modifiers (minute) are not supported",
	"hour":     "time modifiers (hour) are not supported",
	"day":      "time modifiers (day) are not supported",
	"week":     "time modifiers (week) are not supported",
	"month":    "time modifiers (month) are not supported",
	"year":     "time modifiers (year) are not supported",
}

func parseModifiers(list []string) (modifiers, error) {
	var m modifiers
	setOp := func(op string) error {
		if m.op != "" {
			return fmt.Errorf("modifiers %q and %q cannot be combined", m.op, op)
		}
		m.op = op
		return nil
	}
	for _, name := range list {
		switch name {
		case "contains", "startswith", "endswith", "cidr", "lt", "lte", "gt", "gte", "exists":
			if err := setOp(name); err != nil {
				return m, err
			}
		case "re":
			if err := setOp(name); err != nil {
				return m, err
			}
		case "i", "m", "s":
			if m.op != "re" {
				return m, fmt.Errorf("modifier %q is a sub-modifier of re and must follow it", name)
			}
			if !strings.Contains(m.reFlags, name) {
				m.reFlags += name
			}
		case "all":
			m.all = true
		case "cased":
			m.cased = true
		case "base64", "base64offset":
			if m.enc != "" {
				return m, fmt.Errorf("modifiers %q and %q cannot be combined", m.enc, name)
			}
			if m.op != "" {
				return m, fmt.Errorf("modifier %q must come before %q (modifiers apply in order)", name, m.op)
			}
			m.enc = name
		case "":
			return m, fmt.Errorf("empty modifier")
		default:
			if why, ok := refusedModifiers[name]; ok {
				return m, fmt.Errorf("modifier %s", why)
			}
			return m, fmt.Errorf("unknown modifier %q", name)
		}
	}
	switch m.op {
	case "re", "cidr", "lt", "lte", "gt", "gte", "exists":
		if m.enc != "" {
			return m, fmt.Errorf("modifier %q cannot be combined with %q", m.enc, m.op)
		}
	}
	switch m.op {
	case "cidr", "lt", "lte", "gt", "gte", "exists":
		if m.cased {
			return m, fmt.Errorf("modifier cased means nothing with %q", m.op)
		}
	}
	if m.op == "exists" && m.all {
		return m, fmt.Errorf("modifier all cannot be combined with exists")
	}
	return m, nil
}

// valueMatcher tests one scalar of an event field.
type valueMatcher func(v *value) bool

// compileValue compiles one rule value under m. A nil matcher with a nil
// error means the value is null (the field must be absent or null).
func compileValue(m modifiers, n *yaml.Node) (valueMatcher, error) {
	if n.Kind != yaml.ScalarNode {
		return nil, fmt.Errorf("a value must be a string, number, bool or null, not a %s", nodeKind(n))
	}
	if n.Tag == "!!null" {
		if m.op != "" || m.enc != "" {
			return nil, fmt.Errorf("null cannot be used with modifier %q", m.op+m.enc)
		}
		return nil, nil
	}
	text := n.Value
	if n.Tag == "!!bool" {
		text = strings.ToLower(text)
	}
	switch m.op {
	case "lt", "lte", "gt", "gte":
		if n.Tag != "!!int" && n.Tag != "!!float" {
			return nil, fmt.Errorf("modifier %s needs a number, not %q", m.op, text)
		}
		want, err := nodeNumber(n)
		if err != nil {
			return nil, err
		}
		return numericMatcher(m.op, want), nil
	case "cidr":
		p, err := netip.ParsePrefix(strings.TrimSpace(text))
		if err != nil {
			return nil, fmt.Errorf("modifier cidr: %v", err)
		}
		p = p.Masked()
		return func(v *value) bool {
			if v.kind != kString {
				return false
			}
			a, err := netip.ParseAddr(v.text)
			return err == nil && p.Contains(a.Unmap())
		}, nil
	case "re":
		expr := text
		if m.reFlags != "" {
			expr = "(?" + m.reFlags + ")" + expr
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, fmt.Errorf("modifier re: %v (Go RE2 syntax: no look-around, no back-references)", err)
		}
		return func(v *value) bool {
			return v.kind != kObject && re.MatchString(v.text)
		}, nil
	}

	fold := !m.cased && m.enc == "" // base64 text is case-significant
	var pats []pattern
	if m.enc != "" {
		p := parsePattern(text)
		if p.hasWildcard() {
			return nil, fmt.Errorf("modifier %s: a value with wildcards cannot be encoded", m.enc)
		}
		for _, enc := range encode(m.enc, p.literal()) {
			pats = append(pats, literalPattern(enc))
		}
	} else {
		if fold {
			text = strings.ToLower(text)
		}
		pats = []pattern{parsePattern(text)}
	}
	var ms []valueMatcher
	for _, p := range pats {
		switch m.op {
		case "contains":
			p = p.wrap(true, true)
		case "startswith":
			p = p.wrap(false, true)
		case "endswith":
			p = p.wrap(true, false)
		}
		ms = append(ms, patternMatcher(p, fold))
	}
	var sm valueMatcher
	if len(ms) == 1 {
		sm = ms[0]
	} else {
		sm = func(v *value) bool {
			for _, m := range ms {
				if m(v) {
					return true
				}
			}
			return false
		}
	}
	// A plain number compares as a number with a numeric field value
	// (4624 equals 4624.0), else as text.
	if m.op == "" && m.enc == "" && (n.Tag == "!!int" || n.Tag == "!!float") {
		want, err := nodeNumber(n)
		if err != nil {
			return nil, err
		}
		return func(v *value) bool {
			if f, ok := v.number(); ok {
				return f == want
			}
			return sm(v)
		}, nil
	}
	return sm, nil
}

func nodeNumber(n *yaml.Node) (float64, error) {
	var f float64
	if err := n.Decode(&f); err != nil {
		return 0, fmt.Errorf("bad number %q: %v", n.Value, err)
	}
	return f, nil
}

func numericMatcher(op string, want float64) valueMatcher {
	return func(v *value) bool {
		f, ok := v.number()
		if !ok {
			return false
		}
		switch op {
		case "lt":
			return f < want
		case "lte":
			return f <= want
		case "gt":
			return f > want
		default:
			return f >= want
		}
	}
}

// patternMatcher picks the cheapest test that implements p.
func patternMatcher(p pattern, fold bool) valueMatcher {
	text := func(v *value) string {
		if fold {
			return v.folded()
		}
		return v.text
	}
	inner := p
	lead := len(inner) > 0 && inner[0] == tokStar
	if lead {
		inner = inner[1:]
	}
	trail := len(inner) > 0 && inner[len(inner)-1] == tokStar
	if trail {
		inner = inner[:len(inner)-1]
	}
	if inner.hasWildcard() {
		return func(v *value) bool { return v.kind != kObject && globMatch(p, text(v)) }
	}
	lit := inner.literal()
	switch {
	case lead && trail:
		return func(v *value) bool { return v.kind != kObject && strings.Contains(text(v), lit) }
	case lead:
		return func(v *value) bool { return v.kind != kObject && strings.HasSuffix(text(v), lit) }
	case trail:
		return func(v *value) bool { return v.kind != kObject && strings.HasPrefix(text(v), lit) }
	}
	return func(v *value) bool { return v.kind != kObject && text(v) == lit }
}

// encode returns the encodings of s that the modifier matches: one for
// base64, three for base64offset (s at each offset of a 3-byte group, with
// the characters that depend on the neighbouring bytes cut off, as pySigma
// does).
func encode(enc, s string) []string {
	if enc == "base64" {
		return []string{base64.StdEncoding.EncodeToString([]byte(s))}
	}
	start := [3]int{0, 2, 3}
	endCut := [3]int{0, 3, 2}
	var out []string
	for i := 0; i < 3; i++ {
		e := base64.StdEncoding.EncodeToString([]byte(strings.Repeat(" ", i) + s))
		end := len(e) - endCut[(len(s)+i)%3]
		if start[i] >= end {
			continue
		}
		out = append(out, e[start[i]:end])
	}
	return out
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "map"
	case yaml.SequenceNode:
		return "list"
	case yaml.AliasNode:
		return "alias"
	case yaml.DocumentNode:
		return "document"
	}
	return "scalar " + strconv.Quote(n.Value)
}
