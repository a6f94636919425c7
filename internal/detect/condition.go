package detect

import (
	"fmt"
	"strings"
)

// A condition is the parsed `condition:` of a detection, before its
// identifiers are resolved against the search identifiers (compile).
//
// Grammar (precedence from loosest to tightest, as the specification
// lists it: or, and, not, "x of", parentheses):
//
//	or   = and { "or" and }
//	and  = not { "and" not }
//	not  = "not" not | atom
//	atom = "(" or ")" | ("1" | "all") "of" (pattern | "them") | identifier
//
// Keywords are case-insensitive. Binary operators group to the left.
type cond interface {
	String() string
	prec() int
}

type (
	condIdent struct{ name string }
	condOf    struct {
		all     bool
		pattern string // "them" for all identifiers not starting with '_'
	}
	condNot struct{ x cond }
	condAnd struct{ l, r cond }
	condOr  struct{ l, r cond }
)

const (
	precOr = iota
	precAnd
	precNot
	precAtom
)

func (c condIdent) prec() int { return precAtom }
func (c condOf) prec() int    { return precAtom }
func (c condNot) prec() int   { return precNot }
func (c condAnd) prec() int   { return precAnd }
func (c condOr) prec() int    { return precOr }

func (c condIdent) String() string { return c.name }
func (c condOf) String() string {
	if c.all {
		return "all of " + c.pattern
	}
	return "1 of " + c.pattern
}
func (c condNot) String() string { return "not " + paren(c.x, precNot, false) }
func (c condAnd) String() string {
	return paren(c.l, precAnd, false) + " and " + paren(c.r, precAnd, true)
}
func (c condOr) String() string {
	return paren(c.l, precOr, false) + " or " + paren(c.r, precOr, true)
}

// paren writes x inside an operator of precedence p: in parentheses when
// it binds looser, or equally on the right (so that String parses back to
// the same tree).
func paren(x cond, p int, right bool) string {
	if x.prec() < p || (right && x.prec() == p && p != precNot) {
		return "(" + x.String() + ")"
	}
	return x.String()
}

const maxCondDepth = 100

type condParser struct {
	toks  []string
	pos   int
	depth int
}

// parseCondition parses a condition string.
func parseCondition(s string) (cond, error) {
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, fmt.Errorf("empty condition")
	}
	p := &condParser{toks: toks}
	c, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, fmt.Errorf("unexpected %q after %q", p.toks[p.pos], c.String())
	}
	return c, nil
}

func tokenize(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')':
			toks = append(toks, s[i:i+1])
			i++
		case c == '|':
			return nil, fmt.Errorf("aggregation expressions (`| count() ...`) are Sigma v1 and not supported: write a correlation rule")
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r()|", rune(s[j])) {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks, nil
}

func (p *condParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *condParser) isKw(kw string) bool { return strings.EqualFold(p.peek(), kw) }

func isKeyword(t string) bool {
	switch strings.ToLower(t) {
	case "and", "or", "not", "of", "them", "all", "near":
		return true
	}
	return false
}

func (p *condParser) or() (cond, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.isKw("or") {
		p.pos++
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = condOr{l, r}
	}
	return l, nil
}

func (p *condParser) and() (cond, error) {
	l, err := p.not()
	if err != nil {
		return nil, err
	}
	for p.isKw("and") {
		p.pos++
		r, err := p.not()
		if err != nil {
			return nil, err
		}
		l = condAnd{l, r}
	}
	return l, nil
}

func (p *condParser) not() (cond, error) {
	if p.isKw("not") {
		p.pos++
		if p.depth++; p.depth > maxCondDepth {
			return nil, fmt.Errorf("condition nests deeper than %d", maxCondDepth)
		}
		x, err := p.not()
		p.depth--
		if err != nil {
			return nil, err
		}
		return condNot{x}, nil
	}
	return p.atom()
}

func (p *condParser) atom() (cond, error) {
	t := p.peek()
	switch {
	case t == "":
		return nil, fmt.Errorf("condition ends where an identifier or '(' was expected")
	case t == "(":
		p.pos++
		if p.depth++; p.depth > maxCondDepth {
			return nil, fmt.Errorf("condition nests deeper than %d", maxCondDepth)
		}
		x, err := p.or()
		p.depth--
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, fmt.Errorf("missing ')' after %q", x.String())
		}
		p.pos++
		return x, nil
	case t == ")":
		return nil, fmt.Errorf("unexpected ')'")
	case p.pos+1 < len(p.toks) && strings.EqualFold(p.toks[p.pos+1], "of"):
		var all bool
		switch {
		case t == "1":
		case strings.EqualFold(t, "all"):
			all = true
		default:
			return nil, fmt.Errorf("%q of: only `1 of` and `all of` are supported", t)
		}
		p.pos += 2
		pat := p.peek()
		if pat == "" || pat == "(" || pat == ")" || (isKeyword(pat) && !strings.EqualFold(pat, "them")) {
			return nil, fmt.Errorf("%s of: an identifier pattern or `them` must follow", t)
		}
		p.pos++
		if strings.EqualFold(pat, "them") {
			pat = "them"
		}
		return condOf{all: all, pattern: pat}, nil
	case strings.EqualFold(t, "near"):
		return nil, fmt.Errorf("`near` is Sigma v1 and not supported: write a temporal correlation rule")
	case isKeyword(t):
		return nil, fmt.Errorf("unexpected %q where an identifier was expected", t)
	}
	p.pos++
	return condIdent{t}, nil
}

// compileCondition resolves c against the search identifiers (in their
// order in the rule) and builds the closure that evaluates it.
func compileCondition(c cond, names []string, tests map[string]test) (test, error) {
	switch c := c.(type) {
	case condIdent:
		t, ok := tests[c.name]
		if !ok {
			return nil, fmt.Errorf("condition names %q, which is not a search identifier of this detection", c.name)
		}
		return t, nil
	case condOf:
		var ts []test
		for _, n := range names {
			if c.pattern == "them" && strings.HasPrefix(n, "_") {
				continue
			}
			if c.pattern == "them" || identMatch(c.pattern, n) {
				ts = append(ts, tests[n])
			}
		}
		if len(ts) == 0 {
			return nil, fmt.Errorf("%q matches no search identifier", c.String())
		}
		if len(ts) == 1 {
			return ts[0], nil
		}
		if c.all {
			return func(ev []field) bool {
				for _, t := range ts {
					if !t(ev) {
						return false
					}
				}
				return true
			}, nil
		}
		return func(ev []field) bool {
			for _, t := range ts {
				if t(ev) {
					return true
				}
			}
			return false
		}, nil
	case condNot:
		x, err := compileCondition(c.x, names, tests)
		if err != nil {
			return nil, err
		}
		return func(ev []field) bool { return !x(ev) }, nil
	case condAnd:
		l, err := compileCondition(c.l, names, tests)
		if err != nil {
			return nil, err
		}
		r, err := compileCondition(c.r, names, tests)
		if err != nil {
			return nil, err
		}
		return func(ev []field) bool { return l(ev) && r(ev) }, nil
	case condOr:
		l, err := compileCondition(c.l, names, tests)
		if err != nil {
			return nil, err
		}
		r, err := compileCondition(c.r, names, tests)
		if err != nil {
			return nil, err
		}
		return func(ev []field) bool { return l(ev) || r(ev) }, nil
	}
	return nil, fmt.Errorf("unknown condition node %T", c)
}

// identMatch matches an identifier pattern, where '*' is any run of
// characters (the only wildcard the specification gives patterns).
func identMatch(pat, name string) bool {
	p := make(pattern, 0, len(pat))
	for i := 0; i < len(pat); i++ {
		if pat[i] == '*' {
			p = append(p, tokStar)
		} else {
			p = append(p, int16(pat[i]))
		}
	}
	return globMatch(p, name)
}
