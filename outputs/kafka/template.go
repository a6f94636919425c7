package kafka

import (
	"errors"
	"fmt"
	"strings"
)

// A template is literal text with field references: "wss-%{labels.source}".
// A reference names a field of the event's ECS document by its dotted path
// into nested objects; its value must be a string, a number or a bool.
type template struct {
	parts []part
	src   string
}

type part struct {
	lit   string   // literal text, when path is nil
	path  []string // a field reference
	field string   // path joined, for messages
}

// parseTemplate splits s into literals and %{field} references.
func parseTemplate(s string) (template, error) {
	t := template{src: s}
	rest := s
	for rest != "" {
		i := strings.Index(rest, "%{")
		if i < 0 {
			t.parts = append(t.parts, part{lit: rest})
			break
		}
		if i > 0 {
			t.parts = append(t.parts, part{lit: rest[:i]})
		}
		rest = rest[i+2:]
		j := strings.IndexByte(rest, '}')
		if j < 0 {
			return template{}, fmt.Errorf("%q: %%{ without a closing }", s)
		}
		field := rest[:j]
		path, err := parseFieldPath(field)
		if err != nil {
			return template{}, fmt.Errorf("%q: %v", s, err)
		}
		t.parts = append(t.parts, part{path: path, field: field})
		rest = rest[j+1:]
	}
	return t, nil
}

// parseFieldPath splits "event.dataset" into its segments.
func parseFieldPath(field string) ([]string, error) {
	if field == "" {
		return nil, errors.New("empty field reference %{}")
	}
	path := strings.Split(field, ".")
	for _, seg := range path {
		if seg == "" {
			return nil, fmt.Errorf("field %q has an empty segment", field)
		}
		if strings.ContainsAny(seg, "%{} \t\r\n\"") {
			return nil, fmt.Errorf("field %q: a field name cannot hold %%, {, }, quotes or spaces", field)
		}
	}
	return path, nil
}

// static reports whether the template has no field reference.
func (t template) static() bool {
	for _, p := range t.parts {
		if p.path != nil {
			return false
		}
	}
	return true
}

// fields lists the field references, each once.
func (t template) fields() []string {
	var out []string
	for _, p := range t.parts {
		if p.path != nil && !contains(out, p.field) {
			out = append(out, p.field)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// render fills the references from the event's fields. A reference to a
// field the event lacks, or holding an empty value, is an error: the event
// would otherwise go to a topic or partition nobody configured.
func (t template) render(dst []byte, f *fieldCache) ([]byte, error) {
	for _, p := range t.parts {
		if p.path == nil {
			dst = append(dst, p.lit...)
			continue
		}
		v, err := f.get(p.field, p.path)
		if err != nil {
			return dst, err
		}
		if v == "" {
			return dst, fmt.Errorf("field %s is empty", p.field)
		}
		dst = append(dst, v...)
	}
	return dst, nil
}

// parseKey reads the key setting: a bare field path ("user.name") or a
// template ("%{labels.source}/%{event.id}").
func parseKey(s string) (template, error) {
	if !strings.Contains(s, "%{") {
		path, err := parseFieldPath(s)
		if err != nil {
			return template{}, err
		}
		return template{src: s, parts: []part{{path: path, field: s}}}, nil
	}
	t, err := parseTemplate(s)
	if err != nil {
		return template{}, err
	}
	if t.static() {
		return template{}, fmt.Errorf("%q references no field: every message would have the same key", s)
	}
	return t, nil
}

// checkTopicTemplate validates a topic setting: a legal topic name, or a
// template whose literal text is legal in a topic name.
func checkTopicTemplate(s string) error {
	t, err := parseTemplate(s)
	if err != nil {
		return err
	}
	if t.static() {
		return checkTopicName(s)
	}
	for _, p := range t.parts {
		if p.path == nil {
			if c, ok := illegalTopicChar(p.lit); ok {
				return fmt.Errorf("%q: %q is not allowed in a topic name (letters, digits, '.', '_', '-')", s, c)
			}
		}
	}
	return nil
}

// maxTopicLen is Kafka's limit on a topic name.
const maxTopicLen = 249

// checkTopicName applies Kafka's rules for a topic name.
func checkTopicName(name string) error {
	switch {
	case name == "":
		return errors.New("empty topic name")
	case name == "." || name == "..":
		return fmt.Errorf("%q is not a legal topic name", name)
	case len(name) > maxTopicLen:
		return fmt.Errorf("topic name %.40q... is %d characters, over Kafka's %d", name, len(name), maxTopicLen)
	}
	if c, ok := illegalTopicChar(name); ok {
		return fmt.Errorf("topic name %q holds %q: only letters, digits, '.', '_' and '-' are allowed", name, c)
	}
	return nil
}

func illegalTopicChar(s string) (rune, bool) {
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return c, true
		}
	}
	return 0, false
}
