package detect

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// test evaluates a piece of a detection over an event's fields.
type test func(ev []field) bool

// compiler turns search identifiers into tests, recording every field
// they read in fs.
type compiler struct {
	fs       *fieldSet
	keywords []int // fields a keyword search reads, set on first use
}

// keywordFields are where a keyword (a value with no field name) is looked
// for: the one-line summary and the record exactly as received, which
// together hold every value of the event.
var keywordFields = []string{"message", "event.original"}

// searchIdent compiles one search identifier: a map (AND of its fields),
// a list of maps (OR of the maps), or a list of plain values (keywords,
// OR of the values).
func (c *compiler) searchIdent(n *yaml.Node) (test, error) {
	switch n.Kind {
	case yaml.MappingNode:
		return c.fieldMap(n)
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			return nil, errAt(n, "an empty list matches nothing; remove it")
		}
		maps, scalars := 0, 0
		for _, e := range n.Content {
			switch e.Kind {
			case yaml.MappingNode:
				maps++
			case yaml.ScalarNode:
				scalars++
			default:
				return nil, errAt(e, "a list item must be a map or a value, not a %s", nodeKind(e))
			}
		}
		if maps > 0 && scalars > 0 {
			return nil, errAt(n, "a list mixes maps and plain values; split it into two search identifiers")
		}
		if scalars > 0 {
			return c.keywordList(n, modifiers{}, n.Content)
		}
		var ts []test
		for _, e := range n.Content {
			t, err := c.fieldMap(e)
			if err != nil {
				return nil, err
			}
			ts = append(ts, t)
		}
		return anyOf(ts), nil
	}
	return nil, errAt(n, "a search identifier must be a map or a list, not a %s", nodeKind(n))
}

func (c *compiler) fieldMap(n *yaml.Node) (test, error) {
	if len(n.Content) == 0 {
		return nil, errAt(n, "an empty map matches everything; remove it or give it fields")
	}
	var ts []test
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			// Its Value would be "", which reads as a keyword search.
			return nil, errAt(k, "a field name must be a plain string, not a %s", nodeKind(k))
		}
		t, err := c.fieldEntry(k, v)
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	return allOf(ts), nil
}

// fieldEntry compiles `name|mods: value-or-list`.
func (c *compiler) fieldEntry(k, v *yaml.Node) (test, error) {
	parts := strings.Split(k.Value, "|")
	name := parts[0]
	mods, err := parseModifiers(parts[1:])
	if err != nil {
		return nil, errAt(k, "%s: %v", k.Value, err)
	}
	var vals []*yaml.Node
	switch v.Kind {
	case yaml.ScalarNode:
		vals = []*yaml.Node{v}
	case yaml.SequenceNode:
		if len(v.Content) == 0 {
			return nil, errAt(v, "%s: an empty value list matches nothing", k.Value)
		}
		vals = v.Content
	default:
		return nil, errAt(v, "%s: a value must be a value or a list of values, not a %s", k.Value, nodeKind(v))
	}
	if mods.all && len(vals) < 2 {
		return nil, errAt(k, "%s: modifier all needs a list of two or more values", k.Value)
	}
	if name == "" {
		return c.keywordList(k, mods, vals)
	}
	fi := c.fs.add(name)

	if mods.op == "exists" {
		if len(vals) != 1 || vals[0].Tag != "!!bool" {
			return nil, errAt(v, "%s: exists takes true or false", k.Value)
		}
		want := strings.EqualFold(vals[0].Value, "true")
		return func(ev []field) bool { return ev[fi].present == want }, nil
	}

	var ms []valueMatcher
	null := false
	for _, e := range vals {
		m, err := compileValue(mods, e)
		if err != nil {
			return nil, errAt(e, "%s: %v", k.Value, err)
		}
		if m == nil {
			if mods.all {
				return nil, errAt(e, "%s: null cannot be part of an all list", k.Value)
			}
			null = true
			continue
		}
		ms = append(ms, m)
	}
	if mods.all {
		return func(ev []field) bool {
			f := &ev[fi]
			for _, m := range ms {
				if !anyValue(f, m) {
					return false
				}
			}
			return true
		}, nil
	}
	if len(ms) == 1 && !null {
		m := ms[0]
		return func(ev []field) bool { return anyValue(&ev[fi], m) }, nil
	}
	return func(ev []field) bool {
		f := &ev[fi]
		if null && (!f.present || f.null) {
			return true
		}
		for _, m := range ms {
			if anyValue(f, m) {
				return true
			}
		}
		return false
	}, nil
}

// keywordList compiles keywords: each value is searched anywhere in the
// keyword fields (an implicit contains), case-insensitively unless cased.
func (c *compiler) keywordList(at *yaml.Node, mods modifiers, vals []*yaml.Node) (test, error) {
	if mods.op != "" || mods.enc != "" {
		return nil, errAt(at, "keywords take only the all and cased modifiers")
	}
	if c.keywords == nil {
		for _, n := range keywordFields {
			c.keywords = append(c.keywords, c.fs.add(n))
		}
	}
	kf := c.keywords
	mods.op = "contains"
	var ms []valueMatcher
	for _, e := range vals {
		if e.Kind == yaml.ScalarNode && e.Tag == "!!null" {
			return nil, errAt(e, "a keyword cannot be null")
		}
		m, err := compileValue(mods, e)
		if err != nil {
			return nil, errAt(e, "keyword: %v", err)
		}
		ms = append(ms, m)
	}
	found := func(ev []field, m valueMatcher) bool {
		for _, fi := range kf {
			if anyValue(&ev[fi], m) {
				return true
			}
		}
		return false
	}
	if mods.all {
		return func(ev []field) bool {
			for _, m := range ms {
				if !found(ev, m) {
					return false
				}
			}
			return true
		}, nil
	}
	return func(ev []field) bool {
		for _, m := range ms {
			if found(ev, m) {
				return true
			}
		}
		return false
	}, nil
}

// anyValue: a field matches when any of its values does (an array field
// matches if one element does).
func anyValue(f *field, m valueMatcher) bool {
	for i := range f.vals {
		if m(&f.vals[i]) {
			return true
		}
	}
	return false
}

func allOf(ts []test) test {
	if len(ts) == 1 {
		return ts[0]
	}
	return func(ev []field) bool {
		for _, t := range ts {
			if !t(ev) {
				return false
			}
		}
		return true
	}
}

func anyOf(ts []test) test {
	if len(ts) == 1 {
		return ts[0]
	}
	return func(ev []field) bool {
		for _, t := range ts {
			if t(ev) {
				return true
			}
		}
		return false
	}
}

// lineError is a load error at a line of a rule file; the loader adds the
// file name.
type lineError struct {
	line int
	msg  string
}

func (e *lineError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

func errAt(n *yaml.Node, format string, args ...any) error {
	return &lineError{line: n.Line, msg: fmt.Sprintf(format, args...)}
}
