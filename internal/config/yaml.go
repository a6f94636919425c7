package config

import (
	"encoding"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/auditfwd/auditfwd/internal/source/wssaccess"
)

// expandEnv replaces ${VAR} and ${VAR:-default} in every scalar value (never
// in keys), so a value with YAML-special characters cannot change the
// document's structure. "$$" stands for a literal "$".
func expandEnv(n *yaml.Node, path string, errs *[]error) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for i, c := range n.Content {
			p := path
			if n.Kind == yaml.SequenceNode {
				p = fmt.Sprintf("%s[%d]", path, i)
			}
			expandEnv(c, p, errs)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			expandEnv(n.Content[i+1], join(path, n.Content[i].Value), errs)
		}
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "$") {
			return
		}
		v, err := expand(n.Value)
		if err != nil {
			*errs = append(*errs, fmt.Errorf("%s: %v", path, err))
			return
		}
		n.Value = v
		// "${PORT}" was a plain string; keep the tag so "0123" stays text
		// where a string is wanted and still decodes into numbers.
	}
}

func expand(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '$' {
			b.WriteByte('$')
			i++
			continue
		}
		if i+1 >= len(s) || s[i+1] != '{' {
			b.WriteByte('$')
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			// The value is not quoted: a broken ${ is most often in a
			// password, and this message is printed and logged.
			return "", fmt.Errorf("unclosed ${ at byte %d (value hidden: it may be a secret; write $$ for a literal $)", i+1)
		}
		expr := s[i+2 : i+end]
		name, def, hasDef := strings.Cut(expr, ":-")
		if name == "" {
			return "", fmt.Errorf("empty variable name in ${} at byte %d (value hidden: it may be a secret)", i+1)
		}
		v, ok := os.LookupEnv(name)
		switch {
		case ok && v != "":
			b.WriteString(v)
		case hasDef:
			b.WriteString(def)
		case ok:
			// Set but empty: an explicit choice, kept.
		default:
			return "", fmt.Errorf("environment variable %s is not set", name)
		}
		i += end
	}
	return b.String(), nil
}

// walker checks the document against the config's types before it is
// decoded, so that every mistake is reported at once with its key path:
// unknown keys, unknown output types, and values yaml's decoder would stop
// at or report by line only (durations, sizes). A value it reports is
// replaced by a harmless zero so decoding goes on, and its path is kept in
// bad: Validate's later complaints about the same keys are dropped.
type walker struct {
	errs *[]error
	bad  map[string]bool
}

func (w *walker) fail(path string, format string, a ...any) {
	*w.errs = append(*w.errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, a...)))
	w.bad[path] = true
}

var (
	durationType   = reflect.TypeOf(Duration(0))
	stdDurationTyp = reflect.TypeOf(time.Duration(0))
	byteSizeType   = reflect.TypeOf(ByteSize(0))
	// The wss_access source's own types parse themselves (UnmarshalText).
	textTypes = map[reflect.Type]string{
		reflect.TypeOf(wssaccess.Duration(0)): "0s",
		reflect.TypeOf(wssaccess.ByteSize(0)): "0",
	}
)

// positiveDurations are keys whose zero would mean "never" or "spin": an
// explicit 0 is a mistake, not a request for the default.
var positiveDurations = map[string]bool{
	"poll_interval": true, "window": true, "timeout": true, "initial_interval": true,
	"max_interval": true, "flush_interval": true, "max_retry_after": true, "auth_retry_interval": true,
}

// walk reports every mapping key that has no field in t, with its path,
// so all unknown keys are reported at once (yaml's KnownFields stops at
// the first), and checks the scalars decoding would stop at.
func (w *walker) walk(n *yaml.Node, t reflect.Type, path string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		w.walk(n.Content[0], t, path)
		return
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		w.walk(n.Alias, t, path)
		return
	}
	switch t {
	case durationType, stdDurationTyp, byteSizeType:
		w.scalar(n, t, path)
		return
	}
	if zero, ok := textTypes[t]; ok {
		w.text(n, t, zero, path)
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return // yaml's decoder reports the type mismatch
		}
		if t == reflect.TypeOf(Source{}) && mappingType(n) == TypeAccess {
			t = reflect.TypeOf(accessSource{})
		}
		if t == reflect.TypeOf(Output{}) {
			var ok bool
			if t, ok = w.outputType(n, path); !ok {
				return // its keys depend on the type nobody knows
			}
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Value == "<<" {
				continue
			}
			ft, ok := fields[k.Value]
			if !ok {
				*w.errs = append(*w.errs, fmt.Errorf("%s: unknown key (line %d)%s", join(path, k.Value), k.Line, suggest(k.Value, fields)))
				continue
			}
			w.walk(n.Content[i+1], ft, join(path, k.Value))
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i, c := range n.Content {
			w.walk(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			w.walk(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value))
		}
	}
}

// outputType picks the struct of an output mapping from its type key.
func (w *walker) outputType(n *yaml.Node, path string) (reflect.Type, bool) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value != "type" {
			continue
		}
		v := n.Content[i+1].Value
		if t, ok := outputKinds[v]; ok {
			return t, true
		}
		w.fail(path+".type", "unknown type %q (line %d)%s (one of: %s)", v, n.Content[i+1].Line, suggestOne(v, outputKindNames()), strings.Join(outputKindNames(), ", "))
		return nil, false
	}
	w.fail(path+".type", "required (line %d): one of %s", n.Line, strings.Join(outputKindNames(), ", "))
	return nil, false
}

// scalar checks a duration or size where the decoder would stop or name
// only a line.
func (w *walker) scalar(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind != yaml.ScalarNode {
		return
	}
	key := path[strings.LastIndexByte(path, '.')+1:]
	switch t {
	case durationType:
		d, err := ParseDuration(n.Value)
		switch {
		case err != nil:
			w.fail(path, "%v (line %d)", err, n.Line)
		case d < 0:
			w.fail(path, "must not be negative (got %s, line %d)", n.Value, n.Line)
		case d == 0 && positiveDurations[key]:
			w.fail(path, "must be more than 0 (line %d); leave the key out for its default", n.Line)
		default:
			return
		}
		n.Value, n.Tag = "0s", "!!str"
	case stdDurationTyp:
		if n.Tag == "!!int" {
			return // nanoseconds, as yaml decodes them
		}
		d, err := time.ParseDuration(strings.TrimSpace(n.Value))
		switch {
		case err != nil:
			w.fail(path, "%q is not a duration (like 500ms, 10s, 5m) (line %d)", n.Value, n.Line)
		case d < 0:
			w.fail(path, "must not be negative (got %s, line %d)", n.Value, n.Line)
		default:
			return
		}
		n.Value, n.Tag = "0s", "!!str"
	case byteSizeType:
		if _, err := ParseByteSize(n.Value); err == nil {
			return
		} else {
			w.fail(path, "%v (line %d)", err, n.Line)
		}
		n.Value, n.Tag = "0", "!!int"
	}
}

// text checks a value of a type that parses itself, so that its error
// names the key and line like the others.
func (w *walker) text(n *yaml.Node, t reflect.Type, zero, path string) {
	if n.Kind != yaml.ScalarNode {
		return
	}
	u := reflect.New(t).Interface().(encoding.TextUnmarshaler)
	if err := u.UnmarshalText([]byte(n.Value)); err != nil {
		w.fail(path, "%v (line %d)", err, n.Line)
		n.Value, n.Tag = zero, "!!str"
	}
}

func suggestOne(key string, names []string) string {
	fields := make(map[string]reflect.Type, len(names))
	for _, n := range names {
		fields[n] = nil
	}
	return suggest(key, fields)
}

// yamlFields maps each yaml key of struct t (inline structs flattened) to
// its field type.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			for k, v := range yamlFields(ft) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

func suggest(key string, fields map[string]reflect.Type) string {
	best, bestD := "", 3
	for k := range fields {
		if d := editDistance(key, k); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// yamlSyntaxError names the line a syntax error is on. yaml's parser often
// names the line where the enclosing block began (line 1 for a bad key deep
// in the file); the first prefix of the document that fails to parse, for
// a reason other than ending early, holds the faulty line as its last.
func yamlSyntaxError(data []byte, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	lines := strings.SplitAfter(string(data), "\n")
	if len(lines) > 2000 {
		return fmt.Errorf("not valid YAML: %s", msg)
	}
	for k := 1; k <= len(lines); k++ {
		var n yaml.Node
		perr := yaml.Unmarshal([]byte(strings.Join(lines[:k], "")), &n)
		if perr == nil || endedEarly(perr) {
			continue
		}
		// The key of the line, never its value: it may be a secret.
		where := ""
		if key, _, ok := strings.Cut(strings.TrimSpace(lines[k-1]), ":"); ok && len(key) <= 60 {
			where = fmt.Sprintf(" (key %q)", strings.TrimLeft(key, "- "))
		}
		return fmt.Errorf("not valid YAML at line %d%s: %s", k, where, lineRE.ReplaceAllString(strings.TrimPrefix(perr.Error(), "yaml: "), ""))
	}
	return fmt.Errorf("not valid YAML: %s", msg)
}

var lineRE = regexp.MustCompile(`^line \d+: `)

// endedEarly tells a prefix that is only unfinished (an open quote or
// bracket, a block scalar) from one with a real error.
func endedEarly(err error) bool {
	m := err.Error()
	return strings.Contains(m, "end of stream") || strings.Contains(m, "unexpected end")
}
